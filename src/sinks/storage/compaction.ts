/**
 * Compaction: the part files of one closed UTC hour in one partition folder
 * (`ROOT/date=D/symbol=S/kind=K`) are merged into one file, and the folder switches from the old
 * file set to the new one in a single atomic step. Runs in the writer worker, never on the ingest
 * thread.
 *
 * 1. The hour's parts (by the `minTsMs` in their names) are checked against the kind's schema
 *    and each other, and joined into one file: their row groups one after another, copied as
 *    they are, under one footer (parquet/stitch.ts).
 * 2. A staging folder gets that file (`.partial`, fsync, rename) and a hard link to every other
 *    `.parquet` file of the partition.
 * 3. renameat2(RENAME_EXCHANGE) swaps the staging folder and the partition folder.
 * 4. The old folder (now in staging) is deleted.
 *
 * At every instant the partition folder lists each row exactly once: before the swap the old
 * parts, after it the merged file. A reader that listed the folder before the swap and opens a
 * merged-away part after it gets "file not found" (never a silent double count or a gap).
 */
import { existsSync, linkSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FileMetaData } from "hyparquet";
import { isCustomKind, schemaOf, type ColumnDef, type SinkKind } from "../../core/rows.ts";
import { SCHEMA_VERSION } from "../parquet/footer.ts";
import { commitFile, FileOpError, partitionInfo, partMinTs, syncDir } from "../parquet/files.ts";
import { footerMetadata, readStitchPart, sameSchemaAndMetadata, stitchedFooter, stitchedProblem, stitchShifts, writeStitched, type StitchPart } from "../parquet/stitch.ts";
import { hasRoomFor } from "./disk-guard.ts";
import { exchangeDirs } from "./exchange.ts";
import { makeStagingDir, tryLock } from "./staging.ts";

export const HOUR_MS = 3_600_000;

export interface CompactionContext {
  /** A fresh part file name for a merged file whose smallest `ts_ms` is `minTsMs`. */
  readonly nextName: (minTsMs: number) => string;
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

export function compactHour(root: string, dir: string, hour: number, ctx: CompactionContext): CompactOutcome {
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
    return compactLocked(root, dir, parts, kind, defs, ctx);
  } finally {
    try {
      unlock();
    } catch {}
  }
}

function compactLocked(root: string, dir: string, parts: readonly string[], kind: SinkKind, defs: readonly ColumnDef[], ctx: CompactionContext): CompactOutcome {
  const merged = stitchParts(dir, parts, kind, defs);
  if ("reason" in merged) return { done: false, reason: merged.reason };
  const { rows, minTsMs } = merged;
  const inputBytes = merged.parts.reduce((n, p) => n + p.size, 0);
  if (!hasRoomFor(dir, inputBytes)) return { done: false, reason: `${dir}: not enough free space to merge ${inputBytes} bytes` };

  let stage: string;
  try {
    stage = makeStagingDir(root, "compact");
  } catch (e) {
    throw new FileOpError(errCode(e), `cannot create a staging folder under ${root}: ${(e as Error).message}`, root);
  }
  try {
    let bytes = 0;
    const name = commitFile(stage, (fd) => (bytes = writeStitched(fd, merged.parts, merged.footer)), () => {
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
    return { done: true, path: join(dir, mergedName), files: parts.length, rows, bytes };
  } finally {
    // Before the swap: the staged copy. After it: the merged-away parts. Either way, garbage.
    // (Nothing was ever written into the partition folder itself, so a failure leaves it as it was.)
    try {
      rmSync(stage, { recursive: true, force: true });
    } catch {}
  }
}

type Stitched = { readonly parts: readonly StitchPart[]; readonly footer: Uint8Array; readonly rows: number; readonly minTsMs: number } | { readonly reason: string };

/**
 * Reads `parts`' footers, checks them against the kind's schema and each other, and builds the
 * footer of the file that holds their row groups one after another (parquet/stitch.ts). The first
 * part is parsed (hyparquet) and checked against the kind; every other part must declare the same
 * schema and key-value metadata byte for byte, so it is not parsed at all (a merge round reads
 * thousands of footers: parsed, they were most of the writer's garbage). The new footer is read
 * back (stitchedProblem) before anything is written.
 */
function stitchParts(dir: string, parts: readonly string[], kind: SinkKind, defs: readonly ColumnDef[]): Stitched {
  const inputs: StitchPart[] = [];
  let expectRows = 0;
  let minTsMs = Infinity;
  for (const name of parts) {
    const path = join(dir, name);
    let part: StitchPart;
    try {
      part = readStitchPart(path);
      if (inputs.length === 0) {
        const problem = notOurs(footerMetadata(part), kind, defs);
        if (problem !== null) return { reason: `${path} ${problem}; hour left as is` };
      } else if (!sameSchemaAndMetadata(inputs[0]!, part)) {
        return { reason: `${path} declares other columns or metadata than ${join(dir, parts[0]!)}; hour left as is` };
      }
      expectRows += part.rows;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== undefined) throw new FileOpError(errCode(e), `cannot read ${path}: ${(e as Error).message}`, path);
      return { reason: `${path} is not a readable Parquet file (${(e as Error).message}); hour left as is` };
    }
    minTsMs = Math.min(minTsMs, partMinTs(name)!);
    inputs.push(part);
  }
  const shifts = stitchShifts(inputs);
  let footer: Uint8Array;
  let problem: string | null;
  try {
    footer = stitchedFooter(inputs, shifts);
    problem = stitchedProblem(footer, inputs, shifts);
  } catch (e) {
    return { reason: `${dir}: the parts' footers cannot be joined (${(e as Error).message}); hour left as is` };
  }
  if (problem !== null) return { reason: `${dir}: merged footer ${problem}; hour left as is` };
  return { parts: inputs, footer, rows: expectRows, minTsMs };
}

/** Why a part's metadata is not a part of `kind` (null: it is). */
function notOurs(meta: FileMetaData, kind: SinkKind, defs: readonly ColumnDef[]): string | null {
  const kv = Object.fromEntries((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
  if (kv["harvestd.kind"] !== kind || kv["harvestd.schema_version"] !== SCHEMA_VERSION) {
    return `has kind ${kv["harvestd.kind"]} schema version ${kv["harvestd.schema_version"]}, not ${kind} ${SCHEMA_VERSION}`;
  }
  const cols = meta.schema.slice(1).map((e) => e.name).join(",");
  const names = defs.map((d) => d.name).join(",");
  return cols === names ? null : `has columns ${cols}, the ${kind} schema has ${names}`;
}

