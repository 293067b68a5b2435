/**
 * Custom indicators through the compiled binary (docs/indicators-custom.md), against the fake exchange:
 *
 * - the example modules (copied next to a config file that names them by relative path) write
 *   kind=custom_<name> rows equal to an independent recomputation from the run's NDJSON raw log,
 *   written here without the modules' code: vwap_dev (trades), book_pressure (books, disconnects)
 *   and trade_bars (a JavaScript module written from the docs alone; onEnd);
 * - `harvestd replay` of that log, in two threads, writes the same custom rows;
 * - a module that throws on every trade is switched off per symbol, and every built-in kind is
 *   identical to a replay of the same log without any custom indicator;
 * - /metrics shows per-indicator cost, calls, errors and switch-offs;
 * - a missing file, a syntax error, a bad column type or refused params make validate, run and
 *   replay exit 78 with one line naming the file and the problem.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_KINDS } from "../../src/core/rows.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser } from "../helpers/browser.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { listFiles, readSymbolLines } from "../helpers/ndjson.ts";
import { PROMTOOL_MISSING, promtoolCheck } from "../helpers/metrics.ts";
import { layout, treeDifference, type Layout } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "BATUSDT"];
const WINDOW_SEC = 5;
const LEVELS = 3;
const REL = 1e-9;

const BOOM = `export default {
  name: "boom",
  columns: { x: "double" },
  create() {
    return { onTrade(t, emit) { throw new Error("boom at " + t.agg_trade_id); } };
  },
};
`;

/** One row per session and symbol, at its end, whatever it saw: a session ended that never began shows as a row of 0 trades. */
const SESSION_ENDS = `export default {
  name: "session_ends",
  columns: { trades: "int64" },
  create() {
    let last = 0;
    let trades = 0;
    return {
      onTrade(t) { last = t.ts_ms; trades++; },
      onEnd(emit) { emit({ ts_ms: last, trades }); },
    };
  },
};
`;

/** A config directory with the example modules under indicators/ and `entries` as [[indicators.custom]]. */
function configDir(prefix: string, entries: string): { dir: string; config: string } {
  const dir = tempDir(prefix);
  mkdirSync(join(dir, "indicators"));
  for (const f of ["vwap-dev.ts", "book-pressure.ts", "trade-bars.js"]) copyFileSync(join(REPO, "examples", "indicators", f), join(dir, "indicators", f));
  writeFileSync(join(dir, "indicators", "boom.ts"), BOOM);
  writeFileSync(join(dir, "indicators", "session-ends.ts"), SESSION_ENDS);
  const config = join(dir, "config.toml");
  writeFileSync(config, entries);
  return { dir, config };
}

const ALL_MODULES = `
[[indicators.custom]]
module = "indicators/vwap-dev.ts"
params = { window_sec = ${WINDOW_SEC} }

[[indicators.custom]]
module = "indicators/book-pressure.ts"
params = { levels = ${LEVELS} }

[[indicators.custom]]
module = "indicators/trade-bars.js"

[[indicators.custom]]
module = "indicators/boom.ts"

[[indicators.custom]]
module = "indicators/session-ends.ts"
`;

// ---- independent recomputation from the raw log -------------------------------------------------

interface RefTrade {
  ts: number;
  price: number;
  qty: number;
  m: boolean;
  a: number;
  backfilled: boolean;
}
type Lv = [number, number];
type RefEvent = { t: "trade"; trade: RefTrade } | { t: "book"; ts: number; bids: Lv[]; asks: Lv[] } | { t: "book-disconnect" } | { t: "end" };

const num = (x: unknown): number => (typeof x === "string" ? Number(x) : Number.NaN);
const positive = (x: number) => Number.isFinite(x) && x > 0;

/** Levels as the docs define them: finite and > 0, best first, first of a repeated price, at most five. */
function cleanSide(raw: unknown, bid: boolean): Lv[] {
  const valid = (raw as unknown[][]).map((l): Lv => [num(l[0]), num(l[1])]).filter(([p, q]) => positive(p) && positive(q));
  const sorted = valid.map((l, i) => ({ l, i })).sort((x, y) => (bid ? y.l[0] - x.l[0] : x.l[0] - y.l[0]) || x.i - y.i);
  const out: Lv[] = [];
  for (const { l } of sorted) if (out.length === 0 || out[out.length - 1]![0] !== l[0]) out.push(l);
  return out.slice(0, 5);
}

