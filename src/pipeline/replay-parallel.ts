/**
 * Parallel replay: symbols are independent (each has its own engine, its own raw-log files and its
 * own Parquet partitions `symbol=…`), so they are split over Worker threads (replay-worker.ts),
 * each replaying its symbols' files exactly as the inline replay does into a ParquetSink of its own.
 * No partition is written, nor compacted, by two sinks: the output equals the single-thread one.
 * The main thread prints what the workers report and sums their summaries.
 */
import { statSync } from "node:fs";
import type { Config } from "../config/schema.ts";
import type { MaintenanceEvent, ParquetSinkError } from "../sinks/parquet/sink-types.ts";
import { workerEntry } from "../util/worker-entry.ts";
import type { PlannedFile } from "./replay-files.ts";
import type { ReplayEvents, ReplayResult, ReplaySummary, ReplayTarget, SinkTotals } from "./replay-share.ts";

/** Main thread → replay worker: its only message. */
export interface ReplayWorkerStart {
  readonly type: "start";
  readonly cfg: Config;
  readonly files: readonly PlannedFile[];
  readonly target: ReplayTarget;
}

/** Replay worker → main thread. */
export type FromReplayWorker =
  | { readonly type: "warn"; readonly message: string }
  | { readonly type: "sink-error"; readonly error: ParquetSinkError }
  | { readonly type: "maintenance"; readonly event: MaintenanceEvent }
  | { readonly type: "input-done" }
  | { readonly type: "done"; readonly result: ReplayResult }
  /** replayShare threw: the error the inline replay would have ended with. */
  | { readonly type: "failed"; readonly message: string };

export function replayWorkerSpecifier(): string {
  return workerEntry("pipeline/replay-worker");
}

/**
 * Splits the planned files into at most `parts` shares of whole symbols, balanced by file bytes
 * (largest symbol first, to the least loaded share). Each share keeps the input's order.
 */
export function splitBySymbol(files: readonly PlannedFile[], parts: number, sizeOf: (path: string) => number = fileSize): PlannedFile[][] {
  const bytes = new Map<string, number>();
  for (const f of files) bytes.set(f.symbol, (bytes.get(f.symbol) ?? 0) + sizeOf(f.path));
  const n = Math.max(1, Math.min(Math.floor(parts), bytes.size));
  const load = new Array<number>(n).fill(0);
  const shareOf = new Map<string, number>();
  // Ties broken by name, so the split does not depend on map order.
  const bySize = [...bytes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [symbol, size] of bySize) {
    let least = 0;
    for (let i = 1; i < n; i++) if (load[i]! < load[least]!) least = i;
    load[least]! += size;
    shareOf.set(symbol, least);
  }
  const shares: PlannedFile[][] = Array.from({ length: n }, () => []);
  for (const f of files) shares[shareOf.get(f.symbol)!]!.push(f);
  return shares.filter((s) => s.length > 0);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    // Gone since it was listed: replay says so when it opens it.
    return 0;
  }
}

/** Bun's Worker (ref/unref, close event); the DOM lib's Worker type shadows it in this project's tsconfig. */
type BunWorker = Bun.Worker;

/**
 * Replays each share in its own worker and resolves with the summed result once every worker has
 * closed its sink. The first failure (an error replay ended with, a worker that crashed or exited
 * early) terminates the other workers and rejects with one line saying what and where.
 * `elapsedMs`: start of the workers → the last worker's input done (the inline figure excludes the
 * sink's close likewise).
 */
