/**
 * Compaction: the part files of one closed UTC hour in one partition folder
 * (`ROOT/date=D/symbol=S/kind=K`) are merged into one file, and the folder switches from the old
 * file set to the new one in a single atomic step. Runs in the writer worker, never on the ingest
 * thread.
 *
 * 1. The hour's parts (by the `minTsMs` in their names) are read, checked against the kind's
 *    schema and re-encoded as one file with full-size row groups.
 * 2. A staging folder gets that file (`.partial`, fsync, rename) and a hard link to every other
 *    `.parquet` file of the partition.
 * 3. renameat2(RENAME_EXCHANGE) swaps the staging folder and the partition folder.
 * 4. The old folder (now in staging) is deleted.
 *
 * At every instant the partition folder lists each row exactly once: before the swap the old
 * parts, after it the merged file. A reader that listed the folder before the swap and opens a
 * merged-away part after it gets "file not found" (never a silent double count or a gap).
 */
import { existsSync, linkSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { asyncBufferFromFile, parquetMetadata, parquetMetadataAsync, parquetRead, type FileMetaData } from "hyparquet";
import { isCustomKind, schemaOf, type Cell, type ColumnDef, type SinkKind } from "../../core/rows.ts";
import { ColumnBatchBuilder, DAY_MS } from "../parquet/columns.ts";
import { ParquetFileBuilder, partsLength, releaseParts, SCHEMA_VERSION, type EncodeOptions } from "../parquet/encode.ts";
import { commitFile, FileOpError, partitionInfo, partMinTs, syncDir } from "../parquet/files.ts";
import { hasRoomFor } from "./disk-guard.ts";
import { exchangeDirs } from "./exchange.ts";
import { makeStagingDir, tryLock } from "./staging.ts";
import { releaseArrayBuffer } from "../../util/release.ts";

export const HOUR_MS = 3_600_000;

/**
 * Growth of the merging thread's heap after which the live collector collects between two parts
 * (merge-worker.ts, `afterPart`); bench/compaction.ts measures merges with the same figure.
 */
export const MERGE_COLLECT_GROWTH_BYTES = 2 * 1024 * 1024;

export interface CompactionContext {
  readonly encode: EncodeOptions;
  /** A fresh part file name for a merged file whose smallest `ts_ms` is `minTsMs`. */
  readonly nextName: (minTsMs: number) => string;
  /** Called after each part is read: the owner of the thread may collect the part's garbage. */
  readonly afterPart?: () => void;
}

export type CompactOutcome =
  | { readonly done: true; readonly path: string; readonly files: number; readonly rows: number; readonly bytes: number }
  /** Nothing to do, or not now (a reason a person can act on, or null when there is nothing to merge). */
  | { readonly done: false; readonly reason: string | null };

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? "EIO";

/** Part files of `dir` whose first row falls in `hour`, in name (= time, then write) order. */
export function hourParts(dir: string, hour: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (errCode(e) === "ENOENT") return [];
    throw new FileOpError(errCode(e), `cannot list ${dir}: ${(e as Error).message}`, dir);
  }
  return names.filter((n) => {
    const ts = partMinTs(n);
    return ts !== null && Math.floor(ts / HOUR_MS) === hour;
  }).sort();
}

/** Hours of `dir` that have two or more parts, i.e. something to compact. */
export function hoursToCompact(dir: string): number[] {
  const count = new Map<number, number>();
  for (const n of readdirSync(dir)) {
    const ts = partMinTs(n);
    if (ts !== null) {
      const h = Math.floor(ts / HOUR_MS);
      count.set(h, (count.get(h) ?? 0) + 1);
    }
  }
  return [...count].filter(([, n]) => n >= 2).map(([h]) => h).sort((a, b) => a - b);
}

export async function compactHour(root: string, dir: string, hour: number, ctx: CompactionContext): Promise<CompactOutcome> {
  const info = partitionInfo(dir);
  if (info === null) return { done: false, reason: `${dir} is not a date=/symbol=/kind= partition folder` };
  const kind = info.kind as SinkKind;
  // A custom kind is known while its indicator is configured (registered at start); otherwise its
  // hours are left as they are, quietly (a removed indicator is no fault), until a run that has it.
  const defs = schemaOf(kind);
  if (defs === undefined) return { done: false, reason: isCustomKind(kind) ? null : `${dir}: unknown kind ${info.kind}` };
  const parts = hourParts(dir, hour);
  if (parts.length < 2) return { done: false, reason: null };

  const lockName = `${info.date}_${info.symbol}_${info.kind}`;
  let unlock: (() => void) | null;
  try {
    unlock = tryLock(root, lockName);
  } catch (e) {
    throw new FileOpError(errCode(e), `cannot lock ${lockName} for compaction: ${(e as Error).message}`, root);
  }
  if (unlock === null) return { done: false, reason: `${dir}: another process is compacting it` };
  try {
    return await compactLocked(root, dir, parts, kind, defs, info.symbol, ctx);
  } finally {
    try {
      unlock();
    } catch {}
  }
}

