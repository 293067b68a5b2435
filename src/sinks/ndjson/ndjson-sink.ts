/**
 * NDJSON raw log (docs/storage.md, "NDJSON raw logs"): one line per received frame or control event, in arrival order,
 * into `DIR/date=YYYY-MM-DD/symbol=SYMBOL/raw-HH.ndjson` by UTC receipt hour.
 *
 * Lines are buffered in memory and appended asynchronously (libuv's thread pool), so ingest never
 * waits on the disk; buffers are handed to the OS at least every `flushIntervalMs` (≤ 1 s: a crash
 * of the process loses at most that much). A write that fails (disk full, permission) is kept and
 * tried again every `retryMs`, continuing at the exact byte where the OS stopped, so lines stay
 * in order and whole. A file never holds a cut line followed by more: what a stop could not write
 * is cut back to the last whole line, and a file opened to append loses a cut last line left by an
 * earlier run (a crash) before our lines follow it (`finishTail`). Everything not yet written
 * counts against `maxBufferBytes`; a line that would go past it is dropped and counted.
 *
 * Lost lines leave a trace in the log itself: the lines dropped for a symbol's hour are counted (per
 * stream, with their receipt times) and a `lines_lost` control line (core/raw-log.ts) goes into that
 * hour's file as soon as a write of it succeeds again (or the timer finds the file writable, or at
 * the stop). Lines a stop cannot write are summed from the bytes given up and, best effort, one such
 * line is appended after the file's last whole line.
 *
 * Durability (`fsync`): "always" fdatasyncs a file after every write and before it resolves; "interval"
 * (the default) fdatasyncs every file written since the last sync once per `fsyncIntervalMs` (1 s);
 * "none" leaves write-back to the OS. A file is synced before it is closed in either synced mode.
 * The syncs run in the file's write loop, on the thread pool, never on the ingest thread.
 *
 * An hour file is closed when its symbol's first line of a later hour arrives, or when the wall
 * clock has left its hour, and is then compressed in the background (compress.ts). Closed hours
 * left plain by an earlier run (a crash, a stop) are compressed by the sweep at start and every
 * hour; `retentionDays` deletes old date folders.
 */
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { listNames } from "../../util/list-names.ts";
import { dirname, join, relative } from "node:path";
import type { StorageEvent } from "../storage/events-log.ts";
import { applyRetention } from "../storage/retention.ts";
import { compressFile, type CompressionMode, type NdjsonCompression } from "./compress.ts";
import { CompressionQueue } from "./compression-queue.ts";
import { LineBytes } from "./line-bytes.ts";
import { BufferPool } from "../../util/buffer-pool.ts";
import { DATA_LINE_MAX_OVERHEAD, linesLostLine, linesLostOf, maxDataLineBytes, writeDataLine, type LinesLost } from "../../core/raw-log.ts";
import { recentDropReason, verdict, type ComponentHealth, type LineSinkComponent } from "../component.ts";

export { compressFile, type NdjsonCompression } from "./compress.ts";

const HOUR_MS = 3_600_000;
/** A file stays open this long past the end of its hour (frames stamped just before the turn). */
const IDLE_CLOSE_GRACE_MS = 2_000;
const SWEEP_EVERY_MS = HOUR_MS;
export const DEFAULT_NDJSON_MAX_BUFFER_BYTES = 256 * 1024 * 1024;
/**
 * Written buffers kept for the next flushes: at 175k frames/s and 50 symbols a flush round needs
 * ≈ 50 × 512 KiB; at 2,000 frames/s ≈ 50 × 4 KiB. What a second's flushes did not take is let go.
 */
const POOL_MAX_FREE_BYTES = 32 * 1024 * 1024;

/** When appended lines are forced to the disk (docs/storage.md: cost and worst-case loss of each). */
export type NdjsonFsync = "none" | "interval" | "always";

export interface NdjsonSinkOptions {
  readonly dir: string;
  readonly flushIntervalMs?: number;
  readonly compress?: NdjsonCompression;
  /** Default "interval". */
  readonly fsync?: NdjsonFsync;
  /** Period of the "interval" syncs (default 1000 ms). */
  readonly fsyncIntervalMs?: number;
  /** A file with lines pending and no write finished for this long: health names the writer as stalled (default 60 s). */
  readonly stallMs?: number;
  /** How long after dropping lines health still reports it (default DROP_ALERT_MS). */
  readonly dropAlertMs?: number;
  /** Bound on lines held in memory (buffered or failed), in bytes of text (default 256 MiB). */
  readonly maxBufferBytes?: number;
  /** Delay between attempts at a failed write (default 1 s). */
  readonly retryMs?: number;
  /** Delete `date=` folders older than this many days; 0 (default) keeps everything. */
  readonly retentionDays?: number;
  /** Compress closed hours left plain by earlier runs, at start and hourly (default true). */
  readonly sweep?: boolean;
  /** Wall clock, for closing idle hours, the sweep and retention; injectable for tests. */
  readonly now?: () => number;
  /** Called on a write, compression or maintenance error (the sink keeps going). */
  readonly onError?: (err: Error, path: string) => void;
  /** Compressions, deletions and recoveries, for the log. */
  readonly onMaintenance?: (event: StorageEvent) => void;
}

