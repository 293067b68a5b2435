/**
 * 00:00 UTC, when everything turns at once, in the compiled binary: the date partition, the hour
 * files (the closed hour's NDJSON compressed, its Parquet parts compacted), the run log, and the
 * daily resets a user can turn on (`ofi.reset_on_utc_day`, `cvd.anchor = "utc_day"`) — under
 * drops, duplicates and withheld trades on both sides of the turn. A months-long run passes
 * midnight every day; no other test crosses it with the collector running.
 *
 * The collector and the fake exchange (its CLI, `test/fake-exchange/main.ts`, in a process of its
 * own) run under libfaketime with the same clock shift, so both see midnight a few seconds after
 * the start; this test's own clock is not shifted, and every check reads what the binary wrote.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { ALL_KINDS, RAW_KINDS } from "../../src/core/rows.ts";
import type { FaultPlan } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { startExchangeProcess, type ExchangeProcess, type InjectedFaults } from "../helpers/exchange-process.ts";
import { fakeClockMissing, shiftedClock } from "../helpers/fake-clock.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { layout, treeDifference } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const DAY_MS = 86_400_000;
/** Shifted seconds from the collector's start to midnight. */
const LEAD_S = 15;
const FAULTS_MS = 30_000;
/** The kinds a collector without trading or full depth writes. */
const COLLECTED = ["prices", "orderbook", "ofi", "cvd", "fusion", "events", "features"];
/**
 * Cuts 9, 18 and 27 s after the exchange starts: with midnight 15 s after the test's start and the
 * exchange's start-up taking under 3 s, none falls within 3 s of the turn, so the daily OFI reset
 * is seen as such (a cut at the turn resets the book for its own reason). Skipped depth is left to
 * feed-faults for the same reason: a resync at the turn would be one too.
 */
const PLAN: FaultPlan = { seed: 31, dropEveryMs: 9000, duplicateRate: 0.01, withholdTradeRate: 0.004 };

const missing = fakeClockMissing();
const run = missing === undefined ? describe : describe.skip;
if (missing !== undefined) console.warn(`day-turn: skipped, ${missing}`);

interface Outcome {
  readonly dir: string;
  readonly result: RunResult;
  /** Midnight (epoch ms) of the shifted clock. */
  readonly midnight: number;
  readonly dayBefore: string;
  readonly dayAfter: string;
  readonly faults: InjectedFaults;
}

let o: Outcome;

/** Parquet files of `kind` (prices and books under OUTPUT_DIR, the derived kinds under PREVIEW_DIR), in the given date and symbol folders. */
const files = (kind: string, date = "*", symbol = "*") =>
  hive(join(o.dir, (RAW_KINDS as readonly string[]).includes(kind) ? "raw" : "preview", date === "*" ? "*" : `date=${date}`, symbol === "*" ? "*" : `symbol=${symbol}`, `kind=${kind}`, "*.parquet"));

/** Parquet files per partition folder (`date=/symbol=/kind=`) of one date, in both trees. */
function partsPerFolder(dir: string, date: string): [string, number][] {
  const per = new Map<string, number>();
  for (const root of ["raw", "preview"]) {
    const d = join(dir, root, `date=${date}`);
    if (!existsSync(d)) continue;
    for (const f of listFiles(d, /\.parquet$/)) {
      const folder = f.slice(0, f.lastIndexOf("/"));
      per.set(folder, (per.get(folder) ?? 0) + 1);
    }
  }
  return [...per];
}

let exchange: ExchangeProcess | undefined;