async function compactLocked(
  root: string,
  dir: string,
  parts: readonly string[],
  kind: SinkKind,
  defs: readonly ColumnDef[],
  symbol: string,
  ctx: CompactionContext,
): Promise<CompactOutcome> {
  let inputBytes = 0;
  for (const p of parts) inputBytes += statSync(join(dir, p)).size;
  if (!hasRoomFor(dir, inputBytes)) return { done: false, reason: `${dir}: not enough free space to merge ${inputBytes} bytes` };

  const merged = await mergeParts(dir, parts, kind, defs, symbol, ctx);
  if ("reason" in merged) return { done: false, reason: merged.reason };
  const { parts: pieces, rows, minTsMs } = merged;

  let stage: string;
  try {
    stage = makeStagingDir(root, "compact");
  } catch (e) {
    throw new FileOpError(errCode(e), `cannot create a staging folder under ${root}: ${(e as Error).message}`, root);
  }
  try {
    const name = commitFile(stage, pieces, () => {
      let n = ctx.nextName(minTsMs);
      while (existsSync(join(dir, n))) n = ctx.nextName(minTsMs);
      return n;
    });
    const mergedName = name.slice(stage.length + 1);
    // Listed again right before the swap: everything else the folder holds must stay visible.
    const merging = new Set(parts);
    const kept = new Set<string>();
    for (const n of readdirSync(dir)) {
      if (!n.endsWith(".parquet") || merging.has(n)) continue;
      try {
        linkSync(join(dir, n), join(stage, n));
      } catch (e) {
        throw new FileOpError(errCode(e), `cannot link ${join(dir, n)} into staging: ${(e as Error).message}`, join(dir, n));
      }
      kept.add(n);
    }
    syncDir(stage);
    exchangeDirs(stage, dir);
    syncDir(dirname(dir));
    // The old folder is now at `stage`. A part another process committed between the listing and
    // the swap landed there: put it back (it was visible before and is again now).
    for (const n of readdirSync(stage)) {
      if (n.endsWith(".parquet") && !merging.has(n) && !kept.has(n) && n !== mergedName) {
        try {
          renameSync(join(stage, n), join(dir, n));
        } catch {}
      }
    }
    return { done: true, path: join(dir, mergedName), files: parts.length, rows, bytes: partsLength(pieces) };
  } finally {
    releaseParts(pieces);
    // Before the swap: the staged copy. After it: the merged-away parts. Either way, garbage.
    // (Nothing was ever written into the partition folder itself, so a failure leaves it as it was.)
    try {
      rmSync(stage, { recursive: true, force: true });
    } catch {}
  }
}

type Merged = { readonly parts: readonly Uint8Array[]; readonly rows: number; readonly minTsMs: number } | { readonly reason: string };

const decompressors = { ZSTD: (b: Uint8Array) => Bun.zstdDecompressSync(b) };
const parsers = { timestampFromMilliseconds: (v: bigint) => Number(v) as unknown as Date };

/**
 * Reads `parts` back, checks them against the kind's schema and encodes them as one file, returned
 * as consecutive pieces. Rows are encoded into pages as they are read (full chunks go to the file
 * builder part by part, as a rotation's rows sent ahead do), so a merge holds at most one chunk of
 * columns (MAX_CHUNK rows) whatever the hour's size; before, the whole hour was one batch (≈ 17 MB
 * of columns for a busy orderbook hour, unbounded for a busier one). Chunks of the largest size keep
 * pages as large as the reader wants: with 4,500-row pages DuckDB took 60 % longer to read the
 * merged orderbook hour (bench/compaction.ts, docs/storage.md).
 */
