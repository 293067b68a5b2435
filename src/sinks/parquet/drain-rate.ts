/**
 * How fast the Parquet writer is committing rows, and so how long a backlog will take to drain
 * (/health's "drains in ≈ N s", /metrics). Rows committed per second over the last ~10 s, from
 * samples at most every 500 ms on the monotonic clock.
 */

/** Window over which the drain rate is measured. */
const DRAIN_WINDOW_MS = 10_000;
const SAMPLE_EVERY_MS = 500;

export interface DrainEstimate {
  /** Rows committed per second over the window (null until two samples exist). */
  readonly drainRowsPerSec: number | null;
  /** The backlog divided by that rate; 0 without backlog, null when unknown. */
  readonly drainEtaSec: number | null;
}

export class DrainRate {
  /** (performance.now(), rows committed so far) */
  private readonly samples: [number, number][] = [];

  sample(rowsWritten: number, t = performance.now()): void {
    const s = this.samples;
    if (s.length > 0 && t - s[s.length - 1]![0] < SAMPLE_EVERY_MS) return;
    s.push([t, rowsWritten]);
    while (s.length > 2 && t - s[1]![0] >= DRAIN_WINDOW_MS) s.shift();
  }

  estimate(backlogRows: number): DrainEstimate {
    const s = this.samples;
    if (s.length < 2) return { drainRowsPerSec: null, drainEtaSec: backlogRows === 0 ? 0 : null };
    const [t0, r0] = s[0]!;
    const [t1, r1] = s[s.length - 1]!;
    const rate = t1 > t0 ? ((r1 - r0) * 1000) / (t1 - t0) : 0;
    return { drainRowsPerSec: rate, drainEtaSec: backlogRows === 0 ? 0 : rate > 0 ? backlogRows / rate : null };
  }
}
