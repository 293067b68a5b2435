/**
 * docs/indicators.md §2.1 message classification and sequencing through the engine: stale, one-sided, crossed, first,
 * time gap, normal; sequence gaps; reconnects (§15.5); §3 row nullability per class.
 */
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import { depth, doubles, MemorySink, trade, type Level } from "./calc-support.ts";

const BIDS: Level[] = [[100, 5], [99.9, 3], [99.8, 4], [99.7, 2], [99.6, 6]];
const ASKS: Level[] = [[100.1, 4], [100.2, 2], [100.3, 5], [100.4, 3], [100.5, 1]];
const withQty = (levels: Level[], m: number, q: number): Level[] => levels.map((l, i) => (i === m ? [l[0], q] : l));

function setup(ofi: Record<string, unknown> = {}) {
  const sink = new MemorySink();
  const deps = doubles();
  const params = indicatorParams({ ofi: { z_min_samples: 2, ...ofi } });
  const engine = new SymbolEngine("BTCUSDT", params, sink, deps);
  let u = 100;
  /** A book with chained ids unless overridden. */
  const book = (T: number, bids: Level[] = BIDS, asks: Level[] = ASKS, ids: { u?: number; pu?: number | null } = {}) => {
    const newU = ids.u ?? u + 10;
    const pu = ids.pu === undefined ? u : ids.pu;
    engine.onDepth(depth(T, newU - 9, newU, pu, bids, asks), T + 50);
    if (newU > u) u = newU;
  };
  return { sink, deps, engine, book };
}