export interface NdjsonStatus {
  readonly linesWritten: number;
  readonly bytesWritten: number;
  /** Lines appended and not yet written (buffered, being written or held after a failure). */
  readonly pendingLines: number;
  readonly bytesHeld: number;
  readonly maxBufferBytes: number;
  /** Files whose latest write failed and is being retried. */
  readonly failingFiles: number;
  readonly writeErrors: number;
  /** fdatasync calls made (storage.ndjson_fsync). */
  readonly fsyncs: number;
  /** Lines dropped because the buffer bound was reached. */
  readonly linesDropped: number;
  /** When the bound last made the sink drop a line (null: never). */
  readonly lastDropAtMs: number | null;
  /** Lines that will never be written: dropped, or still failing when the sink closed (`lines_lost` lines in the log say where). */
  readonly linesLost: number;
  /**
   * Of `linesLost`, those no `lines_lost` line tells: their file could not take even that line at
   * the stop (a disk still full, a folder that cannot be made).
   * The `lines_lost` lines in the log sum to `linesLost - linesLostUntold`.
   */
  readonly linesLostUntold: number;
  readonly filesClosed: number;
  readonly filesCompressed: number;
  readonly partitionsExpired: number;
  readonly lastError: string | null;
  /** errno code of the last error (ENOSPC, EACCES, ...), without the path. */
  readonly lastErrorCode: string | null;
  readonly lastFile: Readonly<Record<string, string>>;
  /** No file failing and nothing lost. */
  readonly healthy: boolean;
}

interface Chunk {
  readonly buf: Buffer;
  /** The pooled memory `buf` lies in, returned to the pool once `buf` is written; null when not pooled. */
  readonly owner: ArrayBuffer | null;
  readonly lines: number;
  /** What this chunk counts against the bound (the text length it came from). */
  readonly held: number;
}

interface OpenFile {
  readonly path: string;
  readonly symbol: string;
  readonly hourKey: number;
  /** Latest receipt time of a line appended (or lost) for this file: a `lines_lost` line written here is stamped no earlier. */
  lastTs: number;
  /** Creation order. */
  readonly seq: number;
  /** Resolves when this file is closed (or given up): a later file at the same path waits for it. */
  readonly done: Promise<void>;
  readonly markDone: () => void;
  fh: FileHandle | null;
  /** Opened, its tail checked, once already (a reopen after a failure continues mid-chunk, exactly where it stopped). */
  opened: boolean;
  /** Lines appended since the last hand-over to the write loop. */
  pending: LineBytes;
  chunks: Chunk[];
  /** Bytes of chunks[0] already written. */
  offset: number;
  writing: Promise<void> | null;
  failing: boolean;
  retry: ReturnType<typeof setTimeout> | null;
  /** No more lines come; close (and compress) once everything is written. */
  closing: boolean;
  /** Being closed (finishFile runs once). */
  finishing: boolean;
  compress: boolean;
  /** Written since the last fdatasync. */
  dirty: boolean;
  /** performance.now() when a write of this file last finished, and when lines last started to wait in it (stall detection). */
  progressAtMs: number;
  waitingSinceMs: number;
  /** The interval asks for a sync at the next run of the write loop. */
  syncDue: boolean;
}

/** `date=YYYY-MM-DD/symbol=SYMBOL/raw-HH.ndjson` for a receipt time. */
export function ndjsonRelPath(symbol: string, tsRecvMs: number): string {
  const iso = new Date(tsRecvMs).toISOString();
  return `date=${iso.slice(0, 10)}/symbol=${symbol}/raw-${iso.slice(11, 13)}.ndjson`;
}

const RAW_FILE = /^raw-(\d{2})\.ndjson$/;

/** Lines dropped for one symbol's hour file, not yet told in it. */
interface LostSpan {
  readonly symbol: string;
  readonly hourKey: number;
  lines: number;
  fromTs: number;
  toTs: number;
  /** Data lines per stream; control lines (appended as text) are counted apart. */
  readonly streams: Map<string, number>;
  control: number;
}

const lostKey = (symbol: string, hourKey: number): string => `${hourKey}/${symbol}`;

function spanFigures(span: LostSpan): LinesLost {
  return { lines: span.lines, fromTs: span.fromTs, toTs: span.toTs, streams: Object.fromEntries(span.streams), control: span.control };
}

export class NdjsonSink implements LineSinkComponent {
  readonly name = "ndjson";
  private readonly files = new Map<string, OpenFile>();
  /** Every file's line buffers, reused from flush to flush. */
  private readonly pool = new BufferPool(POOL_MAX_FREE_BYTES);
  /** Files no longer receiving lines, still being written out, closed or compressed. */
  private readonly draining = new Set<OpenFile>();
  /** How closed hours are compressed; null: they stay plain. */
  private readonly compression: CompressionMode | null;
  private readonly compressions = new CompressionQueue((path) => this.compress(path));
  private readonly background = new Set<Promise<unknown>>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maintenanceTimer: ReturnType<typeof setInterval> | null;
  private readonly maxBufferBytes: number;
  private readonly now: () => number;
  private heldBytes = 0;
  private fileSeq = 0;
  private pendingLines = 0;
  private linesWritten = 0;
  private bytesWritten = 0;
  private writeErrors = 0;
  private fsyncs = 0;
  private readonly fsyncMode: NdjsonFsync;
  private readonly fsyncTimer: ReturnType<typeof setInterval> | null;
  private linesDropped = 0;
  private lastDropAtMs: number | null = null;
  private linesLost = 0;
  private linesLostUntold = 0;
  /** Figures the stop could not write into their file yet: tried once more at the end of close(), then counted untold. */
  private readonly untold: { path: string; tsRecv: number; figures: LinesLost }[] = [];
  /** Dropped lines per symbol and hour whose `lines_lost` line is not written yet. */
  private readonly lost = new Map<string, LostSpan>();
  private filesClosed = 0;
  private filesCompressed = 0;
  private partitionsExpired = 0;
  private lastError: string | null = null;
  private lastErrorCode: string | null = null;
  private readonly lastFile: Record<string, string> = {};
  private closed = false;
  /** Set by close(): one last attempt per file, then what still fails is given up. */
  private final = false;

