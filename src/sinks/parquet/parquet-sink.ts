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
 * never rows, and never memory past the bound. Only a failing spill write drops (counted). Writer
 * failures land in `status()` and the `onError` callback, never in the ingest path.
 *
 * Beside it: writer-ledger.ts (the batches handed over and not yet written), writer-tally.ts (what
 * the writer has done), drain-rate.ts (how soon a backlog drains), sink-types.ts (options, status).
 */
import { RAW_KINDS, customSchemaEntries, sinkKinds, type Row, type SinkKind } from "../../core/rows.ts";
import { RotationClock, rotationPeriodMs } from "../rotation.ts";
import { BufferPool } from "../../util/buffer-pool.ts";
import { chunkTransferList, transferList, type ColumnBatch } from "./columns.ts";
import { ColumnBatchBuilder } from "./batch-builder.ts";
import { workerEntry } from "../../util/worker-entry.ts";
import { recentDropReason, verdict, type ComponentHealth, type RowSinkComponent } from "../component.ts";
import { DEFAULT_ROW_GROUP_SIZE } from "./encode.ts";
import type { FromWorker, ToWorker, WriteErrorInfo, WrittenReply } from "./protocol.ts";
import { SpillQueue, type Spilled, type SpillWriteResult } from "./spill.ts";
import { makeStagingDir } from "../storage/staging.ts";
import { WriterLedger, type PendingBatch } from "./writer-ledger.ts";
import { WriterTally } from "./writer-tally.ts";
import { DrainRate } from "./drain-rate.ts";
import type { MaintenanceEvent, ParquetSinkError, ParquetSinkOptions, ParquetSinkStatus, WorkerState, WriteFailureOutcome } from "./sink-types.ts";

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
/**
 * Bound on the rows the builders hold and have not sent to the writer (`rowsUnsent`): a quarter of
 * the writer's byte bound at ≈ 128 bytes a row (a row is 20–367 bytes in its chunk, ≈ 90 on average
 * over the kinds a symbol writes, and chunks are cut up to twice the rows they hold), never below
 * UNSENT_ROWS_FLOOR. The byte bound counts only batches handed over; without this the rows of
 * batches not yet handed over grew with the rate × the rotation (a burst, while batches wait on disk
 * and nothing is sent ahead: 8.85 M rows, 940 MiB RSS at ≈ 100k frames/s) and, in replay and crash
 * recovery, which never rotate, with the whole hour. Replay's byte bound is unlimited (it waits for
 * room instead), so the bound is taken from at most DEFAULT_MAX_BUFFER_BYTES: 524,288 rows at the
 * default 256 MiB, ≈ 64 MiB of chunks.
 */
const UNSENT_ROW_BYTES = 128;
const UNSENT_SHARE_OF_BUFFER = 4;
/** A tiny byte bound (the overload test's 1 MiB) would hand over every few thousand rows: a file each. */
const UNSENT_ROWS_FLOOR = 65_536;
/**
 * Rows of batches not handed over yet, sent-ahead ones included, as a multiple of the bound above.
 * Chunks sent ahead are held by the writer as encoded pages (≈ a fifth of their raw size; spooled to
 * disk by the live writer, in memory in replay) until their batch is handed over and written: replay
 * and crash recovery held 8.3 M such rows, 729 MiB RSS.
 */
const BUFFERED_ROWS_PER_UNSENT = 4;
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

