/**
 * The live collector: exchange adapter → ingest → pipeline (engines, taps, sinks). `harvestd run`
 * (cli/run.ts) starts it, puts the HTTP surface on top, and stops it on a signal or when run_hours
 * elapse. Stopping is ordered: input first (held frames and unfinished backfills are written, then
 * the disconnect lines), then what end of input means for the engines and taps, then the sinks drain.
 */
import { HeapCap } from "../util/heap-cap.ts";
import { loggedWallClockWatch, WALL_CLOCK_LOOK_EVERY_MS } from "../util/wall-clock-watch.ts";
import { traceBuffersFromEnv } from "../util/buffer-trace.ts";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { sessionLine } from "../core/raw-log.ts";
import { bookSyncLog } from "./book-sync-log.ts";
import { lastStoredTrades } from "./stored-trades.ts";
import { markerPath, noteCompaction, recoverPreviousRun, writeMarker, type RunMarker } from "./recovery.ts";
import { removeLeftovers } from "../sinks/storage/cleanup.ts";
import { logStorageEvent } from "../sinks/storage/events-log.ts";
import { loadCustomIndicators, type CustomIndicators } from "../indicators/custom-indicators.ts";
import type { Logger } from "../util/log.ts";
import { versionInfo } from "../util/version.ts";
import { FeedGroup } from "./feed-group.ts";
import { Ingest } from "./ingest.ts";
import { Pipeline } from "./pipeline.ts";
import { startTrading, tradeStopBudgetMs } from "./trading.ts";
import { exchangeAdapter } from "./venue.ts";
import { buildStatus, chartPoint, collectorParts, type CollectorParts } from "./status.ts";

/** Exit code when the NATS stream or credentials do not match the configuration (sysexits EX_CONFIG). */
export const EXIT_NATS_REFUSED = 78;

/** How often sinks are ticked: lines to the OS, rotations, retries. */
const SINK_TICK_MS = 250;
const HEAP_CHECK_EVERY_MS = 1000;
const METRICS_JSON_EVERY_MS = 10_000;
const CHART_SAMPLE_EVERY_MS = 1000;
/** How often the listing's answer is looked at for new symbols (the venue itself is asked every feed.listing_check_min). */
const LISTING_POLL_MS = 1000;

export interface Collector {
  readonly parts: CollectorParts;
  /** Opens the connections: records start to flow. */
  start(): void;
  /**
   * Stops input, finishes the engines and drains every sink (also when never started). Resolves with
   * how long each step took (ms), for the `stopped` log line.
   */
  stop(): Promise<Readonly<Record<string, number>> | void>;
}

