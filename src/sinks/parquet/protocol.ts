/** Messages between ParquetSink (ingest thread) and writer-worker.ts. */
import type { RowKind } from "../../rows/schema.ts";
import type { ColumnBatch } from "./columns.ts";

export interface WorkerInit {
  readonly type: "init";
  readonly rowGroupSize: number;
  readonly createdBy: string;
  readonly zstdLevel?: number;
  /** Per-process token in file names, so two processes writing one tree never pick the same name. */
  readonly runTag: string;
}

export interface WriteRequest {
  readonly type: "write";
  readonly id: number;
  /** OUTPUT_DIR or PREVIEW_DIR: the Hive tree root for this kind. */
  readonly root: string;
  readonly batch: ColumnBatch;
}

export interface CloseRequest {
  readonly type: "close";
}

export type ToWorker = WorkerInit | WriteRequest | CloseRequest;

export interface WriteErrorInfo {
  /** errno code (ENOSPC, EACCES, EROFS, ...) or EENCODE when the batch could not be encoded. */
  readonly code: string;
  readonly message: string;
  /** The file or directory the failing operation was about. */
  readonly path: string;
}

export interface WrittenReply {
  readonly type: "written";
  readonly id: number;
  readonly kind: RowKind;
  readonly symbol: string;
  /** Final path of the renamed `.parquet` file. */
  readonly written: string;
  readonly rows: number;
  readonly bytes: number;
  readonly encodeMs: number;
  readonly writeMs: number;
}

export interface ErrorReply {
  readonly type: "error";
  readonly id: number;
  readonly kind: RowKind;
  readonly symbol: string;
  readonly rows: number;
  readonly error: WriteErrorInfo;
}

export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "closed" }
  | WrittenReply
  | ErrorReply;
