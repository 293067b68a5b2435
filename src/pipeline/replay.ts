/**
 * `harvestd replay PATH... [--out DIR] [--threads N]`: feeds NDJSON raw logs through the same engines
 * and sinks as the live run (indicators.md §15.1), so the Parquet it writes equals what the live run
 * wrote. Files are grouped per symbol and read in hour order; a truncated last line (a crash
 * mid-write) is reported and skipped; any other bad line is reported with its file and line number.
 * Symbols are independent: with several, they are replayed by Worker threads (replay-parallel.ts),
 * each running `replayShare` below, as the single-thread replay does.
 */
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import * as zlib from "node:zlib";
import { SymbolEngine } from "../calc/symbol-engine.ts";
import { indicatorParams } from "../calc/params.ts";
import type { Config } from "../config/schema.ts";
import { compressedEndsWith } from "../sinks/ndjson/compress.ts";
import { ParquetSink, writerWorkerSpecifier, type MaintenanceEvent, type ParquetSinkError } from "../sinks/parquet/parquet-sink.ts";
import { versionInfo } from "../util/version.ts";
import type { RowSink } from "../core/rows.ts";
import { FrameScan, SCAN_AGG_TRADE, SCAN_FALLBACK, scanDataLine } from "../exchange/binance/scanner.ts";
import { parseStreamName } from "../exchange/binance/streams.ts";
import { PaperTap, traderParams } from "../trading/paper/paper-tap.ts";
import { applyRecord } from "./raw-line.ts";
import { replayInWorkers, splitBySymbol } from "./replay-parallel.ts";

const LOG_FILE = /\.ndjson(\.gz|\.zst)?$/;

export interface ReplayFile {
  readonly path: string;
  readonly symbol: string | null;
  /** Sort key within a symbol: `YYYY-MM-DD/HH` from the Hive path, else the path itself. */
  readonly order: string;
  /** For a plain file: the compressed file of the same hour, read before it. */
  readonly compressedTwin?: string;
}

export interface ReplaySummary {
  files: number;
  lines: number;
  applied: number;
  badLines: number;
  truncatedFiles: string[];
  symbols: number;
  elapsedMs: number;
}

/** Expands files and folders into raw-log files, grouped per symbol in time order. */
export function collectReplayFiles(paths: readonly string[]): ReplayFile[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name));
    } else if (LOG_FILE.test(p)) {
      found.push(p);
    }
  };
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new Error(`replay: ${p} does not exist`);
    const st = statSync(abs);
    if (st.isFile() && !LOG_FILE.test(abs)) throw new Error(`replay: ${p} is not an .ndjson, .ndjson.gz or .ndjson.zst file`);
    walk(abs);
  }
  // An hour can exist both plain and compressed: for an instant while compression renames and
  // then removes the plain file (the compressed one already holds the plain lines), or when the
  // hour was reopened after its compression (the plain lines come after the compressed ones).
  // The compressed file is read first; the plain one is read unless its lines are already in it.
  const compressed = new Map<string, string>();
  for (const f of found) if (/\.(gz|zst)$/.test(f)) compressed.set(f.replace(/\.(gz|zst)$/, ""), f);
  const rank = (p: string) => (/\.(gz|zst)$/.test(p) ? 0 : 1);
  return found
    .map((path): ReplayFile => {
      const sym = /symbol=([^/]+)/.exec(path)?.[1] ?? null;
      const date = /date=(\d{4}-\d{2}-\d{2})/.exec(path)?.[1];
      const hour = /raw-(\d{2})\.ndjson/.exec(basename(path))?.[1];
      const twin = compressed.get(path);
      return { path, symbol: sym, order: date !== undefined && hour !== undefined ? `${date}/${hour}` : path, ...(twin === undefined ? {} : { compressedTwin: twin }) };
    })
    .sort((a, b) => {
      const sa = a.symbol ?? "";
      const sb = b.symbol ?? "";
      if (sa !== sb) return sa < sb ? -1 : 1;
      if (a.order !== b.order) return a.order < b.order ? -1 : 1;
      return rank(a.path) - rank(b.path);
    });
}

