/**
 * Where a restarted store resumes: the last trade id and book id its own NDJSON log holds per
 * stream. Records are acknowledged only after their line is on disk, so what the stream redelivers
 * after a crash is at most what was written but not yet acknowledged; records at or below these ids
 * are already in the log and are dropped (no duplicates), the rest continue the log (no loss).
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { hourFiles, lineTs } from "../../sinks/nats/log-reader.ts";
import { RecordAddresser } from "../../sinks/nats/record-address.ts";

/** How far back a symbol's log is searched for its last ids (a quiet symbol may not trade for hours). */
const LOOKBACK_MS = 48 * 3_600_000;

export interface LastIds {
  /** `a` of the last trade logged, or null. */
  trade: number | null;
  /** `u` of the last book message logged, or null. */
  depth: number | null;
  /** `ts_recv` of the last line logged (0: none): a new session's lines never go before it. */
  lastTs: number;
}

/** Last logged ids of `symbol`, reading its hour files from the newest back until both are found. */
export async function lastLoggedIds(ndjsonDir: string, exchange: string, symbol: string, nowMs: number): Promise<LastIds> {
  const out: LastIds = { trade: null, depth: null, lastTs: 0 };
  const files = hourFiles(ndjsonDir, symbol, nowMs - LOOKBACK_MS);
  const addr = new RecordAddresser("x", exchange, "x");
  // Files of one hour (compressed part, then plain part) are read together: ids rise through both.
  for (let i = files.length - 1; i >= 0 && (out.trade === null || out.depth === null); i--) {
    const path = files[i]!;
    const raw = createReadStream(path);
    const input = path.endsWith(".gz") ? raw.pipe(createGunzip()) : path.endsWith(".zst") ? raw.pipe(createZstdDecompress()) : raw;
    const found: LastIds = { trade: null, depth: null, lastTs: 0 };
    try {
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        if (!line.endsWith("}")) continue;
        found.lastTs = Math.max(found.lastTs, lineTs(line) ?? 0);
        const a = addr.address(symbol, line);
        if (a.id === null) continue;
        if (a.kind === "aggTrade") found.trade = Math.max(found.trade ?? a.id, a.id);
        else if (a.kind === "depth") found.depth = Math.max(found.depth ?? a.id, a.id);
      }
    } catch {
      // A compressed file cut short: the ids read so far stand.
    } finally {
      input.destroy();
    }
    if (out.trade === null && found.trade !== null) out.trade = found.trade;
    if (out.depth === null && found.depth !== null) out.depth = found.depth;
    if (out.lastTs === 0) out.lastTs = found.lastTs;
  }
  return out;
}