describe("classification", () => {
  test("first message: row with null d_*, no OFI row; the second is normal", () => {
    const { sink, book } = setup();
    book(1000);
    book(1100, withQty(BIDS, 0, 7));
    expect(sink.rows.orderbook.length).toBe(2);
    expect(sink.rows.orderbook[0].d_b0).toBeNull();
    expect(sink.rows.orderbook[0].d_bid_qty_agg).toBeNull();
    expect(sink.rows.orderbook[1].d_b0).toBe(2);
    expect(sink.rows.ofi.map((r) => r.ts_ms)).toEqual([1100]);
    // e_0 = (7 − 5) − 0 = 2, weighted 0.4
    expect(sink.rows.ofi[0].ofi_value).toBeCloseTo(0.8, 12);
  });

  test("stale / duplicate u is dropped without touching state (ts_eff does not advance)", () => {
    const { sink, engine, book } = setup();
    book(1000); // u = 110
    book(9000, BIDS, ASKS, { u: 120, pu: 110 });
    const kept = sink.rows.orderbook.length;
    book(20_000, BIDS, ASKS, { u: 120, pu: 120 }); // u == last_u ⇒ stale
    book(20_100, BIDS, ASKS, { u: 115, pu: 120 }); // u < last_u ⇒ stale
    expect(sink.rows.orderbook.length).toBe(kept);
    expect(engine.counters.stale_books).toBe(2);
    // had the stale T = 20 000 advanced ts_eff, the next book's ts_eff would be 20 000, not 10 500
    engine.onTrade(trade(10_500, 1, 100, 1, false), 10_600);
    book(10_500, withQty(BIDS, 0, 6), ASKS, { u: 200, pu: 120 });
    expect(sink.rows.ofi.at(-1)?.ts_ms).toBe(10_500);
    expect(sink.rows.ofi.at(-1)?.lag_ms_to_trade).toBe(0);
  });

  test("one side empty: row with null best/mid/spread/d_*, no OFI, baseline kept", () => {
    const { sink, engine, book } = setup();
    book(1000);
    book(1100, BIDS, []);
    const r = sink.rows.orderbook[1];
    expect(r.best_bid).toBe(100);
    expect(r.best_ask).toBeNull();
    expect(r.mid).toBeNull();
    expect(r.spread_bps).toBeNull();
    expect(r.d_b0).toBeNull();
    expect(r.ask_px_0).toBeNull();
    expect(sink.rows.ofi.length).toBe(0);
    expect(engine.counters.one_sided_books).toBe(1);
    // baseline is still the t=1000 book: d_b0 = 9 − 5
    book(1200, withQty(BIDS, 0, 9));
    expect(sink.rows.orderbook[2].d_b0).toBe(4);
    expect(sink.rows.ofi.length).toBe(1);
  });

  test("invalid levels only on one side make it one-sided and count bad_levels", () => {
    const { sink, engine, book } = setup();
    book(1000, [[Number.NaN, 1], [100, 0]], ASKS);
    expect(sink.rows.orderbook[0].best_bid).toBeNull();
    expect(engine.counters.bad_levels).toBe(2);
    expect(engine.counters.one_sided_books).toBe(1);
  });

  test("crossed / locked: row with mid and spread ≤ 0, d_* null, counter, event, baseline kept", () => {
    const { sink, engine, book } = setup();
    book(1000);
    book(1100, [[100.2, 1], ...BIDS], ASKS); // 100.2 ≥ 100.1
    book(1150, [[100.1, 1], ...BIDS], ASKS); // locked
    for (const r of sink.rows.orderbook.slice(1)) {
      expect(r.d_b0).toBeNull();
      expect(r.mid).not.toBeNull();
      expect(r.spread_bps as number).toBeLessThanOrEqual(0);
    }
    expect(sink.rows.orderbook[1].spread_bps as number).toBeLessThan(0);
    expect(sink.rows.orderbook[2].spread_bps).toBe(0);
    expect(engine.counters.crossed).toBe(2);
    expect(sink.rows.ofi.length).toBe(0);
    const ev = sink.rows.events.filter((e) => e.type === "crossed_book");
    expect(ev.length).toBe(2);
    expect(JSON.parse(ev[0].detail as string)).toEqual({ best_bid: 100.2, best_ask: 100.1 });
    book(1200, withQty(BIDS, 1, 10));
    expect(sink.rows.orderbook[3].d_b1).toBe(7); // vs the t=1000 baseline
  });

  test("time gap > OFI_RESET_GAP_MS: row with d_* null, full OFI reset, then warm-up again", () => {
    const { sink, engine, deps, book } = setup();
    book(1000);
    book(1100, withQty(BIDS, 0, 6));
    book(1200, withQty(BIDS, 0, 8));
    book(1300, withQty(BIDS, 0, 5)); // history 2 ⇒ z
    expect(sink.rows.ofi.at(-1)?.ofi_z).not.toBeNull();
    book(3300, BIDS); // gap 2000: not > 2000 ⇒ normal
    expect(sink.rows.ofi.at(-1)?.ts_ms).toBe(3300);
    book(5301, withQty(BIDS, 0, 9)); // gap 2001 ⇒ reset
    expect(sink.rows.orderbook.at(-1)?.d_b0).toBeNull();
    expect(sink.rows.ofi.at(-1)?.ts_ms).toBe(3300);
    expect(engine.counters.ofi_resets).toBe(1);
    expect(engine.diagnostics().ofiHistory).toBe(0);
    expect(deps.divergence.resets).toEqual([5301]);
    const ev = sink.rows.events.filter((e) => e.type === "ofi_reset");
    expect(ev.length).toBe(1);
    expect(JSON.parse(ev[0].detail as string)).toEqual({ reason: "time_gap", gap_ms: 2001 });
    // baseline := the reset message; warm-up restarts (z_min_samples = 2)
    book(5400, BIDS);
    book(5500, withQty(BIDS, 0, 7));
    book(5600, BIDS);
    const z = sink.rows.ofi.slice(-3).map((r) => r.ofi_z);
    expect(z[0]).toBeNull();
    expect(z[1]).toBeNull();
    expect(z[2]).not.toBeNull();
    expect(sink.rows.orderbook.at(-3)?.d_b0).toBe(-4); // 5 − 9: against the reset message
  });

  test("sequence gap: counted, flagged on the orderbook and OFI rows, event, OFI computed normally", () => {
    const { sink, engine, book } = setup();
    book(1000);
    book(1100, withQty(BIDS, 0, 6), ASKS, { u: 130, pu: 120 }); // last_u 100 ≠ pu 120
    expect(engine.counters.seq_gaps).toBe(1);
    expect(sink.rows.orderbook[1].seq_gap).toBe(true);
    expect(sink.rows.ofi.length).toBe(1);
    expect(sink.rows.ofi[0].seq_gap).toBe(true);
    const ev = sink.rows.events.filter((e) => e.type === "seq_gap");
    expect(JSON.parse(ev[0].detail as string)).toEqual({ expected_pu: 110, pu: 120, first_id: 121, last_id: 130 });
    book(1200); // chained again
    expect(sink.rows.orderbook[2].seq_gap).toBe(false);
    // pu absent: no check
    book(1300, BIDS, ASKS, { pu: null });
    expect(engine.counters.seq_gaps).toBe(1);
  });

  test("sequence audit: more than 1 % gaps in the first 1000 messages ⇒ one seq_chain_broken event", () => {
    const { sink, engine, book } = setup();
    for (let i = 0; i < 30; i++) book(1000 + 10 * i, BIDS, ASKS, { pu: 1 }); // pu never chains
    const ev = sink.rows.events.filter((e) => e.type === "seq_chain_broken");
    expect(ev.length).toBe(1);
    expect(JSON.parse(ev[0].detail as string)).toEqual({ gaps: 11, messages: 12 });
    // per-gap events stop once the chain is known broken; the flag and the counter go on
    expect(sink.rows.events.filter((e) => e.type === "seq_gap").length).toBe(10);
    expect(sink.rows.orderbook.at(-1)?.seq_gap).toBe(true);
    expect(engine.counters.seq_gaps).toBe(29);
    expect(engine.counters.seq_chain_broken).toBe(1);
  });

  test("onDisconnect('public'): full OFI reset, next book is first (null d_*, no OFI row, no seq gap)", () => {
    const { sink, engine, deps, book } = setup();
    book(1000);
    book(1100, withQty(BIDS, 0, 6));
    book(1200, withQty(BIDS, 0, 8));
    expect(engine.diagnostics().ofiHistory).toBe(2);
    engine.onDisconnect("public");
    expect(engine.diagnostics().ofiHistory).toBe(0);
    expect(engine.counters.ofi_resets).toBe(1);
    expect(engine.counters.reconnects_public).toBe(1);
    expect(deps.divergence.resets).toEqual([1200]);
    const ofiRows = sink.rows.ofi.length;
    book(1300, withQty(BIDS, 0, 9), ASKS, { u: 500, pu: 490 }); // ids jump after resubscribe
    expect(sink.rows.orderbook.at(-1)?.d_b0).toBeNull();
    expect(sink.rows.orderbook.at(-1)?.seq_gap).toBe(false);
    expect(sink.rows.ofi.length).toBe(ofiRows);
    expect(engine.counters.seq_gaps).toBe(0);
    book(1400, BIDS);
    expect(sink.rows.ofi.length).toBe(ofiRows + 1);
    expect(sink.rows.ofi.at(-1)?.ofi_z).toBeNull(); // history cleared
    const ev = sink.rows.events.filter((e) => e.type === "reconnect");
    expect(ev.map((e) => [e.ts_ms, e.channel])).toEqual([[1200, "public"]]);
  });

  test("onDisconnect('market') resets nothing", () => {
    const { sink, engine, book } = setup();
    book(1000);
    book(1100, withQty(BIDS, 0, 6));
    engine.onDisconnect("market");
    book(1200, withQty(BIDS, 0, 8));
    expect(sink.rows.orderbook.at(-1)?.d_b0).toBe(2);
    expect(engine.counters.ofi_resets).toBe(0);
    expect(engine.counters.reconnects_market).toBe(1);
    expect(engine.diagnostics().ofiHistory).toBe(2);
  });

  test("out-of-order T: rows keep raw ts_ms, ts_eff is monotone (lag from ts_eff)", () => {
    const { sink, engine, book } = setup();
    book(1000);
    engine.onTrade(trade(1050, 1, 100, 1, false), 1100);
    book(990, withQty(BIDS, 0, 6)); // T went back: ts_eff stays 1000
    expect(sink.rows.orderbook[1].ts_ms).toBe(990);
    expect(sink.rows.ofi[0].ts_ms).toBe(990);
    expect(sink.rows.ofi[0].lag_ms_to_trade).toBe(50); // |1000 − 1050|
  });

  test("book time falls back to E when T is absent", () => {
    const { sink, engine } = setup();
    engine.onDepth(depth(null, 1, 10, null, BIDS, ASKS, "BTCUSDT", 777), 800);
    expect(sink.rows.orderbook[0].ts_ms).toBe(777);
  });

  test("OFI_RESET_ON_UTC_DAY: a book crossing 00:00 UTC resets", () => {
    const day = 86_400_000;
    const { sink, engine, book } = setup({ reset_on_utc_day: true });
    book(day - 200);
    book(day - 100, withQty(BIDS, 0, 6));
    book(day + 50, withQty(BIDS, 0, 7));
    expect(sink.rows.orderbook.at(-1)?.d_b0).toBeNull();
    expect(engine.counters.ofi_resets).toBe(1);
    expect(JSON.parse(sink.rows.events.find((e) => e.type === "ofi_reset")?.detail as string).reason).toBe("utc_day");
    const off = setup();
    off.book(day - 200);
    off.book(day + 50, withQty(BIDS, 0, 7));
    expect(off.sink.rows.orderbook.at(-1)?.d_b0).toBe(2);
  });
});
