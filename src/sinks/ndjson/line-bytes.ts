/**
 * One file's lines not yet handed to its write loop, as UTF-8 bytes written in place when each line
 * is appended. Holding the lines as strings until the flush cost the ingest thread about three times
 * as much (the strings, and the frames they were cut from, lived until the flush; docs/performance.md).
 */

/** Smallest and largest buffer: a quiet symbol's file holds a few lines per flush, a busy one thousands. */
const MIN_BYTES = 4 * 1024;
const MAX_BYTES = 1024 * 1024;
/**
 * A buffer kept for the next flush may be at most this many times what the last flush held. A
 * buffer grown for one busy flush (room doubles within a flush that overflows it) or one large line
 * (a full-depth REST snapshot asks for ≈ 120 KB of room) otherwise stayed with the file for the
 * rest of the hour: 50 files kept 8.4 MiB where 1–2 would do (docs/performance.md, the ingest
 * thread's live buffers).
 */
const KEEP_FACTOR = 4;

/** A flush's buffer size for `bytes` held: the next power of two, within [MIN_BYTES, MAX_BYTES]. */
function sizeFor(bytes: number): number {
  return Math.min(MAX_BYTES, Math.max(MIN_BYTES, 2 ** Math.ceil(Math.log2(bytes + 1))));
}

export class LineBytes {
  private buf: Buffer | null = null;
  private len = 0;
  private full: Buffer[] = [];
  private heldBytes = 0;
  /** Sized from what the last flush took, so a file keeps about one flush's worth of room. */
  private nextBytes = MIN_BYTES;
  lines = 0;

  /** A buffer with `max` bytes of room at `offset`; write there, then `commit`. */
  room(max: number): Buffer {
    const b = this.buf;
    if (b !== null && this.len + max <= b.length) return b;
    if (b !== null && this.len > 0) {
      this.full.push(b.subarray(0, this.len));
      // Busier than the last flush: fewer, larger buffers (each becomes one write).
      this.nextBytes = Math.min(MAX_BYTES, this.nextBytes * 2);
    }
    this.buf = Buffer.allocUnsafe(Math.max(max, this.nextBytes));
    this.len = 0;
    return this.buf;
  }

  /** Bytes of the buffer held for the next lines (0 when none is). */
  get capacity(): number {
    return this.buf?.length ?? 0;
  }

  get offset(): number {
    return this.len;
  }

  /** The line written into `room`'s buffer ends at `end`; returns its length. */
  commit(end: number): number {
    const bytes = end - this.len;
    this.len = end;
    this.heldBytes += bytes;
    this.lines++;
    return bytes;
  }

  /** Everything written so far, as one buffer, with its line and byte counts; the buffer starts over. */
  take(): { readonly buf: Buffer; readonly lines: number; readonly bytes: number } {
    const cur = this.buf;
    if (this.full.length === 0 && cur !== null && this.len * 2 <= cur.length && cur.length <= sizeFor(this.heldBytes) * KEEP_FACTOR) {
      // Mostly room: the lines leave as an exact copy and the buffer stays for the next flush. With
      // the whole market most files get a line or two per flush, and a fresh 4 KiB buffer for each
      // of them every 200 ms raised RSS at 400 symbols.
      const out = { buf: Buffer.from(cur.subarray(0, this.len)), lines: this.lines, bytes: this.heldBytes };
      this.reset();
      return out;
    }
    // Full, or far larger than this file's flushes: the lines leave in the buffers that hold them.
    const bufs = this.full;
    if (cur !== null && this.len > 0) bufs.push(cur.subarray(0, this.len));
    // One write per flush: an asynchronous write costs ~20 µs of CPU whatever its size (4 KiB or 64 KiB).
    const out = { buf: bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs), lines: this.lines, bytes: this.heldBytes };
    // Room for twice this flush: the next one of about its size fits one buffer, which is then kept.
    this.nextBytes = sizeFor(this.heldBytes * 2);
    this.buf = null;
    this.reset();
    return out;
  }

  private reset(): void {
    this.len = 0;
    this.full = [];
    this.heldBytes = 0;
    this.lines = 0;
  }
}