/** What a spilled batch needs to be handed over later. */
interface SpillMeta {
  readonly ks: KindState;
  readonly key: number;
  readonly sentBytes: number;
}

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
  private readonly ledger = new WriterLedger();
  private readonly tally = new WriterTally();
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private resolveExit: (() => void) | null = null;
  private lastMaintainAt = -Infinity;
  private readonly spill: SpillQueue<SpillMeta>;
  /** A spilled batch is being read back (one at a time, in order). */
  private unspilling = false;
  private rowsSpilledTotal = 0;
  private spillDrainWaiters: (() => void)[] = [];
  private readonly drainRate = new DrainRate();
  private rowsBuffered = 0;
  /** Rows in builders neither handed over nor sent ahead; held at most `maxUnsent` (see shed). */
  private rowsUnsent = 0;
  private readonly maxUnsent: number;
  /** Bound on `rowsBuffered` (rows of batches not handed over, sent-ahead ones included). */
  private readonly maxBuffered: number;
  /** Builders handed over before their rotation because of the two bounds above: one extra file each. */
  private earlyHandOvers = 0;
  /** Producers in waitForRoomUnlessHeld, woken when a write is held. */
  private readonly heldWaiters = new Set<() => void>();
  /**
   * Raw bytes of chunks sent ahead of batches not handed over yet. Counted against the buffer limit
   * at hand-over, but not by waitForRoom: they are freed only by their batch's write, which a
   * producer waiting for room would never reach.
   */
  private bytesAhead = 0;
  private writeErrors = 0;
  private rowsDropped = 0;
  private lastDropAtMs: number | null = null;
  private rowsLost = 0;
  private rowsRejected = 0;
  private lastRejection: string | null = null;
  private lastError: ParquetSinkError | null = null;

  constructor(opts: ParquetSinkOptions) {
    this.opts = opts;
    this.maxRows = Math.max(1, opts.maxRowsPerFile ?? DEFAULT_MAX_ROWS);
    this.maxBufferBytes = Math.max(1, opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES);
    this.maxUnsent = Math.max(UNSENT_ROWS_FLOOR, Math.floor(Math.min(this.maxBufferBytes, DEFAULT_MAX_BUFFER_BYTES) / UNSENT_SHARE_OF_BUFFER / UNSENT_ROW_BYTES));
    // The live writer spools sent-ahead pages to disk (lowMemory): only replay's are held in memory.
    this.maxBuffered = opts.lowMemory === true ? Number.MAX_SAFE_INTEGER : this.maxUnsent * BUFFERED_ROWS_PER_UNSENT;
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
    this.rowsUnsent++;
    if (b.rows >= this.maxRows) this.handOver(ks, entry);
    // While batches wait on disk the writer is behind: chunks stay in the builder (bounded by
    // maxUnsent) instead of piling up in the worker ahead of batches that cannot be written yet.
    else if (ks.sendsAhead && b.hasSealed && this.spill.length === 0) this.sendAhead(entry);
    // Unsent rows pile up only while batches wait on disk (nothing is sent ahead then); otherwise
    // they are the builders' current chunks, bounded by the chunk size, and shedding them would only
    // cost files at a high but sustainable rate.
    if ((this.rowsUnsent > this.maxUnsent && this.spill.length > 0) || this.rowsBuffered > this.maxBuffered) this.shed();
  }

  /**
   * The builders hold more rows than their bounds: the largest go now as batches, before their
   * rotation (live and behind: to the spill on disk like any batch; replay: to the writer, and
   * replay then waits for room), until the rows held are down to half the bound, so that a burst
   * costs one extra file per builder every half bound of rows rather than one every few rows.
   */
  private shed(): void {
    const byUnsent = this.rowsUnsent > this.maxUnsent && this.spill.length > 0;
    const byBuffered = this.rowsBuffered > this.maxBuffered;
    const held: { ks: KindState; entry: BuilderEntry; rows: number }[] = [];
    for (const ks of this.kinds.values()) {
      for (const group of ks.groups.values()) {
        for (const entry of group.builders) {
          const b = entry.builder;
          const rows = byBuffered ? b.rows : b.unsentRows;
          if (rows > 0) held.push({ ks, entry, rows });
        }
      }
    }
    held.sort((x, y) => y.rows - x.rows);
    for (const h of held) {
      if ((!byUnsent || this.rowsUnsent <= this.maxUnsent / 2) && (!byBuffered || this.rowsBuffered <= this.maxBuffered / 2)) break;
      this.earlyHandOvers++;
      this.handOver(h.ks, h.entry);
    }
  }

  /**
   * Rotation clock. A (kind, symbol)'s batch is handed over when `nowMs` crosses one of its
   * boundaries, a period apart and phase-shifted per symbol (rotation.ts), so each file covers one
   * period and the symbols' files are not all finished at the same moment. The first call only
   * starts the clock. The same clock decides when an hour is closed for compaction.
   */
  tick(nowMs: number): void {
    for (const r of this.clock.due(nowMs)) this.rotate(this.kinds.get(r.kind)!, r.includes);
    this.drainRate.sample(this.tally.rowsWritten, performance.now(), this.ledger.rows + this.spill.rows);
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
    return this.ledger.waitForRoom(limitBytes, this.writerGone());
  }

  /**
   * waitForRoom for a producer that must not wait while the output refuses writes (replay, crash
   * recovery): resolves at once while a write is held, and as soon as one is held while waiting,
   * since room may then never come (the writer retries the held batch; what is still held at close
   * is reported).
   */
  async waitForRoomUnlessHeld(limitBytes: number): Promise<void> {
    if (this.ledger.held > 0) return;
    const held = Promise.withResolvers<void>();
    this.heldWaiters.add(held.resolve);
    try {
      await Promise.race([this.waitForRoom(limitBytes), held.promise]);
    } finally {
      this.heldWaiters.delete(held.resolve);
    }
  }

  private writerGone(): boolean {
    return this.workerState === "failed" || this.workerState === "closed";
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
      if (this.ledger.held === 0) await this.waitForRoom(this.maxBufferBytes / 2);
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
    const drop = recentDropReason("parquet buffer full: rows", pq.lastDropAtMs, nowMs, this.opts.dropAlertMs);
    if (drop !== null) reasons.push(drop);
    // Not a loss, but the Parquet files are behind the log until it drains: say by how much and for how long.
    if (pq.batchesSpilled > 0) {
      const eta = pq.drainEtaSec !== null ? `drains in ≈ ${Math.ceil(pq.drainEtaSec)} s` : pq.backlogShrinkRowsPerSec === null ? "drain time not yet measured" : "not draining: the backlog is growing";
      reasons.push(`parquet writer behind: ${pq.rowsPending + pq.rowsSpilled} rows pending, ${pq.rowsSpilled} of them (${(pq.bytesSpilled / 1048576).toFixed(1)} MiB) spilled to disk; ${eta}`);
    }
    // Stuck, not failing (an encode or a write that never returns): nothing else would say so.
    const still = this.ledger.stillForMs();
    if (pq.batchesPending > 0 && pq.batchesHeld === 0 && pq.workerState !== "failed" && still > (this.opts.stallMs ?? 60_000)) {
      reasons.push(`parquet writer stalled: ${pq.batchesPending} batches (${pq.rowsPending} rows) pending, no progress for ${Math.floor(still / 1000)} s`);
    }
    return verdict(reasons);
  }

  status(): ParquetSinkStatus {
    const workerDown = this.workerState === "failed";
    const ledger = this.ledger;
    return {
      ...this.tally.status(),
      rowsBuffered: this.rowsBuffered,
      rowsUnsent: this.rowsUnsent,
      maxRowsUnsent: this.maxUnsent,
      maxRowsBuffered: this.maxBuffered === Number.MAX_SAFE_INTEGER ? null : this.maxBuffered,
      earlyHandOvers: this.earlyHandOvers,
      batchesPending: ledger.size,
      rowsPending: ledger.rows,
      bytesPending: ledger.bytes,
      bytesSentAhead: this.bytesAhead,
      chunkBuffersReturned: this.chunkBuffersReturned,
      chunkMemoryReused: this.chunkPool.reused,
      chunkPoolBytes: this.chunkPool.bytes,
      maxBufferBytes: this.maxBufferBytes,
      batchesHeld: ledger.held,
      rowsHeld: ledger.heldRows,
      writeErrors: this.writeErrors,
      batchesSpilled: this.spill.length,
      rowsSpilled: this.spill.rows,
      bytesSpilled: this.spill.bytes,
      rowsSpilledTotal: this.rowsSpilledTotal,
      ...this.drainRate.estimate(ledger.rows + this.spill.rows),
      rowsDropped: this.rowsDropped,
      lastDropAtMs: this.lastDropAtMs,
      rowsLost: this.rowsLost,
      rowsRejected: this.rowsRejected,
      lastRejection: this.lastRejection,
      lastError: this.lastError,
      workerState: this.workerState,
      failingKinds: ledger.failingKinds,
      heldErrorCode: ledger.heldErrorCode,
      // After close, rows given up (held writes that still failed, a dead worker) stay visible here.
      healthy: !workerDown && ledger.held === 0 && !(this.closed && this.rowsLost > 0),
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
    for (const c of chunks) this.rowsUnsent -= c.rows;
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
    this.rowsUnsent -= batch.rows - batch.sentRows;
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
    return this.ledger.fits(bytes, this.maxBufferBytes);
  }

  private spillBatch(ks: KindState, batch: ColumnBatch, key: number, sentBytes: number): void {
    const who = { kind: batch.kind, symbol: batch.symbol, rows: batch.rows };
    const dropped = (r: Extract<SpillWriteResult, { ok: false }>): void => {
      if (batch.sentRows > 0 && this.worker !== null) this.post(this.worker, { type: "discard", key });
      this.rowsDropped += batch.rows;
      this.lastDropAtMs = this.now();
      this.fail(who, "dropped", {
        code: "EBUFFER",
        message: `write buffer full (${this.ledger.bytes} of ${this.maxBufferBytes} bytes held for the writer) and ${r.message} (${r.code}): ${batch.rows} ${batch.kind} rows dropped`,
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
    this.ledger.add(id, batch.kind, batch.symbol, batch.rows, bytes + sentBytes);
    if (this.ledger.size === 1) w.ref();
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
        const p = this.ledger.hold(msg.id, msg.heldBytes, msg.error.code);
        if (p) this.fail(p, "held", msg.error);
        for (const wake of this.heldWaiters) wake();
        break;
      }
      case "dropped": {
        const p = this.settle(msg.id);
        if (p) this.fail(p, "dropped", msg.error);
        break;
      }
      case "compacted":
        this.tally.compacted(msg, this.now());
        this.maintenance({ type: "compacted", path: msg.path, files: msg.files, rows: msg.rows, bytes: msg.bytes, ms: msg.ms });
        break;
      case "expired":
        this.tally.expired();
        this.maintenance({ type: "expired", path: msg.path });
        break;
      case "maintenance-error":
        this.tally.maintenanceError(`${msg.what}: ${msg.error.message}`);
        this.maintenance({ type: "error", what: msg.what, error: msg.error });
        break;
      case "closed":
        break;
    }
  }

  private onWritten(msg: WrittenReply): void {
    const p = this.settle(msg.id);
    if (p?.held) this.maintenance({ type: "resumed", what: `${msg.rows} ${msg.kind} rows of ${msg.symbol} written after ${msg.attempts} attempts` });
    const info = this.tally.written(msg, this.now());
    if (this.opts.onFile) {
      try {
        this.opts.onFile(info);
      } catch {}
    }
  }

  private maintenance(ev: MaintenanceEvent): void {
    if (!this.opts.onMaintenance) return;
    try {
      this.opts.onMaintenance(ev);
    } catch {}
  }

  /** Forgets a batch that was written or given up (room for others, spilled batches may follow); returns what it was. */
  private settle(id: number): PendingBatch | undefined {
    const p = this.ledger.settle(id);
    if (!p) return undefined;
    if (this.ledger.size === 0 && this.workerState !== "closing") this.worker?.unref();
    this.ledger.wakeRoomWaiters(this.writerGone());
    this.unspill();
    return p;
  }

  private fail(batch: Pick<PendingBatch, "kind" | "symbol" | "rows"> | null, outcome: WriteFailureOutcome, error: WriteErrorInfo): void {
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
    const lost = this.ledger.ids().map((id) => this.settle(id)!);
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
    if (this.workerState === "closing" && this.ledger.size === 0) {
      this.worker = null;
      this.workerState = "closed";
      this.finishClose();
      return;
    }
    this.workerDied(w, "parquet writer worker exited unexpectedly");
  }

  private finishClose(): void {
    this.ledger.wakeRoomWaiters(this.writerGone());
    if (!this.closed || !this.resolveExit) return;
    const resolve = this.resolveExit;
    this.resolveExit = null;
    resolve();
  }
}
