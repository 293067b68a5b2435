/**
 * `ROOT/.harvestd-staging/`: where compaction builds a partition folder's next content and where
 * retention moves an expired date before deleting it. It sits inside the root so that rename and
 * hard links stay on one filesystem.
 *
 * Its files have no Hive keys in their path, so a DuckDB read with `hive_partitioning = true`
 * that happens to list it during the milliseconds of a swap fails with "Hive partition mismatch"
 * instead of counting rows twice. Nothing in it is ever the only copy of data: a crash leaves
 * debris that the next start removes.
 */
import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { readdir, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";

export const STAGING_DIR = ".harvestd-staging";

/** A lock older than this was left by a crashed process. */
const STALE_LOCK_MS = 15 * 60_000;

export function stagingRoot(root: string): string {
  return join(root, STAGING_DIR);
}

const token = (): string => (crypto.getRandomValues(new Uint32Array(1))[0]! >>> 0).toString(36);

/** Creates a fresh, uniquely named folder under the staging root. */
export function makeStagingDir(root: string, label: string): string {
  mkdirSync(stagingRoot(root), { recursive: true });
  for (;;) {
    const dir = join(stagingRoot(root), `${label}-${token()}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

/**
 * Takes the lock named `name` (an exclusive mkdir, so it also excludes other processes). Returns
 * a release function, or null when someone else holds it.
 */
export function tryLock(root: string, name: string, nowMs = Date.now()): (() => void) | null {
  mkdirSync(stagingRoot(root), { recursive: true });
  const path = join(stagingRoot(root), `lock-${name}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(path);
      return () => removeTree(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let age = 0;
      try {
        age = nowMs - statSync(path).mtimeMs;
      } catch {}
      if (age < STALE_LOCK_MS) return null;
      removeTree(path);
    }
  }
  return null;
}

// ---- removing a folder and what it holds --------------------------------------------------------

/**
 * Bun 1.4.5's Windows runtime under Wine 8 (Debian 12) fails every recursive removal of a folder,
 * `rmSync(dir, { recursive: true })` and `fs.promises.rm` alike, empty or not, with EFAULT ("bad
 * address in system call argument") and nothing removed, while `unlink` of a file and `rmdir` of an
 * empty folder work (measured with the plain runtime and with the release .exe, docs/release.md).
 * Then, and only then, the tree is removed by hand, files first; everywhere else this is `rm -rf`.
 */
const byHand = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === "EFAULT";
const gone = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === "ENOENT";

/** `rmSync(path, { recursive: true, force: true })`, by hand where that fails with EFAULT. */
export function removeTree(path: string, rmTree: (path: string) => void = (p) => rmSync(p, { recursive: true, force: true })): void {
  try {
    rmTree(path);
  } catch (e) {
    if (!byHand(e)) throw e;
    removeTreeByHand(path);
  }
}

/** Unlinks every file under `path` and removes its folders, deepest first; a missing path is no error. */
export function removeTreeByHand(path: string): void {
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch (e) {
    if (gone(e)) return;
    if ((e as NodeJS.ErrnoException).code !== "ENOTDIR") throw e;
    try {
      unlinkSync(path);
    } catch (e2) {
      if (!gone(e2)) throw e2;
    }
    return;
  }
  for (const entry of entries) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) removeTreeByHand(p);
    else
      try {
        unlinkSync(p);
      } catch (e) {
        if (!gone(e)) throw e;
      }
  }
  try {
    rmdirSync(path);
  } catch (e) {
    if (!gone(e)) throw e;
  }
}

/** `fs.promises.rm(path, { recursive: true, force: true })`, by hand where that fails with EFAULT. */
export async function removeTreeAsync(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    if (!byHand(e)) throw e;
    await removeTreeByHandAsync(path);
  }
}

async function removeTreeByHandAsync(path: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (e) {
    if (gone(e)) return;
    if ((e as NodeJS.ErrnoException).code !== "ENOTDIR") throw e;
    await unlink(path).catch((e2) => {
      if (!gone(e2)) throw e2;
    });
    return;
  }
  for (const entry of entries) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) await removeTreeByHandAsync(p);
    else
      await unlink(p).catch((e) => {
        if (!gone(e)) throw e;
      });
  }
  await rmdir(path).catch((e) => {
    if (!gone(e)) throw e;
  });
}
