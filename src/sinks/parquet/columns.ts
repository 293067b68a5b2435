/**
 * Columnar batch builder: turns the rows of one (kind, symbol, UTC day) into typed arrays that can be
 * handed to the writer worker by transferring their ArrayBuffers (no copy, no structured clone of
 * per-row values).
 *
 * Strings are stored as UTF-8 bytes plus offsets rather than string[]: structured-cloning 100k
 * strings costs ~40 ms on the posting thread (measured), which is the ingest thread here, while
 * copying their bytes costs a few ms and transfers for free.
 */
import { SCHEMAS, type ColumnDef, type ColumnType, type Row, type RowKind } from "../../rows/schema.ts";

export const DAY_MS = 86_400_000;

/** Numbers (`f64`, and `i64`/`ts` as exact integers) travel as Float64Array. */
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

/** Rows of one kind for one symbol and one UTC day, ready to be posted with `transferList(batch)`. */
export interface ColumnBatch {
  readonly kind: RowKind;
  readonly symbol: string;
  /** UTC day of every row's `ts_ms`, as days since the epoch. */
  readonly day: number;
  readonly rows: number;
  /** Smallest and largest `ts_ms` in the batch (rows may arrive slightly out of event-time order). */
  readonly minTsMs: number;
  readonly maxTsMs: number;
  /** Same order as SCHEMAS[kind]. */
  readonly columns: readonly BatchColumn[];
}

/** The distinct ArrayBuffers behind a batch, for postMessage's transfer list. */
export function transferList(batch: ColumnBatch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const c of batch.columns) {
    if (c.type === "str") {
      out.add(c.bytes.buffer as ArrayBuffer);
      out.add(c.offsets.buffer as ArrayBuffer);
    } else out.add(c.values.buffer as ArrayBuffer);
    if (c.nulls) out.add(c.nulls.buffer as ArrayBuffer);
  }
  return [...out];
}

