/**
 * Start-up cleanup of what a crash leaves behind: `*.partial` files (a Parquet part or a compressed
 * NDJSON hour that was being written; no reader looks at them, and their data is in the NDJSON raw
 * log or, for a compression, still in the plain file) and the staging folder of an interrupted
 * compaction or retention (never the only copy of anything, see staging.ts).
 *
 * Must run before this process starts writing, and assumes no other harvestd writes the same tree.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PARTIAL_SUFFIX } from "../sinks/parquet/files.ts";
import { STAGING_DIR } from "./staging.ts";

export interface CleanupReport {
  /** Every path removed. */
  readonly removed: readonly string[];
  /** Paths that could not be removed, with the reason. */
  readonly failed: readonly { readonly path: string; readonly error: string }[];
}

export function removeLeftovers(roots: readonly string[]): CleanupReport {
  const removed: string[] = [];
  const failed: { path: string; error: string }[] = [];
  const remove = (path: string, recursive: boolean) => {
    try {
      rmSync(path, { recursive, force: true });
      removed.push(path);
    } catch (e) {
      failed.push({ path, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
  };
  const walk = (dir: string, top: boolean) => {
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
        if (top && e.name === STAGING_DIR) remove(path, true);
        else walk(path, false);
      } else if (e.name.endsWith(PARTIAL_SUFFIX)) {
        remove(path, false);
      }
    }
  };
  for (const root of new Set(roots)) walk(root, true);
  return { removed, failed };
}
