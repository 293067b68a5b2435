/**
 * ParquetSink: the ingest-thread side of the Parquet writer.
 *
 * `append` only copies a row into the columnar builder of its (kind, symbol, UTC day); it never
 * waits on disk or encoding and never throws. Batches are handed to writer-worker.ts (transferred
 * ArrayBuffers, no copy) on rotation (`tick`), when they reach the row cap, and on `flush`/`close`.
 * Writer failures land in `status()` and the `onError` callback, never in the ingest path.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { RAW_KINDS, ALL_KINDS, type Row, type RowKind, type RowSink } from "../../rows/schema.ts";
import { ColumnBatchBuilder, DAY_MS, transferList, type ColumnBatch } from "./columns.ts";
import { DEFAULT_ROW_GROUP_SIZE } from "./encode.ts";
import type { ErrorReply, FromWorker, ToWorker, WriteErrorInfo, WrittenReply } from "./protocol.ts";

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
  /** Overrides where the worker script is found (see writerWorkerSpecifier). */
  readonly workerSpecifier?: string;
  /** Called on the ingest thread for every failed write; must not throw (it is guarded anyway). */
  readonly onError?: (error: ParquetSinkError) => void;
  /** Called on the ingest thread for every committed file. */
  readonly onFile?: (file: ParquetFileInfo) => void;
  /** Wall clock for status timestamps; injectable for tests. */
  readonly now?: () => number;
}

export interface ParquetFileInfo {
  readonly kind: RowKind;
  readonly symbol: string;
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly encodeMs: number;
  readonly atMs: number;
}

export interface ParquetSinkError extends WriteErrorInfo {
  /** Empty for a worker failure that is not about one batch. */
  readonly kind: RowKind | "";
  readonly symbol: string;
  /** Rows that did not reach a file because of this error. */
  readonly rows: number;
  readonly atMs: number;
}

export type WorkerState = "starting" | "ready" | "closing" | "closed" | "failed";

export interface ParquetSinkStatus {
  readonly filesWritten: number;
  readonly rowsWritten: number;
  readonly bytesWritten: number;
  /** Rows collected in builders, not yet handed to the worker. */
  readonly rowsBuffered: number;
  /** Batches handed to the worker and not yet acknowledged. */
  readonly batchesPending: number;
  readonly rowsPending: number;
  readonly writeErrors: number;
  /** Rows handed over that never reached a file (write errors, worker crash). */
  readonly rowsLost: number;
  /** Rows refused by `append` because they did not fit the kind's schema. */
  readonly rowsRejected: number;
  readonly lastRejection: string | null;
  readonly lastError: ParquetSinkError | null;
  /** Latest committed file per symbol, then per kind. */
  readonly lastFiles: Readonly<Record<string, Readonly<Partial<Record<RowKind, ParquetFileInfo>>>>>;
  readonly lastFileAtMs: number | null;
  readonly encodeMsTotal: number;
  readonly workerState: WorkerState;
  /** Kinds whose most recent write failed (cleared by their next committed file). */
  readonly failingKinds: readonly RowKind[];
  /** False when the worker is down or any kind's latest write failed. */
  readonly healthy: boolean;
}

const DEFAULT_MAX_ROWS = 500_000;
/** Do not respawn a worker that keeps failing more often than this. */
const RESPAWN_BACKOFF_MS = 5_000;
/** Pre-sizing beyond this would hold tens of MB per idle builder; growth by doubling takes over. */
const MAX_CAPACITY_HINT = 65_536;
const SYMBOL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RAW = new Set<RowKind>(RAW_KINDS);

/**
 * Where the worker script lives. From source: next to this file. In a `bun build --compile`
 * executable every module's import.meta.url is the executable's own `/$bunfs/root/<name>`, and
 * extra entry points are embedded as `/$bunfs/root/<path relative to the entry points' common
 * directory>` with a `.js` extension: `sinks/parquet/writer-worker.js` for the project build
 * (`src/cli/main.ts src/sinks/parquet/writer-worker.ts`, common directory `src/`).
 */
