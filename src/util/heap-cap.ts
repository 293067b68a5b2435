/**
 * Keeps the ingest thread's JavaScript heap from growing far past what it holds live. JSC lets a
 * heap grow to about twice its size after the last collection before it collects again (its growth
 * factor follows the machine's RAM), so the ingest thread's heap, ≈ 35 MiB live at 50 symbols, swung
 * between ≈ 35 and 50–83 MiB, and RSS with it: the highest seconds of a collector between the hour's
 * events were these swings (docs/storage.md, "Memory"). Once the heap has grown GROWTH_BYTES past
 * the lowest size seen since the last collection, a full synchronous collection runs (`Bun.gc(true)`).
 * The concurrent request (`Bun.gc(false)`) it replaced left the swing at ≈ 47 MiB with 400 symbols
 * (≈ 105 MiB live): JSC took it as a hint and the old generation kept growing. The full one stops the
 * ingest thread; each pause is recorded (`pauses`, in /metrics) because that is its price.
 */
import { heapSize } from "bun:jsc";
import { Histogram } from "./histogram.ts";

const GROWTH_BYTES = 16 * 1024 * 1024;
/** At most one collection in this long: the pauses stay a small share of the thread whatever the rate of garbage. */
const MIN_GAP_MS = 2000;
/** Pause buckets, ms: a full collection of a 35–130 MiB heap takes milliseconds to tens of them. */
const PAUSE_BOUNDS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000];

export class HeapCap {
  /** How long each collection held the thread, ms. */
  readonly pauses = new Histogram(PAUSE_BOUNDS_MS);
  private floor = Number.POSITIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sizeOf: () => number = heapSize,
    private readonly collect: () => void = () => Bun.gc(true),
  ) {}

  /** Call every second or so with performance.now(); returns whether it collected. */
  check(nowMs: number): boolean {
    const size = this.sizeOf();
    // A collection of JSC's own shows as a drop: the floor follows what is live.
    if (size < this.floor) this.floor = size;
    if (size - this.floor < GROWTH_BYTES || nowMs - this.lastMs < MIN_GAP_MS) return false;
    const t0 = performance.now();
    this.collect();
    this.pauses.record(performance.now() - t0);
    this.lastMs = nowMs;
    this.floor = this.sizeOf();
    return true;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.pauses.count;
  }
}