/** What the docs say a module is handed, from a symbol's raw-log lines. */
function handedEvents(lines: readonly Record<string, unknown>[]): RefEvent[] {
  const out: RefEvent[] = [];
  let lastA = -Infinity;
  let lastU = -Infinity;
  let sessions = 0;
  for (const line of lines) {
    if (line.event === "session") {
      if (sessions++ > 0) out.push({ t: "end" });
      lastA = -Infinity;
      lastU = -Infinity;
      continue;
    }
    if (line.event === "disconnect") {
      // The collector's own stop is logged but is not a dropped connection (docs/feed.md).
      if (line.route === "public" && line.reason !== "shutdown") {
        lastU = -Infinity;
        out.push({ t: "book-disconnect" });
      }
      continue;
    }
    if (line.event !== undefined && line.event !== "backfill") continue;
    const stream = line.stream as string;
    const d = line.data as Record<string, unknown>;
    const ts = (d.T ?? d.E) as number | undefined;
    if (stream.endsWith("@aggTrade")) {
      const a = d.a as number;
      if (a <= lastA) continue;
      lastA = a;
      const price = num(d.p);
      const qty = num(d.q);
      if (typeof ts !== "number" || typeof d.m !== "boolean" || !positive(price) || !positive(qty)) continue;
      out.push({ t: "trade", trade: { ts, price, qty, m: d.m, a, backfilled: line.event === "backfill" } });
    } else {
      const u = d.u as number;
      if (u <= lastU || typeof ts !== "number") continue;
      lastU = u;
      out.push({ t: "book", ts, bids: cleanSide(d.b, true), asks: cleanSide(d.a, false) });
    }
  }
  out.push({ t: "end" });
  return out;
}

type Rec = Record<string, number | string | boolean | null>;

function refVwap(events: readonly RefEvent[]): Rec[] {
  const rows: Rec[] = [];
  let seen: RefTrade[] = [];
  for (const e of events) {
    if (e.t === "end") seen = [];
    if (e.t !== "trade") continue;
    const t = e.trade;
    seen.push(t);
    const win = seen.filter((x) => x.ts > t.ts - WINDOW_SEC * 1000);
    const vwap = win.reduce((s, x) => s + x.price * x.qty, 0) / win.reduce((s, x) => s + x.qty, 0);
    rows.push({ ts_ms: t.ts, vwap, dev_bps: ((t.price - vwap) / vwap) * 1e4, n: win.length });
  }
  return rows;
}

function refBookPressure(events: readonly RefEvent[]): Rec[] {
  const rows: Rec[] = [];
  let count = 0;
  for (const e of events) {
    if (e.t === "book-disconnect" || e.t === "end") count = 0;
    if (e.t !== "book") continue;
    count++;
    const k = Math.min(LEVELS, e.bids.length, e.asks.length);
    if (k === 0) {
      rows.push({ ts_ms: e.ts, imbalance: null, microprice: null, spread_bps: null, lean: null, crossed: null, used: 0, since_reconnect: count });
      continue;
    }
    const bq = e.bids.slice(0, k).reduce((s, l) => s + l[1], 0);
    const aq = e.asks.slice(0, k).reduce((s, l) => s + l[1], 0);
    const imb = (bq - aq) / (bq + aq);
    const [[b, bq0], [a, aq0]] = [e.bids[0]!, e.asks[0]!];
    rows.push({
      ts_ms: e.ts,
      imbalance: imb,
      microprice: (b * aq0 + a * bq0) / (bq0 + aq0),
      spread_bps: ((a - b) / ((a + b) / 2)) * 1e4,
      lean: imb > 0 ? "bid" : imb < 0 ? "ask" : "flat",
      crossed: b >= a,
      used: k,
      since_reconnect: count,
    });
  }
  return rows;
}

