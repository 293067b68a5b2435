/**
 * Parquet of a `harvestd run` or `harvestd store` that was killed (SIGKILL, power loss, OOM, a
 * shutdown past its deadline) is made whole at its next start, so the Parquet always equals a replay
 * of the NDJSON log (docs/storage.md, "Crash recovery"; docs/scale-out.md, "The store").
 *
 * The log is the record: every line the interrupted run applied is in it (Parquet rows are written
 * only after their lines), but the rows still in the Parquet writer's buffers died with the process,
 * and the engines never emitted what end of input emits. A run marker per command
 * (ARTIFACTS_DIR/collector-run.json, store-run.json) holds the run's start, each symbol's session line
 * (`ts_recv`) and, per partition, the last hour its writer compacted; a clean stop marks it clean.
 * When the next start finds it not clean, before any writer starts:
 *
 *  1. the interrupted run's Parquet part files of hours it had not compacted (modified at or after
 *     its start) are deleted — its compacted hours were complete when compacted;
 *  2. each symbol's log lines of that run's session are applied again to a fresh processor (built-in
 *     engine, full-depth book when the session's lines are diffs — whatever feed.depth says now —,
 *     custom indicators), and its rows — those of the hours deleted in 1 — are written;
 *     the processor is then finished, exactly as replay finishes it at the next `session` line.
 *
 * Only the interrupted session's lines are read (up to the next `session` line), so the trades a
 * restarted collector backfills over REST — lines of the new session — are never recovered twice.
 */
import { readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { SymbolEngine } from "../calc/symbol-engine.ts";
import { indicatorParams } from "../calc/params.ts";
import type { Config } from "../config/schema.ts";
import type { RawLogDecoder } from "../core/feed.ts";
import { RAW_KINDS, type Row, type RowSink, type SinkKind } from "../core/rows.ts";
import type { CustomIndicators } from "../indicators/custom-indicators.ts";
import { partMinTs } from "../sinks/parquet/files.ts";
import { linesSince } from "../sinks/nats/log-reader.ts";
import { logStorageEvent } from "../sinks/storage/events-log.ts";
import { stagingRoot } from "../sinks/storage/staging.ts";
import { listNames } from "../util/list-names.ts";
import type { Logger } from "../util/log.ts";
import { applyDecoded } from "./apply.ts";
import { Pipeline } from "./pipeline.ts";
import { SymbolProcessor } from "./symbol-processor.ts";
import { depthSyncOptions } from "./venue.ts";
import { SessionDepthMode, type DepthMode } from "./session-depth.ts";

const HOUR_MS = 3_600_000;
/** The rebuild waits for room in the writer every this many lines applied (replay: once per ≈ 1 MiB block, a few thousand lines). */
const ROOM_EVERY_LINES = 4096;

export interface RunMarker {
  /** Wall-clock start of the run: files it wrote are modified at or after it. */
  readonly run_start: number;
  /** `ts_recv` of each symbol's session line this run wrote (a symbol's session starts with its first record). */
  readonly sessions: Record<string, number>;
  clean: boolean;
  /** `KIND/SYMBOL` → last hour (epoch hours) the run's writer compacted. */
  readonly compacted: Record<string, number>;
}

/** The marker of a command's runs: `collector-run` (`harvestd run`) or `store-run` (`harvestd store`). */
export type MarkerName = "collector-run" | "store-run";

export function markerPath(cfg: Config, name: MarkerName): string {
  return join(cfg.storage.artifacts_dir, `${name}.json`);
}

export function readMarker(path: string): RunMarker | null {
  try {
    const m = JSON.parse(readFileSync(path, "utf8")) as RunMarker;
    return typeof m.run_start === "number" && typeof m.clean === "boolean" ? { ...m, sessions: m.sessions ?? {}, compacted: m.compacted ?? {} } : null;
  } catch {
    return null;
  }
}

export function writeMarker(path: string, m: RunMarker): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  writeFileSync(tmp, JSON.stringify(m));
  renameSync(tmp, path);
}

/** Records a compaction the writer reported (path of the merged file) in the marker. */
export function noteCompaction(m: RunMarker, mergedPath: string): boolean {
  const k = /kind=([a-z0-9_]+)/.exec(mergedPath)?.[1];
  const s = /symbol=([^/]+)/.exec(mergedPath)?.[1];
  const ts = partMinTs(mergedPath.slice(mergedPath.lastIndexOf("/") + 1));
  if (k === undefined || s === undefined || ts === null) return false;
  const key = `${k}/${s}`;
  const h = Math.floor(ts / HOUR_MS);
  if ((m.compacted[key] ?? -1) >= h) return false;
  m.compacted[key] = h;
  return true;
}

