/**
 * PageSpool: the writer worker keeps the encoded data pages of files still being built in files
 * on disk rather than in its heap, and reads a file's pages back once, when the file is finished.
 *
 * With the default 60 s rotation the pages of every open file are most of what the writer holds:
 * ≈ 16 MiB a minute at 50 symbols, tens of thousands of small arrays, half of it resident on average
 * with phase-shifted rotations (docs/storage.md, "Memory"). On disk they cost one sequential write
 * and, a minute later, reads that the page cache serves; what stays in memory is 16 bytes per page.
 *
 * Pages are appended through one write buffer into segment files under the staging folder
 * (`.harvestd-staging/pages-*`, removed at close; a crash leaves debris the next start deletes). A
 * segment is deleted once every page in it has been freed and a newer one is being written. A
 * spool that cannot write (disk full, read-only) keeps the pages in memory from then on, as before
 * the spool existed, and says so once through `onError`: it costs memory, never a page.
 */
import { closeSync, openSync, unlinkSync, writeSync } from "node:fs";
import { readBytesAt } from "./files.ts";
import { removeTree } from "../storage/staging.ts";
import { join } from "node:path";
import { releaseBuffer } from "../../util/release.ts";

export interface SpoolLimits {
  /** A segment is closed for appends at this size. */
  readonly segmentBytes: number;
  /** Appends are gathered into writes of this size. */
  readonly bufferBytes: number;
}

export const SPOOL_LIMITS: SpoolLimits = { segmentBytes: 64 * 1024 * 1024, bufferBytes: 256 * 1024 };

interface Segment {
  readonly fd: number;
  readonly path: string;
  /** Bytes appended (written or still in the write buffer). */
  size: number;
  /** Pages in it not freed yet. */
  live: number;
}

export class PageSpool {
  private dir: string | null = null;
  private readonly segments = new Map<number, Segment>();
  private current = -1;
  private nextSegment = 0;
  /** The current segment's appends not written yet: bytes [flushed, size) of it. */
  private readonly buffer: Uint8Array;
  private buffered = 0;
  private flushed = 0;
  /** Per page ref: segment, position, length; a page kept in memory has segment -1. */
  private seg = new Int32Array(1024);
  private pos = new Float64Array(1024);
  private len = new Int32Array(1024);
  private readonly inMemory = new Map<number, Uint8Array>();
  private readonly freeRefs: number[] = [];
  private refs = 0;
  private failed = false;

  constructor(
    /** Creates the folder for the segments, at the first append. */
    private readonly makeDir: () => string,
    private readonly onError: (message: string, path: string) => void,
    private readonly limits: SpoolLimits = SPOOL_LIMITS,
  ) {
    this.buffer = new Uint8Array(limits.bufferBytes);
  }

  /** Segment files on disk (tests). */
  get segmentPaths(): string[] {
    return [...this.segments.values()].map((s) => s.path);
  }

  /** Pages in the spool (on disk or kept in memory) not freed yet. */
  get pages(): number {
    return this.refs - this.freeRefs.length;
  }

  /** Appends a page given as header and body; returns its ref. The arrays can go. */
  append(header: Uint8Array, body: Uint8Array): number {
    const ref = this.newRef();
    const n = header.length + body.length;
    this.len[ref] = n;
    if (!this.failed && this.ensureSegment()) {
      const s = this.segments.get(this.current)!;
      if (this.buffered + n > this.buffer.length && !this.flush()) return this.keep(ref, header, body);
      this.seg[ref] = this.current;
      this.pos[ref] = s.size;
      if (n > this.buffer.length) {
        // Larger than the buffer (a long rotation's big page): straight to the file, after the buffer's bytes.
        if (!this.writeAt(s, this.flushed, header, body)) return this.keep(ref, header, body);
        this.flushed += n;
      } else {
        this.buffer.set(header, this.buffered);
        this.buffer.set(body, this.buffered + header.length);
        this.buffered += n;
      }
      s.size += n;
      s.live++;
      return ref;
    }
    return this.keep(ref, header, body);
  }

  length(ref: number): number {
    return this.len[ref]!;
  }

