/**
 * ParquetSink: the ingest-thread side of the Parquet writer.
 *
 * `append` only copies a row into the columnar builder of its (kind, symbol, UTC hour); it never
 * waits on disk or encoding and never throws. Batches are handed to writer-worker.ts (transferred
 * ArrayBuffers, no copy) on rotation (`tick`), when they reach the row cap, and on `flush`/`close`.
 *
 * A write that fails (disk full, permission, read-only filesystem) is held by the worker and tried
 * again every `retryMs` until it succeeds. Everything handed over and not yet written counts
 * against `maxBufferBytes`; a batch that would go past it is spilled to disk as it is (spill.ts)
 * and handed over, in order, once the writer has room: a writer that cannot keep up costs disk,
 * never rows, and never memory past the bound. Only a failing spill write drops (counted). Writer failures land in `status()` and the `onError`
 * callback, never in the ingest path.
 */
import { RAW_KINDS, customSchemaEntries, sinkKinds, type Row, type SinkKind } from "../../core/rows.ts";
import type { StorageEvent } from "../storage/events-log.ts";
import { RotationClock, rotationPeriodMs } from "../rotation.ts";
import { BufferPool } from "../../util/buffer-pool.ts";
import { chunkTransferList, ColumnBatchBuilder, transferList, type ColumnBatch } from "./columns.ts";
import { workerEntry } from "../../util/worker-entry.ts";
import { RECENT_DROP_MS, verdict, type ComponentHealth, type RowSinkComponent } from "../component.ts";
import { DEFAULT_ROW_GROUP_SIZE } from "./encode.ts";
import type { CompactedReply, FromWorker, ToWorker, WriteErrorInfo, WrittenReply } from "./protocol.ts";
import { SpillQueue, type Spilled, type SpillWriteResult } from "./spill.ts";
import { makeStagingDir } from "../storage/staging.ts";

export type { WriteErrorInfo } from "./protocol.ts";

export interface ParquetSinkOptions {
  /** OUTPUT_DIR: root of the raw kinds (prices, orderbook). */
  readonly outputDir: string;
  /** PREVIEW_DIR: root of the derived kinds (ofi, cvd, fusion, events, features). */
  readonly previewDir: string;
  /** PARQUET_ROTATE_SEC: rotation of prices and of every preview kind. */
  readonly rotateSec: number;
  /** ORDERBOOK_ROTATE_SEC: rotation of orderbook. */
  readonly orderbookRotateSec: number;
  /** A batch reaching this many rows is handed over at once, before its rotation is due. */
  readonly maxRowsPerFile?: number;
  readonly rowGroupSize?: number;
  /** FileMetaData.created_by, e.g. `harvestd 0.1.0`. */
  readonly createdBy?: string;
  readonly zstdLevel?: number;
  /** Bound on data handed to the writer and not yet on disk (default 256 MiB). */
  readonly maxBufferBytes?: number;
  /** Delay between attempts at a failed write (default 1 s). */
  readonly retryMs?: number;
  /** Merge each closed UTC hour's parts into one file (default true). */
  readonly compaction?: boolean;
  /** Also look for closed hours earlier runs left uncompacted (default: with compaction). */
  readonly compactionScanAtStart?: boolean;
  /** On close, compact every hour written, closed or not (replay: the input has ended). */
  readonly compactAllOnClose?: boolean;
  /** Delete date partitions older than this many days; 0 (default) keeps everything. */
  readonly retentionDays?: number;
  /**
   * The writer keeps its memory low: a collection of its heap after every batch, and the pages of
   * files being built spooled to disk (page-spool.ts). For the live collector; off for replay,
   * which writes hundreds of batches a second and needs the time more than the memory.
   */
  readonly lowMemory?: boolean;
  /** Batches pending and none settled for this long: health names the writer as stalled (default 60 s). */
  readonly stallMs?: number;
  /** Overrides where the worker script is found (see writerWorkerSpecifier). */
  readonly workerSpecifier?: string;
  /** Called on the ingest thread for every failed or dropped write; must not throw (it is guarded anyway). */
  readonly onError?: (error: ParquetSinkError) => void;
  /** Called on the ingest thread for every committed file. */
  readonly onFile?: (file: ParquetFileInfo) => void;
  /** Compactions, retention, recoveries and maintenance problems, for the log. */
  readonly onMaintenance?: (event: MaintenanceEvent) => void;
  /** Wall clock for status timestamps; injectable for tests. */
  readonly now?: () => number;
}

export interface ParquetFileInfo {
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly encodeMs: number;
  readonly atMs: number;
}

/** What happened to a write that did not go through. */
export type WriteFailureOutcome = "held" | "dropped";

export interface ParquetSinkError extends WriteErrorInfo {
  /** Empty for a worker failure that is not about one batch. */
  readonly kind: SinkKind | "";
  readonly symbol: string;
  /** Rows of the batch concerned. */
  readonly rows: number;
  /** `held`: kept and retried; `dropped`: these rows will not reach a Parquet file. */
  readonly outcome: WriteFailureOutcome;
  readonly atMs: number;
}

export type MaintenanceEvent = StorageEvent;

export type WorkerState = "starting" | "ready" | "closing" | "closed" | "failed";