function refTradeBars(events: readonly RefEvent[]): Rec[] {
  const rows: Rec[] = [];
  let bar: { ts_ms: number; trades: RefTrade[] } | null = null;
  const close = () => {
    if (bar === null) return;
    const ps = bar.trades.map((t) => t.price);
    rows.push({
      ts_ms: bar.ts_ms,
      open: ps[0]!,
      high: Math.max(...ps),
      low: Math.min(...ps),
      close: ps[ps.length - 1]!,
      volume: bar.trades.reduce((s, t) => s + t.qty, 0),
      buy_volume: bar.trades.filter((t) => !t.m).reduce((s, t) => s + t.qty, 0),
      trades: bar.trades.length,
      backfilled: bar.trades.filter((t) => t.backfilled).length,
    });
    bar = null;
  };
  for (const e of events) {
    if (e.t === "end") close();
    if (e.t !== "trade") continue;
    const sec = Math.floor(e.trade.ts / 1000) * 1000;
    if (bar !== null && sec > bar.ts_ms) close();
    bar ??= { ts_ms: sec, trades: [] };
    bar.trades.push(e.trade);
  }
  return rows;
}

// ---- reading what the binary wrote ---------------------------------------------------------------

async function customRows(l: Layout, kind: string, symbol: string, order: string): Promise<Rec[]> {
  if (listFiles(l.preview, new RegExp(`kind=${kind}/[^/]*\\.parquet$`)).length === 0) return [];
  const rows = await query(`SELECT * EXCLUDE (date, kind, symbol, ts_ms), epoch_ms(ts_ms) AS ts_ms FROM ${hive(join(l.preview, "*", "*", `kind=${kind}`, "*.parquet"))} WHERE symbol = '${symbol}' ORDER BY ${order}`);
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : (v as Rec[string])])));
}

/** Rows sorted as `ORDER BY keys` sorts them (numeric keys; the two sessions of a restart can share times). */
function sortedBy(rows: readonly Rec[], keys: readonly string[]): Rec[] {
  return [...rows].sort((a, b) => keys.reduce((c, k) => c || (a[k] as number) - (b[k] as number), 0));
}

function expectRowsClose(got: readonly Rec[], want: readonly Rec[], what: string): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    for (const [k, v] of Object.entries(w)) {
      const gv = g[k];
      const ok = typeof v === "number" && !Number.isInteger(v) ? typeof gv === "number" && Math.abs(gv - v) <= REL * Math.max(1, Math.abs(v)) : gv === v;
      if (!ok) throw new Error(`${what} row ${i} (ts_ms ${w.ts_ms}): ${k} = ${String(gv)}, recomputed ${String(v)}`);
    }
  });
}

// ---- the run ---------------------------------------------------------------------------------------

let fake: FakeExchange;
let live: Layout;
let result: RunResult;
let result2: RunResult;
let metricsText = "";
let statusDoc: { custom_indicators: { name: string; calls: number; errors: number; switchedOff: string[]; costMeanUs: number | null; lastError: string | null }[] } | null = null;
const handed = new Map<string, RefEvent[]>();
/** The status page's custom-indicator table as Chromium shows it (null: no Chromium here). */
let pageRows: string[][] | null = null;
let pageProblems: string[] = [];

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 3 });
  const { dir, config } = configDir("ind-custom", ALL_MODULES);
  live = layout(dir);
  const port = freePort();
  const run = startBinary(["run", "--config", config], collectorEnv(fake, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "4" }));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 15_000);
  await Bun.sleep(4_000);
  // A dropped connection on each route: books are lost (onDisconnect "book"), trades come back over REST.
  fake.dropConnections("public");
  fake.dropConnections("market");
  await Bun.sleep(5_000);
  metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  statusDoc = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as typeof statusDoc;
  if (chromiumMissing() === undefined) {
    const browser = await launchBrowser();
    try {
      const { page, problems } = await browser.open(`http://127.0.0.1:${port}/`);
      await page.waitForSelector("#custom.show #custom-rows tr", { timeout: 10_000 });
      pageRows = await page.$$eval("#custom-rows tr", (trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent ?? "")));
      pageProblems = [...problems];
    } finally {
      await browser.close();
    }
  }
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(500);
  result = await run.stop("SIGTERM");
  // A restart: the log gets a second session, where every indicator starts afresh (replay must too).
  fake.silence("public", false);
  fake.silence("market", false);
  const rerun = startBinary(["run", "--config", config], collectorEnv(fake, SYMBOLS, dir, freePort(), { PARQUET_ROTATE_SEC: "4" }));
  await waitFor("both routes connected again", () => (fake.openConnections().length >= 2 ? true : undefined), 15_000);
  await Bun.sleep(3_000);
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(300);
  result2 = await rerun.stop("SIGTERM");
  for (const s of SYMBOLS) handed.set(s, handedEvents(readSymbolLines(live.ndjson, s)));
}, 60_000);

