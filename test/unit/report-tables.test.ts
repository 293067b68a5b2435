/**
 * The report's roll-ups on small hand-made inputs: data quality per hour (counts, gaps, missing ids,
 * reconnects per route, one-sided/crossed books, latency quantiles, receive rates) and the hit-rate
 * table (per symbol × regime, the ALL roll-ups, thinned vs all rows, mean/median gross and net,
 * base rate p_up).
 */
import { describe, expect, test } from "bun:test";
import { symbolDataQuality, HOUR_MS } from "../../src/report/data-quality.ts";
import { ForwardReturns, MidSeries } from "../../src/report/forward-returns.ts";
import type { Candidates } from "../../src/report/hit-rate.ts";
import type { Columns } from "../../src/report/parquet-tree.ts";
import { HitRateTable } from "../../src/report/signals.ts";
import { checkRequest, reportStem } from "../../src/report/command.ts";
import { Progress } from "../../src/report/progress.ts";

/** In-memory Columns: numbers (null → NaN), booleans, strings. */
function cols(data: Record<string, readonly (number | string | boolean | null)[]>): Columns {
  const n = Object.values(data)[0]?.length ?? 0;
  return {
    rows: n,
    num: (k) => Float64Array.from(data[k]!, (v) => (v === null ? Number.NaN : (v as number))),
    str: (k) => data[k] as (string | null)[],
    bool: (k) => Uint8Array.from(data[k]!, (v) => (v ? 1 : 0)),
  };
}

const H0 = Date.UTC(2026, 0, 5, 10); // 10:00 UTC
const MIN = 60_000;

describe("data quality per symbol and hour", () => {
  const prices = cols({
    ts_ms: [H0 + 30 * MIN, H0 + 31 * MIN, H0 + 40 * MIN, H0 + 50 * MIN, H0 + HOUR_MS + 5 * MIN, H0 + HOUR_MS + 30 * MIN],
    latency_ms: [10, 20, 30, null, 5, 7],
    backfilled: [false, false, false, true, false, false],
  });
  const orderbook = cols({
    ts_ms: [H0 + 30 * MIN, H0 + 45 * MIN, H0 + 59 * MIN, H0 + HOUR_MS + 1 * MIN, H0 + HOUR_MS + 40 * MIN],
    mid: [100, null, 101, 102, 103],
    spread_bps: [1, null, -0.5, 1, 1],
    seq_gap: [false, true, false, false, true],
  });
  const events = cols({
    ts_ms: [H0 + 35 * MIN, H0 + 36 * MIN, H0 + 37 * MIN, H0 + HOUR_MS + 2 * MIN, H0 + HOUR_MS + 3 * MIN],
    type: ["trade_id_gap", "reconnect", "reconnect", "ofi_reset", "trade_id_gap"],
    channel: [null, "public", "market", null, null],
    detail: ['{"from_id":5,"to_id":9,"missing":5}', '{"route":"public","ofi_reset":true}', '{"route":"market","ofi_reset":false}', '{"reason":"time_gap","gap_ms":3000}', '{"from_id":20,"to_id":20,"missing":1}'],
  });
  const fusion = cols({ ts_ms: [H0 + 31 * MIN, H0 + HOUR_MS + 31 * MIN, H0 + HOUR_MS + 32 * MIN] });
  const dq = symbolDataQuality("X", { prices, orderbook, events, fusion }, H0 - HOUR_MS, H0 + 3 * HOUR_MS);

  test("two hours with their rows per kind, gaps, missing ids, reconnects per route, resets", () => {
    expect(dq.hours.map((h) => h.hour_start_ms)).toEqual([H0, H0 + HOUR_MS]);
    const [a, b] = dq.hours;
    expect([a.rows.prices, a.rows.orderbook, a.rows.events, a.rows.fusion, a.rows.ofi]).toEqual([4, 3, 3, 1, 0]);
    expect([b.rows.prices, b.rows.orderbook, b.rows.events, b.rows.fusion]).toEqual([2, 2, 2, 2]);
    expect([a.trade_id_gaps, a.trade_ids_missing, a.reconnects_public, a.reconnects_market, a.ofi_resets]).toEqual([1, 5, 1, 1, 0]);
    expect([b.trade_id_gaps, b.trade_ids_missing, b.reconnects_public, b.reconnects_market, b.ofi_resets]).toEqual([1, 1, 0, 0, 1]);
    expect([a.seq_gaps, a.one_sided_books, a.crossed_books, a.trades_backfilled]).toEqual([1, 1, 1, 1]);
    expect([b.seq_gaps, b.one_sided_books, b.crossed_books]).toEqual([1, 0, 0]);
  });

  test("latency quantiles skip null (REST) latencies; type-7 interpolation", () => {
    const [a, b] = dq.hours;
    // hour 1: [10, 20, 30] ⇒ p50 20, p95 29, p99 29.8; hour 2: [5, 7] ⇒ p50 6
    expect([a.latency_p50_ms, a.latency_p95_ms]).toEqual([20, 29]);
    expect(a.latency_p99_ms).toBeCloseTo(29.8, 12);
    expect(b.latency_p50_ms).toBe(6);
    // all: [5, 7, 10, 20, 30] ⇒ p50 10, p95 28, p99 29.6
    expect(dq.totals.latency_p50_ms).toBe(10);
    expect(dq.totals.latency_p95_ms).toBeCloseTo(28, 12);
    expect(dq.totals.latency_p99_ms).toBeCloseTo(29.6, 12);
  });

  test("receive rates over the covered part of each hour (first to last trade or book)", () => {
    const [a, b] = dq.hours;
    // covered: 10:30 → 11:00 = 1800 s; 11:00 → 11:40 = 2400 s
    expect(a.covered_s).toBe(1800);
    expect(b.covered_s).toBe(2400);
    expect(a.trades_per_s).toBe(3 / 1800); // the backfilled trade is not received live
    expect(a.books_per_s).toBe(3 / 1800);
    expect(dq.totals.rows.prices).toBe(6);
    expect(dq.totals.trades_per_s).toBe(5 / 4200);
    expect([dq.first_ts_ms, dq.last_ts_ms, dq.empty_hours]).toEqual([H0 + 30 * MIN, H0 + HOUR_MS + 40 * MIN, 0]);
  });

  test("rows outside the report range are not counted; an hour without trades or books is an empty hour", () => {
    const late = cols({ ts_ms: [H0, H0 + 2 * HOUR_MS + 1], latency_ms: [1, 1], backfilled: [false, false] });
    const q = symbolDataQuality("Y", { prices: late }, H0 - HOUR_MS, H0 + 3 * HOUR_MS);
    expect(q.empty_hours).toBe(1);
    const cut = symbolDataQuality("Y", { prices: late }, H0, H0 + HOUR_MS);
    expect(cut.totals.rows.prices).toBe(1);
  });
});

