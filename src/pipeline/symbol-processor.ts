/**
 * One symbol's processing: the built-in engine first (its calculators keep their documented order
 * inside it, docs/indicators.md "Processing order"), then every further stage of the symbol (custom
 * indicators) in the order configured. Live ingest and replay apply records through it alike.
 */
import type { SymbolEngine } from "../calc/symbol-engine.ts";
import type { AggTradeEvent, DepthEvent, Route } from "../core/market-events.ts";
import type { SymbolStage } from "../core/stage.ts";

export class SymbolProcessor implements SymbolStage {
  constructor(
    readonly symbol: string,
    readonly engine: SymbolEngine,
    private readonly stages: readonly SymbolStage[],
  ) {}

  onDepth(ev: DepthEvent, recvTsMs: number): void {
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
