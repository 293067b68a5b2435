/**
 * What every benchmark shares: the `--quick` flag, machine facts, the load average at the time of a
 * figure, percentiles, a plain-text table, and the JSON file written to bench/results/.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";

export const BENCH_DIR = join(import.meta.dir, "..");
export const REPO = join(BENCH_DIR, "..");
export const RESULTS_DIR = join(BENCH_DIR, "results");

/** `--quick`: a smoke run of a few seconds that proves the benchmark works, not a figure to quote. */
export const QUICK = process.argv.includes("--quick");

/** Value of `--name value` on the command line, or undefined. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memory_gb: number;
  readonly kernel: string;
  readonly bun: string;
}

export function machineInfo(): MachineInfo {
  let kernel = "unknown";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    /* not Linux */
  }
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel,
    bun: Bun.version,
  };
}

/** 1, 5 and 15 minute load averages, rounded: printed beside every figure (a busy machine skews them). */
export function load(): [number, number, number] {
  const [a, b, c] = loadavg();
  const r = (x: number | undefined) => Math.round((x ?? 0) * 100) / 100;
  return [r(a), r(b), r(c)];
}

export interface Quantiles {
  readonly n: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

/** Growable Float64 sample. */
export class Sample {
  a = new Float64Array(1 << 16);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  values(): Float64Array {
    return this.a.subarray(0, this.n);
  }
}

/** Exact quantiles of a sample (sorted copy; nearest-rank). */
export function quantiles(xs: ArrayLike<number>, digits = 3): Quantiles {
  const n = xs.length;
  if (n === 0) return { n: 0, p50: null, p99: null, p999: null, max: null, mean: null };
  const s = Float64Array.from(xs).sort();
  const r = (x: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  const q = (p: number) => r(s[Math.min(n - 1, Math.ceil(p * n) - 1)]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { n, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: r(s[n - 1]!), mean: r(sum / n) };
}

/** Median of a few repeated figures. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Prints rows as an aligned table (numbers right-aligned, with thousands separators). */
export function printTable(rows: readonly Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: unknown) =>
    v === null || v === undefined ? "-" : typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en-US") : String(v)) : String(v);
  const cells = rows.map((r) => cols.map((c) => fmt(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const right = cols.map((c) => rows.some((r) => typeof r[c] === "number"));
  const line = (vals: readonly string[]) => vals.map((v, i) => (right[i] ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join("  ");
  console.log(line(cols));
  console.log(width.map((w) => "-".repeat(w)).join("  "));
  for (const row of cells) console.log(line(row));
}

/**
 * Writes `bench/results/<name>-<date>.json` (a quick run gets `-quick`, so it never replaces a full
 * run's figures) with the machine, date, mode and load average around the run.
 */
export function writeResult(name: string, startLoad: readonly number[], body: Record<string, unknown>): string {
  // Under a faked clock (bench/memory.ts --hour-turn-at) the file is still named and dated by the real one.
  const date = new Date(Date.now() - Number(process.env.HARVESTD_BENCH_CLOCK_SHIFT_S ?? 0) * 1000).toISOString();
  const result = { benchmark: name, date, mode: QUICK ? "quick" : "full", machine: machineInfo(), load_avg_start: startLoad, load_avg_end: load(), ...body };
  mkdirSync(RESULTS_DIR, { recursive: true });
  // A second run the same day gets -2, -3…: a figure already written is never overwritten.
  const stem = join(RESULTS_DIR, `${name}-${date.slice(0, 10)}${QUICK ? "-quick" : ""}`);
  let file = `${stem}.json`;
  for (let n = 2; existsSync(file); n++) file = `${stem}-${n}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`load average ${startLoad.join(" ")} → ${result.load_avg_end.join(" ")}; wrote ${file}`);
  return file;
}

/** Prints the benchmark's header line: what, mode, machine, load. */
export function header(name: string, what: string): readonly number[] {
  const m = machineInfo();
  const l = load();
  console.log(`${name}: ${what}${QUICK ? " [--quick: smoke run, not a figure]" : ""}`);
  console.log(`${m.cpu}, ${m.cores} cores, Bun ${m.bun}; load average ${l.join(" ")}`);
  return l;
}

/** Resident set size of a process in bytes (Linux /proc), or null when it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/**
 * A /proc `stat` file (a process's, a thread's, `thread-self`) read once: the command name, and
 * what follows it in fields numbered from 0 at the state (field 3 of proc(5)); a name may itself
 * hold spaces and parentheses. Times are in clock ticks of 10 ms. Null when it cannot be read.
 */
export function procStat(path: string): { readonly name: string; readonly minorFaults: number; readonly userMs: number; readonly sysMs: number } | null {
  let f: string;
  try {
    f = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return { name: f.slice(f.indexOf("(") + 1, f.lastIndexOf(")")), minorFaults: Number(rest[7]), userMs: Number(rest[11]) * 10, sysMs: Number(rest[12]) * 10 };
}

/**
 * CPU ms per thread group of a process (Linux /proc/PID/task): `main` (the JS thread), `worker` (Bun
 * Workers, e.g. the Parquet writer), `gc` (HeapHelper), `jit`, `io` (Bun Pool), `other`; and
 * `main_sys`, the system part of `main` (page faults on fresh memory show there).
 */
export function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, main_sys: 0, worker: 0, gc: 0, jit: 0, io: 0, other: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const st = procStat(`/proc/${pid}/task/${tid}/stat`);
    if (st === null) continue; // thread ended
    const name = st.name;
    const group = Number(tid) === pid ? "main" : name.startsWith("Worker") ? "worker" : name.startsWith("HeapHelper") ? "gc" : /JIT|JSC/.test(name) ? "jit" : name.startsWith("Bun Pool") ? "io" : "other";
    out[group]! += st.userMs + st.sysMs;
    if (group === "main") out.main_sys! += st.sysMs;
  }
  return out;
}

/** Minor page faults of a process's main thread so far (Linux /proc), or null. */
export function mainThreadFaults(pid: number): number | null {
  return procStat(`/proc/${pid}/task/${pid}/stat`)?.minorFaults ?? null;
}

/** CPU time (user + system) of a process in ms (Linux /proc), or null. */
export function cpuMsOf(pid: number): number | null {
  const st = procStat(`/proc/${pid}/stat`);
  return st === null ? null : st.userMs + st.sysMs;
}

/**
 * Time a process's main thread spent runnable but waiting for a core, in ms (Linux
 * /proc/PID/schedstat, second field), or null. On a shared box this is how starvation shows: a
 * collector whose main thread waits here is slowed by other load, not by its own work.
 */
export function runQueueWaitMs(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return null;
  }
}

/**
 * Total µs some task on the machine waited for a core (Linux pressure stall information,
 * /proc/pressure/cpu `some`), or null: its growth over a window / the window is the share of time
 * the box had more runnable work than cores.
 */
export function cpuPressureUs(): number | null {
  try {
    const m = /some .*total=(\d+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}
