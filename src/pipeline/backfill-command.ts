/**
 * `harvestd backfill --from DATE --to DATE [--symbols A,B]`: fills the holes of a past range over REST
 * (docs/feed.md, "harvestd backfill"). Per symbol:
 *
 * 1. every stored trade id is read back from the NDJSON raw log (hour files and earlier backfill files
 *    of the range, plus the day before and after, where the trades around a hole at the range's edge
 *    are); a hole is a run of ids missing between two stored trades, touching the range (trades the
 *    live run recorded as a `gap` are holes too: REST may serve them now);
 * 2. each hole is fetched in id order through the live feed's REST path (weight budget, 429/418 pauses);
 * 3. what comes back is written as `backfill` lines (ids REST does not serve: `gap` lines) into
 *    `date=D/symbol=S/backfill-<time>.ndjson` beside the hours of the hole, after a `session` line, and
 *    compressed like the hour files; its trades become prices rows (`backfilled = true`) through an
 *    engine of their own, into the same Parquet tree, whose touched hours are compacted again.
 *
 * `harvestd replay` applies a backfill file the same way (replay-share.ts), so a later replay and
 * compaction include the recovered trades. Holes whose later trade is younger than twice
 * `feed.backfill_max_hold_sec` are left to a live collector, which may be fetching them right now.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config } from "../config/schema.ts";
import { backfillLine, gapLine, sessionLine } from "../core/raw-log.ts";
import { checkRequest } from "../report/command.ts";
import { compressFile } from "../sinks/ndjson/compress.ts";
import { dateFolders, findHoles, givenUpBefore, pastBackfillPath, storedTradeIds, tradeFiles, type TradeHole } from "./stored-trades.ts";
import { listNames } from "../util/list-names.ts";
import { versionInfo } from "../util/version.ts";
import { Pipeline } from "./pipeline.ts";
import { tradeRecovery } from "./venue.ts";

const DAY_MS = 86_400_000;

export interface BackfillRequest {
  readonly from: string;
  readonly to: string;
  readonly symbols: readonly string[] | null;
}

/** A problem with the request (usage), or null: the report's rule for a range of UTC dates, inclusive. */
export function checkBackfillRequest(from: string | null, to: string | null): string | null {
  return checkRequest(from, to)?.replace(/\breport\b/, "backfill") ?? null;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface SymbolResult {
  holes: number;
  recovered: number;
  notServed: number;
}

export async function runBackfill(cfg: Config, req: BackfillRequest): Promise<number> {
  const fromMs = Date.parse(`${req.from}T00:00:00Z`);
  const toMs = Date.parse(`${req.to}T00:00:00Z`) + DAY_MS;
  const dir = cfg.storage.ndjson_dir;
  // Receipt dates to read: the range, and a day either side for the trades around its edge holes.
  const dates: string[] = [];
  for (let t = fromMs - DAY_MS; t <= toMs; t += DAY_MS) dates.push(dayOf(t));
  const symbols = req.symbols ?? symbolsIn(dir, dates);
  if (symbols.length === 0) {
    process.stdout.write(`backfill: no raw-log files under ${dir} for ${req.from} .. ${req.to}\n`);
    return 0;
  }

  let sinkFailure: string | null = null;
  const pipeline = new Pipeline(cfg, { kind: "replay", out: { outputDir: cfg.storage.output_dir, previewDir: cfg.storage.preview_dir } }, {
    parquetError: (err) => {
      if (err.outcome !== "held") sinkFailure = err.message;
      process.stderr.write(`harvestd: backfill: parquet write ${err.outcome === "held" ? "failed, retrying" : "failed"}: ${err.message}\n`);
    },
    parquetMaintenance: (ev) => {
      if (ev.type === "error") process.stderr.write(`harvestd: backfill: ${ev.what}: ${ev.error.message}\n`);
    },
  });
  const recovery = tradeRecovery(cfg, (t) =>
    process.stderr.write(`harvestd: backfill: the exchange paused REST requests (HTTP ${t.status}: ${t.why}) for ${Math.ceil(t.pauseMs / 1000)} s; waiting\n`),
  );
  const t0 = performance.now();
  let total: SymbolResult = { holes: 0, recovered: 0, notServed: 0 };
  try {
    for (const symbol of symbols) {
      const { ids, ts, givenUp } = await storedTradeIds(tradeFiles(dir, symbol, dates), symbol);
      // A live collector gives a hole up after feed.backfill_max_hold_sec: younger ones may still be its.
      const youngAfterMs = Date.now() - 2 * cfg.feed.backfill_max_hold_sec * 1000;
      const all = findHoles(ids, ts, fromMs, toMs);
      const young = all.filter((h) => h.afterMs >= youngAfterMs);
      // What an earlier run asked for and REST did not serve is not asked again.
      const old = all.filter((h) => h.afterMs < youngAfterMs);
      const holes = old.filter((h) => !givenUpBefore(h, givenUp));
      const r = await fillSymbol(cfg, pipeline, recovery, symbol, holes);
      total = { holes: total.holes + r.holes, recovered: total.recovered + r.recovered, notServed: total.notServed + r.notServed };
      const notes = [
        ...(old.length > holes.length ? [`${old.length - holes.length} holes an earlier backfill found REST does not serve (not asked again)`] : []),
        ...(young.length > 0 ? [`${young.length} holes too recent to touch (a live collector may still fill them; run again after ${new Date(Math.max(...young.map((h) => h.afterMs)) + 2 * cfg.feed.backfill_max_hold_sec * 1000).toISOString().slice(11, 19)} UTC)`] : []),
      ];
      process.stdout.write(`backfill ${symbol}: ${ids.length} stored trades, ${r.holes} holes, ${r.recovered} trades recovered, ${r.notServed} ids not served by REST${notes.map((n) => `; ${n}`).join("")}\n`);
    }
  } finally {
    recovery.close();
    await pipeline.close();
  }
  const st = pipeline.parquet!.status();
  process.stdout.write(
    `backfill ${req.from} .. ${req.to}: ${symbols.length} symbols, ${total.holes} holes, ${total.recovered} trades recovered, ${total.notServed} ids not served by REST ` +
      `(${recovery.counters.requests} REST requests, ${recovery.counters.throttled} throttled) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${st.rowsWritten} prices rows in ${st.filesWritten} files\n`,
  );
  return st.rowsLost > 0 || sinkFailure !== null ? 1 : 0;
}

/** Every `symbol=` folder of the given dates. */
function symbolsIn(dir: string, dates: readonly string[]): string[] {
  const wanted = new Set(dates.map((d) => `date=${d}`));
  const out = new Set<string>();
  for (const d of dateFolders(dir)) {
    if (!wanted.has(d)) continue;
    for (const s of listSymbols(join(dir, d))) out.add(s);
  }
  return [...out].sort();
}

function listSymbols(folder: string): string[] {
  return listNames(folder)
    .filter((n) => n.startsWith("symbol="))
    .map((n) => n.slice(7));
}

/**
 * One symbol's holes, grouped by the UTC date of the trade before each: one backfill file per date,
 * written as the trades arrive (in id order), then compressed.
 */
async function fillSymbol(cfg: Config, pipeline: Pipeline, recovery: ReturnType<typeof tradeRecovery>, symbol: string, holes: readonly TradeHole[]): Promise<SymbolResult> {
  const result: SymbolResult = { holes: holes.length, recovered: 0, notServed: 0 };
  const byDate = new Map<string, TradeHole[]>();
  for (const h of holes) {
    const d = dayOf(h.beforeMs);
    byDate.set(d, [...(byDate.get(d) ?? []), h]);
  }
  for (const [date, group] of byDate) {
    const path = pastBackfillPath(cfg.storage.ndjson_dir, date, symbol, Date.now());
    await mkdir(dirname(path), { recursive: true });
    const engine = pipeline.pastTrades(symbol);
    let lastTs = 0;
    const stamp = () => (lastTs = Math.max(lastTs, Date.now()));
    let buf: string[] = [sessionLine(stamp(), versionInfo().version)];
    const flush = async () => {
      if (buf.length === 0) return;
      const text = buf.join("\n") + "\n";
      buf = [];
      await appendFile(path, text);
    };
    let writes: Promise<void> = Promise.resolve();
    await recovery.fill(symbol, group, {
      trade: (stream, dataText, event) => {
        const ts = stamp();
        buf.push(backfillLine(ts, stream, dataText));
        if (event !== null) engine.onTrade(event, ts, true);
        result.recovered++;
        if (buf.length >= 4096) writes = writes.then(flush);
      },
      missing: (stream, fromId, toId) => {
        buf.push(gapLine(stamp(), stream, fromId, toId));
        result.notServed += toId - fromId + 1;
      },
    });
    engine.finish();
    writes = writes.then(flush);
    await writes;
    if (cfg.storage.ndjson_compress !== "none") await compressFile(path, cfg.storage.ndjson_compress);
  }
  pipeline.parquet?.flush();
  return result;
}