/**
 * Kinds the pipeline's taps write (paper trading, the model filter, testnet trading), not the
 * engines: recovery does not re-derive them, so their part files are kept (the rows a kill cost
 * them stay lost; docs/storage.md, "Crash recovery").
 */
const TAP_KINDS: ReadonlySet<string> = new Set(["paper", "model_decisions", "orders", "fills"]);

const rootOf = (cfg: Config, kind: string): string => ((RAW_KINDS as readonly string[]).includes(kind) ? cfg.storage.output_dir : cfg.storage.preview_dir);

/** Step 1: deletes the interrupted run's part files of hours it had not compacted. Returns how many. */
export function removeInterruptedParts(cfg: Config, m: RunMarker): number {
  let removed = 0;
  for (const root of new Set([cfg.storage.output_dir, cfg.storage.preview_dir])) {
    for (const date of listNames(root).filter((d) => d.startsWith("date="))) {
      for (const sym of listNames(join(root, date)).filter((d) => d.startsWith("symbol="))) {
        for (const kindDir of listNames(join(root, date, sym)).filter((d) => d.startsWith("kind="))) {
          const key = `${kindDir.slice(5)}/${sym.slice(7)}`;
          if (rootOf(cfg, kindDir.slice(5)) !== root || TAP_KINDS.has(kindDir.slice(5))) continue;
          const dir = join(root, date, sym, kindDir);
          for (const name of listNames(dir)) {
            const ts = partMinTs(name);
            if (ts === null || Math.floor(ts / HOUR_MS) <= (m.compacted[key] ?? -Infinity)) continue;
            const path = join(dir, name);
            if (statSync(path).mtimeMs < m.run_start) continue;
            rmSync(path, { force: true });
            removed++;
          }
        }
      }
    }
  }
  return removed;
}


/** Passes on rows of hours the interrupted run had not compacted. */
class UncompactedRows implements RowSink {
  constructor(
    private readonly out: RowSink,
    private readonly symbol: string,
    private readonly compacted: Readonly<Record<string, number>>,
  ) {}

  append(kind: SinkKind, row: Row): void {
    const last = this.compacted[`${kind}/${this.symbol}`];
    const ts = (row as { ts_ms?: unknown }).ts_ms;
    if (last !== undefined && typeof ts === "number" && Math.floor(ts / HOUR_MS) <= last) return;
    this.out.append(kind, row);
  }
}

/**
 * Step 2: re-derives the rows of the interrupted session of `symbol` from its log into `rows`, with
 * the custom indicators configured now (the same modules as then, unless they were changed in
 * between). Returns the number of lines applied.
 */
export async function recoverSymbol(
  cfg: Config,
  decoder: RawLogDecoder,
  symbol: string,
  m: RunMarker,
  rows: RowSink,
  custom: CustomIndicators | null = null,
  log?: Logger,
  room?: () => Promise<void>,
): Promise<number> {
  const start = m.sessions[symbol];
  if (start === undefined) return 0;
  const out = new UncompactedRows(rows, symbol, m.compacted);
  // The book mode is the one the session's own lines show (session-depth.ts), not the restarting
  // configuration's: a restart may have changed feed.depth. Full depth: the log holds diffs and
  // snapshots, which the book turns into what the engine sees.
  const modes = new SessionDepthMode(cfg.feed.depth);
  const processorOf = (mode: DepthMode): SymbolProcessor => {
    const fullDepth = mode === "full" && cfg.feed.enable_orderbook ? { options: depthSyncOptions(cfg.feed), rows: out, requestSnapshot: () => {}, onSync: () => {} } : null;
    return new SymbolProcessor(symbol, new SymbolEngine(symbol, indicatorParams(cfg), out), custom === null ? [] : [custom.host(symbol, out, log)], fullDepth);
  };
  let processor: SymbolProcessor | null = null;
  let applied = 0;
  const start_ = (): SymbolProcessor => {
    if (modes.mode !== cfg.feed.depth) log?.log("info", "rebuilt with the book mode its log was recorded with", { symbol, depth: modes.mode, configured: cfg.feed.depth });
    const proc = processorOf(modes.mode!);
    for (const held of modes.takeHeld()) if (applyDecoded(proc, decoder.decode(held, symbol))) applied++;
    return proc;
  };
  let sessions = 0;
  for await (const line of linesSince(cfg.storage.ndjson_dir, symbol, start)) {
    const d = decoder.decode(line, symbol);
    if (d.type === "session") {
      // The interrupted run's session line opens its lines (the previous run's last lines may
      // carry the same time); a later one would be a newer run's.
      if (sessions > 0 || d.tsRecv !== start) break;
      sessions++;
      continue;
    }
    if (sessions === 0 || d.type === "skip" || d.type === "bad") continue;
    if (processor === null) {
      // Held until a line tells the session's book mode.
      if (modes.hold(line) !== null) processor = start_();
    } else if (applyDecoded(processor, d)) {
      // As replay does: the writer's backlog bounds what a long session's rebuild holds.
      if (++applied % ROOM_EVERY_LINES === 0) await room?.();
    }
  }
  if (processor === null && modes.release() !== null) processor = start_();
  (processor ?? processorOf(cfg.feed.depth)).finish();
  return applied;
}