function cands(ts: number[], d: number[], r: number[], scenario: string[], thinned: number[]): Candidates {
  return { nSignals: ts.length + 1, ts: Float64Array.from(ts), d: Int8Array.from(d), r: Float64Array.from(r), scenario, thinned: Uint32Array.from(thinned) };
}

describe("hit-rate table", () => {
  const t = new HitRateTable(0, 10);
  // symbol A: thinned rows 0, 2, 3; row 1 only in "all rows"
  t.add("fusion", 10, "A", cands([0, 5, 10, 20], [1, 1, -1, 1], [2, 4, -3, 0], ["A_H", "A_H", "Q_L", "Q_L"], [0, 2, 3]));
  // symbol B: one thinned sell that misses
  t.add("fusion", 10, "B", cands([0], [-1], [1.5], ["A_H"], [0]));
  const rows = t.rows();
  const get = (symbol: string, scenario: string) => rows.find((r) => r.symbol === symbol && r.scenario === scenario)!;

  test("per symbol, per regime and the ALL roll-ups count thinned samples; flats excluded", () => {
    const a = get("A", "ALL");
    expect([a.n_candidates, a.n_thinned, a.n_flat, a.n_eval, a.hits, a.n_buy, a.hits_buy, a.n_sell, a.hits_sell]).toEqual([4, 3, 1, 2, 2, 1, 1, 1, 1]);
    expect([a.n_signals, a.n_unlabelled]).toEqual([5, 1]);
    expect(a.hr).toBe(1);
    expect(get("A", "A_H")).toMatchObject({ n_candidates: 2, n_thinned: 1, n_eval: 1, hits: 1, n_signals: null });
    expect(get("A", "Q_L")).toMatchObject({ n_candidates: 2, n_thinned: 2, n_flat: 1, n_eval: 1, hits: 1 });
    const all = get("ALL", "ALL");
    expect([all.n_candidates, all.n_thinned, all.n_flat, all.n_eval, all.hits, all.n_signals, all.n_unlabelled]).toEqual([5, 4, 1, 3, 2, 7, 2]);
    expect(get("ALL", "A_H")).toMatchObject({ n_thinned: 2, n_eval: 2, hits: 1 });
  });

  test("unthinned all-rows figures, mean/median d·r gross and net of the round-trip fee", () => {
    expect(get("A", "ALL").all_rows).toEqual({ n_flat: 1, n_eval: 3, hits: 3, hr: 1 });
    const all = get("ALL", "ALL");
    // thinned non-flat d·r: A: +2, +3; B: −1.5 ⇒ mean 3.5/3, median 2
    expect(all.mean_gross_bps).toBeCloseTo(3.5 / 3, 12);
    expect(all.median_gross_bps).toBe(2);
    expect(all.mean_net_bps).toBeCloseTo(3.5 / 3 - 10, 12);
    expect(all.median_net_bps).toBe(-8);
    expect(get("B", "ALL")).toMatchObject({ n_eval: 1, hits: 0, hr: 0, hr_sell: 0, hr_buy: null, mean_gross_bps: -1.5 });
  });

  test("base rate p_up on the 1 s grid per symbol and regime", () => {
    const mids = MidSeries.fromBooks([0, 1000, 2000, 3000], [100, 101, 100, 100], [1, 1, 1, 1]);
    const fwd = new ForwardReturns(mids, new Float64Array(0));
    const u = new HitRateTable(0, 0);
    u.add("ofi", 1, "A", cands([0], [1], [1], ["Q_L"], [0]));
    // grid 0, 1, 2 s: r = up, down, flat ⇒ non-flat 2, up 1
    u.addBaseRate(1, "A", fwd, 0, (tt) => (tt < 1000 ? "A_H" : "Q_L"));
    const r = u.rows();
    expect(r.find((x) => x.symbol === "A" && x.scenario === "ALL")!.p_up).toBe(0.5);
    expect(r.find((x) => x.symbol === "A" && x.scenario === "Q_L")!.p_up).toBe(0);
    expect(r.find((x) => x.symbol === "ALL" && x.scenario === "ALL")!.p_up).toBe(0.5);
  });
});

