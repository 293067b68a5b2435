/**
 * `harvestd store`: the storage side of a scale-out deployment (docs/scale-out.md). Records come from
 * the JetStream stream the collectors publish to (stream-feed.ts) instead of exchange sockets; from
 * the stream gate on, everything is the collector's own pipeline — ingest, engines, NDJSON raw log,
 * Parquet — so the store writes what one collector with a perfect connection would have written, and
 * `harvestd replay` of its log reproduces its Parquet.
 *
 * Start order: NATS is opened (the consumer's lease taken, the stream and consumer checked; another
 * store on the consumer or a mismatch is refused) for up to OPEN_WAIT_MS, then, whether it answered
 * or not, an interrupted earlier run's Parquet is made whole from the log (../recovery.ts), the last
 * logged ids are read back (resume.ts) and the HTTP surface comes up; the consumer loop starts once
 * NATS has answered, each symbol's session line at its first record.
 */
import { bookSyncLog } from "../book-sync-log.ts";
import type { Config } from "../../config/schema.ts";
import { sessionLine } from "../../core/raw-log.ts";
import { natsErrorText } from "../../sinks/nats/connection.ts";
import { removeLeftovers } from "../../sinks/storage/cleanup.ts";
import { logStorageEvent } from "../../sinks/storage/events-log.ts";
import { loadCustomIndicators } from "../../indicators/custom-indicators.ts";
import type { Logger } from "../../util/log.ts";
import { versionInfo } from "../../util/version.ts";
import type { Collector } from "../collector.ts";
import { Ingest } from "../ingest.ts";
import { Pipeline } from "../pipeline.ts";
import { chartPoint, collectorParts } from "../status.ts";
import { StreamConsumer, type OpenResult } from "./consumer.ts";
import { markerPath, noteCompaction, recoverPreviousRun, writeMarker } from "../recovery.ts";
import { lastLoggedIds, type LastIds } from "./resume.ts";
import { StreamFeed } from "./stream-feed.ts";
import { exchangeAdapter } from "../venue.ts";
import { storeHealthReasons, storeMetrics, storeStatus } from "./store-status.ts";
import { loggedWallClockWatch, WALL_CLOCK_LOOK_EVERY_MS } from "../../util/wall-clock-watch.ts";

const SINK_TICK_MS = 250;
const CHART_SAMPLE_EVERY_MS = 1000;

export interface Store extends Collector {
  readonly feed: StreamFeed;
  readonly consumer: StreamConsumer;
}

/**
 * Settings the store cannot honour. Testnet trading runs in `harvestd run` only: a store that took
 * `[trade] enable = true` and did not trade would let its user believe it does.
 */
export function storeConfigProblems(cfg: Config): { readonly path: string; readonly message: string }[] {
  return cfg.trade.enable ? [STORE_DOES_NOT_TRADE] : [];
}

const STORE_DOES_NOT_TRADE = { path: "trade.enable", message: 'the store does not trade: run the trader in one "harvestd run" (docs/scale-out.md), and leave [trade] off here' } as const;

/**
 * A configuration that does not load, as the store reports it: the store ignores [trade] but its
 * `enable`, so what is wrong inside [trade] (trade.enable without trade.symbols, say) is the store's
 * one refusal, "the store does not trade", not the trader's complaint.
 */
export function storeLoadProblems<P extends { readonly path: string; readonly source: string; readonly message: string }>(problems: readonly P[]): P[] {
  const trade = problems.filter((x) => x.path === "trade" || x.path.startsWith("trade."));
  if (trade.length === 0) return [...problems];
  return [{ ...trade[0]!, ...STORE_DOES_NOT_TRADE }, ...problems.filter((x) => !trade.includes(x))];
}

/** Exit code 78: the stream or consumer does not match the configuration (nothing retrying fixes). */
export const STORE_MISMATCH = 78;
/** How long the start waits for NATS before the HTTP surface comes up regardless. */
const OPEN_WAIT_MS = 3_000;

function refuse(r: Extract<OpenResult, { ok: false }>, consumer: StreamConsumer): number {
  process.stderr.write(`harvestd: store: ${r.error}\n`);
  void consumer.close();
  return STORE_MISMATCH;
}

