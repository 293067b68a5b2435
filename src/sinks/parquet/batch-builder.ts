/**
 * The ingest thread's side of a row batch: `ColumnBatchBuilder` copies each row's cells into the
 * row-major chunks of columns.ts as it is appended (type-checked on the spot, so a malformed row is
 * refused here rather than failing a whole file in the worker), and cuts chunks that can be sent
 * to the writer ahead of their batch.
 */
import type { BufferPool } from "../../util/buffer-pool.ts";
import type { Row, SinkKind } from "../../core/rows.ts";
import { layoutOf, type ColumnBatch, type Layout, type RowChunk } from "./columns.ts";

/** Copies `row` into row `j` of the current chunk (row `i` of the batch); returns why it does not fit, or null. */
type RowCopier = (row: Row, j: number, i: number, nums: Float64Array, flags: Uint8Array, b: ColumnBatchBuilder) => string | null;

const copiers = new Map<SinkKind, RowCopier>();

/**
 * The row copier of a kind, compiled once from its schema: straight-line code with each column's name
 * as a literal property key and its slot as a constant. A generic loop (look up `row[def.name]`,
 * switch on the type) cost several times more on the ingest thread; this reads each cell through an
 * inline cache, as hand-written code would, and keeps one way to define a kind: its schema.
 */
function rowCopier(kind: SinkKind): RowCopier {
  let fn = copiers.get(kind);
  if (fn !== undefined) return fn;
  const l = layoutOf(kind);
  const lines: string[] = ["let v;", `const nb = j * ${l.numWidth};`, `const fb = j * ${l.flagWidth};`];
  for (const { def, num, flag, str } of l.slots) {
    if (def.computed === true) continue;
    const key = JSON.stringify(def.name);
    const fail = (what: string) => `return ${JSON.stringify(`${def.name} ${what}`)};`;
    lines.push(`v = row[${key}];`);
    if (def.name === "symbol") {
      lines.push(`if (v !== b.symbol) return typeof v === "string" ? "symbol " + v + " in a batch of " + b.symbol : ${JSON.stringify(`symbol is not a string`)};`);
      continue;
    }
    const onNull = def.nullable
      ? `flags[fb + ${flag}] = ${def.type === "bool" ? 2 : 1};${str >= 0 ? ` b.putNull(${str}, i);` : ""}`
      : fail("is null but not nullable");
    const present = def.nullable && def.type !== "bool" ? `flags[fb + ${flag}] = 0; ` : "";
    let store: string;
    switch (def.type) {
      case "f64":
        store = `if (typeof v !== "number") ${fail("is not a number")} ${present}nums[nb + ${num}] = v;`;
        break;
      case "i64":
      case "ts":
        store = `if (!Number.isSafeInteger(v)) ${fail("is not a safe integer")} ${present}nums[nb + ${num}] = v;`;
        break;
      case "bool":
        store = `if (typeof v !== "boolean") ${fail("is not a boolean")} flags[fb + ${flag}] = v ? 1 : 0;`;
        break;
      case "str":
        store = `if (typeof v !== "string") ${fail("is not a string")} ${present}b.putString(${str}, i, v);`;
        break;
    }
    lines.push(`if (v === null || v === undefined) { ${onNull} } else { ${store} }`);
  }
  lines.push("return null;");
  // Named and strict like the rest of the code, so that JIT reports (BUN_JSC_reportFTLCompileTimes) name it.
  const name = `copyRow_${kind.replace(/\W/g, "_")}`;
  fn = new Function(`return function ${name}(row, j, i, nums, flags, b) {\n"use strict";\n${lines.join("\n")}\n};`)() as RowCopier;
  copiers.set(kind, fn);
  return fn;
}

// ---- builder --------------------------------------------------------------------------------------

