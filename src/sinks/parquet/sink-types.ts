/**
 * What the Parquet sink takes and tells: its options, the file and error records it reports, and its
 * status for /status, /health and /metrics. Types only, so readers of the status (the pipeline's
 * status, replay's shared counters) need not load the sink.
 */
import type { SinkKind } from "../../core/rows.ts";
import type { StorageEvent } from "../storage/events-log.ts";
import type { WriteErrorInfo } from "./protocol.ts";

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
  /** How long after dropping rows health still reports it (default DROP_ALERT_MS). */
  readonly dropAlertMs?: number;
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
  /** Rows of batches not yet handed to the worker (in builders, or sent ahead as chunks); in replay at most `maxRowsBuffered`. */
  readonly rowsBuffered: number;
  /**
   * Of those, the rows still in the builders' memory, neither handed over nor sent ahead: at most
   * `maxRowsUnsent` while batches wait on disk (a burst the writer is behind on); otherwise the
   * builders' current chunks, bounded by the chunk size.
   */
  readonly rowsUnsent: number;
  readonly maxRowsUnsent: number;
  /** null live: the live writer spools sent-ahead pages to disk, so only replay and crash recovery bound them. */
  readonly maxRowsBuffered: number | null;
  /** Batches handed over before their rotation because one of those bounds was reached (an extra part file each; compaction merges them). */
  readonly earlyHandOvers: number;
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
  /** How fast the backlog itself shrank since its highest point in the last 10 s, rows/s (negative: growing; null: not measured yet). */
  readonly backlogShrinkRowsPerSec: number | null;
  /** Backlog (rows pending + spilled) divided by how fast it shrank; 0 without backlog, null when unknown or growing. */
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
