/**
 * Parquet pages, the part every column shares: the format's enum values, the encoder's scratch
 * space, a column chunk's pages with their statistics (`ColumnChunkPages`), definition levels, and
 * `finishPage`, which compresses a page with zstd and files it (in memory or in the page spool).
 * The value encoders (value-pages.ts, string-pages.ts), the file builder (encode.ts) and the footer
 * (footer.ts) build on it. Format:
 * https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 */
import { noFTL } from "bun:jsc";
import type { ColumnDef } from "../../core/rows.ts";
import { ColumnScratch } from "./column-readers.ts";
import { ByteBuffer, float64Bytes, int64Bytes } from "./format/bytes.ts";
import type { PageSpool } from "./page-spool.ts";
import { releaseIfWhole } from "../../util/release.ts";
import { encodeHybrid } from "./format/bit-pack.ts";
import { CompactWriter } from "./format/thrift.ts";

/**
 * zstd level 3 (Bun's default, named here so it is a decision). Level 1 costs the writer ≈ 15 % less
 * CPU on large pages but makes the files ≈ 2.5 % larger, past the 1.05× DuckDB size target
 * (docs/storage.md "Doubles: PLAIN, not byte-stream-split").
 */
export const DEFAULT_ZSTD_LEVEL = 3;

// parquet.thrift enums
export const TYPE = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
export const ENC = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const;
export const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
export const CODEC_ZSTD = 6;
export const REQUIRED = 0;
export const OPTIONAL = 1;
export const CONVERTED_UTF8 = 0;
export const CONVERTED_TIMESTAMP_MILLIS = 9;

export const physicalType = (def: ColumnDef): number =>
  def.type === "f64" ? TYPE.DOUBLE : def.type === "bool" ? TYPE.BOOLEAN : def.type === "str" ? TYPE.BYTE_ARRAY : TYPE.INT64;

/**
 * Scratch space of the encoder, shared by every file it encodes (encoding is synchronous, so one set
 * serves the thread): a writer that encodes hundreds of files a minute allocates only their pages.
 */
export const scratch = {
  columns: new ColumnScratch(),
  page: new ByteBuffer(1 << 16),
  header: new ByteBuffer(256),
  footer: new ByteBuffer(4096),
  levels: new Uint8Array(0),
  gathered: new Float64Array(0),
  indices: new Int32Array(0),
};

export function levelScratch(n: number): Uint8Array {
  if (scratch.levels.length < n) scratch.levels = new Uint8Array(n);
  return scratch.levels;
}

export function gatherScratch(n: number): Float64Array {
  if (scratch.gathered.length < n) scratch.gathered = new Float64Array(n);
  return scratch.gathered;
}

export function indexScratch(n: number): Int32Array {
  if (scratch.indices.length < n) scratch.indices = new Int32Array(n);
  return scratch.indices;
}

/** The pages of one column in one row group, and their merged statistics: a column chunk. */
export class ColumnChunkPages {
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
export function finishPage(into: ColumnChunkPages, type: number, numValues: number, encoding: number, zstdLevel: number | undefined): void {
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

/** Definition levels (1 = present) of the n rows into the page, length-prefixed; returns the null count. */
export function writeLevels(page: ByteBuffer, nulls: Uint8Array, n: number): number {
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

// The same for the page writer: its page header's Thrift calls and the spool's append inlined make
// 45 KB of FTL code, compiled twice a run (≈ 70 s and ≈ 320 s in at 50 symbols), each time lifting
// RSS by 15–18 MiB for ≈ 100 ms — the highest moments of a run (docs/storage.md "Session 15"). Its
// own work is small beside the zstd call it makes.
noFTL(finishPage);

