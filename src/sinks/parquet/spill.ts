/**
 * The Parquet writer's disk spill (docs/storage.md, "Overload: spill, never drop").
 *
 * When the batches handed to the writer would go past `storage.max_buffer_mb`, a batch is written
 * to disk as it is — its typed arrays back to back behind a small JSON header, no encoding — and
 * comes back, in the order it left, once the writer has room. Live ingest never waits: the write
 * is asynchronous (thread pool). The files live in `ROOT/.harvestd-staging/spill-*` (staging.ts):
 * not Hive paths, and removed by the next start if a crash leaves them (their rows are in NDJSON).
 *
 * File layout: u32 LE header length, the header (JSON, padded to 8 bytes), then every array's bytes
 * in header order. Arrays are copied out on reading, so their alignment in the file does not matter.
 */
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { removeTreeAsync } from "../storage/staging.ts";
import type { ColumnBatch, RowChunk, StrBlock } from "./columns.ts";

/** The batch's own fields, then the byte layout of its arrays in the file. */
interface SpillHeader extends Pick<ColumnBatch, "kind" | "symbol" | "day" | "rows" | "minTsMs" | "maxTsMs" | "sentRows"> {
  /** Per chunk: rows, then byte lengths of nums and flags. */
  readonly chunks: readonly (readonly [number, number, number])[];
  /** Per string column: byte lengths of bytes and offsets. */
  readonly strings: readonly (readonly [number, number])[];
}

const bytesOf = (a: ArrayBufferView): Uint8Array<ArrayBuffer> => new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);

/** The file's parts, for a Blob: nothing is copied until the write. */
export function spillParts(batch: ColumnBatch): Uint8Array<ArrayBuffer>[] {
  const header: SpillHeader = {
    kind: batch.kind,
    symbol: batch.symbol,
    day: batch.day,
    rows: batch.rows,
    minTsMs: batch.minTsMs,
    maxTsMs: batch.maxTsMs,
    sentRows: batch.sentRows,
    chunks: batch.chunks.map((c) => [c.rows, c.nums.byteLength, c.flags.byteLength] as const),
    strings: batch.strings.map((s) => [s.bytes.byteLength, s.offsets.byteLength] as const),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(4 + padded).fill(0x20, 4);
  new DataView(head.buffer).setUint32(0, padded, true);
  head.set(json, 4);
  const parts = [head];
  for (const c of batch.chunks) parts.push(bytesOf(c.nums), bytesOf(c.flags));
  for (const s of batch.strings) parts.push(bytesOf(s.bytes), bytesOf(s.offsets));
  return parts;
}

/** The batch a spill file holds (fresh, unshared ArrayBuffers, ready to transfer). */
export function batchFromSpill(file: Uint8Array): ColumnBatch {
  const len = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(file.subarray(4, 4 + len))) as SpillHeader;
  let at = 4 + len;
  const take = (n: number): ArrayBuffer => {
    const out = file.slice(at, at + n).buffer as ArrayBuffer;
    at += n;
    return out;
  };
  const chunks: RowChunk[] = h.chunks.map(([rows, nums, flags]) => ({ rows, nums: new Float64Array(take(nums)), flags: new Uint8Array(take(flags)) }));
  const strings: StrBlock[] = h.strings.map(([bytes, offsets]) => ({ bytes: new Uint8Array(take(bytes)), offsets: new Uint32Array(take(offsets)) }));
  if (at !== file.byteLength) throw new Error(`spill file holds ${file.byteLength} bytes, its header describes ${at}`);
  return { kind: h.kind, symbol: h.symbol, day: h.day, rows: h.rows, minTsMs: h.minTsMs, maxTsMs: h.maxTsMs, sentRows: h.sentRows, chunks, strings };
}

/** A batch waiting on disk, in hand-over order. */
export interface Spilled<T> {
  readonly rows: number;
  /** Bytes of the file. */
  readonly bytes: number;
  /** What the owner needs to hand the batch over later (its root, key, bytes sent ahead, ...). */
  readonly meta: T;
  readonly path: string;
  /** Resolves true once the file is complete, false when the write failed (the batch is gone). */
  readonly written: Promise<boolean>;
}

export type SpillWriteResult = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * FIFO of batches on disk. `push` starts the write at once; `shift` reads the oldest back once its
 * write is complete. One folder per process, created on first use.
 */
export class SpillQueue<T> {
  private readonly queue: Spilled<T>[] = [];
  private seq = 0;
  private dir: string | null = null;
  rows = 0;
  bytes = 0;

  constructor(private readonly makeDir: () => string) {}

  get length(): number {
    return this.queue.length;
  }

  get head(): Spilled<T> | undefined {
    return this.queue[0];
  }

  /** Starts writing the batch; `onDone` reports how the write went (after a failure the entry is gone). */
  push(batch: ColumnBatch, meta: T, onDone: (r: SpillWriteResult, entry: Spilled<T>) => void): Spilled<T> | SpillWriteResult {
    let dir: string;
    try {
      dir = this.dir ??= this.makeDir();
    } catch (e) {
      return { ok: false, code: (e as NodeJS.ErrnoException).code ?? "ESPILL", message: `cannot create spill folder: ${(e as Error).message}` };
    }
    const path = join(dir, `${String(++this.seq).padStart(9, "0")}.batch`);
    const parts = spillParts(batch);
    const bytes = parts.reduce((n, p) => n + p.byteLength, 0);
    let entry!: Spilled<T>;
    const written = Bun.write(path, new Blob(parts)).then(
      () => {
        onDone({ ok: true }, entry);
        return true;
      },
      (e: NodeJS.ErrnoException) => {
        this.drop(entry);
        void unlink(path).catch(() => {});
        onDone({ ok: false, code: e.code ?? "ESPILL", message: `spill write failed: ${e.message}` }, entry);
        return false;
      },
    );
    entry = { rows: batch.rows, bytes, meta, path, written };
    this.queue.push(entry);
    this.rows += entry.rows;
    this.bytes += bytes;
    return entry;
  }

  /** Reads the oldest batch back and deletes its file; null when its write failed. */
  async shift(): Promise<{ readonly entry: Spilled<T>; readonly batch: ColumnBatch } | null> {
    const entry = this.queue[0];
    if (entry === undefined) return null;
    if (!(await entry.written)) return null;
    const batch = batchFromSpill(new Uint8Array(await readFile(entry.path)));
    this.drop(entry);
    await unlink(entry.path).catch(() => {});
    return { entry, batch };
  }

  /** Removes the folder (the queue is empty, or its rows are given up). */
  async dispose(): Promise<void> {
    if (this.dir !== null) await removeTreeAsync(this.dir).catch(() => {});
    this.dir = null;
  }

  /** Forgets an entry (its file is gone or unreadable). */
  drop(entry: Spilled<T>): void {
    const i = this.queue.indexOf(entry);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.rows -= entry.rows;
    this.bytes -= entry.bytes;
  }
}
