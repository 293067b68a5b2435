/**
 * Rows → Parquet bytes, with the explicit schema of the kind (core/rows.ts schemaOf; never inferred
 * from data).
 *
 * harvestd's own encoder, written for the handful of column types it stores: it reads the batch's
 * typed arrays directly (no boxing of values, no BigInt), so encoding costs little more than zstd.
 * Per column type:
 * - `ts` and `*_id` INT64: DELTA_BINARY_PACKED (consecutive ids compress to almost nothing);
 *   other INT64: PLAIN.
 * - DOUBLE: PLAIN. Market values come from a small set (prices on the tick grid, quantities on the
 *   lot grid, their differences), so whole 8-byte values repeat and zstd matches them; splitting the
 *   bytes by rank (BYTE_STREAM_SPLIT, used before 2026-12-06) scattered those repeats and made the
 *   pages of real traffic 1.1–3× larger (docs/storage.md "Doubles: PLAIN, not byte-stream-split").
 * - BYTE_ARRAY: a dictionary (RLE_DICTIONARY) while it stays small, else PLAIN.
 * - BOOLEAN: PLAIN (bit-packed).
 * - nullable columns: RLE definition levels.
 * Data pages are v1, compressed with zstd; statistics (min/max/null count) per column chunk so
 * readers can prune by time. Format:
 * https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 *
 * Pages are encoded as rows arrive (`ParquetFileBuilder.addRows`): the writer worker encodes each
 * chunk sent ahead of its batch into the number and bool columns' pages at once and keeps only the
 * compressed pages, so a batch's raw rows never exist whole in the worker (the rotation spike of
 * docs/storage.md). Every page of these columns is self-contained (levels, DELTA_BINARY_PACKED,
 * PLAIN doubles, bit-packed bools), so a column chunk is just its pages back to back. String
 * columns wait for the batch (their bytes travel with it) and get one dictionary and one data page
 * per row group. Rows given in one `addRows` call share pages: a whole batch (compaction) gets one
 * page per column per row group.
 *
 * Synchronous and CPU-bound: only ever called inside the writer worker (and by compaction, which runs
 * there too), never on the ingest thread.
 */
import { noFTL } from "bun:jsc";
import { PRICE_ROW_ID_BYTES, writePriceRowId } from "../../core/row-id.ts";
import { schemaOf, type ColumnDef, type SinkKind } from "../../core/rows.ts";
import { chunkColumn, ColumnScratch, copyNullFlags, isStringColumn, stringColumn, type ColumnBatch, type NumberColumn, type BoolColumn, type RowChunk, type StrColumn } from "./columns.ts";
import { ByteBuffer, float64Bytes, int64Bytes } from "./format/bytes.ts";
import type { PageSpool } from "./page-spool.ts";
import { releaseBuffer, releaseIfWhole } from "../../util/release.ts";
import { bitWidth, encodeDeltaBinaryPacked, encodeHybrid } from "./format/bit-pack.ts";
import { CompactWriter, T_BINARY, T_I32, T_STRUCT } from "./format/thrift.ts";

/**
 * Bumped whenever a column list in SCHEMAS changes in a way a reader must know about. Written to
 * every file's key-value metadata as `harvestd.schema_version`.
 */
export const SCHEMA_VERSION = "1";

export const DEFAULT_ROW_GROUP_SIZE = 100_000;

export interface EncodeOptions {
  /** Rows per row group; 100k keeps statistics useful for pruning and pages in the MB range. */
  readonly rowGroupSize?: number;
  /** FileMetaData.created_by, e.g. `harvestd 0.1.0`. */
  readonly createdBy?: string;
  /** zstd level; DEFAULT_ZSTD_LEVEL when absent. */
  readonly zstdLevel?: number;
}

/**
 * zstd level 3 (Bun's default, named here so it is a decision). Level 1 costs the writer ≈ 15 % less
 * CPU on large pages but makes the files ≈ 2.5 % larger, past the 1.05× DuckDB size target
 * (docs/storage.md "Doubles: PLAIN, not byte-stream-split").
 */
export const DEFAULT_ZSTD_LEVEL = 3;

// parquet.thrift enums
const TYPE = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const ENC = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const;
const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
const CODEC_ZSTD = 6;
const REQUIRED = 0;
const OPTIONAL = 1;
const CONVERTED_UTF8 = 0;
const CONVERTED_TIMESTAMP_MILLIS = 9;

/** Values whose differences stay exact in delta arithmetic (see encodeDeltaBinaryPacked). */
const DELTA_LIMIT = 2 ** 50;
/** A string dictionary larger than this is abandoned for PLAIN (distinct ids, free text). */
const MAX_DICTIONARY = 1024;

