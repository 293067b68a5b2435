/**
 * `harvestd replay PATH... [--out DIR] [--threads N]`: feeds NDJSON raw logs through the same
 * pipeline as the live run, so the Parquet it writes equals what the live run wrote. Files are
 * grouped per symbol and read in hour order; a truncated last line (a crash mid-write) is reported
 * and skipped; any other bad line is reported with its file and line number. Symbols are independent:
 * with several, they are replayed by Worker threads (replay-parallel.ts), each running `replayShare`
 * as the single-thread replay does. Each session of a log is replayed with the book mode its own
 * lines show (session-depth.ts), whatever feed.depth the configuration says.
 */
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { Config } from "../config/schema.ts";
import { writerWorkerSpecifier } from "../sinks/parquet/parquet-sink.ts";
import { collectReplayFiles, planReplay, type PlannedFile, type ReplayFile } from "./replay-files.ts";
import { replayInWorkers, splitBySymbol } from "./replay-parallel.ts";
import { replayShare, type ReplayEvents, type ReplayResult } from "./replay-share.ts";
import { occupiedMessage, occupiedPartitions, outFolderProblem } from "./replay-target.ts";
import { EXIT_TREE_IN_USE, lockTrees } from "./tree-lock.ts";
import { rawLogDecoder } from "./venue.ts";

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
 * Replay threads by default: one per two cores. Each replay thread keeps a Parquet writer thread of
 * its own (and the JIT) about as busy as itself, so a replay thread per core only makes them compete:
 * on 2 cores one thread replays faster than two and with ≈ 20 % less CPU (docs/performance.md, "replay").
 */
export function defaultReplayThreads(cores: number = availableParallelism()): number {
  return Math.max(1, Math.ceil(cores / 2));
}

export interface ReplayRequest {
  /** Folder for raw/ and preview/; null: the configured output_dir and preview_dir. */
  readonly out: string | null;
  /** Only these symbols' files; null: every symbol in the logs. */
  readonly symbols: readonly string[] | null;
  /** Symbols are replayed by up to this many Worker threads (replay-parallel.ts), each with its own sink; 1, or a single symbol, replays on this thread. */
  readonly threads?: number;
}

export async function runReplay(cfg: Config, paths: readonly string[], req: ReplayRequest): Promise<number> {
  const { out, threads = defaultReplayThreads() } = req;
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
  const outProblem = out === null ? null : outFolderProblem(resolve(out));
  if (outProblem !== null) {
    process.stderr.write(`harvestd: replay: ${outProblem}\n`);
    return 2;
  }
  const outputDir = out === null ? cfg.storage.output_dir : join(resolve(out), "raw");
  const previewDir = out === null ? cfg.storage.preview_dir : join(resolve(out), "preview");
  const report = replayReporter();
  const everySymbol = await planReplay(files, (line) => rawLogDecoder().sniffSymbol(line), report.warn);
  if (everySymbol.length === 0) {
    // Every file was skipped (each named above): as with no files at all, nothing was replayed.
    process.stderr.write(`harvestd: replay: none of the ${files.length} file${files.length === 1 ? "" : "s"} under ${paths.join(", ")} has stream lines: nothing to replay\n`);
    return 2;
  }
  const chosen = chooseSymbols(everySymbol, req.symbols);
  if (chosen.absent.length > 0) report.warn(`no raw log of ${chosen.absent.join(", ")} under ${paths.join(", ")}`);
  const planned = chosen.files;
  if (planned.length === 0) {
    process.stderr.write(`harvestd: replay: none of --symbols ${req.symbols!.join(",")} has a raw log under ${paths.join(", ")}: nothing to replay\n`);
    return 2;
  }
  // A running collector (or another replay) on these folders would have its hours compacted under it.
  const lock = lockTrees([outputDir, previewDir], "replay");
  if (!lock.ok) {
    process.stderr.write(`harvestd: replay: ${lock.error}\n`);
    return lock.inUse ? EXIT_TREE_IN_USE : 1;
  }
  try {
    const occupied = occupiedPartitions(outputDir, planned);
    if (occupied.length > 0) {
      process.stderr.write(`harvestd: ${occupiedMessage(outputDir, occupied)}\n`);
      return 2;
    }
    return await replayPlanned(cfg, planned, { outputDir, previewDir }, threads, report);
  } finally {
    lock.release();
  }
}

/**
 * The files of the symbols asked for. Each keeps its `startsRun` from the whole input, so a symbol
 * replayed alone ends and resumes its runs where the replay of every symbol would.
 */
function chooseSymbols(planned: readonly PlannedFile[], symbols: readonly string[] | null): { readonly files: readonly PlannedFile[]; readonly absent: readonly string[] } {
  if (symbols === null) return { files: planned, absent: [] };
  const wanted = new Set(symbols);
  const present = new Set(planned.map((f) => f.symbol));
  return { files: planned.filter((f) => wanted.has(f.symbol)), absent: symbols.filter((s) => !present.has(s)) };
}

async function replayPlanned(cfg: Config, planned: readonly PlannedFile[], dirs: { readonly outputDir: string; readonly previewDir: string }, threads: number, report: ReplayEvents): Promise<number> {
  const { outputDir, previewDir } = dirs;
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
      `${summary.badLines} bad lines, ${summary.truncatedFiles.length} truncated files, ${summary.linesLost} lines the live run lost (lines_lost in ${summary.lossFiles.length} files)\n`,
  );
  // Writes that failed and then succeeded on a retry lost nothing.
  return totals.rowsLost > 0 ? 1 : 0;
}