export interface ParquetSinkStatus {
  readonly filesWritten: number;
  readonly rowsWritten: number;
  readonly bytesWritten: number;
  /** Rows collected in builders, not yet handed to the worker. */
  readonly rowsBuffered: number;
  /** Batches handed to the worker and not yet written (queued, being written, or held). */
  readonly batchesPending: number;
  readonly rowsPending: number;
  /** Memory those batches hold; never above `maxBufferBytes`. */
  readonly bytesPending: number;
  /**
   * Raw bytes of rows still being collected whose full chunks were sent ahead to the writer (which
   * holds them as encoded pages): part of the collected rows, like `rowsBuffered`, not of `bytesPending`
   * until their batch is handed over.
   */
  readonly bytesSentAhead: number;
  /** Chunk buffers the writer sent back once encoded, chunks the builders cut from reused memory, and the bytes waiting for them now. */
  readonly chunkBuffersReturned: number;
  readonly chunkMemoryReused: number;
  readonly chunkPoolBytes: number;
  readonly maxBufferBytes: number;
  /** Batches whose write failed, held by the worker and retried. */
  readonly batchesHeld: number;
  readonly rowsHeld: number;
  /** Write attempts that failed (a held batch counts once per failure report). */
  readonly writeErrors: number;
  /** Batches over the buffer bound, waiting on disk to be handed over (spill.ts). */
  readonly batchesSpilled: number;
  readonly rowsSpilled: number;
  readonly bytesSpilled: number;
  /** Rows that ever went through the spill. */
  readonly rowsSpilledTotal: number;
  /** Rows committed per second over the last ~10 s (null until measured). */
  readonly drainRowsPerSec: number | null;
  /** Backlog (rows pending + spilled) divided by that rate; 0 without backlog, null when unknown. */
  readonly drainEtaSec: number | null;
  /** Rows dropped because the buffer bound was reached and the spill failed (included in rowsLost). */
  readonly rowsDropped: number;
  /** When the bound last made the sink drop a batch (null: never). */
  readonly lastDropAtMs: number | null;
  /** Rows that will never reach a Parquet file: dropped, unencodable, given up at close, worker crash. */
  readonly rowsLost: number;
  /** Rows refused by `append` because they did not fit the kind's schema. */
  readonly rowsRejected: number;
  readonly lastRejection: string | null;
  readonly lastError: ParquetSinkError | null;
  /** Latest committed file per symbol, then per kind. */
  readonly lastFiles: Readonly<Record<string, Readonly<Partial<Record<SinkKind, ParquetFileInfo>>>>>;
  readonly lastFileAtMs: number | null;
  readonly encodeMsTotal: number;
  /** Time the writer spent committing files (write, sync, rename), ms. */
  readonly writeMsTotal: number;
  readonly workerState: WorkerState;
  /** Kinds with a held (failed, not yet written) batch. */
  readonly failingKinds: readonly SinkKind[];
  /** errno code of the latest failure of a held batch (ENOSPC, EACCES, ...); null when none is held. */
  readonly heldErrorCode: string | null;
  readonly compactions: number;
  readonly filesCompacted: number;
  readonly lastCompaction: { readonly path: string; readonly files: number; readonly atMs: number } | null;
  readonly maintenanceErrors: number;
  readonly lastMaintenanceError: string | null;
  readonly partitionsExpired: number;
  /** False when the worker is down, any write is held after a failure, or close gave rows up. */
  readonly healthy: boolean;
}

const DEFAULT_MAX_ROWS = 500_000;
const HOUR_MS = 3_600_000;
export const DEFAULT_MAX_BUFFER_BYTES = 256 * 1024 * 1024;
/** Do not respawn a worker that keeps failing more often than this. */
const RESPAWN_BACKOFF_MS = 5_000;
/** The worker is asked to look for closed hours and due retention this often (owner's clock). */
const MAINTAIN_EVERY_MS = 60_000;
/** Pre-sizing beyond this would hold tens of MB per idle builder; growth by doubling takes over. */
const MAX_CAPACITY_HINT = 65_536;
const SYMBOL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RAW = new Set<SinkKind>(RAW_KINDS);

/**
 * Where the writer worker's script is (src/util/worker-entry.ts: from source or inside the
 * compiled executable). Call it on the main thread; replay workers receive it from there.
 */
export function writerWorkerSpecifier(): string {
  return workerEntry("sinks/parquet/writer-worker");
}

/** Bun's Worker (ref/unref); the DOM lib's Worker type shadows it in this project's tsconfig. */
type BunWorker = Bun.Worker;

interface BuilderEntry {
  readonly hour: number;
  readonly builder: ColumnBatchBuilder;
  /** Names the chunks sent ahead for the builder's current batch (protocol.ts ChunkAhead); a new key per batch. */
  key: number;
  /** Bytes of those chunks: in bytesAhead until the hand-over, then in the batch's pending bytes. */
  sentBytes: number;
}

interface Group {
  /** One builder per UTC hour (hours since the epoch) with rows not handed over yet. */
  builders: BuilderEntry[];
  /** Rows of the last batch, to size the next builder's arrays. */
  hint: number;
}

