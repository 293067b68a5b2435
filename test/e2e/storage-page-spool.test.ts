/**
 * The page spool in the compiled binary (docs/storage.md "Memory"; src/sinks/parquet/page-spool.ts):
 * with the shipped 60 s rotations the writer keeps the pages of files still being built in segment
 * files under `.harvestd-staging/pages-*` and reads each file's pages back when it finishes it.
 * While the run collects 5 busy symbols the segment files exist and grow; after SIGTERM the spool is
 * gone, every aggTrade id in the NDJSON is in the prices Parquet exactly once, and every kind
 * equals `harvestd replay` of the log (which does not spool), read back by DuckDB.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ALL_KINDS } from "../../src/core/rows.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { aggTradeIdsInParquet, apiStatus, layout, replayRun, treeDifference, unreadableParquet, type Layout } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "SYN001USDT", "SYN002USDT", "SYN003USDT", "SYN004USDT"];
const RUN_MS = 20_000;

let fake: FakeExchange;
let live: Layout;
let replayed: Layout;
let run: RunResult;
let replay: RunResult;
/** Largest total size of the spool's segment files seen during the run. */
let maxSpoolBytes = 0;
const spoolDirsSeen = new Set<string>();
let sentAheadSeen = 0;

const spoolDirs = (root: string): string[] => {
  const staging = join(root, ".harvestd-staging");
  return existsSync(staging) ? readdirSync(staging).filter((n) => n.startsWith("pages-")).map((n) => join(staging, n)) : [];
};

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: ["BTCUSDT"], syntheticSymbols: SYMBOLS.length - 1, speed: 10, recordFrames: false });
  const dir = tempDir("page-spool");
  live = layout(join(dir, "live"));
  const port = freePort();
  // The shipped config: 60 s rotations, so full chunks go to the writer ahead of their batch.
  const proc = startBinary(["run", "--config", join(REPO, "config.toml"), "--set", "health.disk_free_floor_mb=0"], collectorEnv(fake, SYMBOLS, join(dir, "live"), port));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 20_000);
  const until = Date.now() + RUN_MS;
  while (Date.now() < until) {
    for (const d of spoolDirs(live.raw)) {
      spoolDirsSeen.add(d);
      let bytes = 0;
      try {
        for (const f of readdirSync(d)) bytes += statSync(join(d, f)).size;
      } catch {}
      maxSpoolBytes = Math.max(maxSpoolBytes, bytes);
    }
    sentAheadSeen = Math.max(sentAheadSeen, (await apiStatus(port)).parquet.bytesSentAhead ?? 0);
    await Bun.sleep(250);
  }
  fake.silence("public", true);
  fake.silence("market", true);
  run = await proc.stop("SIGTERM");
  ({ replayed, replay } = await replayRun(live, dir));
}, 150_000);

afterAll(async () => {
  await fake?.stop();
});

describe("page spool: pages of open files wait on disk, files come out whole", () => {
  test("the running binary spooled pages to disk, and removed the spool when it stopped", () => {
    expect(run.exitCode).toBe(0);
    expect(sentAheadSeen).toBeGreaterThan(0);
    expect(spoolDirsSeen.size).toBe(1);
    // Well past one write buffer (256 KiB): pages really went to the files.
    expect(maxSpoolBytes).toBeGreaterThan(1024 * 1024);
    expect(spoolDirs(live.raw)).toEqual([]);
    expect(run.stderr + run.stdout).not.toMatch(/page spool off|rows dropped/);
  });

  test("every aggTrade id in the NDJSON is in the prices Parquet exactly once", async () => {
    for (const s of await aggTradeIdsInParquet(live, SYMBOLS)) {
      expect(s.logged.length).toBeGreaterThan(1000);
      expect({ symbol: s.symbol, n: s.rows, d: s.distinct }).toEqual({ symbol: s.symbol, n: s.logged.length, d: s.logged.length });
      expect(s.ids).toEqual(s.logged);
    }
  }, 60_000);

  test("every kind equals a replay of the log", async () => {
    expect(replay.exitCode).toBe(0);
    for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(live, replayed, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
    expect(await unreadableParquet([live.raw, live.preview])).toEqual([]);
  }, 120_000);
});