  constructor(private readonly opts: NdjsonSinkOptions) {
    const compress = opts.compress ?? "gzip";
    this.compression = compress === "none" ? null : compress;
    this.maxBufferBytes = Math.max(1, opts.maxBufferBytes ?? DEFAULT_NDJSON_MAX_BUFFER_BYTES);
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.onTimer(), Math.min(opts.flushIntervalMs ?? 200, 1000));
    this.fsyncMode = opts.fsync ?? "interval";
    this.fsyncTimer = this.fsyncMode === "interval" ? setInterval(() => this.syncDirty(), opts.fsyncIntervalMs ?? 1000) : null;
    const maintain = (opts.sweep ?? true) || (opts.retentionDays ?? 0) > 0;
    this.maintenanceTimer = maintain ? setInterval(() => this.maintain(), SWEEP_EVERY_MS) : null;
    this.maintenanceTimer?.unref();
    if (maintain) this.maintain();
  }

  /** Appends one line (without its newline) to the symbol's file for the receipt hour. */
  append(symbol: string, tsRecvMs: number, line: string): void {
    const f = this.fileFor(symbol, tsRecvMs, line.length + 1, null);
    if (f === null) return;
    this.put(f, line);
  }

  /** A text line into the file's buffer, whatever the bound (control lines of the sink's own). */
  private put(f: OpenFile, line: string): void {
    const b = f.pending.room(line.length * 3 + 1);
    let n = f.pending.offset;
    n += b.write(line, n, "utf8");
    b[n] = 0x0a;
    this.added(f.pending.commit(n + 1));
  }

  /** Appends a data line (core/raw-log.ts `dataLine`), written as bytes without making the string. */
  appendData(symbol: string, tsRecvMs: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): void {
    const f = this.fileFor(symbol, tsRecvMs, dataText.length + DATA_LINE_MAX_OVERHEAD, stream);
    if (f === null) return;
    const b = f.pending.room(maxDataLineBytes(stream, dataText));
    const n = writeDataLine(b, f.pending.offset, tsRecvMs, stream, latencyEventMs, latencyPipelineMs, dataText);
    b[n] = 0x0a;
    this.added(f.pending.commit(n + 1));
  }

  private added(bytes: number): void {
    this.heldBytes += bytes;
    this.pendingLines++;
  }

  /**
   * The symbol's open file for the receipt hour, or null when a line of about `bytes` would go past
   * the bound (dropped, and counted for its file's `lines_lost` line; `stream` null: a control line).
   */
  private fileFor(symbol: string, tsRecvMs: number, bytes: number, stream: string | null): OpenFile | null {
    if (this.closed) throw new Error("NdjsonSink is closed");
    if (this.heldBytes + bytes > this.maxBufferBytes) {
      this.linesDropped++;
      this.linesLost++;
      this.lastDropAtMs = this.now();
      this.countLost(symbol, tsRecvMs, stream);
      // Reported once per 10,000 drops: the log is rate-limited anyway, the counter is exact.
      if (this.linesDropped % 10_000 === 1) {
        const err: NodeJS.ErrnoException = new Error(`buffer full (${this.heldBytes} bytes held): dropping lines, ${this.linesDropped} so far`);
        err.code = "EBUFFER";
        this.report(err, this.opts.dir);
      }
      return null;
    }
    const hourKey = Math.floor(tsRecvMs / HOUR_MS);
    let f = this.files.get(symbol);
    if (f === undefined || f.hourKey !== hourKey) {
      if (f !== undefined) this.closeFile(f, true);
      f = this.openFile(symbol, tsRecvMs, hourKey);
      this.files.set(symbol, f);
    }
    if (f.pending.lines === 0 && f.chunks.length === 0) f.waitingSinceMs = performance.now();
    if (tsRecvMs > f.lastTs) f.lastTs = tsRecvMs;
    return f;
  }

  private countLost(symbol: string, tsRecvMs: number, stream: string | null): void {
    const hourKey = Math.floor(tsRecvMs / HOUR_MS);
    const key = lostKey(symbol, hourKey);
    let span = this.lost.get(key);
    if (span === undefined) {
      span = { symbol, hourKey, lines: 0, fromTs: tsRecvMs, toTs: tsRecvMs, streams: new Map(), control: 0 };
      this.lost.set(key, span);
    }
    span.lines++;
    if (tsRecvMs < span.fromTs) span.fromTs = tsRecvMs;
    if (tsRecvMs > span.toTs) span.toTs = tsRecvMs;
    if (stream === null) span.control++;
    else span.streams.set(stream, (span.streams.get(stream) ?? 0) + 1);
  }

  /**
   * The `lines_lost` line of `span` into `f` (its symbol's file of the span's hour), after the lines
   * already there. It counts against the bound like any line: when it does not fit it waits (false),
   * except at the stop (`force`).
   */
  private putLost(f: OpenFile, span: LostSpan, force: boolean): boolean {
    const line = linesLostLine(Math.max(f.lastTs, span.toTs), spanFigures(span));
    if (!force && this.heldBytes + line.length + 1 > this.maxBufferBytes) return false;
    if (f.pending.lines === 0 && f.chunks.length === 0) f.waitingSinceMs = performance.now();
    f.lastTs = Math.max(f.lastTs, span.toTs);
    this.put(f, line);
    return true;
  }

  /** A write of `f` just succeeded: the lines dropped for its hour are told in it now. */
  private tellLostIn(f: OpenFile): void {
    if (this.lost.size === 0 || f.finishing) return;
    const key = lostKey(f.symbol, f.hourKey);
    const span = this.lost.get(key);
    if (span !== undefined && this.putLost(f, span, false)) this.lost.delete(key);
  }

  /**
   * Writes the `lines_lost` line of every span that can be told: into its hour's open file unless
   * that file is failing (then once a write succeeds again, `tellLostIn`); a span whose hour has no
   * open file any more (its hour is over, or the symbol has moved on to a later one) into a file
   * object of its own for that path, appended after the hour's lines and closed (compressed as a
   * member of its own when the hour is over). `all` (the stop): every span, failing or not.
   */
  private tellLost(all: boolean): void {
    if (this.lost.size === 0) return;
    const hourNow = Math.floor((this.now() - IDLE_CLOSE_GRACE_MS) / HOUR_MS);
    for (const [key, span] of [...this.lost]) {
      const f = this.files.get(span.symbol);
      if (f !== undefined && f.hourKey === span.hourKey) {
        if (f.failing && !all) continue;
        if (this.putLost(f, span, all)) this.lost.delete(key);
      } else if (all || span.hourKey < hourNow || (f !== undefined && f.hourKey > span.hourKey)) {
        const g = this.openFile(span.symbol, span.fromTs, span.hourKey, false);
        if (!this.putLost(g, span, all)) continue;
        this.lost.delete(key);
        this.closeFile(g, !all && span.hourKey < hourNow);
      }
    }
  }

  /** Hands every buffered line to the OS; resolves once they are written (or failed). */
  async flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const f of [...this.files.values(), ...this.draining]) waits.push(this.pump(f));
    await Promise.all(waits);
  }

  /**
   * Writes out everything (one last attempt for a failing file; what still fails is counted as
   * lost), closes every file and waits for background compressions. The current hours stay plain:
   * a restart within the hour appends to them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.final = true;
    clearInterval(this.timer);
    if (this.fsyncTimer !== null) clearInterval(this.fsyncTimer);
    if (this.maintenanceTimer !== null) clearInterval(this.maintenanceTimer);
    this.tellLost(true);
    for (const f of this.files.values()) this.closeFile(f, false);
    this.files.clear();
    await this.drain();
    await this.tellUntold();
  }

  /**
   * The stop's last chance for the `lines_lost` lines that did not fit when their file was given up
   * (others may have freed room since: a Parquet partial removed, another file's cut tail). What
   * still does not fit is counted in `linesLostUntold` and named in one log line.
   */
  private async tellUntold(): Promise<void> {
    let files = 0;
    let path = this.opts.dir;
    for (const u of this.untold.splice(0)) {
      if (await this.tellAtEnd(u.path, u.tsRecv, u.figures)) continue;
      this.linesLostUntold += u.figures.lines;
      files++;
      path = u.path;
    }
    if (this.linesLostUntold === 0) return;
    const message =
      `${this.linesLostUntold} of the ${this.linesLost} lines lost are told by no lines_lost line: ${files} file${files === 1 ? "" : "s"} could not take even that line ` +
      `(the lines_lost lines in the log sum to ${this.linesLost - this.linesLostUntold}; the stop line's ndjsonLinesLost counts all)`;
    this.event({ type: "error", what: "lines lost untold", error: { code: "EUNTOLD", message, path } });
  }

  /** Waits for outstanding writes, compressions and maintenance. */
  async drain(): Promise<void> {
    while (this.draining.size > 0 || this.background.size > 0 || this.compressions.size > 0) {
      await Promise.all([...[...this.draining].map((f) => this.pump(f)), ...this.background, this.compressions.idle()]);
    }
  }

  /** Periodic flush: lines reach the OS at least this often (the collector ticks every 250 ms). */
  tick(_nowMs: number): void {
    void this.flush();
  }

  health(nowMs: number): ComponentHealth {
    const reasons: string[] = [];
    const nd = this.status();
    if (nd.failingFiles > 0) reasons.push(`ndjson writes failing for ${nd.failingFiles} file${nd.failingFiles === 1 ? "" : "s"} (${nd.lastErrorCode ?? "error"}), retrying`);
    const drop = recentDropReason("ndjson buffer full: lines", nd.lastDropAtMs, nowMs, this.opts.dropAlertMs);
    if (drop !== null) reasons.push(drop);
    // Stuck, not failing (a write that never returns: a hung disk, a full pipe): nothing else would say so.
    const stall = this.stalled(performance.now());
    if (stall !== null) reasons.push(`ndjson writer stalled: ${stall.lines} lines pending, no progress for ${Math.floor(stall.forMs / 1000)} s (${stall.files} file${stall.files === 1 ? "" : "s"})`);
    return verdict(reasons);
  }

  status(): NdjsonStatus {
    let failing = 0;
    for (const f of [...this.files.values(), ...this.draining]) if (f.failing) failing++;
    return {
      linesWritten: this.linesWritten,
      bytesWritten: this.bytesWritten,
      pendingLines: this.pendingLines,
      bytesHeld: this.heldBytes,
      maxBufferBytes: this.maxBufferBytes,
      failingFiles: failing,
      writeErrors: this.writeErrors,
      fsyncs: this.fsyncs,
      linesDropped: this.linesDropped,
      lastDropAtMs: this.lastDropAtMs,
      linesLost: this.linesLost,
      linesLostUntold: this.linesLostUntold,
      filesClosed: this.filesClosed,
      filesCompressed: this.filesCompressed,
      partitionsExpired: this.partitionsExpired,
      lastError: this.lastError,
      lastErrorCode: this.lastErrorCode,
      lastFile: { ...this.lastFile },
      healthy: failing === 0 && !(this.closed && this.linesLost > 0),
    };
  }

  private onTimer(): void {
    // Idle symbols: a file whose hour is over is closed (and compressed) without waiting for a
    // line of the next hour, which may never come.
    const hourNow = Math.floor((this.now() - IDLE_CLOSE_GRACE_MS) / HOUR_MS);
    for (const [symbol, f] of this.files) {
      if (f.hourKey < hourNow) {
        this.files.delete(symbol);
        this.closeFile(f, true);
      }
    }
    this.tellLost(false);
    void this.flush();
    this.pool.tick(Date.now());
  }

  /** Files with lines waiting and no finished write for longer than the stall limit (failing files are reported as failing). */
  private stalled(now: number): { files: number; lines: number; forMs: number } | null {
    const limit = this.opts.stallMs ?? 60_000;
    let files = 0;
    let lines = 0;
    let forMs = 0;
    for (const f of [...this.files.values(), ...this.draining]) {
      if (f.failing || (f.pending.lines === 0 && f.chunks.length === 0)) continue;
      const still = now - Math.max(f.progressAtMs, f.waitingSinceMs);
      if (still <= limit) continue;
      files++;
      lines += f.pending.lines + f.chunks.reduce((n, c) => n + c.lines, 0);
      forMs = Math.max(forMs, still);
    }
    return files === 0 ? null : { files, lines, forMs };
  }

  /** "interval": every file written since its last sync is synced by its write loop. */
  private syncDirty(): void {
    for (const f of [...this.files.values(), ...this.draining]) {
      if (!f.dirty || f.failing) continue;
      f.syncDue = true;
      void this.pump(f);
    }
  }

  /** `current`: the symbol's file for new lines (status names it), not one opened for a `lines_lost` line alone. */
  private openFile(symbol: string, tsRecvMs: number, hourKey: number, current = true): OpenFile {
    const path = join(this.opts.dir, ndjsonRelPath(symbol, tsRecvMs));
    if (current) this.lastFile[symbol] = path;
    let markDone = () => {};
    const done = new Promise<void>((resolve) => {
      markDone = resolve;
    });
    return {
      path,
      symbol,
      hourKey,
      lastTs: tsRecvMs,
      seq: ++this.fileSeq,
      done,
      markDone,
      fh: null,
      opened: false,
      pending: new LineBytes(this.pool),
      chunks: [],
      offset: 0,
      writing: null,
      failing: false,
      retry: null,
      closing: false,
      finishing: false,
      compress: false,
      dirty: false,
      syncDue: false,
      progressAtMs: performance.now(),
      waitingSinceMs: 0,
    };
  }

  private closeFile(f: OpenFile, compress: boolean): void {
    f.closing = true;
    f.compress = compress;
    this.draining.add(f);
    void this.pump(f);
  }

  /** Runs the file's write loop unless it is running; resolves when that loop ends. */
  private pump(f: OpenFile): Promise<void> {
    if (f.finishing) return f.done;
    if (f.pending.lines > 0) {
      const { parts, lines, bytes } = f.pending.take();
      // The lines and bytes count once the last part is written: a flush is done when all of it is.
      for (let k = 0; k < parts.length; k++) {
        const last = k === parts.length - 1;
        f.chunks.push({ buf: parts[k]!.bytes, owner: parts[k]!.owner, lines: last ? lines : 0, held: last ? bytes : 0 });
      }
    }
    if (f.writing === null) {
      if (f.retry !== null && !this.final) return Promise.resolve();
      if (f.chunks.length === 0 && !f.syncDue && !f.closing) return Promise.resolve();
      f.writing = this.writeLoop(f).finally(() => {
        f.writing = null;
      });
    }
    return f.writing;
  }

  private async writeLoop(f: OpenFile): Promise<void> {
    if (f.retry !== null) {
      clearTimeout(f.retry);
      f.retry = null;
    }
    try {
      // Lines can arrive while a write or the datasync is under way (pump only queues them while this
      // loop runs): the loop ends only when nothing is queued, or close() would lose them silently.
      for (;;) {
        while (f.chunks.length > 0) {
          if (f.fh === null) f.fh = await this.openForAppend(f);
          const c = f.chunks[0]!;
          const { bytesWritten } = await f.fh.write(c.buf, f.offset, c.buf.length - f.offset);
          f.offset += bytesWritten;
          this.bytesWritten += bytesWritten;
          if (bytesWritten > 0) f.dirty = true;
          if (f.offset < c.buf.length) continue;
          f.chunks.shift();
          f.offset = 0;
          if (c.owner !== null) this.pool.put(c.owner);
          this.linesWritten += c.lines;
          this.pendingLines -= c.lines;
          f.progressAtMs = performance.now();
          this.heldBytes -= c.held;
          // More lines may have arrived while writing.
          if (f.chunks.length === 0 && f.pending.lines > 0) this.pump(f);
        }
        // Everything queued is written: lines dropped for this hour meanwhile are told right after it.
        this.tellLostIn(f);
        const closingNow = f.closing && f.pending.lines === 0;
        if (f.dirty && f.fh !== null && this.fsyncMode !== "none" && (this.fsyncMode === "always" || f.syncDue || closingNow)) {
          f.syncDue = false;
          await f.fh.datasync();
          f.dirty = false;
          this.fsyncs++;
        }
        if (f.chunks.length === 0 && f.pending.lines > 0) this.pump(f);
        if (f.chunks.length === 0) break;
      }
      if (f.failing) {
        f.failing = false;
        this.event({ type: "resumed", what: f.path });
      }
    } catch (e) {
      f.failing = true;
      this.writeErrors++;
      this.report(e as Error, f.path);
      // A fresh handle next time: the folder may have been recreated, permissions changed.
      const fh = f.fh;
      f.fh = null;
      await fh?.close().catch(() => {});
      if (this.final) return this.giveUp(f, await this.cutOwnFragment(f));
      f.retry = setTimeout(() => {
        f.retry = null;
        void this.pump(f);
      }, this.opts.retryMs ?? 1000);
      return;
    }
    if (f.closing && f.pending.lines === 0) await this.finishFile(f);
  }

  /**
   * Opens the file to append. The first time, its tail is checked: an earlier run stopped or
   * crashed mid-write (a full disk cut its last write short) and our lines would otherwise follow
   * a fragment, which replay and every line reader take for a broken line in the middle of the log.
   * A reopen after a failed write skips the check: the file then ends with our own bytes, and the
   * write continues exactly where the OS stopped.
   */
  private async openForAppend(f: OpenFile): Promise<FileHandle> {
    await this.pathFree(f);
    await mkdir(dirname(f.path), { recursive: true });
    const fh = await open(f.path, "a+");
    if (f.opened) return fh;
    try {
      this.tailFixed(f.path, await finishTail(fh, true));
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
    f.opened = true;
    return fh;
  }

  /**
   * The stop's last attempt failed part-way through a line (f.offset: bytes of the first chunk
   * already in the file): those lines count as lost, so their fragment goes too, and the file
   * ends on a whole line for whoever reads it next. If even that fails (a read-only file system),
   * the next open cuts it. Returns whether the file now ends on a whole line (true when nothing
   * was cut short).
   */
  private async cutOwnFragment(f: OpenFile): Promise<boolean> {
    if (f.offset === 0) return true;
    let fh: FileHandle | null = null;
    try {
      fh = await open(f.path, "r+");
      this.tailFixed(f.path, await finishTail(fh, false));
      return true;
    } catch (e) {
      this.report(e as Error, f.path);
      return false;
    } finally {
      await fh?.close().catch(() => {});
    }
  }

  /**
   * Logs a repaired tail. StorageEvent has no kind of its own for it, so it is an "error" event
   * (logged as a warning); the file is in `what` because the log limits each `what` to a line per
   * 10 s, and a full disk leaves a cut line in many files at once.
   */
  private tailFixed(path: string, fix: TailFix): void {
    if (fix.kind === "none") return;
    const message =
      fix.kind === "cut"
        ? `cut ${fix.bytes} bytes after the last whole line (a write cut short, by a full disk or a crash)`
        : "ended the last line, whole but for its newline (a write cut short just before it)";
    this.event({ type: "error", what: `unfinished last line of ${relative(this.opts.dir, path)}`, error: { code: "EPARTIAL", message, path } });
  }

  /**
   * Waits until no other file object writes `f.path` and no compression reads it: an hour seen
   * again (a clock stepped back) must not interleave with, or be compressed away under, its
   * earlier file.
   */
  private async pathFree(f: OpenFile): Promise<void> {
    for (;;) {
      let other: OpenFile | undefined;
      // Only earlier files: two of them waiting for each other would wait forever.
      for (const d of this.draining) if (d.seq < f.seq && d.path === f.path) other = d;
      const compression = this.compressions.whenFree(f.path);
      if (other === undefined && compression === undefined) return;
      await (other?.done ?? compression);
    }
  }

  /**
   * The stop's last attempt at `f` failed: its unwritten lines are lost. They are counted from the
   * bytes themselves (whole lines the attempt did write before failing are not lost), `lines_lost`
   * lines among them are merged into one, and, when the file ends on a whole line (`whole`), that
   * line is appended, best effort (the disk is usually still refusing; a short write is undone).
   */
  private async giveUp(f: OpenFile, whole: boolean): Promise<void> {
    // Lines appended while the last attempt ran go with it.
    if (f.pending.lines > 0) {
      const { parts, lines, bytes } = f.pending.take();
      for (let k = 0; k < parts.length; k++) {
        const last = k === parts.length - 1;
        f.chunks.push({ buf: parts[k]!.bytes, owner: parts[k]!.owner, lines: last ? lines : 0, held: last ? bytes : 0 });
      }
    }
    let queued = 0;
    for (const c of f.chunks) {
      queued += c.lines;
      this.pendingLines -= c.lines;
      this.heldBytes -= c.held;
    }
    const lost = unwrittenLines(f.chunks, f.offset);
    this.linesLost += lost.dropped;
    // What the lines counted on the remaining chunks held beyond these was written (earlier parts of a flush).
    this.linesWritten += Math.max(0, queued - lost.physical);
    f.chunks = [];
    f.offset = 0;
    if (lost.figures !== null) {
      const tsRecv = Math.max(f.lastTs, lost.figures.toTs);
      // A file that could not be made to end on a whole line takes nothing more (the next open cuts it).
      if (!(whole && (await this.tellAtEnd(f.path, tsRecv, lost.figures)))) this.untold.push({ path: f.path, tsRecv, figures: lost.figures });
    }
    this.draining.delete(f);
    f.markDone();
  }

  /**
   * Appends the `lines_lost` line of `figures` to the file at `path` (which ends on a whole line);
   * whether it was written. Lines already written are never given up to make room for it: on a disk
   * still full the count goes untold (named at the stop) instead.
   */
  private async tellAtEnd(path: string, tsRecv: number, figures: LinesLost): Promise<boolean> {
    if (!(await appendWholeLine(path, linesLostLine(tsRecv, figures), this.fsyncMode !== "none"))) return false;
    this.linesWritten++;
    return true;
  }

  private async finishFile(f: OpenFile): Promise<void> {
    if (f.finishing) return;
    f.finishing = true;
    if (f.fh !== null) {
      const fh = f.fh;
      f.fh = null;
      try {
        await fh.close();
      } catch (e) {
        this.report(e as Error, f.path);
      }
    }
    this.filesClosed++;
    // Compression is registered before the file leaves `draining`, so a file waiting for the
    // path (pathFree) sees one or the other at every moment.
    if (f.compress && this.compression !== null) this.compressions.add(f.path);
    this.draining.delete(f);
    f.markDone();
  }

  /** The compression queue's job: only paths queued while compression is on reach it. */
  private async compress(path: string): Promise<void> {
    if (this.compression === null) return;
    try {
      const out = await compressFile(path, this.compression, () => !this.closed);
      this.filesCompressed++;
      for (const [s, p] of Object.entries(this.lastFile)) if (p === path) this.lastFile[s] = out;
      this.event({ type: "compressed", path: out });
    } catch (e) {
      this.report(e as Error, path);
    }
  }

  /** Compresses closed hours left plain (by a crash or an earlier stop) and applies retention. */
  private maintain(): void {
    const job = (async () => {
      const now = this.now();
      const days = this.opts.retentionDays ?? 0;
      if (days > 0) {
        try {
          for (const path of await applyRetention(this.opts.dir, now, days)) {
            this.partitionsExpired++;
            this.event({ type: "expired", path });
          }
        } catch (e) {
          this.report(e as Error, this.opts.dir);
        }
      }
      if ((this.opts.sweep ?? true) && this.compression !== null) {
        const open = new Set([...this.files.values(), ...this.draining].map((f) => f.path));
        for (const path of closedPlainFiles(this.opts.dir, now - IDLE_CLOSE_GRACE_MS)) {
          if (!open.has(path) && !this.closed) this.compressions.add(path);
        }
      }
    })();
    this.background.add(job);
    void job.finally(() => this.background.delete(job));
  }

  private event(ev: StorageEvent): void {
    try {
      this.opts.onMaintenance?.(ev);
    } catch {}
  }

  private report(err: Error, path: string): void {
    this.lastError = `${path}: ${err.message}`;
    this.lastErrorCode = (err as NodeJS.ErrnoException).code ?? "EIO";
    try {
      this.opts.onError?.(err, path);
    } catch {}
  }
}

