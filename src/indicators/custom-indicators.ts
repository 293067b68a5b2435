/**
 * The loaded custom indicators of a process and their statistics: what the pipeline builder holds to
 * give every symbol its IndicatorHost stage, and what /metrics and the status page read.
 */
import type { RowSink } from "../core/rows.ts";
import type { Logger } from "../util/log.ts";
import type { LoadedIndicator } from "./contract.ts";
import { IndicatorHost } from "./host.ts";
import { IndicatorStats, type IndicatorStatsView } from "./stats.ts";

export class CustomIndicators {
  readonly stats: readonly IndicatorStats[];

  constructor(
    readonly loaded: readonly LoadedIndicator[],
    private readonly log: Logger,
  ) {
    this.stats = loaded.map((l) => new IndicatorStats(l));
  }

  get count(): number {
    return this.loaded.length;
  }

  /** A new stage for `symbol` (fresh indicator state: one per symbol and process session). */
  host(symbol: string, sink: RowSink): IndicatorHost {
    return new IndicatorHost(symbol, this.loaded, this.stats, sink, this.log);
  }

  views(): IndicatorStatsView[] {
    return this.stats.map((s) => s.view());
  }
}