const physicalType = (def: ColumnDef): number =>
  def.type === "f64" ? TYPE.DOUBLE : def.type === "bool" ? TYPE.BOOLEAN : def.type === "str" ? TYPE.BYTE_ARRAY : TYPE.INT64;

const wantsDelta = (def: ColumnDef): boolean => def.type === "ts" || (def.type === "i64" && def.name.endsWith("_id"));

/**
 * Scratch space of the encoder, shared by every file it encodes (encoding is synchronous, so one set
 * serves the thread): a writer that encodes hundreds of files a minute allocates only their pages.
 */
const scratch = {
  columns: new ColumnScratch(),
  page: new ByteBuffer(1 << 16),
  header: new ByteBuffer(256),
  footer: new ByteBuffer(4096),
  levels: new Uint8Array(0),
  gathered: new Float64Array(0),
  indices: new Int32Array(0),
};

function levelScratch(n: number): Uint8Array {
  if (scratch.levels.length < n) scratch.levels = new Uint8Array(n);
  return scratch.levels;
}

function gatherScratch(n: number): Float64Array {
  if (scratch.gathered.length < n) scratch.gathered = new Float64Array(n);
  return scratch.gathered;
}

function indexScratch(n: number): Int32Array {
  if (scratch.indices.length < n) scratch.indices = new Int32Array(n);
  return scratch.indices;
}

/** The pages of one column in one row group, and their merged statistics: a column chunk. */
class ColumnChunkPages {
  /** The dictionary page (header and body), written first. */
  dictionary: Uint8Array | null = null;
  /**
   * The data pages, header and body each, or the ref of a page in `spool`. (Header and body as two
   * arrays would save a copy, but the tens of thousands of small header arrays a minute of 50
   * symbols makes cost more memory: +20 MiB measured.)
   */
  readonly data: (Uint8Array | number)[] = [];
  /** In order of first use. */
  readonly encodings: number[] = [];
  numValues = 0;
  uncompressed = 0;
  compressed = 0;
  nullCount = 0;
  /** Numbers and bools: smallest and largest present value so far. */
  lo = Infinity;
  hi = -Infinity;
  /** Strings: the statistics' bytes, set once (a string column chunk is encoded in one go). */
  minBytes: Uint8Array | null = null;
  maxBytes: Uint8Array | null = null;

  constructor(
    readonly def: ColumnDef,
    /** Where its data pages wait until the file is finished; null: in memory. */
    readonly spool: PageSpool | null,
  ) {}

  useEncoding(e: number): void {
    if (!this.encodings.includes(e)) this.encodings.push(e);
  }

  /** Statistics bytes in the column type's own order; null when no value is present. */
  stats(): [Uint8Array, Uint8Array] | null {
    if (this.def.type === "str") return this.minBytes && this.maxBytes ? [this.minBytes, this.maxBytes] : null;
    // NaN never compares, so lo/hi already skip it.
    if (!(this.lo <= this.hi)) return null;
    if (this.def.type === "f64") return [float64Bytes(this.lo === 0 ? -0 : this.lo), float64Bytes(this.hi === 0 ? 0 : this.hi)];
    if (this.def.type === "bool") return [Uint8Array.of(this.lo), Uint8Array.of(this.hi)];
    return [int64Bytes(this.lo), int64Bytes(this.hi)];
  }
}

/**
 * Compresses the page scratch and adds it, header and body in one array, to `into`: its dictionary
 * page when `type` is PAGE.DICTIONARY, else its next data page.
 */
function finishPage(into: ColumnChunkPages, type: number, numValues: number, encoding: number, zstdLevel: number | undefined): void {
  const body = scratch.page.written();
  const compressed = Bun.zstdCompressSync(body, { level: zstdLevel ?? DEFAULT_ZSTD_LEVEL });
  const h = scratch.header;
  h.reset();
  const w = new CompactWriter(h);
  w.i32(1, type).i32(2, body.length).i32(3, compressed.length);
  if (type === PAGE.DATA) {
    w.struct(5).i32(1, numValues).i32(2, encoding).i32(3, ENC.RLE).i32(4, ENC.RLE).end();
  } else {
    w.struct(7).i32(1, numValues).i32(2, encoding).end();
  }
  h.byte(0);
  into.uncompressed += h.pos + body.length;
  into.compressed += h.pos + compressed.length;
  if (type === PAGE.DATA && into.spool !== null) {
    into.data.push(into.spool.append(h.written(), compressed));
    releaseIfWhole(compressed);
    return;
  }
  const page = new Uint8Array(h.pos + compressed.length);
  page.set(h.written(), 0);
  page.set(compressed, h.pos);
  releaseIfWhole(compressed);
  if (type === PAGE.DATA) into.data.push(page);
  else into.dictionary = page;
}

