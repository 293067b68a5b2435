/**
 * The wall clock stepped while the collector runs (NTP correcting a wrong clock, a VPS resumed):
 * 45 s forward and back, then 30 s back and forward again, with the binary under libfaketime and the
 * fake exchange on the real clock. The step forward comes while a backfill holds a stream and while
 * the book route is silent for less than the heartbeat timeout: neither may look 45 s old (the hold
 * limit and the watchdog count on the monotonic clock). A step back must not stop Parquet files for
 * as long as the step (the rotation clock restarts), and `ts_recv` never goes backwards (docs/feed.md
 * "When the clock steps"), so the log replays into exactly what was stored.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { fakeClockMissing, steppableClock } from "../helpers/fake-clock.ts";
import { readSymbolLines } from "../helpers/ndjson.ts";
import { aggTradeIdsInParquet, ALL_KINDS, apiStatus, layout, replayRun, treeDifference } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
/** The heartbeat timeout the binary runs with (`feed.heartbeat_timeout_sec`). */
const HEARTBEAT_S = 6;
/** `feed.backfill_max_hold_sec`: far less than the first step. */
const MAX_HOLD_S = 20;
/** The exchange pauses the book route for this long around the first step: less than the heartbeat timeout. */
const QUIET_MS = 4500;
/** Retry-After of the 429 that keeps the first step's backfill waiting (its frames held) across the step. */
const PAUSE_S = 8;
/** The steps, in seconds from the real clock, each held for `holdMs`; the first is set up apart (beforeAll). */
const STEPS = [
  { offsetS: 45, holdMs: 6000 },
  { offsetS: 0, holdMs: 8000 },
  { offsetS: -30, holdMs: 8000 },
  { offsetS: 0, holdMs: 5000 },
] as const;

const missing = fakeClockMissing();
if (missing !== undefined) console.warn(`clock-step: skipped, ${missing}`);

