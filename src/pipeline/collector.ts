/**
 * `harvestd run`: wires config → feed connections → frame router → per-symbol engines → sinks, plus
 * the HTTP surface, and shuts everything down cleanly on SIGINT/SIGTERM or when run_hours elapse.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SymbolEngine } from "../calc/symbol-engine.ts";
import { indicatorParams } from "../calc/params.ts";
import type { Config } from "../config/schema.ts";
import { Backfiller } from "../exchange/binance/backfill.ts";
import { ConnectionManager, rotationOptions } from "../exchange/binance/connection-manager.ts";
import { RestClient } from "../exchange/binance/rest-client.ts";
import { fetchAllSymbols } from "../exchange/binance/exchange-info.ts";
import { planConnections } from "../exchange/binance/streams.ts";
import { startHttpServer, type HttpServer } from "../http/server.ts";
import { ChartHistory, DEFAULT_HISTORY_SECONDS } from "../http/metrics/chart-history.ts";
import { renderCollectorMetrics } from "../http/metrics/collector-metrics.ts";
import { PaperTap, traderParams } from "../trading/paper/paper-tap.ts";
import { NdjsonSink } from "../sinks/ndjson/ndjson-sink.ts";
import { ParquetSink } from "../sinks/parquet/parquet-sink.ts";
import { removeLeftovers } from "../sinks/storage/cleanup.ts";
import { freeBytes } from "../sinks/storage/disk-guard.ts";
import { logStorageEvent } from "../sinks/storage/events-log.ts";
import { versionInfo } from "../util/version.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { FrameRouter } from "./frame-router.ts";
import { sessionLine } from "./raw-line.ts";
import { buildHealth, buildOrderbook, buildStatus, chartPoint, type CollectorParts } from "./status.ts";

export async function runCollector(cfg: Config): Promise<number> {
  const log = createLogger({ runLogDir: join(cfg.storage.artifacts_dir, "run_logs") });
  const startedAtMs = Date.now();
  if (cfg.http.token !== "" && cfg.http.token.length < 16) {
    // The token itself is never logged.
    log.log("warn", "http.token is shorter than 16 characters: use a long random one, e.g. `openssl rand -hex 32`");
  }

  let symbols: readonly string[];
  if (cfg.symbols === "ALL") {
    try {
      symbols = await fetchAllSymbols(cfg.endpoints.rest);
    } catch (e) {
      log.log("error", "cannot resolve SYMBOLS=ALL", { error: (e as Error).message });
      process.stderr.write(`harvestd: cannot resolve symbols=ALL from ${cfg.endpoints.rest}: ${(e as Error).message}\n`);
      return 1;
    }
  } else {
    symbols = cfg.symbols;
  }

  const params = indicatorParams(cfg);
  // Before any writer starts: `.partial` files and staging debris of a crashed run (docs/storage.md).
  const leftovers = removeLeftovers([cfg.storage.output_dir, cfg.storage.preview_dir, cfg.storage.ndjson_dir]);
  if (leftovers.removed.length > 0 || leftovers.failed.length > 0) {
    log.log("warn", "removed leftovers of an interrupted run (their data is in the NDJSON raw log)", {
      removed: leftovers.removed.length,
      paths: leftovers.removed.slice(0, 20),
      failed: leftovers.failed,
    });
  }
  const parquet = new ParquetSink({
    outputDir: cfg.storage.output_dir,
    previewDir: cfg.storage.preview_dir,
    rotateSec: cfg.storage.parquet_rotate_sec,
    orderbookRotateSec: cfg.storage.orderbook_rotate_sec,
    createdBy: `harvestd ${versionInfo().version}`,
    maxBufferBytes: cfg.storage.max_buffer_mb * 1024 * 1024,
    compaction: cfg.storage.compaction,
    retentionDays: cfg.storage.retention_days_parquet,
    onError: (err) => log.limited(`parquet:${err.kind}`, "error", "parquet write failed", { ...err }),
    onMaintenance: (ev) => logStorageEvent(log, "parquet", ev),
  });
  const ndjson = new NdjsonSink({
    dir: cfg.storage.ndjson_dir,
    compress: cfg.storage.ndjson_compress,
    maxBufferBytes: cfg.storage.max_buffer_mb * 1024 * 1024,
    retentionDays: cfg.storage.retention_days_ndjson,
    onMaintenance: (ev) => logStorageEvent(log, "ndjson", ev),
    onError: (err, path) => log.limited("ndjson", "error", "ndjson write failed", { path, error: err.message }),
  });
  // Paper trading (PAPER_ENABLE=1) sees the engines' prices and fusion rows on their way to Parquet.
  const paper = cfg.paper.enable ? new PaperTap(parquet, traderParams(cfg)) : null;
  const engines = new Map<string, SymbolEngine>();
  for (const s of symbols) engines.set(s, new SymbolEngine(s, params, paper ?? parquet));
  const rest = new RestClient({ baseUrl: cfg.endpoints.rest, weightBudget1m: cfg.feed.rest_weight_budget_1m });
  const backfiller = new Backfiller(rest, { onError: (err, symbol) => log.log("error", "backfill failed", { symbol, error: err.message }) });
  const router = new FrameRouter(engines, ndjson, log, {
    dedupLru: cfg.feed.dedup_lru,
    backfiller,
    rest,
    backfillMaxHoldMs: cfg.feed.backfill_max_hold_sec * 1000,
  });

  const feed = new ConnectionManager(
    planConnections(symbols, cfg.feed.enable_orderbook),
    (route) => ({
      baseUrl: route === "public" ? cfg.endpoints.public_ws : cfg.endpoints.market_ws,
      pingIntervalMs: cfg.feed.ping_interval_sec * 1000,
      heartbeatTimeoutMs: cfg.feed.heartbeat_timeout_sec * 1000,
      reconnectDelayMs: cfg.feed.reconnect_delay_sec * 1000,
      reconnectMaxDelayMs: cfg.feed.reconnect_max_delay_sec * 1000,
      maxFrameBytes: cfg.feed.max_frame_bytes,
    }),
    router,
    rotationOptions(cfg.feed.rotate_after_hours, cfg.feed.heartbeat_timeout_sec),
    (event, conn, fields) => log.log(event === "rotation-failed" ? "warn" : "info", event, { conn, ...fields }),
  );
  const connections = feed.slots;

  const parts: CollectorParts = {
    cfg,
    startedAtMs,
    symbols,
    engines,
    router,
    connections,
    parquet,
    ndjson,
    paper,
    history: new ChartHistory(symbols, DEFAULT_HISTORY_SECONDS),
    diskFreeBytes: () => freeBytes([cfg.storage.output_dir, cfg.storage.preview_dir, cfg.storage.ndjson_dir]),
  };

  let http: HttpServer | null = null;
  if (cfg.http.listen !== "") {
    try {
      http = startHttpServer(
        cfg.http.listen,
        cfg.http.token,
        {
          status: () => buildStatus(parts),
          health: () => buildHealth(parts),
          orderbook: (s) => buildOrderbook(parts, s),
          history: (seconds, symbol) => (symbol === null ? parts.history.view(seconds) : symbols.includes(symbol) ? parts.history.view(seconds, [symbol]) : null),
          historySeconds: parts.history.capacity,
          metrics: () => renderCollectorMetrics(parts),
        },
        { log },
      );
    } catch (e) {
      process.stderr.write(`harvestd: cannot listen on ${cfg.http.listen}: ${(e as Error).message}\n`);
      await parquet.close();
      await ndjson.close();
      return 1;
    }
  }

  const sessionStart = Date.now();
  for (const s of symbols) ndjson.append(s, sessionStart, sessionLine(sessionStart, versionInfo().version));
  log.log("info", "starting", { symbols: symbols.length, connections: connections.length, http: http?.url ?? null, version: versionInfo().version });
  feed.start();

  const rotation = setInterval(() => {
    // The NDJSON log is the authoritative record: every line of the rows about to go to the Parquet
    // writer is handed to the OS first, in this same tick, so a crash cannot leave rows in Parquet
    // that the log does not have (the writer still has to encode, fsync and rename after this).
    void ndjson.flush();
    parquet.tick(Date.now());
  }, 250);
  // One write at a time: two overlapping writes of the same .partial could rename a half-written file.
  let metricsWrite: Promise<void> = Promise.resolve();
  const writeMetrics = (): Promise<void> => (metricsWrite = metricsWrite.then(() => writeMetricsJson(cfg.storage.artifacts_dir, parts, log)));
  const artifacts = setInterval(() => void writeMetrics(), 10_000);
  const charts = setInterval(() => parts.history.sample(Date.now(), (s) => chartPoint(parts, s)), 1000);

  const reason = await waitForStop(cfg.run_hours);
  log.log("info", "stopping", { reason, shutdown_timeout_sec: cfg.shutdown_timeout_sec });
  const deadline = armShutdownDeadline(cfg.shutdown_timeout_sec, parts, log);

  clearInterval(rotation);
  clearInterval(artifacts);
  clearInterval(charts);
  // Order matters: stop input first (held frames and unfinished backfills are written, then the
  // disconnect lines), then let the engines emit what end of input means for them, then drain the sinks.
  router.close();
  feed.stop();
  for (const e of engines.values()) e.finish();
  paper?.finishAll();
  await Promise.all([parquet.close(), ndjson.close()]);
  await writeMetrics();
  if (http !== null) await http.stop();
  deadline.disarm();
  const ps = parquet.status();
  log.log("info", "stopped", { parquetFiles: ps.filesWritten, parquetRows: ps.rowsWritten, rowsLost: ps.rowsLost, ndjsonLines: ndjson.status().linesWritten });
  return 0;
}

/**
 * Bounds the flush after a stop request: past `timeoutSec`, or on a second SIGINT/SIGTERM, log what is
 * still pending and exit 1 rather than hang (systemd would SIGKILL without a word). Whatever the NDJSON
 * sink already handed to the OS is on disk either way; replay rebuilds Parquet from it.
 */
