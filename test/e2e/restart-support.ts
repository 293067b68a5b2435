/**
 * Shared by the restart tests (test/e2e/restart-*.test.ts): the compiled binary collecting from the
 * fake exchange into one data folder, run, stopped (SIGTERM or SIGKILL) and started again; the stored
 * trade ids read back independently: from the NDJSON files (test/helpers/ndjson.ts) and from the
 * prices Parquet (DuckDB).
 */
import { join } from "node:path";
import type { FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { readSymbolLines } from "../helpers/ndjson.ts";

export interface Store {
  readonly dir: string;
  readonly port: number;
  readonly env: Record<string, string>;
  /** The config file of every run and replay of this store; the repository's config.toml if unset. */
  readonly config?: string;
}

export function newStore(fx: FakeExchange, symbols: readonly string[], extra: Record<string, string> = {}): Store {
  const dir = tempDir("restart");
  const port = freePort();
  return { dir, port, env: collectorEnv(fx, symbols, dir, port, { PARQUET_ROTATE_SEC: "2", ORDERBOOK_ROTATE_SEC: "2", ...extra }) };
}

export function startRun(store: Store, args: readonly string[] = []): Running {
  return startBinary(["run", "--config", store.config ?? join(REPO, "config.toml"), ...args], store.env);
}

/** Waits until the process has written a trade line for every symbol. */
export async function waitForTrades(store: Store, symbols: readonly string[], timeoutMs = 30_000): Promise<void> {
  await waitFor("a trade of every symbol in the NDJSON log", () => (symbols.every((s) => tradeLines(store, s).length > 0) ? true : undefined), timeoutMs, 250);
}

/** Kills with SIGKILL and waits for the exit. */
export async function kill(run: Running): Promise<void> {
  run.proc.kill("SIGKILL");
  await run.proc.exited;
}

export interface TradeLine {
  readonly id: number;
  readonly backfill: boolean;
  readonly tsRecv: number;
  /** Index of the process (session line count) that wrote it, from 1. */
  readonly session: number;
}

/** Every trade (data or backfill line) of a symbol's raw log, in log order. */
export function tradeLines(store: Store, symbol: string): TradeLine[] {
  const stream = `${symbol.toLowerCase()}@aggTrade`;
  const out: TradeLine[] = [];
  let session = 0;
  let lines: Record<string, unknown>[];
  try {
    lines = readSymbolLines(join(store.dir, "ndjson"), symbol);
  } catch {
    return [];
  }
  for (const l of lines) {
    if (l.event === "session") session++;
    if (l.stream !== stream || (l.event !== undefined && l.event !== "backfill")) continue;
    const a = (l.data as { a?: unknown }).a;
    if (typeof a === "number") out.push({ id: a, backfill: l.event === "backfill", tsRecv: l.ts_recv as number, session });
  }
  return out;
}

/** Gap lines of a symbol's trade stream. */
export function tradeGapLines(store: Store, symbol: string): { from_id: number; to_id: number; session: number }[] {
  const stream = `${symbol.toLowerCase()}@aggTrade`;
  const out: { from_id: number; to_id: number; session: number }[] = [];
  let session = 0;
  for (const l of readSymbolLines(join(store.dir, "ndjson"), symbol)) {
    if (l.event === "session") session++;
    if (l.event === "gap" && l.stream === stream) out.push({ from_id: l.from_id as number, to_id: l.to_id as number, session });
  }
  return out;
}

/** Prices rows of a symbol under `root` (a raw/ tree): id → how often, and which were backfilled. */
export async function pricesIds(root: string, symbol: string): Promise<{ count: Map<number, number>; backfilled: Set<number> }> {
  const rows = await query(`SELECT agg_trade_id::BIGINT AS id, backfilled FROM ${hive(join(root, "*", `symbol=${symbol}`, "kind=prices", "*.parquet"))}`);
  const count = new Map<number, number>();
  const backfilled = new Set<number>();
  for (const r of rows) {
    const id = Number(r.id);
    count.set(id, (count.get(id) ?? 0) + 1);
    if (r.backfilled === true) backfilled.add(id);
  }
  return { count, backfilled };
}

/** `harvestd replay NDJSON_DIR --out OUT [args]`; returns OUT's raw/ tree. */
export async function replayInto(store: Store, args: readonly string[] = []): Promise<string> {
  const out = join(store.dir, "replayed");
  const r: RunResult = await runBinary(["replay", join(store.dir, "ndjson"), "--out", out, "--config", store.config ?? join(REPO, "config.toml"), ...args], store.env);
  if (r.exitCode !== 0) throw new Error(`replay failed (${r.exitCode}): ${r.stderr}`);
  return join(out, "raw");
}

/** The produced ids of `symbol` from `first` to `last`, inclusive. */
export function producedBetween(fx: FakeExchange, symbol: string, first: number, last: number): number[] {
  return fx
    .producedTrades(symbol)
    .map((t) => t.a)
    .filter((a) => a >= first && a <= last);
}
