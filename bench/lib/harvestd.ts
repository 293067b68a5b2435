/**
 * Running the compiled binary and the fake exchange for the end-to-end benchmarks, and reading back
 * what the binary logged (independently of its code: plain text scanning of the NDJSON raw logs).
 */
import { chmodSync, copyFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Subprocess } from "bun";
import { collectorEnv, ensureBinary, freePort, REPO, tempDir, waitFor } from "../../test/helpers/binary.ts";
import { listFiles } from "../../test/helpers/ndjson.ts";
import { Sample } from "./report.ts";

export { freePort, REPO, tempDir, waitFor };

/**
 * The binary under test: $HARVESTD_BIN when set (e.g. a copy built elsewhere), else build/harvestd,
 * built first when missing. `npm run bench` rebuilds build/harvestd before running anything.
 */
export function harvestdBinary(): string {
  return process.env.HARVESTD_BIN ?? ensureBinary();
}

/**
 * Copies the binary under test to a temporary folder and points $HARVESTD_BIN at the copy for the
 * rest of this process, so that a long benchmark measures one build from start to end even when
 * build/harvestd is rebuilt meanwhile (the tree is shared); the copy goes when this process exits.
 * Returns the copy's `version` line.
 */
export function pinBinary(): string {
  const dir = tempDir("bench-bin");
  const copy = join(dir, "harvestd");
  copyFileSync(harvestdBinary(), copy);
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  chmodSync(copy, 0o755);
  process.env.HARVESTD_BIN = copy;
  return new TextDecoder().decode(Bun.spawnSync([copy, "version"]).stdout).trim();
}

/** A line-oriented child process: JSON lines out, commands in. */
export class LineProc {
  private buf = "";
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];

  constructor(readonly proc: Subprocess<"pipe", "pipe", "inherit">) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    const dec = new TextDecoder();
    const reader = this.proc.stdout.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.buf += dec.decode(value, { stream: true });
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    }
  }

  next(timeoutMs = 60_000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("child process did not answer")), timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(t);
        resolve(line);
      });
    });
  }

  /** Sends `quit` and waits for the exit (SIGKILL after 10 s). */
  async quit(): Promise<void> {
    try {
      this.proc.stdin.write("quit\n");
      this.proc.stdin.flush();
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await this.proc.exited;
    clearTimeout(t);
  }

  async ask<T>(cmd: string): Promise<T> {
    this.proc.stdin.write(`${cmd}\n`);
    this.proc.stdin.flush();
    return JSON.parse(await this.next()) as T;
  }
}

export interface ExchangeStats {
  readonly sent: Record<string, number>;
  readonly total: number;
  readonly uptimeMs: number;
  readonly cpuMs: number;
}

/** The fake exchange in its own process (bench/lib/exchange-proc.ts). */
export class ExchangeProcess {
  private constructor(
    private readonly lp: LineProc,
    readonly publicWsBase: string,
    readonly marketWsBase: string,
    readonly restBase: string,
    readonly symbols: readonly string[],
  ) {}

