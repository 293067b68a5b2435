/**
 * Full-depth books in the operator's log (docs/depth.md): a warn when a symbol's book is dropped
 * (why, and the update ids that showed it) and an info when a snapshot has put it back in sync (how
 * long it was out). A feed that keeps breaking is one line per symbol a minute, with the rest
 * counted in the next one; /api/status keeps every count.
 */
import type { Logger } from "../util/log.ts";
import type { BookSyncEvent } from "./symbol-processor.ts";

const RESYNC_LINES_EVERY_MS = 60_000;

export function bookSyncLog(log: Logger): (symbol: string, e: BookSyncEvent) => void {
  return (symbol, e) => {
    if (e.type === "resync") log.limited(`book-resync:${symbol}`, "warn", "book out of sync; resyncing from a snapshot", { symbol, reason: e.reason, ...e.detail }, RESYNC_LINES_EVERY_MS);
    else if (e.outOfSyncMs !== null) log.limited(`book-synced:${symbol}`, "info", "book in sync again", { symbol, out_of_sync_ms: e.outOfSyncMs }, RESYNC_LINES_EVERY_MS);
  };
}
