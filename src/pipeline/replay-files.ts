/**
 * Which raw-log files a replay reads, per symbol and in time order, and how they are opened
 * (plain, gzip, zstd). A file outside a `symbol=` folder is named by the first stream in it.
 */
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { createGunzip } from "node:zlib";
import * as zlib from "node:zlib";

const LOG_FILE = /\.ndjson(\.gz|\.zst)?$/;

export interface ReplayFile {
  readonly path: string;
  readonly symbol: string | null;
  /** Sort key within a symbol: `YYYY-MM-DD/HH` from the Hive path, else the path itself. */
  readonly order: string;
  /** For a plain file: the compressed file of the same hour, read before it. */
  readonly compressedTwin?: string;
}

/** Expands files and folders into raw-log files, grouped per symbol in time order. */
export function collectReplayFiles(paths: readonly string[]): ReplayFile[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name));
    } else if (LOG_FILE.test(p)) {
      found.push(p);
    }
  };
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new Error(`replay: ${p} does not exist`);
    const st = statSync(abs);
    if (st.isFile() && !LOG_FILE.test(abs)) throw new Error(`replay: ${p} is not an .ndjson, .ndjson.gz or .ndjson.zst file`);
    walk(abs);
  }
  // An hour can exist both plain and compressed: for an instant while compression renames and
  // then removes the plain file (the compressed one already holds the plain lines), or when the
  // hour was reopened after its compression (the plain lines come after the compressed ones).
  // The compressed file is read first; the plain one is read unless its lines are already in it.
  const compressed = new Map<string, string>();
  for (const f of found) if (/\.(gz|zst)$/.test(f)) compressed.set(f.replace(/\.(gz|zst)$/, ""), f);
  const rank = (p: string) => (/\.(gz|zst)$/.test(p) ? 0 : 1);
  return found
    .map((path): ReplayFile => {
      // Either separator: Windows paths use backslashes.
      const sym = /symbol=([^/\\]+)/.exec(path)?.[1] ?? null;
      const date = /date=(\d{4}-\d{2}-\d{2})/.exec(path)?.[1];
      const hour = /raw-(\d{2})\.ndjson/.exec(basename(path))?.[1];
      const twin = compressed.get(path);
      return { path, symbol: sym, order: date !== undefined && hour !== undefined ? `${date}/${hour}` : path, ...(twin === undefined ? {} : { compressedTwin: twin }) };
    })
    .sort((a, b) => {
      const sa = a.symbol ?? "";
      const sb = b.symbol ?? "";
      if (sa !== sb) return sa < sb ? -1 : 1;
      if (a.order !== b.order) return a.order < b.order ? -1 : 1;
      return rank(a.path) - rank(b.path);
    });
}

/**
 * The text of a raw-log file in blocks of whole lines: every block but the last ends with "\n"; the
 * last holds whatever follows the last newline (a line cut short by a crash). Blocks are cut at a
 * newline byte, which never occurs inside a multi-byte UTF-8 character, so each decodes on its own.
 * Replay's hot loop splits the blocks itself (LineCursor): node:readline cost it ≈ 0.4 µs per line,
 * an await per line included, against ≈ 0.1 µs for this (docs/performance.md, "replay").
 */
export async function* openTextBlocks(path: string): AsyncGenerator<string> {
  const blocks = new LineBlocks();
  if (!/\.(gz|zst)$/.test(path)) {
    const fh = await open(path, "r");
    try {
      for (;;) {
        const { bytesRead } = await fh.read(blocks.room(), 0, undefined, null);
        if (bytesRead === 0) break;
        const text = blocks.filled(bytesRead);
        if (text !== null) yield text;
      }
    } finally {
      await fh.close();
    }
  } else {
    for await (const chunk of decompressed(path)) {
      const bytes = chunk as Uint8Array;
      for (let off = 0; off < bytes.length; ) {
        const room = blocks.room();
        const n = Math.min(room.length, bytes.length - off);
        room.set(bytes.subarray(off, off + n));
        off += n;
        const text = blocks.filled(n);
        if (text !== null) yield text;
      }
    }
  }
  const rest = blocks.rest();
  if (rest !== null) yield rest;
}

