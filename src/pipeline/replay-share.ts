/**
 * The per-symbol replay path of the inline run and of every replay worker: planned raw-log files
 * decoded by the exchange adapter and applied through the pipeline's one apply path, so the rows
 * equal what the live run wrote (docs/storage.md, "Replay").
 */
import type { Config } from "../config/schema.ts";
import { compressedEndsWith } from "../sinks/ndjson/compress.ts";
import { loadCustomIndicators } from "../indicators/custom-indicators.ts";
import { createLogger } from "../util/log.ts";
import type { MaintenanceEvent, ParquetSinkError } from "../sinks/parquet/sink-types.ts";
import { applyDecoded } from "./apply.ts";
import { Pipeline } from "./pipeline.ts";
import { LineCursor, openTextBlocks, readStopped, type PlannedFile } from "./replay-files.ts";
import { rawLogDecoder } from "./venue.ts";
import { SessionDepthMode } from "./session-depth.ts";
import { basename } from "node:path";
import type { SymbolStage } from "../core/stage.ts";
import { isPastBackfill } from "./stored-trades.ts";
import { linesLostOf, type LinesLost } from "../core/raw-log.ts";

export interface ReplaySummary {
  files: number;
  lines: number;
  applied: number;
  badLines: number;
  truncatedFiles: string[];
  /** Lines the live run could not write to the log, as its `lines_lost` lines say (docs/storage.md). */
  linesLost: number;
  /** Files holding such lines (each counted once). */
  lossFiles: string[];
  symbols: number;
  elapsedMs: number;
}

export interface ReplayHooks {
  /** Awaited every block of lines (≈ 1 MiB): lets a sink that has fallen behind catch up (replay may wait). */
  readonly backpressure?: () => Promise<void>;
  /** A symbol's input is complete: its buffered rows can go to the writer. */
  readonly symbolDone?: () => void;
}

/** Replays planned files in their order: the one per-symbol path of the inline run and of every replay worker. */
export async function replayPlanned(
  files: readonly PlannedFile[],
  pipeline: Pipeline,
  warn: (msg: string) => void,
  hooks: ReplayHooks = {},
): Promise<ReplaySummary> {
  const backpressure = hooks.backpressure ?? (async () => {});
  const t0 = performance.now();
  const decoder = rawLogDecoder();
  const lines = new LineCursor();
  const summary: ReplaySummary = { files: 0, lines: 0, applied: 0, badLines: 0, truncatedFiles: [], linesLost: 0, lossFiles: [], symbols: 0, elapsedMs: 0 };
  const seen = new Set<string>();
  let current: string | null = null;
  // Each session's book mode, told by its own lines (session-depth.ts); its lines wait until then.
  let modes = new SessionDepthMode(pipeline.depthMode);
  /** Where the current session's `session` line is; null before the first. */
  let sessionAt: string | null = null;
  let p: SymbolStage | null = null;
  /** The mode is known (modes.mode): a fresh processor of it for `symbol`, and the lines held for it applied in order. */
  const startProcessor = (symbol: string, where: string, restarted: boolean) => {
    const note = modes.note(symbol, where, restarted);
    if (note !== null) warn(note);
    const proc = pipeline.processor(symbol, modes.mode!);
    p = proc;
    for (const held of modes.takeHeld()) if (applyDecoded(proc, decoder.decode(held, symbol))) summary.applied++;
  };
  /** Lines still held at the end of a session or of the input: applied with the mode of the session before. */
  const releaseHeld = (symbol: string) => {
    if (modes.release() !== null) startProcessor(symbol, sessionAt ?? symbol, sessionAt !== null);
  };
  // What the live process did when its input for a symbol ended (engine, stages, then paper positions).
  const endSymbol = (symbol: string) => {
    releaseHeld(symbol);
    pipeline.finish(symbol);
    hooks.symbolDone?.();
  };

  for (const f of files) {
    const symbol = f.symbol;
    if (current === null || f.startsRun || current !== symbol) {
      // Files are sorted per symbol, so a symbol's input has ended once the next one starts.
      if (current !== null) endSymbol(current);
      seen.add(symbol);
      current = symbol;
      modes = new SessionDepthMode(pipeline.depthMode);
      sessionAt = null;
      p = null;
    }
    if (f.compressedTwin !== undefined && (await compressedEndsWith(f.compressedTwin, f.path, f.compressedTwin.endsWith(".gz") ? "gzip" : "zstd"))) {
      warn(`${f.path}: its lines are already in ${basename(f.compressedTwin)} (a compression cut short), skipped`);
      continue;
    }
    summary.files++;
    // A file of `harvestd backfill`: trades recovered later for a hole of this symbol's past, applied to
    // an engine of their own (prices only); the symbol's own processor goes on untouched after it.
    const past = isPastBackfill(f.path) ? pipeline.pastTrades(symbol) : null;
    let lineNo = 0;
    let pendingBad: { line: number; reason: string } | null = null;
    try {
      for await (const block of openTextBlocks(f.path)) {
        // Once per block (≈ 1 MiB, a few thousand lines): lets a writer that has fallen behind catch up.
        await backpressure();
        lines.reset(block);
        for (let line = lines.next(); line !== null; line = lines.next()) {
          lineNo++;
          if (pendingBad !== null) {
            // A bad line followed by more lines is corruption, not truncation.
            summary.badLines++;
            warn(`${f.path}:${pendingBad.line}: ${pendingBad.reason}`);
            pendingBad = null;
          }
          if (line.length === 0) continue;
          summary.lines++;
          const d = decoder.decode(line, symbol);
          if (d.type === "bad") {
            pendingBad = { line: lineNo, reason: d.reason };
          } else if (d.type === "session") {
            // A restart of the live process: its engines (and paper trader) started from scratch here,
            // with the book mode the lines after this one show.
            if (past !== null) continue;
            releaseHeld(symbol);
            if (pipeline.symbols.has(symbol)) endSymbol(symbol);
            modes.newSession();
            sessionAt = `${f.path}:${lineNo}`;
            p = null;
          } else if (d.type === "skip") {
            // Skipped lines are few (other symbols' lines, unknown events): only they can tell of lost lines.
            const lost = linesLostOf(line);
            if (lost !== null) {
              summary.linesLost += lost.lines;
              if (summary.lossFiles.at(-1) !== f.path) summary.lossFiles.push(f.path);
              warn(`${f.path}:${lineNo}: ${lostWarning(lost)}`);
            }
          } else if (past !== null) {
            if (applyDecoded(past, d)) summary.applied++;
          } else if (modes.mode === null) {
            // The session's mode is not known yet: held (and decoded again once it is).
            if (modes.hold(line) !== null) startProcessor(symbol, sessionAt ?? `${f.path}:${lineNo}`, sessionAt !== null);
          } else {
            const other = (d.type === "data" && d.event.kind === "depth") || d.type === "snapshot" ? modes.otherMode(line) : null;
            if (other !== null) {
              // Another book mode with no session line between (a log pieced together, or written
              // before session lines): a fresh processor of that mode, as a restart would have made.
              endSymbol(symbol);
              modes.newSession();
              modes.hold(line);
              startProcessor(symbol, `${f.path}:${lineNo}`, false);
            } else if (applyDecoded(p!, d)) {
              summary.applied++;
            }
          }
        }
      }
    } catch (e) {
      // Typically a file that cannot be read or decompressed further: name it, and where replay stopped.
      throw readStopped(f.path, lineNo, e);
    }
    past?.finish();
    if (pendingBad !== null) {
      summary.truncatedFiles.push(f.path);
      warn(`${f.path}:${pendingBad.line}: truncated last line skipped (${pendingBad.reason})`);
    }
  }
  if (current !== null) endSymbol(current);
  summary.symbols = seen.size;
  summary.elapsedMs = performance.now() - t0;
  return summary;
}

