/**
 * A full collection of this thread's heap whenever it has grown by `growthBytes` since the last
 * one (jsc heapSize, external memory included, ≈ 2 µs to read). For a thread whose garbage comes in
 * steps it can wait between, such as a merge's parts (merge-worker.ts); bench/compaction.ts measures
 * merges with the same rule.
 */
import { heapSize } from "bun:jsc";

export function collectOnGrowth(growthBytes: number): () => void {
  let sizeAfterGc = heapSize();
  return () => {
    if (heapSize() - sizeAfterGc < growthBytes) return;
    Bun.gc(true);
    sizeAfterGc = heapSize();
  };
}