export function writerWorkerSpecifier(): string {
  const here = import.meta.url;
  if (!here.includes("/$bunfs/") && !here.includes("/~BUN/")) return new URL("./writer-worker.ts", here).href;
  const root = dirname(Bun.main);
  const candidates = [
    "sinks/parquet/writer-worker.js",
    "src/sinks/parquet/writer-worker.js",
    "parquet/writer-worker.js",
    "writer-worker.js",
  ];
  for (const rel of candidates) {
    const p = join(root, rel);
    if (existsSync(p)) return p;
  }
  return join(root, candidates[0]);
}

/** Bun's Worker (ref/unref); the DOM lib's Worker type shadows it in this project's tsconfig. */
type BunWorker = Bun.Worker;

interface Group {
  builders: ColumnBatchBuilder[];
  /** Rows of the last batch, to size the next builder's arrays. */
  hint: number;
}

interface KindState {
  readonly kind: RowKind;
  readonly root: string;
  readonly periodMs: number;
  nextRotateAt: number;
  readonly groups: Map<string, Group>;
}

interface Pending {
  readonly kind: RowKind;
  readonly symbol: string;
  readonly rows: number;
}

export class ParquetSink implements RowSink {
  private readonly opts: ParquetSinkOptions;
  private readonly kinds = new Map<RowKind, KindState>();
  private readonly maxRows: number;
  private readonly now: () => number;
  private readonly runTag: string;
  private worker: BunWorker | null = null;
  private workerState: WorkerState = "starting";
  private lastSpawnFailAt = -Infinity;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private resolveExit: (() => void) | null = null;

  private filesWritten = 0;
  private rowsWritten = 0;
  private bytesWritten = 0;
  private rowsBuffered = 0;
  private rowsPending = 0;
  private writeErrors = 0;
  private rowsLost = 0;
  private rowsRejected = 0;
  private lastRejection: string | null = null;
  private lastError: ParquetSinkError | null = null;
  /** Kinds whose latest write attempt failed: a failing root must not hide behind a healthy one. */
  private readonly failingKinds = new Set<RowKind>();
  private encodeMsTotal = 0;
  private lastFileAtMs: number | null = null;
  private readonly lastFiles = new Map<string, Map<RowKind, ParquetFileInfo>>();

  constructor(opts: ParquetSinkOptions) {
    this.opts = opts;
    this.maxRows = Math.max(1, opts.maxRowsPerFile ?? DEFAULT_MAX_ROWS);
    this.now = opts.now ?? Date.now;
    this.runTag = (crypto.getRandomValues(new Uint32Array(1))[0] >>> 0).toString(36).padStart(7, "0");
    for (const kind of ALL_KINDS) {
      const sec = kind === "orderbook" ? opts.orderbookRotateSec : opts.rotateSec;
      this.kinds.set(kind, {
        kind,
        root: RAW.has(kind) ? opts.outputDir : opts.previewDir,
        periodMs: Math.max(1, Math.round(sec * 1000)),
        nextRotateAt: NaN,
        groups: new Map(),
      });
    }
    // Spawned up front so a worker that cannot load shows up in status before any data is lost.
    this.spawn();
  }

