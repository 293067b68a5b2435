/**
 * Helpers for the storage-* end-to-end tests: the folders `collectorEnv` (test/helpers/binary.ts)
 * points the binary at, full-row reads of a Parquet tree per kind (DuckDB), and an "every file
 * opens" check with two independent readers (DuckDB and hyparquet).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { ALL_KINDS, RAW_KINDS, SCHEMAS, type RowKind } from "../../src/core/rows.ts";
import { REPO, runBinary, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { listFiles, readSymbolText } from "../helpers/ndjson.ts";

export { ALL_KINDS };

export interface Layout {
  readonly raw: string;
  readonly preview: string;
  readonly ndjson: string;
  readonly artifacts: string;
}

/**
 * Replays a run's NDJSON log with the repository's config.toml into `dir/replayed` (`args`: the
 * book settings the run had, if any), so its trees can be compared with the run's.
 */
export async function replayRun(live: Layout, dir: string, args: readonly string[] = []): Promise<{ replayed: Layout; replay: RunResult }> {
  const out = join(dir, "replayed");
  const replayed: Layout = { ...layout(out), ndjson: live.ndjson };
  const replay = await runBinary(["replay", live.ndjson, "--out", out, "--config", join(REPO, "config.toml"), ...args], { ARTIFACTS_DIR: replayed.artifacts });
  return { replayed, replay };
}

/** The data folders under `dir`, as `collectorEnv` lays them out. */
export const layout = (dir: string): Layout => ({
  raw: join(dir, "raw"),
  preview: join(dir, "preview"),
  ndjson: join(dir, "ndjson"),
  artifacts: join(dir, "artifacts"),
});

const isRaw = (kind: RowKind) => (RAW_KINDS as readonly string[]).includes(kind);

/**
 * Every row of `kind` under a tree (raw or preview root chosen by kind), all schema columns,
 * sorted by every column. Timestamps come back as epoch ms (bigint) so values compare exactly.
 */
export async function kindRows(l: Layout, kind: RowKind): Promise<Record<string, unknown>[]> {
  const root = isRaw(kind) ? l.raw : l.preview;
  if (listFiles(root, new RegExp(`kind=${kind}/[^/]*\\.parquet$`)).length === 0) return [];
  const cols = SCHEMAS[kind].map((d) => (d.type === "ts" ? `epoch_ms("${d.name}") AS "${d.name}"` : `"${d.name}"`));
  return query(`SELECT ${cols.join(", ")} FROM ${hive(join(root, "*", "*", `kind=${kind}`, "*.parquet"))} ORDER BY ALL`);
}

/** Same as `kindRows` for a tree, compared in DuckDB (EXCEPT ALL both ways): differing row counts. */
export async function treeDifference(a: Layout, b: Layout, kind: RowKind): Promise<{ onlyA: number; onlyB: number }> {
  const count = (l: Layout) => listFiles(isRaw(kind) ? l.raw : l.preview, new RegExp(`kind=${kind}/[^/]*\\.parquet$`)).length;
  if (count(a) === 0 || count(b) === 0) return { onlyA: count(a) === 0 ? 0 : (await kindRows(a, kind)).length, onlyB: count(b) === 0 ? 0 : (await kindRows(b, kind)).length };
  const src = (l: Layout) => {
    const root = isRaw(kind) ? l.raw : l.preview;
    return `(SELECT ${SCHEMAS[kind].map((d) => `"${d.name}"`).join(", ")} FROM ${hive(join(root, "*", "*", `kind=${kind}`, "*.parquet"))})`;
  };
  const [r] = await query(
    `SELECT (SELECT count(*) FROM (${src(a)} EXCEPT ALL ${src(b)})) AS only_a, (SELECT count(*) FROM (${src(b)} EXCEPT ALL ${src(a)})) AS only_b`,
  );
  return { onlyA: Number(r!.only_a), onlyB: Number(r!.only_b) };
}

const ZSTD = { ZSTD: (b: Uint8Array) => Bun.zstdDecompressSync(b) };

/**
 * Opens every `.parquet` file under `roots` fully with DuckDB and with hyparquet; returns the
 * problems (empty = every file is a complete, readable Parquet file).
 */
export async function unreadableParquet(roots: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  const check = async (f: string) => {
    try {
      // Every column of every row is decoded (count(*) alone could be answered from the footer).
      const [r] = (await conn.runAndReadAll(`SELECT count(*) AS n, count(COLUMNS(*)) FROM read_parquet('${f.replace(/'/g, "''")}')`)).getRowObjectsJS();
      const b = readFileSync(f);
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      const meta = parquetMetadata(file);
      const rows = await parquetReadObjects({ file, metadata: meta, compressors: ZSTD });
      if (Number(r!.n) !== rows.length || rows.length !== Number(meta.num_rows)) problems.push(`${f}: DuckDB ${r!.n} rows, hyparquet ${rows.length}, footer ${meta.num_rows}`);
    } catch (e) {
      problems.push(`${f}: ${(e as Error).message}`);
    }
  };
  try {
    for (const root of roots) for (const f of listFiles(root, /\.parquet$/)) await check(f);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return problems;
}

export async function health(port: number): Promise<{ status: number; body: { ok: boolean; reasons: string[] } }> {
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: r.status, body: (await r.json()) as { ok: boolean; reasons: string[] } };
}

export async function apiStatus(port: number): Promise<Record<string, any>> {
  return (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as Record<string, any>;
}

/**
 * Until `harvestd store` on `port` has taken everything the stream holds for it: no message pending
 * and the messages it took unchanged over three looks (exactly `messages` of them, when given).
 */
export async function storeDrained(port: number, messages?: number): Promise<void> {
  let last = -1;
  let still = 0;
  await waitFor("store drained", async () => {
    const s = await apiStatus(port).catch(() => undefined);
    const n = s === undefined ? -1 : Number(s.store?.consumer?.pending ?? -1);
    const taken = s === undefined ? -1 : Number(s.store?.counters?.messages ?? -1);
    still = n === 0 && taken >= 0 && (messages === undefined || taken === messages) && taken === last ? still + 1 : 0;
    last = taken;
    return still >= 3 ? true : undefined;
  }, 30_000, 300);
}

/** Resident set size of a process in bytes (Linux /proc), or null. */
export function rss(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/**
 * Per symbol: the aggTrade ids of the NDJSON log (sorted), and what the prices Parquet under the
 * run's raw tree holds of them (rows, distinct ids, the ids sorted), read by DuckDB.
 */
export async function aggTradeIdsInParquet(l: Layout, symbols: readonly string[]): Promise<{ symbol: string; logged: number[]; rows: number; distinct: number; ids: number[] }[]> {
  const pq = await query(
    `SELECT symbol, count(*) AS n, count(DISTINCT agg_trade_id) AS d, list(agg_trade_id ORDER BY agg_trade_id) AS ids FROM ${hive(join(l.raw, "*", "*", "kind=prices", "*.parquet"))} GROUP BY symbol`,
  );
  const bySymbol = new Map(pq.map((r) => [r.symbol as string, r]));
  return symbols.map((symbol) => {
    const logged: number[] = [];
    for (const m of readSymbolText(l.ndjson, symbol).matchAll(/@aggTrade".*?"a":(\d+)/g)) logged.push(Number(m[1]));
    logged.sort((a, b) => a - b);
    const r = bySymbol.get(symbol);
    return { symbol, logged, rows: Number(r?.n ?? 0), distinct: Number(r?.d ?? 0), ids: ((r?.ids as bigint[] | undefined) ?? []).map(Number) };
  });
}
