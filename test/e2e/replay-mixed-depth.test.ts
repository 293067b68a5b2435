/**
 * Replay and crash recovery of raw logs whose book mode changes at a restart (docs/depth.md, "Raw log
 * and replay"): the compiled binary collects from the fake exchange with feed.depth = "depth5", is
 * stopped (SIGTERM) and restarted on the same data tree in the same hour with feed.depth = "full",
 * then once more with "depth5" (the reverse change). The hour file then holds depth5 frames, then
 * diffs and snapshot lines, then depth5 frames again. `harvestd replay` of that tree — and of the same
 * lines split into one file per session (a change across hour files) — must write every kind's rows
 * exactly as the live runs did. Then a depth5 run is killed (SIGKILL) and restarted with
 * feed.depth = "full": the start-up rebuild must replay the killed session as depth5, so the tree
 * again equals a replay of its log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { ALL_KINDS, apiStatus, kindRows, layout, replayRun, type Layout } from "./storage-support.ts";
import { stopQuietly } from "./depth-support.ts";

const SYMBOLS = ["ETHUSDT", "KSMUSDT"];
/** book_l2 settings, given to every run and replay alike (the mode itself is never given to a replay). */
const BOOK_L2 = ["--set", "feed.full_levels=20", "--set", "feed.book_snapshot_sec=0.5"];
const FULL = ["--set", 'feed.depth="full"'];

let fx: FakeExchange;
let live: Layout;
let replay: RunResult;
let replayed: Layout;
let split: Layout;
let splitReplay: RunResult;
const runs: RunResult[] = [];
let crashed: Layout;
let crashReplay: RunResult;
let crashReplayed: Layout;
let crashRun: RunResult;

async function collect(dir: string, mode: "depth5" | "full", ms: number, signal: NodeJS.Signals = "SIGTERM"): Promise<RunResult> {
  fx.silence("public", false);
  fx.silence("market", false);
  await waitFor("the previous run's connections closed", () => (fx.openConnections().length === 0 ? true : undefined), 10_000, 50);
  const port = freePort();
  const proc = startBinary(
    ["run", "--config", join(REPO, "config.toml"), ...BOOK_L2, ...(mode === "full" ? FULL : [])],
    collectorEnv(fx, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "2", ORDERBOOK_ROTATE_SEC: "1" }),
  );
  await waitFor("both routes connected", () => (fx.openConnections().length >= 2 ? true : undefined), 20_000, 50);
  if (mode === "full") {
    await waitFor("every book in sync", async () => {
      const st = await apiStatus(port);
      return (st.symbols as Record<string, any>[]).every((s) => s.book?.state === "synced") ? true : undefined;
    }, 20_000, 100);
  }
  await Bun.sleep(ms);
  if (signal === "SIGKILL") return proc.stop("SIGKILL");
  return stopQuietly(fx, proc);
}

/** The same lines, one file per session (each a later "hour"): the mode changes across files. */
function splitPerSession(from: string, to: string): void {
  for (const symbol of SYMBOLS) {
    const files = listFiles(from, new RegExp(`symbol=${symbol}/raw-\\d\\d\\.ndjson(\\.gz)?$`)).sort();
    const lines = files.flatMap((f) => (f.endsWith(".gz") ? Bun.gunzipSync(readFileSync(f)).toString() : readFileSync(f, "utf8")).split("\n").filter((l) => l.length > 0));
    const parts: string[][] = [];
    for (const l of lines) {
      if (l.includes('"event":"session"') || parts.length === 0) parts.push([]);
      parts.at(-1)!.push(l);
    }
    parts.forEach((p, i) => {
      const dir = join(to, "date=2000-01-01", `symbol=${symbol}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `raw-${String(i).padStart(2, "0")}.ndjson`), `${p.join("\n")}\n`);
    });
  }
}

beforeAll(async () => {
  fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, diffDepth: true, recordFrames: false });
  const dir = tempDir("replay-mixed-depth");
  live = layout(dir);
  runs.push(await collect(dir, "depth5", 4000));
  runs.push(await collect(dir, "full", 4000));
  runs.push(await collect(dir, "depth5", 3000));
  ({ replayed, replay } = await replayRun(live, dir, BOOK_L2));
  const splitIn = join(dir, "split-ndjson");
  splitPerSession(live.ndjson, splitIn);
  split = { ...layout(join(dir, "split")), ndjson: splitIn };
  splitReplay = await runBinary(["replay", splitIn, "--out", join(dir, "split"), "--config", join(REPO, "config.toml"), ...BOOK_L2], { ARTIFACTS_DIR: split.artifacts });

  const cdir = tempDir("replay-mixed-depth-crash");
  crashed = layout(cdir);
  await collect(cdir, "depth5", 4000, "SIGKILL");
  crashRun = await collect(cdir, "full", 3000);
  ({ replayed: crashReplayed, replay: crashReplay } = await replayRun(crashed, cdir, BOOK_L2));
}, 120_000);

afterAll(async () => {
  await fx?.stop();
});

async function expectSameRows(a: Layout, b: Layout): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const kind of ALL_KINDS) {
    const x = await kindRows(a, kind);
    const y = await kindRows(b, kind);
    counts[kind] = x.length;
    if (y.length !== x.length) console.error(`${kind}: ${x.length} live rows, ${y.length} replayed`);
    expect({ kind, rows: y }).toEqual({ kind, rows: x });
  }
  return counts;
}

describe("a raw log whose book mode changes at a restart (compiled binary, fake exchange)", () => {
  test("the three runs and the replays exit 0; replay names both modes and where it switched", () => {
    for (const r of [...runs, replay, splitReplay]) {
      if (r.exitCode !== 0) console.error(r.stderr);
      expect(r.exitCode).toBe(0);
    }
    for (const symbol of SYMBOLS) {
      expect(replay.stderr).toMatch(new RegExp(`raw-\\d\\d\\.ndjson(\\.gz)?:\\d+: ${symbol} was recorded with feed.depth = "depth5" before and with feed.depth = "full" from here \\(the process restarted here\\)`));
      expect(replay.stderr).toMatch(new RegExp(`${symbol} was recorded with feed.depth = "full" before and with feed.depth = "depth5" from here`));
    }
  });

  test("replay writes every kind's rows exactly as the live runs did", async () => {
    const counts = await expectSameRows(live, replayed);
    console.log(`rows compared per kind: ${JSON.stringify(counts)}`);
    for (const kind of ["orderbook", "book_l2", "ofi", "prices"]) expect(counts[kind]).toBeGreaterThan(20);
  }, 60_000);

  test("the same lines in one file per session (the change across hour files) replay to the same rows", async () => {
    await expectSameRows(live, split);
  }, 60_000);

  test("crash recovery rebuilds a killed depth5 session as depth5 when the restart says full", async () => {
    if (crashRun.exitCode !== 0) console.error(crashRun.stderr);
    expect(crashRun.exitCode).toBe(0);
    expect(crashRun.stdout + crashRun.stderr).toContain("previous run was interrupted");
    expect(crashReplay.exitCode).toBe(0);
    const counts = await expectSameRows(crashed, crashReplayed);
    for (const kind of ["orderbook", "book_l2", "ofi"]) expect(counts[kind]).toBeGreaterThan(20);
  }, 60_000);
});
