/**
 * Start-up cleanup of what a crash leaves behind: `*.partial` files (a Parquet part or a compressed
 * NDJSON hour that was being written; no reader looks at them, and their data is in the NDJSON raw
 * log or, for a compression, still in the plain file) and the staging folder of an interrupted
 * compaction or retention (never the only copy of anything, see staging.ts).
 *
 * Must run before this process starts writing, and assumes no other harvestd writes the same tree.
 *
 * It runs before ingest starts, so it must not grow with the history: a crash leaves its `.partial`
 * files in the partitions it was writing, i.e. the newest `date=` folders of each tree, and every
 * earlier start already cleaned the older ones. Only the two newest dates are walked; anything else
 * at the top level (staging, folders without a date) as before. An older leftover (e.g. a crashed
 * replay into the live tree) is never read (readers glob `*.parquet`) and costs only disk space.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PARTIAL_SUFFIX } from "../parquet/files.ts";
import { removeTree, STAGING_DIR } from "./staging.ts";

export interface CleanupReport {
  /** Every path removed. */
  readonly removed: readonly string[];
  /** Paths that could not be removed, with the reason. */
  readonly failed: readonly { readonly path: string; readonly error: string }[];
}

/** Dates walked at start: the newest, and the one before it (a crash can straddle midnight). */
const RECENT_DATES = 2;

/** `date=YYYY-MM-DD` folders at the top of a tree, oldest first (the name sorts as the date). */
function topDates(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^date=\d{4}-\d{2}-\d{2}$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function isEmptyDir(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

export function removeLeftovers(roots: readonly string[]): CleanupReport {
  const removed: string[] = [];
  const failed: { path: string; error: string }[] = [];
  const remove = (path: string, recursive: boolean) => {
    try {
      if (recursive) removeTree(path);
      else rmSync(path, { force: true });
      removed.push(path);
    } catch (e) {
      failed.push({ path, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
  };
  const walk = (dir: string, top: boolean, include: (name: string) => boolean = () => true) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") failed.push({ path: dir, error: code ?? (e as Error).message });
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (top && e.name === STAGING_DIR) {
          // A clean stop leaves the folder itself, empty: nothing of a crash, nothing to report.
          if (isEmptyDir(path)) removeTree(path);
          else remove(path, true);
        } else if (!top || include(e.name)) walk(path, false);
      } else if (e.name.endsWith(PARTIAL_SUFFIX)) {
        remove(path, false);
      }
    }
  };
  for (const root of new Set(roots)) {
    const dates = topDates(root);
    const recent = new Set(dates.slice(-RECENT_DATES));
    walk(root, true, (name) => !dates.includes(name) || recent.has(name));
  }
  return { removed, failed };
}
