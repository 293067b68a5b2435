/**
 * Parquet of a store that was killed (SIGKILL, power loss) is made whole at its next start, so the
 * store's Parquet always equals a replay of its NDJSON log (docs/scale-out.md, "Store restarts").
 *
 * The log is the record: every line the interrupted run applied is in it (lines are written before
 * they are acknowledged), but the rows still in the Parquet writer's buffers died with the process,
 * and the engines never emitted what end of input emits. A run marker (ARTIFACTS_DIR/store-run.json)
 * holds the run's start, each symbol's session line (`ts_recv`) and, per partition, the last hour its
 * writer compacted; a clean stop marks it clean. When the next start finds it not clean:
 *
 *  1. the interrupted run's Parquet part files of hours it had not compacted (modified at or after
 *     its start) are deleted — its compacted hours were complete when compacted;
 *  2. each symbol's log lines of that run's session are applied again to a fresh engine, and its
 *     rows — those of the hours deleted in 1 — are written; the engine is then finished, exactly as
 *     replay finishes it at the next `session` line.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { SymbolEngine } from "../../calc/symbol-engine.ts";
import { indicatorParams } from "../../calc/params.ts";
import type { Config } from "../../config/schema.ts";
import type { RawLogDecoder } from "../../core/feed.ts";
import { RAW_KINDS, type Row, type RowSink, type SinkKind } from "../../core/rows.ts";
import { partMinTs } from "../../sinks/parquet/files.ts";
import { linesSince } from "../../sinks/nats/log-reader.ts";
import { applyDecoded } from "../apply.ts";

const HOUR_MS = 3_600_000;

export interface RunMarker {
  /** Wall-clock start of the run: files it wrote are modified at or after it. */
  readonly run_start: number;
  /** `ts_recv` of each symbol's session line this run wrote (a symbol's session starts with its first record). */
  readonly sessions: Record<string, number>;
  clean: boolean;
  /** `KIND/SYMBOL` → last hour (epoch hours) the run's writer compacted. */
  readonly compacted: Record<string, number>;
}

export function markerPath(cfg: Config): string {
  return join(cfg.storage.artifacts_dir, "store-run.json");
}

export function readMarker(path: string): RunMarker | null {
  try {
    const m = JSON.parse(readFileSync(path, "utf8")) as RunMarker;
    return typeof m.run_start === "number" && typeof m.clean === "boolean" ? { ...m, sessions: m.sessions ?? {}, compacted: m.compacted ?? {} } : null;
  } catch {
    return null;
  }
}

export function writeMarker(path: string, m: RunMarker): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  writeFileSync(tmp, JSON.stringify(m));
  renameSync(tmp, path);
}

/** Records a compaction the writer reported (path of the merged file) in the marker. */
export function noteCompaction(m: RunMarker, mergedPath: string): boolean {
  const k = /kind=([a-z0-9_]+)/.exec(mergedPath)?.[1];
  const s = /symbol=([^/]+)/.exec(mergedPath)?.[1];
  const ts = partMinTs(mergedPath.slice(mergedPath.lastIndexOf("/") + 1));
  if (k === undefined || s === undefined || ts === null) return false;
  const key = `${k}/${s}`;
  const h = Math.floor(ts / HOUR_MS);
  if ((m.compacted[key] ?? -1) >= h) return false;
  m.compacted[key] = h;
  return true;
}

const rootOf = (cfg: Config, kind: string): string => ((RAW_KINDS as readonly string[]).includes(kind) ? cfg.storage.output_dir : cfg.storage.preview_dir);

/** Step 1: deletes the interrupted run's part files of hours it had not compacted. Returns how many. */
export function removeInterruptedParts(cfg: Config, m: RunMarker): number {
  let removed = 0;
  for (const root of new Set([cfg.storage.output_dir, cfg.storage.preview_dir])) {
    for (const date of safeList(root).filter((d) => d.startsWith("date="))) {
      for (const sym of safeList(join(root, date)).filter((d) => d.startsWith("symbol="))) {
        for (const kindDir of safeList(join(root, date, sym)).filter((d) => d.startsWith("kind="))) {
          const key = `${kindDir.slice(5)}/${sym.slice(7)}`;
          if (rootOf(cfg, kindDir.slice(5)) !== root) continue;
          const dir = join(root, date, sym, kindDir);
          for (const name of safeList(dir)) {
            const ts = partMinTs(name);
            if (ts === null || Math.floor(ts / HOUR_MS) <= (m.compacted[key] ?? -Infinity)) continue;
            const path = join(dir, name);
            if (statSync(path).mtimeMs < m.run_start) continue;
            rmSync(path, { force: true });
            removed++;
          }
        }
      }
    }
  }
  return removed;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Passes on rows of hours the interrupted run had not compacted. */
class UncompactedRows implements RowSink {
  constructor(
    private readonly out: RowSink,
    private readonly symbol: string,
    private readonly compacted: Readonly<Record<string, number>>,
  ) {}

  append(kind: SinkKind, row: Row): void {
    const last = this.compacted[`${kind}/${this.symbol}`];
    const ts = (row as { ts_ms?: unknown }).ts_ms;
    if (last !== undefined && typeof ts === "number" && Math.floor(ts / HOUR_MS) <= last) return;
    this.out.append(kind, row);
  }
}

/**
 * Step 2: re-derives the rows of the interrupted session of `symbol` from its log into `rows`.
 * Returns the number of lines applied.
 */
export async function recoverSymbol(cfg: Config, decoder: RawLogDecoder, symbol: string, m: RunMarker, rows: RowSink): Promise<number> {
  const start = m.sessions[symbol];
  if (start === undefined) return 0;
  const engine = new SymbolEngine(symbol, indicatorParams(cfg), new UncompactedRows(rows, symbol, m.compacted));
  let applied = 0;
  let sessions = 0;
  for await (const line of linesSince(cfg.storage.ndjson_dir, symbol, start)) {
    const d = decoder.decode(line, symbol);
    if (d.type === "session") {
      // The interrupted run's session line opens its lines (the previous run's last lines may
      // carry the same time); a later one would be a newer run's.
      if (sessions > 0 || d.tsRecv !== start) break;
      sessions++;
      continue;
    }
    if (sessions === 0) continue;
    if (applyDecoded(engine, d)) applied++;
  }
  engine.finish();
  return applied;
}
