/**
 * How storage maintenance shows up in the run log: one line per compaction, expiry or recovery,
 * rate-limited lines for repeating problems.
 */
import type { Logger } from "../../util/log.ts";

export type StorageEvent =
  | { readonly type: "compacted"; readonly path: string; readonly files: number; readonly rows: number; readonly bytes: number; readonly ms: number }
  | { readonly type: "compressed" | "expired"; readonly path: string }
  /** Writing works again after failures; `what` says what was held. */
  | { readonly type: "resumed"; readonly what: string }
  | { readonly type: "error"; readonly what: string; readonly error: { readonly code: string; readonly message: string; readonly path: string } };

export function logStorageEvent(log: Logger, writer: "parquet" | "ndjson", ev: StorageEvent): void {
  switch (ev.type) {
    case "error":
      log.limited(`${writer}:${ev.what}`, "warn", `${writer} ${ev.what} problem`, { ...ev.error });
      break;
    case "resumed":
      log.limited(`${writer}:resumed`, "info", `${writer} writes resumed`, { what: ev.what });
      break;
    case "compressed":
      log.limited(`${writer}:compressed`, "info", `${writer} hour file compressed`, { path: ev.path }, 60_000);
      break;
    case "compacted":
      // One line per partition-hour would be thousands an hour with SYMBOLS=ALL: at most one a
      // minute, with the count of the others.
      log.limited(`${writer}:compacted`, "info", `${writer} compacted`, { ...ev }, 60_000);
      break;
    default:
      log.log("info", `${writer} ${ev.type}`, { ...ev });
  }
}
