/**
 * Reading harvestd's Hive Parquet tree (docs/schemas.md) for reports: which part files a date range
 * and symbol set selects, and their columns as typed arrays. hyparquet is pure JavaScript, so this
 * works inside the compiled binary; zstd pages are inflated with Bun's built-in decompressor.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parquetMetadata, parquetRead } from "hyparquet";
import { SCHEMAS, type ColumnType, type RowKind } from "../core/rows.ts";

export interface PartFile {
  readonly path: string;
  readonly date: string;
  readonly symbol: string;
  readonly kind: RowKind;
}

const DATE_DIR = /^date=(\d{4}-\d{2}-\d{2})$/;
const SYMBOL_DIR = /^symbol=(.+)$/;

function dirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Part files of `kinds` under `root` for UTC dates from..to (inclusive, YYYY-MM-DD), per symbol in
 * date then name order (a name sort is a time sort within a partition). `*.partial` files are never
 * picked up. `symbols` null = every symbol found.
 */
export function listPartFiles(root: string, kinds: readonly RowKind[], from: string, to: string, symbols: ReadonlySet<string> | null): PartFile[] {
  const out: PartFile[] = [];
  if (!existsSync(root)) return out;
  for (const d of dirs(root)) {
    const date = DATE_DIR.exec(d)?.[1];
    if (date === undefined || date < from || date > to) continue;
    for (const s of dirs(join(root, d))) {
      const symbol = SYMBOL_DIR.exec(s)?.[1];
      if (symbol === undefined || (symbols !== null && !symbols.has(symbol))) continue;
      for (const kind of kinds) out.push(...listPartition(join(root, d, s, `kind=${kind}`), date, symbol, kind));
    }
  }
  return out.sort((a, b) => (a.symbol !== b.symbol ? (a.symbol < b.symbol ? -1 : 1) : a.date !== b.date ? (a.date < b.date ? -1 : 1) : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The committed part files of one partition folder (date, symbol, kind), in name order. */
export function listPartition(dir: string, date: string, symbol: string, kind: RowKind): PartFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".parquet")).sort();
  } catch {
    return [];
  }
  return names.map((n) => ({ path: join(dir, n), date, symbol, kind }));
}

/** A part file that could not be read; `missing` when it vanished after it was listed. */
export class PartFileError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
  }
}

/**
 * Columns of one kind as arrays: `ts`, `i64` and `f64` as Float64Array with NaN for null (ids are
 * below 2^53), `bool` as Uint8Array (0/1), `str` as arrays of string | null.
 */
export interface Columns {
  readonly rows: number;
  num(name: string): Float64Array;
  str(name: string): readonly (string | null)[];
  bool(name: string): Uint8Array;
}

type Arr = Float64Array | Uint8Array | (string | null)[];

class ColumnSet implements Columns {
  constructor(
    readonly rows: number,
    private readonly data: ReadonlyMap<string, Arr>,
  ) {}
  num(name: string): Float64Array {
    return this.get(name, Float64Array) as Float64Array;
  }
  str(name: string): readonly (string | null)[] {
    return this.get(name, Array) as (string | null)[];
  }
  bool(name: string): Uint8Array {
    return this.get(name, Uint8Array) as Uint8Array;
  }
  private get(name: string, ctor: unknown): Arr {
    const a = this.data.get(name);
    if (a === undefined || a.constructor !== ctor) throw new Error(`report: column ${name} was not read with that type`);
    return a;
  }
}

const ZSTD = { ZSTD: (input: Uint8Array): Uint8Array => Bun.zstdDecompressSync(input) };
const PARSERS = { timestampFromMilliseconds: (v: bigint) => Number(v) };

function typeOf(kind: RowKind, name: string): ColumnType {
  const def = SCHEMAS[kind].find((c) => c.name === name);
  if (def === undefined) throw new Error(`report: kind ${kind} has no column ${name}`);
  return def.type;
}

function alloc(type: ColumnType, n: number): Arr {
  if (type === "str") return new Array<string | null>(n).fill(null);
  if (type === "bool") return new Uint8Array(n);
  return new Float64Array(n).fill(Number.NaN);
}

