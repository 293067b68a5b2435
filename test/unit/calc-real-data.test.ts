/**
 * Real recorded Binance USD-M traffic through the engine (all real calculators): invariants only —
 * no NaN/Infinity anywhere, nulls only in nullable columns, ids strictly increasing, counts that
 * must agree, cvd = Σ delta, clips respected.
 *
 * - cryptofeed aggTrade frames (2021, 13 small-cap symbols): exact aggTrade payloads, one engine per
 *   symbol. The fixture README states the id chains have no gaps.
 * - hftbacktest BTCUSDT 2024-08-08 (first 40 000 lines): top-5 snapshots derived from the recorded
 *   diff depth plus `@trade` prints, in recorded arrival order.
 */
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import { SCHEMAS, type Row, type RowKind } from "../../src/core/rows.ts";
import { FIXTURES, MemorySink, readAggTradeFrames, readHftStream } from "./calc-support.ts";

function checkColumns(sink: MemorySink): void {
  for (const kind of Object.keys(SCHEMAS) as RowKind[]) {
    for (const r of sink.rows[kind]) {
      for (const c of SCHEMAS[kind]) {
        const v = r[c.name];
        if (v === null) {
          if (!c.nullable) throw new Error(`${kind}.${c.name} null in ${JSON.stringify(r)}`);
        } else if (typeof v === "number" && !Number.isFinite(v)) {
          throw new Error(`${kind}.${c.name} = ${v}`);
        }
      }
    }
  }
}

function strictlyIncreasing(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i] > xs[i - 1])) return false;
  return true;
}

describe("cryptofeed aggTrade frames", () => {
  for (const file of ["2021-04-05_5sym_aggTrade", "2021-04-17_4sym_aggTrade", "2021-07-22_4sym_aggTrade"]) {
    test(file, () => {
      const events = readAggTradeFrames(`${FIXTURES}/cryptofeed/derived/${file}.frames.ndjson`);
      const symbols = [...new Set(events.map((e) => e.symbol))];
      let total = 0;
      for (const sym of symbols) {
        const mine = events.filter((e) => e.symbol === sym);
        const sink = new MemorySink();
        const engine = new SymbolEngine(sym, indicatorParams({ cvd: { freeze_min: 3 } }), sink);
        for (const ev of mine) engine.onTrade(ev, (ev.eventTime as number) + 50);
        engine.finish();
        checkColumns(sink);
        const c = engine.counters;
        expect(c.trades).toBe(mine.length);
        expect(c.dup_trades + c.trade_id_gaps + c.bad_trades).toBe(0);
        expect(sink.rows.prices.length).toBe(mine.length);
        expect(sink.rows.cvd.length).toBe(mine.length);
        expect(strictlyIncreasing(sink.rows.prices.map((r) => r.agg_trade_id as number))).toBe(true);
        // no book stream: no fills, no OFI, no fusion
        expect(sink.rows.prices.every((r) => r.best_buy_fill === null && r.best_sell_fill === null)).toBe(true);
        expect(sink.rows.ofi.length + sink.rows.fusion.length + sink.rows.orderbook.length).toBe(0);
        let sum = 0;
        sink.rows.cvd.forEach((r, i) => {
          const ev = mine[i];
          expect(r.delta).toBe(ev.buyerIsMaker ? -ev.qty : ev.qty);
          sum += r.delta as number;
          expect(Math.abs((r.cvd as number) - sum)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(sum)));
          if (r.z_cvd !== null) expect(Math.abs(r.z_cvd as number)).toBeLessThanOrEqual(8);
          expect(sink.rows.prices[i].latency_ms).toBe(50);
        });
        expect(sink.rows.prices[0].row_id).toBe(new Bun.CryptoHasher("md5").update(`${sym}|${mine[0].aggId}|price`).digest("hex"));
        total += mine.length;
      }
      expect(total).toBe(events.length);
    });
  }
});