/**
 * The lines of chunks not yet written (the first written up to `offset`; its lines that ended
 * there are in the file): `physical` lines in all, `dropped` of them not `lines_lost` lines, and the
 * figures of everything they stand for (those lines plus what each `lines_lost` line among them told),
 * null when none.
 */
function unwrittenLines(chunks: readonly Chunk[], offset: number): { physical: number; dropped: number; figures: LinesLost | null } {
  let physical = 0;
  let dropped = 0;
  let lines = 0;
  let control = 0;
  let fromTs = Infinity;
  let toTs = -Infinity;
  const streams = new Map<string, number>();
  const addStream = (s: string, n: number) => streams.set(s, (streams.get(s) ?? 0) + n);
  for (let k = 0; k < chunks.length; k++) {
    const b = chunks[k]!.buf;
    let at = 0;
    if (k === 0 && offset > 0) at = b.lastIndexOf(0x0a, offset - 1) + 1;
    while (at < b.length) {
      let end = b.indexOf(0x0a, at);
      if (end < 0) end = b.length;
      physical++;
      const head = lineHead(b, at, end);
      const told = head.kind === "other" ? linesLostOf(b.toString("utf8", at, end)) : null;
      if (told !== null) {
        lines += told.lines;
        control += told.control;
        for (const [s, n] of Object.entries(told.streams)) addStream(s, n);
        fromTs = Math.min(fromTs, told.fromTs);
        toTs = Math.max(toTs, told.toTs);
      } else {
        dropped++;
        lines++;
        if (head.kind === "data") addStream(head.stream, 1);
        else control++;
        if (head.ts !== null) {
          fromTs = Math.min(fromTs, head.ts);
          toTs = Math.max(toTs, head.ts);
        }
      }
      at = end + 1;
    }
  }
  if (lines === 0) return { physical, dropped, figures: null };
  if (fromTs > toTs) fromTs = toTs = 0;
  return { physical, dropped, figures: { lines, fromTs, toTs, streams: Object.fromEntries(streams), control } };
}

