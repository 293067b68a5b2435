/**
 * Retention: `date=YYYY-MM-DD` partitions whose whole day ended more than `days` days ago are
 * deleted (Parquet roots and the NDJSON folder each with their own setting). A partition first
 * moves into the staging folder in one rename, so a reader sees a whole day or none of it, then
 * is deleted there.
 */
import { readdirSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { DAY_MS } from "../parquet/columns.ts";
import { makeStagingDir, removeTreeAsync } from "./staging.ts";

const DATE_DIR = /^date=(\d{4})-(\d{2})-(\d{2})$/;

/** Names of the `date=` folders under `root` that retention of `days` days removes at `nowMs`. */
export function expiredDateDirs(root: string, nowMs: number, days: number): string[] {
  if (!(days > 0)) return [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const today = Math.floor(nowMs / DAY_MS);
  return names
    .filter((n) => {
      const m = DATE_DIR.exec(n);
      if (m === null) return false;
      const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
      // Kept: today and the `days` days before it, so at least days × 24 h of data stay.
      return day < today - days;
    })
    .sort();
}

/** Moves `root/name` out of readers' sight in one rename, then deletes it. Returns its old path. */
export async function removeDateDir(root: string, name: string): Promise<string> {
  const path = join(root, name);
  const stage = makeStagingDir(root, "expired");
  await mkdir(stage, { recursive: true });
  await rename(path, join(stage, name));
  await removeTreeAsync(stage);
  return path;
}

/** Applies retention to one root; returns the removed partitions. Errors are thrown to the caller. */
export async function applyRetention(root: string, nowMs: number, days: number): Promise<string[]> {
  const removed: string[] = [];
  for (const name of expiredDateDirs(root, nowMs, days)) removed.push(await removeDateDir(root, name));
  return removed;
}
