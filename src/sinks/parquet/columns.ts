/**
 * Row batches for the writer worker: the rows of one (kind, symbol, UTC hour) gathered on the ingest
 * thread and handed over by transferring their ArrayBuffers (no copy, no structured clone of per-row
 * values).
 *
 * Rows are stored row-major: each row's numbers go one after the other into one Float64Array, its
 * null and boolean flags into one Uint8Array, its strings into one byte arena per string column. The
 * ingest thread then writes a few sequential streams instead of one array per column (an orderbook row
 * has 51 columns: writing 51 arrays per row cost ≈ 1.3 µs a row across 20 symbols, row-major ≈ 0.3);
 * the worker reads it a column at a time (`chunkColumn`) as it encodes, off the ingest thread.
 *
 * Strings are UTF-8 bytes plus offsets rather than string[]: structured-cloning 100k strings costs
 * ~40 ms on the posting thread (measured), while copying their bytes costs a few ms and transfers for
 * free. The `symbol` column is not stored per row at all: a batch belongs to one symbol.
 *
 * This module holds the shapes and the row layout both threads share; the ingest thread fills
 * batches with batch-builder.ts, the writer reads them a column at a time with column-readers.ts.
 */
import { schemaOf, type ColumnDef, type SinkKind } from "../../core/rows.ts";

export const DAY_MS = 86_400_000;

/** Numbers (`f64`, and `i64`/`ts` as exact integers) as a column, read by `chunkColumn`. */
export interface NumberColumn {
  readonly name: string;
  readonly type: "f64" | "i64" | "ts";
  readonly values: Float64Array;
  /** 1 = null at that row; absent for non-nullable columns. */
  readonly nulls: Uint8Array | null;
}

export interface BoolColumn {
  readonly name: string;
  readonly type: "bool";
  /** 0 / 1 */
  readonly values: Uint8Array;
  readonly nulls: Uint8Array | null;
}

export interface StrColumn {
  readonly name: string;
  readonly type: "str";
  /** UTF-8 bytes of all values back to back. */
  readonly bytes: Uint8Array;
  /** rows + 1 entries: value i is bytes[offsets[i], offsets[i + 1]). */
  readonly offsets: Uint32Array;
  readonly nulls: Uint8Array | null;
}

export type BatchColumn = NumberColumn | BoolColumn | StrColumn;

/** The strings of one string column of a batch. */
export interface StrBlock {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
}

/**
 * Consecutive rows, row-major. A builder fills chunks one after the other instead of regrowing one
 * array, so a growing batch never copies what it holds and never holds more than a chunk of slack.
 */
export interface RowChunk {
  readonly rows: number;
  /** rows × numWidth numbers. */
  readonly nums: Float64Array;
  /** rows × flagWidth flags: null = 1 (bool columns: 0/1, null = 2). */
  readonly flags: Uint8Array;
}

/** Rows of one kind for one symbol and one UTC day, ready to be posted with `transferList(batch)`. */
export interface ColumnBatch {
  readonly kind: SinkKind;
  readonly symbol: string;
  /** UTC day of every row's `ts_ms`, as days since the epoch. */
  readonly day: number;
  readonly rows: number;
  /** Smallest and largest `ts_ms` in the batch (rows may arrive slightly out of event-time order). */
  readonly minTsMs: number;
  readonly maxTsMs: number;
  /**
   * The rows in chunks, in order. Rows of chunks sent ahead (`sentRows`, see
   * ColumnBatchBuilder.takeSealed) come before these; the writer puts them back in front.
   */
  readonly chunks: readonly RowChunk[];
  /** Rows of this batch already sent to the writer in chunks of their own, ahead of the batch. */
  readonly sentRows: number;
  /** One block per string column other than `symbol` and computed ones, in schema order. */
  readonly strings: readonly StrBlock[];
}

/** The distinct ArrayBuffers behind chunks, for postMessage's transfer list. */
export function chunkTransferList(chunks: readonly RowChunk[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const c of chunks) {
    out.add(c.nums.buffer as ArrayBuffer);
    out.add(c.flags.buffer as ArrayBuffer);
  }
  return [...out];
}

/** The distinct ArrayBuffers behind a batch's string arenas. */
export function stringTransferList(strings: readonly StrBlock[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const s of strings) {
    out.add(s.bytes.buffer as ArrayBuffer);
    out.add(s.offsets.buffer as ArrayBuffer);
  }
  return [...out];
}

/** The distinct ArrayBuffers behind a batch, for postMessage's transfer list. */
export function transferList(batch: ColumnBatch): ArrayBuffer[] {
  return [...new Set([...chunkTransferList(batch.chunks), ...stringTransferList(batch.strings)])];
}

/** `YYYY-MM-DD` of a UTC day number. */
export function dayString(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

// ---- layout ---------------------------------------------------------------------------------------

/** Where one column's cells live in a row: a number slot, a flag slot, a string block. -1 = none. */
export interface Slot {
  readonly def: ColumnDef;
  readonly num: number;
  readonly flag: number;
  readonly str: number;
}

export interface Layout {
  readonly numWidth: number;
  readonly flagWidth: number;
  readonly strCount: number;
  readonly slots: readonly Slot[];
}

const layouts = new Map<SinkKind, Layout>();

export function layoutOf(kind: SinkKind): Layout {
  let l = layouts.get(kind);
  if (l !== undefined) return l;
  let num = 0;
  let flag = 0;
  let str = 0;
  const defs = schemaOf(kind);
  if (defs === undefined) throw new Error(`unknown kind ${kind}`);
  const slots = defs.map((def): Slot => {
    // Neither is stored per row: the symbol is the batch's, a computed column the writer derives.
    if (def.name === "symbol" || def.computed === true) return { def, num: -1, flag: -1, str: -1 };
    const hasFlag = def.nullable || def.type === "bool";
    return {
      def,
      num: def.type === "f64" || def.type === "i64" || def.type === "ts" ? num++ : -1,
      flag: hasFlag ? flag++ : -1,
      str: def.type === "str" ? str++ : -1,
    };
  });
  l = { numWidth: Math.max(1, num), flagWidth: Math.max(1, flag), strCount: str, slots };
  layouts.set(kind, l);
  return l;
}

/** Whether column `c` (schema order) of `kind` is a string column, stored apart from the chunks. */
export const isStringColumn = (kind: SinkKind, c: number): boolean => layoutOf(kind).slots[c]!.def.type === "str";
