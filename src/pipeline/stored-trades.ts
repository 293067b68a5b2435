/**
 * aggTrade ids stored in the NDJSON raw log, read back without the engines:
 *
 * - `lastStoredTrades`: per symbol, the last trade the log holds in the `date=` folders of today and
 *   the two days before (UTC); the restart backfill starts after it. Cheap: only the newest hour file
 *   holding a trade is read, a plain file from its end in 64 KiB steps, a compressed one (a closed
 *   hour, `.gz`/`.zst`) streamed once keeping only its last trade.
 * - `storedTradeIds`: every trade id (and trade time) of a symbol's files, for `harvestd backfill`
 *   to find the holes of a past range.
 *
 * A trade is a data line or a `backfill` line the exchange adapter's raw-log decoder reads as a trade
 * the engine accepts (exactly what replay applies). `gap` lines hold no trade: ids a live run
 * recorded as missing are tried again; those an earlier `harvestd backfill` recorded (REST did not
 * serve them) are returned apart, so that a second run does not ask again.
 * Files are the hour files `raw-HH.ndjson[.gz|.zst]` and the files of earlier backfill runs
 * (`backfill-*.ndjson[.gz|.zst]`, see docs/feed.md).
 */
import { createReadStream, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { DAY_MS, dayString } from "../sinks/parquet/columns.ts";
import { listNames } from "../util/list-names.ts";
import { rawLogDecoder, tradeStreamOf } from "./venue.ts";

export interface StoredTrade {
  readonly id: number;
  /** Trade time `T` (else `E`), ms. */
  readonly tsMs: number;
  /** File it was read from. */
  readonly path: string;
}

const HOUR_FILE = /^raw-(\d{2})\.ndjson(\.gz|\.zst)?$/;
const TRADE_FILE = /^(raw-\d{2}|backfill-[^/]*)\.ndjson(\.gz|\.zst)?$/;
const TAIL_STEP = 64 * 1024;

/** `date=` folders under `dir`, newest first. */
export function dateFolders(dir: string): string[] {
  return listNames(dir)
    .filter((n) => /^date=\d{4}-\d{2}-\d{2}$/.test(n))
    .sort()
    .reverse();
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}


const decoder = rawLogDecoder();

/** The trade a raw-log line holds for `symbol`, or null. */
export function tradeOfLine(line: string, symbol: string): { id: number; tsMs: number } | null {
  const d = decoder.decode(line, symbol);
  if (d.type !== "data" || d.event.kind !== "aggTrade") return null;
  const tsMs = d.event.tradeTime ?? d.event.eventTime;
  return tsMs === null ? null : { id: d.event.aggId, tsMs };
}

/** Hour files of one symbol folder, newest first; within an hour the plain file (written after its compressed twin) first. */
function hourFilesNewestFirst(folder: string): string[] {
  const rank = (n: string) => (n.endsWith(".ndjson") ? 0 : 1);
  return listNames(folder)
    .filter((n) => HOUR_FILE.test(n))
    .sort((a, b) => {
      const ha = HOUR_FILE.exec(a)![1]!;
      const hb = HOUR_FILE.exec(b)![1]!;
      return ha !== hb ? (ha < hb ? 1 : -1) : rank(a) - rank(b);
    })
    .map((n) => join(folder, n));
}

/** Last trade of a plain file, read backwards from its end. */
async function lastTradePlain(path: string, symbol: string): Promise<{ id: number; tsMs: number } | null> {
  const fh = await open(path, "r");
  try {
    let end = (await fh.stat()).size;
    // Bytes after the last newline seen so far: the start of a line cut by the read boundary.
    let carry = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - TAIL_STEP);
      const buf = Buffer.alloc(end - start);
      await fh.read(buf, 0, buf.length, start);
      const joined = Buffer.concat([buf, carry]);
      const text = joined.toString("utf8");
      const lines = text.split("\n");
      // The first piece may be a partial line unless the read reached the file's start.
      const first = start === 0 ? 0 : 1;
      for (let i = lines.length - 1; i >= first; i--) {
        const t = tradeOfLine(lines[i]!, symbol);
        if (t !== null) return t;
      }
      carry = start === 0 ? Buffer.alloc(0) : Buffer.from(lines[0]!, "utf8");
      end = start;
    }
    return null;
  } finally {
    await fh.close();
  }
}