function decompressed(path: string): AsyncIterable<unknown> {
  const file = createReadStream(path);
  if (path.endsWith(".gz")) return file.pipe(createGunzip());
  const z = zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream };
  if (z.createZstdDecompress === undefined) throw new Error(`replay: cannot read ${path}: zstd is not available in this runtime`);
  return file.pipe(z.createZstdDecompress());
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BLOCK_BYTES = 1 << 20;

/** Bytes read so far of a file, handed out as text up to the last newline; the tail waits for the next read. */
class LineBlocks {
  private buf = Buffer.allocUnsafe(BLOCK_BYTES);
  private len = 0;

  /** Where the next bytes go: after the tail, at least half a block (grown for a line longer than that). */
  room(): Buffer {
    if (this.buf.length - this.len < BLOCK_BYTES / 2) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    return this.buf.subarray(this.len);
  }

  /** `n` bytes were written into room(): the whole lines so far, or null when no newline came yet. */
  filled(n: number): string | null {
    const end = this.len + n;
    const nl = this.buf.lastIndexOf(NEWLINE, end - 1);
    if (nl < 0) {
      this.len = end;
      return null;
    }
    const text = this.buf.toString("utf8", 0, nl + 1);
    this.buf.copyWithin(0, nl + 1, end);
    this.len = end - nl - 1;
    return text;
  }

  /** The bytes after the last newline, at the end of the file. */
  rest(): string | null {
    return this.len === 0 ? null : this.buf.toString("utf8", 0, this.len);
  }
}

/**
 * The lines of one block from openTextBlocks, one by one: lines end at "\n", a "\r" before it is not
 * part of the line (CRLF files), and the "\n" ending a block starts no empty line after it. One
 * cursor is reused for every block (replay's hot loop).
 */
export class LineCursor {
  private block = "";
  private pos = 0;

  reset(block: string): void {
    this.block = block;
    this.pos = 0;
  }

  /** The next line, or null at the end of the block. */
  next(): string | null {
    const block = this.block;
    const s = this.pos;
    if (s >= block.length) return null;
    let e = block.indexOf("\n", s);
    if (e < 0) e = block.length;
    this.pos = e + 1;
    return block.slice(s, e > s && block.charCodeAt(e - 1) === CR ? e - 1 : e);
  }
}

/** Every line of a raw-log file (for reading a file's head: its symbol). */
export async function* openLines(path: string): AsyncGenerator<string> {
  const lines = new LineCursor();
  for await (const block of openTextBlocks(path)) {
    lines.reset(block);
    for (let line = lines.next(); line !== null; line = lines.next()) yield line;
  }
}

/** A file that cannot be read or decompressed further: named, with where reading stopped. */
export function readStopped(path: string, lineNo: number, e: unknown): Error {
  return new Error(`replay: ${path}: stopped after line ${lineNo}: ${(e as Error).message}`);
}

/** Symbol of a file without a `symbol=` path segment: the first stream named in it. */
async function sniffSymbol(path: string, sniff: (line: string) => string | null): Promise<string | null> {
  let n = 0;
  try {
    for await (const line of openLines(path)) {
      const s = sniff(line);
      if (s !== null) return s;
      n++;
    }
  } catch (e) {
    throw readStopped(path, n, e);
  }
  return null;
}

/** A raw-log file with the symbol whose engine reads it. */
export interface PlannedFile extends ReplayFile {
  readonly symbol: string;
  /**
   * The file read before it in the whole input belongs to another symbol (or there is none): the
   * previous symbol's input ended there. Kept with the file so that a worker given only some symbols
   * ends and resumes each of them exactly where a single thread would.
   */
  readonly startsRun: boolean;
}

/** Names each file's symbol (sniffed for files outside a `symbol=` folder); a file without stream lines is skipped. */
export async function planReplay(files: readonly ReplayFile[], sniff: (line: string) => string | null, warn: (msg: string) => void): Promise<PlannedFile[]> {
  const planned: PlannedFile[] = [];
  let previous: string | null = null;
  for (const f of files) {
    const symbol = f.symbol ?? (await sniffSymbol(f.path, sniff));
    if (symbol === null) {
      warn(`${f.path}: no stream lines, skipped`);
      continue;
    }
    planned.push({ ...f, symbol, startsRun: symbol !== previous });
    previous = symbol;
  }
  return planned;
}

