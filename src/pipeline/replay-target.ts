/**
 * Where a replay may write. Replay adds rows; it does not replace them. Into a tree that already
 * holds Parquet for a symbol and day it replays, every row of that day would be stored twice (and
 * merged into the hour's file by compaction), so such a tree is refused up front, naming the
 * partitions. Days and symbols the tree does not hold yet may be added.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PlannedFile } from "./replay-files.ts";

const DATE_ORDER = /^(\d{4}-\d{2}-\d{2})\//;
/** Partitions named in the refusal; the rest are counted. */
const NAMED = 3;

/** Why `out` cannot be the folder replay writes into, or null. */
export function outFolderProblem(out: string): string | null {
  if (existsSync(out) && !statSync(out).isDirectory()) return `--out ${out} is not a folder`;
  return null;
}

/**
 * The `date=…/symbol=…` partitions of `outputDir` that already hold Parquet files for what `files`
 * replays: a file of a known day (a `date=` folder) counts for that day; a file outside the Hive
 * layout, for every day of its symbol.
 */
export function occupiedPartitions(outputDir: string, files: readonly PlannedFile[]): string[] {
  if (!existsSync(outputDir)) return [];
  const days = new Map<string, Set<string> | "any">();
  for (const f of files) {
    const day = DATE_ORDER.exec(f.order)?.[1];
    const known = days.get(f.symbol);
    if (day === undefined) days.set(f.symbol, "any");
    else if (known === undefined) days.set(f.symbol, new Set([day]));
    else if (known !== "any") known.add(day);
  }
  const found: string[] = [];
  for (const dateDir of readdirSync(outputDir).filter((n) => n.startsWith("date=")).sort()) {
    for (const [symbol, want] of days) {
      if (want !== "any" && !want.has(dateDir.slice("date=".length))) continue;
      const partition = join(outputDir, dateDir, `symbol=${symbol}`);
      if (holdsParquet(partition)) found.push(join(dateDir, `symbol=${symbol}`));
    }
  }
  return found;
}

/** The refusal's text for `found` (non-empty). */
export function occupiedMessage(outputDir: string, found: readonly string[]): string {
  const named = found.slice(0, NAMED).join(", ");
  const more = found.length > NAMED ? ` and ${found.length - NAMED} more` : "";
  return (
    `replay: ${outputDir} already holds Parquet for ${named}${more}: replaying into it would store those rows a second time. ` +
    `Replay into an empty folder (--out DIR), or remove those partitions first`
  );
}

function holdsParquet(dir: string): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() ? holdsParquet(join(dir, entry.name)) : entry.name.endsWith(".parquet")) return true;
  }
  return false;
}
