/**
 * Data quality per symbol and UTC hour of event time (docs/research.md): rows per kind, trade-id gaps
 * and backfilled trades, depth sequence gaps ("resyncs"), reconnects per route, OFI resets, crossed
 * books, event latency p50/p95/p99 (prices `latency_ms`, i.e. receipt − exchange `E`; REST-backfilled
 * trades have none) and receive rates. Group-bys run on arquero tables.
 */
import * as aq from "arquero";
import type { RowKind } from "../core/rows.ts";
import type { Columns } from "./parquet-tree.ts";
import { quantileSorted } from "./stats.ts";

export const HOUR_MS = 3_600_000;

/** Counted kinds, in report order. */
export const DQ_KINDS = ["prices", "orderbook", "ofi", "cvd", "fusion", "events", "features", "paper"] as const satisfies readonly RowKind[];
export type DqKind = (typeof DQ_KINDS)[number];

export interface DqFigures {
  rows: Record<DqKind, number>;
  trades_backfilled: number;
  trade_id_gaps: number;
  trade_ids_missing: number;
  /** Book messages whose `pu` did not chain (orderbook `seq_gap`). */
  seq_gaps: number;
  reconnects_public: number;
  reconnects_market: number;
  ofi_resets: number;
  crossed_books: number;
  /** Book rows without both sides. */
  one_sided_books: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  /** Seconds of the period inside [first, last] event of the symbol. */
  covered_s: number;
  /** Live (not backfilled) trades and book messages per covered second. */
  trades_per_s: number | null;
  books_per_s: number | null;
}

export interface DqHour extends DqFigures {
  readonly hour_start_ms: number;
}

export interface SymbolDq {
  readonly symbol: string;
  readonly first_ts_ms: number | null;
  readonly last_ts_ms: number | null;
  /** Hours between the first and last event with neither trades nor books. */
  readonly empty_hours: number;
  readonly totals: DqFigures;
  readonly hours: readonly DqHour[];
}

/** What the data-quality pass reads per kind (prices/orderbook/events beyond the timestamps). */
export const DQ_COLUMNS: Readonly<Record<DqKind, readonly string[]>> = {
  prices: ["ts_ms", "latency_ms", "backfilled"],
  orderbook: ["ts_ms", "mid", "spread_bps", "seq_gap"],
  events: ["ts_ms", "type", "channel", "detail"],
  ofi: ["ts_ms"],
  cvd: ["ts_ms"],
  fusion: ["ts_ms"],
  features: ["ts_ms"],
  paper: ["ts_ms"],
};

function emptyFigures(): DqFigures {
  return {
    rows: Object.fromEntries(DQ_KINDS.map((k) => [k, 0])) as Record<DqKind, number>,
    trades_backfilled: 0,
    trade_id_gaps: 0,
    trade_ids_missing: 0,
    seq_gaps: 0,
    reconnects_public: 0,
    reconnects_market: 0,
    ofi_resets: 0,
    crossed_books: 0,
    one_sided_books: 0,
    latency_p50_ms: null,
    latency_p95_ms: null,
    latency_p99_ms: null,
    covered_s: 0,
    trades_per_s: null,
    books_per_s: null,
  };
}

function hoursOf(ts: Float64Array): Float64Array {
  const h = new Float64Array(ts.length);
  for (let i = 0; i < ts.length; i++) h[i] = Math.floor(ts[i] / HOUR_MS) * HOUR_MS;
  return h;
}

/** Rolled-up arquero table → Map keyed by its `hour` column. */
function byHour<T>(table: aq.ColumnTable, pick: (row: Record<string, unknown>) => T): Map<number, T> {
  const out = new Map<number, T>();
  for (const row of table.objects() as Record<string, unknown>[]) out.set(row.hour as number, pick(row));
  return out;
}