/**
 * Smallest chunk, in rows. Smaller chunks would hold less on the ingest thread with the whole market
 * (400 symbols × a dozen kinds, a few rows a second each: ≈ 100 KB per orderbook builder, mostly
 * empty), but every chunk sent ahead becomes a message and one page array per column in the writer:
 * measured at 400 symbols, 8 KiB chunks cost 67 % of a core (15 % now) and 32 KiB ones a higher
 * median RSS than 256 rows (291 vs 249 MiB: hundreds of thousands of small page arrays).
 */
const MIN_CHUNK_ROWS = 256;
const MAX_CHUNK = 16_384;
/**
 * A batch's first chunk starts this small and doubles (by copy) up to the batch's chunk size before
 * it is sealed, so sealed chunks, and the writer's pages, stay as large as above, while a builder
 * that gets a few rows a minute holds a few rows' worth rather than 256: with the whole market
 * most builders are such (400 symbols at ≈ 2,650 frames/s: a few rows a second per symbol, spread
 * over a dozen kinds).
 */
const FIRST_CHUNK_ROWS = 16;
/** Bytes per row a string arena starts with before a batch has shown what its column holds. */
const STRING_BYTES_PER_ROW = 8;

/**
 * Accumulates rows of one kind for one symbol. `append` copies cell values into the current chunk; the
 * only per-row work besides the copy is type checking, so that a malformed row is refused here, on
 * the spot, instead of failing a whole file in the worker.
 *
 * Chunks are an eighth of the previous batch (at least 256, at most 16,384 rows): a full one can be
 * sent to the writer ahead of its batch (takeSealed), so at most about an eighth of a rotation's rows
 * wait on the ingest thread. Only a batch's first chunk grows (FIRST_CHUNK_ROWS); later ones are
 * allocated at full size.
 */
export class ColumnBatchBuilder {
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly day: number;
  private readonly layout: Layout;
  private readonly copyRow: RowCopier;
  private rowCount = 0;
  private minTs = Infinity;
  private maxTs = -Infinity;
  private readonly sealed: RowChunk[] = [];
  /** Current chunk: rows [chunkStart, chunkStart + chunkCap) of the batch. */
  private nums = new Float64Array(0);
  private flags = new Uint8Array(0);
  private chunkStart = 0;
  private chunkCap = 0;
  /** Size the current chunk grows to before it is sealed. */
  private chunkTarget = 0;
  private strCap = 0;
  private strBytes: Uint8Array[] = [];
  private strOffsets: Uint32Array[] = [];
  /** Bytes each string column held in the previous batch: the size of its next arena. */
  private strBytesHint: number[] = [];
  /** Rows of sealed chunks handed out by takeSealed. */
  private sentRows = 0;
  /** Why the last refused row was refused. */
  lastRejection = "";

  /** `pool`: where chunk memory comes from (the writer sends chunks back once encoded); null allocates each. */
  constructor(kind: SinkKind, symbol: string, day: number, private capacityHint = 0, private readonly pool: BufferPool | null = null) {
    this.kind = kind;
    this.symbol = symbol;
    this.day = day;
    this.layout = layoutOf(kind);
    this.copyRow = rowCopier(kind);
  }

  get rows(): number {
    return this.rowCount;
  }

  /**
   * Copies one row. Returns false (and leaves the batch unchanged) when a cell does not fit the
   * schema: a non-nullable column null/missing, a value of the wrong JS type, or a row of another
   * symbol. Extra keys are ignored. Values written for a refused row sit past `rows` and are
   * overwritten by the next row.
   */
  append(row: Row): boolean {
    const i = this.rowCount;
    let j = i - this.chunkStart;
    if (j === this.chunkCap) {
      if (this.chunkCap < this.chunkTarget) this.growChunk();
      else {
        this.nextChunk();
        j = 0;
      }
    }
    if (i === this.strCap) this.growStrings();
    const err = this.copyRow(row, j, i, this.nums, this.flags, this);
    if (err !== null) {
      this.lastRejection = err;
      return false;
    }
    const ts = row.ts_ms as number;
    if (ts < this.minTs) this.minTs = ts;
    if (ts > this.maxTs) this.maxTs = ts;
    this.rowCount = i + 1;
    return true;
  }