interface KindState {
  readonly kind: SinkKind;
  readonly root: string;
  readonly groups: Map<string, Group>;
  /** Full chunks go to the writer before the batch (see sendAhead): for long rotations only. */
  readonly sendsAhead: boolean;
}

/**
 * Chunks are sent ahead only for kinds that rotate this slowly or slower: with a shorter period a
 * batch leaves the ingest thread soon anyway, and compressing many small chunks cost the writer
 * ≈ 20 % of a core at 50k frames/s with 2 s rotations (live bench) for memory it did not need.
 */
const SEND_AHEAD_MIN_PERIOD_MS = 10_000;
/**
 * Chunk memory sent back by the writer, waiting for the builders' next chunks; what a second of
 * chunks did not take is let go. At 200k frames/s a second's chunks are ≈ 45 MB; at 2,000 ≈ 0.5.
 */
const CHUNK_POOL_MAX_BYTES = 32 * 1024 * 1024;

interface Pending {
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly rows: number;
  bytes: number;
  held: boolean;
}

/** What a spilled batch needs to be handed over later. */
interface SpillMeta {
  readonly ks: KindState;
  readonly key: number;
  readonly sentBytes: number;
}

/** Window over which the drain rate is measured. */
const DRAIN_WINDOW_MS = 10_000;

const batchBytes = (batch: ColumnBatch): number => transferList(batch).reduce((n, b) => n + b.byteLength, 0);

export class ParquetSink implements RowSinkComponent {
  readonly name = "parquet";
  private readonly opts: ParquetSinkOptions;
  private readonly kinds = new Map<SinkKind, KindState>();
  private readonly clock: RotationClock;
  private readonly maxRows: number;
  private readonly maxBufferBytes: number;
  private readonly now: () => number;
  private readonly runTag: string;
  private worker: BunWorker | null = null;
  private workerState: WorkerState = "starting";
  private lastSpawnFailAt = -Infinity;
  private nextId = 1;
  private nextKey = 1;
  private readonly chunkPool = new BufferPool(CHUNK_POOL_MAX_BYTES);
  private chunkBuffersReturned = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private resolveExit: (() => void) | null = null;
  private lastMaintainAt = -Infinity;
  private readonly spill: SpillQueue<SpillMeta>;
  /** A spilled batch is being read back (one at a time, in order). */
  private unspilling = false;
  private rowsSpilledTotal = 0;
  private spillDrainWaiters: (() => void)[] = [];
  /** (performance.now(), rowsWritten) samples for the drain rate. */
  private readonly drainSamples: [number, number][] = [];

  private filesWritten = 0;
  private rowsWritten = 0;
  private bytesWritten = 0;
  private rowsBuffered = 0;
  private rowsPending = 0;
  /**
   * performance.now() when a batch last settled, and when batches last started to wait (stall
   * detection: durations are monotonic, docs/feed.md "When the clock steps").
   */
  private lastProgressAtMs = performance.now();
  private pendingSinceMs = 0;
  private bytesPending = 0;
  /**
   * Raw bytes of chunks sent ahead of batches not handed over yet. Counted against the buffer limit
   * at hand-over, but not by waitForRoom: they are freed only by their batch's write, which a
   * producer waiting for room would never reach.
   */
  private bytesAhead = 0;
  private roomWaiters: { readonly limitBytes: number; readonly resolve: () => void }[] = [];
  private batchesHeld = 0;
  private rowsHeld = 0;
  private writeErrors = 0;
  private rowsDropped = 0;
  private heldErrorCode: string | null = null;
  private lastDropAtMs: number | null = null;
  private rowsLost = 0;
  private rowsRejected = 0;
  private lastRejection: string | null = null;
  private lastError: ParquetSinkError | null = null;
  /** Held batches per kind: a failing root must not hide behind a healthy one. */
  private readonly heldByKind = new Map<SinkKind, number>();
  private encodeMsTotal = 0;
  private writeMsTotal = 0;
  private lastFileAtMs: number | null = null;
  private readonly lastFiles = new Map<string, Map<SinkKind, ParquetFileInfo>>();
  private compactions = 0;
  private filesCompacted = 0;
  private lastCompaction: ParquetSinkStatus["lastCompaction"] = null;
  private maintenanceErrors = 0;
  private lastMaintenanceError: string | null = null;
  private partitionsExpired = 0;

  constructor(opts: ParquetSinkOptions) {
    this.opts = opts;
    this.maxRows = Math.max(1, opts.maxRowsPerFile ?? DEFAULT_MAX_ROWS);
    this.maxBufferBytes = Math.max(1, opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES);
    this.now = opts.now ?? Date.now;
    this.clock = new RotationClock(opts);
    this.runTag = (crypto.getRandomValues(new Uint32Array(1))[0] >>> 0).toString(36).padStart(7, "0");
    this.spill = new SpillQueue<SpillMeta>(() => makeStagingDir(opts.outputDir, `spill-${this.runTag}`));
    // Custom indicator kinds are registered before the sink is built (src/indicators); they go to PREVIEW_DIR.
    for (const kind of sinkKinds()) {
      this.kinds.set(kind, {
        kind,
        root: RAW.has(kind) ? opts.outputDir : opts.previewDir,
        groups: new Map(),
        sendsAhead: rotationPeriodMs(kind, opts) >= SEND_AHEAD_MIN_PERIOD_MS,
      });
    }
    // Spawned up front so a worker that cannot load shows up in status before any data is lost.
    this.spawn();
  }