function decompressed(path: string): AsyncIterable<Buffer> {
  const raw = createReadStream(path);
  return path.endsWith(".gz") ? raw.pipe(createGunzip()) : path.endsWith(".zst") ? raw.pipe(createZstdDecompress()) : raw;
}

/** Every line of a file (plain or compressed), streamed; a file that cannot be read is named. */
async function* fileLines(path: string): AsyncGenerator<string> {
  let rest = "";
  let n = 0;
  try {
    for await (const chunk of decompressed(path)) {
      const text = rest + (chunk as Buffer).toString("utf8");
      const lines = text.split("\n");
      rest = lines.pop()!;
      n += lines.length;
      yield* lines;
    }
  } catch (e) {
    throw new Error(`${path}: cannot be read after line ${n}: ${(e as Error).message}`);
  }
  if (rest.length > 0) yield rest;
}

/**
 * Last trade of a compressed file: streamed once; only the last lines naming the stream are kept and
 * parsed (newest first), the whole file only if none of those is a valid trade.
 */
async function lastTradeCompressed(path: string, symbol: string): Promise<{ id: number; tsMs: number } | null> {
  const needle = `"${tradeStreamOf(symbol)}"`;
  const recent: string[] = [];
  for await (const line of fileLines(path)) {
    if (!line.includes(needle)) continue;
    recent.push(line);
    if (recent.length > 64) recent.shift();
  }
  for (let i = recent.length - 1; i >= 0; i--) {
    const t = tradeOfLine(recent[i]!, symbol);
    if (t !== null) return t;
  }
  if (recent.length < 64) return null;
  let last: { id: number; tsMs: number } | null = null;
  for await (const line of fileLines(path)) {
    const t = line.includes(needle) ? tradeOfLine(line, symbol) : null;
    if (t !== null) last = t;
  }
  return last;
}

export interface LastTradeOptions {
  /**
   * Calendar days (UTC) looked into: today and the `days - 1` days before it (default 3). A symbol
   * with no trade stored in them starts afresh: no multi-day backfill on start (`harvestd backfill`
   * is for that), however recent the symbol's newest older folder is.
   */
  readonly days?: number;
  /** What "today" is (ms, the wall clock by default; the hour files are named by it too). */
  readonly nowMs?: number;
}

/** `date=` folders `lastStoredTrades` looks into at `nowMs`, newest first: from `days - 1` days before today (UTC) on. */
export function resumeDateFolders(dir: string, nowMs: number, days = 3): string[] {
  const oldest = dayString(Math.floor(nowMs / DAY_MS) - (days - 1));
  // A folder dated after today (written while the clock was ahead) is recent too: it counts.
  return dateFolders(dir).filter((d) => d >= `date=${oldest}`);
}

/**
 * The last stored trade of each symbol: the newest hour file with a trade decides. Only the `date=`
 * folders of today and the days before it (`days`, 3 by default) are looked into; symbols without a
 * trade there are absent.
 */
export async function lastStoredTrades(dir: string, symbols: readonly string[], opts: LastTradeOptions = {}): Promise<Map<string, StoredTrade>> {
  const dates = resumeDateFolders(dir, opts.nowMs ?? Date.now(), opts.days ?? 3);
  const out = new Map<string, StoredTrade>();
  await Promise.all(
    symbols.map(async (symbol) => {
      for (const date of dates) {
        const folder = join(dir, date, `symbol=${symbol}`);
        for (const path of hourFilesNewestFirst(folder)) {
          // Only regular files: opening a named pipe (or a device) for reading would block start-up.
          if (!isFile(path)) continue;
          const t = path.endsWith(".ndjson") ? await lastTradePlain(path, symbol) : await lastTradeCompressed(path, symbol);
          if (t !== null) {
            out.set(symbol, { ...t, path });
            return;
          }
        }
      }
    }),
  );
  return out;
}

