/**
 * `harvestd run`: the collector with the HTTP surface on top, until run_hours elapse or a stop
 * signal; then everything is flushed and the process exits 0. `harvestd store` runs the same way
 * with the store (pipeline/store/store.ts) in place of the collector.
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { OrderbookRefusal, startHttpServer, type HttpServer } from "../http/server.ts";
import { renderCollectorMetrics } from "../http/metrics/collector-metrics.ts";
import { createCollector, type Collector } from "../pipeline/collector.ts";
import { buildHealth, buildOrderbook, buildStatus, LevelsRefused, type CollectorParts } from "../pipeline/status.ts";
import { HEALTH_LOOK_EVERY_MS, HealthLog } from "../pipeline/health-log.ts";
import { EXIT_TREE_IN_USE, lockTrees } from "../pipeline/tree-lock.ts";
import { createLogger, type Logger, type RunLogger } from "../util/log.ts";
import { INSISTING_SIGNALS, IS_WINDOWS, STOP_SIGNALS } from "../util/platform.ts";
import { versionInfo } from "../util/version.ts";

export async function runCollector(cfg: Config, create: (cfg: Config, log: Logger) => Promise<Collector | number> = createCollector, command: "run" | "store" = "run"): Promise<number> {
  const log = createLogger({
    runLogDir: join(cfg.storage.artifacts_dir, "run_logs"),
    runLogMaxBytes: cfg.storage.run_log_max_mb * 1024 * 1024,
    runLogKeepDays: cfg.storage.run_log_keep_days,
  });
  // Before anything touches the folders: a second process on them would "recover" the first one's files (tree-lock.ts).
  const s = cfg.storage;
  const lock = lockTrees([s.ndjson_dir, s.output_dir, s.preview_dir, s.artifacts_dir], command);
  if (!lock.ok) {
    log.log("error", "data folders in use", { error: lock.error });
    process.stderr.write(`harvestd: ${lock.error}
`);
    await log.close();
    return EXIT_TREE_IN_USE;
  }
  try {
    return await runLocked(cfg, create, log);
  } finally {
    lock.release();
  }
}

async function runLocked(cfg: Config, create: (cfg: Config, log: Logger) => Promise<Collector | number>, log: RunLogger): Promise<number> {
  if (cfg.http.token !== "" && cfg.http.token.length < 16) {
    // The token itself is never logged.
    log.log("warn", "http.token is shorter than 16 characters: use a long random one, e.g. `openssl rand -hex 32`");
  }
  const collector = await create(cfg, log);
  if (typeof collector === "number") return collector;
  const parts = collector.parts;
  // From the first stop signal on, /health says so: a load balancer or monitor stops relying on us.
  let stopping = false;

  let http: HttpServer | null = null;
  if (cfg.http.listen !== "") {
    try {
      http = startHttpServer(
        cfg.http.listen,
        cfg.http.token,
        {
          status: () => buildStatus(parts),
          health: () => {
            const h = buildHealth(parts);
            return stopping ? { ...h, ok: false, reasons: ["stopping", ...h.reasons] } : h;
          },
          orderbook: (s, levels) => {
            const book = buildOrderbook(parts, s, levels);
            return book instanceof LevelsRefused ? new OrderbookRefusal(book.problem) : book;
          },
          history: (seconds, symbol) => (symbol === null ? parts.history.view(seconds) : parts.symbols.includes(symbol) ? parts.history.view(seconds, [symbol]) : null),
          historySeconds: parts.history.capacity,
          metrics: () => renderCollectorMetrics(parts),
        },
        { log },
      );
    } catch (e) {
      process.stderr.write(`harvestd: cannot listen on ${cfg.http.listen}: ${(e as Error).message}\n`);
      await collector.stop();
      return 1;
    }
  }

  log.log("info", "starting", { symbols: parts.symbols.length, connections: parts.connections.length, http: http?.url ?? null, version: versionInfo().version, target: versionInfo().target, commit: versionInfo().commit });
  collector.start();
  // Health changes reach the log too, not only /health (the shutdown's own "stopping" is logged below).
  const healthLog = new HealthLog(log);
  const healthLook = setInterval(() => healthLog.look(buildHealth(parts)), HEALTH_LOOK_EVERY_MS);

  const { reason, internalError } = await waitForStop(cfg.run_hours, log);
  clearInterval(healthLook);
  stopping = true;
  log.log("info", "stopping", { reason, shutdown_timeout_sec: cfg.shutdown_timeout_sec });
  const deadline = armShutdownDeadline(cfg.shutdown_timeout_sec, parts, log);
  const t0 = performance.now();
  const pq0 = parts.pipeline.parquet?.status();
  const steps = (await collector.stop()) ?? {};
  const tHttp = performance.now();
  if (http !== null) await http.stop();
  deadline.disarm();
  const pq1 = parts.pipeline.parquet?.status();
  // Inside the writer during the stop: what the last files cost to encode and to commit.
  const writer = pq0 !== undefined && pq1 !== undefined ? { parquet_encode: Math.round(pq1.encodeMsTotal - pq0.encodeMsTotal), parquet_commit: Math.round(pq1.writeMsTotal - pq0.writeMsTotal) } : {};
  const shutdownMs = { ...steps, http: Math.round(performance.now() - tHttp), total: Math.round(performance.now() - t0), ...writer };
  const ps = parts.pipeline.parquet?.status();
  const ns = parts.pipeline.ndjson?.status();
  const rowsLost = ps?.rowsLost ?? 0;
  const ndjsonLinesLost = ns?.linesLost ?? 0;
  // A run that lost data says so where an operator looks last: the stop line, at error level.
  log.log(rowsLost + ndjsonLinesLost > 0 ? "error" : "info", "stopped", { parquetFiles: ps?.filesWritten ?? 0, parquetRows: ps?.rowsWritten ?? 0, rowsLost, ndjsonLines: ns?.linesWritten ?? 0, ndjsonLinesLost, ...(ns !== undefined && ns.linesLostUntold > 0 ? { ndjsonLinesUntold: ns.linesLostUntold } : {}), shutdown_ms: shutdownMs });
  await log.close();
  return internalError ? EXIT_INTERNAL_ERROR : 0;
}

/** EX_SOFTWARE: stopped (cleanly) after an internal error; a supervisor restarts it (Restart=on-failure). */
export const EXIT_INTERNAL_ERROR = 70;