afterAll(async () => {
  await fake?.stop();
});

describe("custom indicators in the compiled binary", () => {
  test("the run ended cleanly; the failing module was switched off per symbol and logged", () => {
    expect(result.exitCode).toBe(0);
    const off = result.stderr.split("\n").filter((l) => l.includes("custom indicator switched off for this symbol"));
    expect(off.length).toBe(SYMBOLS.length);
    for (const s of SYMBOLS) expect(off.some((l) => l.includes('"indicator":"boom"') && l.includes(`"symbol":"${s}"`))).toBe(true);
    // Rate-limited: at most one error line per symbol per 10 s for boom (the run is shorter).
    expect(result.stderr.split("\n").filter((l) => l.includes("custom indicator error") && l.includes('"indicator":"boom"')).length).toBeLessThanOrEqual(2 * SYMBOLS.length);
    expect(listFiles(live.preview, /kind=custom_boom\//).length).toBe(0);
  });

  test("the raw log has two sessions (a restart) and a book-route disconnect for every symbol", () => {
    expect(result2.exitCode).toBe(0);
    for (const s of SYMBOLS) {
      expect(readSymbolLines(live.ndjson, s).filter((l) => l.event === "session").length).toBe(2);
      expect(handed.get(s)!.filter((e) => e.t === "book-disconnect").length).toBeGreaterThanOrEqual(1);
    }
  });

  test("vwap_dev rows equal the recomputation from the raw log", async () => {
    let total = 0;
    for (const s of SYMBOLS) {
      const want = refVwap(handed.get(s)!);
      expect(want.length).toBeGreaterThan(0);
      expectRowsClose(await customRows(live, "custom_vwap_dev", s, "ts_ms, n, vwap"), sortedBy(want, ["ts_ms", "n", "vwap"]), `${s} vwap_dev`);
      total += want.length;
    }
    expect(total).toBeGreaterThan(200);
  });

  test("book_pressure rows equal the recomputation, including the reset of since_reconnect", async () => {
    for (const s of SYMBOLS) {
      const want = refBookPressure(handed.get(s)!);
      expect(want.length).toBeGreaterThan(20);
      expect(want.some((r) => r.since_reconnect === 1 && want.indexOf(r) > 0)).toBe(true);
      const got = await customRows(live, "custom_book_pressure", s, "ts_ms, since_reconnect, used");
      expectRowsClose(got, sortedBy(want, ["ts_ms", "since_reconnect", "used"]), `${s} book_pressure`);
      expect(new Set(got.map((r) => r.lean))).toContain("bid");
    }
  });

  test("trade_bars (JavaScript, written from the docs only) rows equal the recomputation, the last bar written by onEnd", async () => {
    let backfilled = 0;
    let bars = 0;
    for (const s of SYMBOLS) {
      const want = refTradeBars(handed.get(s)!);
      expect(want.length).toBeGreaterThan(0);
      bars += want.length;
      // A restart can write two bars of one second (the first session's last, the next one's first).
      expectRowsClose(await customRows(live, "custom_trade_bars", s, "ts_ms, open, close, trades"), sortedBy(want, ["ts_ms", "open", "close", "trades"]), `${s} trade_bars`);
      backfilled += want.reduce((n, r) => n + (r.backfilled as number), 0);
    }
    expect(bars).toBeGreaterThan(10);
    // The market-route drop makes harvestd fetch the trades of the gap back over REST (BTCUSDT trades every few ms).
    expect(backfilled).toBeGreaterThan(0);
  });

  test("/metrics has per-indicator cost, calls, rows, errors and switch-offs", () => {
    const value = (name: string, indicator: string): number => {
      const m = new RegExp(`^${name}\\{indicator="${indicator}"\\} (\\S+)$`, "m").exec(metricsText);
      if (m === null) throw new Error(`${name}{indicator="${indicator}"} missing from /metrics`);
      return Number(m[1]);
    };
    expect(value("harvestd_indicator_calls_total", "vwap_dev")).toBeGreaterThan(20);
    expect(value("harvestd_indicator_rows_total", "vwap_dev")).toBe(value("harvestd_indicator_calls_total", "vwap_dev"));
    expect(value("harvestd_indicator_errors_total", "vwap_dev")).toBe(0);
    expect(value("harvestd_indicator_update_seconds_count", "book_pressure")).toBeGreaterThan(20);
    expect(value("harvestd_indicator_update_seconds_sum", "book_pressure")).toBeGreaterThan(0);
    expect(value("harvestd_indicator_errors_total", "boom")).toBe(10 * SYMBOLS.length);
    expect(value("harvestd_indicator_switched_off", "boom")).toBe(SYMBOLS.length);
    expect(value("harvestd_indicator_switched_off", "vwap_dev")).toBe(0);
    if (PROMTOOL_MISSING !== undefined) return;
    expect(promtoolCheck(metricsText).lines.filter((l) => l.includes("harvestd_indicator"))).toEqual([]);
    // promtool's first start on a fresh CI machine took over the runner's default 5 s.
  }, 30_000);

  test("the status page shows a row per indicator: cost, errors, and the symbols a failing one is switched off for", () => {
    if (pageRows === null) {
      // No Chromium here (under CI its absence is a failure, in chromiumMissing).
      expect(chromiumMissing()).toBeDefined();
      return;
    }
    expect(pageProblems).toEqual([]);
    expect(pageRows.map((r) => r[0])).toEqual(["vwap_dev", "book_pressure", "trade_bars", "boom", "session_ends"]);
    const boom = pageRows[3]!;
    expect(boom[5]).toBe(String(10 * SYMBOLS.length));
    expect(boom[6]).toBe([...SYMBOLS].sort().join(", "));
    expect(boom[7]).toContain("threw: boom at");
    expect(pageRows[0]![2]).toMatch(/ µs$/);
  });

  test("/api/status lists each indicator with its cost, errors and the symbols it is switched off for", () => {
    const byName = new Map(statusDoc!.custom_indicators.map((c) => [c.name, c]));
    expect([...byName.keys()]).toEqual(["vwap_dev", "book_pressure", "trade_bars", "boom", "session_ends"]);
    expect(byName.get("vwap_dev")!.costMeanUs).toBeGreaterThan(0);
    expect(byName.get("boom")!.switchedOff).toEqual([...SYMBOLS].sort());
    // The place of the throw in the module: boom.ts line 5 (BOOM's onTrade).
    expect(byName.get("boom")!.lastError).toMatch(/^(BTCUSDT|BATUSDT): threw: boom at \d+ \(boom\.ts:5:\d+\)$/);
  });
});

describe("replay", () => {
  let withCustom: Layout;
  let without: Layout;

  beforeAll(async () => {
    const a = configDir("ind-replay-a", ALL_MODULES);
    withCustom = layout(a.dir);
    const ra = await runBinary(["replay", live.ndjson, "--out", a.dir, "--threads", "2", "--config", a.config]);
    expect(ra.exitCode).toBe(0);
    const b = configDir("ind-replay-b", "");
    without = layout(b.dir);
    const rb = await runBinary(["replay", live.ndjson, "--out", b.dir, "--threads", "1", "--config", b.config]);
    expect(rb.exitCode).toBe(0);
  }, 60_000);

  test("custom_session_ends: one row per session, each with trades, in the live run and in replay (no session ended before it began)", async () => {
    for (const s of SYMBOLS) {
      const rows = await customRows(withCustom, "custom_session_ends", s, "ts_ms");
      expect(rows.length).toBe(2);
      for (const r of rows) expect(r.trades as number).toBeGreaterThan(0);
    }
  });

  test.each(["custom_vwap_dev", "custom_book_pressure", "custom_trade_bars", "custom_session_ends"])("%s: replay writes the live run's rows, row for row", async (kind) => {
    for (const s of SYMBOLS) {
      const got = await customRows(withCustom, kind, s, "ALL");
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(await customRows(live, kind, s, "ALL"));
    }
  });

  test.each([...ALL_KINDS])("%s: identical with the failing and the other custom modules and without any", async (kind) => {
    expect(await treeDifference(withCustom, without, kind)).toEqual({ onlyA: 0, onlyB: 0 });
  });

  test("the replay without indicators wrote no custom kind", () => {
    expect(listFiles(without.preview, /kind=custom_/).length).toBe(0);
    expect(existsSync(join(withCustom.preview))).toBe(true);
  });
});

describe("indicator-types", () => {
  test("prints types/harvestd-indicator.d.ts, which the binary carries", async () => {
    const r = await runBinary(["indicator-types"], {}, tempDir("ind-types"));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(REPO, "types", "harvestd-indicator.d.ts"), "utf8"));
  });
});

