// What the exchange did, kept for tests to assert against: connections, every text frame sent,
// every trade produced (delivered or not), upgrade attempts and REST calls.
import type { ConnectionRecord, ProducedTrade, RestRecord, SentFrame, UpgradeAttempt } from "./types.ts";

class TradeLog {
  // Parallel arrays: at benchmark rates an object per trade is the dominant memory cost.
  readonly ids: number[] = [];
  readonly texts: string[] = [];
  constructor(private readonly limit: number) {}

  add(a: number, text: string): void {
    this.ids.push(a);
    this.texts.push(text);
    if (this.ids.length > this.limit * 1.25) {
      const drop = this.ids.length - this.limit;
      this.ids.splice(0, drop);
      this.texts.splice(0, drop);
    }
  }

  /** Index of the first trade with id ≥ a. */
  indexFrom(a: number): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid] < a) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class Records {
  readonly connections = new Map<number, ConnectionRecord>();
  readonly frames: SentFrame[] = [];
  readonly upgrades: UpgradeAttempt[] = [];
  readonly rest: RestRecord[] = [];
  private readonly trades = new Map<string, TradeLog>();
  /** Last depth5 payload text produced per symbol. */
  readonly lastDepth = new Map<string, string>();

  constructor(
    readonly recordFrames: boolean,
    private readonly tradeHistoryLimit: number,
  ) {}

  trade(symbol: string, a: number, text: string): void {
    let log = this.trades.get(symbol);
    if (!log) this.trades.set(symbol, (log = new TradeLog(this.tradeHistoryLimit)));
    log.add(a, text);
  }

  tradeLog(symbol: string): TradeLog | undefined {
    return this.trades.get(symbol);
  }

  producedTrades(symbol: string): ProducedTrade[] {
    const log = this.trades.get(symbol);
    if (!log) return [];
    return log.ids.map((a, i) => ({ a, text: log.texts[i] }));
  }
}
