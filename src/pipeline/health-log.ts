/**
 * /health's verdict in the log, for the operator who tails it rather than polls the endpoint: a warn
 * `unhealthy` with the reasons when the collector turns unhealthy or its reasons change, an info
 * `healthy again` (with how long it was not) when the last reason goes. Reasons are compared without
 * their figures, which change at every look (a silence's age, a backlog's size), so a lasting
 * condition is one line, not one per look (docs/operations.md "Logs").
 */
import type { Logger } from "../util/log.ts";
import type { HealthReport } from "./status.ts";

/** How often the collector and the store look (cli/run.ts): a change shows in the log within this. */
export const HEALTH_LOOK_EVERY_MS = 5_000;

const FIGURES = /\d+(?:\.\d+)?/g;

export class HealthLog {
  /** The last reasons logged, their figures blanked; null while healthy. */
  private shape: string | null = null;
  /** performance.now() when it turned unhealthy (a duration: a step of the wall clock must not lengthen it). */
  private since = 0;

  constructor(private readonly log: Logger) {}

  look(h: Pick<HealthReport, "ok" | "reasons">, nowMono = performance.now()): void {
    if (h.ok) {
      if (this.shape !== null) this.log.log("info", "healthy again", { unhealthy_for_s: Math.round((nowMono - this.since) / 1000) });
      this.shape = null;
      return;
    }
    const shape = h.reasons.map((r) => r.replace(FIGURES, "#")).join("\n");
    if (shape === this.shape) return;
    if (this.shape === null) this.since = nowMono;
    this.shape = shape;
    this.log.log("warn", "unhealthy", { reasons: h.reasons });
  }
}