/**
 * The logger of the start-up rebuild: every line it writes carries `"phase":"rebuild"` (a custom
 * indicator failing again on the interrupted run's lines would otherwise read as a live error of the
 * new run, before its `starting` line), and is rate-limited apart from the live run's lines of the
 * same kind, so the first live line of a kind is never held back by the rebuild's.
 */
export function rebuildLogger(log: Logger): Logger {
  const mark = (fields?: Readonly<Record<string, unknown>>) => ({ ...fields, phase: "rebuild" });
  return {
    log: (level, msg, fields) => log.log(level, msg, mark(fields)),
    limited: (key, level, msg, fields, intervalMs) => log.limited(`rebuild:${key}`, level, msg, mark(fields), intervalMs),
  };
}

/**
 * At start, before any writer of the new run exists: if the previous run of this command was not
 * stopped cleanly, its Parquet is made whole from its log (steps 1 and 2). Returns the new run's
 * marker, already on disk in place of the old one: its start is after every recovered file, which it
 * therefore never counts as its own, and a crash before the new run's first session line does not
 * recover the old run a second time (its recovery compacted hours that also hold earlier runs' rows).
 */
export async function recoverPreviousRun(
  cfg: Config,
  name: MarkerName,
  decoder: RawLogDecoder,
  custom: CustomIndicators | null,
  log: Logger,
): Promise<RunMarker> {
  const previous = readMarker(markerPath(cfg, name));
  // A run that ended before any session began (refused at start: a key, NATS, the HTTP port) wrote
  // nothing to rebuild, and was no crash worth a warning.
  if (previous !== null && !previous.clean && Object.keys(previous.sessions).length > 0) {
    const t0 = Date.now();
    const removed = removeInterruptedParts(cfg, previous);
    // Its lines (a custom indicator's errors replayed, a write error) are the rebuild's, not the live run's.
    const rlog = rebuildLogger(log);
    // A replay-mode pipeline writes into the configured folders and is closed (everything on disk,
    // every hour it wrote compacted) before the live pipeline starts.
    const out = new Pipeline(cfg, { kind: "replay", out: { outputDir: cfg.storage.output_dir, previewDir: cfg.storage.preview_dir } }, {
      parquetError: (err) => rlog.limited(`parquet:${err.kind}`, "error", "parquet write failed (recovery)", { ...err }),
      parquetMaintenance: (ev) => logStorageEvent(rlog, "parquet", ev),
    });
    // Straight to the writer, past the pipeline's taps: paper trading's rows are not recovered
    // (docs/storage.md, "Crash recovery").
    const sink = out.parquet!;
    let lines = 0;
    // Every symbol of the killed run, also one no longer configured: its part files were deleted in step 1.
    // Waits for the writer like replay, but not while its writes are held (a failing disk).
    const room = (): Promise<void> => sink.waitForRoomUnlessHeld(cfg.storage.max_buffer_mb * 1024 * 1024);
    for (const s of Object.keys(previous.sessions)) lines += await recoverSymbol(cfg, decoder, s, previous, sink, custom, rlog, room);
    await out.close();
    // Its compactions leave the staging folder behind, empty: not debris of a crash for the next start to report.
    for (const root of new Set([cfg.storage.output_dir, cfg.storage.preview_dir])) {
      try {
        rmdirSync(stagingRoot(root));
      } catch {}
    }
    const st = sink.status();
    log.log("warn", "previous run was interrupted; its Parquet was rebuilt from its NDJSON log", {
      marker: name,
      run_started: new Date(previous.run_start).toISOString(),
      part_files_replaced: removed,
      lines_replayed: lines,
      rows_written: st.rowsWritten,
      rows_lost: st.rowsLost,
      ms: Date.now() - t0,
    });
  }
  const next: RunMarker = { run_start: Date.now(), sessions: {}, clean: false, compacted: {} };
  try {
    writeMarker(markerPath(cfg, name), next);
  } catch (e) {
    log.log("warn", "cannot write the run marker: a crash of this run would not be recovered at the next start", { path: markerPath(cfg, name), error: (e as Error).message });
  }
  return next;
}
