/**
 * How fast the Parquet writer is committing rows, and how long its backlog will take to drain
 * (/health's "drains in ≈ N s", /metrics). Rows committed per second over the last ~10 s, from
 * samples at most every SAMPLE_EVERY_MS on the monotonic clock.
 *
 * The drain time comes from how fast the backlog itself shrinks, not from the commit rate: while
 * rows keep arriving as fast as they are committed, the writer commits thousands a second and the
 * backlog stays where it is. The shrink is measured from the backlog's highest point in the window
 * to now, so a drain shows as soon as input slows; a backlog that has not come down from any point
 * of the window is "not draining" (`drainEtaSec` null, `backlogShrinkRowsPerSec` ≤ 0).
 */

/** Window over which the rates are measured. */
const DRAIN_WINDOW_MS = 10_000;
/** Samples are kept at most this often; a rate is measured over at least this long. */
const SAMPLE_EVERY_MS = 250;

export interface DrainEstimate {
  /** Rows committed per second over the window (null until two samples exist). */
  readonly drainRowsPerSec: number | null;
  /**
   * Rows per second by which the backlog shrank since its highest point in the window (when it has
   * not come down from any, since the window's oldest sample: negative when it grew; null until the
   * backlog has been seen twice at least SAMPLE_EVERY_MS apart).
   */
  readonly backlogShrinkRowsPerSec: number | null;
  /** The backlog over the rate it shrinks at; 0 without backlog, null when unknown or not shrinking. */
  readonly drainEtaSec: number | null;
}

type Sample = [t: number, value: number];

function push(s: Sample[], t: number, v: number): void {
  if (s.length > 0 && t - s[s.length - 1]![0] < SAMPLE_EVERY_MS) return;
  s.push([t, v]);
  while (s.length > 2 && t - s[1]![0] >= DRAIN_WINDOW_MS) s.shift();
}

export class DrainRate {
  /** (performance.now(), rows committed so far) */
  private readonly samples: Sample[] = [];
  /** (performance.now(), backlog rows): from sample() when given, and from every estimate(). */
  private readonly backlog: Sample[] = [];

  /** `backlogRows`: the backlog at `t` (pending + spilled rows), when the caller knows it. */
  sample(rowsWritten: number, t = performance.now(), backlogRows?: number): void {
    push(this.samples, t, rowsWritten);
    if (backlogRows !== undefined) push(this.backlog, t, backlogRows);
  }

  estimate(backlogRows: number, t = performance.now()): DrainEstimate {
    push(this.backlog, t, backlogRows);
    const s = this.samples;
    let rate: number | null = null;
    if (s.length >= 2) {
      const [t0, r0] = s[0]!;
      const [t1, r1] = s[s.length - 1]!;
      rate = t1 > t0 ? ((r1 - r0) * 1000) / (t1 - t0) : 0;
    }
    // The backlog's change since its highest point in the window (so a drain shows as soon as input
    // slows, not a window later), or, when it has not come down from any, since the oldest sample.
    const b = this.backlog;
    let oldest: Sample | undefined;
    let peak: Sample | undefined;
    for (const x of b) {
      if (t - x[0] > DRAIN_WINDOW_MS || t - x[0] < SAMPLE_EVERY_MS) continue;
      oldest ??= x;
      if (peak === undefined || x[1] >= peak[1]) peak = x;
    }
    const from = peak !== undefined && peak[1] > backlogRows ? peak : oldest;
    const shrink = from === undefined ? null : ((from[1] - backlogRows) * 1000) / (t - from[0]);
    const eta = backlogRows === 0 ? 0 : shrink !== null && shrink > 0 ? backlogRows / shrink : null;
    return { drainRowsPerSec: rate, backlogShrinkRowsPerSec: shrink, drainEtaSec: eta };
  }
}