  /** Copies page `ref` into `into` at `at`. */
  read(ref: number, into: Uint8Array, at: number): void {
    const n = this.len[ref]!;
    const kept = this.inMemory.get(ref);
    if (kept !== undefined) {
      into.set(kept, at);
      return;
    }
    const s = this.segments.get(this.seg[ref]!)!;
    const p = this.pos[ref]!;
    if (this.seg[ref] === this.current && p >= this.flushed) {
      into.set(this.buffer.subarray(p - this.flushed, p - this.flushed + n), at);
      return;
    }
    const got = readBytesAt(s.fd, into, at, n, p);
    if (got < n) throw new Error(`page spool ${s.path}: ${n - got} bytes missing at ${p + got}`);
  }

  /** The page is no longer needed. */
  free(ref: number): void {
    const kept = this.inMemory.get(ref);
    if (kept !== undefined) {
      this.inMemory.delete(ref);
      releaseBuffer(kept);
    } else {
      const id = this.seg[ref]!;
      const s = this.segments.get(id)!;
      if (--s.live === 0 && id !== this.current) this.drop(id);
    }
    this.freeRefs.push(ref);
  }

  /** Deletes every segment and the folder. */
  close(): void {
    for (const id of [...this.segments.keys()]) this.drop(id);
    // Not rmSync(recursive) directly: under Wine that fails for every folder (staging.ts).
    if (this.dir !== null) removeTree(this.dir);
    this.dir = null;
  }

  private newRef(): number {
    const free = this.freeRefs.pop();
    if (free !== undefined) return free;
    if (this.refs === this.seg.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.seg = grow(this.seg);
      this.pos = grow(this.pos);
      this.len = grow(this.len);
    }
    return this.refs++;
  }

  private keep(ref: number, header: Uint8Array, body: Uint8Array): number {
    const page = new Uint8Array(header.length + body.length);
    page.set(header, 0);
    page.set(body, header.length);
    this.seg[ref] = -1;
    this.inMemory.set(ref, page);
    return ref;
  }

  /** A segment to append to: the current one unless it is full or there is none. */
  private ensureSegment(): boolean {
    const cur = this.segments.get(this.current);
    if (cur !== undefined && cur.size < this.limits.segmentBytes) return true;
    if (cur !== undefined && !this.flush()) return false;
    try {
      if (this.dir === null) this.dir = this.makeDir();
      const id = this.nextSegment++;
      const path = join(this.dir, `pages-${id}`);
      this.segments.set(id, { fd: openSync(path, "w+"), path, size: 0, live: 0 });
      const old = this.current;
      this.current = id;
      this.buffered = 0;
      this.flushed = 0;
      if (cur !== undefined && cur.live === 0) this.drop(old);
      return true;
    } catch (e) {
      return this.fail(e, this.dir ?? "page spool");
    }
  }

  /**
   * Writes the buffer out; false (and the spool off) when it cannot. The current segment holds
   * `flushed` bytes on disk and `buffered` more here; after a failure the buffer is never reused,
   * so the pages in it can still be read.
   */
  private flush(): boolean {
    if (this.buffered === 0) return true;
    const s = this.segments.get(this.current)!;
    if (!this.writeAt(s, this.flushed, this.buffer.subarray(0, this.buffered))) return false;
    this.flushed += this.buffered;
    this.buffered = 0;
    return true;
  }

  private writeAt(s: Segment, at: number, ...parts: Uint8Array[]): boolean {
    try {
      for (const part of parts) {
        for (let done = 0; done < part.length; ) done += writeSync(s.fd, part, done, part.length - done, at + done);
        at += part.length;
      }
      return true;
    } catch (e) {
      return this.fail(e, s.path);
    }
  }

  private fail(e: unknown, path: string): false {
    if (!this.failed) this.onError(`page spool off, pages kept in memory: ${(e as Error)?.message ?? e}`, path);
    this.failed = true;
    return false;
  }

  private drop(id: number): void {
    const s = this.segments.get(id);
    if (s === undefined) return;
    this.segments.delete(id);
    try {
      closeSync(s.fd);
      unlinkSync(s.path);
    } catch {}
  }
}
