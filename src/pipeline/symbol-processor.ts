/**
 * One symbol's processing: the built-in engine first (its calculators keep their documented order
 * inside it, docs/indicators.md §15), then every further stage of the symbol (custom
 * indicators) in the order configured. Live ingest and replay apply records through it alike.
 */
import type { SymbolEngine } from "../calc/symbol-engine.ts";
import type { AggTradeEvent, DepthEvent, DepthSnapshotEvent, Route } from "../core/market-events.ts";
import type { RowSink } from "../core/rows.ts";
import type { SymbolStage } from "../core/stage.ts";
import { DepthSync, type DepthSyncOptions, type ResyncReason } from "./venue.ts";

/** Full-depth mode (docs/depth.md): how each symbol's book is kept. */
export interface FullDepthSetup {
  readonly options: DepthSyncOptions;
  /** Where `book_l2` rows go. */
  readonly rows: RowSink;
  /** The book wants a snapshot (live: the feed fetches one; replay: the log holds it). */
  readonly requestSnapshot: (symbol: string) => void;
  /** The book was dropped or is in sync again (live: the log; replay: nothing). */
  readonly onSync: (symbol: string, e: BookSyncEvent) => void;
}

/** A full book leaving or regaining sync, for the operator's log. */
export type BookSyncEvent =
  | { readonly type: "resync"; readonly reason: ResyncReason; readonly detail: Readonly<Record<string, number>> }
  | { readonly type: "synced"; readonly outOfSyncMs: number | null };

export class SymbolProcessor implements SymbolStage {
  /** Full-depth mode: the book between the diff stream and the stages, which see its top 5; null at depth5. */
  readonly book: DepthSync | null;

  constructor(
    readonly symbol: string,
    readonly engine: SymbolEngine,
    private readonly stages: readonly SymbolStage[],
    fullDepth: FullDepthSetup | null = null,
  ) {
    this.book =
      fullDepth === null
        ? null
        : new DepthSync(
            symbol,
            fullDepth.options,
            {
              top: (ev, ts) => this.deliverDepth(ev, ts),
              needSnapshot: () => fullDepth.requestSnapshot(symbol),
              resync: (reason, detail) => fullDepth.onSync(symbol, { type: "resync", reason, detail }),
              synced: (outOfSyncMs) => fullDepth.onSync(symbol, { type: "synced", outOfSyncMs }),
            },
            fullDepth.rows,
          );
  }

  onDepth(ev: DepthEvent, recvTsMs: number): void {
    if (this.book !== null) this.book.onDiff(ev, recvTsMs);
    else this.deliverDepth(ev, recvTsMs);
  }

  onDepthSnapshot(snap: DepthSnapshotEvent | null, recvTsMs: number): void {
    this.book?.onSnapshot(snap, recvTsMs);
  }

  private deliverDepth(ev: DepthEvent, recvTsMs: number): void {
    this.engine.onDepth(ev, recvTsMs);
    for (let i = 0; i < this.stages.length; i++) this.stages[i]!.onDepth(ev, recvTsMs);
  }

  onTrade(ev: AggTradeEvent, recvTsMs: number, backfilled: boolean): void {
    this.engine.onTrade(ev, recvTsMs, backfilled);
    for (let i = 0; i < this.stages.length; i++) this.stages[i]!.onTrade(ev, recvTsMs, backfilled);
  }

  onDisconnect(route: Route): void {
    this.engine.onDisconnect(route);
    for (const s of this.stages) s.onDisconnect(route);
  }

  finish(): void {
    this.engine.finish();
    for (const s of this.stages) s.finish();
  }
}