run("the UTC day turns while the collector runs, with faults", () => {
  beforeAll(async () => {
    const dir = tempDir("day-turn");
    const now = Date.now();
    // The next midnight at least a minute away, as an instant of the shifted clock (whole seconds:
    // libfaketime's offset, the same for both processes).
    const midnight = Math.ceil((now + (LEAD_S + 60) * 1000) / DAY_MS) * DAY_MS;
    const shiftS = Math.round((midnight - now) / 1000) - LEAD_S;
    const clock = shiftedClock(shiftS);
    exchange = await startExchangeProcess({ symbols: SYMBOLS, speed: 2, faults: PLAN, faultsForMs: FAULTS_MS }, clock);
    const { endpoints, faults } = exchange;
    const port = freePort();
    const sets = [
      "feed.heartbeat_timeout_sec=3",
      "feed.reconnect_delay_sec=0.2",
      "feed.reconnect_max_delay_sec=1",
      "ofi.reset_on_utc_day=true",
      'cvd.anchor="utc_day"',
    ];
    const bin = startBinary(
      ["run", "--config", join(REPO, "config.toml"), ...sets.flatMap((s) => ["--set", s])],
      { ...collectorEnv(endpoints, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "3", ORDERBOOK_ROTATE_SEC: "3" }), ...clock },
    );
    const dayBefore = new Date(midnight - DAY_MS).toISOString().slice(0, 10);
    const dayAfter = new Date(midnight).toISOString().slice(0, 10);
    const status = async () => (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { totals: Record<string, number>; connections: { frames: number; state: string }[] };
    try {
      const counts = await faults;
      // The closed hour (23:00) is compacted once it is past its end by a rotation + 30 s, at the
      // writer's next minutely look: at most ≈ 60 s after the start here.
      await waitFor("the closed hour compacted", () => (partsPerFolder(dir, dayBefore).every(([, n]) => n === 1) ? true : undefined), 90_000, 250);
      await waitFor("connections open, nothing held", async () => {
        const s = await status();
        return s.connections.every((c) => c.state === "open") && s.totals.held === 0 ? true : undefined;
      }, 30_000, 200);
      // A few more seconds of trades after the last fault, so a hole it left is seen and filled.
      await Bun.sleep(3000);
      await waitFor("nothing held", async () => ((await status()).totals.held === 0 ? true : undefined), 30_000, 100);
      const result = await bin.stop("SIGTERM");
      o = { dir, result, midnight, dayBefore, dayAfter, faults: counts };
    } finally {
      if (bin.proc.exitCode === null) bin.proc.kill("SIGKILL");
    }
  }, 180_000);

  afterAll(() => {
    exchange?.stop();
  });

  test("faults were injected on both sides of midnight, and the collector exits 0 on SIGTERM", () => {
    if (o.result.exitCode !== 0) console.error(o.result.stderr.slice(-3000));
    expect(o.result.exitCode).toBe(0);
    expect(o.faults.drops).toBeGreaterThanOrEqual(3);
    expect(o.faults.duplicates).toBeGreaterThan(0);
    expect(o.faults.withheldTrades).toBeGreaterThan(0);
  });

  test("every trade id from the first stored to the last is in the prices Parquet exactly once, across the two dates", async () => {
    for (const symbol of SYMBOLS) {
      const rows = await query(`SELECT agg_trade_id AS a FROM ${files("prices", "*", symbol)} ORDER BY a`);
      const ids = rows.map((r) => Number(r.a));
      expect(ids.length).toBeGreaterThan(100);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.at(-1)! - ids[0]! + 1).toBe(ids.length);
    }
  });

  test("rows before 00:00:00.000 are in the earlier date's folder, rows from it on in the later one, for every kind", async () => {
    for (const kind of COLLECTED.filter((k) => k !== "events")) {
      const rows = await query(
        `SELECT date::VARCHAR AS date, min(ts_ms) AS lo, max(ts_ms) AS hi, count(*) AS n FROM ${files(kind)} GROUP BY date ORDER BY date`,
      );
      expect(rows.map((r) => r.date)).toEqual([o.dayBefore, o.dayAfter]);
      expect(Number(rows[0]!.hi)).toBeLessThan(o.midnight);
      expect(Number(rows[1]!.lo)).toBeGreaterThanOrEqual(o.midnight);
    }
  });

  test("cvd.anchor = utc_day: each symbol's first CVD row of the new day starts from 0 (cvd = that trade's delta)", async () => {
    for (const symbol of SYMBOLS) {
      const [before] = await query(`SELECT cvd FROM ${files("cvd", o.dayBefore, symbol)} ORDER BY ts_ms DESC, agg_trade_id DESC LIMIT 1`);
      const [first] = await query(`SELECT cvd, delta FROM ${files("cvd", o.dayAfter, symbol)} ORDER BY ts_ms, agg_trade_id LIMIT 1`);
      expect(Number(first!.cvd)).toBeCloseTo(Number(first!.delta), 9);
      // The level before the turn was not 0 already (the reset did something).
      expect(Math.abs(Number(before!.cvd))).toBeGreaterThan(0);
    }
  });

  test("ofi.reset_on_utc_day: each symbol's OFI restarts at the turn, with the reason utc_day unless a disturbance reset it there first", async () => {
    const around = await query(
      `SELECT symbol, epoch_ms(ts_ms) AS ts_ms, type, channel, detail FROM ${files("events")} WHERE epoch_ms(ts_ms) BETWEEN ${o.midnight - 5000} AND ${o.midnight + 10_000} AND type IN ('ofi_reset', 'reconnect', 'seq_gap', 'seq_chain_broken') ORDER BY ts_ms`,
    );
    const ts = (e: Record<string, unknown>) => Number(e.ts_ms);
    const isDaily = (e: Record<string, unknown>) => e.type === "ofi_reset" && String(e.detail).includes('"utc_day"');
    const restartsBook = (e: Record<string, unknown>) => e.type === "ofi_reset" || (e.type === "reconnect" && e.channel === "public");
    for (const symbol of SYMBOLS) {
      const mine = around.filter((e) => e.symbol === symbol);
      const daily = mine.filter(isDaily);
      expect(daily.length).toBeLessThanOrEqual(1);
      if (daily.length === 1) {
        // At the first book update of the new day.
        expect(ts(daily[0]!)).toBeGreaterThanOrEqual(o.midnight);
        expect(ts(daily[0]!)).toBeLessThan(o.midnight + 2000);
      } else {
        // Only a cut, a gap or a broken chain right at the turn may take its place, and the book
        // restarted after midnight for that reason.
        expect(mine.some((e) => !isDaily(e) && ts(e) >= o.midnight - 5000 && ts(e) < o.midnight + 2000)).toBe(true);
        expect(mine.some((e) => restartsBook(e) && ts(e) >= o.midnight)).toBe(true);
      }
    }
    // The cuts keep away from the turn (PLAN), so the daily reason is there.
    expect(around.some((e) => e.type === "ofi_reset" && String(e.detail).includes('"utc_day"'))).toBe(true);
  });

  test("the closed hour: every Parquet partition of the earlier date is one compacted file, and its NDJSON hour files are compressed", () => {
    const parts = partsPerFolder(o.dir, o.dayBefore);
    expect(parts.length).toBe(SYMBOLS.length * COLLECTED.length);
    for (const [folder, n] of parts) expect([folder, n]).toEqual([folder, 1]);
    for (const symbol of SYMBOLS) {
      const before = readdirSync(join(o.dir, "ndjson", `date=${o.dayBefore}`, `symbol=${symbol}`));
      expect(before).toEqual(["raw-23.ndjson.gz"]);
      const text = gunzipSync(readFileSync(join(o.dir, "ndjson", `date=${o.dayBefore}`, `symbol=${symbol}`, "raw-23.ndjson.gz"))).toString();
      expect(text.split("\n").filter((l) => l.includes("@aggTrade")).length).toBeGreaterThan(10);
      expect(readdirSync(join(o.dir, "ndjson", `date=${o.dayAfter}`, `symbol=${symbol}`))).toContain("raw-00.ndjson");
    }
  });

  test("the run log started a new file at the turn and compressed the day's", () => {
    const logs = readdirSync(join(o.dir, "artifacts", "run_logs")).sort();
    expect(logs).toHaveLength(2);
    expect(logs[0]!.startsWith(`harvestd-${o.dayBefore}T`) && logs[0]!.endsWith(".jsonl.gz")).toBe(true);
    expect(logs[1]!.startsWith(`harvestd-${o.dayAfter}T00-00-0`) && logs[1]!.endsWith(".jsonl")).toBe(true);
    // The closed day's file is whole: the lines of the start are in it, and none of the new day.
    const closed = gunzipSync(readFileSync(join(o.dir, "artifacts", "run_logs", logs[0]!))).toString().trim().split("\n").map((l) => JSON.parse(l) as { ts: string; msg: string });
    expect(closed.some((l) => l.msg === "starting")).toBe(true);
    expect(closed.every((l) => l.ts < `${o.dayAfter}T`)).toBe(true);
  });

  test("replaying the NDJSON of both days rebuilds every Parquet kind exactly, resets included (docs/indicators.md §15)", async () => {
    const out = join(o.dir, "replayed");
    const r = await runBinary(
      ["replay", join(o.dir, "ndjson"), "--out", out, "--config", join(REPO, "config.toml"), "--set", "ofi.reset_on_utc_day=true", "--set", 'cvd.anchor="utc_day"'],
      { ARTIFACTS_DIR: join(out, "artifacts") },
    );
    expect(r.exitCode).toBe(0);
    const live = layout(o.dir);
    const replayed = { ...layout(out), ndjson: live.ndjson };
    for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(live, replayed, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
  }, 90_000);
});