/**
 * The values of a computed string column (ColumnDef.computed: `row_id`, core/row-id.ts), derived
 * from the rows as they arrive, before their chunks go: the ingest thread never makes them.
 */
class ComputedStrings {
  private bytes = new Uint8Array(0);
  private rows = 0;

  constructor(
    private readonly kind: SinkKind,
    private readonly symbol: string,
    /** Schema index of `agg_trade_id`, the column row_id is computed from. */
    private readonly from: number,
  ) {}

  /** Derives the values of the next `n` rows of `chunks`. */
  add(chunks: readonly RowChunk[], n: number): void {
    const need = (this.rows + n) * PRICE_ROW_ID_BYTES;
    if (this.bytes.length < need) {
      const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
      next.set(this.bytes.subarray(0, this.rows * PRICE_ROW_ID_BYTES));
      releaseBuffer(this.bytes);
      this.bytes = next;
    }
    const ids = chunkColumn(this.kind, chunks, this.from, 0, n, scratch.columns).values;
    for (let i = 0; i < n; i++) writePriceRowId(this.symbol, ids[i]!, this.bytes, (this.rows + i) * PRICE_ROW_ID_BYTES);
    this.rows += n;
  }

  /** Rows [r0, r1) as a string column. */
  column(name: string, r0: number, r1: number): StrColumn {
    const offsets = new Uint32Array(r1 - r0 + 1);
    for (let i = 0; i <= r1 - r0; i++) offsets[i] = (r0 + i) * PRICE_ROW_ID_BYTES;
    return { name, type: "str", bytes: this.bytes, offsets, nulls: null };
  }

  release(): void {
    releaseBuffer(this.bytes);
  }
}

interface RowGroupPages {
  rows: number;
  readonly columns: ColumnChunkPages[];
}

/**
 * One Parquet file built as its rows arrive: `addRows` encodes the number and bool columns of those
 * rows into pages at once; `finish` adds the batch's own rows and its strings and returns the file.
 */
export class ParquetFileBuilder {
  private readonly defs: readonly ColumnDef[];
  private readonly groupSize: number;
  private readonly groups: RowGroupPages[] = [];
  private rowCount = 0;
  /** Per nullable string column (by schema index): null flags of the rows so far. */
  private readonly stringNulls = new Map<number, Uint8Array>();
  /** Per computed column (by schema index): its values so far. */
  private readonly computed = new Map<number, ComputedStrings>();

  constructor(
    readonly kind: SinkKind,
    /** The file's symbol: the `symbol` column, and what `row_id` is computed from. */
    readonly symbol: string,
    private readonly opts: EncodeOptions = {},
    /** Where the pages of rows added before `finish` wait (page-spool.ts); null: in memory. */
    private readonly spool: PageSpool | null = null,
  ) {
    const defs = schemaOf(kind);
    if (!defs) throw new Error(`unknown kind ${kind}`);
    this.defs = defs;
    this.groupSize = Math.max(1, opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE);
    defs.forEach((def, c) => {
      if (def.type === "str" && def.nullable) this.stringNulls.set(c, new Uint8Array(0));
      if (def.computed === true) {
        // row_id is the only computed column (core/row-id.ts).
        const from = defs.findIndex((d) => d.name === "agg_trade_id");
        if (def.name !== "row_id" || from < 0) throw new Error(`${kind}.${def.name}: no rule computes it`);
        this.computed.set(c, new ComputedStrings(kind, symbol, from));
      }
    });
  }

  /** Rows added so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** Encodes `chunks` (consecutive rows, after those added before) into pages; the chunks can go. */
  addRows(chunks: readonly RowChunk[]): void {
    let n = 0;
    for (const ch of chunks) n += ch.rows;
    this.keepStringNulls(chunks, n);
    for (const values of this.computed.values()) values.add(chunks, n);
    for (let p0 = 0; p0 < n; ) {
      const inGroup = this.rowCount % this.groupSize;
      const p1 = Math.min(n, p0 + this.groupSize - inGroup);
      this.encodePiece(chunks, p0, p1);
      p0 = p1;
    }
  }