function put(type: ColumnType, dst: Arr, at: number, src: ArrayLike<unknown>): void {
  const n = src.length;
  if (type === "str") {
    const d = dst as (string | null)[];
    for (let i = 0; i < n; i++) d[at + i] = (src[i] as string | null | undefined) ?? null;
  } else if (type === "bool") {
    const d = dst as Uint8Array;
    for (let i = 0; i < n; i++) d[at + i] = src[i] === true ? 1 : 0;
  } else {
    const d = dst as Float64Array;
    for (let i = 0; i < n; i++) {
      const v = src[i];
      d[at + i] = v === null || v === undefined ? Number.NaN : typeof v === "bigint" ? Number(v) : (v as number);
    }
  }
}

/** Reads one file's columns; an unreadable file or a missing column throws a PartFileError naming it. */
export async function readPartFile(file: PartFile, names: readonly string[]): Promise<Columns> {
  let buf: ArrayBuffer;
  try {
    buf = await Bun.file(file.path).arrayBuffer();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new PartFileError(`${file.path}: cannot read (${err.code ?? err.message})`, err.code === "ENOENT");
  }
  let rows: number;
  const data = new Map<string, Arr>();
  try {
    const meta = parquetMetadata(buf);
    rows = Number(meta.num_rows);
    const present = new Set(meta.schema.map((s) => s.name));
    for (const n of names) if (!present.has(n)) throw new Error(`no column ${n} (kind ${file.kind})`);
    for (const n of names) data.set(n, alloc(typeOf(file.kind, n), rows));
    await parquetRead({
      file: buf,
      metadata: meta,
      columns: [...names],
      compressors: ZSTD,
      parsers: PARSERS,
      onChunk(chunk) {
        put(typeOf(file.kind, chunk.columnName), data.get(chunk.columnName)!, chunk.rowStart, chunk.columnData as ArrayLike<unknown>);
      },
    });
  } catch (e) {
    throw new PartFileError(`${file.path}: not a readable ${file.kind} Parquet file (${(e as Error).message})`, false);
  }
  return new ColumnSet(rows, data);
}

/** How often a partition is listed again when a listed file vanished (compaction merged it meanwhile). */
const PARTITION_ATTEMPTS = 3;

export interface PartitionRead {
  readonly parts: readonly Columns[];
  /** Files read and their rows, in order. */
  readonly read: readonly { readonly path: string; readonly rows: number }[];
  /** Files that exist but could not be read (skipped). */
  readonly unreadable: readonly { readonly path: string; readonly error: string }[];
}

/**
 * Reads one partition folder's parts. A running collector's compaction swaps a closed hour's parts
 * for one merged file atomically (docs/storage.md): a listed part that has vanished means the folder
 * changed, so the whole folder is listed and read again — never a mix of old parts and the merged
 * file. A file that exists but cannot be read is skipped and reported.
 */
export async function readPartition(dir: string, listed: readonly PartFile[], names: readonly string[]): Promise<PartitionRead> {
  let files = listed;
  for (let attempt = 1; ; attempt++) {
    const parts: Columns[] = [];
    const read: { path: string; rows: number }[] = [];
    const unreadable: { path: string; error: string }[] = [];
    let vanished = false;
    for (const f of files) {
      try {
        const c = await readPartFile(f, names);
        parts.push(c);
        read.push({ path: f.path, rows: c.rows });
      } catch (e) {
        if (e instanceof PartFileError && e.missing && attempt < PARTITION_ATTEMPTS) {
          vanished = true;
          break;
        }
        unreadable.push({ path: f.path, error: (e as Error).message });
      }
    }
    if (!vanished || listed.length === 0) return { parts, read, unreadable };
    files = listPartition(dir, listed[0].date, listed[0].symbol, listed[0].kind);
  }
}

/** Concatenates per-file columns of one kind (all read with the same names). */
export function concatColumns(kind: RowKind, names: readonly string[], parts: readonly Columns[]): Columns {
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const data = new Map<string, Arr>();
  for (const n of names) {
    const type = typeOf(kind, n);
    const out = alloc(type, rows);
    let at = 0;
    for (const p of parts) {
      const src = type === "str" ? p.str(n) : type === "bool" ? p.bool(n) : p.num(n);
      if (type === "str") {
        const o = out as (string | null)[];
        for (let i = 0; i < src.length; i++) o[at + i] = (src as readonly (string | null)[])[i];
      } else (out as Float64Array | Uint8Array).set(src as Float64Array | Uint8Array, at);
      at += p.rows;
    }
    data.set(n, out);
  }
  return new ColumnSet(rows, data);
}
