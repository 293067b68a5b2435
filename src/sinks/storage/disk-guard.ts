/**
 * Free-space checks: /health reports a data folder short of room, and compaction (which needs room
 * for a merged copy before the parts go) waits until there is enough.
 */
import { statfsSync } from "node:fs";

/**
 * Bytes available to this process on the emptiest filesystem holding one of `dirs` (0 when a
 * folder cannot be examined: a missing or unreadable data folder is a problem to report).
 */
export function freeBytes(dirs: readonly string[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const d of dirs) {
    try {
      const s = statfsSync(d);
      min = Math.min(min, Number(s.bavail) * Number(s.bsize));
    } catch {
      min = 0;
    }
  }
  return min;
}

/** Room to spare is kept beyond what an operation needs, so it never takes the last free blocks. */
export const OPERATION_HEADROOM_BYTES = 16 * 1024 * 1024;

/** True when `dir`'s filesystem can take `bytes` more and still keep the headroom. */
export function hasRoomFor(dir: string, bytes: number): boolean {
  return freeBytes([dir]) >= bytes + OPERATION_HEADROOM_BYTES;
}
