/**
 * One file's lines not yet handed to its write loop, as UTF-8 bytes written in place when each line
 * is appended. Holding the lines as strings until the flush cost the ingest thread about three times
 * as much (the strings, and the frames they were cut from, lived until the flush; docs/performance.md).
 *
 * The buffers come from the sink's BufferPool and leave whole with `take`: the write loop returns
 * each to the pool once written. Copying a flush out of a buffer kept by the file, or concatenating
 * a busy flush's buffers into one, wrote every byte twice, each time into memory the kernel had
 * to fault in.
 */
import type { BufferPool } from "../../util/buffer-pool.ts";

/** Smallest and largest buffer: a quiet symbol's file holds a few lines per flush, a busy one thousands. */
export const MIN_LINE_BUFFER_BYTES = 4 * 1024;
export const MAX_LINE_BUFFER_BYTES = 1024 * 1024;

/**
 * The buffer size for `bytes` of lines: the next power of two, at least MIN_LINE_BUFFER_BYTES (few
 * sizes, so a written buffer fits a later request); above the largest, exactly `bytes` (one large
 * line).
 */
export function lineBufferSize(bytes: number): number {
  if (bytes > MAX_LINE_BUFFER_BYTES) return bytes;
  return Math.max(MIN_LINE_BUFFER_BYTES, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
}

/** A written run of lines: `bytes` is what to write, `owner` the pooled memory it lies in. */
export interface LinePart {
  readonly bytes: Buffer;
  readonly owner: ArrayBuffer;
}

export class LineBytes {
  private buf: Buffer | null = null;
  private len = 0;
  private full: LinePart[] = [];
  private heldBytes = 0;
  /** Sized from what the last flush took: a file asks for about one flush's worth of room. */
  private nextBytes = MIN_LINE_BUFFER_BYTES;
  lines = 0;

  constructor(private readonly pool: BufferPool) {}

  /** A buffer with `max` bytes of room at `offset`; write there, then `commit`. */
  room(max: number): Buffer {
    const b = this.buf;
    if (b !== null && this.len + max <= b.length) return b;
    if (b !== null && this.len > 0) {
      this.full.push({ bytes: b.subarray(0, this.len), owner: b.buffer as ArrayBuffer });
      // Busier than the last flush: fewer, larger buffers (each becomes one write).
      this.nextBytes = Math.min(MAX_LINE_BUFFER_BYTES, this.nextBytes * 2);
    }
    this.buf = Buffer.from(this.pool.get(lineBufferSize(Math.max(max, this.nextBytes))));
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

  /**
   * Everything written so far, in the order written, with its line and byte counts; the file holds
   * no buffer until its next line. A buffer only partly used goes back to the pool after its write
   * like any other: the next flush takes one of the size this flush needed.
   */
  take(): { readonly parts: readonly LinePart[]; readonly lines: number; readonly bytes: number } {
    const parts = this.full;
    const cur = this.buf;
    if (cur !== null && this.len > 0) parts.push({ bytes: cur.subarray(0, this.len), owner: cur.buffer as ArrayBuffer });
    else if (cur !== null) this.pool.put(cur.buffer as ArrayBuffer);
    const out = { parts, lines: this.lines, bytes: this.heldBytes };
    // Room for twice this flush: the next one of about its size fits one buffer.
    this.nextBytes = Math.min(MAX_LINE_BUFFER_BYTES, Math.max(MIN_LINE_BUFFER_BYTES, this.heldBytes * 2));
    this.buf = null;
    this.len = 0;
    this.full = [];
    this.heldBytes = 0;
    this.lines = 0;
    return out;
  }
}