  /**
   * Adds the batch's own chunks (the rows after those sent ahead), encodes its strings and returns
   * the file as consecutive pieces (written with one writev, never joined in memory). The builder is
   * spent.
   */
  finish(batch: ColumnBatch): Uint8Array[] {
    if (batch.kind !== this.kind || batch.symbol !== this.symbol) throw new Error(`a ${batch.kind} batch of ${batch.symbol} given to a ${this.kind} file of ${this.symbol}`);
    this.addRows(batch.chunks);
    if (this.rowCount !== batch.rows) throw new Error(`${batch.kind} batch of ${batch.rows} rows, ${this.rowCount} arrived (rows sent ahead missing)`);
    // An empty batch still makes a valid file: one empty row group.
    if (this.groups.length === 0) this.encodePiece([], 0, 0);
    this.defs.forEach((def, c) => {
      if (def.type !== "str") return;
      const flags = this.stringNulls.get(c) ?? null;
      this.groups.forEach((g, i) => {
        const r0 = i * this.groupSize;
        const r1 = r0 + g.rows;
        // A batch is one symbol's: its column is that one value, not a copy of it per row.
        const computed = this.computed.get(c);
        if (def.name === "symbol" && !def.nullable) encodeConstantString(g.columns[c]!, utf8.encode(batch.symbol), g.rows, this.opts.zstdLevel);
        else if (computed !== undefined) encodeStrings(g.columns[c]!, computed.column(def.name, r0, r1), this.opts.zstdLevel);
        else encodeStrings(g.columns[c]!, stringColumn(batch, c, r0, r1, flags === null ? null : flags.subarray(r0, r1)), this.opts.zstdLevel);
      });
    });
    for (const values of this.computed.values()) values.release();
    return this.assemble(batch);
  }

  /** The string columns' null flags of the new rows (their values come later, with the batch). */
  private keepStringNulls(chunks: readonly RowChunk[], n: number): void {
    for (const [c, flags] of this.stringNulls) {
      let out = flags;
      if (out.length < this.rowCount + n) {
        out = new Uint8Array(Math.max(this.rowCount + n, out.length * 2));
        out.set(flags.subarray(0, this.rowCount));
        this.stringNulls.set(c, out);
      }
      copyNullFlags(this.kind, chunks, c, 0, n, out, this.rowCount);
    }
  }

  /** Rows [p0, p1) of `chunks`, all within one row group: one page per number and bool column. */
  private encodePiece(chunks: readonly RowChunk[], p0: number, p1: number): void {
    const g = Math.floor(this.rowCount / this.groupSize);
    let group = this.groups[g];
    // String columns are encoded by `finish` and written right after: nothing to spool.
    if (group === undefined) this.groups.push((group = { rows: 0, columns: this.defs.map((def, c) => new ColumnChunkPages(def, isStringColumn(this.kind, c) ? null : this.spool)) }));
    for (let c = 0; c < this.defs.length; c++) {
      if (isStringColumn(this.kind, c)) continue;
      encodeValuePage(group.columns[c]!, chunkColumn(this.kind, chunks, c, p0, p1, scratch.columns), p1 - p0, this.opts.zstdLevel);
    }
    group.rows += p1 - p0;
    this.rowCount += p1 - p0;
  }

  /** The file as consecutive pieces: magic, every column chunk's pages in order, footer, magic. */
  private assemble(batch: ColumnBatch): Uint8Array[] {
    const footer = scratch.footer;
    footer.reset();
    const metas: RowGroupMeta[] = [];
    const parts: Uint8Array[] = [MAGIC];
    // Spooled pages come back into one array for the whole file, each column chunk's as one piece.
    let spooled = 0;
    for (const g of this.groups) for (const ch of g.columns) for (const d of ch.data) if (typeof d === "number") spooled += this.spool!.length(d);
    const back = new Uint8Array(spooled);
    let backAt = 0;
    let at = MAGIC.length;
    for (const g of this.groups) {
      const offset = at;
      const chunks = g.columns.map((ch): ChunkMeta => {
        const dictionaryPageOffset = ch.dictionary === null ? null : at;
        const dataPageOffset = at + (ch.dictionary?.length ?? 0);
        at += ch.compressed;
        if (ch.dictionary !== null) parts.push(ch.dictionary);
        let run = backAt;
        ch.data.forEach((d, i) => {
          if (typeof d !== "number") {
            if (backAt > run) parts.push(back.subarray(run, (run = backAt)));
            parts.push(d);
            return;
          }
          const n = this.spool!.length(d);
          this.spool!.read(d, back, backAt);
          this.spool!.free(d);
          // Read and freed: a later `discard` must not free it again.
          ch.data[i] = back.subarray(backAt, (backAt += n));
        });
        if (backAt > run) parts.push(back.subarray(run, backAt));
        return { pages: ch, dataPageOffset, dictionaryPageOffset };
      });
      metas.push({ rows: g.rows, offset, chunks });
    }
    writeFileMetaData(footer, batch, this.defs, metas, this.opts.createdBy ?? "harvestd");
    footer.int32LE(footer.pos);
    footer.append(MAGIC);
    parts.push(footer.written().slice());
    return parts;
  }

