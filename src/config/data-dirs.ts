/**
 * The data folders as the configuration checks them: writable, and apart from each other.
 *
 * Nothing is created here. `validate` is often run by another user than the service (`sudo harvestd
 * validate` runs it as root): a folder made then would belong to that user, and the service's start
 * would fail on it (EACCES). The commands that write make their folders (run and store when they
 * take the lock in each, src/pipeline/tree-lock.ts; the writers as they write).
 */
import { closeSync, openSync, realpathSync, statSync, unlinkSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

export type DataDirCheck = { readonly problem: string } | { readonly problem: null; readonly note: string | null };

/** A folder that exists and takes a file, or one whose nearest existing parent does (it is then created by `run`). */
export function checkDataDir(dir: string): DataDirCheck {
  const found = nearestExisting(dir);
  if ("error" in found) return { problem: `${dir} cannot be examined (${found.error})` };
  if (found.path === dir) {
    if (!found.isDir) return { problem: `${dir} is not a folder` };
    const error = probeWrite(dir);
    return error === null ? { problem: null, note: null } : { problem: `directory ${dir} is not writable (${error})` };
  }
  if (!found.isDir) return { problem: `${dir} cannot be created: ${found.path} is not a folder` };
  const error = probeWrite(found.path);
  if (error !== null) return { problem: `directory ${dir} does not exist and cannot be created: ${found.path} is not writable (${error})` };
  return { problem: null, note: `${dir} does not exist yet; run creates it (${found.path} is writable)` };
}

type Existing = { readonly path: string; readonly isDir: boolean } | { readonly error: string };

function nearestExisting(dir: string): Existing {
  for (let p = resolve(dir); ; p = dirname(p)) {
    try {
      return { path: p, isDir: statSync(p).isDirectory() };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file stands where a parent folder should; the walk up reaches it.
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(p) === p) return { error: code ?? (e as Error).message };
    }
  }
}

/**
 * Writes and removes an empty file in `dir`; null when that worked, else the error code. Not
 * access(2): it says yes to root everywhere, /proc included, and does not see Windows ACLs; the
 * probe leaves nothing behind.
 */
function probeWrite(dir: string): string | null {
  const probe = join(dir, `.harvestd-write-probe-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    closeSync(openSync(probe, "wx"));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  try {
    unlinkSync(probe);
  } catch {}
  return null;
}

/** The folders retention and start-up cleanup work in, each as if it were the only one there. */
export const DATA_ROOTS = ["output_dir", "preview_dir", "ndjson_dir"] as const;
export type DataRoot = (typeof DATA_ROOTS)[number];

export interface RootOverlap {
  /** The key to report: the inner folder, or the later key of two equal ones. */
  readonly key: DataRoot;
  readonly other: DataRoot;
  readonly same: boolean;
}

/**
 * Pairs of data roots that are one folder or one inside the other, compared after resolving links.
 * `output_dir` and `preview_dir` may be one folder: the Parquet writer then keeps one tree of every
 * kind (its roots are deduplicated). `artifacts_dir` is not a root: retention and cleanup never
 * look into it, and nothing of it is named `date=`.
 */
export function overlappingRoots(storage: Readonly<Partial<Record<DataRoot, string>>>): RootOverlap[] {
  const roots = DATA_ROOTS.flatMap((key) => (storage[key] === undefined ? [] : [{ key, real: canonical(storage[key]) }]));
  const out: RootOverlap[] = [];
  for (const [i, a] of roots.entries()) {
    for (const b of roots.slice(i + 1)) {
      if (a.real === b.real) {
        if (a.key !== "output_dir" || b.key !== "preview_dir") out.push({ key: b.key, other: a.key, same: true });
      } else if (inside(b.real, a.real)) out.push({ key: b.key, other: a.key, same: false });
      else if (inside(a.real, b.real)) out.push({ key: a.key, other: b.key, same: false });
    }
  }
  return out;
}

function inside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** `dir` with its existing part's links resolved (a folder need not exist yet to be compared). */
function canonical(dir: string): string {
  const abs = resolve(dir);
  for (let p = abs; ; p = dirname(p)) {
    try {
      return join(realpathSync.native(p), relative(p, abs));
    } catch {
      if (dirname(p) === p) return abs;
    }
  }
}