const TS_HEAD = Buffer.from(`{"ts_recv":`, "latin1");
const STREAM_HEAD = Buffer.from(`"stream":"`, "latin1");

/** A written line's receipt time and, for a data line (`"stream"` right after it, no `"event"`), its stream. */
function lineHead(b: Buffer, at: number, end: number): { kind: "data"; ts: number | null; stream: string } | { kind: "other"; ts: number | null } {
  if (end - at < TS_HEAD.length || b.compare(TS_HEAD, 0, TS_HEAD.length, at, at + TS_HEAD.length) !== 0) return { kind: "other", ts: null };
  let i = at + TS_HEAD.length;
  while (i < end && b[i] !== 0x2c) i++;
  const ts = Number(b.toString("latin1", at + TS_HEAD.length, i));
  const t = Number.isFinite(ts) ? ts : null;
  const s = i + 1;
  if (s + STREAM_HEAD.length <= end && b.compare(STREAM_HEAD, 0, STREAM_HEAD.length, s, s + STREAM_HEAD.length) === 0) {
    const from = s + STREAM_HEAD.length;
    const close = b.indexOf(0x22, from);
    if (close > from && close < end) return { kind: "data", ts: t, stream: b.toString("utf8", from, close) };
  }
  return { kind: "other", ts: t };
}