  /** Frees the pages still in the spool of a file that will not be finished. The builder is spent. */
  discard(): void {
    for (const g of this.groups) for (const ch of g.columns) for (const d of ch.data) if (typeof d === "number") this.spool!.free(d);
    this.groups.length = 0;
    for (const values of this.computed.values()) values.release();
  }
}

/** Pieces of a file as one array. */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(partsLength(parts));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Frees a file's pieces (from `finish`) once written; the shared magic bytes stay. */
export function releaseParts(parts: readonly Uint8Array[]): void {
  for (const p of parts) if (p !== MAGIC) releaseBuffer(p);
}

/** Bytes in pieces of a file. */
export function partsLength(parts: readonly Uint8Array[]): number {
  let size = 0;
  for (const p of parts) size += p.length;
  return size;
}

/** A whole batch as one file (compaction, tests, benchmarks): one page per column per row group. */
export function encodeBatch(batch: ColumnBatch, opts: EncodeOptions = {}): Uint8Array {
  if (batch.sentRows !== 0) throw new Error(`batch of ${batch.kind} lacks the ${batch.sentRows} rows sent ahead of it`);
  return joinParts(new ParquetFileBuilder(batch.kind, batch.symbol, opts).finish(batch));
}

/** Where one column chunk landed in the file, for the footer. */
interface ChunkMeta {
  readonly pages: ColumnChunkPages;
  readonly dataPageOffset: number;
  readonly dictionaryPageOffset: number | null;
}

interface RowGroupMeta {
  readonly rows: number;
  readonly offset: number;
  readonly chunks: readonly ChunkMeta[];
}

export const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

/** Definition levels (1 = present) of the n rows into the page, length-prefixed; returns the null count. */
function writeLevels(page: ByteBuffer, nulls: Uint8Array, n: number): number {
  const levels = levelScratch(n);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const isNull = nulls[i]!;
    levels[i] = isNull ^ 1;
    nullCount += isNull;
  }
  const at = page.pos;
  page.ensure(4);
  page.pos += 4;
  encodeHybrid(page, levels, n, 1);
  new DataView(page.bytes.buffer).setInt32(at, page.pos - at - 4, true);
  return nullCount;
}

/** One data page of a number or bool column (its n rows), added to `into` with its statistics. */
function encodeValuePage(into: ColumnChunkPages, col: NumberColumn | BoolColumn, n: number, zstdLevel: number | undefined): void {
  const def = into.def;
  const page = scratch.page;
  page.reset();
  const nulls = def.nullable ? (col.nulls ?? new Uint8Array(n)) : null;
  const nullCount = nulls ? writeLevels(page, nulls, n) : 0;
  const present = n - nullCount;
  let encoding: number = ENC.PLAIN;
  let lo = into.lo;
  let hi = into.hi;
  if (col.type === "bool") {
    const vals = col.values;
    page.ensure((present >> 3) + 1);
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if (nulls !== null && nulls[i]) continue;
      const v = vals[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      acc |= v << bits;
      if (++bits === 8) {
        page.bytes[page.pos++] = acc;
        acc = 0;
        bits = 0;
      }
    }
    if (bits > 0) page.bytes[page.pos++] = acc;
  } else {
    // Numbers: gather the present values, then encode them.
    const src = col.values;
    let vals: Float64Array;
    if (nulls === null) vals = src.subarray(0, n);
    else {
      vals = gatherScratch(present);
      for (let i = 0, k = 0; i < n; i++) if (!nulls[i]) vals[k++] = src[i]!;
      vals = vals.subarray(0, present);
    }
    let pageLo = Infinity;
    let pageHi = -Infinity;
    for (let i = 0; i < present; i++) {
      const v = vals[i]!;
      if (v < pageLo) pageLo = v;
      if (v > pageHi) pageHi = v;
    }
    if (pageLo < lo) lo = pageLo;
    if (pageHi > hi) hi = pageHi;
    if (col.type === "f64") {
      page.ensure(present * 8);
      page.bytes.set(new Uint8Array(vals.buffer, vals.byteOffset, present * 8), page.pos);
      page.pos += present * 8;
    } else if (wantsDelta(def) && present > 0 && pageLo > -DELTA_LIMIT && pageHi < DELTA_LIMIT) {
      encoding = ENC.DELTA_BINARY_PACKED;
      encodeDeltaBinaryPacked(page, vals, present);
    } else {
      page.ensure(present * 8);
      for (let i = 0; i < present; i++) page.int64LE(vals[i]!);
    }
  }
  into.lo = lo;
  into.hi = hi;
  into.nullCount += nullCount;
  into.numValues += n;
  if (nulls) into.useEncoding(ENC.RLE);
  into.useEncoding(encoding);
  finishPage(into, PAGE.DATA, n, encoding, zstdLevel);
}