function armShutdownDeadline(timeoutSec: number, parts: CollectorParts, log: Logger): { disarm(): void } {
  const giveUp = (why: string) => {
    const pq = parts.parquet.status();
    const nd = parts.ndjson.status();
    log.log("error", "shutdown incomplete: exiting without waiting further", {
      why,
      parquetRowsBuffered: pq.rowsBuffered,
      parquetRowsPending: pq.rowsPending,
      ndjsonPendingLines: nd.pendingLines,
    });
    process.exit(1);
  };
  const timer = setTimeout(() => giveUp(`flush exceeded shutdown_timeout_sec=${timeoutSec}`), timeoutSec * 1000);
  // The flush itself keeps the process alive; the deadline must not delay a clean exit.
  timer.unref();
  const onSignal = (sig: NodeJS.Signals) => giveUp(`second ${sig} during shutdown`);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    disarm() {
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

function waitForStop(runHours: number): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      if (timer !== null) clearTimeout(timer);
      resolve(why);
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    // setTimeout overflows past 2^31 ms (~24.8 days), so long runs re-arm in steps.
    const deadline = Date.now() + runHours * 3_600_000;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const arm = () => {
      const left = deadline - Date.now();
      if (left <= 0) return done("run_hours elapsed");
      timer = setTimeout(arm, Math.min(left, 2 ** 30));
    };
    if (runHours > 0) arm();
  });
}

/**
 * ARTIFACTS_DIR/metrics.json, replaced atomically so a reader never sees half a file. Written
 * asynchronously: a synchronous write of the 50-symbol status held the ingest thread for
 * milliseconds every 10 s.
 */
async function writeMetricsJson(dir: string, parts: CollectorParts, log: Logger): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, "metrics.json.partial");
    await writeFile(tmp, JSON.stringify(buildStatus(parts)));
    await rename(tmp, join(dir, "metrics.json"));
  } catch (e) {
    log.limited("metrics.json", "warn", "cannot write metrics.json", { error: (e as Error).message });
  }
}