describe("a module that cannot be used stops validate, run and replay with exit 78 and one line naming it", () => {
  const cases: [string, (dir: string) => string, string, RegExp][] = [
    ["missing file", () => "", "indicators/absent.ts", /: file not found$/],
    ["syntax error", (dir) => (writeFileSync(join(dir, "indicators", "syntax.ts"), 'export default {\n  name: "syntax",\n  columns: { x: "double" }\n  create() { return {}; },\n};\n'), ""), "indicators/syntax.ts", /: cannot load: .+ \(line 4:\d+\)$/],
    ["bad column type", (dir) => (writeFileSync(join(dir, "indicators", "coltype.ts"), 'export default { name: "coltype", columns: { x: "float" }, create() { return {}; } };\n'), ""), "indicators/coltype.ts", /: column "x" has type "float"; expected "double", "int64", "string" or "bool"$/],
    ["params refused", () => "params = { levels = 9 }", "indicators/book-pressure.ts", /: params rejected by the module: levels must be a whole number from 1 to 5, got 9$/],
  ];
  test.each(cases)("%s", async (_what, prepare, module, problem) => {
    const { dir, config } = configDir("ind-bad", "");
    const extra = prepare(dir);
    writeFileSync(config, `[[indicators.custom]]\nmodule = "indicators/vwap-dev.ts"\n\n[[indicators.custom]]\nmodule = "${module}"\n${extra}\n`);
    const env = { OUTPUT_DIR: join(dir, "raw"), PREVIEW_DIR: join(dir, "preview"), NDJSON_DIR: join(dir, "ndjson"), ARTIFACTS_DIR: join(dir, "artifacts"), SYMBOLS: "BTCUSDT" };
    mkdirSync(join(dir, "ndjson"), { recursive: true });
    for (const args of [["validate"], ["run"], ["replay", join(dir, "ndjson"), "--out", join(dir, "out")]]) {
      const r = await runBinary([...args, "--config", config], env);
      expect(r.exitCode).toBe(78);
      const lines = r.stderr.split("\n").filter((l) => l.length > 0);
      expect(lines.length).toBe(1);
      expect(lines[0]!.startsWith(`harvestd: indicators.custom[1] (${join(dir, module)})`)).toBe(true);
      expect(lines[0]!).toMatch(problem);
    }
    // Nothing was collected.
    for (const sub of ["raw", "preview", "out"]) expect(existsSync(join(dir, sub)) ? listFiles(join(dir, sub), /\.parquet$/).length : 0).toBe(0);
    expect(listFiles(join(dir, "ndjson"), /\.ndjson/).length).toBe(0);
  });
});