/** A string column chunk (one row group's rows, all of them): a dictionary and one data page, or one PLAIN page. */
function encodeStrings(into: ColumnChunkPages, col: StrColumn, zstdLevel: number | undefined): void {
  const def = into.def;
  const { bytes, offsets } = col;
  const n = offsets.length - 1;
  const page = scratch.page;
  page.reset();
  const nulls = def.nullable ? (col.nulls ?? new Uint8Array(n)) : null;
  const nullCount = nulls ? writeLevels(page, nulls, n) : 0;
  const present = n - nullCount;
  const levelsEnd = page.pos;
  into.nullCount += nullCount;
  into.numValues += n;
  const idx = indexScratch(present);
  const entries = dictionaryOf(col, nulls, idx);
  const range = rangeScratch;
  range.reset();
  if (entries <= MAX_DICTIONARY) {
    const d = dictScratch();
    for (let j = 0; j < entries; j++) range.consider(bytes, d.start[j]!, d.end[j]!);
    writeDictionaryPages(into, bytes, entries, idx, present, n, levelsEnd, zstdLevel);
  } else {
    page.pos = levelsEnd;
    writePlainValues(col, nulls, range);
    finishPage(into, PAGE.DATA, n, ENC.PLAIN, zstdLevel);
    if (nulls) into.useEncoding(ENC.RLE);
    into.useEncoding(ENC.PLAIN);
  }
  into.minBytes = range.minS < 0 ? null : bytes.slice(range.minS, range.minE);
  into.maxBytes = range.maxS < 0 ? null : bytes.slice(range.maxS, range.maxE);
}

/*
 * encodeStrings is split into the functions below on purpose: as one function (a dictionary
 * loop, a plain loop, a closure and two pages) it was the costliest compilation of JSC's optimising
 * tier in a source run (≈ 370 ms, BUN_JSC_reportFTLCompileTimes=1), and such a compilation holds
 * tens of MiB while it runs. (The memory benchmark's once-a-run outlier was another one, the
 * footer's: see writeFileMetaData.)
 */

/**
 * Dictionary ids of the present values into `idx`; returns the number of distinct values, or more
 * than MAX_DICTIONARY when there are too many (the ids are then incomplete). Consecutive equal
 * values (the common case: symbol, regime, signal) cost one byte comparison each; a new value a
 * hash of its bytes and a probe of an open-addressing table. Nothing is allocated per value: a Map,
 * JS strings or a view per distinct id (row_id) made ≈ 120 KB of garbage per batch, which a
 * rotation's ≈ 350 batches turned into tens of MiB of RSS in the writer (measured in isolation:
 * 300 prices batches, +54 → +17 MiB).
 */
function dictionaryOf(col: StrColumn, nulls: Uint8Array | null, idx: Int32Array): number {
  const { bytes, offsets } = col;
  const n = offsets.length - 1;
  const d = dictScratch();
  d.slots.fill(0);
  let entries = 0;
  let k = 0;
  let prevStart = -1;
  let prevEnd = -1;
  let prevIdx = 0;
  for (let i = 0; i < n && entries <= MAX_DICTIONARY; i++) {
    if (nulls !== null && nulls[i]) continue;
    const s = offsets[i]!;
    const e = offsets[i + 1]!;
    if (prevStart >= 0 && e - s === prevEnd - prevStart && sameBytes(bytes, s, prevStart, e - s)) {
      idx[k++] = prevIdx;
      continue;
    }
    let slot = hashBytes(bytes, s, e) & DICT_SLOT_MASK;
    let id = -1;
    for (;;) {
      const at = d.slots[slot]!;
      if (at === 0) break;
      const j = at - 1;
      if (d.end[j]! - d.start[j]! === e - s && sameBytes(bytes, s, d.start[j]!, e - s)) {
        id = j;
        break;
      }
      slot = (slot + 1) & DICT_SLOT_MASK;
    }
    if (id < 0) {
      id = entries++;
      d.start[id] = s;
      d.end[id] = e;
      d.slots[slot] = id + 1;
    }
    idx[k++] = id;
    prevStart = s;
    prevEnd = e;
    prevIdx = id;
  }
  return entries;
}