/** What a `lines_lost` line tells, for the warning: how many, when, which streams; what it means for the replay. */
export function lostWarning(lost: LinesLost): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const streams = Object.entries(lost.streams).map(([s, n]) => `${s} ${n}`);
  if (lost.control > 0) streams.push(`control lines ${lost.control}`);
  return (
    `the live run lost ${lost.lines} line${lost.lines === 1 ? "" : "s"} here (received ${iso(lost.fromTs)} to ${iso(lost.toTs)}` +
    `${streams.length > 0 ? `: ${streams.join(", ")}` : ""}): not in the log, so the rows built from them are missing from this replay`
  );
}

/** Where a replay writes: the same for the inline run and every worker. */
export interface ReplayTarget {
  readonly outputDir: string;
  readonly previewDir: string;
  /** Replay waits while its sink holds more than this for the writer (its share of storage.max_buffer_mb). */
  readonly roomBytes: number;
  /** The Parquet writer Worker's script; a replay worker gets it from the main thread, which knows the executable. */
  readonly writerWorker?: string;
}

/** What replay meets along the way. The main thread prints it; a worker posts it to the main thread. */
export interface ReplayEvents {
  readonly warn: (msg: string) => void;
  readonly sinkError: (err: ParquetSinkError) => void;
  readonly maintenance: (ev: MaintenanceEvent) => void;
  /** Every line is read and its rows handed to the sink; closing it (writes, compaction) follows. */
  readonly inputDone?: () => void;
}

/** What the Parquet sink of a replay did: summed over the workers' sinks in a parallel run. */
export interface SinkTotals {
  rowsWritten: number;
  filesWritten: number;
  filesCompacted: number;
  compactions: number;
  rowsLost: number;
}

export interface ReplayResult {
  readonly summary: ReplaySummary;
  readonly totals: SinkTotals;
}

/**
 * Replays `files` into a ParquetSink of its own, then closes it (every write on disk, every hour
 * written compacted). Symbols are never split between two calls, so two calls running at once (the
 * workers of a parallel replay) never write, nor compact, the same partition.
 */
export async function replayShare(cfg: Config, files: readonly PlannedFile[], target: ReplayTarget, events: ReplayEvents): Promise<ReplayResult> {
  // Loaded in this thread (a worker has its own registry of kinds); their error lines go to stderr as in `run`.
  const custom = await loadCustomIndicators(cfg.indicators.custom, createLogger());
  const pipeline = new Pipeline(cfg, { kind: "replay", out: target }, {
    parquetError: events.sinkError,
    parquetMaintenance: events.maintenance,
  }, {}, custom);
  const sink = pipeline.parquet!;
  const summary = await replayPlanned(files, pipeline, events.warn, {
    // While the output refuses writes, waiting for room could last forever: replay goes on instead,
    // and whatever is still held at close is reported as dropped (exit 1).
    backpressure: () => sink.waitForRoomUnlessHeld(target.roomBytes),
    symbolDone: () => sink.flush(),
  });
  events.inputDone?.();
  await pipeline.close();
  const st = sink.status();
  return {
    summary,
    totals: { rowsWritten: st.rowsWritten, filesWritten: st.filesWritten, filesCompacted: st.filesCompacted, compactions: st.compactions, rowsLost: st.rowsLost },
  };
}

