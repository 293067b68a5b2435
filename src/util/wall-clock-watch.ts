/**
 * Notices the wall clock stepping: NTP correcting a wrong clock, an operator's `date -s`, a machine
 * resumed from suspend (the monotonic clock stands still while suspended, the wall clock does not).
 * Between two looks a second apart, wall time minus monotonic time moves by the step; slewing (at
 * most 0.5 ms a second) never adds up to one, as each look starts from the last.
 *
 * Durations are measured on the monotonic clock and do not care (docs/feed.md "When the clock
 * steps"), but receipt times do: after a step back `ts_recv` holds at its last value until the clock
 * passes it. The step is said so that such rows can be understood afterwards.
 */

import type { Logger } from "./log.ts";

/** A jump of wall against monotonic time above this between two looks is a step. */
export const CLOCK_STEP_MS = 1000;
/** How often a long-running command looks. */
export const WALL_CLOCK_LOOK_EVERY_MS = 1000;

export class WallClockWatch {
  private base: number;
  /** Steps seen so far. */
  steps = 0;

  constructor(
    private readonly onStep: (stepMs: number) => void,
    private readonly wall: () => number = Date.now,
    private readonly mono: () => number = () => performance.now(),
  ) {
    this.base = this.wall() - this.mono();
  }

  /** Call about once a second. */
  look(): void {
    const base = this.wall() - this.mono();
    const step = base - this.base;
    this.base = base;
    if (Math.abs(step) <= CLOCK_STEP_MS) return;
    this.steps++;
    this.onStep(step);
  }
}

/** The watch of a long-running command (`run`, `store`): each step is one warn line saying what follows from it. */
export function loggedWallClockWatch(log: Logger): WallClockWatch {
  return new WallClockWatch((stepMs) =>
    log.log("warn", "the wall clock stepped", {
      by_ms: Math.round(stepMs),
      follows: stepMs < 0 ? "ts_recv holds at its last value until the clock passes it; durations (timeouts, pauses) are unaffected" : "receipt times jump with it; durations (timeouts, pauses) are unaffected",
    }),
  );
}
