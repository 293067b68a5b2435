/**
 * A per-symbol processing stage: the built-in engine and every custom indicator host implement it,
 * and the pipeline calls each stage of a symbol in order for every applied record.
 */
import type { AggTradeEvent, DepthEvent, DepthSnapshotEvent, Route } from "./market-events.ts";

export interface SymbolStage {
  onDepth(ev: DepthEvent, recvTsMs: number): void;
  onTrade(ev: AggTradeEvent, recvTsMs: number, backfilled: boolean): void;
  /**
   * A REST depth snapshot for the full-depth book (null: the answer did not parse). Only a stage
   * keeping a full book takes it; the others never see one.
   */
  onDepthSnapshot?(snap: DepthSnapshotEvent | null, recvTsMs: number): void;
  /** A connection of `route` closed: what depends on continuity restarts. */
  onDisconnect(route: Route): void;
  /** The symbol's input has ended (shutdown, or the next session in a replayed log): emit what is pending. */
  finish(): void;
}