function openLines(path: string): AsyncIterable<string> {
  let stream: NodeJS.ReadableStream = createReadStream(path);
  if (path.endsWith(".gz")) stream = stream.pipe(createGunzip());
  if (path.endsWith(".zst")) {
    const z = zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream };
    if (z.createZstdDecompress === undefined) throw new Error(`replay: cannot read ${path}: zstd is not available in this runtime`);
    stream = stream.pipe(z.createZstdDecompress());
  }
  return createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
}

/** Symbol of a file without a `symbol=` path segment: the first stream named in it. */
async function sniffSymbol(path: string): Promise<string | null> {
  for await (const line of openLines(path)) {
    const m = /"stream":"([a-z0-9]+)@/.exec(line);
    if (m !== null) return m[1]!.toUpperCase();
  }
  return null;
}

export interface ReplayHooks {
  /** Awaited every few thousand lines: lets a sink that has fallen behind catch up (replay may wait). */
  readonly backpressure?: () => Promise<void>;
  /** A symbol's input is complete: its buffered rows can go to the writer. */
  readonly symbolDone?: () => void;
}

/** A raw-log file with the symbol whose engine reads it. */
export interface PlannedFile extends ReplayFile {
  readonly symbol: string;
  /**
   * The file read before it in the whole input belongs to another symbol (or there is none): the
   * previous symbol's input ended there. Kept with the file so that a worker given only some symbols
   * ends and resumes each of them exactly where a single thread would.
   */
  readonly startsRun: boolean;
}

/** Names each file's symbol (sniffed for files outside a `symbol=` folder); a file without stream lines is skipped. */
export async function planReplay(files: readonly ReplayFile[], warn: (msg: string) => void): Promise<PlannedFile[]> {
  const planned: PlannedFile[] = [];
  let previous: string | null = null;
  for (const f of files) {
    const symbol = f.symbol ?? (await sniffSymbol(f.path));
    if (symbol === null) {
      warn(`${f.path}: no stream lines, skipped`);
      continue;
    }
    planned.push({ ...f, symbol, startsRun: symbol !== previous });
    previous = symbol;
  }
  return planned;
}

export async function replayFiles(
  cfg: Config,
  files: readonly ReplayFile[],
  sink: RowSink,
  warn: (msg: string) => void,
  hooks: ReplayHooks = {},
): Promise<ReplaySummary> {
  const t0 = performance.now();
  const summary = await replayPlanned(cfg, await planReplay(files, warn), sink, warn, hooks);
  summary.elapsedMs = performance.now() - t0;
  return summary;
}