async function mergeParts(dir: string, parts: readonly string[], kind: SinkKind, defs: readonly ColumnDef[], symbol: string, ctx: CompactionContext): Promise<Merged> {
  const names = defs.map((d) => d.name);
  const metas: { name: string; meta: FileMetaData }[] = [];
  let expectRows = 0;
  for (const p of parts) {
    const path = join(dir, p);
    let meta: FileMetaData;
    try {
      meta = await readMetadata(path);
    } catch (e) {
      if (e instanceof FileOpError) throw e;
      return { reason: `${path} is not a readable Parquet file (${(e as Error).message}); hour left as is` };
    }
    const kv = Object.fromEntries((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    if (kv["harvestd.kind"] !== kind || kv["harvestd.schema_version"] !== SCHEMA_VERSION) {
      return { reason: `${path} has kind ${kv["harvestd.kind"]} schema version ${kv["harvestd.schema_version"]}, not ${kind} ${SCHEMA_VERSION}; hour left as is` };
    }
    const cols = meta.schema.slice(1).map((e) => e.name);
    if (cols.join(",") !== names.join(",")) return { reason: `${path} has columns ${cols.join(",")}, the ${kind} schema has ${names.join(",")}; hour left as is` };
    expectRows += Number(meta.num_rows);
    metas.push({ name: p, meta });
  }

  let builder: ColumnBatchBuilder | null = null;
  const file = new ParquetFileBuilder(kind, symbol, ctx.encode);
  const scratch: Record<string, Cell> = {};
  for (const input of metas) {
    let rows: unknown[][] = [];
    // One part at a time: only the part being decoded is in memory, and its bytes go as soon as it
    // is decoded (the rows hold numbers and strings of their own, no views of it).
    const bytes = readPart(join(dir, input.name));
    try {
      await parquetRead({
        file: bytes,
        metadata: input.meta,
        columns: names,
        compressors: decompressors,
        parsers,
        rowFormat: "array",
        onComplete: (r: unknown[][]) => {
          rows = r;
        },
      });
    } finally {
      releaseArrayBuffer(bytes);
    }
    for (const r of rows) {
      for (let c = 0; c < names.length; c++) {
        const v = r[c];
        scratch[names[c]!] = typeof v === "bigint" ? Number(v) : v === undefined ? null : (v as Cell);
      }
      // A hint of 8× the rows asks for the largest chunks (an eighth of the hint, capped at MAX_CHUNK).
      if (builder === null) builder = new ColumnBatchBuilder(kind, symbol, Math.floor((scratch.ts_ms as number) / DAY_MS), Math.max(256, expectRows) * 8);
      if (!builder.append(scratch)) return { reason: `${join(dir, input.name)}: a row does not fit the ${kind} schema (${builder.lastRejection}); hour left as is` };
    }
    if (builder?.hasSealed) file.addRows(builder.takeSealed());
    ctx.afterPart?.();
  }
  const batch = builder?.take() ?? null;
  if (batch === null || batch.rows !== expectRows || file.rows !== batch.sentRows) {
    return { reason: `${dir}: read ${batch?.rows ?? 0} rows from parts that declare ${expectRows}; hour left as is` };
  }
  const pieces = file.finish(batch);
  // The merged file must declare every row before the parts go (its footer is the last piece).
  const footer = pieces.at(-1)!;
  const check = parquetMetadata(footer.buffer.slice(footer.byteOffset, footer.byteOffset + footer.byteLength) as ArrayBuffer);
  if (Number(check.num_rows) !== expectRows) return { reason: `${dir}: merged file declares ${check.num_rows} rows, parts ${expectRows}; hour left as is` };
  return { parts: pieces, rows: expectRows, minTsMs: batch.minTsMs };
}

/** The whole part in a buffer of its own (released after decoding). */
function readPart(path: string): ArrayBuffer {
  try {
    const b = readFileSync(path);
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b.buffer as ArrayBuffer;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  } catch (e) {
    throw new FileOpError(errCode(e), `cannot read ${path}: ${(e as Error).message}`, path);
  }
}

/** Bytes fetched from a part's end for its metadata: a part's footer is 2–5 KB; a larger one costs a second read. */
const FOOTER_FETCH_BYTES = 16 * 1024;

/**
 * A part's metadata, from its footer alone (hyparquet reads it from the file's end), not the whole
 * part: the checks before a merge read a few KB of each part.
 */
async function readMetadata(path: string): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(await asyncBufferFromFile(path), { initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (e) {
    // A system call that failed is the disk's or the file system's; anything else is the file's content.
    if ((e as NodeJS.ErrnoException).code !== undefined) throw new FileOpError(errCode(e), `cannot read ${path}: ${(e as Error).message}`, path);
    throw e;
  }
}