export async function createStore(cfg: Config, log: Logger): Promise<Store | number> {
  const startedAtMs = Date.now();
  const p = cfg.publish.nats;
  const adapter = exchangeAdapter(cfg, log);
  let symbols: readonly string[];
  try {
    symbols = await adapter.resolveSymbols(cfg.symbols);
  } catch (e) {
    process.stderr.write(`harvestd: cannot resolve symbols=ALL from ${cfg.endpoints.rest}: ${(e as Error).message}\n`);
    return 1;
  }

  const consumer = new StreamConsumer(p, `harvestd-store-${p.consumer}`, cfg.storage.ndjson_dir);
  log.log("info", "store: connecting to nats", { servers: p.servers.length, stream: p.stream, consumer: p.consumer });
  // Opening retries until NATS answers, which may take long: the store's HTTP surface (its /health
  // saying why nothing is stored) does not wait for it. What is refused at once (another store on
  // the consumer, a stream or consumer with other settings) is refused before anything starts.
  const opening = consumer.open(log).catch((e: Error): OpenResult => ({ ok: false, code: "mismatch", error: natsErrorText(e, p.servers) }));
  const early = await Promise.race([opening, Bun.sleep(OPEN_WAIT_MS).then(() => null)]);
  if (early !== null && !early.ok) return refuse(early, consumer);
  const leftovers = removeLeftovers([cfg.storage.output_dir, cfg.storage.preview_dir, cfg.storage.ndjson_dir]);
  if (leftovers.removed.length > 0) log.log("warn", "removed leftovers of an interrupted run", { removed: leftovers.removed.length });
  // Custom indicators run here as in the collector (the command has checked the modules), also in
  // the recovery of an interrupted earlier run (../recovery.ts).
  const custom = await loadCustomIndicators(cfg.indicators.custom, log);
  const markerFile = markerPath(cfg, "store-run");
  const marker = await recoverPreviousRun(cfg, "store-run", adapter.rawLog, custom, log);
  // The store consumes the stream and never publishes to it (its lines would come back to it): a
  // configuration shared with the collectors may say `enable = true`, which is theirs.
  const pipelineCfg: Config = { ...cfg, publish: { ...cfg.publish, nats: { ...cfg.publish.nats, enable: false } } };
  const pipeline = new Pipeline(pipelineCfg, { kind: "live" }, {
    parquetError: (err) => log.limited(`parquet:${err.kind}`, "error", "parquet write failed", { ...err }),
    parquetMaintenance: (ev) => {
      logStorageEvent(log, "parquet", ev);
      if (ev.type === "compacted" && noteCompaction(marker, ev.path)) writeMarker(markerFile, marker);
    },
    ndjsonError: (err, path) => log.limited("ndjson", "error", "ndjson write failed", { path, error: err.message }),
    ndjsonMaintenance: (ev) => logStorageEvent(log, "ndjson", ev),
  }, {}, custom);
  const ndjson = pipeline.ndjson!;
  const ingest = new Ingest(symbols, pipeline);
  const resume = new Map<string, LastIds>();
  for (const s of symbols) resume.set(s, await lastLoggedIds(cfg.storage.ndjson_dir, adapter.name, s, Date.now()));
  /**
   * A symbol's session starts at its first record, at that record's receipt time (the collectors'
   * clock) but never before the last line the log already has: the log stays in time order, so
   * replay reads it in the order it was applied, and backlog records keep their receipt times.
   */
  const beginSession = (symbol: string, firstTsRecv: number): void => {
    const ts = Math.max(firstTsRecv, (resume.get(symbol)?.lastTs ?? 0) + 1);
    pipeline.lines.append(symbol, ts, sessionLine(ts, versionInfo().version));
    ingest.stats.get(symbol)!.lastLineTsMs = ts;
    marker.sessions[symbol] = ts;
    writeMarker(markerFile, marker);
  };
  const feed = new StreamFeed({ symbols, params: p, adapter, consumer, out: ingest, flushLog: () => ndjson.flush(), resume, beginSession, log });
  pipeline.requestDepthSnapshot = (symbol) => feed.requestDepthSnapshot(symbol);
  pipeline.bookSync = bookSyncLog(log);
  const wallClock = loggedWallClockWatch(log);
  const limits = { quietMs: cfg.health.depth_timeout_sec * 1000, ackStallMs: cfg.health.writer_stall_sec * 1000 };
  const parts = collectorParts({
    cfg,
    startedAtMs,
    symbols,
    feed,
    ingest,
    pipeline,
    parseStream: adapter.parseStream,
    wallClock,
    source: {
      name: "store",
      status: () => storeStatus(feed, consumer),
      healthReasons: (now: number) => storeHealthReasons(feed, consumer, now, limits, startedAtMs),
      metrics: () => storeMetrics(feed, consumer),
    },
  });

  const timers: ReturnType<typeof setInterval>[] = [];
  let started = false;
  let feedOn = true;
  return {
    parts,
    feed,
    consumer,
    start() {
      started = true;
      writeMarker(markerFile, marker);
      void opening.then(async (r) => {
        if (!started) return;
        if (!r.ok) {
          // Refused after the start (NATS came late): nothing was consumed; exit as a refusal at the start would.
          log.log("error", "store: refused", { error: r.error });
          await pipeline.close();
          marker.clean = true;
          writeMarker(markerFile, marker);
          process.exit(refuse(r, consumer));
        }
        if (consumer.restartedAtSeq !== null) log.log("warn", "store: an earlier run left messages unacknowledged; consumer restarted at its acknowledgement floor", { stream_seq: consumer.restartedAtSeq });
        if (!consumer.ready || !feedOn) return;
        feed.start();
        log.log("info", "store: consuming", { symbols: symbols.length, stream: p.stream, consumer: p.consumer });
      });
      timers.push(
        setInterval(() => pipeline.tick(Date.now()), SINK_TICK_MS),
        setInterval(() => parts.history.sample(Date.now(), (s) => chartPoint(parts, s)), CHART_SAMPLE_EVERY_MS),
        setInterval(() => wallClock.look(), WALL_CLOCK_LOOK_EVERY_MS),
      );
    },
    async stop() {
      feedOn = false;
      for (const t of timers) clearInterval(t);
      consumer.stop();
      if (started) await feed.drain();
      await pipeline.close();
      await consumer.close();
      if (started) {
        marker.clean = true;
        writeMarker(markerFile, marker);
      }
    },
  };
}
