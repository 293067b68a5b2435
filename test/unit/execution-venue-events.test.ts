/**
 * Binance's user-stream events decoded into the venue-neutral events the trader acts on
 * (src/exchange/binance/execution/venue.ts): the trader never reads a Binance status string, so
 * "final" and "filled" must be decided here.
 */
import { describe, expect, test } from "bun:test";
import { decodeUserEvent } from "../../src/exchange/binance/execution/venue.ts";

/** An ORDER_TRADE_UPDATE as the futures user stream sends it (binance-protocol §12), with the fields that vary. */
function orderUpdate(status: string, execType: string, lastQty: number, tradeId: number): Record<string, unknown> {
  return {
    e: "ORDER_TRADE_UPDATE",
    E: 1_733_000_000_100,
    T: 1_733_000_000_099,
    o: { s: "SANDUSDT", c: "hv-1", S: "BUY", o: "MARKET", f: "GTC", q: "20", p: "0", ap: lastQty > 0 ? "0.5123" : "0", sp: "0", x: execType, X: status, i: 42, l: String(lastQty), z: String(lastQty), L: lastQty > 0 ? "0.5123" : "0", N: "USDT", n: "0.004", T: 1_733_000_000_099, t: tradeId, m: false, R: false, rp: "0" },
  };
}

describe("decodeUserEvent", () => {
  test("an order filled in full is final and filled, with its fill", () => {
    const ev = decodeUserEvent(orderUpdate("FILLED", "TRADE", 20, 7001));
    expect(ev.type).toBe("order");
    if (ev.type !== "order") return;
    expect({ final: ev.final, filled: ev.filled, status: ev.status, price: ev.price }).toEqual({ final: true, filled: true, status: "FILLED", price: 0.5123 });
    expect(ev.fill).toMatchObject({ tradeId: 7001, orderId: 42, clientOrderId: "hv-1", side: "BUY", price: 0.5123, qty: 20, commission: 0.004 });
  });

  test("a partial fill is neither final nor filled; a cancel is final without being filled", () => {
    const partial = decodeUserEvent(orderUpdate("PARTIALLY_FILLED", "TRADE", 5, 7002));
    const cancelled = decodeUserEvent(orderUpdate("CANCELED", "CANCELED", 0, 0));
    if (partial.type !== "order" || cancelled.type !== "order") throw new Error("not order events");
    expect({ final: partial.final, filled: partial.filled, fill: partial.fill !== null }).toEqual({ final: false, filled: false, fill: true });
    expect({ final: cancelled.final, filled: cancelled.filled, fill: cancelled.fill }).toEqual({ final: true, filled: false, fill: null });
  });
});
