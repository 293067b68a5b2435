// trade_bars: one row per second of trading (by the trades' exchange time), in plain JavaScript.
// Written from docs/indicators-custom.md alone, as a check that the page is enough.
//
//   [[indicators.custom]]
//   module = "examples/indicators/trade-bars.js"
//
// Rows (kind=custom_trade_bars): ts_ms = the start of the second; open/high/low/close prices,
// volume and buy_volume (aggressor bought) in base units, trades, and how many of them were
// backfilled. A bar is written when the first trade of a later second arrives, and the open bar at
// the end of input. A trade whose time steps back into an earlier second joins the open bar.

/** @type {import("../../types/harvestd-indicator.d.ts").Indicator} */
export default {
  name: "trade_bars",
  columns: {
    open: "double",
    high: "double",
    low: "double",
    close: "double",
    volume: "double",
    buy_volume: "double",
    trades: "int64",
    backfilled: "int64",
  },
  create() {
    let bar = null;
    const write = (emit) => {
      if (bar !== null) emit(bar);
      bar = null;
    };
    return {
      onTrade(t, emit) {
        const second = Math.floor(t.ts_ms / 1000) * 1000;
        if (bar !== null && second > bar.ts_ms) write(emit);
        if (bar === null) {
          bar = { ts_ms: second, open: t.price, high: t.price, low: t.price, close: t.price, volume: 0, buy_volume: 0, trades: 0, backfilled: 0 };
        }
        bar.high = Math.max(bar.high, t.price);
        bar.low = Math.min(bar.low, t.price);
        bar.close = t.price;
        bar.volume += t.qty;
        if (!t.is_buyer_maker) bar.buy_volume += t.qty;
        bar.trades += 1;
        if (t.backfilled) bar.backfilled += 1;
      },
      onEnd(emit) {
        write(emit);
      },
    };
  },
};
