/**
 * Order-book depth settings, part of the `[feed]` section of config.toml (docs/depth.md). The config
 * composes these keys into `feed`; the depth code never reads config files.
 */
import { z } from "zod";
import type { DepthSyncOptions } from "./depth-sync.ts";
import { SNAPSHOT_WEIGHT } from "./snapshot.ts";

/** Snapshot limits usable for a full book (smaller ones leave too little below the touch). */
export const FULL_SNAPSHOT_LIMITS = [50, 100, 500, 1000] as const;

export const DepthFeedShape = {
  /** "depth5": subscribe `<sym>@depth5@100ms` (top 5 snapshots). "full": keep the whole book from `<sym>@depth@100ms` plus REST snapshots. */
  depth: z.enum(["depth5", "full"]).default("depth5"),
  /** Levels per side written to `book_l2` rows and offered by /orderbook (full mode). */
  full_levels: z.number().int().min(1).max(1000).default(100),
  /** `limit` of the REST snapshot (`/fapi/v1/depth`); weight 20 at 1000. */
  snapshot_limit: z
    .number()
    .int()
    .refine((n) => (FULL_SNAPSHOT_LIMITS as readonly number[]).includes(n), `snapshot_limit must be one of ${FULL_SNAPSHOT_LIMITS.join(", ")}`)
    .default(1000),
  /** Seconds (event time) between `book_l2` snapshots; 0 = none. */
  book_snapshot_sec: z.number().nonnegative().default(10),
  /** Most levels kept per side; levels farthest from the touch are trimmed beyond it. */
  book_max_levels: z.number().int().min(100).max(100_000).default(5000),
} as const;

export interface DepthFeedParams {
  readonly depth: "depth5" | "full";
  readonly full_levels: number;
  readonly snapshot_limit: number;
  readonly book_snapshot_sec: number;
  readonly book_max_levels: number;
}

/** Cross-key rules, for the composing schema's superRefine. Returns [path key, message] pairs. */
export function depthFeedIssues(p: DepthFeedParams): [keyof DepthFeedParams, string][] {
  const out: [keyof DepthFeedParams, string][] = [];
  if (p.full_levels > p.snapshot_limit) out.push(["full_levels", `full_levels (${p.full_levels}) must not exceed snapshot_limit (${p.snapshot_limit}): deeper levels are never known`]);
  if (p.book_max_levels < p.snapshot_limit) out.push(["book_max_levels", `book_max_levels (${p.book_max_levels}) must be at least snapshot_limit (${p.snapshot_limit})`]);
  return out;
}

/**
 * A side whose exactly known window (ladder.ts) is thinner than this asks for a refresh snapshot
 * (depth-sync.ts): `full_levels`, but at least a quarter of the snapshot (refreshing early leaves
 * time for the answer) and at most half of it (a fresh snapshot must not be thin enough to ask
 * again at once).
 */
export function refreshBelow(p: DepthFeedParams): number {
  return Math.min(Math.floor(p.snapshot_limit / 2), Math.max(p.full_levels, Math.floor(p.snapshot_limit / 4)));
}

/** DepthSync's options from the `[feed]` keys. */
export function depthSyncOptions(p: DepthFeedParams): DepthSyncOptions {
  return { fullLevels: p.full_levels, maxLevels: p.book_max_levels, snapshotEveryMs: p.book_snapshot_sec * 1000, refreshBelow: refreshBelow(p) };
}

export { SNAPSHOT_WEIGHT };