/** The dictionary page (first in the chunk), then the data page of ids; the levels are in the page scratch up to `levelsEnd`. */
function writeDictionaryPages(into: ColumnChunkPages, bytes: Uint8Array, entries: number, idx: Int32Array, present: number, n: number, levelsEnd: number, zstdLevel: number | undefined): void {
  const page = scratch.page;
  const d = dictScratch();
  const levels = page.written().slice(0, levelsEnd);
  page.reset();
  for (let j = 0; j < entries; j++) {
    page.int32LE(d.end[j]! - d.start[j]!);
    page.appendRange(bytes, d.start[j]!, d.end[j]!);
  }
  finishPage(into, PAGE.DICTIONARY, entries, ENC.PLAIN, zstdLevel);
  page.reset();
  page.append(levels);
  const width = Math.max(1, bitWidth(Math.max(0, entries - 1)));
  page.byte(width);
  encodeHybrid(page, idx, present, width);
  finishPage(into, PAGE.DATA, n, ENC.RLE_DICTIONARY, zstdLevel);
  for (const e of [ENC.PLAIN, ENC.RLE, ENC.RLE_DICTIONARY]) into.useEncoding(e);
}

/** The present values, PLAIN, into the page scratch after its levels; each one considered for the statistics. */
function writePlainValues(col: StrColumn, nulls: Uint8Array | null, range: ByteRangeStats): void {
  const page = scratch.page;
  const { bytes, offsets } = col;
  const n = offsets.length - 1;
  for (let i = 0; i < n; i++) {
    if (nulls !== null && nulls[i]) continue;
    const s = offsets[i]!;
    const e = offsets[i + 1]!;
    range.consider(bytes, s, e);
    page.int32LE(e - s);
    page.appendRange(bytes, s, e);
  }
}

/** The values with the smallest and the largest bytes: [start, end) of each, -1 = none yet. */
class ByteRangeStats {
  minS = -1;
  minE = -1;
  maxS = -1;
  maxE = -1;

  reset(): void {
    this.minS = this.minE = this.maxS = this.maxE = -1;
  }

  consider(bytes: Uint8Array, s: number, e: number): void {
    if (this.minS < 0 || compareRanges(bytes, s, e, this.minS, this.minE) < 0) {
      this.minS = s;
      this.minE = e;
    }
    if (this.maxS < 0 || compareRanges(bytes, s, e, this.maxS, this.maxE) > 0) {
      this.maxS = s;
      this.maxE = e;
    }
  }
}
const rangeScratch = new ByteRangeStats();

/** A non-nullable string column holding `value` on all n rows: a one-entry dictionary and one run. */
function encodeConstantString(into: ColumnChunkPages, value: Uint8Array, n: number, zstdLevel: number | undefined): void {
  const page = scratch.page;
  page.reset();
  page.int32LE(value.length);
  page.append(value);
  finishPage(into, PAGE.DICTIONARY, 1, ENC.PLAIN, zstdLevel);
  page.reset();
  page.byte(1);
  encodeHybrid(page, indexScratch(n).fill(0, 0, n), n, 1);
  finishPage(into, PAGE.DATA, n, ENC.RLE_DICTIONARY, zstdLevel);
  for (const e of [ENC.PLAIN, ENC.RLE, ENC.RLE_DICTIONARY]) into.useEncoding(e);
  into.numValues += n;
  into.minBytes = value;
  into.maxBytes = value;
}

const utf8 = new TextEncoder();

/** Open-addressing slots (entry + 1, 0 = empty) for at most MAX_DICTIONARY + 1 entries, half full at worst. */
const DICT_SLOTS = 4096;
const DICT_SLOT_MASK = DICT_SLOTS - 1;
let dictTables: { slots: Int32Array; start: Int32Array; end: Int32Array } | null = null;

function dictScratch(): { slots: Int32Array; start: Int32Array; end: Int32Array } {
  dictTables ??= { slots: new Int32Array(DICT_SLOTS), start: new Int32Array(MAX_DICTIONARY + 2), end: new Int32Array(MAX_DICTIONARY + 2) };
  return dictTables;
}

