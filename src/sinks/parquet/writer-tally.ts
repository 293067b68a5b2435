/**
 * What the Parquet writer has done, as the sink reports it: files committed (the last one per
 * symbol and kind), compactions, retention and maintenance failures. Counts only; the sink decides
 * what to log and what health says.
 */
import type { SinkKind } from "../../core/rows.ts";
import type { CompactedReply, WrittenReply } from "./protocol.ts";
import type { ParquetFileInfo, ParquetSinkStatus } from "./sink-types.ts";

type TallyStatus = Pick<
  ParquetSinkStatus,
  | "filesWritten"
  | "rowsWritten"
  | "bytesWritten"
  | "lastFiles"
  | "lastFileAtMs"
  | "encodeMsTotal"
  | "writeMsTotal"
  | "compactions"
  | "filesCompacted"
  | "lastCompaction"
  | "maintenanceErrors"
  | "lastMaintenanceError"
  | "partitionsExpired"
>;

export class WriterTally {
  private filesWritten = 0;
  private rowsCommitted = 0;
  private bytesWritten = 0;
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

  /** Rows committed to files so far (the drain rate's measure). */
  get rowsWritten(): number {
    return this.rowsCommitted;
  }

  /** A file committed at `atMs` (wall clock); returns its record. */
  written(msg: WrittenReply, atMs: number): ParquetFileInfo {
    this.filesWritten++;
    this.rowsCommitted += msg.rows;
    this.bytesWritten += msg.bytes;
    this.encodeMsTotal += msg.encodeMs;
    this.writeMsTotal += msg.writeMs;
    this.lastFileAtMs = atMs;
    const info: ParquetFileInfo = { kind: msg.kind, symbol: msg.symbol, path: msg.written, rows: msg.rows, bytes: msg.bytes, encodeMs: msg.encodeMs, atMs };
    let byKind = this.lastFiles.get(msg.symbol);
    if (!byKind) this.lastFiles.set(msg.symbol, (byKind = new Map()));
    byKind.set(msg.kind, info);
    return info;
  }

  compacted(msg: CompactedReply, atMs: number): void {
    this.compactions++;
    this.filesCompacted += msg.files;
    this.lastCompaction = { path: msg.path, files: msg.files, atMs };
  }

  expired(): void {
    this.partitionsExpired++;
  }

  maintenanceError(description: string): void {
    this.maintenanceErrors++;
    this.lastMaintenanceError = description;
  }

  status(): TallyStatus {
    const lastFiles: Record<string, Partial<Record<SinkKind, ParquetFileInfo>>> = {};
    for (const [symbol, byKind] of this.lastFiles) lastFiles[symbol] = Object.fromEntries(byKind);
    return {
      filesWritten: this.filesWritten,
      rowsWritten: this.rowsCommitted,
      bytesWritten: this.bytesWritten,
      lastFiles,
      lastFileAtMs: this.lastFileAtMs,
      encodeMsTotal: this.encodeMsTotal,
      writeMsTotal: this.writeMsTotal,
      compactions: this.compactions,
      filesCompacted: this.filesCompacted,
      lastCompaction: this.lastCompaction,
      maintenanceErrors: this.maintenanceErrors,
      lastMaintenanceError: this.lastMaintenanceError,
      partitionsExpired: this.partitionsExpired,
    };
  }
}