/** Replays planned files in their order: the one per-symbol path of the inline run and of every replay worker. */
export async function replayPlanned(
  cfg: Config,
  files: readonly PlannedFile[],
  sink: RowSink,
  warn: (msg: string) => void,
  hooks: ReplayHooks = {},
): Promise<ReplaySummary> {
  const backpressure = hooks.backpressure ?? (async () => {});
  const t0 = performance.now();
  const params = indicatorParams(cfg);
  const paper = cfg.paper.enable ? new PaperTap(sink, traderParams(cfg)) : null;
  const summary: ReplaySummary = { files: 0, lines: 0, applied: 0, badLines: 0, truncatedFiles: [], symbols: 0, elapsedMs: 0 };
  const engines = new Map<string, SymbolEngine>();
  let current: { symbol: string; engine: SymbolEngine } | null = null;
  // What the live process did when its input for a symbol ended (engine, then paper positions).
  const endSymbol = (c: { symbol: string; engine: SymbolEngine }) => {
    c.engine.finish();
    paper?.finish(c.symbol);
    hooks.symbolDone?.();
  };
  const scan = new FrameScan();

  for (const f of files) {
    const symbol = f.symbol;
    if (current === null || f.startsRun || current.symbol !== symbol) {
      // Files are sorted per symbol, so a symbol's input has ended once the next one starts.
      if (current !== null) endSymbol(current);
      let engine = engines.get(symbol);
      if (engine === undefined) {
        engine = new SymbolEngine(symbol, params, paper ?? sink);
        engines.set(symbol, engine);
      }
      current = { symbol, engine };
    }
    if (f.compressedTwin !== undefined && (await compressedEndsWith(f.compressedTwin, f.path, f.compressedTwin.endsWith(".gz") ? "gzip" : "zstd"))) {
      warn(`${f.path}: its lines are already in ${basename(f.compressedTwin)} (a compression cut short), skipped`);
      continue;
    }
    summary.files++;
    let lineNo = 0;
    let pendingBad: { line: number; reason: string } | null = null;
    const lines = openLines(f.path);
    try {
      for await (const line of lines) {
        lineNo++;
        if (pendingBad !== null) {
          // A bad line followed by more lines is corruption, not truncation.
          summary.badLines++;
          warn(`${f.path}:${pendingBad.line}: ${pendingBad.reason}`);
          pendingBad = null;
        }
        if (line.length === 0) continue;
        summary.lines++;
        if ((summary.lines & 4095) === 0) await backpressure();
        // Hot path: data lines of the two frame shapes, read straight into an event; the scanner yields
        // exactly what JSON.parse + applyRecord would (test/unit/scanner-raw-line.test.ts).
        const k = scanDataLine(line, scan);
        if (k !== SCAN_FALLBACK) {
          const sp = parseStreamName(line.slice(scan.streamStart, scan.streamEnd));
          if (sp !== null && sp.symbol === symbol) {
            if (k === SCAN_AGG_TRADE) current.engine.onTrade(scan.tradeEvent(symbol), scan.tsRecv, false);
            else current.engine.onDepth(scan.depthEvent(symbol), scan.tsRecv);
            summary.applied++;
          }
          continue;
        }
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch {
          pendingBad = { line: lineNo, reason: "not valid JSON" };
          continue;
        }
        if (typeof rec !== "object" || rec === null) {
          pendingBad = { line: lineNo, reason: "not a JSON object" };
          continue;
        }
        const out = applyRecord(current.engine, symbol, rec as Record<string, unknown>);
        if (out === "applied" || out === "control") summary.applied++;
        else if (out === "session") {
          // A restart of the live process: its engine (and paper trader) started from scratch here.
          endSymbol(current);
          current.engine = new SymbolEngine(symbol, params, paper ?? sink);
          engines.set(symbol, current.engine);
        }
      }
    } catch (e) {
      // Typically a file that cannot be read or decompressed further: name it, and where replay stopped.
      throw new Error(`replay: ${f.path}: stopped after line ${lineNo}: ${(e as Error).message}`);
    }
    if (pendingBad !== null) {
      summary.truncatedFiles.push(f.path);
      warn(`${f.path}:${pendingBad.line}: truncated last line skipped (${pendingBad.reason})`);
    }
  }
  if (current !== null) endSymbol(current);
  summary.symbols = engines.size;
  summary.elapsedMs = performance.now() - t0;
  return summary;
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
  // While the output refuses writes (the writer holds them and retries), waiting for room could last
  // forever: replay goes on instead, and whatever is still held at close is reported as dropped (exit 1).
  let wakeOnHeld: (() => void) | null = null;
  const sink = new ParquetSink({
    outputDir: target.outputDir,
    previewDir: target.previewDir,
    rotateSec: cfg.storage.parquet_rotate_sec,
    orderbookRotateSec: cfg.storage.orderbook_rotate_sec,
    createdBy: `harvestd ${versionInfo().version} replay`,
    // Replay may wait for the writer (below), so nothing is ever dropped: the bound is applied by
    // waiting, not by the sink's drop rule, which protects live ingest only.
    maxBufferBytes: Number.MAX_SAFE_INTEGER,
    compaction: cfg.storage.compaction,
    // The input has ended when replay closes the sink: every hour it wrote is complete. Hours it
    // did not write are left to the collector that owns them.
    compactAllOnClose: true,
    compactionScanAtStart: false,
    ...(target.writerWorker === undefined ? {} : { workerSpecifier: target.writerWorker }),
    onError: (err) => {
      events.sinkError(err);
      if (err.outcome === "held") wakeOnHeld?.();
    },
    onMaintenance: events.maintenance,
  });
  const summary = await replayPlanned(cfg, files, sink, events.warn, {
    backpressure: async () => {
      if (sink.status().batchesHeld > 0) return;
      await Promise.race([sink.waitForRoom(target.roomBytes), new Promise<void>((resolve) => (wakeOnHeld = resolve))]);
      wakeOnHeld = null;
    },
    symbolDone: () => sink.flush(),
  });
  events.inputDone?.();
  await sink.close();
  const st = sink.status();
  return {
    summary,
    totals: { rowsWritten: st.rowsWritten, filesWritten: st.filesWritten, filesCompacted: st.filesCompacted, compactions: st.compactions, rowsLost: st.rowsLost },
  };
}

