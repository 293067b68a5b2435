/**
 * Reads a symbol's NDJSON raw log back from a point in time, for publishing what NATS missed
 * (catch-up). Hour files are visited in time order from the hour of `sinceMs`; a closed hour may be
 * compressed (.gz, .zst), and an hour reopened after a restart may have a compressed part and a plain
 * part (the compressed one is older). Lines before `sinceMs` are skipped; a torn last line (the
 * writer is mid-append) is left for the next round.
 */
import { createReadStream, readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";

const HOUR_MS = 3_600_000;
const HOUR_FILE = /^raw-(\d{2})\.ndjson(\.gz|\.zst)?$/;

/** Hour files of `symbol` at or after the hour of `sinceMs`, oldest first. */
export function hourFiles(dir: string, symbol: string, sinceMs: number): string[] {
  const firstHour = Math.floor(sinceMs / HOUR_MS);
  const found: { hour: number; order: number; path: string }[] = [];
  let dates: string[];
  try {
    dates = readdirSync(dir).filter((d) => d.startsWith("date="));
  } catch {
    return [];
  }
  for (const date of dates) {
    const day = Date.parse(`${date.slice(5)}T00:00:00Z`);
    if (Number.isNaN(day) || day + 24 * HOUR_MS <= firstHour * HOUR_MS) continue;
    const symDir = join(dir, date, `symbol=${symbol}`);
    let names: string[];
    try {
      names = readdirSync(symDir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = HOUR_FILE.exec(name);
      if (m === null) continue;
      const hour = Math.floor(day / HOUR_MS) + Number(m[1]);
      if (hour < firstHour) continue;
      found.push({ hour, order: m[2] === undefined ? 1 : 0, path: join(symDir, name) });
    }
  }
  found.sort((a, b) => a.hour - b.hour || a.order - b.order);
  return found.map((f) => f.path);
}

function open(path: string): Readable {
  const raw = createReadStream(path);
  if (path.endsWith(".gz")) return raw.pipe(createGunzip());
  if (path.endsWith(".zst")) return raw.pipe(createZstdDecompress());
  return raw;
}

const TS = /^\{"ts_recv":(\d+)[,}]/;

/** `ts_recv` of a raw-log line (always its first key), or null. */
export function lineTs(line: string): number | null {
  const m = TS.exec(line);
  return m === null ? null : Number(m[1]);
}

/** Lines of `symbol`'s log with `ts_recv >= sinceMs`, in log order. */
export async function* linesSince(dir: string, symbol: string, sinceMs: number): AsyncGenerator<string> {
  for (const path of hourFiles(dir, symbol, sinceMs)) {
    const input = open(path);
    const rl = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of rl) {
        const ts = lineTs(line);
        // A line without a leading ts_recv is torn (a crash cut it) or still being appended.
        if (ts === null || ts < sinceMs || !line.endsWith("}")) continue;
        yield line;
      }
    } catch (e) {
      // A compressed file whose last member is cut short: what was read stands.
      if ((e as NodeJS.ErrnoException).code !== "Z_BUF_ERROR" && (e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    } finally {
      rl.close();
      input.destroy();
    }
  }
}
