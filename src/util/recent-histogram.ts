/**
 * A latency histogram that also knows the recent past: the lifetime buckets (what /metrics exports;
 * Prometheus computes its own rates) plus a ring of time slices, merged on demand into the figures of
 * the last minute (what the status page and /api/status show: a lifetime p99 is frozen after hours).
 *
 * Recording stays O(1) without allocation: one bucket search, then the lifetime slot and the slice
 * slot. A slice is emptied lazily, when a value of a newer slice lands in its ring slot; a reader
 * takes only slices whose index lies within the window of its `nowMs`, so a silent symbol's old
 * slices drop out on their own, and a wall clock stepped back does not mix future slices in.
 */
import { Histogram, LATENCY_BOUNDS_MS } from "./histogram.ts";

/** Length of one slice of the window, ms. */
export const RECENT_SLICE_MS = 10_000;
/** Slices in the window: the current one and the five before it, so 50–60 s of values. */
export const RECENT_SLICES = 6;
/** The window the status shows, in seconds (docs/operations.md). */
export const RECENT_WINDOW_S = (RECENT_SLICE_MS * RECENT_SLICES) / 1000;

export class RecentHistogram extends Histogram {
  readonly sliceMs: number;
  readonly slices: number;
  /** counts of slice slot r at [r * width, (r + 1) * width), width = bounds.length + 1. */
  private readonly sliceCounts: Float64Array;
  /** Absolute slice index (floor(atMs / sliceMs)) each ring slot holds; -1 = empty. */
  private readonly sliceIndex: Float64Array;
  private readonly sliceN: Float64Array;
  private readonly sliceSum: Float64Array;
  private readonly sliceMin: Float64Array;
  private readonly sliceMax: Float64Array;
  /** The current slice: its ring slot and its time span [curFrom, curTo). */
  private curR = 0;
  private curFrom = 0;
  private curTo = 0;

  constructor(bounds: readonly number[] = LATENCY_BOUNDS_MS, sliceMs = RECENT_SLICE_MS, slices = RECENT_SLICES) {
    super(bounds);
    this.sliceMs = sliceMs;
    this.slices = slices;
    this.sliceCounts = new Float64Array(slices * (bounds.length + 1));
    this.sliceIndex = new Float64Array(slices).fill(-1);
    this.sliceN = new Float64Array(slices);
    this.sliceSum = new Float64Array(slices);
    this.sliceMin = new Float64Array(slices);
    this.sliceMax = new Float64Array(slices);
  }

  /**
   * Records `v` in the lifetime buckets and in the slice of `atMs`: the wall-clock time it happened,
   * i.e. about now. A slot holding another slice is emptied for this one, whichever is newer, so that
   * after the wall clock steps back the window fills again at once (the future slices are dropped).
   */
  recordAt(v: number, atMs: number): void {
    const i = this.add(v);
    if (i < 0) return;
    // Nearly every value lands in the slice of the one before: no division then.
    if (!(atMs >= this.curFrom && atMs < this.curTo)) this.enterSlice(atMs, v);
    const r = this.curR;
    this.sliceCounts[r * (this.bounds.length + 1) + i]!++;
    this.sliceN[r]!++;
    this.sliceSum[r]! += v;
    if (v < this.sliceMin[r]!) this.sliceMin[r] = v;
    if (v > this.sliceMax[r]!) this.sliceMax[r] = v;
  }

  /** Makes the slice of `atMs` current, emptying its ring slot when it held another slice. */
  private enterSlice(atMs: number, v: number): void {
    const slice = Math.floor(atMs / this.sliceMs);
    const r = ((slice % this.slices) + this.slices) % this.slices;
    const width = this.bounds.length + 1;
    if (this.sliceIndex[r] !== slice) {
      this.sliceCounts.fill(0, r * width, r * width + width);
      this.sliceIndex[r] = slice;
      this.sliceN[r] = 0;
      this.sliceSum[r] = 0;
      this.sliceMin[r] = v;
      this.sliceMax[r] = v;
    }
    this.curR = r;
    this.curFrom = slice * this.sliceMs;
    this.curTo = this.curFrom + this.sliceMs;
  }

  /** Records at the current wall-clock time. */
  override record(v: number): void {
    this.recordAt(v, Date.now());
  }

  /**
   * The values of the window ending at `nowMs` (the slice of `nowMs` and the slices-1 before it), as
   * a plain Histogram to read quantiles from; empty (quantiles null) when nothing landed in it.
   */
  recent(nowMs: number): Histogram {
    const h = new Histogram(this.bounds);
    const now = Math.floor(nowMs / this.sliceMs);
    const width = this.bounds.length + 1;
    for (let r = 0; r < this.slices; r++) {
      const s = this.sliceIndex[r]!;
      if (s < 0 || s > now || s <= now - this.slices || this.sliceN[r] === 0) continue;
      for (let i = 0; i < width; i++) h.counts[i]! += this.sliceCounts[r * width + i]!;
      h.count += this.sliceN[r]!;
      h.sum += this.sliceSum[r]!;
      if (this.sliceMin[r]! < h.min) h.min = this.sliceMin[r]!;
      if (this.sliceMax[r]! > h.max) h.max = this.sliceMax[r]!;
    }
    return h;
  }
}