/** Builds the collector, sinks open, connections not yet; a failure is one line on stderr and the exit code to return. */
export async function createCollector(cfg: Config, log: Logger): Promise<Collector | number> {
  const startedAtMs = Date.now();
  // A diagnosis (HARVESTD_BUFFER_TRACE): started before any engine or sink makes its buffers.
  const stopTrace = traceBuffersFromEnv("ingest");
  const adapter = exchangeAdapter(cfg, log);
  let symbols: readonly string[];
  try {
    symbols = await adapter.resolveSymbols(cfg.symbols);
  } catch (e) {
    log.log("error", "cannot resolve SYMBOLS=ALL", { error: (e as Error).message });
    process.stderr.write(`harvestd: cannot resolve symbols=ALL from ${cfg.endpoints.rest}: ${(e as Error).message}\n`);
    stopTrace?.();
    return 1;
  }

  // Before any writer starts: `.partial` files and staging debris of a crashed run (docs/storage.md).
  const leftovers = removeLeftovers([cfg.storage.output_dir, cfg.storage.preview_dir, cfg.storage.ndjson_dir]);
  if (leftovers.removed.length > 0 || leftovers.failed.length > 0) {
    log.log("warn", "removed leftovers of an interrupted run (their data is in the NDJSON raw log)", {
      removed: leftovers.removed.length,
      paths: leftovers.removed.slice(0, 20),
      failed: leftovers.failed,
    });
  }
  // A restart continues each trade stream after the last trade the raw log holds (docs/feed.md,
  // restarts). Read before the NDJSON sink starts: its sweep compresses the closed hours read here.
  const resume = await resumePoints(cfg, symbols, log);
  // Custom indicators first: the sinks need their kinds (the command has already checked the modules).
  let custom: CustomIndicators | null;
  try {
    custom = await loadCustomIndicators(cfg.indicators.custom, log);
  } catch (e) {
    process.stderr.write(`harvestd: ${(e as Error).message}\n`);
    return 78;
  }
  if (custom !== null) log.log("info", "custom indicators loaded", { indicators: custom.loaded.map((l) => ({ name: l.name, kind: l.kind, file: l.file })) });
  // Before any writer starts: a killed earlier run's Parquet is made whole from its log (recovery.ts,
  // docs/storage.md "Crash recovery"). Without Parquet (storage.write_parquet = false) there is nothing to recover.
  const markerFile = markerPath(cfg, "collector-run");
  const marker: RunMarker | null = cfg.storage.write_parquet ? await recoverPreviousRun(cfg, "collector-run", adapter.rawLog, custom, log) : null;
  const saveMarker = (m: RunMarker): void => {
    try {
      writeMarker(markerFile, m);
    } catch (e) {
      log.limited("run-marker", "warn", "cannot write the run marker: a crash of this run would not be recovered at the next start", { path: markerFile, error: (e as Error).message });
    }
  };
  const pipeline = new Pipeline(cfg, { kind: "live" }, {
    parquetError: (err) => log.limited(`parquet:${err.kind}`, "error", "parquet write failed", { ...err }),
    parquetMaintenance: (ev) => {
      logStorageEvent(log, "parquet", ev);
      if (marker !== null && ev.type === "compacted" && noteCompaction(marker, ev.path)) saveMarker(marker);
    },
    ndjsonError: (err, path) => log.limited("ndjson", "error", "ndjson write failed", { path, error: err.message }),
    ndjsonMaintenance: (ev) => logStorageEvent(log, "ndjson", ev),
    natsLog: log,
    modelLog: log,
  }, {}, custom);
  if (pipeline.nats !== null) {
    // Unreachable NATS is not an error (the log is kept and published later); a stream with other
    // settings, or unreadable credentials, is: nothing retrying would fix it.
    const r = await pipeline.nats.start();
    if (!r.ok) {
      log.log("error", "nats publishing refused", { error: r.error });
      process.stderr.write(`harvestd: publish.nats: ${r.error}\n`);
      await pipeline.close();
      return EXIT_NATS_REFUSED;
    }
  }
  // Testnet trading starts before any record flows: reconciled, protected and armed first.
  const trading = cfg.trade.enable ? await startTrading(cfg, symbols, pipeline, log) : null;
  if (typeof trading === "number") {
    await pipeline.close();
    return trading;
  }
  const ingest = new Ingest(symbols, pipeline);
  const feed = new FeedGroup(adapter.openFeed(symbols, ingest, { resume, all: cfg.symbols === "ALL" }), symbols);
  // Full-depth mode: a book that wants a snapshot asks the feed; the answer comes back through ingest.
  pipeline.requestDepthSnapshot = (symbol) => feed.requestDepthSnapshot?.(symbol);
  pipeline.bookSync = bookSyncLog(log);
  const heapCap = new HeapCap();
  const wallClock = loggedWallClockWatch(log);
  const parts = collectorParts({ cfg, startedAtMs, symbols, feed, ingest, pipeline, parseStream: adapter.parseStream, trading, heapPauses: heapCap.pauses, wallClock });

  /**
   * symbols = "ALL": what the venue lists while the collector runs is collected from then on, on
   * connections of its own (docs/feed.md, "Listings"). Each symbol's session starts at its first line.
   */
  const collectNewListings = (): void => {
    const fresh = feed.listing()?.notCollected ?? [];
    if (fresh.length === 0) return;
    const at = Date.now();
    const line = sessionLine(at, versionInfo().version);
    for (const s of fresh) {
      ingest.addSymbol(s);
      parts.addSymbol(s);
      if (marker !== null) marker.sessions[s] = at;
    }
    if (marker !== null) saveMarker(marker);
    for (const s of fresh) pipeline.lines.append(s, at, line);
    feed.add(adapter.openFeed(fresh, ingest, { watchVenue: false }), fresh);
    log.log("info", "collecting new listings", { symbols: fresh, collected: parts.symbols.length });
  };

  const timers: ReturnType<typeof setInterval>[] = [];
  // One write at a time: two overlapping writes of the same .partial could rename a half-written file.
  let metricsWrite: Promise<void> = Promise.resolve();
  const writeMetrics = (): Promise<void> => (metricsWrite = metricsWrite.then(() => writeMetricsJson(cfg.storage.artifacts_dir, parts, log)));
  let started = false;

  return {
    parts,
    start() {
      started = true;
      // A new process starts with fresh indicator state: replay starts fresh engines at this line.
      const sessionStart = Date.now();
      const line = sessionLine(sessionStart, versionInfo().version);
      if (marker !== null) {
        // On disk before the first line of the session: a crash from here on is recovered.
        for (const s of symbols) marker.sessions[s] = sessionStart;
        saveMarker(marker);
      }
      for (const s of symbols) pipeline.lines.append(s, sessionStart, line);
      feed.start();
      timers.push(
        setInterval(() => pipeline.tick(Date.now()), SINK_TICK_MS),
        setInterval(() => void writeMetrics(), METRICS_JSON_EVERY_MS),
        setInterval(() => parts.history.sample(Date.now(), (s) => chartPoint(parts, s)), CHART_SAMPLE_EVERY_MS),
        setInterval(() => heapCap.check(performance.now()), HEAP_CHECK_EVERY_MS),
        setInterval(() => wallClock.look(), WALL_CLOCK_LOOK_EVERY_MS),
      );
      if (cfg.symbols === "ALL") timers.push(setInterval(collectNewListings, LISTING_POLL_MS));
    },
    async stop() {
      const steps: Record<string, number> = {};
      let t0 = performance.now();
      const lap = (step: string) => {
        const now = performance.now();
        steps[step] = Math.round(now - t0);
        t0 = now;
      };
      for (const t of timers) clearInterval(t);
      stopTrace?.();
      if (started) feed.stop();
      lap("feed");
      // Orders cancelled (and positions closed with flatten_on_exit) while the sinks still take the
      // fills; within a share of the shutdown deadline, so the sinks are flushed whatever the venue does.
      if (trading !== null) await trading.stop(cfg.trade.flatten_on_exit, tradeStopBudgetMs(cfg.shutdown_timeout_sec));
      await pipeline.close();
      lap("sinks");
      // Clean only with every row on disk: rows the writer lost are recovered at the next start.
      if (marker !== null && (pipeline.parquet?.status().rowsLost ?? 0) === 0) {
        marker.clean = true;
        saveMarker(marker);
      }
      if (started) await writeMetrics();
      lap("metrics_json");
      return steps;
    },
  };
}

/** Per symbol, the last trade id the NDJSON raw log holds (symbols without one start afresh). */
async function resumePoints(cfg: Config, symbols: readonly string[], log: Logger): Promise<Map<string, number>> {
  const t0 = performance.now();
  const out = new Map<string, number>();
  try {
    for (const [symbol, t] of await lastStoredTrades(cfg.storage.ndjson_dir, symbols)) out.set(symbol, t.id);
  } catch (e) {
    // Not fatal: without a resume point the trades of the down time are not fetched, nothing else changes.
    log.log("warn", "cannot read the last stored trades: the down time is not backfilled", { error: (e as Error).message });
  }
  if (out.size > 0) log.log("info", "resuming after the last stored trades", { symbols: out.size, read_ms: Math.round(performance.now() - t0) });
  return out;
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
