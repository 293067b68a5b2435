/**
 * Hive layout, file naming and the durable `.partial` → `.parquet` commit. Synchronous fs calls:
 * used only inside the writer worker.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { syncFileSystem } from "./syncfs.ts";
import { join } from "node:path";
import type { SinkKind } from "../../core/rows.ts";
import { dayString } from "./columns.ts";

export const PARTIAL_SUFFIX = ".partial";

/** `ROOT/date=YYYY-MM-DD/symbol=SYMBOL/kind=KIND` */
export function partitionDir(root: string, kind: SinkKind, symbol: string, day: number): string {
  return join(root, `date=${dayString(day)}`, `symbol=${symbol}`, `kind=${kind}`);
}

/**
 * `part-<minTsMs>-<seq>-<runTag>.parquet`: names sort by the batch's first event time (13 digits
 * until the year 2286), then by write order within the process.
 */
export function partFileName(minTsMs: number, seq: number, runTag: string): string {
  return `part-${minTsMs}-${String(seq).padStart(6, "0")}-${runTag}.parquet`;
}

const PART_RE = /^part-(\d{1,16})-\d+-[0-9a-z]+\.parquet$/;

/** The `minTsMs` in a part file name, or null for any other name. */
export function partMinTs(name: string): number | null {
  const m = PART_RE.exec(name);
  return m === null ? null : Number(m[1]);
}

export interface PartitionInfo {
  readonly date: string;
  readonly symbol: string;
  readonly kind: string;
}

/** The Hive keys of a `.../date=D/symbol=S/kind=K` folder, or null. */
export function partitionInfo(dir: string): PartitionInfo | null {
  // Either separator: Windows paths use backslashes.
  const m = /(?:^|[/\\])date=(\d{4}-\d{2}-\d{2})[/\\]symbol=([^/\\]+)[/\\]kind=([a-z0-9_]+)[/\\]?$/.exec(dir);
  return m === null ? null : { date: m[1]!, symbol: m[2]!, kind: m[3]! };
}

export class FileOpError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? "EIO";

/**
 * Writes `bytes` as `dir/<name>.partial` (exclusive create), fsyncs, renames to `dir/<name>`, and
 * fsyncs the directory so the rename survives a power cut. `nextName` is asked again whenever a
 * name is taken: an existing file is never overwritten. On failure the partial file is removed
 * and a FileOpError carries the errno code and the path involved.
 */
export function commitFile(dir: string, bytes: FileBytes, nextName: () => string): string {
  const s = stagePartial(dir, bytes, nextName, true);
  publishPartial(s);
  syncDir(dir);
  return s.final;
}

/** A part written as `.partial`, not yet renamed. */
export interface StagedFile {
  readonly dir: string;
  readonly partial: string;
  readonly final: string;
}

/**
 * A file's content: one array, consecutive pieces written with writev (never joined in memory), or
 * a function that writes it to the open file itself (a merge copying its parts' bytes through).
 */
export type FileBytes = Uint8Array | readonly Uint8Array[] | ((fd: number) => void);

/** Most iovecs one writev takes (IOV_MAX on Linux). */
const IOV_MAX = 1024;

/** Writes all of `bytes` at the file's position (a short write goes on where it stopped); returns their length. */
export function writeBytes(fd: number, bytes: Uint8Array): number {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
  return bytes.length;
}

/**
 * Reads `length` bytes at file offset `position` into `into` from `at`, going on after short reads;
 * returns how many it got: fewer only where the file ends (the caller says what that means).
 */
export function readBytesAt(fd: number, into: Uint8Array, at: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const got = readSync(fd, into, at + done, length - done, position + done);
    if (got <= 0) break;
    done += got;
  }
  return done;
}