/** The main thread's printer of replay events: one line each on stderr. */
export function replayReporter(): ReplayEvents {
  const heldReported = new Set<string>();
  return {
    warn: (m) => process.stderr.write(`harvestd: replay: ${m}\n`),
    sinkError: (err) => {
      // A held write is retried every second: say so once per kind, then only what is given up.
      if (err.outcome === "held" && heldReported.has(err.kind)) return;
      heldReported.add(err.kind);
      const what = err.outcome === "held" ? "failed, retrying" : `failed, ${err.rows} rows dropped`;
      process.stderr.write(`harvestd: replay: parquet write ${what}: ${err.message}\n`);
    },
    maintenance: (ev) => {
      if (ev.type === "error") process.stderr.write(`harvestd: replay: ${ev.what}: ${ev.error.message}\n`);
    },
  };
}

/**
 * `threads`: symbols are replayed by up to this many Worker threads (replay-parallel.ts), each with
 * its own sink; 1, or a single symbol, replays on this thread.
 */
export async function runReplay(cfg: Config, paths: readonly string[], out: string | null, threads = availableParallelism()): Promise<number> {
  let files: ReplayFile[];
  try {
    files = collectReplayFiles(paths);
  } catch (e) {
    process.stderr.write(`harvestd: ${(e as Error).message}\n`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write(`harvestd: replay: no .ndjson, .ndjson.gz or .ndjson.zst files under ${paths.join(", ")}\n`);
    return 2;
  }
  const outputDir = out === null ? cfg.storage.output_dir : join(resolve(out), "raw");
  const previewDir = out === null ? cfg.storage.preview_dir : join(resolve(out), "preview");
  const report = replayReporter();
  const planned = await planReplay(files, report.warn);
  const shares = splitBySymbol(planned, threads);
  const room = cfg.storage.max_buffer_mb * 1024 * 1024;
  let result: ReplayResult;
  if (shares.length <= 1) {
    result = await replayShare(cfg, planned, { outputDir, previewDir, roomBytes: room }, report);
  } else {
    // storage.max_buffer_mb bounds the process: each worker gets its share.
    const target = { outputDir, previewDir, roomBytes: Math.floor(room / shares.length), writerWorker: writerWorkerSpecifier() };
    result = await replayInWorkers(cfg, shares, target, report);
  }
  const { summary, totals } = result;
  const rate = summary.elapsedMs > 0 ? Math.round((summary.lines / summary.elapsedMs) * 1000) : 0;
  process.stdout.write(
    `replayed ${summary.lines} lines from ${summary.files} files (${summary.symbols} symbols) in ${(summary.elapsedMs / 1000).toFixed(2)} s ` +
      `(${rate} lines/s${shares.length > 1 ? `, ${shares.length} threads` : ""}): ${totals.rowsWritten} rows in ${totals.filesWritten} Parquet files (${totals.filesCompacted} merged into ${totals.compactions} by compaction) under ${outputDir} and ${previewDir}; ` +
      `${summary.badLines} bad lines, ${summary.truncatedFiles.length} truncated files\n`,
  );
  // Writes that failed and then succeeded on a retry lost nothing.
  return totals.rowsLost > 0 ? 1 : 0;
}