/** `YYYY-MM-DD` of a UTC day number. */
export function dayString(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

const T_F64 = 0;
const T_INT = 1; // i64 and ts: both must be exact integers
const T_BOOL = 2;
const T_STR = 3;

const typeCode = (t: ColumnType): number =>
  t === "f64" ? T_F64 : t === "i64" || t === "ts" ? T_INT : t === "bool" ? T_BOOL : T_STR;

const MIN_CAPACITY = 256;

/**
 * Accumulates rows of one kind. `append` copies cell values into growable typed arrays; the only
 * per-row work besides the copy is type checking, so that a malformed row is refused here, on the
 * spot, instead of failing a whole file in the worker.
 *
 * Arrays are allocated lazily after each `take()` (their buffers left with the batch), sized from
 * the previous batch so that a steady stream does not regrow them every rotation.
 */
export class ColumnBatchBuilder {
  readonly kind: RowKind;
  readonly symbol: string;
  readonly day: number;
  private readonly defs: readonly ColumnDef[];
  private readonly codes: Uint8Array;
  private rowCount = 0;
  private capacity = 0;
  private minTs = Infinity;
  private maxTs = -Infinity;
  // One slot per column; which one is used depends on the column's type.
  private nums: (Float64Array | null)[] = [];
  private bools: (Uint8Array | null)[] = [];
  private strBytes: (Uint8Array | null)[] = [];
  private strOffsets: (Uint32Array | null)[] = [];
  private nulls: (Uint8Array | null)[] = [];
  /** Why the last refused row was refused. */
  lastRejection = "";

  constructor(kind: RowKind, symbol: string, day: number, private capacityHint = MIN_CAPACITY) {
    this.kind = kind;
    this.symbol = symbol;
    this.day = day;
    this.defs = SCHEMAS[kind];
    this.codes = Uint8Array.from(this.defs, (d) => typeCode(d.type));
  }

  get rows(): number {
    return this.rowCount;
  }

  /**
   * Copies one row. Returns false (and leaves the batch unchanged) when a cell does not fit the
   * schema: a non-nullable column null/missing, or a value of the wrong JS type. Extra keys are
   * ignored. Values written for a refused row sit past `rows` and are overwritten by the next row.
   */
  append(row: Row): boolean {
    const i = this.rowCount;
    if (i === this.capacity) this.grow();
    const defs = this.defs;
    const codes = this.codes;
    for (let c = 0; c < defs.length; c++) {
      const def = defs[c];
      const v = row[def.name];
      const nulls = this.nulls[c];
      if (v === null || v === undefined) {
        if (nulls === null) return this.refuse(`${def.name} is null but not nullable`);
        nulls[i] = 1;
        if (codes[c] === T_STR) this.strOffsets[c]![i + 1] = this.strOffsets[c]![i];
        continue;
      }
      if (nulls !== null) nulls[i] = 0;
      switch (codes[c]) {
        case T_F64:
          if (typeof v !== "number") return this.refuse(`${def.name} is not a number`);
          this.nums[c]![i] = v;
          break;
        case T_INT:
          if (!Number.isSafeInteger(v)) return this.refuse(`${def.name} is not a safe integer`);
          this.nums[c]![i] = v as number;
          break;
        case T_BOOL:
          if (typeof v !== "boolean") return this.refuse(`${def.name} is not a boolean`);
          this.bools[c]![i] = v ? 1 : 0;
          break;
        default:
          if (typeof v !== "string") return this.refuse(`${def.name} is not a string`);
          this.putString(c, i, v);
      }
    }
    const ts = row.ts_ms as number;
    if (ts < this.minTs) this.minTs = ts;
    if (ts > this.maxTs) this.maxTs = ts;
    this.rowCount = i + 1;
    return true;
  }

  /** Hands over the rows collected so far and starts an empty batch; null when there are none. */
  take(): ColumnBatch | null {
    const n = this.rowCount;
    if (n === 0) return null;
    const columns: BatchColumn[] = this.defs.map((def, c): BatchColumn => {
      const nulls = this.nulls[c] ? this.nulls[c]!.subarray(0, n) : null;
      switch (this.codes[c]) {
        case T_BOOL:
          return { name: def.name, type: "bool", values: this.bools[c]!.subarray(0, n), nulls };
        case T_STR:
          return {
            name: def.name,
            type: "str",
            bytes: this.strBytes[c]!.subarray(0, this.strOffsets[c]![n]),
            offsets: this.strOffsets[c]!.subarray(0, n + 1),
            nulls,
          };
        default:
          return { name: def.name, type: def.type as NumberColumn["type"], values: this.nums[c]!.subarray(0, n), nulls };
      }
    });
    const batch: ColumnBatch = {
      kind: this.kind,
      symbol: this.symbol,
      day: this.day,
      rows: n,
      minTsMs: this.minTs,
      maxTsMs: this.maxTs,
      columns,
    };
    this.capacityHint = Math.max(MIN_CAPACITY, n);
    this.rowCount = 0;
    this.capacity = 0;
    this.minTs = Infinity;
    this.maxTs = -Infinity;
    this.nums = [];
    this.bools = [];
    this.strBytes = [];
    this.strOffsets = [];
    this.nulls = [];
    return batch;
  }

  private refuse(reason: string): false {
    this.lastRejection = reason;
    return false;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old === 0 ? this.capacityHint : old * 2;
    const defs = this.defs;
    for (let c = 0; c < defs.length; c++) {
      const code = this.codes[c];
      if (code === T_F64 || code === T_INT) this.nums[c] = growTo(this.nums[c] ?? null, cap, Float64Array);
      else if (code === T_BOOL) this.bools[c] = growTo(this.bools[c] ?? null, cap, Uint8Array);
      else {
        const offsets = growTo(this.strOffsets[c] ?? null, cap + 1, Uint32Array);
        this.strOffsets[c] = offsets;
        if (old === 0) {
          // Most strings here are short identifiers (symbol, regime, md5 row id).
          this.strBytes[c] = new Uint8Array(cap * 16);
          offsets[0] = 0;
        }
      }
      this.nulls[c] = defs[c].nullable ? growTo(this.nulls[c] ?? null, cap, Uint8Array) : null;
    }
    this.capacity = cap;
  }

  private putString(c: number, i: number, s: string): void {
    let bytes = this.strBytes[c]!;
    const offsets = this.strOffsets[c]!;
    // Start from the previous row's end, not from a running length: a refused row may have
    // written bytes that must not stick.
    let pos = offsets[i];
    // Worst case 3 bytes per UTF-16 code unit.
    const need = pos + s.length * 3;
    if (need > bytes.length) {
      const next = new Uint8Array(Math.max(need, bytes.length * 2));
      next.set(bytes.subarray(0, pos));
      this.strBytes[c] = bytes = next;
    }
    // ASCII fast path: avoids TextEncoder's subarray view allocation for the common case.
    const len = s.length;
    let k = 0;
    for (; k < len; k++) {
      const ch = s.charCodeAt(k);
      if (ch >= 0x80) break;
      bytes[pos + k] = ch;
    }
    if (k === len) pos += len;
    else pos += k + encoder.encodeInto(s.slice(k), bytes.subarray(pos + k)).written;
    offsets[i + 1] = pos;
  }
}

const encoder = new TextEncoder();

type TypedCtor<T> = { new (n: number): T };
function growTo<T extends Float64Array | Uint8Array | Uint32Array>(old: T | null, n: number, ctor: TypedCtor<T>): T {
  const next = new ctor(n);
  if (old) (next as Uint8Array).set(old as Uint8Array);
  return next;
}