  static async start(opts: { synthetic: number; speed: number; symbols?: readonly string[] }): Promise<ExchangeProcess> {
    const args = [process.execPath, join(import.meta.dir, "exchange-proc.ts"), "--synthetic", String(opts.synthetic), "--speed", String(opts.speed)];
    if (opts.symbols !== undefined && opts.symbols.length > 0) args.push("--symbols", opts.symbols.join(","));
    const proc = Bun.spawn(args, { env: helperEnv(), stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const lp = new LineProc(proc);
    const hello = JSON.parse(await lp.next()) as { publicWsBase: string; marketWsBase: string; restBase: string; symbols: string[] };
    return new ExchangeProcess(lp, hello.publicWsBase, hello.marketWsBase, hello.restBase, hello.symbols);
  }

  get pid(): number {
    return this.lp.proc.pid;
  }

  stats(): Promise<ExchangeStats> {
    return this.lp.ask<ExchangeStats>("stats");
  }

  silence(): Promise<unknown> {
    return this.lp.ask("silence");
  }

  setSpeed(speed: number): Promise<unknown> {
    return this.lp.ask(`speed ${speed}`);
  }

  stop(): Promise<void> {
    return this.lp.quit();
  }
}

/** The bare counting client (bench/lib/bare-client.ts) in its own process, connected to `exchange`. */
export class BareClient {
  private constructor(private readonly lp: LineProc) {}

  static async start(exchange: { publicWsBase: string; marketWsBase: string; symbols: readonly string[] }): Promise<BareClient> {
    const args = [process.execPath, join(import.meta.dir, "bare-client.ts"), "--public", exchange.publicWsBase, "--market", exchange.marketWsBase, "--symbols", exchange.symbols.join(",")];
    const lp = new LineProc(Bun.spawn(args, { env: helperEnv(), stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
    await lp.next();
    return new BareClient(lp);
  }

  get pid(): number {
    return this.lp.proc.pid;
  }

  /** Messages received so far and the client's CPU time. */
  stats(): Promise<{ received: number; cpuMs: number }> {
    return this.lp.ask("stats");
  }

  /** Polls until the received count has not moved for 1 s (the client has drained its input); returns it. */
  drained(): Promise<number> {
    return untilStill(async () => (await this.stats()).received, 1000, 60_000, 100, "bare client");
  }

  stop(): Promise<void> {
    return this.lp.quit();
  }
}

export interface Collector {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly dir: string;
  readonly base: string;
  readonly ndjsonDir: string;
  readonly outputDir: string;
  /** SIGTERM, wait for the exit; returns the exit code and stderr. */
  stop(): Promise<{ exitCode: number; stderr: string }>;
  /** Removes the temporary data folder. */
  cleanup(): void;
}

/** The collector's diagnosis and runtime options: JavaScriptCore's, the allocator's, the buffer trace's. */
const collectorOnly = (k: string): boolean => k.startsWith("BUN_JSC_") || k.startsWith("MIMALLOC_") || k.startsWith("HARVESTD_BUFFER_TRACE");

/** The variables of this process's environment whose names pass `keep`. */
function envWhere(keep: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && keep(k)) out[k] = v;
  return out;
}

/**
 * Variables of the benchmark's environment that reach the collector: libfaketime's, when the
 * benchmark runs under `faketime` (memory.ts --hour-turn-at: the collector's clock must agree with
 * the fake exchange's, which inherits the whole environment); for a diagnosis, JavaScriptCore's
 * options (`BUN_JSC_reportFTLCompileTimes=1` and the like), the allocator's (`MIMALLOC_PURGE_DELAY=0`)
 * and the buffer trace's (`HARVESTD_BUFFER_TRACE`, src/util/buffer-trace.ts).
 */
const passedEnv = (): Record<string, string> => envWhere((k) => k === "LD_PRELOAD" || k.startsWith("FAKETIME") || collectorOnly(k));

/**
 * The environment of the benchmark's other processes (fake exchange, bare client): all of it (the
 * faked clock too) but the collector's own options, so that an A/B of a JSC option
 * (`BUN_JSC_useFTLJIT=0`) changes the collector alone, not the exchange that feeds it.
 */
const helperEnv = (): Record<string, string> => envWhere((k) => !collectorOnly(k));

/**
 * Starts build/harvestd `run` with the repo's config.toml, every output in a fresh temporary folder,
 * endpoints pointing at `exchange`. `env` overrides or adds variables.
 */

export function startCollector(
  symbols: readonly string[],
  exchange: { publicWsBase: string; marketWsBase: string; restBase: string },
  env: Record<string, string> = {},
  /** Run from source under `bun --cpu-prof` instead of the binary, writing the profiles here (workers' too). */
  profileDir?: string,
  /** Config overrides, each `key.path=VALUE` as the CLI's `--set` takes it. */
  sets: readonly string[] = [],
): Collector {
  const dir = tempDir("bench");
  const port = freePort();
  const ndjsonDir = join(dir, "ndjson");
  const outputDir = join(dir, "raw");
  const cmd =
    profileDir === undefined
      ? [harvestdBinary()]
      : [process.execPath, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profileDir}`, join(REPO, "src", "cli", "main.ts")];
  const proc = Bun.spawn([...cmd, "run", "--config", join(REPO, "config.toml"), ...sets.flatMap((kv) => ["--set", kv])], {
    cwd: dir,
    // A profiled run also profiles the worker threads (src/util/worker-profile.ts): their reports land beside the main thread's.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...passedEnv(), ...collectorEnv(exchange, symbols, dir, port, env), ...(profileDir === undefined ? {} : { HARVESTD_WORKER_PROFILE: profileDir }) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = new Response(proc.stdout).text();
  const err = new Response(proc.stderr).text();
  return {
    proc,
    dir,
    base: `http://127.0.0.1:${port}`,
    ndjsonDir,
    outputDir,
    async stop() {
      proc.kill("SIGTERM");
      const [exitCode, , stderr] = await Promise.all([proc.exited, out, err]);
      return { exitCode, stderr };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET a JSON document, or undefined when the server does not answer (yet). */
export async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(url);
    return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Total frames the collector has taken in so far (sum over /api/status symbols), or undefined. */
export async function collectorFrames(base: string): Promise<number | undefined> {
  const st = await getJson(`${base}/api/status`);
  const syms = st?.symbols as { frames?: number }[] | undefined;
  if (syms === undefined) return undefined;
  return syms.reduce((s, x) => s + (x.frames ?? 0), 0);
}

/** Polls until the collector's frame count has not moved for `quietMs` (it has drained its input). */
export function waitDrained(base: string, quietMs = 1500, timeoutMs = 120_000): Promise<number> {
  return untilStill(async () => (await collectorFrames(base)) ?? -1, quietMs, timeoutMs, 250, "collector");
}

/** Polls `count` every `pollMs` until it has not moved for `quietMs`; returns it. */
async function untilStill(count: () => Promise<number>, quietMs: number, timeoutMs: number, pollMs: number, who: string): Promise<number> {
  let last = -1;
  let since = Date.now();
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const n = await count();
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return n;
    await Bun.sleep(pollMs);
  }
  throw new Error(`${who} did not drain its input`);
}

export interface LogSummary {
  /** Data lines per stream. */
  readonly perStream: Map<string, number>;
  /** Backfill lines (trades recovered over REST after a gap) per stream. */
  readonly backfilledPerStream: Map<string, number>;
  /** Gap lines (ids given up on). */
  readonly gapLines: number;
  readonly dataLines: number;
  readonly firstRecvMs: number;
  readonly lastRecvMs: number;
  readonly pipelineMs: Sample;
  readonly eventLatencyMs: Sample;
  /** Breaks in the aggTrade `a` chain and the depth `pu` chain, per stream, summed. */
  readonly chainBreaks: number;
}

const numAfter = (line: string, key: string, from = 0): number => {
  const i = line.indexOf(key, from);
  if (i < 0) return Number.NaN;
  let j = i + key.length;
  while (j < line.length) {
    const c = line.charCodeAt(j);
    if (c === 44 || c === 125) break; // , }
    j++;
  }
  return Number(line.slice(i + key.length, j));
};

/**
 * Reads every NDJSON raw log under `dir` (plain or gzip) as text: counts data lines and backfill
 * lines per stream and gap lines, collects `latency_pipeline_ms` and `latency_event_ms`, and checks
 * the id chains of the data lines per stream in receipt order (aggTrade `a` + 1, depth `pu` =
 * previous `u`; a backfill in between shows as a break, and is counted as such).
 */
export function summarizeLogs(dir: string): LogSummary {
  const perStream = new Map<string, number>();
  const backfilledPerStream = new Map<string, number>();
  let gapLines = 0;
  const lastId = new Map<string, number>();
  const pipelineMs = new Sample();
  const eventLatencyMs = new Sample();
  let dataLines = 0;
  let chainBreaks = 0;
  let firstRecvMs = Number.POSITIVE_INFINITY;
  let lastRecvMs = 0;
  const files = listFiles(dir, /raw-\d\d\.ndjson(\.gz)?$/).sort((a, b) => {
    const key = (p: string) => `${/symbol=([^/]+)/.exec(p)?.[1]}/${/date=([\d-]+)/.exec(p)?.[1]}/${/raw-(\d\d)/.exec(p)?.[1]}`;
    return key(a) < key(b) ? -1 : 1;
  });
  for (const f of files) {
    const buf = readFileSync(f);
    const text = f.endsWith(".gz") ? gunzipSync(buf).toString("utf8") : buf.toString("utf8");
    let p = 0;
    while (p < text.length) {
      let nl = text.indexOf("\n", p);
      if (nl < 0) nl = text.length;
      const line = text.slice(p, nl);
      p = nl + 1;
      const s = line.indexOf(',"stream":"');
      if (line.startsWith('"event":"backfill"', line.indexOf(",") + 1)) {
        const bs = line.slice(s + 11, line.indexOf('"', s + 11));
        backfilledPerStream.set(bs, (backfilledPerStream.get(bs) ?? 0) + 1);
        continue;
      }
      if (line.startsWith('"event":"gap"', line.indexOf(",") + 1)) {
        gapLines++;
        continue;
      }
      if (s < 0 || line.indexOf('"latency_pipeline_ms":') < 0 || line.startsWith('{"ts_recv"') === false || line.indexOf('"event"') >= 0) continue;
      const stream = line.slice(s + 11, line.indexOf('"', s + 11));
      const recv = numAfter(line, '{"ts_recv":');
      dataLines++;
      perStream.set(stream, (perStream.get(stream) ?? 0) + 1);
      if (recv < firstRecvMs) firstRecvMs = recv;
      if (recv > lastRecvMs) lastRecvMs = recv;
      pipelineMs.push(numAfter(line, '"latency_pipeline_ms":'));
      const ev = numAfter(line, '"latency_event_ms":');
      if (ev === ev) eventLatencyMs.push(ev);
      const d = line.indexOf(',"data":');
      const prev = lastId.get(stream);
      if (stream.endsWith("@aggTrade")) {
        const a = numAfter(line, ',"a":', d);
        if (prev !== undefined && a !== prev + 1) chainBreaks++;
        lastId.set(stream, a);
      } else {
        const u = numAfter(line, ',"u":', d);
        const pu = numAfter(line, ',"pu":', d);
        if (prev !== undefined && pu !== prev) chainBreaks++;
        lastId.set(stream, u);
      }
    }
  }
  return { perStream, backfilledPerStream, gapLines, dataLines, firstRecvMs, lastRecvMs, pipelineMs, eventLatencyMs, chainBreaks };
}
