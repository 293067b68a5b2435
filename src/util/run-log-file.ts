/**
 * The run-log files under `ARTIFACTS_DIR/run_logs/`: lines are buffered and appended asynchronously
 * (libuv's thread pool), so a log call on the ingest thread costs a string push, never a disk write
 * (bench/run-log.ts measured the choices; docs/operations.md has the figures). A file is closed and a
 * new one opened when it reaches `maxFileBytes` or when the UTC day changes; a closed file is gzip'd in
 * the background (`.jsonl.gz`, written as `.partial`, fsynced, renamed, then the plain file removed),
 * and files older than `keepDays` are deleted. At process exit whatever is still buffered is written
 * synchronously (`flushSync`), so the last lines before an `exit(1)` are never lost.
 */
import { appendFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

export interface RunLogFileOptions {
  readonly dir: string;
  /** A new file once the current one holds this many bytes (default 64 MiB). */
  readonly maxFileBytes?: number;
  /** Run-log files (plain or gzip'd) whose last change is older than this many days are deleted; 0 keeps all (default 30). */
  readonly keepDays?: number;
  /** Longest a line waits in memory before it is handed to the OS (default 200 ms). */
  readonly flushIntervalMs?: number;
  readonly now?: () => number;
}

const DAY_MS = 86_400_000;
const NAME = /^harvestd-.*\.jsonl(\.gz)?$/;

export class RunLogFile {
  private path: string | null = null;
  private day = -1;
  private size = 0;
  private fh: FileHandle | null = null;
  private buf: string[] = [];
  private writing: Promise<void> | null = null;
  private readonly background = new Set<Promise<void>>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maxFileBytes: number;
  private readonly now: () => number;
  private closed = false;
  private lastStampMs = 0;

  constructor(private readonly opts: RunLogFileOptions) {
    this.maxFileBytes = opts.maxFileBytes ?? 64 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    mkdirSync(opts.dir, { recursive: true });
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 200);
    this.timer.unref();
    this.tidy();
  }

  /** The file being written now (null before the first line). */
  get current(): string | null {
    return this.path;
  }

  append(line: string): void {
    if (this.closed) return;
    this.buf.push(line + "\n");
  }

  /** Hands everything buffered to the OS; resolves once written. */
  flush(): Promise<void> {
    if (this.writing !== null) return this.writing.then(() => (this.buf.length > 0 ? this.flush() : undefined));
    if (this.buf.length === 0) return Promise.resolve();
    const text = this.buf.join("");
    this.buf = [];
    this.writing = this.write(text).finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  /**
   * Writes what is buffered at once, on this thread (process exit). An asynchronous write may still be
   * in flight: its text was taken from the buffer before, so nothing is written twice; its lines may
   * land after these, which only happens when the process exits mid-write.
   */
  flushSync(): void {
    if (this.buf.length === 0) return;
    const text = this.buf.join("");
    this.buf = [];
    try {
      const path = this.target(Buffer.byteLength(text));
      appendFileSync(path, text);
      this.size += Buffer.byteLength(text);
    } catch {
      // Best effort: the same lines went to stderr.
    }
  }

  /** Writes everything, closes the file (it stays plain: it is the newest) and waits for background gzips. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    await this.fh?.close().catch(() => {});
    this.fh = null;
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private async write(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    const path = this.target(bytes);
    try {
      if (this.fh === null) this.fh = await open(path, "a");
      await this.fh.write(text);
      this.size += bytes;
    } catch {
      // Best effort by design (the lines are on stderr too): a full disk loses these lines only.
      await this.fh?.close().catch(() => {});
      this.fh = null;
    }
  }

  /** The file the next `bytes` go to: a new one at the size limit or on a new UTC day. */
  private target(bytes: number): string {
    const now = this.now();
    const day = Math.floor(now / DAY_MS);
    if (this.path === null || day !== this.day || (this.size > 0 && this.size + bytes > this.maxFileBytes)) {
      const old = this.path;
      const oldFh = this.fh;
      this.fh = null;
      this.path = this.freshName(now);
      this.day = day;
      this.size = 0;
      if (old !== null) this.gzipLater(old, oldFh);
    }
    return this.path;
  }

  /** Names sort in time order: a name already taken (two files in one millisecond) moves on by 1 ms. */
  private freshName(now: number): string {
    for (let t = Math.max(now, this.lastStampMs + 1); ; t++) {
      const p = join(this.opts.dir, `harvestd-${new Date(t).toISOString().replace(/[:.]/g, "-")}.jsonl`);
      if (existsSync(p) || existsSync(`${p}.gz`)) continue;
      this.lastStampMs = t;
      return p;
    }
  }

  private gzipLater(path: string, fh: FileHandle | null): void {
    const job = (async () => {
      await fh?.close().catch(() => {});
      await gzipFile(path).catch(() => {});
      this.tidy();
    })();
    this.background.add(job);
    void job.finally(() => this.background.delete(job));
  }

  /** Deletes run-log files older than keepDays (never the current one). */
  private tidy(): void {
    const keep = this.opts.keepDays ?? 30;
    if (keep <= 0) return;
    const cutoff = this.now() - keep * DAY_MS;
    let names: string[];
    try {
      names = readdirSync(this.opts.dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (!NAME.test(n)) continue;
      const p = join(this.opts.dir, n);
      if (p === this.path) continue;
      try {
        if (statSync(p).mtimeMs < cutoff) rmSync(p, { force: true });
      } catch {}
    }
  }
}

/** `path` → `path.gz` (zlib on the thread pool), atomically: `.gz.partial`, fsync, rename, then `path` is removed. */
export async function gzipFile(path: string): Promise<string> {
  const out = `${path}.gz`;
  const partial = `${out}.partial`;
  try {
    await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(partial));
    const fh = await open(partial, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(partial, out);
  } catch (e) {
    await rm(partial, { force: true }).catch(() => {});
    throw e;
  }
  await rm(path);
  return out;
}