  /** Bytes this builder holds on the ingest thread: the chunk being filled and the string arenas (rows and room left). */
  get heldBytes(): number {
    let n = this.nums.byteLength + this.flags.byteLength;
    for (let s = 0; s < this.strBytes.length; s++) n += this.strBytes[s]!.byteLength + this.strOffsets[s]!.byteLength;
    return n;
  }

  /** Rows of the current batch not handed out by takeSealed (still in this builder's memory). */
  get unsentRows(): number {
    return this.rowCount - this.sentRows;
  }

  /** True when full chunks are waiting (the current one is still being filled). */
  get hasSealed(): boolean {
    return this.sealed.length > 0;
  }

  /**
   * The full chunks so far, to be sent to the writer ahead of the batch (which then carries only the
   * rest, with `sentRows` saying how many went ahead). Lets a long rotation's rows leave the ingest
   * thread as they accumulate; the writer encodes them into the file's pages on arrival.
   */
  takeSealed(): RowChunk[] {
    const out = this.sealed.splice(0);
    for (const c of out) this.sentRows += c.rows;
    return out;
  }

  /**
   * Seals the current chunk as it is, however full, so that takeSealed hands it out too; the next
   * row starts a new chunk. For a batch that expects no more rows before its hand-over (its hour
   * is over): its last rows can leave the ingest thread now instead of waiting there.
   */
  sealCurrent(): void {
    this.seal();
    this.chunkStart = this.rowCount;
    this.nums = new Float64Array(0);
    this.flags = new Uint8Array(0);
    this.chunkCap = 0;
    this.chunkTarget = 0;
  }

  /** Hands over the rows collected so far and starts an empty batch; null when there are none. */
  take(): ColumnBatch | null {
    const n = this.rowCount;
    if (n === 0) return null;
    this.seal();
    const batch: ColumnBatch = {
      kind: this.kind,
      symbol: this.symbol,
      day: this.day,
      rows: n,
      minTsMs: this.minTs,
      maxTsMs: this.maxTs,
      chunks: this.sealed.splice(0),
      sentRows: this.sentRows,
      strings: this.strOffsets.map((offsets, s) => ({ bytes: this.strBytes[s]!.subarray(0, offsets[n]), offsets: offsets.subarray(0, n + 1) })),
    };
    this.capacityHint = n;
    this.sentRows = 0;
    this.strBytesHint = this.strOffsets.map((offsets) => offsets[n]!);
    this.rowCount = 0;
    this.chunkStart = 0;
    this.chunkCap = 0;
    this.chunkTarget = 0;
    this.strCap = 0;
    this.minTs = Infinity;
    this.maxTs = -Infinity;
    this.nums = new Float64Array(0);
    this.flags = new Uint8Array(0);
    this.strBytes = [];
    this.strOffsets = [];
    return batch;
  }

  /** Closes the current chunk at the rows it holds. */
  private seal(): void {
    const rows = this.rowCount - this.chunkStart;
    if (rows === 0) return;
    const l = this.layout;
    this.sealed.push({ rows, nums: this.nums.subarray(0, rows * l.numWidth), flags: this.flags.subarray(0, rows * l.flagWidth) });
  }

