/**
 * A per-symbol processing stage: the built-in engine and every custom indicator host implement it,
 * and the pipeline calls each stage of a symbol in order for every applied record.
 */
import type { AggTradeEvent, DepthEvent, Route } from "./market-events.ts";

export interface SymbolStage {
  onDepth(ev: DepthEvent, recvTsMs: number): void;
  onTrade(ev: AggTradeEvent, recvTsMs: number, backfilled: boolean): void;
  /** A connection of `route` closed: what depends on continuity restarts. */
  onDisconnect(route: Route): void;
  /** The symbol's input has ended (shutdown, or the next session in a replayed log): emit what is pending. */
  finish(): void;
}
