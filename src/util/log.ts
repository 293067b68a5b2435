/**
 * Structured JSON-lines logging to stderr and, when a run-log folder is given, to
 * `ARTIFACTS_DIR/run_logs/harvestd-<start>.jsonl` (run-log-file.ts: appended off the calling thread,
 * rotated by size and UTC day, closed files gzip'd, old ones deleted). Repetitive messages are
 * rate-limited per key so a flood of bad frames cannot flood the log; the number suppressed is
 * reported with the next one.
 */
import { RunLogFile } from "./run-log-file.ts";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** At most one message per `key` per `intervalMs`; the rest are counted and summarised. */
  limited(key: string, level: Level, msg: string, fields?: Readonly<Record<string, unknown>>, intervalMs?: number): void;
}

/** A logger with a run-log file: `close()` writes out what is buffered. */
export interface RunLogger extends Logger {
  close(): Promise<void>;
  /** The run-log file being written (null: none). */
  readonly file: string | null;
}

export interface LoggerOptions {
  readonly runLogDir?: string;
  /** Rotation of the run-log files (defaults: 64 MiB, 30 days). */
  readonly runLogMaxBytes?: number;
  readonly runLogKeepDays?: number;
  readonly stderr?: boolean;
  readonly minLevel?: Level;
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** False once stderr can no longer be written (a terminal hung up: EIO; a closed pipe: EPIPE). */
let stderrOpen = true;
let stderrWatched = false;

/**
 * Without a listener the stream's error would end the process in the middle of its shutdown
 * (test/e2e/ops-hangup.test.ts); from then on every logger writes its run-log file only.
 */
function watchStderr(): void {
  if (stderrWatched) return;
  stderrWatched = true;
  process.stderr.on("error", () => (stderrOpen = false));
}

export function createLogger(opts: LoggerOptions = {}): RunLogger {
  let file: RunLogFile | null = null;
  if (opts.runLogDir !== undefined) {
    try {
      file = new RunLogFile({ dir: opts.runLogDir, maxFileBytes: opts.runLogMaxBytes, keepDays: opts.runLogKeepDays });
      const f = file;
      // An exit(1) (an incomplete shutdown) must not lose the lines that say why.
      process.on("exit", () => f.flushSync());
    } catch {
      file = null;
    }
  }
  const min = RANK[opts.minLevel ?? "info"];
  const toStderr = opts.stderr ?? true;
  if (toStderr) watchStderr();
  const limits = new Map<string, { last: number; suppressed: number }>();

  const write = (level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (RANK[level] < min) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields });
    if (toStderr && stderrOpen) process.stderr.write(line + "\n");
    // Best effort: a full disk must not stop collection (the file drops what it cannot write).
    file?.append(line);
  };

  return {
    get file() {
      return file?.current ?? null;
    },
    close: async () => {
      await file?.close();
    },
    log: write,
    limited(key, level, msg, fields, intervalMs = 10_000) {
      // The interval is a duration: a stepped wall clock must not silence a kind of line for the step's length.
      const now = performance.now();
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