  append(kind: RowKind, row: Row): void {
    if (this.closed) return this.reject(`${kind}: sink closed`);
    const ks = this.kinds.get(kind);
    if (!ks) return this.reject(`unknown kind ${kind}`);
    const symbol = row.symbol;
    const ts = row.ts_ms;
    if (typeof symbol !== "string") return this.reject(`${kind}: symbol is not a string`);
    if (!Number.isSafeInteger(ts)) return this.reject(`${kind}: ts_ms is not an integer`);
    const day = Math.floor((ts as number) / DAY_MS);
    let group = ks.groups.get(symbol);
    if (!group) {
      // The symbol becomes a path segment: refuse anything that could escape the tree.
      if (!SYMBOL_RE.test(symbol)) return this.reject(`${kind}: symbol ${JSON.stringify(symbol)} is not a valid path segment`);
      group = { builders: [], hint: 0 };
      ks.groups.set(symbol, group);
    }
    let b: ColumnBatchBuilder | undefined;
    const list = group.builders;
    for (let i = 0; i < list.length; i++) {
      if (list[i].day === day) {
        b = list[i];
        break;
      }
    }
    if (!b) {
      b = new ColumnBatchBuilder(kind, symbol, day, group.hint || undefined);
      list.push(b);
    }
    if (!b.append(row)) return this.reject(`${kind}: ${b.lastRejection}`);
    this.rowsBuffered++;
    if (b.rows >= this.maxRows) this.handOver(ks, b);
  }

  /**
   * Rotation clock. Each kind's batches are handed over when `nowMs` crosses a multiple of its
   * rotation period, so files cover aligned wall-clock (or replay-clock) intervals. The first call
   * only starts the clock.
   */
  tick(nowMs: number): void {
    for (const ks of this.kinds.values()) {
      // A clock that jumped back by more than a period (wall clock reset, a replay restarting)
      // would otherwise hold every batch until it caught up again.
      if (Number.isNaN(ks.nextRotateAt) || nowMs < ks.nextRotateAt - 2 * ks.periodMs) {
        ks.nextRotateAt = (Math.floor(nowMs / ks.periodMs) + 1) * ks.periodMs;
        continue;
      }
      if (nowMs < ks.nextRotateAt) continue;
      this.rotate(ks);
      ks.nextRotateAt = (Math.floor(nowMs / ks.periodMs) + 1) * ks.periodMs;
    }
  }

  /** Hands every collected row to the worker now (files appear asynchronously). */
  flush(): void {
    for (const ks of this.kinds.values()) this.rotate(ks);
  }