/**
 * Appends `line` to an existing file that ends on a whole line, whole or not at all (a short write
 * is truncated away). Best effort: false when it could not.
 */
async function appendWholeLine(path: string, line: string, sync: boolean): Promise<boolean> {
  let fh: FileHandle | null = null;
  try {
    fh = await open(path, "r+");
    const { size } = await fh.stat();
    const b = Buffer.from(`${line}\n`, "utf8");
    try {
      for (let n = 0; n < b.length; ) {
        const { bytesWritten } = await fh.write(b, n, b.length - n, size + n);
        if (bytesWritten === 0) throw new Error("nothing written");
        n += bytesWritten;
      }
      if (sync) await fh.datasync();
    } catch {
      await fh.truncate(size).catch(() => {});
      return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** What `finishTail` did to a file's end. */
type TailFix = { readonly kind: "none" } | { readonly kind: "cut"; readonly bytes: number } | { readonly kind: "ended" };

const TAIL_UNTOUCHED: TailFix = { kind: "none" };
const TAIL_ENDED: TailFix = { kind: "ended" };
const NEWLINE = Buffer.from("\n");
/** The file's end is searched for its last newline in steps of this size. */
const TAIL_STEP_BYTES = 64 * 1024;
/** A tail longer than this is not read to see whether it is a whole line: no line we write is near it. */
const WHOLE_LINE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Makes a file end on a whole line: bytes after its last newline are cut off (truncated), unless
 * `keepWhole` and they are a whole JSON object without its newline (a write that stopped just
 * before it), which gets its newline instead. The file must be open for writing.
 */
async function finishTail(fh: FileHandle, keepWhole: boolean): Promise<TailFix> {
  const { size } = await fh.stat();
  const start = await lastLineStart(fh, size);
  if (start === size) return TAIL_UNTOUCHED;
  if (keepWhole && (await isWholeLine(fh, start, size))) {
    await fh.write(NEWLINE, 0, 1, size);
    return TAIL_ENDED;
  }
  await fh.truncate(start);
  return { kind: "cut", bytes: size - start };
}

/** Where the file's last line starts: `size` when the file is empty or ends with a newline, 0 when it has none. */
async function lastLineStart(fh: FileHandle, size: number): Promise<number> {
  const step = Buffer.allocUnsafe(Math.min(TAIL_STEP_BYTES, Math.max(1, size)));
  for (let end = size; end > 0; ) {
    const from = Math.max(0, end - step.length);
    const { bytesRead } = await fh.read(step, 0, end - from, from);
    // Shorter than its size said (changed under us): a cut on this reading could take whole lines.
    if (bytesRead === 0) return size;
    const nl = step.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) return from + nl + 1;
    end = from;
  }
  return 0;
}

/**
 * Whether bytes [start, end) are one JSON object. Exact for our lines: each is one object, and no
 * prefix of an object is itself a whole object.
 */
async function isWholeLine(fh: FileHandle, start: number, end: number): Promise<boolean> {
  if (end - start > WHOLE_LINE_MAX_BYTES) return false;
  const b = Buffer.allocUnsafe(end - start);
  const { bytesRead } = await fh.read(b, 0, b.length, start);
  if (bytesRead !== b.length || b[b.length - 1] !== 0x7d) return false;
  try {
    const v: unknown = JSON.parse(b.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** Plain hour files under `dir` whose hour ended before `beforeMs`. */
export function closedPlainFiles(dir: string, beforeMs: number): string[] {
  const out: string[] = [];
  const list = (d: string, prefix: string): string[] => listNames(d).filter((n) => n.startsWith(prefix)).sort();
  for (const date of list(dir, "date=")) {
    const day = Date.parse(`${date.slice(5)}T00:00:00Z`);
    if (Number.isNaN(day)) continue;
    for (const sym of list(join(dir, date), "symbol=")) {
      for (const name of list(join(dir, date, sym), "raw-")) {
        const m = RAW_FILE.exec(name);
        if (m !== null && day + (Number(m[1]) + 1) * HOUR_MS <= beforeMs) out.push(join(dir, date, sym, name));
      }
    }
  }
  return out;
}
