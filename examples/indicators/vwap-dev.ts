/**
 * vwap_dev: per trade, the volume-weighted average price of the trades of the last `window_sec`
 * seconds (this one included) and how far this trade's price is from it, in basis points.
 *
 *   [[indicators.custom]]
 *   module = "examples/indicators/vwap-dev.ts"
 *   params = { window_sec = 30 }
 *
 * Rows (kind=custom_vwap_dev): ts_ms = the trade's time, vwap, dev_bps = (price − vwap) / vwap · 10⁴,
 * n = trades in the window.
 */
import type { Indicator, Trade } from "../../types/harvestd-indicator.d.ts";

const columns = { vwap: "double", dev_bps: "double", n: "int64" } as const;

function windowSec(params: Readonly<Record<string, unknown>>): number {
  return params.window_sec === undefined ? 30 : (params.window_sec as number);
}

export default {
  name: "vwap_dev",
  columns,
  validateParams(params) {
    for (const key of Object.keys(params)) if (key !== "window_sec") return `unknown param ${key} (only window_sec)`;
    const w = windowSec(params);
    if (typeof w !== "number" || !(w > 0) || w > 86_400) return `window_sec must be a number of seconds in (0, 86400], got ${JSON.stringify(params.window_sec)}`;
    return null;
  },
  create(ctx) {
    const windowMs = windowSec(ctx.params) * 1000;
    // The window's trades, oldest first, as a queue with a moving head (no shifting).
    const times: number[] = [];
    const notionals: number[] = [];
    const qtys: number[] = [];
    let head = 0;
    let pv = 0;
    let v = 0;
    return {
      onTrade(t: Trade, emit) {
        times.push(t.ts_ms);
        notionals.push(t.price * t.qty);
        qtys.push(t.qty);
        pv += t.price * t.qty;
        v += t.qty;
        while (times[head]! <= t.ts_ms - windowMs) {
          pv -= notionals[head]!;
          v -= qtys[head]!;
          head++;
        }
        if (head > 4096 && head * 2 > times.length) {
          times.splice(0, head);
          notionals.splice(0, head);
          qtys.splice(0, head);
          head = 0;
          // Re-summed now and then so that subtraction errors cannot build up over a long run.
          pv = notionals.reduce((a, b) => a + b, 0);
          v = qtys.reduce((a, b) => a + b, 0);
        }
        const vwap = pv / v;
        emit({ ts_ms: t.ts_ms, vwap, dev_bps: ((t.price - vwap) / vwap) * 1e4, n: times.length - head });
      },
    };
  },
} satisfies Indicator<typeof columns>;
