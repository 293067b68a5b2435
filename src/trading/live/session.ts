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

export type TradeStatus = ReturnType<LiveTrader["status"]> & { readonly lease?: LeaseStatus };

export interface TradingSession {
  onRow(kind: RowKind, row: Row): void;
  status(nowMs?: number): TradeStatus;
  healthReasons(nowMs?: number): string[];
  /** Shutdown; returns the symbols left with a position. */
  stop(flatten: boolean): Promise<string[]>;
}
