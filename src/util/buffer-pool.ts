/**
 * Memory handed back once its bytes are written out, for the next buffer of the same size. Memory
 * the kernel has not backed yet costs a page fault every 4 KiB the first time it is written, and on
 * this project's boxes a fault costs ≈ 1.7 µs: fresh NDJSON line buffers for every flush and fresh
 * Parquet chunks for every batch made most of the ingest thread's system time
 * (docs/performance.md, "Page faults on the ingest thread").
 *
 * Sizes come in classes a quarter of a power of two apart (4 KiB, 5 KiB, 6 KiB, 7 KiB, 8 KiB, 10 KiB,
 * …): a buffer serves any request of its class, at most 25 % larger than asked. Exact sizes were
 * reused for only a quarter of the Parquet chunks (each builder's chunk size follows its own
 * batches). Below 4 KiB memory comes from the allocator's small pages, which stay backed; it is not
 * pooled. What a window of `trim` calls did not take goes back to the system, so a burst's buffers
 * do not stay for the rest of the run.
 */
import { releaseArrayBuffer } from "./release.ts";

const MIN_POOLED_BYTES = 4096;
/** Buffers that lay free for a whole window of this long are let go (`tick`). */
const TRIM_WINDOW_MS = 1_000;

/** The size of the buffer `get(bytes)` returns: `bytes` below 4 KiB, else rounded up to its class. */
export function pooledSize(bytes: number): number {
  if (bytes < MIN_POOLED_BYTES) return bytes;
  const quarter = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / quarter) * quarter;
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Per size, the fewest buffers that lay free since the last trim: those were not needed. */
  private readonly idle = new Map<number, number>();
  private freeBytes = 0;
  private windowStartMs = 0;
  /** Buffers handed out that came from the pool, and ones that had to be allocated. */
  reused = 0;
  allocated = 0;

  /** `maxFreeBytes` bounds what waits here for reuse. */
  constructor(private readonly maxFreeBytes: number) {}

  /** An ArrayBuffer of pooledSize(bytes) bytes (at least `bytes`), its contents undefined. */
  get(bytes: number): ArrayBuffer {
    const size = pooledSize(bytes);
    const list = this.free.get(size);
    const b = list?.pop();
    if (b === undefined) {
      this.allocated++;
      return new ArrayBuffer(size);
    }
    this.freeBytes -= size;
    if (list!.length < (this.idle.get(size) ?? 0)) this.idle.set(size, list!.length);
    this.reused++;
    return b;
  }

  /** A buffer from `get` whose bytes are no longer needed; one the pool has no room for is freed now. */
  put(b: ArrayBuffer): void {
    const n = b.byteLength;
    if (n < MIN_POOLED_BYTES || pooledSize(n) !== n) return;
    if (this.freeBytes + n > this.maxFreeBytes) return releaseArrayBuffer(b);
    let list = this.free.get(n);
    if (list === undefined) this.free.set(n, (list = []));
    list.push(b);
    this.freeBytes += n;
  }

  /** For the owner's timer: trims once a window has passed since the last trim (or the clock stepped back). */
  tick(nowMs: number): void {
    if (nowMs >= this.windowStartMs && nowMs - this.windowStartMs < TRIM_WINDOW_MS) return;
    this.windowStartMs = nowMs;
    this.trim();
  }

  /** Lets go of the buffers nobody took since the last call. */
  trim(): void {
    for (const [n, list] of this.free) {
      const drop = Math.min(this.idle.get(n) ?? 0, list.length);
      for (let k = 0; k < drop; k++) releaseArrayBuffer(list.pop()!);
      this.freeBytes -= drop * n;
      if (list.length === 0) {
        this.free.delete(n);
        this.idle.delete(n);
      } else this.idle.set(n, list.length);
    }
  }

  /** Bytes waiting here for reuse. */
  get bytes(): number {
    return this.freeBytes;
  }
}