  /**
   * Flushes, then resolves once every handed-over batch is committed (or has failed) and the
   * worker thread has exited. Rows appended afterwards are rejected.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.flush();
    this.closed = true;
    const w = this.worker;
    if (!w) {
      this.workerState = "closed";
      this.closePromise = Promise.resolve();
      return this.closePromise;
    }
    this.workerState = "closing";
    this.closePromise = new Promise<void>((resolve) => {
      this.resolveExit = resolve;
    });
    w.ref();
    this.post(w, { type: "close" });
    return this.closePromise;
  }

  status(): ParquetSinkStatus {
    const lastFiles: Record<string, Partial<Record<RowKind, ParquetFileInfo>>> = {};
    for (const [symbol, byKind] of this.lastFiles) lastFiles[symbol] = Object.fromEntries(byKind);
    const workerDown = this.workerState === "failed";
    return {
      filesWritten: this.filesWritten,
      rowsWritten: this.rowsWritten,
      bytesWritten: this.bytesWritten,
      rowsBuffered: this.rowsBuffered,
      batchesPending: this.pending.size,
      rowsPending: this.rowsPending,
      writeErrors: this.writeErrors,
      rowsLost: this.rowsLost,
      rowsRejected: this.rowsRejected,
      lastRejection: this.lastRejection,
      lastError: this.lastError,
      lastFiles,
      lastFileAtMs: this.lastFileAtMs,
      encodeMsTotal: this.encodeMsTotal,
      workerState: this.workerState,
      failingKinds: [...this.failingKinds],
      healthy: !workerDown && this.failingKinds.size === 0,
    };
  }

  private reject(reason: string): void {
    this.rowsRejected++;
    this.lastRejection = reason;
  }

  private rotate(ks: KindState): void {
    for (const [symbol, group] of ks.groups) {
      let rows = 0;
      for (const b of group.builders) {
        rows += b.rows;
        this.handOver(ks, b);
      }
      // Builders are cheap to recreate; dropping them lets past days and idle symbols go.
      group.builders.length = 0;
      if (rows === 0) ks.groups.delete(symbol);
      else group.hint = Math.min(rows, MAX_CAPACITY_HINT);
    }
  }

  private handOver(ks: KindState, b: ColumnBatchBuilder): void {
    const batch = b.take();
    if (!batch) return;
    this.rowsBuffered -= batch.rows;
    const group = ks.groups.get(batch.symbol);
    if (group) group.hint = Math.min(batch.rows, MAX_CAPACITY_HINT);
    const id = this.nextId++;
    const w = this.worker ?? this.spawn();
    if (!w) {
      this.fail({ kind: batch.kind, symbol: batch.symbol, rows: batch.rows }, {
        code: "EWORKER",
        message: "parquet writer worker is not running",
        path: ks.root,
      });
      return;
    }
    this.pending.set(id, { kind: batch.kind, symbol: batch.symbol, rows: batch.rows });
    this.rowsPending += batch.rows;
    if (this.pending.size === 1) w.ref();
    this.post(w, { type: "write", id, root: ks.root, batch }, batch);
  }

  private post(w: BunWorker, msg: ToWorker, batch?: ColumnBatch): void {
    try {
      if (batch) w.postMessage(msg, transferList(batch));
      else w.postMessage(msg);
    } catch (e) {
      if (msg.type === "write") {
        const p = this.pending.get(msg.id);
        if (p) {
          this.pending.delete(msg.id);
          this.rowsPending -= p.rows;
          this.fail(p, { code: "EWORKER", message: `cannot post batch: ${(e as Error).message}`, path: msg.root });
        }
      }
    }
  }

  private spawn(): BunWorker | null {
    if (this.closed) return null;
    if (this.now() - this.lastSpawnFailAt < RESPAWN_BACKOFF_MS) return null;
    let w: BunWorker;
    try {
      w = new Worker(this.opts.workerSpecifier ?? writerWorkerSpecifier()) as unknown as BunWorker;
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
    this.post(w, {
      type: "init",
      rowGroupSize: this.opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE,
      createdBy: this.opts.createdBy ?? "harvestd",
      zstdLevel: this.opts.zstdLevel,
      runTag: this.runTag,
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
      case "written":
        this.onWritten(msg);
        break;
      case "error":
        this.settle(msg.id);
        this.fail(msg, msg.error);
        break;
      case "closed":
        break;
    }
  }

  private onWritten(msg: WrittenReply): void {
    this.settle(msg.id);
    const atMs = this.now();
    this.filesWritten++;
    this.rowsWritten += msg.rows;
    this.bytesWritten += msg.bytes;
    this.encodeMsTotal += msg.encodeMs;
    this.lastFileAtMs = atMs;
    this.failingKinds.delete(msg.kind);
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

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.rowsPending -= p.rows;
    if (this.pending.size === 0 && this.workerState !== "closing") this.worker?.unref();
  }

  private fail(batch: Pick<ErrorReply, "kind" | "symbol" | "rows"> | null, error: WriteErrorInfo): void {
    const err: ParquetSinkError = {
      code: error.code,
      message: error.message,
      path: error.path,
      kind: batch?.kind ?? "",
      symbol: batch?.symbol ?? "",
      rows: batch?.rows ?? 0,
      atMs: this.now(),
    };
    this.writeErrors++;
    this.rowsLost += err.rows;
    this.lastError = err;
    if (err.kind) this.failingKinds.add(err.kind);
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
    const lost = [...this.pending.values()];
    this.pending.clear();
    this.rowsPending = 0;
    if (lost.length === 0) this.fail(null, { code: "EWORKER", message, path: "" });
    for (const p of lost) this.fail(p, { code: "EWORKER", message, path: "" });
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
    if (!this.closed || !this.resolveExit) return;
    const resolve = this.resolveExit;
    this.resolveExit = null;
    resolve();
  }
}
