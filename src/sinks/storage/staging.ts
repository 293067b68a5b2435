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
import { mkdirSync, rmSync, statSync } from "node:fs";
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
      return () => rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let age = 0;
      try {
        age = nowMs - statSync(path).mtimeMs;
      } catch {}
      if (age < STALE_LOCK_MS) return null;
      rmSync(path, { recursive: true, force: true });
    }
  }
  return null;
}