describe("hftbacktest BTCUSDT 2024-08-08 (derived top-5 books + trades)", () => {
  const stream = readHftStream(`${FIXTURES}/hftbacktest/btcusdt_20240808.gz`, 40_000);
  const sink = new MemorySink();
  const engine = new SymbolEngine("BTCUSDT", indicatorParams(), sink);
  for (const { recv, ev } of stream) {
    if (ev.kind === "depth") engine.onDepth(ev, recv);
    else engine.onTrade(ev, recv);
  }
  engine.finish();
  const nBooks = stream.filter((x) => x.ev.kind === "depth").length;
  const nTrades = stream.length - nBooks;
  const c = engine.counters;

  test("the stream is substantial", () => {
    expect(nBooks).toBeGreaterThan(2500);
    expect(nTrades).toBeGreaterThan(5000);
  });

  test("no NaN/Infinity, nulls only where nullable", () => {
    checkColumns(sink);
  });

  test("book counts: every message kept, pu chains (0 gaps), OFI row per normal message", () => {
    expect(c.books).toBe(nBooks);
    expect(c.stale_books).toBe(0);
    expect(c.seq_gaps).toBe(0);
    expect(c.bad_levels).toBe(0);
    expect(sink.rows.orderbook.length).toBe(nBooks);
    const normal = sink.rows.orderbook.filter((r) => r.d_b0 !== null);
    expect(sink.rows.ofi.length).toBe(normal.length);
    expect(sink.rows.ofi.map((r) => r.last_id)).toEqual(normal.map((r) => r.last_id));
    expect(strictlyIncreasing(sink.rows.orderbook.map((r) => r.last_id as number))).toBe(true);
    expect(c.crossed).toBe(sink.rows.orderbook.filter((r) => r.spread_bps !== null && (r.spread_bps as number) <= 0).length);
    for (const r of sink.rows.ofi) if (r.ofi_z !== null) expect(Math.abs(r.ofi_z as number)).toBeLessThanOrEqual(3);
    expect(sink.rows.ofi.filter((r) => r.ofi_z !== null).length).toBeGreaterThan(normal.length - 100);
  });

  test("d_* equal the level-by-level quantity changes of consecutive valid rows", () => {
    const rows = sink.rows.orderbook;
    let prev: Row | null = null;
    for (const r of rows) {
      const valid = r.mid !== null && (r.spread_bps as number) > 0;
      if (r.d_b0 !== null && prev !== null) {
        for (let m = 0; m < 5; m++) {
          const q = (x: Row, k: string) => (x[k] as number | null) ?? 0;
          expect(r[`d_b${m}`] as number).toBeCloseTo(q(r, `bid_qty_${m}`) - q(prev, `bid_qty_${m}`), 9);
          expect(r[`d_a${m}`] as number).toBeCloseTo(q(r, `ask_qty_${m}`) - q(prev, `ask_qty_${m}`), 9);
        }
      }
      if (valid) prev = r;
    }
  });

  test("trade counts, ids, fills and fusion", () => {
    expect(c.trades + c.dup_trades + c.bad_trades).toBe(nTrades);
    expect(c.trade_id_gaps).toBe(0);
    expect(sink.rows.prices.length).toBe(c.trades);
    expect(strictlyIncreasing(sink.rows.cvd.map((r) => r.agg_trade_id as number))).toBe(true);
    const withFill = sink.rows.prices.filter((r) => r.best_buy_fill !== null);
    expect(withFill.length).toBeGreaterThan(c.trades - 50);
    for (const r of withFill) expect(r.best_buy_fill as number).toBeGreaterThan(r.best_sell_fill as number);
    const zc = sink.rows.cvd.filter((r) => r.z_cvd !== null).length;
    expect(sink.rows.fusion.length).toBeGreaterThan(0);
    expect(sink.rows.fusion.length).toBeLessThanOrEqual(zc);
    expect(c.fusion_rows).toBe(sink.rows.fusion.length);
    for (const r of sink.rows.fusion) {
      expect(Math.abs(r.z_ofi as number)).toBeLessThanOrEqual(4);
      expect(["buy", "sell", "neutral"]).toContain(r.signal as string);
    }
  });

  test("features: one row per second, strictly increasing by 1000", () => {
    const ts = sink.rows.features.map((r) => r.ts_ms as number);
    expect(ts.length).toBeGreaterThan(100);
    for (let i = 1; i < ts.length; i++) expect(ts[i] - ts[i - 1]).toBe(1000);
  });
});
