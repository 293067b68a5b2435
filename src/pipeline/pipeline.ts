/**
 * The one pipeline builder, used by `run`, by `replay` (inline and in every replay worker) and by
 * anything else that turns records into rows: it assembles the sinks (components), the row taps
 * (paper trading) and each symbol's processor (built-in engine, then custom stages) from the config.
 *
 *   records ─▶ SymbolProcessor (engine → custom stages) ─▶ taps (paper) ─▶ RowFanout ─▶ row sinks
 *   records ─▶ LineFanout ─▶ line sinks (NDJSON raw log, NATS)  [live only; replay reads the log]
 *
 * Extension points (docs/extending.md): a row sink goes into `rowSinks`, a line sink into
 * `lineSinks`, a tap into `taps`, a per-symbol stage into `stagesFor`.
 */
import { join } from "node:path";
import { SymbolEngine } from "../calc/symbol-engine.ts";
import { indicatorParams } from "../calc/params.ts";
import type { Config } from "../config/schema.ts";
import type { RowSink } from "../core/rows.ts";
import type { SymbolStage } from "../core/stage.ts";
import type { CustomIndicators } from "../indicators/custom-indicators.ts";
import { LineFanout, RowFanout, type LineSinkComponent, type RowSinkComponent, type SinkComponent } from "../sinks/component.ts";
import { NatsPublisher, type PublisherLog } from "../sinks/nats/publisher.ts";
import { NdjsonSink } from "../sinks/ndjson/ndjson-sink.ts";
import { ParquetSink } from "../sinks/parquet/parquet-sink.ts";
import type { MaintenanceEvent, ParquetSinkError } from "../sinks/parquet/sink-types.ts";
import type { StorageEvent } from "../sinks/storage/events-log.ts";
import type { Logger } from "../util/log.ts";
import { PaperTap, traderParams } from "../trading/paper/paper-tap.ts";
import { openModelFilter, type ModelFilter } from "../models/live.ts";
import { versionInfo } from "../util/version.ts";
import { SymbolProcessor, type BookSyncEvent, type FullDepthSetup } from "./symbol-processor.ts";
import { depthSyncOptions, VENUE_NAME } from "./venue.ts";

/** Where a replay writes, instead of the configured folders. */
export interface ReplayOutput {
  readonly outputDir: string;
  readonly previewDir: string;
  /** The Parquet writer Worker's script; a replay worker gets it from the main thread, which knows the executable. */
  readonly writerWorker?: string;
}

export type PipelineMode = { readonly kind: "live" } | { readonly kind: "replay"; readonly out?: ReplayOutput };

/** What the sinks meet along the way; the caller logs or prints it. */
export interface PipelineEvents {
  readonly parquetError: (err: ParquetSinkError) => void;
  readonly parquetMaintenance: (ev: MaintenanceEvent) => void;
  readonly ndjsonError?: (err: Error, path: string) => void;
  readonly ndjsonMaintenance?: (ev: StorageEvent) => void;
  /** The NATS publisher's log ([publish.nats] enable; live only). */
  readonly natsLog?: PublisherLog;
  /** Where the model filter logs a model that fails at a signal (default: stderr). */
  readonly modelLog?: Logger;
}

/** Sinks given instead of the configured ones (tests, benchmarks). */
export interface SinkOverride {
  readonly rowSinks?: readonly RowSinkComponent[];
  readonly lineSinks?: readonly LineSinkComponent[];
}

export class Pipeline {
  /** The Parquet writer; null when sinks were given instead. */
  readonly parquet: ParquetSink | null;
  /** The raw log; null in replay (its input is the raw log). */
  readonly ndjson: NdjsonSink | null;
  /** Publishes every raw-log line to JetStream ([publish.nats] enable, live only; start() it before use). */
  readonly nats: NatsPublisher | null;
  readonly paper: PaperTap | null;
  /** `[model]`: judges the strategy's entry signals (docs/models.md); null without a model, or without paper and testnet trading. */
  readonly model: ModelFilter | null;
  /**
   * Full-depth mode: where a book's snapshot requests go. The live collector points it at the feed;
   * replay leaves it doing nothing (the raw log holds every snapshot where it was applied).
   */
  requestDepthSnapshot: (symbol: string) => void = () => {};
  /** Full-depth mode: where a book's loss and regain of sync are told (the live processes' log; replay: nowhere). */
  bookSync: (symbol: string, e: BookSyncEvent) => void = () => {};
  /** Every sink, line sinks first: a tick hands raw-log lines to the OS before their rows go to Parquet. */
  readonly components: readonly SinkComponent[];
  readonly lines: LineFanout;
  /** Head of the row path: taps, then every row sink. */
  rows: RowSink;
  /** The row sinks without taps: where recovered past trades go (pastTrades). */
  private readonly fanout: RowSink;
  private readonly processors = new Map<string, SymbolProcessor>();
  private readonly params: ReturnType<typeof indicatorParams>;

