/** Messages between ParquetSink (ingest thread) and writer-worker.ts. */
import type { ColumnDef, CustomKind, SinkKind } from "../../core/rows.ts";
import type { ColumnBatch, RowChunk } from "./columns.ts";
import { FileOpError } from "./files.ts";

export interface CompactionSettings {
  /** An hour is compacted once the clock is this far past its end (late rows, rotation lag). */
  readonly graceMs: number;
  /** Look for closed hours left uncompacted (a crash, a stop mid-hour) when the worker starts. */
  readonly scanAtStart: boolean;
}

export interface WorkerInit {
  readonly type: "init";
  readonly rowGroupSize: number;
  readonly createdBy: string;
  readonly zstdLevel?: number;
  /** Per-process token in file names, so two processes writing one tree never pick the same name. */
  readonly runTag: string;
  /** A failed write is tried again after this long, until it succeeds or the sink closes. */
  readonly retryMs: number;
  /** Merging of each closed UTC hour's parts into one file; null = off. */
  readonly compaction: CompactionSettings | null;
  /** OUTPUT_DIR and PREVIEW_DIR (the same directory may appear once). */
  readonly roots: readonly string[];
  /** Date partitions older than this many days are deleted; 0 = kept forever. */
  readonly retentionDays: number;
  /**
   * Live: collect the worker's heap after every batch written, not only as it grows, and keep the
   * pages of files being built on disk (page-spool.ts). See ParquetSinkOptions.lowMemory.
   */
  readonly lowMemory?: boolean;
  /** Schemas of the custom indicator kinds, registered in the worker before any write or compaction. */
  readonly customSchemas?: readonly (readonly [CustomKind, readonly ColumnDef[]])[];
}

export interface WriteRequest {
  readonly type: "write";
  readonly id: number;
  /** OUTPUT_DIR or PREVIEW_DIR: the Hive tree root for this kind. */
  readonly root: string;
  /** The builder the batch came from: chunks sent ahead under this key are its first rows. */
  readonly key: number;
  readonly batch: ColumnBatch;
}

/**
 * Full chunks of a batch still being collected, sent as they fill so that a long rotation's rows do
 * not wait on the ingest thread; the writer encodes them into the file's pages at once and keeps the
 * pages until the batch's write.
 */
export interface ChunkAhead {
  readonly type: "chunk";
  readonly key: number;
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly chunks: readonly RowChunk[];
}

/** The batch of `key` will not come (it was dropped): forget its chunks. */
export interface DiscardChunks {
  readonly type: "discard";
  readonly key: number;
}

/** The owner's clock moved on: compact the hours it closed, apply retention when due. */
export interface MaintainRequest {
  readonly type: "maintain";
  readonly nowMs: number;
}

export interface CloseRequest {
  readonly type: "close";
  /** Compact every hour this worker wrote into, closed or not (replay: the input has ended). */
  readonly compactAll: boolean;
}

export type ToWorker = WorkerInit | WriteRequest | ChunkAhead | DiscardChunks | MaintainRequest | CloseRequest;

/** A failure as a reply carries it: a FileOpError as it is, anything else as EIO about `path`. */
export const errorInfo = (e: unknown, path: string): WriteErrorInfo =>
  e instanceof FileOpError ? { code: e.code, message: e.message, path: e.path } : { code: "EIO", message: String((e as Error)?.message ?? e), path };

export interface WriteErrorInfo {
  /** errno code (ENOSPC, EACCES, EROFS, ...) or EENCODE when the batch could not be encoded. */
  readonly code: string;
  readonly message: string;
  /** The file or directory the failing operation was about. */
  readonly path: string;
}

interface BatchReply {
  readonly id: number;
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly rows: number;
}

export interface WrittenReply extends BatchReply {
  readonly type: "written";
  /** Final path of the renamed `.parquet` file. */
  readonly written: string;
  readonly bytes: number;
  readonly encodeMs: number;
  readonly writeMs: number;
  /** 1 = first try; more = it was held after a failure and written later. */
  readonly attempts: number;
}

/** The write failed; the worker holds the encoded file (`heldBytes`) and tries again. */
export interface FailedReply extends BatchReply {
  readonly type: "failed";
  readonly error: WriteErrorInfo;
  readonly heldBytes: number;
}

/** The batch will never reach a file (it cannot be encoded, or the sink closed while it failed). */
export interface DroppedReply extends BatchReply {
  readonly type: "dropped";
  readonly error: WriteErrorInfo;
}

export interface CompactedReply {
  readonly type: "compacted";
  readonly dir: string;
  /** UTC hour (hours since the epoch) whose parts were merged. */
  readonly hour: number;
  readonly path: string;
  readonly files: number;
  readonly rows: number;
  readonly bytes: number;
  readonly ms: number;
}

export interface MaintenanceErrorReply {
  readonly type: "maintenance-error";
  readonly what: "compaction" | "retention" | "scan" | "spool" | "writer job";
  readonly error: WriteErrorInfo;
}

export interface ExpiredReply {
  readonly type: "expired";
  /** The date partition that was deleted. */
  readonly path: string;
}

/**
 * Chunk memory the writer is done with (encoded, or its batch written), transferred back for the
 * ingest thread's next chunks: fresh memory cost it a page fault every 4 KiB (src/util/buffer-pool.ts).
 */
export interface RecycleReply {
  readonly type: "recycle";
  readonly buffers: readonly ArrayBuffer[];
}

export type FromWorker =
  | { readonly type: "ready" }
  | RecycleReply
  | { readonly type: "closed" }
  | WrittenReply
  | FailedReply
  | DroppedReply
  | CompactedReply
  | MaintenanceErrorReply
  | ExpiredReply;
