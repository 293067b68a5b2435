/**
 * Which raw-log files a replay reads, per symbol and in time order, and how they are opened
 * (plain, gzip, zstd). A file outside a `symbol=` folder is named by the first stream in it.
 */
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline";
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

export function openLines(path: string): AsyncIterable<string> {
  let stream: NodeJS.ReadableStream = createReadStream(path);
  if (path.endsWith(".gz")) stream = stream.pipe(createGunzip());
  if (path.endsWith(".zst")) {
    const z = zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream };
    if (z.createZstdDecompress === undefined) throw new Error(`replay: cannot read ${path}: zstd is not available in this runtime`);
    stream = stream.pipe(z.createZstdDecompress());
  }
  return createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
}

/** Symbol of a file without a `symbol=` path segment: the first stream named in it. */
async function sniffSymbol(path: string, sniff: (line: string) => string | null): Promise<string | null> {
  for await (const line of openLines(path)) {
    const s = sniff(line);
    if (s !== null) return s;
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