  constructor(
    private readonly cfg: Config,
    readonly mode: PipelineMode,
    events: PipelineEvents,
    override: SinkOverride = {},
    /** Loaded custom indicators (loadCustomIndicators, before this: their kinds must be registered), or null. */
    readonly custom: CustomIndicators | null = null,
  ) {
    this.params = indicatorParams(cfg);
    const replay = mode.kind === "replay" ? (mode.out ?? { outputDir: cfg.storage.output_dir, previewDir: cfg.storage.preview_dir }) : null;
    // storage.write_parquet = false: a publishing collector leaves Parquet to `harvestd store`.
    const parquetOff = override.rowSinks !== undefined || (replay === null && !cfg.storage.write_parquet);
    this.parquet = parquetOff ? null : new ParquetSink({
      outputDir: replay?.outputDir ?? cfg.storage.output_dir,
      previewDir: replay?.previewDir ?? cfg.storage.preview_dir,
      rotateSec: cfg.storage.parquet_rotate_sec,
      orderbookRotateSec: cfg.storage.orderbook_rotate_sec,
      createdBy: `harvestd ${versionInfo().version}${replay === null ? "" : " replay"}`,
      // Replay waits for the writer instead (replay.ts), so nothing is ever dropped there: the
      // buffer bound protects live ingest only.
      maxBufferBytes: replay === null ? (cfg.storage.parquet_buffer_mb || cfg.storage.max_buffer_mb) * 1024 * 1024 : Number.MAX_SAFE_INTEGER,
      compaction: cfg.storage.compaction,
      stallMs: cfg.health.writer_stall_sec * 1000,
      dropAlertMs: cfg.health.drop_alert_sec * 1000,
      retentionDays: replay === null ? cfg.storage.retention_days_parquet : 0,
      // Live: memory at every moment matters more than the writer's last 1 % of CPU; a replay
      // writes hundreds of batches a second and needs the time (writer-worker.ts).
      lowMemory: replay === null,
      // The input has ended when replay closes the sink: every hour it wrote is complete. Hours it
      // did not write are left to the collector that owns them.
      ...(replay === null ? {} : { compactAllOnClose: true, compactionScanAtStart: false }),
      ...(replay?.writerWorker === undefined ? {} : { workerSpecifier: replay.writerWorker }),
      onError: events.parquetError,
      onMaintenance: events.parquetMaintenance,
    });
    this.ndjson =
      replay === null && override.lineSinks === undefined
        ? new NdjsonSink({
            dir: cfg.storage.ndjson_dir,
            compress: cfg.storage.ndjson_compress,
            fsync: cfg.storage.ndjson_fsync,
            stallMs: cfg.health.writer_stall_sec * 1000,
            dropAlertMs: cfg.health.drop_alert_sec * 1000,
            maxBufferBytes: cfg.storage.max_buffer_mb * 1024 * 1024,
            retentionDays: cfg.storage.retention_days_ndjson,
            ...(events.ndjsonMaintenance === undefined ? {} : { onMaintenance: events.ndjsonMaintenance }),
            ...(events.ndjsonError === undefined ? {} : { onError: events.ndjsonError }),
          })
        : null;
    const ndjson = this.ndjson;
    this.nats =
      ndjson !== null && cfg.publish.nats.enable
        ? new NatsPublisher({
            params: cfg.publish.nats,
            exchange: VENUE_NAME,
            ndjsonDir: cfg.storage.ndjson_dir,
            flushLog: () => ndjson.flush(),
            stateFile: join(cfg.storage.artifacts_dir, "nats-publish-state.json"),
            log: events.natsLog ?? { log() {}, limited() {} },
          })
        : null;
    // The log first: what the publisher misses it catches up from the log.
    const lineSinks = override.lineSinks ?? [...(ndjson === null ? [] : [ndjson]), ...(this.nats === null ? [] : [this.nats])];
    const rowSinks = override.rowSinks ?? (this.parquet === null ? [] : [this.parquet]);
    this.lines = new LineFanout(lineSinks);
    const fanout: RowSink = rowSinks.length === 1 ? rowSinks[0]! : new RowFanout(rowSinks);
    // Taps see exactly the rows the engines write, in live and replay alike, and add their own.
    // The model filter sees each row just before the strategy does; its decisions go to the sinks.
    const model = cfg.paper.enable || cfg.trade.enable ? openModelFilter(cfg.model, fanout, events.modelLog) : { ok: true as const, filter: null };
    if (!model.ok) throw new Error(model.error); // validated at start (exit 78); here only if the file changed since
    this.model = model.filter;
    this.paper = cfg.paper.enable ? new PaperTap(fanout, traderParams(cfg), this.model) : null;
    this.rows = this.paper !== null && this.model !== null ? this.model.tap(this.paper) : (this.paper ?? fanout);
    this.fanout = fanout;
    this.components = [...lineSinks, ...rowSinks];
  }