(missing === undefined ? describe : describe.skip)("the wall clock steps while the collector runs", () => {
  let fake: FakeExchange;
  let dir: string;
  let result: RunResult;
  let lastStatus: Record<string, any>;
  let lastMetrics: string;
  /** Per step back: Parquet files written in the step's hold, after the clock took it. */
  const filesAfterStepBack: number[] = [];

  beforeAll(async () => {
    fake = await startFakeExchange({ symbols: SYMBOLS, speed: 2, recordFrames: false });
    dir = tempDir("clock-step");
    const clock = steppableClock(join(dir, "faketime"));
    const port = freePort();
    const bin = startBinary(
      ["run", "--config", join(REPO, "config.toml"), "--set", `feed.heartbeat_timeout_sec=${HEARTBEAT_S}`, "--set", `feed.backfill_max_hold_sec=${MAX_HOLD_S}`],
      { ...collectorEnv(fake, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "3", ORDERBOOK_ROTATE_SEC: "3" }), ...clock.env },
    );
    const filesWritten = async () => Number((await apiStatus(port)).parquet.filesWritten);
    try {
      // Past the clock check 2 s after the start, so the 429 below is the backfill's.
      await waitFor("frames flowing", async () => ((await apiStatus(port).catch(() => undefined))?.totals?.frames > 200 ? true : undefined), 20_000, 100);
      await Bun.sleep(2500);
      // The first step comes while a backfill holds the trade stream's frames (a gap, its REST
      // answer paused by a 429) and while the book route is silent for less than the heartbeat
      // timeout: on the wall clock both would be 45 s old at once.
      fake.silence("market", true);
      fake.rejectRest(1, 429, PAUSE_S);
      await Bun.sleep(1000);
      fake.silence("market", false);
      await waitFor("a backfill holding frames", async () => ((await apiStatus(port)).totals.held > 0 ? true : undefined), 5000, 20);
      fake.silence("public", true);
      let previous = 0;
      for (const s of STEPS) {
        clock.step(s.offsetS);
        // libfaketime reads the file at most a second later.
        await Bun.sleep(1200);
        const before = await filesWritten();
        if (s === STEPS[0]) {
          await Bun.sleep(QUIET_MS - 1200);
          fake.silence("public", false);
        }
        await Bun.sleep(s.holdMs - (s === STEPS[0] ? QUIET_MS : 1200));
        if (s.offsetS < previous) filesAfterStepBack.push((await filesWritten()) - before);
        previous = s.offsetS;
      }
      await waitFor("nothing held", async () => ((await apiStatus(port)).totals.held === 0 ? true : undefined), 20_000, 100);
      lastStatus = await apiStatus(port);
      lastMetrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      result = await bin.stop("SIGTERM");
    } finally {
      if (bin.proc.exitCode === null) bin.proc.kill("SIGKILL");
    }
  }, 90_000);

  afterAll(async () => {
    await fake?.stop();
  });

  test("exits 0, and no connection was taken for silent when the clock jumped ahead", () => {
    if (result.exitCode !== 0) console.error(result.stderr.slice(-3000));
    expect(result.exitCode).toBe(0);
    expect(lastStatus.connections.map((c: { reconnects: number }) => c.reconnects)).toEqual(lastStatus.connections.map(() => 0));
    expect(result.stderr).not.toContain("no frame for");
  });

  test("each step is said once, with its size and sign, and counted in the status and /metrics", () => {
    const steps = result.stderr
      .split("\n")
      .filter((l) => l.includes('"the wall clock stepped"'))
      .map((l) => (JSON.parse(l) as { by_ms: number }).by_ms);
    // Each step's size as the test set it (libfaketime takes it within a second; the look is a second apart).
    const expected = STEPS.map((s, i) => (s.offsetS - (i === 0 ? 0 : STEPS[i - 1]!.offsetS)) * 1000);
    expect(steps).toHaveLength(expected.length);
    steps.forEach((ms, i) => expect(Math.abs(ms - expected[i]!)).toBeLessThan(1500));
    expect(lastStatus.totals.clock_steps).toBe(STEPS.length);
    expect(lastMetrics).toMatch(new RegExp(`^harvestd_wall_clock_steps_total ${STEPS.length}$`, "m"));
  });

  test("the backfill held across the step ahead finished: nothing abandoned, the hole filled over REST", () => {
    expect(lastStatus.totals.backfills).toBeGreaterThanOrEqual(1);
    expect(lastStatus.totals.backfilled).toBeGreaterThan(0);
    expect(lastStatus.totals.holdsAbandoned).toBe(0);
  });

  test("Parquet files go on being written after each step back (the rotation clock restarts, it does not wait for the time to come again)", () => {
    expect(filesAfterStepBack).toHaveLength(2);
    for (const n of filesAfterStepBack) expect(n).toBeGreaterThan(0);
  });

  test("ts_recv never goes backwards in a symbol's log, and the step ahead is in it", () => {
    for (const symbol of SYMBOLS) {
      const ts = readSymbolLines(layout(dir).ndjson, symbol).map((l) => Number(l.ts_recv));
      let backwards = 0;
      let biggestJump = 0;
      for (let i = 1; i < ts.length; i++) {
        if (ts[i]! < ts[i - 1]!) backwards++;
        biggestJump = Math.max(biggestJump, ts[i]! - ts[i - 1]!);
      }
      expect({ symbol, backwards }).toEqual({ symbol, backwards: 0 });
      expect(biggestJump).toBeGreaterThanOrEqual(40_000);
    }
  });

  test("every aggTrade id logged is in the prices Parquet exactly once, with no hole", async () => {
    for (const r of await aggTradeIdsInParquet(layout(dir), SYMBOLS)) {
      expect(r.logged.length).toBeGreaterThan(50);
      expect(r.ids).toEqual(r.logged);
      expect(r.logged.at(-1)! - r.logged[0]! + 1).toBe(r.logged.length);
    }
  });

  test("replaying the log gives exactly what was stored, every kind", async () => {
    const live = layout(dir);
    const { replayed, replay } = await replayRun(live, dir);
    expect(replay.exitCode).toBe(0);
    for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(live, replayed, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
  }, 60_000);
});
