/**
 * Keeps the ingest thread's JavaScript heap from growing far past what it holds live. JSC lets a
 * heap grow to about twice its size after the last collection before it collects again (its growth
 * factor follows the machine's RAM), so the ingest thread's heap, ≈ 35 MiB live at 50 symbols, swung
 * between ≈ 35 and 50–83 MiB, and RSS with it: the highest seconds of a collector between the hour's
 * events were these swings (docs/storage.md, "Memory"). Once the heap has grown GROWTH_BYTES past
 * the lowest size seen since the last request, a collection is asked for: `Bun.gc(false)`, which
 * JSC runs concurrently (≈ 0.5 ms on this thread), not a full stop of the ingest thread.
 */
import { heapSize } from "bun:jsc";

const GROWTH_BYTES = 16 * 1024 * 1024;
/** At most one request in this long: a collection under way must get to finish first. */
const MIN_GAP_MS = 2000;

export class HeapCap {
  private floor = Number.POSITIVE_INFINITY;
  private lastAskMs = Number.NEGATIVE_INFINITY;
  private asked = 0;

  constructor(private readonly sizeOf: () => number = heapSize) {}

  /** Call every second or so; returns whether a collection was asked for. */
  check(nowMs: number): boolean {
    const size = this.sizeOf();
    // A collection (ours or JSC's) shows as a drop: the floor follows what is live.
    if (size < this.floor) this.floor = size;
    if (size - this.floor < GROWTH_BYTES || nowMs - this.lastAskMs < MIN_GAP_MS) return false;
    Bun.gc(false);
    this.lastAskMs = nowMs;
    this.floor = size;
    this.asked++;
    return true;
  }

  /** Collections asked for so far. */
  get requests(): number {
    return this.asked;
  }
}