/** Every trade file of `symbol` in the given `date=` folders. */
export function tradeFiles(dir: string, symbol: string, dates: readonly string[]): string[] {
  const out: string[] = [];
  for (const date of dates) {
    const folder = join(dir, `date=${date}`, `symbol=${symbol}`);
    for (const n of listNames(folder).sort()) if (TRADE_FILE.test(n)) out.push(join(folder, n));
  }
  return out;
}

/** Ids an earlier `harvestd backfill` asked REST for and did not get (its `gap` lines). */
export interface GivenUp {
  readonly fromId: number;
  readonly toId: number;
}

/**
 * Every trade id (with its time) in `files`, ascending by id, each id once (a plain hour file and its
 * compressed twin may repeat lines); and the ranges earlier backfill runs gave up.
 */
export async function storedTradeIds(files: readonly string[], symbol: string): Promise<{ ids: Float64Array; ts: Float64Array; givenUp: GivenUp[] }> {
  const byId = new Map<number, number>();
  const givenUp: GivenUp[] = [];
  const needle = `"${tradeStreamOf(symbol)}"`;
  for (const path of files) {
    if (!isFile(path)) continue;
    const past = isPastBackfill(path);
    for await (const line of fileLines(path)) {
      if (!line.includes(needle)) continue;
      const t = tradeOfLine(line, symbol);
      if (t !== null) byId.set(t.id, t.tsMs);
      else if (past && line.includes('"event":"gap"')) {
        const g = gapRange(line);
        if (g !== null) givenUp.push(g);
      }
    }
  }
  const ids = Float64Array.from(byId.keys()).sort();
  const ts = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) ts[i] = byId.get(ids[i]!)!;
  return { ids, ts, givenUp };
}

function gapRange(line: string): GivenUp | null {
  try {
    const v = JSON.parse(line) as { from_id?: unknown; to_id?: unknown };
    return typeof v.from_id === "number" && typeof v.to_id === "number" ? { fromId: v.from_id, toId: v.to_id } : null;
  } catch {
    return null;
  }
}

/** Whether every id of `h` lies in one of `ranges`. */
export function givenUpBefore(h: { readonly fromId: number; readonly toId: number }, ranges: readonly GivenUp[]): boolean {
  let next = h.fromId;
  for (const r of [...ranges].sort((a, b) => a.fromId - b.fromId)) {
    if (r.fromId > next) break;
    if (r.toId >= next) next = r.toId + 1;
    if (next > h.toId) return true;
  }
  return false;
}

/** Ids missing between two stored trades: `fromId..toId`, with the trade times around it. */
export interface TradeHole {
  readonly fromId: number;
  readonly toId: number;
  /** Time of the stored trade before and after the hole. */
  readonly beforeMs: number;
  readonly afterMs: number;
}

/**
 * Holes between consecutive stored ids (ascending) that touch `[fromMs, toMs)`: the trade before the
 * hole is earlier than `toMs` and the one after it is not earlier than `fromMs`.
 */
export function findHoles(ids: ArrayLike<number>, ts: ArrayLike<number>, fromMs: number, toMs: number): TradeHole[] {
  const out: TradeHole[] = [];
  for (let i = 1; i < ids.length; i++) {
    const a = ids[i - 1]!;
    const b = ids[i]!;
    if (b <= a + 1) continue;
    if (ts[i - 1]! < toMs && ts[i]! >= fromMs) out.push({ fromId: a + 1, toId: b - 1, beforeMs: ts[i - 1]!, afterMs: ts[i]! });
  }
  return out;
}

/**
 * A file of `harvestd backfill` in a symbol's folder, beside the hour files: `backfill-<stamp>.ndjson`
 * (compressed like the hour files). Its trades fill holes of the past; replay applies them to an
 * engine of their own.
 */
export function isPastBackfill(path: string): boolean {
  return /^backfill-[^/\\]*\.ndjson(\.gz|\.zst)?$/.test(basename(path));
}

/** Where `harvestd backfill` writes the trades it recovers for `symbol` on `date` (YYYY-MM-DD). */
export function pastBackfillPath(dir: string, date: string, symbol: string, nowMs: number): string {
  return join(dir, `date=${date}`, `symbol=${symbol}`, `backfill-${new Date(nowMs).toISOString().replace(/[:.]/g, "-")}.ndjson`);
}