/** Unsigned byte order of bytes [a0, a1) and [b0, b1) of one array. */
function compareRanges(b: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const len = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < len; i++) if (b[a0 + i] !== b[b0 + i]) return b[a0 + i]! - b[b0 + i]!;
  return a1 - a0 - (b1 - b0);
}

/** FNV-1a of bytes [s, e). */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(b: Uint8Array, a0: number, b0: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[a0 + i] !== b[b0 + i]) return false;
  return true;
}

// ---- footer ---------------------------------------------------------------------------------------

function writeSchemaElement(w: CompactWriter, def: ColumnDef): void {
  w.element().i32(1, physicalType(def)).i32(3, def.nullable ? OPTIONAL : REQUIRED).string(4, def.name);
  if (def.type === "ts") {
    // logical_type makes DuckDB read TIMESTAMP WITH TIME ZONE and Arrow timestamp[ms, tz=UTC]; the
    // legacy converted_type (which implies UTC) is kept for readers that predate logical types.
    w.i32(6, CONVERTED_TIMESTAMP_MILLIS);
    w.struct(10).struct(8).bool(1, true).struct(2).struct(1).end().end().end().end();
  } else if (def.type === "str") {
    w.i32(6, CONVERTED_UTF8);
    w.struct(10).struct(1).end().end();
  }
  w.end();
}

function writeFileMetaData(
  out: ByteBuffer,
  batch: ColumnBatch,
  defs: readonly ColumnDef[],
  groups: readonly RowGroupMeta[],
  createdBy: string,
): void {
  const w = new CompactWriter(out);
  w.i32(1, 2);
  w.list(2, T_STRUCT, defs.length + 1);
  w.element().string(4, "root").i32(5, defs.length).end();
  for (const def of defs) writeSchemaElement(w, def);
  w.i64(3, batch.rows);
  w.list(4, T_STRUCT, groups.length);
  for (const g of groups) {
    w.element();
    w.list(1, T_STRUCT, g.chunks.length);
    let totalU = 0;
    let totalC = 0;
    for (const { pages: ch, dataPageOffset, dictionaryPageOffset } of g.chunks) {
      totalU += ch.uncompressed;
      totalC += ch.compressed;
      const start = dictionaryPageOffset ?? dataPageOffset;
      w.element().i64(2, start).struct(3);
      w.i32(1, physicalType(ch.def));
      w.list(2, T_I32, ch.encodings.length);
      for (const e of ch.encodings) w.i32Element(e);
      w.list(3, T_BINARY, 1).stringElement(ch.def.name);
      w.i32(4, CODEC_ZSTD).i64(5, ch.numValues).i64(6, ch.uncompressed).i64(7, ch.compressed);
      w.i64(9, dataPageOffset);
      if (dictionaryPageOffset !== null) w.i64(11, dictionaryPageOffset);
      w.struct(12).i64(3, ch.nullCount);
      const stats = ch.stats();
      if (stats !== null) w.binary(5, stats[1]).binary(6, stats[0]);
      w.end();
      w.end().end();
    }
    w.i64(2, totalU).i64(3, g.rows).i64(5, g.offset).i64(6, totalC);
    w.end();
  }
  w.list(5, T_STRUCT, 3);
  for (const [key, value] of [
    ["harvestd.kind", batch.kind],
    ["harvestd.schema_version", SCHEMA_VERSION],
    ["harvestd.symbol", batch.symbol],
  ]) {
    w.element().string(1, key).string(2, value).end();
  }
  w.string(6, createdBy);
  // Min/max above follow each type's own order (signed numbers, unsigned bytes).
  w.list(7, T_STRUCT, defs.length);
  for (let i = 0; i < defs.length; i++) w.element().struct(1).end().end();
  out.byte(0);
}

// The footer writers run once per file, and JSC's top tier inlines every Thrift call into them: in
// the binary, writeFileMetaData's one FTL compilation took 424–575 ms and 158 KB of code, and RSS
// rose by 50–60 MiB while it ran (once a run, about 5 min in at 50 symbols; docs/storage.md
// "Memory"). The DFG tier below it is fast enough for a few files a second.
noFTL(writeFileMetaData);
noFTL(writeSchemaElement);
// The same for the page writer: its page header's Thrift calls and the spool's append inlined make
// 45 KB of FTL code, compiled twice a run (≈ 70 s and ≈ 320 s in at 50 symbols), each time lifting
// RSS by 15–18 MiB for ≈ 100 ms — the highest moments of a run (docs/storage.md "Session 15"). Its
// own work is small beside the zstd call it makes.
noFTL(finishPage);
