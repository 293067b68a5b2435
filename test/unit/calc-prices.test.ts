/**
 * Prices rows (docs/indicators.md §4, §15.4): best fills from the most recently processed valid book with raw
 * ts_ms ≤ the trade's, nulls without one, invalid books never used; row_id; latency.
 */
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { ValidBookRing } from "../../src/calc/prices.ts";
import { PRICE_ROW_ID_BYTES, priceRowId, writePriceRowId } from "../../src/core/row-id.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import { depth, doubles, type Level, MemorySink, trade } from "./calc-support.ts";

const book = (bid: number, ask: number): { bids: Level[]; asks: Level[] } => ({ bids: [[bid, 1]], asks: [[ask, 1]] });

function setup() {
  const sink = new MemorySink();
  const engine = new SymbolEngine("ETHUSDT", indicatorParams(), sink, doubles());
  let u = 0;
  const b = (T: number, bids: Level[], asks: Level[]) => {
    u += 10;
    engine.onDepth(depth(T, u - 9, u, u - 10, bids, asks, "ETHUSDT"), T + 10);
  };
  const t = (T: number, a: number, E: number | null = T) => engine.onTrade(trade(T, a, 100, 1, false, "ETHUSDT", E), T + 130);
  return { sink, engine, b, t };
}

describe("best fills", () => {
  test("no valid book yet ⇒ null fills (not the trade price)", () => {
    const { sink, t } = setup();
    t(1000, 1);
    expect(sink.rows.prices[0].best_buy_fill).toBeNull();
    expect(sink.rows.prices[0].best_sell_fill).toBeNull();
  });

  test("a book later than the trade is skipped in favour of the earlier one (late aggTrade frames)", () => {
    const { sink, b, t } = setup();
    const b1 = book(99, 101);
    const b2 = book(98, 102);
    b(1000, b1.bids, b1.asks);
    b(1100, b2.bids, b2.asks);
    t(1050, 1); // arrives after the 1100 book
    t(1100, 2); // ts equal ⇒ the 1100 book
    expect([sink.rows.prices[0].best_buy_fill, sink.rows.prices[0].best_sell_fill]).toEqual([101, 99]);
    expect([sink.rows.prices[1].best_buy_fill, sink.rows.prices[1].best_sell_fill]).toEqual([102, 98]);
  });

  test("only valid books (first/time-gap/normal) give fills: crossed and one-sided are skipped", () => {
    const { sink, b, t } = setup();
    b(1000, [[99, 1]], [[101, 1]]);
    b(1100, [[102, 1]], [[101, 1]]); // crossed
    b(1200, [[99.5, 1]], []); // one-sided
    t(1300, 1);
    expect([sink.rows.prices[0].best_buy_fill, sink.rows.prices[0].best_sell_fill]).toEqual([101, 99]);
  });

  test("'most recently processed' wins when raw ts_ms go backwards", () => {
    const { sink, b, t } = setup();
    b(1000, [[99, 1]], [[101, 1]]);
    b(900, [[97, 1]], [[103, 1]]); // processed later, earlier T
    t(950, 1);
    t(1000, 2);
    expect(sink.rows.prices[0].best_sell_fill).toBe(97);
    expect(sink.rows.prices[1].best_sell_fill).toBe(97);
  });

  test("ValidBookRing forgets books beyond its capacity", () => {
    const r = new ValidBookRing(4);
    for (let i = 0; i < 10; i++) r.push(1000 + i, i, i + 1);
    expect(r.find(1009)).toBe(true);
    expect(r.bestBid).toBe(9);
    expect(r.find(1006)).toBe(true);
    expect(r.bestBid).toBe(6);
    expect(r.find(1005)).toBe(false);
  });
});

describe("row fields", () => {
  test("row_id is md5 of SYMBOL|id|price (§4 example string)", () => {
    expect(priceRowId("BTCUSDT", 1001)).toBe("3ecbf96508c8a9f6cdecd9cdc8670516");
    const h = new Bun.CryptoHasher("md5").update("ETHUSDT|123456789012|price").digest("hex");
    expect(priceRowId("ETHUSDT", 123456789012)).toBe(h);
    // The writer thread's way (bytes into an arena) gives the same text.
    const out = new Uint8Array(2 * PRICE_ROW_ID_BYTES).fill(0x20);
    writePriceRowId("ETHUSDT", 123456789012, out, PRICE_ROW_ID_BYTES);
    expect(new TextDecoder().decode(out)).toBe(" ".repeat(PRICE_ROW_ID_BYTES) + h);
  });

  test("latency_ms = recv − E, signed; null without E; ids, side and backfilled copied", () => {
    const sink = new MemorySink();
    const engine = new SymbolEngine("ETHUSDT", indicatorParams(), sink, doubles());
    engine.onTrade({ ...trade(1000, 5, 100, 2, true, "ETHUSDT", 1200), firstTradeId: 50, lastTradeId: 52 }, 1100);
    engine.onTrade(trade(1010, 6, 100, 2, false, "ETHUSDT", null), 1150, true);
    const [r0, r1] = sink.rows.prices;
    expect(r0.latency_ms).toBe(-100);
    expect(r0.first_trade_id).toBe(50);
    expect(r0.last_trade_id).toBe(52);
    expect(r0.is_buyer_maker).toBe(true);
    expect(r0.backfilled).toBe(false);
    expect(r1.latency_ms).toBeNull();
    expect(r1.backfilled).toBe(true);
    expect(engine.counters.backfilled_trades).toBe(1);
  });
});
