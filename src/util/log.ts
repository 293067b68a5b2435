/**
 * Structured JSON-lines logging to stderr and, when a run-log folder is given, to
 * `ARTIFACTS_DIR/run_logs/harvestd-<start>.jsonl`. Repetitive messages are rate-limited per key so a
 * flood of bad frames cannot flood the log; the number suppressed is reported with the next one.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** At most one message per `key` per `intervalMs`; the rest are counted and summarised. */
  limited(key: string, level: Level, msg: string, fields?: Readonly<Record<string, unknown>>, intervalMs?: number): void;
}

export interface LoggerOptions {
  readonly runLogDir?: string;
  readonly stderr?: boolean;
  readonly minLevel?: Level;
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(opts: LoggerOptions = {}): Logger {
  let file: string | null = null;
  if (opts.runLogDir !== undefined) {
    try {
      mkdirSync(opts.runLogDir, { recursive: true });
      file = join(opts.runLogDir, `harvestd-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
    } catch {
      file = null;
    }
  }
  const min = RANK[opts.minLevel ?? "info"];
  const toStderr = opts.stderr ?? true;
  const limits = new Map<string, { last: number; suppressed: number }>();

  const write = (level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (RANK[level] < min) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields });
    if (toStderr) process.stderr.write(line + "\n");
    if (file !== null) {
      try {
        appendFileSync(file, line + "\n");
      } catch {
        // The run log is best effort: a full disk must not stop collection.
      }
    }
  };

  return {
    log: write,
    limited(key, level, msg, fields, intervalMs = 10_000) {
      const now = Date.now();
      const st = limits.get(key);
      if (st !== undefined && now - st.last < intervalMs) {
        st.suppressed++;
        return;
      }
      const suppressed = st?.suppressed ?? 0;
      limits.set(key, { last: now, suppressed: 0 });
      write(level, msg, suppressed > 0 ? { ...fields, suppressed } : fields);
    },
  };
}

/** A logger that drops everything (tests, replay of many files). */
export const silentLogger: Logger = { log() {}, limited() {} };
