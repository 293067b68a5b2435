/**
 * When the Parquet writer collects its heap. Its garbage is mostly small objects and arrays made per
 * batch (page arrays, zstd results, column views), memory its collector is in no hurry to reclaim:
 * when every symbol rotated at once (≈ 350 batches at 50 symbols; rotations are phase-shifted now,
 * but the row cap and shutdown still bring bursts) RSS rose by 25–45 MiB within a second
 * (bench/rotation-probe.ts reproduces it in isolation). What is measured to work: buffers freed as
 * soon as they are done with (util/release.ts), the encoder allocating nothing per value, and — for
 * the live collector (`lowMemory`) — a full collection after a batch written, ≈ 2 ms each on this
 * small heap. A replay writes hundreds of batches a second and does without. Otherwise a collection
 * runs once what the heap holds, external memory included (jsc heapSize, ≈ 2 µs to read, less what
 * was let go: `heldGrowth`), has grown by GC_GROWTH_BYTES. Either way never more than GC_TIME_SHARE
 * of the worker's time: after every batch cost 17–40 % of a core at a rotation of 400 symbols
 * (≈ 4,800 batches).
 */
import { heapSize } from "bun:jsc";
import { bytesLetGo } from "../../util/release.ts";

const GC_GROWTH_BYTES = 2 * 1024 * 1024;
const GC_TIME_SHARE = 0.05;

export class HeapRelease {
  private heldFloor = heldSize();
  private lastGcEnd = -Infinity;
  private lastGcMs = 0;

  /** `lowMemory()`: collect after every batch (read at each call: the setting arrives after start). */
  constructor(private readonly lowMemory: () => boolean) {}

  /** `afterBatch`: a batch was just written (or failed). */
  maybeCollect(afterBatch = false): void {
    const t0 = performance.now();
    // The cap holds for both reasons: under a burst the heap grows by GC_GROWTH_BYTES every few
    // milliseconds, and collecting each time took a quarter of the worker's time at 150k frames/s
    // (a sampling profile of the worker). At a normal rate the cap never binds.
    if (t0 - this.lastGcEnd < this.lastGcMs / GC_TIME_SHARE) return;
    const due = afterBatch && this.lowMemory();
    if (!due && this.heldGrowth() < GC_GROWTH_BYTES) return;
    Bun.gc(true);
    this.lastGcEnd = performance.now();
    this.lastGcMs = this.lastGcEnd - t0;
    this.heldFloor = heldSize();
  }

  /** Growth of what the heap holds since its lowest point after the last collection (a collection of JSC's own shows as a drop). */
  private heldGrowth(): number {
    const held = heldSize();
    if (held < this.heldFloor) this.heldFloor = held;
    return held - this.heldFloor;
  }
}

/**
 * What the heap holds: its size less what this thread has let go of. The rows' chunks sent back and
 * the buffers released still count in `heapSize()` until a collection sweeps their empty objects; at
 * 150k frames/s they made the writer collect ≈ 6 times a second for nothing (a fifth of its time, at
 * the GC_TIME_SHARE cap). Only differences of it mean anything.
 */
function heldSize(): number {
  return heapSize() - bytesLetGo();
}