  append(kind: SinkKind, row: Row): void {
    if (this.closed) return this.reject(`${kind}: sink closed`);
    const ks = this.kinds.get(kind);
    if (!ks) return this.reject(`unknown kind ${kind}`);
    const symbol = row.symbol;
    const ts = row.ts_ms;
    if (typeof symbol !== "string") return this.reject(`${kind}: symbol is not a string`);
    if (!Number.isSafeInteger(ts)) return this.reject(`${kind}: ts_ms is not an integer`);
    // Batches never straddle a UTC hour (nor, therefore, a date): each part file belongs to exactly
    // one hour, which is what compaction merges.
    const hour = Math.floor((ts as number) / HOUR_MS);
    let group = ks.groups.get(symbol);
    if (!group) {
      // The symbol becomes a path segment: refuse anything that could escape the tree.
      if (!SYMBOL_RE.test(symbol)) return this.reject(`${kind}: symbol ${JSON.stringify(symbol)} is not a valid path segment`);
      group = { builders: [], hint: 0 };
      ks.groups.set(symbol, group);
    }
    let entry: BuilderEntry | undefined;
    const list = group.builders;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.hour === hour) {
        entry = list[i];
        break;
      }
    }
    if (!entry) {
      entry = { hour, builder: new ColumnBatchBuilder(kind, symbol, Math.floor(hour / 24), group.hint || 0, this.chunkPool), key: this.nextKey++, sentBytes: 0 };
      list.push(entry);
      if (ks.sendsAhead) for (const older of list) if (older.hour < hour) this.sendRestAhead(older);
    }
    const b = entry.builder;
    if (!b.append(row)) return this.reject(`${kind}: ${b.lastRejection}`);
    this.rowsBuffered++;
    if (b.rows >= this.maxRows) this.handOver(ks, entry);
    // While batches wait on disk the writer is behind: chunks stay in the builder (bounded by one
    // rotation) instead of piling up in the worker ahead of batches that cannot be written yet.
    else if (ks.sendsAhead && b.hasSealed && this.spill.length === 0) this.sendAhead(entry);
  }

  /**
   * Rotation clock. A (kind, symbol)'s batch is handed over when `nowMs` crosses one of its
   * boundaries, a period apart and phase-shifted per symbol (rotation.ts), so each file covers one
   * period and the symbols' files are not all finished at the same moment. The first call only
   * starts the clock. The same clock decides when an hour is closed for compaction.
   */
  tick(nowMs: number): void {
    for (const r of this.clock.due(nowMs)) this.rotate(this.kinds.get(r.kind)!, r.includes);
    this.sampleDrain();
    this.unspill();
    this.chunkPool.tick(nowMs);
    if (nowMs - this.lastMaintainAt >= MAINTAIN_EVERY_MS || nowMs < this.lastMaintainAt) {
      this.lastMaintainAt = nowMs;
      if (this.worker !== null && !this.closed) this.post(this.worker, { type: "maintain", nowMs });
    }
  }

  /** Hands every collected row to the worker now (files appear asynchronously). */
  flush(): void {
    for (const ks of this.kinds.values()) this.rotate(ks);
  }

  /**
   * Resolves once the batches handed to the writer hold at most `limitBytes`. For producers that may
   * wait (replay), as opposed to live ingest, which never waits and is protected by `maxBufferBytes`.
   */
  waitForRoom(limitBytes: number): Promise<void> {
    if (this.bytesPending <= limitBytes || this.workerState === "failed" || this.workerState === "closed") return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ limitBytes, resolve }));
  }

  /**
   * Flushes, then resolves once every handed-over batch is committed (a held one gets a last
   * attempt, then is given up) and the worker thread has exited. Rows appended afterwards are
   * rejected.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = this.handOverLast().then(async () => {
      // Rows appended while the last kinds waited for room; from here on appends are rejected.
      this.flush();
      this.closed = true;
      // Every spilled batch goes to the writer before it is told to close.
      await this.spillDrained();
      await this.spill.dispose();
      return this.closeWorker();
    });
    return this.closePromise;
  }

  /**
   * The last batches, kind by kind. Input has ended, so nothing needs protecting from a wait any more:
   * each kind waits for room under the bound instead of being dropped past it (with ~400 symbols the
   * last batches of all kinds together exceed the default bound while the writer still works through
   * the previous rotation). Not while writes are held: that room may never come.
   */
  private async handOverLast(): Promise<void> {
    for (const ks of this.kinds.values()) {
      if (this.batchesHeld === 0) await this.waitForRoom(this.maxBufferBytes / 2);
      this.rotate(ks);
    }
  }

  private closeWorker(): Promise<void> {
    const w = this.worker;
    if (!w) {
      this.workerState = "closed";
      return Promise.resolve();
    }
    this.workerState = "closing";
    const exited = new Promise<void>((resolve) => {
      this.resolveExit = resolve;
    });
    w.ref();
    this.post(w, { type: "close", compactAll: this.opts.compactAllOnClose ?? false });
    return exited;
  }

  /** The writer's own verdict for /health (failing writes are held and retried; see docs/storage.md). */
  health(nowMs: number): ComponentHealth {
    const reasons: string[] = [];
    const pq = this.status();
    if (pq.workerState === "failed") reasons.push(`parquet writer worker is down (${pq.lastError?.code ?? "unknown"})`);
    if (pq.failingKinds.length > 0) reasons.push(`parquet writes failing for kind ${pq.failingKinds.join(", ")} (${pq.heldErrorCode ?? pq.lastError?.code ?? "error"}), retrying`);
    if (pq.lastDropAtMs !== null && nowMs - pq.lastDropAtMs < RECENT_DROP_MS) reasons.push("parquet buffer full: rows dropped in the last minute");
    // Not a loss, but the Parquet files are behind the log until it drains: say by how much and for how long.
    if (pq.batchesSpilled > 0) {
      const eta = pq.drainEtaSec === null ? "drain time not yet measured" : `drains in ≈ ${Math.ceil(pq.drainEtaSec)} s`;
      reasons.push(`parquet writer behind: ${pq.rowsPending + pq.rowsSpilled} rows pending, ${pq.rowsSpilled} of them (${(pq.bytesSpilled / 1048576).toFixed(1)} MiB) spilled to disk; ${eta}`);
    }
    // Stuck, not failing (an encode or a write that never returns): nothing else would say so.
    const still = performance.now() - Math.max(this.lastProgressAtMs, this.pendingSinceMs);
    if (pq.batchesPending > 0 && pq.batchesHeld === 0 && pq.workerState !== "failed" && still > (this.opts.stallMs ?? 60_000)) {
      reasons.push(`parquet writer stalled: ${pq.batchesPending} batches (${pq.rowsPending} rows) pending, no progress for ${Math.floor(still / 1000)} s`);
    }
    return verdict(reasons);
  }

  status(): ParquetSinkStatus {
    const lastFiles: Record<string, Partial<Record<SinkKind, ParquetFileInfo>>> = {};
    for (const [symbol, byKind] of this.lastFiles) lastFiles[symbol] = Object.fromEntries(byKind);
    const workerDown = this.workerState === "failed";
    return {
      filesWritten: this.filesWritten,
      rowsWritten: this.rowsWritten,
      bytesWritten: this.bytesWritten,
      rowsBuffered: this.rowsBuffered,
      batchesPending: this.pending.size,
      rowsPending: this.rowsPending,
      bytesPending: this.bytesPending,
      bytesSentAhead: this.bytesAhead,
      chunkBuffersReturned: this.chunkBuffersReturned,
      chunkMemoryReused: this.chunkPool.reused,
      chunkPoolBytes: this.chunkPool.bytes,
      maxBufferBytes: this.maxBufferBytes,
      batchesHeld: this.batchesHeld,
      rowsHeld: this.rowsHeld,
      writeErrors: this.writeErrors,
      batchesSpilled: this.spill.length,
      rowsSpilled: this.spill.rows,
      bytesSpilled: this.spill.bytes,
      rowsSpilledTotal: this.rowsSpilledTotal,
      ...this.drain(),
      rowsDropped: this.rowsDropped,
      lastDropAtMs: this.lastDropAtMs,
      rowsLost: this.rowsLost,
      rowsRejected: this.rowsRejected,
      lastRejection: this.lastRejection,
      lastError: this.lastError,
      lastFiles,
      lastFileAtMs: this.lastFileAtMs,
      encodeMsTotal: this.encodeMsTotal,
      writeMsTotal: this.writeMsTotal,
      workerState: this.workerState,
      failingKinds: [...this.heldByKind.keys()],
      heldErrorCode: this.batchesHeld > 0 ? this.heldErrorCode : null,
      compactions: this.compactions,
      filesCompacted: this.filesCompacted,
      lastCompaction: this.lastCompaction,
      maintenanceErrors: this.maintenanceErrors,
      lastMaintenanceError: this.lastMaintenanceError,
      partitionsExpired: this.partitionsExpired,
      // After close, rows given up (held writes that still failed, a dead worker) stay visible here.
      healthy: !workerDown && this.batchesHeld === 0 && !(this.closed && this.rowsLost > 0),
    };
  }

  private reject(reason: string): void {
    this.rowsRejected++;
    this.lastRejection = reason;
  }

  private rotate(ks: KindState, includes: (symbol: string) => boolean = () => true): void {
    for (const [symbol, group] of ks.groups) {
      if (!includes(symbol)) continue;
      let rows = 0;
      for (const entry of group.builders) {
        rows += entry.builder.rows;
        this.handOver(ks, entry);
      }
      // Builders are cheap to recreate; dropping them lets past days and idle symbols go.
      group.builders.length = 0;
      if (rows === 0) ks.groups.delete(symbol);
      else group.hint = Math.min(rows, MAX_CAPACITY_HINT);
    }
  }

  /**
   * The symbol's rows have moved into a later hour, so this hour's builder gets no more (but for a
   * late row) before its rotation hands it over, up to a period later: its last, partly filled
   * chunk goes to the writer now, like the full ones. Otherwise every builder held that chunk
   * beside the new hour's for up to a minute after each hour turn (+7.7 MiB of chunks and string
   * arenas at 50 symbols, bench/memory.ts --hour-turn-at with HARVESTD_BUFFER_TRACE).
   */
  private sendRestAhead(entry: BuilderEntry): void {
    if (this.spill.length > 0 || entry.builder.rows === 0) return;
    entry.builder.sealCurrent();
    this.sendAhead(entry);
  }

  /**
   * Sends a builder's full chunks to the writer now (it encodes them into the file's pages at once and
   * keeps only those), so rows do not sit on the ingest thread for a whole rotation. Nothing is dropped here:
   * the buffer limit is applied to the whole batch at hand-over.
   */
  private sendAhead(entry: BuilderEntry): void {
    const w = this.worker;
    if (w === null) return; // kept in the builder; the hand-over deals with a missing writer
    const chunks = entry.builder.takeSealed();
    const list = chunkTransferList(chunks);
    let bytes = 0;
    for (const b of list) bytes += b.byteLength;
    entry.sentBytes += bytes;
    this.bytesAhead += bytes;
    try {
      w.postMessage({ type: "chunk", key: entry.key, kind: entry.builder.kind, symbol: entry.builder.symbol, chunks } satisfies ToWorker, list);
    } catch {
      // The write of this batch will find its chunks missing and report the rows dropped.
    }
  }

  private handOver(ks: KindState, entry: BuilderEntry): void {
    const batch = entry.builder.take();
    if (!batch) return;
    const key = entry.key;
    const sentBytes = entry.sentBytes;
    // The builder goes on (row cap): its next batch's chunks go under a new key.
    entry.key = this.nextKey++;
    entry.sentBytes = 0;
    this.rowsBuffered -= batch.rows;
    const group = ks.groups.get(batch.symbol);
    if (group) group.hint = Math.min(batch.rows, MAX_CAPACITY_HINT);
    this.bytesAhead -= sentBytes;
    // Other batches' chunks sent ahead are not counted: they are held as encoded pages, and a replay that
    // waits for room (which does not count them either) must not see its batches dropped for them.
    // Once anything is on disk every later batch queues behind it, so batches reach the writer in
    // the order they were handed over.
    if (this.spill.length > 0 || !this.fits(sentBytes + batchBytes(batch))) this.spillBatch(ks, batch, key, sentBytes);
    else this.submit(ks, batch, key, sentBytes);
  }

  /** Room under the bound for this many bytes (a batch alone always fits: it could never go otherwise). */
  private fits(bytes: number): boolean {
    return this.pending.size === 0 || this.bytesPending + bytes <= this.maxBufferBytes;
  }

  private spillBatch(ks: KindState, batch: ColumnBatch, key: number, sentBytes: number): void {
    const who = { kind: batch.kind, symbol: batch.symbol, rows: batch.rows };
    const dropped = (r: Extract<SpillWriteResult, { ok: false }>): void => {
      if (batch.sentRows > 0 && this.worker !== null) this.post(this.worker, { type: "discard", key });
      this.rowsDropped += batch.rows;
      this.lastDropAtMs = this.now();
      this.fail(who, "dropped", {
        code: "EBUFFER",
        message: `write buffer full (${this.bytesPending} of ${this.maxBufferBytes} bytes held for the writer) and ${r.message} (${r.code}): ${batch.rows} ${batch.kind} rows dropped`,
        path: ks.root,
      });
      this.unspill();
    };
    const r = this.spill.push(batch, { ks, key, sentBytes }, (res) => (res.ok ? this.unspill() : dropped(res)));
    if ("ok" in r) return dropped(r as Extract<SpillWriteResult, { ok: false }>);
    this.rowsSpilledTotal += batch.rows;
  }

  /** Hands the oldest spilled batch to the writer once there is room for it; goes on while there is. */
  private unspill(): void {
    const head = this.spill.head;
    if (head === undefined) return this.wakeSpillWaiters();
    if (this.unspilling || !this.fits(head.bytes + head.meta.sentBytes)) return;
    this.unspilling = true;
    this.spill.shift().then(
      (got) => {
        this.unspilling = false;
        // null: its write failed and was reported as dropped.
        if (got !== null) this.submit(got.entry.meta.ks, got.batch, got.entry.meta.key, got.entry.meta.sentBytes);
        this.unspill();
      },
      (e: NodeJS.ErrnoException) => {
        this.unspilling = false;
        this.spillLost(head, e);
        this.unspill();
      },
    );
  }

  /** A spill file that cannot be read back: its rows are lost to Parquet (NDJSON has them). */
  private spillLost(entry: Spilled<SpillMeta>, e: NodeJS.ErrnoException): void {
    this.spill.drop(entry);
    if (entry.meta.sentBytes > 0 && this.worker !== null) this.post(this.worker, { type: "discard", key: entry.meta.key });
    this.rowsDropped += entry.rows;
    this.lastDropAtMs = this.now();
    this.fail({ kind: entry.meta.ks.kind, symbol: "", rows: entry.rows }, "dropped", { code: e.code ?? "ESPILL", message: `spill read failed: ${e.message}`, path: entry.path });
  }

  private spillDrained(): Promise<void> {
    if (this.spill.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.spillDrainWaiters.push(resolve);
      this.unspill();
    });
  }

  private wakeSpillWaiters(): void {
    const waiters = this.spillDrainWaiters;
    this.spillDrainWaiters = [];
    for (const w of waiters) w();
  }

  private sampleDrain(): void {
    const t = performance.now();
    const s = this.drainSamples;
    if (s.length > 0 && t - s[s.length - 1]![0] < 500) return;
    s.push([t, this.rowsWritten]);
    while (s.length > 2 && t - s[1]![0] >= DRAIN_WINDOW_MS) s.shift();
  }

  private drain(): { drainRowsPerSec: number | null; drainEtaSec: number | null } {
    const s = this.drainSamples;
    const backlog = this.rowsPending + this.spill.rows;
    if (s.length < 2) return { drainRowsPerSec: null, drainEtaSec: backlog === 0 ? 0 : null };
    const [t0, r0] = s[0]!;
    const [t1, r1] = s[s.length - 1]!;
    const rate = t1 > t0 ? ((r1 - r0) * 1000) / (t1 - t0) : 0;
    return { drainRowsPerSec: rate, drainEtaSec: backlog === 0 ? 0 : rate > 0 ? backlog / rate : null };
  }

  /** Posts a batch to the writer (counted against the bound). */
  private submit(ks: KindState, batch: ColumnBatch, key: number, sentBytes: number): void {
    const who = { kind: batch.kind, symbol: batch.symbol, rows: batch.rows };
    const bytes = batchBytes(batch);
    const w = this.worker ?? this.spawn();
    if (!w) {
      this.fail(who, "dropped", { code: "EWORKER", message: "parquet writer worker is not running", path: ks.root });
      return;
    }
    const id = this.nextId++;
    if (this.pending.size === 0) this.pendingSinceMs = performance.now();
    this.pending.set(id, { ...who, bytes: bytes + sentBytes, held: false });
    this.rowsPending += batch.rows;
    this.bytesPending += bytes + sentBytes;
    if (this.pending.size === 1) w.ref();
    this.post(w, { type: "write", id, root: ks.root, key, batch }, batch);
  }

  private post(w: BunWorker, msg: ToWorker, batch?: ColumnBatch): void {
    try {
      if (batch) w.postMessage(msg, transferList(batch));
      else w.postMessage(msg);
    } catch (e) {
      if (msg.type === "write") {
        const p = this.settle(msg.id);
        if (p) this.fail(p, "dropped", { code: "EWORKER", message: `cannot post batch: ${(e as Error).message}`, path: msg.root });
      }
    }
  }

  private spawn(): BunWorker | null {
    if (this.closed) return null;
    if (this.now() - this.lastSpawnFailAt < RESPAWN_BACKOFF_MS) return null;
    const specifier = this.opts.workerSpecifier ?? writerWorkerSpecifier();
    let w: BunWorker;
    try {
      w = new Worker(specifier) as unknown as BunWorker;
    } catch (e) {
      this.workerDied(null, `cannot start parquet writer worker: ${(e as Error).message}`);
      return null;
    }
    this.worker = w;
    this.workerState = "starting";
    // bun-types declares the event parameter as MessageEvent's constructor type; it is an event.
    w.onmessage = ((ev: MessageEvent) => this.onMessage(ev.data as FromWorker)) as unknown as BunWorker["onmessage"];
    w.addEventListener("error", (ev: Event) => {
      const msg = (ev as ErrorEvent).message || "worker error";
      this.workerDied(w, `parquet writer worker failed: ${msg}`);
    });
    w.addEventListener("close", () => this.workerExited(w));
    const compaction = this.opts.compaction ?? true;
    const roots = [...new Set([this.opts.outputDir, this.opts.previewDir])];
    this.post(w, {
      type: "init",
      rowGroupSize: this.opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE,
      createdBy: this.opts.createdBy ?? "harvestd",
      zstdLevel: this.opts.zstdLevel,
      runTag: this.runTag,
      retryMs: this.opts.retryMs ?? 1000,
      compaction: compaction
        ? {
            // Late rows and the last rotation of the hour must have been written first.
            graceMs: this.clock.maxPeriodMs + 30_000,
            scanAtStart: this.opts.compactionScanAtStart ?? true,
          }
        : null,
      roots,
      retentionDays: this.opts.retentionDays ?? 0,
      lowMemory: this.opts.lowMemory ?? false,
      customSchemas: customSchemaEntries(),
    });
    // An idle worker must not keep the process alive; handOver refs it while batches are pending.
    w.unref();
    return w;
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case "ready":
        if (this.workerState === "starting") this.workerState = "ready";
        break;
      case "recycle":
        this.chunkBuffersReturned += msg.buffers.length;
        for (const b of msg.buffers) this.chunkPool.put(b);
        break;
      case "written":
        this.onWritten(msg);
        break;
      case "failed": {
        const p = this.pending.get(msg.id);
        if (!p) break;
        if (!p.held) {
          p.held = true;
          this.batchesHeld++;
          this.rowsHeld += p.rows;
          this.heldByKind.set(p.kind, (this.heldByKind.get(p.kind) ?? 0) + 1);
        }
        // From here on the worker holds the encoded file, usually far smaller than the batch.
        this.bytesPending += msg.heldBytes - p.bytes;
        p.bytes = msg.heldBytes;
        this.heldErrorCode = msg.error.code;
        this.fail(p, "held", msg.error);
        break;
      }
      case "dropped": {
        const p = this.settle(msg.id);
        if (p) this.fail(p, "dropped", msg.error);
        break;
      }
      case "compacted":
        this.onCompacted(msg);
        break;
      case "expired":
        this.partitionsExpired++;
        this.maintenance({ type: "expired", path: msg.path });
        break;
      case "maintenance-error":
        this.maintenanceErrors++;
        this.lastMaintenanceError = `${msg.what}: ${msg.error.message}`;
        this.maintenance({ type: "error", what: msg.what, error: msg.error });
        break;
      case "closed":
        break;
    }
  }

  private onWritten(msg: WrittenReply): void {
    const p = this.settle(msg.id);
    if (p?.held) this.maintenance({ type: "resumed", what: `${msg.rows} ${msg.kind} rows of ${msg.symbol} written after ${msg.attempts} attempts` });
    const atMs = this.now();
    this.filesWritten++;
    this.rowsWritten += msg.rows;
    this.bytesWritten += msg.bytes;
    this.encodeMsTotal += msg.encodeMs;
    this.writeMsTotal += msg.writeMs;
    this.lastFileAtMs = atMs;
    const info: ParquetFileInfo = {
      kind: msg.kind,
      symbol: msg.symbol,
      path: msg.written,
      rows: msg.rows,
      bytes: msg.bytes,
      encodeMs: msg.encodeMs,
      atMs,
    };
    let byKind = this.lastFiles.get(msg.symbol);
    if (!byKind) this.lastFiles.set(msg.symbol, (byKind = new Map()));
    byKind.set(msg.kind, info);
    if (this.opts.onFile) {
      try {
        this.opts.onFile(info);
      } catch {}
    }
  }

  private onCompacted(msg: CompactedReply): void {
    this.compactions++;
    this.filesCompacted += msg.files;
    this.lastCompaction = { path: msg.path, files: msg.files, atMs: this.now() };
    this.maintenance({ type: "compacted", path: msg.path, files: msg.files, rows: msg.rows, bytes: msg.bytes, ms: msg.ms });
  }

  private maintenance(ev: MaintenanceEvent): void {
    if (!this.opts.onMaintenance) return;
    try {
      this.opts.onMaintenance(ev);
    } catch {}
  }

  /** Forgets a batch that was written or given up; returns what it was. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    this.lastProgressAtMs = performance.now();
    this.rowsPending -= p.rows;
    this.bytesPending -= p.bytes;
    if (p.held) {
      this.batchesHeld--;
      this.rowsHeld -= p.rows;
      const n = (this.heldByKind.get(p.kind) ?? 1) - 1;
      if (n <= 0) this.heldByKind.delete(p.kind);
      else this.heldByKind.set(p.kind, n);
    }
    if (this.pending.size === 0 && this.workerState !== "closing") this.worker?.unref();
    this.wakeRoomWaiters();
    this.unspill();
    return p;
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const down = this.workerState === "failed" || this.workerState === "closed";
    const still: typeof this.roomWaiters = [];
    for (const w of this.roomWaiters) {
      if (down || this.bytesPending <= w.limitBytes) w.resolve();
      else still.push(w);
    }
    this.roomWaiters = still;
  }

  private fail(batch: Pick<Pending, "kind" | "symbol" | "rows"> | null, outcome: WriteFailureOutcome, error: WriteErrorInfo): void {
    const err: ParquetSinkError = {
      code: error.code,
      message: error.message,
      path: error.path,
      kind: batch?.kind ?? "",
      symbol: batch?.symbol ?? "",
      rows: batch?.rows ?? 0,
      outcome,
      atMs: this.now(),
    };
    this.writeErrors++;
    if (outcome === "dropped") this.rowsLost += err.rows;
    this.lastError = err;
    if (this.opts.onError) {
      try {
        this.opts.onError(err);
      } catch {}
    }
  }

  /** The worker is gone for good: whatever it still held is lost. */
  private workerDied(w: BunWorker | null, message: string): void {
    if (w && w !== this.worker) return;
    if (this.workerState === "starting") this.lastSpawnFailAt = this.now();
    const lost = [...this.pending.keys()].map((id) => this.settle(id)!);
    if (lost.length === 0) this.fail(null, "dropped", { code: "EWORKER", message, path: "" });
    for (const p of lost) this.fail(p, "dropped", { code: "EWORKER", message, path: "" });
    this.worker = null;
    if (w) {
      try {
        w.terminate();
      } catch {}
    }
    this.workerState = this.closed ? "closed" : "failed";
    this.finishClose();
  }

  private workerExited(w: BunWorker): void {
    if (w !== this.worker) return;
    if (this.workerState === "closing" && this.pending.size === 0) {
      this.worker = null;
      this.workerState = "closed";
      this.finishClose();
      return;
    }
    this.workerDied(w, "parquet writer worker exited unexpectedly");
  }

  private finishClose(): void {
    this.wakeRoomWaiters();
    if (!this.closed || !this.resolveExit) return;
    const resolve = this.resolveExit;
    this.resolveExit = null;
    resolve();
  }
}