export function replayInWorkers(
  cfg: Config,
  shares: readonly (readonly PlannedFile[])[],
  target: ReplayTarget,
  events: ReplayEvents,
  workerScript: string = replayWorkerSpecifier(),
): Promise<ReplayResult> {
  const t0 = performance.now();
  let inputEndedAt = t0;
  const results: (ReplayResult | null)[] = shares.map(() => null);
  const workers: BunWorker[] = [];
  return new Promise<ReplayResult>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      for (const w of workers) {
        try {
          w.terminate();
        } catch {}
      }
      reject(err);
    };
    const finished = (i: number, result: ReplayResult): void => {
      results[i] = result;
      if (settled || results.some((r) => r === null)) return;
      settled = true;
      resolve(merge(results as ReplayResult[], inputEndedAt - t0));
    };
    shares.forEach((files, i) => {
      if (settled) return;
      const who = `replay worker for ${describeSymbols(files)}`;
      let w: BunWorker;
      try {
        w = new Worker(workerScript) as unknown as BunWorker;
      } catch (e) {
        fail(new Error(`replay: cannot start the ${who}: ${(e as Error).message}`));
        return;
      }
      workers.push(w);
      // bun-types declares the event parameter as MessageEvent's constructor type; it is an event.
      w.onmessage = ((ev: MessageEvent) => {
        const msg = ev.data as FromReplayWorker;
        switch (msg.type) {
          case "warn":
            events.warn(msg.message);
            break;
          case "sink-error":
            events.sinkError(msg.error);
            break;
          case "maintenance":
            events.maintenance(msg.event);
            break;
          case "input-done":
            inputEndedAt = Math.max(inputEndedAt, performance.now());
            break;
          case "done":
            finished(i, msg.result);
            break;
          case "failed":
            fail(new Error(msg.message));
            break;
        }
      }) as unknown as BunWorker["onmessage"];
      w.addEventListener("error", (ev: Event) => fail(new Error(`replay: the ${who} failed: ${errorEventText((ev as ErrorEvent).message)}`)));
      w.addEventListener("close", (ev: Event) => {
        if (results[i] === null) fail(new Error(`replay: the ${who} exited before finishing (exit code ${(ev as CloseEvent).code})`));
      });
      const start: ReplayWorkerStart = { type: "start", cfg, files, target };
      w.postMessage(start);
    });
  });
}

/**
 * Bun's worker ErrorEvent carries no error object, only a message formatted for a terminal (source
 * excerpt, caret, `error: …`, `at …`): kept to its `error:` and first `at` lines, on one line.
 */
function errorEventText(message: string | undefined): string {
  const lines = (message ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => l.startsWith("error: "));
  const at = lines.find((l) => l.startsWith("at "));
  if (error === undefined) return lines.join(" ") || "worker error";
  return `${error.slice("error: ".length)}${at === undefined ? "" : ` (${at})`}`;
}

function describeSymbols(files: readonly PlannedFile[]): string {
  const symbols = [...new Set(files.map((f) => f.symbol))];
  return symbols.length <= 3 ? symbols.join(", ") : `${symbols.slice(0, 3).join(", ")} and ${symbols.length - 3} more symbols`;
}

function merge(results: readonly ReplayResult[], elapsedMs: number): ReplayResult {
  const summary: ReplaySummary = { files: 0, lines: 0, applied: 0, badLines: 0, truncatedFiles: [], linesLost: 0, lossFiles: [], symbols: 0, elapsedMs };
  const totals: SinkTotals = { rowsWritten: 0, filesWritten: 0, filesCompacted: 0, compactions: 0, rowsLost: 0 };
  for (const r of results) {
    summary.files += r.summary.files;
    summary.lines += r.summary.lines;
    summary.applied += r.summary.applied;
    summary.badLines += r.summary.badLines;
    summary.truncatedFiles.push(...r.summary.truncatedFiles);
    // Posted messages are not type-checked: a result without these fields adds nothing.
    summary.linesLost += r.summary.linesLost ?? 0;
    summary.lossFiles.push(...(r.summary.lossFiles ?? []));
    summary.symbols += r.summary.symbols;
    for (const k of Object.keys(totals) as (keyof SinkTotals)[]) totals[k] += r.totals[k];
  }
  return { summary, totals };
}
