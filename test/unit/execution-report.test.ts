// The report's trading figures from fills and orders rows, worked by hand.
import { expect, test } from "bun:test";
import type { Columns } from "../../src/report/parquet-tree.ts";
import { tradingResult } from "../../src/report/trading-results.ts";

function cols(rows: Record<string, number | string | null>[]): Columns {
  return {
    rows: rows.length,
    num: (n) => Float64Array.from(rows.map((r) => (typeof r[n] === "number" ? (r[n] as number) : Number.NaN))),
    str: (n) => rows.map((r) => (r[n] === null || r[n] === undefined ? null : String(r[n]))),
    bool: (n) => Uint8Array.from(rows.map((r) => (r[n] ? 1 : 0))),
  };
}

const T0 = Date.parse("2026-12-04T00:00:00Z");
const fill = (i: number, side: string, price: number, qty: number, commission: number, rp: number, ref: number | null) => ({ ts_ms: T0 + i * 60_000, trade_id: i, side, price, qty, commission, realized_pnl: rp, ref_price: ref });

test("round trips, win rate, net PnL, drawdown, Sharpe per trip, execution and slippage", () => {
  const fills = cols([
    // Trip 1: long 1 @ 100 → sold @ 102: +2 − 0.1 − 0.1 = +1.8.
    fill(1, "BUY", 100, 1, 0.1, 0, 100),
    fill(2, "SELL", 102, 1, 0.1, 2, 102.5),
    // Trip 2: short 2 @ 100 (in two fills), flipped by a buy of 3 @ 101: closes −2, opens long 1.
    fill(3, "SELL", 100, 1, 0.05, 0, 100),
    fill(4, "SELL", 100, 1, 0.05, 0, null),
    fill(5, "BUY", 101, 3, 0.3, -2, 100),
    // Trip 3: the long 1 from the flip closes at 101: 0 − 0.1.
    fill(6, "SELL", 101, 1, 0.1, 0, 101),
  ]);
  const orders = cols([
    { ts_ms: T0 + 1, status: "FILLED", reason: "enter", latency_ms: 10 },
    { ts_ms: T0 + 2, status: "FILLED", reason: "stream", latency_ms: null },
    { ts_ms: T0 + 3, status: "REJECTED", reason: "enter", latency_ms: 30 },
    { ts_ms: T0 + 4, status: "REFUSED", reason: "enter", latency_ms: null },
    { ts_ms: T0 + 5, status: "NEW", reason: "stop", latency_ms: 20 },
    { ts_ms: T0 + 6, status: "CANCELED", reason: "stop-cancel", latency_ms: 5 },
  ]);
  const r = tradingResult("X", fills, orders, T0, T0 + 86_400_000)!;
  expect(r.fills).toBe(6);
  expect(r.trades).toBe(3);
  expect(r.wins).toBe(1);
  expect(r.realized_pnl).toBeCloseTo(0, 9);
  expect(r.commissions).toBeCloseTo(0.7, 9);
  expect(r.net_pnl).toBeCloseTo(-0.7, 9);
  // Net PnL after each fill: −0.1, 1.8, 1.75, 1.7, −0.6, −0.7: peak 1.8, trough −0.7.
  expect(r.max_drawdown).toBeCloseTo(2.5, 9);
  // Trip returns in bps of entry notional: 1.8/100, −2.4/200, −0.1/101 (the flip's remainder opens at 101).
  const rets = [180, -120, (-0.1 / 101) * 1e4];
  const m = rets.reduce((a, b) => a + b) / 3;
  const sd = Math.sqrt(rets.reduce((a, b) => a + (b - m) ** 2, 0) / 2);
  expect(r.sharpe_per_trade!).toBeCloseTo(m / sd, 9);
  // Sent: two entries and a stop (the refusal and the stop's cancel are not sends); one was rejected.
  expect(r.orders_sent).toBe(3);
  expect(r.execution_success).toBeCloseTo(2 / 3, 9);
  expect(r.latency_p50_ms).toBe(20);
  // Slippage bps, positive = worse: buy 100 vs 100 → 0; sell 102 vs 102.5 → +48.78; sell 100 vs 100 → 0;
  // buy 101 vs 100 → +100 (qty 3); sell 101 vs 101 → 0. Weighted by quantity over 7 units.
  const s2 = ((102.5 - 102) / 102.5) * 1e4;
  expect(r.slippage_bps!).toBeCloseTo((s2 + 300) / 7, 9);
  // Observed span: first to last row, at least an hour: 3 trips in 1 h → 72 per day.
  expect(r.trades_per_day!).toBeCloseTo(72, 9);
});

test("a symbol without rows in the range has no section", () => {
  expect(tradingResult("X", cols([]), cols([]), T0, T0 + 1)).toBeNull();
});
