/**
 * The writer's side of a row batch: its columns read out of the row-major chunks (columns.ts) one at
 * a time, into scratch arrays reused from column to column, as the encoder asks for them. Runs in the
 * writer worker (and in compaction), never on the ingest thread.
 */
import type { SinkKind } from "../../core/rows.ts";
import { isStringColumn, layoutOf, type BatchColumn, type BoolColumn, type ColumnBatch, type NumberColumn, type RowChunk, type StrColumn } from "./columns.ts";

/**
 * Arrays the column readers below fill, reused from column to column: the encoder consumes each
 * column before asking for the next, so a writer encoding hundreds of batches a minute allocates no
 * column arrays. Runs in the writer worker (and in compaction), never on the ingest thread.
 */
export class ColumnScratch {
  private f64 = new Float64Array(0);
  private u8a = new Uint8Array(0);
  private u8b = new Uint8Array(0);

  numbers(n: number): Float64Array {
    if (this.f64.length < n) this.f64 = new Float64Array(n);
    return this.f64.subarray(0, n);
  }

  /** Zeroed. */
  bytesA(n: number): Uint8Array {
    if (this.u8a.length < n) this.u8a = new Uint8Array(n);
    const out = this.u8a.subarray(0, n);
    out.fill(0);
    return out;
  }

  /** Zeroed; distinct from bytesA. */
  bytesB(n: number): Uint8Array {
    if (this.u8b.length < n) this.u8b = new Uint8Array(n);
    const out = this.u8b.subarray(0, n);
    out.fill(0);
    return out;
  }
}

/** Calls `each(chunk, first row in chunk, rows, index of that row in the output)` over rows [r0, r1) of `chunks`. */
function overlap(chunks: readonly RowChunk[], r0: number, r1: number, each: (ch: RowChunk, from: number, count: number, out: number) => void): void {
  let start = 0;
  for (const ch of chunks) {
    const from = Math.max(r0, start);
    const to = Math.min(r1, start + ch.rows);
    if (from < to) each(ch, from - start, to - from, from - r0);
    start += ch.rows;
    if (start >= r1) break;
  }
}

/**
 * The null flags (1 = null) of column `c` over rows [r0, r1) of `chunks`, into `out` from `at`. For
 * string columns, whose values live apart from the chunks: the encoder keeps these flags when it
 * encodes chunks ahead of their strings.
 */
export function copyNullFlags(kind: SinkKind, chunks: readonly RowChunk[], c: number, r0: number, r1: number, out: Uint8Array, at: number): void {
  const l = layoutOf(kind);
  const { flag } = l.slots[c]!;
  const fw = l.flagWidth;
  overlap(chunks, r0, r1, (ch, from, count, o) => {
    for (let r = 0, f = from * fw + flag; r < count; r++, f += fw) out[at + o + r] = ch.flags[f]!;
  });
}

/** Rows [r0, r1) of number or bool column `c` (schema order) of `chunks`, as one array: what the encoder reads. */
export function chunkColumn(kind: SinkKind, chunks: readonly RowChunk[], c: number, r0: number, r1: number, scratch: ColumnScratch): NumberColumn | BoolColumn {
  const l = layoutOf(kind);
  const { def, num, flag } = l.slots[c]!;
  const n = r1 - r0;
  const nw = l.numWidth;
  const fw = l.flagWidth;
  if (def.type === "bool") {
    const values = scratch.bytesA(n);
    const boolNulls = def.nullable ? scratch.bytesB(n) : null;
    overlap(chunks, r0, r1, (ch, from, count, o) => {
      for (let r = 0, f = from * fw + flag; r < count; r++, f += fw) {
        const v = ch.flags[f]!;
        if (v === 2) boolNulls![o + r] = 1;
        else values[o + r] = v;
      }
    });
    return { name: def.name, type: "bool", values, nulls: boolNulls };
  }
  if (def.type === "str") throw new Error(`${def.name} is a string column`);
  let nulls: Uint8Array | null = null;
  if (def.nullable) {
    nulls = scratch.bytesA(n);
    copyNullFlags(kind, chunks, c, r0, r1, nulls, 0);
  }
  const values = scratch.numbers(n);
  overlap(chunks, r0, r1, (ch, from, count, o) => {
    for (let r = 0, k = from * nw + num; r < count; r++, k += nw) values[o + r] = ch.nums[k]!;
  });
  return { name: def.name, type: def.type, values, nulls };
}

/** Rows [r0, r1) of string column `c` of a batch; `nulls` (0-based over those rows) for a nullable one. */
export function stringColumn(batch: Pick<ColumnBatch, "kind" | "symbol" | "strings">, c: number, r0: number, r1: number, nulls: Uint8Array | null): StrColumn {
  const { def, str } = layoutOf(batch.kind).slots[c]!;
  if (str >= 0) {
    // Offsets stay absolute positions in the full byte block: the slice is a view, no copy.
    const block = batch.strings[str]!;
    return { name: def.name, type: "str", bytes: block.bytes, offsets: block.offsets.subarray(r0, r1 + 1), nulls };
  }
  if (def.computed === true) throw new Error(`${def.name} is computed by the encoder, not carried by the batch`);
  // The symbol column: the batch's symbol on every row.
  const n = r1 - r0;
  const one = encoder.encode(batch.symbol);
  const bytes = new Uint8Array(one.length * n);
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    bytes.set(one, i * one.length);
    offsets[i + 1] = (i + 1) * one.length;
  }
  return { name: def.name, type: "str", bytes, offsets, nulls };
}

/** Rows [r0, r1) of column `c` of a whole batch (every row in its chunks). */
export function batchColumn(batch: ColumnBatch, c: number, r0: number, r1: number, scratch: ColumnScratch = new ColumnScratch()): BatchColumn {
  if (!isStringColumn(batch.kind, c)) return chunkColumn(batch.kind, batch.chunks, c, r0, r1, scratch);
  let nulls: Uint8Array | null = null;
  if (layoutOf(batch.kind).slots[c]!.def.nullable) {
    nulls = scratch.bytesA(r1 - r0);
    copyNullFlags(batch.kind, batch.chunks, c, r0, r1, nulls, 0);
  }
  return stringColumn(batch, c, r0, r1, nulls);
}

const encoder = new TextEncoder();