function writeAll(fd: number, bytes: FileBytes): void {
  if (typeof bytes === "function") {
    bytes(fd);
    return;
  }
  if (bytes instanceof Uint8Array) {
    writeBytes(fd, bytes);
    return;
  }
  for (let i = 0; i < bytes.length; i += IOV_MAX) {
    const batch = bytes.slice(i, i + IOV_MAX);
    let want = 0;
    for (const b of batch) want += b.length;
    const got = writevSync(fd, batch as Uint8Array[]);
    // A short write (rare on regular files): the rest piece by piece.
    if (got < want) {
      let skip = got;
      for (const b of batch) {
        if (skip >= b.length) {
          skip -= b.length;
          continue;
        }
        for (let off = skip; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
        skip = 0;
      }
    }
  }
}

/** Writes `bytes` as `dir/<name>.partial` (exclusive create), fsynced when `sync`; the partial is removed on failure. */
export function stagePartial(dir: string, bytes: FileBytes, nextName: () => string, sync: boolean): StagedFile {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new FileOpError(errCode(e), `cannot create ${dir}: ${(e as Error).message}`, dir);
  }
  for (let attempt = 0; ; attempt++) {
    const final = join(dir, nextName());
    const partial = final + PARTIAL_SUFFIX;
    if (existsSync(final)) continue;
    let fd: number;
    try {
      fd = openSync(partial, "wx");
    } catch (e) {
      if (errCode(e) === "EEXIST" && attempt < 1000) continue;
      throw new FileOpError(errCode(e), `cannot create ${partial}: ${(e as Error).message}`, partial);
    }
    try {
      writeAll(fd, bytes);
      if (sync) fsyncSync(fd);
      closeSync(fd);
    } catch (e) {
      safeClose(fd);
      safeUnlink(partial);
      throw new FileOpError(errCode(e), `cannot write ${partial}: ${(e as Error).message}`, partial);
    }
    return { dir, partial, final };
  }
}

/** Renames a staged part to its final name (its content must be durable first); the partial is removed on failure. */
export function publishPartial(s: StagedFile): void {
  try {
    // rename(2) replaces silently; the existsSync in stagePartial plus the per-process run tag in
    // the name are what keep an existing file from being overwritten.
    renameSync(s.partial, s.final);
  } catch (e) {
    safeUnlink(s.partial);
    throw new FileOpError(errCode(e), `cannot commit ${s.final}: ${(e as Error).message}`, s.final);
  }
}

/**
 * Group commit of parts under one root (a burst: every rotation and the shutdown with many symbols):
 * each part is staged without a sync, one syncfs makes all of them durable, they are renamed, and one
 * more syncfs makes the renames durable — the guarantee of commitFile (a reader never sees a part
 * that is not complete and on disk) for two syncs instead of two per file. Without syncfs the parts
 * are fsynced one by one. Outcomes in input order; a part that fails is reported alone.
 */
export function commitFiles(root: string, items: readonly { readonly dir: string; readonly bytes: FileBytes; readonly nextName: () => string }[]): (string | FileOpError)[] {
  const staged: (StagedFile | FileOpError)[] = items.map((it) => {
    try {
      return stagePartial(it.dir, it.bytes, it.nextName, false);
    } catch (e) {
      return e instanceof FileOpError ? e : new FileOpError(errCode(e), String((e as Error)?.message ?? e), it.dir);
    }
  });
  const ok = (x: StagedFile | FileOpError): x is StagedFile => !(x instanceof FileOpError);
  const grouped = syncRoot(root);
  const out: (string | FileOpError)[] = staged.map((s) => {
    if (!ok(s)) return s;
    try {
      if (!grouped) fsyncPath(s.partial);
      publishPartial(s);
      return s.final;
    } catch (e) {
      safeUnlink(s.partial);
      return e instanceof FileOpError ? e : new FileOpError(errCode(e), `cannot write ${s.partial}: ${(e as Error).message}`, s.partial);
    }
  });
  if (!(grouped && syncRoot(root))) for (const dir of new Set(staged.filter(ok).map((s) => s.dir))) syncDir(dir);
  return out;
}

/** syncfs of the file system holding `root`; false when not possible. */
function syncRoot(root: string): boolean {
  let fd: number;
  try {
    fd = openSync(root, "r");
  } catch {
    return false;
  }
  try {
    return syncFileSystem(fd);
  } finally {
    safeClose(fd);
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a folder, so renames in it survive a power cut. */
export function syncDir(dir: string): void {
  // Some filesystems refuse fsync on a directory; the file itself is already durable then.
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {}
}

function safeClose(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}