/** A stop signal this soon after the first is the same request delivered twice (see armShutdownDeadline). */
const SAME_REQUEST_MS = 1_000;

/**
 * Bounds the flush after a stop request: past `timeoutSec`, or on a second stop signal, log what is
 * still pending and exit 1 rather than hang (systemd would SIGKILL without a word). Whatever the NDJSON
 * sink already handed to the OS is on disk either way; replay rebuilds Parquet from it.
 */
function armShutdownDeadline(timeoutSec: number, parts: CollectorParts, log: Logger): { disarm(): void } {
  const giveUp = (why: string) => {
    const pq = parts.pipeline.parquet?.status();
    const nd = parts.pipeline.ndjson?.status();
    log.log("error", "shutdown incomplete: exiting without waiting further", {
      why,
      parquetRowsBuffered: pq?.rowsBuffered ?? 0,
      parquetRowsPending: pq?.rowsPending ?? 0,
      ndjsonPendingLines: nd?.pendingLines ?? 0,
    });
    process.exit(1);
  };
  const timer = setTimeout(() => giveUp(`flush exceeded shutdown_timeout_sec=${timeoutSec}`), timeoutSec * 1000);
  // The flush itself keeps the process alive; the deadline must not delay a clean exit.
  timer.unref();
  // One request can arrive twice: GNU `timeout` signals the process and then its whole process group
  // (as does a supervisor that signals both). A repeat this soon after the first is that, not a
  // person insisting; only a later one gives up the flush.
  const armedAt = performance.now();
  const onSignal = (sig: NodeJS.Signals) => {
    if (performance.now() - armedAt < SAME_REQUEST_MS) return;
    giveUp(`second ${sig} during shutdown`);
  };
  for (const sig of INSISTING_SIGNALS) process.on(sig, onSignal);
  return {
    disarm() {
      clearTimeout(timer);
      for (const sig of INSISTING_SIGNALS) process.off(sig, onSignal);
    },
  };
}

/**
 * Until a stop signal, run_hours, or an error nothing caught (a bug, or a custom indicator's timer
 * that throws): by default that would end the process at once, and the raw-log lines still in memory
 * (up to a flush interval) with it. Instead it is logged and the process stops as on a signal,
 * everything flushed, then exits EXIT_INTERNAL_ERROR. One during the stop is logged too; the
 * shutdown deadline bounds the stop either way.
 */
function waitForStop(runHours: number, log: Logger): Promise<{ readonly reason: string; readonly internalError: boolean }> {
  return new Promise((resolve) => {
    let internalError = false;
    let stopping = false;
    const onInternalError = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      log.log("error", stopping ? "internal error during the stop" : "internal error: stopping, everything collected is written first", { error: err.message, stack: err.stack ?? null });
      internalError = true;
      if (!stopping) done(`internal error: ${err.message}`);
    };
    process.on("uncaughtException", onInternalError);
    process.on("unhandledRejection", onInternalError);
    // Per platform: Windows has no SIGTERM; Ctrl-C and a service stop arrive as SIGINT (util/platform.ts).
    const done = (why: string) => {
      stopping = true;
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
      if (timer !== null) clearTimeout(timer);
      // From here to the exit a hang-up is ignored: its default would end the process mid-flush.
      if (!IS_WINDOWS) process.on("SIGHUP", () => {});
      resolve({ reason: why, get internalError() { return internalError; } });
    };
    const onSignal = (sig: NodeJS.Signals) => done(sig === "SIGHUP" ? "SIGHUP (the terminal it ran in closed: run it under systemd, tmux or nohup to keep it collecting)" : sig);
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
    // setTimeout overflows past 2^31 ms (~24.8 days), so long runs re-arm in steps. A duration:
    // monotonic, so a stepped wall clock does not lengthen or shorten the run.
    const deadline = performance.now() + runHours * 3_600_000;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const arm = () => {
      const left = deadline - performance.now();
      if (left <= 0) return done("run_hours elapsed");
      timer = setTimeout(arm, Math.min(left, 2 ** 30));
    };
    if (runHours > 0) arm();
  });
}
