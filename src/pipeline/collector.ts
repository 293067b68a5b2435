/**
 * `harvestd run`: wires config → feed connections → frame router → per-symbol engines → sinks, plus
 * the HTTP surface, and shuts everything down cleanly on SIGINT/SIGTERM or when run_hours elapse.
 */
import { mkdirSync, renameSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SymbolEngine } from "../calc/symbol-engine.ts";
import { indicatorParams } from "../config/indicator-params.ts";
import type { Config } from "../config/schema.ts";
import { StreamConnection } from "../feed/connection.ts";
import { fetchAllSymbols } from "../feed/exchange-info.ts";
import { planConnections } from "../feed/streams.ts";
import { startHttpServer, type HttpServer } from "../http/server.ts";
import { NdjsonSink } from "../sinks/ndjson/ndjson-sink.ts";
import { ParquetSink } from "../sinks/parquet/parquet-sink.ts";
import { versionInfo } from "../cli/version.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { FrameRouter } from "./frame-router.ts";
import { sessionLine } from "./raw-line.ts";
import { buildHealth, buildOrderbook, buildStatus, type CollectorParts } from "./status.ts";

/** Below this much free space in a data folder, /health reports unhealthy. */
const DISK_FREE_FLOOR_BYTES = 512 * 1024 * 1024;

export async function runCollector(cfg: Config): Promise<number> {
  const log = createLogger({ runLogDir: join(cfg.storage.artifacts_dir, "run_logs") });
  const startedAtMs = Date.now();

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
  const parquet = new ParquetSink({
    outputDir: cfg.storage.output_dir,
    previewDir: cfg.storage.preview_dir,
    rotateSec: cfg.storage.parquet_rotate_sec,
    orderbookRotateSec: cfg.storage.orderbook_rotate_sec,
    createdBy: `harvestd ${versionInfo().version}`,
    onError: (err) => log.limited(`parquet:${err.kind}`, "error", "parquet write failed", { ...err }),
  });
  const ndjson = new NdjsonSink({
    dir: cfg.storage.ndjson_dir,
    compress: cfg.storage.ndjson_compress,
    onError: (err, path) => log.limited("ndjson", "error", "ndjson write failed", { path, error: err.message }),
  });
  const engines = new Map<string, SymbolEngine>();
  for (const s of symbols) engines.set(s, new SymbolEngine(s, params, parquet));
  const router = new FrameRouter(engines, ndjson, log);

  const plans = planConnections(symbols, cfg.feed.enable_orderbook);
  const connections = plans.map(
    (plan) =>
      new StreamConnection(
        plan,
        {
          baseUrl: plan.route === "public" ? cfg.endpoints.public_ws : cfg.endpoints.market_ws,
          pingIntervalMs: cfg.feed.ping_interval_sec * 1000,
          heartbeatTimeoutMs: cfg.feed.heartbeat_timeout_sec * 1000,
          reconnectDelayMs: cfg.feed.reconnect_delay_sec * 1000,
          reconnectMaxDelayMs: cfg.feed.reconnect_max_delay_sec * 1000,
          maxFrameBytes: cfg.feed.max_frame_bytes,
        },
        router,
      ),
  );

  const parts: CollectorParts = {
    cfg,
    startedAtMs,
    symbols,
    engines,
    router,
    connections,
    parquet,
    ndjson,
    diskFreeBytes: () => diskFree([cfg.storage.output_dir, cfg.storage.preview_dir, cfg.storage.ndjson_dir]),
    diskFloorBytes: DISK_FREE_FLOOR_BYTES,
  };

  let http: HttpServer | null = null;
  if (cfg.http.listen !== "") {
    try {
      http = startHttpServer(cfg.http.listen, cfg.http.token, {
        status: () => buildStatus(parts),
        health: () => buildHealth(parts),
        orderbook: (s) => buildOrderbook(parts, s),
      });
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
  for (const c of connections) c.start();

  const rotation = setInterval(() => parquet.tick(Date.now()), 250);
  const artifacts = setInterval(() => writeMetricsJson(cfg.storage.artifacts_dir, parts, log), 10_000);

  const reason = await waitForStop(cfg.run_hours);
  log.log("info", "stopping", { reason });

  clearInterval(rotation);
  clearInterval(artifacts);
  // Order matters: stop input first (writes the disconnect lines), then let the engines emit what
  // end of input means for them, then drain the sinks.
  for (const c of connections) c.stop();
  for (const e of engines.values()) e.finish();
  await Promise.all([parquet.close(), ndjson.close()]);
  writeMetricsJson(cfg.storage.artifacts_dir, parts, log);
  if (http !== null) await http.stop();
  const ps = parquet.status();
  log.log("info", "stopped", { parquetFiles: ps.filesWritten, parquetRows: ps.rowsWritten, rowsLost: ps.rowsLost, ndjsonLines: ndjson.status().linesWritten });
  return 0;
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

function diskFree(dirs: readonly string[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const d of dirs) {
    try {
      const s = statfsSync(d);
      min = Math.min(min, Number(s.bavail) * Number(s.bsize));
    } catch {
      min = 0;
    }
  }
  return min;
}

/** ARTIFACTS_DIR/metrics.json, replaced atomically so a reader never sees half a file. */
function writeMetricsJson(dir: string, parts: CollectorParts, log: Logger): void {
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, "metrics.json.partial");
    writeFileSync(tmp, JSON.stringify(buildStatus(parts), null, 1));
    renameSync(tmp, join(dir, "metrics.json"));
  } catch (e) {
    log.limited("metrics.json", "warn", "cannot write metrics.json", { error: (e as Error).message });
  }
}
