/**
 * The loaded custom indicators of a process and their statistics: what the pipeline builder holds to
 * give every symbol its IndicatorHost stage, and what /metrics and the status page read.
 */
import type { RowSink } from "../core/rows.ts";
import type { Logger } from "../util/log.ts";
import type { LoadedIndicator } from "./contract.ts";
import { IndicatorHost } from "./host.ts";
import { formatIndicatorProblem, loadIndicators } from "./load.ts";
import type { CustomIndicatorEntry } from "./params.ts";
import { BUSY_SHARE_UNHEALTHY, IndicatorStats, type IndicatorStatsView } from "./stats.ts";

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

  /**
   * A new stage for `symbol` (fresh indicator state: one per symbol and process session). `log`
   * replaces the process's logger for its lines: the crash-recovery rebuild marks its own
   * (pipeline/recovery.ts).
   */
  host(symbol: string, sink: RowSink, log: Logger = this.log): IndicatorHost {
    return new IndicatorHost(symbol, this.loaded, this.stats, sink, log);
  }

  views(): IndicatorStatsView[] {
    return this.stats.map((s) => s.view());
  }

  /** /health: an indicator that takes most of the ingest thread holds back every symbol's frames. */
  healthReasons(nowMono = performance.now()): string[] {
    const out: string[] = [];
    for (const s of this.stats) {
      const share = s.busyShare(nowMono);
      if (share === null || share < BUSY_SHARE_UNHEALTHY) continue;
      const mean = s.cost.count === 0 ? 0 : s.cost.sum / s.cost.count;
      out.push(`custom indicator ${s.indicator.name} takes ${Math.round(share * 100)} % of the ingest thread (${mean.toFixed(2)} ms a call): every symbol's frames wait for it`);
    }
    return out;
  }
}

/**
 * Loads the configured modules in this thread (registering their kinds, so call it before the sinks
 * are built) and wraps them; null when none is configured. The commands check the modules first and
 * exit 78 on a problem, so a problem here (a file changed meanwhile) is thrown as one line.
 */
export async function loadCustomIndicators(entries: readonly CustomIndicatorEntry[], log: Logger): Promise<CustomIndicators | null> {
  if (entries.length === 0) return null;
  const r = await loadIndicators(entries);
  if (!r.ok) throw new Error(r.problems.map(formatIndicatorProblem).join("; "));
  return new CustomIndicators(r.indicators, log);
}