function trimmed(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Data quality of one symbol from its columns (each kind possibly with no rows), restricted to
 * event times in [fromMs, toMs).
 */
export function symbolDataQuality(symbol: string, cols: Readonly<Partial<Record<DqKind, Columns>>>, fromMs: number, toMs: number): SymbolDq {
  const hours = new Map<number, DqHour>();
  const hour = (h: number): DqHour => {
    let x = hours.get(h);
    if (x === undefined) {
      x = { hour_start_ms: h, ...emptyFigures() };
      hours.set(h, x);
    }
    return x;
  };
  const inRange = `d => d.ts >= ${fromMs} && d.ts < ${toMs}`;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;

  for (const kind of DQ_KINDS) {
    const c = cols[kind];
    if (c === undefined || c.rows === 0) continue;
    const ts = c.num("ts_ms");
    let t = aq.table({ ts, hour: hoursOf(ts) }).filter(inRange);
    if (t.numRows() === 0) continue;
    if (kind === "prices" || kind === "orderbook") {
      const r = t.rollup({ lo: aq.op.min("ts"), hi: aq.op.max("ts") }).object() as { lo: number; hi: number };
      if (r.lo < first) first = r.lo;
      if (r.hi > last) last = r.hi;
    }
    for (const [h, n] of byHour(t.groupby("hour").count({ as: "n" }), (o) => o.n as number)) hour(h).rows[kind] = n;
    if (kind === "prices") {
      t = aq.table({ ts, hour: hoursOf(ts), lat: c.num("latency_ms"), bf: c.bool("backfilled") }).filter(inRange);
      const bf = byHour(t.groupby("hour").rollup({ bf: aq.op.sum("bf") }), (o) => o.bf as number);
      for (const [h, v] of bf) hour(h).trades_backfilled = v;
      const lat = t.filter("d => !op.is_nan(d.lat)").groupby("hour").rollup({
        p50: aq.op.quantile("lat", 0.5),
        p95: aq.op.quantile("lat", 0.95),
        p99: aq.op.quantile("lat", 0.99),
      });
      for (const [h, v] of byHour(lat, (o) => o)) {
        const x = hour(h);
        x.latency_p50_ms = trimmed(v.p50);
        x.latency_p95_ms = trimmed(v.p95);
        x.latency_p99_ms = trimmed(v.p99);
      }
    } else if (kind === "orderbook") {
      t = aq.table({ ts, hour: hoursOf(ts), mid: c.num("mid"), sp: c.num("spread_bps"), gap: c.bool("seq_gap") }).filter(inRange);
      const r = t
        .derive({ one: "d => op.is_nan(d.mid) ? 1 : 0", crossed: "d => !op.is_nan(d.mid) && d.sp <= 0 ? 1 : 0" })
        .groupby("hour")
        .rollup({ gaps: aq.op.sum("gap"), one: aq.op.sum("one"), crossed: aq.op.sum("crossed") });
      for (const [h, v] of byHour(r, (o) => o)) {
        const x = hour(h);
        x.seq_gaps = v.gaps as number;
        x.one_sided_books = v.one as number;
        x.crossed_books = v.crossed as number;
      }
    } else if (kind === "events") {
      addEvents(c, fromMs, toMs, hour);
    }
  }

  // Receive rates over the covered part of each hour.
  const totals = emptyFigures();
  for (const x of hours.values()) {
    const lo = Math.max(x.hour_start_ms, first);
    const hi = Math.min(x.hour_start_ms + HOUR_MS, last);
    x.covered_s = hi > lo ? (hi - lo) / 1000 : 0;
    x.trades_per_s = x.covered_s > 0 ? (x.rows.prices - x.trades_backfilled) / x.covered_s : null;
    x.books_per_s = x.covered_s > 0 ? x.rows.orderbook / x.covered_s : null;
    for (const k of DQ_KINDS) totals.rows[k] += x.rows[k];
    for (const k of ["trades_backfilled", "trade_id_gaps", "trade_ids_missing", "seq_gaps", "reconnects_public", "reconnects_market", "ofi_resets", "crossed_books", "one_sided_books", "covered_s"] as const) {
      totals[k] += x[k];
    }
  }
  totals.trades_per_s = totals.covered_s > 0 ? (totals.rows.prices - totals.trades_backfilled) / totals.covered_s : null;
  totals.books_per_s = totals.covered_s > 0 ? totals.rows.orderbook / totals.covered_s : null;
  const p = cols.prices;
  if (p !== undefined) {
    const ts = p.num("ts_ms");
    const lat = p.num("latency_ms");
    const v: number[] = [];
    for (let i = 0; i < p.rows; i++) if (ts[i] >= fromMs && ts[i] < toMs && lat[i] === lat[i]) v.push(lat[i]);
    const sorted = Float64Array.from(v).sort();
    totals.latency_p50_ms = quantileSorted(sorted, 0.5);
    totals.latency_p95_ms = quantileSorted(sorted, 0.95);
    totals.latency_p99_ms = quantileSorted(sorted, 0.99);
  }

  const list = [...hours.values()].sort((a, b) => a.hour_start_ms - b.hour_start_ms);
  let empty = 0;
  if (first <= last) {
    for (let h = Math.floor(first / HOUR_MS) * HOUR_MS; h <= last; h += HOUR_MS) {
      const x = hours.get(h);
      if (x === undefined || x.rows.prices + x.rows.orderbook === 0) empty++;
    }
  }
  return {
    symbol,
    first_ts_ms: first <= last ? first : null,
    last_ts_ms: first <= last ? last : null,
    empty_hours: empty,
    totals,
    hours: list,
  };
}

/** Events rows: few, so a plain loop; `trade_id_gap` details carry the number of missing ids. */
function addEvents(c: Columns, fromMs: number, toMs: number, hour: (h: number) => DqHour): void {
  const ts = c.num("ts_ms");
  const type = c.str("type");
  const channel = c.str("channel");
  const detail = c.str("detail");
  for (let i = 0; i < c.rows; i++) {
    const t = ts[i];
    if (!(t >= fromMs && t < toMs)) continue;
    const x = hour(Math.floor(t / HOUR_MS) * HOUR_MS);
    switch (type[i]) {
      case "trade_id_gap": {
        x.trade_id_gaps++;
        const m = /"missing":(\d+)/.exec(detail[i] ?? "");
        if (m !== null) x.trade_ids_missing += Number(m[1]);
        break;
      }
      case "reconnect":
        if (channel[i] === "public") x.reconnects_public++;
        else x.reconnects_market++;
        break;
      case "ofi_reset":
        x.ofi_resets++;
        break;
    }
  }
}