  private nextChunk(): void {
    this.seal();
    const i = this.rowCount;
    // Not the whole previous batch at once: at a rotation every builder starts a batch while the
    // writer still holds the batches just handed over, and full-size chunks allocated up front
    // doubled the process's memory for that moment. A batch larger than the last grows by
    // chunks of an eighth of what it holds.
    const target = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK_ROWS, (i === 0 ? this.capacityHint : i) >> 3));
    const cap = i === 0 ? Math.min(target, FIRST_CHUNK_ROWS) : target;
    const l = this.layout;
    this.nums = this.numbers(cap * l.numWidth);
    this.flags = this.bytes(cap * l.flagWidth);
    this.chunkStart = i;
    this.chunkCap = cap;
    this.chunkTarget = target;
  }

  /** Doubles the current chunk (rows are laid out row after row, so they keep their places). */
  private growChunk(): void {
    const cap = Math.min(this.chunkTarget, this.chunkCap * 2);
    const l = this.layout;
    const nums = this.numbers(cap * l.numWidth);
    const flags = this.bytes(cap * l.flagWidth);
    nums.set(this.nums);
    flags.set(this.flags);
    // Never sent: the smaller chunk's memory serves another builder's next one.
    this.pool?.put(this.nums.buffer as ArrayBuffer);
    this.pool?.put(this.flags.buffer as ArrayBuffer);
    this.nums = nums;
    this.flags = flags;
    this.chunkCap = cap;
  }

  /** A chunk's numbers; from the pool their old contents remain, but every row written sets each of its cells. */
  private numbers(n: number): Float64Array<ArrayBuffer> {
    return this.pool === null ? new Float64Array(n) : new Float64Array(this.pool.get(n * 8), 0, n);
  }

  private bytes(n: number): Uint8Array<ArrayBuffer> {
    return this.pool === null ? new Uint8Array(n) : new Uint8Array(this.pool.get(n), 0, n);
  }

  /**
   * String arenas hold the whole batch (they are not sent ahead), so they start as small as the first
   * chunk and double: with the whole market most builders get a few rows a minute, and an arena of
   * 256 rows at 16 bytes each per string column held ≈ 14 MiB at 400 symbols for rows that never came.
   */
  private growStrings(): void {
    const old = this.strCap;
    const cap = old === 0 ? Math.max(FIRST_CHUNK_ROWS, this.capacityHint >> 2) : old * 2;
    for (let s = 0; s < this.layout.strCount; s++) {
      const offsets = new Uint32Array(cap + 1);
      if (old === 0) {
        // The strings here are short labels (regime, signal, side: 3–7 bytes); putString grows the arena for longer ones.
        const perRow = this.capacityHint > 0 ? (this.strBytesHint[s] ?? 0) / this.capacityHint : 0;
        this.strBytes[s] = new Uint8Array(Math.ceil(cap * Math.max(STRING_BYTES_PER_ROW, perRow)));
      } else offsets.set(this.strOffsets[s]!);
      this.strOffsets[s] = offsets;
    }
    this.strCap = cap;
  }

  /** A null string: an empty range (called by the compiled row copier). */
  putNull(s: number, i: number): void {
    const offsets = this.strOffsets[s]!;
    offsets[i + 1] = offsets[i]!;
  }

  /** Called by the compiled row copier. */
  putString(s: number, i: number, v: string): void {
    let bytes = this.strBytes[s]!;
    const offsets = this.strOffsets[s]!;
    // Start from the previous row's end, not from a running length: a refused row may have
    // written bytes that must not stick.
    let pos = offsets[i]!;
    // Worst case 3 bytes per UTF-16 code unit.
    const need = pos + v.length * 3;
    if (need > bytes.length) {
      const next = new Uint8Array(Math.max(need, bytes.length * 2));
      next.set(bytes.subarray(0, pos));
      this.strBytes[s] = bytes = next;
    }
    // ASCII fast path: avoids TextEncoder's subarray view allocation for the common case.
    const len = v.length;
    let k = 0;
    for (; k < len; k++) {
      const ch = v.charCodeAt(k);
      if (ch >= 0x80) break;
      bytes[pos + k] = ch;
    }
    if (k === len) pos += len;
    else pos += k + encoder.encodeInto(v.slice(k), bytes.subarray(pos + k)).written;
    offsets[i + 1] = pos;
  }
}

const encoder = new TextEncoder();
