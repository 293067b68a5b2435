/**
 * What the collector holds of testnet trading: a trader (`LiveTrader`), or one that trades only while
 * it holds the account's lease (`LeasedTrading`). Status, health and shutdown go through this.
 */
import type { Row, RowKind } from "../../core/rows.ts";
import type { LiveTrader } from "./trader.ts";

/** Where the lease stands, from this collector's side (`/api/status` trading.lease). */
export interface LeaseStatus {
  readonly mode: "nats";
  /** This collector holds it and trades. */
  readonly held: boolean;
  /** Who holds it when this collector does not (null: nobody known, or not reachable). */
  readonly holder: string | null;
  /** This collector's name in the lease. */
  readonly me: string;
  readonly held_since_ms: number | null;
  readonly last_error: string | null;
  /** Times this collector took the lease since it started. */
  readonly terms: number;
}

/** A trader whose start is being retried (the venue did not answer at start): `/api/status` trading.start. */
export interface StartStatus {
  /** Why the last attempt failed. */
  readonly error: string;
  readonly attempts: number;
  /** False once the venue refused (a key, a setting): retrying would not change its answer. */
  readonly retrying: boolean;
  readonly next_attempt_in_ms: number | null;
}

export type TradeStatus = ReturnType<LiveTrader["status"]> & { readonly lease?: LeaseStatus; readonly start?: StartStatus };

export interface TradingSession {
  onRow(kind: RowKind, row: Row): void;
  status(nowMs?: number): TradeStatus;
  healthReasons(nowMs?: number): string[];
  /**
   * Shutdown, giving the venue at most `budgetMs` (default: as long as it takes); returns the symbols
   * left with a position.
   */
  stop(flatten: boolean, budgetMs?: number): Promise<string[]>;
}
