// What a trader starting on an account learns from the venue's trade list (trading/live/history.ts):
// when the position it adopts was opened, and which trades make the UTC day's realised PnL.
import { expect, test } from "bun:test";
import type { VenueTrade } from "../../src/core/execution.ts";
import { positionOpenedAt, tradesOfDay } from "../../src/trading/live/history.ts";

let id = 100;
const tr = (side: "BUY" | "SELL", qty: number, time: number, realizedPnl = 0): VenueTrade => ({ id: ++id, orderId: id, symbol: "BTCUSDT", side, price: 100, qty, commission: 0.01, realizedPnl, maker: false, time });

test("the opening fill is the one before which the position was flat or on the other side", () => {
  // long 1 opened at 10, closed at 20; short 2 opened at 30 (flip from +0 … ), added at 40
  const trades = [tr("BUY", 1, 10), tr("SELL", 1, 20), tr("SELL", 1.5, 30), tr("SELL", 0.5, 40)];
  expect(positionOpenedAt(-2, trades)).toBe(30);
  // A flip in one fill: long 1 → short 1 at 50.
  expect(positionOpenedAt(-1, [tr("BUY", 1, 10), tr("SELL", 2, 50)])).toBe(50);
  // Partly reduced positions keep the opening time.
  expect(positionOpenedAt(0.4, [tr("BUY", 0.3, 10), tr("BUY", 0.3, 11), tr("SELL", 0.2, 12)])).toBe(10);
  // The list does not reach back to the opening: unknown.
  expect(positionOpenedAt(2, [tr("BUY", 1, 10)])).toBeNull();
  expect(positionOpenedAt(1, [])).toBeNull();
  expect(positionOpenedAt(0, [tr("BUY", 1, 10)])).toBeNull();
  // Unsorted input is sorted by trade id.
  expect(positionOpenedAt(1, [tr("SELL", 1, 60), tr("BUY", 1, 70)].reverse())).toBe(70);
});

test("the day's trades, and whether a full page may lack earlier ones", () => {
  const day = Date.UTC(2026, 11, 7);
  const y = tr("BUY", 1, day - 1000);
  const a = tr("SELL", 1, day + 1000, -5);
  const b = tr("BUY", 1, day + 2000);
  expect(tradesOfDay([y, a, b], day + 5000, 1000)).toEqual({ trades: [a, b], complete: true });
  // A full page that starts inside the day may have been cut; one reaching into yesterday is whole.
  expect(tradesOfDay([a, b], day + 5000, 2).complete).toBe(false);
  expect(tradesOfDay([y, a], day + 5000, 2).complete).toBe(true);
  expect(tradesOfDay([], day, 1000)).toEqual({ trades: [], complete: true });
});
