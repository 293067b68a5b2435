/**
 * book_pressure: per order-book snapshot, how the resting quantity leans and where the
 * quantity-weighted price of the best levels sits, from the first `levels` valid levels of each side.
 *
 *   [[indicators.custom]]
 *   module = "examples/indicators/book-pressure.ts"
 *   params = { levels = 3 }
 *
 * Rows (kind=custom_book_pressure), ts_ms = the snapshot's time:
 * - imbalance  (Σ bid qty − Σ ask qty) / (Σ bid qty + Σ ask qty) over the levels used; null when a side is empty
 * - microprice (best bid · best ask qty + best ask · best bid qty) / (best bid qty + best ask qty); null likewise
 * - spread_bps (best ask − best bid) / mid · 10⁴; null likewise
 * - lean       "bid" | "ask" | "flat" by the sign of imbalance; null likewise
 * - crossed    best bid ≥ best ask (the exchange sent a crossed book); null likewise
 * - used       levels used (the smaller of `levels` and each side's valid levels)
 * - since_reconnect  snapshots since the book stream last (re)connected, this one included
 */
import type { Book, Indicator } from "../../types/harvestd-indicator.d.ts";

const columns = {
  imbalance: "double",
  microprice: "double",
  spread_bps: "double",
  lean: "string",
  crossed: "bool",
  used: "int64",
  since_reconnect: "int64",
} as const;

const levelsOf = (params: Readonly<Record<string, unknown>>): number => (params.levels === undefined ? 5 : (params.levels as number));

export default {
  name: "book_pressure",
  columns,
  validateParams(params) {
    const n = levelsOf(params);
    if (!Number.isInteger(n) || n < 1 || n > 5) return `levels must be a whole number from 1 to 5, got ${JSON.stringify(params.levels)}`;
    return null;
  },
  create(ctx) {
    const maxLevels = levelsOf(ctx.params);
    let sinceReconnect = 0;
    return {
      onBook(b: Book, emit) {
        sinceReconnect++;
        const used = Math.min(maxLevels, b.bids.length, b.asks.length);
        if (used === 0) {
          emit({ ts_ms: b.ts_ms, imbalance: null, microprice: null, spread_bps: null, lean: null, crossed: null, used, since_reconnect: sinceReconnect });
          return;
        }
        let bidQty = 0;
        let askQty = 0;
        for (let i = 0; i < used; i++) {
          bidQty += b.bids[i]![1];
          askQty += b.asks[i]![1];
        }
        const [bid, bq] = b.bids[0]!;
        const [ask, aq] = b.asks[0]!;
        const imbalance = (bidQty - askQty) / (bidQty + askQty);
        emit({
          ts_ms: b.ts_ms,
          imbalance,
          microprice: (bid * aq + ask * bq) / (bq + aq),
          spread_bps: ((ask - bid) / ((ask + bid) / 2)) * 1e4,
          lean: imbalance > 0 ? "bid" : imbalance < 0 ? "ask" : "flat",
          crossed: bid >= ask,
          used,
          since_reconnect: sinceReconnect,
        });
      },
      onDisconnect(info) {
        if (info.stream === "book") sinceReconnect = 0;
      },
    };
  },
} satisfies Indicator<typeof columns>;