describe("progress and command-line checks", () => {
  test("progress prints at most one line per interval, then a summary with files and rows", () => {
    const lines: string[] = [];
    let now = 0;
    const p = new Progress((l) => lines.push(l), 1000, () => now);
    p.start(3, 2);
    p.file("A", "prices", 1000);
    now = 500;
    p.file("A", "orderbook", 2000); // within the interval: silent
    now = 1600;
    p.file("B", "prices", 1234567);
    p.symbolDone("B"); // within the interval: silent
    now = 3000;
    p.done();
    expect(lines).toEqual([
      "report: 3 Parquet files for 2 symbols",
      "report: 1/3 files, 1,000 rows (A prices, symbol 1/2)",
      "report: 3/3 files, 1,237,567 rows (B prices, symbol 2/2)",
      "report: read 3/3 files, 1,237,567 rows in 3.0 s",
    ]);
  });

  test("dates must be real YYYY-MM-DD days with from ≤ to; file names carry the range and symbols", () => {
    expect(checkRequest("2026-01-01", "2026-01-03")).toBeNull();
    expect(checkRequest(null, "2026-01-03")).toContain("--from YYYY-MM-DD and --to YYYY-MM-DD");
    expect(checkRequest("2026-02-29", "2026-03-01")).toContain('--from "2026-02-29" is not a date');
    expect(checkRequest("2026-1-5", "2026-03-01")).toContain("is not a date");
    expect(checkRequest("2026-03-02", "2026-03-01")).toBe("report --from 2026-03-02 is after --to 2026-03-01");
    expect(reportStem({ from: "2026-01-01", to: "2026-01-02", symbols: null })).toBe("dq_2026-01-01_2026-01-02");
    expect(reportStem({ from: "2026-01-01", to: "2026-01-02", symbols: ["BTCUSDT", "ETHUSDT"] })).toBe("dq_2026-01-01_2026-01-02_BTCUSDT-ETHUSDT");
    expect(reportStem({ from: "2026-01-01", to: "2026-01-01", symbols: Array.from({ length: 20 }, (_, i) => `S${i}USDT`) })).toMatch(/^dq_2026-01-01_2026-01-01_20symbols_[0-9a-f]{10}$/);
  });
});