  /**
   * Puts a tap in front of the row path (testnet trading, live only), before any symbol's processor
   * exists: every processor built later writes through it.
   */
  addTap(wrap: (inner: RowSink) => RowSink): void {
    if (this.processors.size > 0) throw new Error("pipeline: taps must be added before the first symbol's processor");
    this.rows = wrap(this.rows);
  }

  /**
   * The symbol's processor, created on first use and after `finish`: fresh state, as a new process
   * starts with. `depth`: its book mode when it is created (replay: the mode the log shows; default
   * feed.depth).
   */
  processor(symbol: string, depth: Config["feed"]["depth"] = this.cfg.feed.depth): SymbolProcessor {
    let p = this.processors.get(symbol);
    if (p === undefined) {
      p = new SymbolProcessor(symbol, new SymbolEngine(symbol, this.params, this.rows), this.stagesFor(symbol), this.fullDepth(depth));
      this.processors.set(symbol, p);
    }
    return p;
  }

  /**
   * Trades of a symbol's past recovered over REST (`harvestd backfill`, and replay of its
   * `backfill-*` files): an engine of its own whose prices rows, and only those, go to the row sinks.
   * The symbol's processor, its taps and its derived kinds are not touched: those were computed
   * without the missing trades at the time, and a fresh engine's indicators over a hole would only
   * add a second, unrelated series for the same hours (docs/feed.md, "harvestd backfill").
   */
  pastTrades(symbol: string): SymbolEngine {
    const sink = this.fanout;
    return new SymbolEngine(symbol, this.params, { append: (kind, row) => (kind === "prices" ? sink.append(kind, row) : undefined) });
  }

  /**
   * End of a symbol's input (shutdown; the end of its files or a `session` line in replay): pending
   * rows are emitted, its open paper position is closed, and its state is forgotten.
   */
  finish(symbol: string): void {
    const p = this.processors.get(symbol);
    if (p === undefined) return;
    this.processors.delete(symbol);
    p.finish();
    this.paper?.finish(symbol);
    this.model?.forget(symbol);
  }

  /** The symbols being processed now. */
  get symbols(): ReadonlyMap<string, SymbolProcessor> {
    return this.processors;
  }

  /** Line sinks first: every line of the rows about to be written is handed to the OS first. */
  tick(nowMs: number): void {
    for (const c of this.components) c.tick(nowMs);
  }

  /** Ends every symbol's input, then closes every sink (all data on disk, or reported lost). */
  async close(): Promise<void> {
    for (const symbol of [...this.processors.keys()]) this.finish(symbol);
    await Promise.all(this.components.map((c) => c.close()));
  }

  /** The configured feed.depth (replay takes each session's mode from the log instead). */
  get depthMode(): Config["feed"]["depth"] {
    return this.cfg.feed.depth;
  }

  /** feed.depth = "full": every processor keeps the full book (docs/depth.md); null at depth5. */
  private fullDepth(depth: Config["feed"]["depth"]): FullDepthSetup | null {
    const f = this.cfg.feed;
    if (depth !== "full" || !f.enable_orderbook) return null;
    return { options: depthSyncOptions(f), rows: this.rows, requestSnapshot: (s) => this.requestDepthSnapshot(s), onSync: (s, e) => this.bookSync(s, e) };
  }

  /** Per-symbol stages after the built-in engine (custom indicators). */
  private stagesFor(symbol: string): SymbolStage[] {
    return this.custom === null ? [] : [this.custom.host(symbol, this.rows)];
  }
}
