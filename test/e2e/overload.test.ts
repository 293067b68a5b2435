/**
 * Overload without loss (issue 18, Deliver 1; docs/storage.md "Overload: spill, never drop"): the
 * compiled binary with a 1 MiB `storage.parquet_buffer_mb` (NDJSON keeps the default bound) collects 10 busy symbols from the fake
 * exchange at high speed with 1 s rotations for > 20 s, so every rotation hands over more than
 * the bound. Past the bound batches wait on disk and follow in order; nothing is dropped. While it
 * is behind, /health names the backlog and its drain time and /metrics shows it. After the drain
 * and a SIGTERM: every aggTrade id in the NDJSON is in the prices Parquet exactly once, and every
 * kind equals `harvestd replay` of the log (DuckDB reads both trees).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ALL_KINDS } from "../../src/core/rows.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { aggTradeIdsInParquet, apiStatus, health, layout, replayRun, treeDifference, unreadableParquet, type Layout } from "./storage-support.ts";

const SYNTHETIC = 9;
const SYMBOLS = ["BTCUSDT", ...Array.from({ length: SYNTHETIC }, (_, i) => `SYN${String(i + 1).padStart(3, "0")}USDT`)];
const OVERLOAD_MS = 21_000;

let fake: FakeExchange;
let live: Layout;
let replayed: Layout;
let run: RunResult;
let replay: RunResult;
let maxSpilledRows = 0;
let maxPendingBytes = 0;
let backlogReason: string | null = null;
let metricsDuringBacklog = "";
/** /health said the backlog was growing (rows arriving faster than the writer commits them) at least once. */
let growingSeen = false;
/** From silencing the exchange to an empty backlog. */
let drainedInMs = 0;

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: ["BTCUSDT"], syntheticSymbols: SYNTHETIC, speed: 40, recordFrames: false });
  const dir = tempDir("overload");
  live = layout(join(dir, "live"));
  const port = freePort();
  const proc = startBinary(
    ["run", "--config", join(REPO, "config.toml"), "--set", "storage.parquet_buffer_mb=1", "--set", "health.disk_free_floor_mb=0"],
    collectorEnv(fake, SYMBOLS, join(dir, "live"), port, { PARQUET_ROTATE_SEC: "1", ORDERBOOK_ROTATE_SEC: "1" }),
  );
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 20_000);
  /** Reads the backlog; keeps /health's backlog reason and /metrics until a reading with a drain time (the backlog shrinking) was seen. */
  const sample = async (): Promise<{ rowsSpilled: number; batchesPending: number }> => {
    const pq = (await apiStatus(port)).parquet;
    maxSpilledRows = Math.max(maxSpilledRows, pq.rowsSpilled);
    maxPendingBytes = Math.max(maxPendingBytes, pq.bytesPending);
    if (pq.rowsSpilled > 0 && !backlogReason?.includes("drains in")) {
      const h = await health(port);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const reason = h.body.reasons.find((r) => r.startsWith("parquet writer behind")) ?? null;
      if (reason?.includes("not draining: the backlog is growing")) growingSeen = true;
      const parquet = text.split("\n").filter((l) => /^harvestd_parquet_/.test(l)).join("\n");
      // Kept only as a pair read while the backlog lasted (the spill may drain between the reads).
      if (reason !== null && /^harvestd_parquet_spilled_rows [1-9]\d*$/m.test(parquet)) {
        backlogReason = reason;
        metricsDuringBacklog = parquet;
      }
    }
    return pq;
  };
  const until = Date.now() + OVERLOAD_MS;
  while (Date.now() < until) {
    await sample();
    await Bun.sleep(250);
  }
  fake.silence("public", true);
  fake.silence("market", true);
  // Input stopped: the backlog shrinks, so a drain time is given (unless it is gone before a shrink can be measured).
  const silencedAt = Date.now();
  await waitFor(
    "the backlog drained",
    async () => {
      const pq = await sample();
      return pq.rowsSpilled === 0 && pq.batchesPending === 0 ? true : undefined;
    },
    60_000,
    250,
  );
  drainedInMs = Date.now() - silencedAt;
  run = await proc.stop("SIGTERM");
  if (process.env.OVERLOAD_DEBUG) console.log({ maxSpilledRows, maxPendingBytes, backlogReason, metricsDuringBacklog, log: run.stderr.split("\n").filter((l) => /drop|spill|EBUFFER/.test(l)).slice(0, 5) });

  ({ replayed, replay } = await replayRun(live, dir));
}, 150_000);

afterAll(async () => {
  await fake?.stop();
});

describe("overload: the writer falls behind, spills, drains; nothing is lost", () => {
  test("the run spilled past the bound, dropped nothing and stopped cleanly", () => {
    expect(run.exitCode).toBe(0);
    expect(maxSpilledRows).toBeGreaterThan(0);
    // Memory held for the writer stays near the bound (one batch alone may exceed it).
    expect(maxPendingBytes).toBeLessThan(8 * 1024 * 1024);
    expect(run.stderr + run.stdout).not.toMatch(/rows dropped|EBUFFER/);
    // The spill folder is gone once drained.
    const staging = join(live.raw, ".harvestd-staging");
    expect(existsSync(staging) ? readdirSync(staging).filter((n) => n.startsWith("spill-")) : []).toEqual([]);
  });

  test("/health and /metrics named the backlog and its drain time while it lasted", () => {
    expect(backlogReason).toMatch(/^parquet writer behind: \d+ rows pending, \d+ of them \([\d.]+ MiB\) spilled to disk; (drains in ≈ \d+ s|not draining: the backlog is growing)$/);
    expect(metricsDuringBacklog).toMatch(/^harvestd_parquet_spilled_rows [1-9]\d*$/m);
    expect(metricsDuringBacklog).toMatch(/^harvestd_parquet_spilled_bytes [1-9]\d*$/m);
    // A drain time once the backlog shrinks, when it lasted long enough to measure a shrink (the
    // writer here often empties it within a second of the input stopping).
    if (drainedInMs > 3_000) {
      expect(backlogReason).toContain("drains in");
      expect(metricsDuringBacklog).toMatch(/^harvestd_parquet_drain_eta_seconds [\d.]+$/m);
    }
    // While the overload lasted the backlog grew: the estimate said so instead of a drain time.
    expect(growingSeen).toBe(true);
    expect(metricsDuringBacklog).toMatch(/^harvestd_parquet_drain_rows_per_second [\d.]+$/m);
  });

  test("every aggTrade id in the NDJSON is in the prices Parquet exactly once", async () => {
    let total = 0;
    for (const s of await aggTradeIdsInParquet(live, SYMBOLS)) {
      total += s.logged.length;
      expect(s.logged.length).toBeGreaterThan(0);
      expect({ symbol: s.symbol, n: s.rows, d: s.distinct }).toEqual({ symbol: s.symbol, n: s.logged.length, d: s.logged.length });
      expect(s.ids).toEqual(s.logged);
    }
    // Enough traffic that the run was an overload, not a trickle.
    expect(total).toBeGreaterThan(100_000);
  }, 60_000);

  test("every kind equals a replay of the log", async () => {
    expect(replay.exitCode).toBe(0);
    for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(live, replayed, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
    expect(await unreadableParquet([live.raw])).toEqual([]);
  }, 120_000);
});
