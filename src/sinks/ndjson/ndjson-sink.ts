/**
 * NDJSON raw log (product.md §6): one line per received frame or control event, in arrival order,
 * into `DIR/date=YYYY-MM-DD/symbol=SYMBOL/raw-HH.ndjson` by UTC receipt hour. Lines are buffered
 * in memory and appended asynchronously (libuv's thread pool), so ingest never waits on the disk;
 * buffers are flushed at least every `flushIntervalMs` (≤ 1 s: a crash loses at most that much).
 * A closed hour file is compressed in the background and replaced atomically.
 */
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import * as zlib from "node:zlib";

export type NdjsonCompression = "none" | "gzip" | "zstd";

export interface NdjsonSinkOptions {
  readonly dir: string;
  readonly flushIntervalMs?: number;
  readonly compress?: NdjsonCompression;
  /** Called on a write or compression error (the sink keeps going). */
  readonly onError?: (err: Error, path: string) => void;
}

export interface NdjsonStatus {
  readonly linesWritten: number;
  readonly bytesWritten: number;
  readonly pendingLines: number;
  readonly filesClosed: number;
  readonly lastError: string | null;
  readonly lastFile: Readonly<Record<string, string>>;
}

interface OpenFile {
  readonly path: string;
  readonly hourKey: number;
  handle: Promise<FileHandle>;
  pending: string[];
  pendingBytes: number;
  /** Serialises writes so lines land in arrival order. */
  chain: Promise<void>;
}

/** `date=YYYY-MM-DD/symbol=SYMBOL/raw-HH.ndjson` for a receipt time. */
export function ndjsonRelPath(symbol: string, tsRecvMs: number): string {
  const iso = new Date(tsRecvMs).toISOString();
  return `date=${iso.slice(0, 10)}/symbol=${symbol}/raw-${iso.slice(11, 13)}.ndjson`;
}

export class NdjsonSink {
  private readonly files = new Map<string, OpenFile>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly compressions = new Set<Promise<void>>();
  private linesWritten = 0;
  private bytesWritten = 0;
  private filesClosed = 0;
  private lastError: string | null = null;
  private readonly lastFile: Record<string, string> = {};
  private closed = false;

  constructor(private readonly opts: NdjsonSinkOptions) {
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 200);
  }

  /** Appends one line (without its newline) to the symbol's file for the receipt hour. */
  append(symbol: string, tsRecvMs: number, line: string): void {
    if (this.closed) throw new Error("NdjsonSink is closed");
    const hourKey = Math.floor(tsRecvMs / 3_600_000);
    let f = this.files.get(symbol);
    if (f === undefined || f.hourKey !== hourKey) {
      if (f !== undefined) this.closeFile(symbol, f);
      f = this.openFile(symbol, tsRecvMs, hourKey);
      this.files.set(symbol, f);
    }
    f.pending.push(line);
    f.pendingBytes += line.length + 1;
  }

  /** Hands every buffered line to the OS; resolves once they are written. */
  async flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const f of this.files.values()) waits.push(this.writePending(f));
    await Promise.all(waits);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const [symbol, f] of this.files) this.closeFile(symbol, f, false);
    this.files.clear();
    await this.drain();
  }

  /** Waits for outstanding writes and background compressions. */
  async drain(): Promise<void> {
    while (this.compressions.size > 0) await Promise.all([...this.compressions]);
  }

  status(): NdjsonStatus {
    let pendingLines = 0;
    for (const f of this.files.values()) pendingLines += f.pending.length;
    return {
      linesWritten: this.linesWritten,
      bytesWritten: this.bytesWritten,
      pendingLines,
      filesClosed: this.filesClosed,
      lastError: this.lastError,
      lastFile: { ...this.lastFile },
    };
  }

  private openFile(symbol: string, tsRecvMs: number, hourKey: number): OpenFile {
    const path = join(this.opts.dir, ndjsonRelPath(symbol, tsRecvMs));
    const handle = (async () => {
      mkdirSync(dirname(path), { recursive: true });
      return open(path, "a");
    })();
    handle.catch((e) => this.report(e as Error, path));
    this.lastFile[symbol] = path;
    return { path, hourKey, handle, pending: [], pendingBytes: 0, chain: Promise.resolve() };
  }

  private writePending(f: OpenFile): Promise<void> {
    if (f.pending.length === 0) return f.chain;
    const text = f.pending.join("\n") + "\n";
    const lines = f.pending.length;
    f.pending = [];
    f.pendingBytes = 0;
    f.chain = f.chain.then(async () => {
      try {
        const h = await f.handle;
        const buf = Buffer.from(text, "utf8");
        let off = 0;
        while (off < buf.length) off += (await h.write(buf, off, buf.length - off)).bytesWritten;
        this.linesWritten += lines;
        this.bytesWritten += buf.length;
      } catch (e) {
        this.report(e as Error, f.path);
      }
    });
    return f.chain;
  }

  private closeFile(symbol: string, f: OpenFile, compress = true): void {
    const done = this.writePending(f)
      .then(async () => {
        try {
          await (await f.handle).close();
        } catch (e) {
          this.report(e as Error, f.path);
          return;
        }
        this.filesClosed++;
        const mode = this.opts.compress ?? "gzip";
        if (compress && mode !== "none") {
          const out = await compressFile(f.path, mode).catch((e) => {
            this.report(e as Error, f.path);
            return null;
          });
          if (out !== null && this.lastFile[symbol] === f.path) this.lastFile[symbol] = out;
        }
      })
      .finally(() => this.compressions.delete(done));
    this.compressions.add(done);
  }

  private report(err: Error, path: string): void {
    this.lastError = `${path}: ${err.message}`;
    this.opts.onError?.(err, path);
  }
}

/**
 * Compresses `path` to `path.gz` / `path.zst` through a `.partial` file renamed into place, then
 * removes the original: a reader sees the plain file or the complete compressed one, never half.
 */
export async function compressFile(path: string, mode: Exclude<NdjsonCompression, "none">): Promise<string> {
  const out = `${path}${mode === "gzip" ? ".gz" : ".zst"}`;
  const partial = `${out}.partial`;
  const z = zlib as unknown as { createZstdCompress?: () => NodeJS.ReadWriteStream };
  const compressor = mode === "gzip" ? createGzip({ level: 6 }) : z.createZstdCompress?.();
  if (compressor === undefined) throw new Error("zstd compression is not available in this runtime");
  await pipeline(createReadStream(path), compressor, createWriteStream(partial));
  await rename(partial, out);
  await rm(path);
  return out;
}

