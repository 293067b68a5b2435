/**
 * Live: the compiled binary (build/harvestd run) against the fake exchange on loopback, at rising
 * offered rates, with Parquet rotating every 2 s.
 *
 * Each step: the fake exchange runs in its own process (bench/lib/exchange-proc.ts) with N synthetic
 * clones of BTCUSDT 2024-08-08 (real depth5 folded from the recorded diff depth, real trades) at the
 * speed that gives the step's rate; the binary collects for the step's duration; then the exchange
 * goes silent, the binary drains and is stopped with SIGTERM. Checked afterwards:
 *   loss      data frames the exchange sent, per stream, vs data lines in the binary's NDJSON logs
 *             (plus trades it recovered over REST after a gap: recovered, not lost, but a sign it
 *             fell behind), the `a` / `pu` id chains in them, and Parquet rows read back by DuckDB:
 *             one prices row per logged aggTrade, one orderbook row per logged depth frame; frames
 *             sent but never received (the sender drops a slow client's frames past its
 *             backpressure limit) are reported apart;
 *   latency   `latency_pipeline_ms` of every logged frame (frame receipt → engine done, rows
 *             appended), and `latency_event_ms` (receipt − exchange send time E, ms resolution:
 *             includes socket and event-loop queueing, so a collector falling behind shows here);
 *   cost      the binary's CPU time per frame and peak RSS.
 * A step is sustained when nothing is lost, every chain is intact, Parquet has every row, the exit
 * is clean, the binary keeps up — at the window's end at most half a second of frames sent but not
 * yet taken in (its own frame counter, /api/status) — and the event latency p99 stays < 1 s. When
 * the exchange itself cannot produce 90% of the rate (it has one core at most), the step is marked
 * source-limited: the figure is then a lower bound set by the sender, not by harvestd.
 *
 * The yardstick, in the same run: a ladder of its own for a bare counting client (bench/lib/
 * bare-client.ts: Bun WebSockets on the same connections and streams, counting messages, nothing
 * else) against a fresh fake exchange process at the same rates (from harvestd's highest sustained
 * one up), with the same rule: a step holds
 * when every frame sent is received, at most half a second of frames is still unreceived at the
 * window's end, and the exchange produced ≥ 90 % of the rate. The result has
 * `bare_client_highest_per_s` beside `highest_sustained_per_s` and their ratio.
 *
 * Usage: bun bench/live.ts [--quick] [--symbols N] [--seconds S] [--repeats R] [--rates a,b,c]
 *        [--ladders harvestd,bare]   (which ladders to run; both by default)
 *        [--warmup S]      (each step first runs S seconds at half its rate: a warm process; 0 = cold, the default)
 *        [--rotate S]      (Parquet rotation period; default 2, so that each window rotates every file several times)
 *        [--profile DIR]   (collector from source under `bun --cpu-prof --cpu-prof-md`, profile in DIR; the
 *                           worker threads' sampling reports too, SamplingProfile.*.txt)
 *        [--writer-nice N] (an experiment: the collector's worker threads — the Parquet writer — at nice N,
 *                           so that under contention its ingest thread gets the cores first)
 * Writes bench/results/live-<date>.json.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { join } from "node:path";
import { recordingScripts } from "../test/fake-exchange/script.ts";
import { hive, query } from "../test/helpers/duckdb.ts";
import { listFiles } from "../test/helpers/ndjson.ts";
import { BareClient, ExchangeProcess, collectorFrames, pinBinary, startCollector, summarizeLogs, waitDrained, waitFor } from "./lib/harvestd.ts";
import { argValue, cpuMsOf, cpuPressureUs, header, load, mainThreadFaults, median, printTable, QUICK, quantiles, rssOf, runQueueWaitMs, threadCpuMs, writeResult } from "./lib/report.ts";

const N = Number(argValue("symbols") ?? (QUICK ? 10 : 50));
const STEP_SEC = Number(argValue("seconds") ?? (QUICK ? 4 : 15));
const REPEATS = Number(argValue("repeats") ?? (QUICK ? 1 : 3));
const RATES = (argValue("rates") ?? (QUICK ? "5000,20000" : "20000,50000,60000,70000,80000,90000,100000,110000,120000,130000,150000,200000,250000,300000,350000,400000")).split(",").map(Number);
const LADDERS = (argValue("ladders") ?? "harvestd,bare").split(",");
const ROTATE_SEC = argValue("rotate") ?? "2";
/**
 * `--warmup S`: each process (collector or bare client) first takes WARMUP_SHARE of the step's rate
 * for S seconds, then the exchange switches to the step's rate and the window starts. A collector
 * that has run for a while is what "sustained" means to a user; cold, its first seconds are spent
 * compiling (the JIT threads took ~12 % of a core through a 15 s window) while the frames pile up.
 * Loss is still checked over everything sent, warm-up included. 0 (the default): cold, as before.
 */
const WARMUP_SEC = Number(argValue("warmup") ?? 0);
const WARMUP_SHARE = 0.5;
/** `--profile DIR`: run the collector from source under `bun --cpu-prof` (main thread) into DIR. */
const PROFILE_DIR = argValue("profile");
const WRITER_NICE = argValue("writer-nice");

/** Sets every worker thread of `pid` (Linux names Bun Workers "Worker") to nice `n`; returns how many. */
function niceWorkers(pid: number, n: number): number {
  let done = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").startsWith("Worker")) {
        setPriority(Number(tid), n);
        done++;
      }
    } catch {
      /* thread ended */
    }
  }
  return done;
}

/** Frames per second one BTCUSDT clone produces at speed 1 (depth5 + aggTrade, per recorded second). */
function framesPerSymbolSecond(): number {
  const s = recordingScripts("hftbacktest-2024-08-08").get("BTCUSDT")!;
  return (s.depthItems + s.tradeItems) / (s.period / 1000);
}

interface RunResult {
  readonly target: number;
  readonly offered_per_s: number;
  readonly taken_per_s: number;
  readonly backlog_at_end: number;
  readonly frames: number;
  readonly lost: number;
  readonly never_received: number;
  readonly recovered: number;
  readonly gap_lines: number;
  readonly extra: number;
  readonly chain_breaks: number;
  readonly parquet_rows_missing: number;
  readonly parquet_files: number;
  readonly exit_code: number;
  readonly pipeline_ms: ReturnType<typeof quantiles>;
  readonly event_latency_ms: ReturnType<typeof quantiles>;
  readonly collector_cpu_pct: number;
  readonly collector_cpu_us_per_frame: number;
  readonly exchange_cpu_pct: number;
  /** CPU % of the window per thread group: main (JS), worker (Parquet writer), gc, jit, io, other. */
  readonly thread_cpu_pct: Record<string, number>;
  /** Minor page faults of the main thread per frame taken in the window. */
  readonly main_faults_per_frame: number;
  readonly peak_rss_mb: number;
  /** Share of the window the collector's main thread was runnable but waited for a core (starved by other load). */
  readonly main_runqueue_wait_pct: number;
  /** Share of the window some task on the box waited for a core (/proc/pressure/cpu): how busy the shared box was. */
  readonly box_cpu_pressure_pct: number;
  /** Longest /api/status answer in the window (a stalled event loop answers late), ms. */
  readonly status_max_ms: number;
  /** Most frames sent but not yet taken in at any 1 s sample of the window. */
  readonly backlog_max: number;
  /** Samples where /api/status took > 250 ms: when, how long, the backlog then. */
  readonly stalls: readonly { at_s: number; status_ms: number; backlog: number }[];
  readonly sustained: boolean;
  readonly source_limited: boolean;
  readonly why: string;
}

/** Rows of one Parquet kind under the output tree, read by DuckDB (0 when there is no file). */
export async function parquetRows(outputDir: string, kind: string): Promise<number> {
  if (listFiles(outputDir, new RegExp(`kind=${kind}/[^/]*\\.parquet$`)).length === 0) return 0;
  const [r] = await query(`SELECT count(*)::BIGINT AS n FROM ${hive(join(outputDir, "**", `kind=${kind}`, "*.parquet"))}`);
  return Number(r!.n);
}

async function runStep(target: number, perSym: number): Promise<RunResult> {
  const speed = target / (N * perSym);
  const ex = await startExchange(speed);
  const col = startCollector(ex.symbols, ex, { PARQUET_ROTATE_SEC: ROTATE_SEC, ORDERBOOK_ROTATE_SEC: ROTATE_SEC }, PROFILE_DIR);
  try {
    await waitFor("collector taking frames", async () => ((await collectorFrames(col.base)) ?? 0) > 0 || undefined, 60_000);
    if (WRITER_NICE !== undefined && niceWorkers(col.proc.pid, Number(WRITER_NICE)) === 0) throw new Error("--writer-nice: no worker thread found");
    await warmUp(ex, speed);
    const s0 = await ex.stats();
    const f0 = (await collectorFrames(col.base)) ?? 0;
    const c0 = cpuMsOf(col.proc.pid) ?? 0;
    const th0 = threadCpuMs(col.proc.pid);
    const pf0 = mainThreadFaults(col.proc.pid) ?? 0;
    const rq0 = runQueueWaitMs(col.proc.pid) ?? 0;
    const psi0 = cpuPressureUs() ?? 0;
    const t0 = performance.now();
    let peakRss = 0;
    const end = t0 + STEP_SEC * 1000;
    // Stalls: how long /api/status took to answer, and the most frames sent but not yet taken in,
    // sampled once a second through the window (each answer computes every symbol's latency
    // quantiles: polling faster costs the collector CPU that shows in the figures).
    let statusMaxMs = 0;
    let backlogMax = 0;
    const stalls: { at_s: number; status_ms: number; backlog: number }[] = [];
    while (performance.now() < end) {
      peakRss = Math.max(peakRss, rssOf(col.proc.pid) ?? 0);
      const q0 = performance.now();
      const f = await collectorFrames(col.base);
      const qMs = performance.now() - q0;
      const sent = (await ex.stats()).total;
      const behind = f === undefined ? 0 : Math.max(0, sent - f);
      statusMaxMs = Math.max(statusMaxMs, qMs);
      backlogMax = Math.max(backlogMax, behind);
      if (qMs > 250) stalls.push({ at_s: Math.round((q0 - t0) / 100) / 10, status_ms: Math.round(qMs), backlog: behind });
      await Bun.sleep(Math.min(1000, Math.max(0, end - performance.now())));
    }
    const s1 = await ex.stats();
    const f1 = (await collectorFrames(col.base)) ?? 0;
    const c1 = cpuMsOf(col.proc.pid) ?? 0;
    const th1 = threadCpuMs(col.proc.pid);
    const pf1 = mainThreadFaults(col.proc.pid) ?? 0;
    const rq1 = runQueueWaitMs(col.proc.pid) ?? 0;
    const psi1 = cpuPressureUs() ?? 0;
    const dt = (performance.now() - t0) / 1000;
    await ex.silence();
    const received = await waitDrained(col.base);
    peakRss = Math.max(peakRss, rssOf(col.proc.pid) ?? 0);
    const stop = await col.stop();
    const exStats = await ex.stats();
    await ex.stop();

    const logs = summarizeLogs(col.ndjsonDir);
    // Per stream: frames sent vs frames logged (data lines, plus trades recovered over REST after a gap).
    let lost = 0;
    let extra = 0;
    let recovered = 0;
    for (const [stream, n] of Object.entries(exStats.sent)) {
      const back = logs.backfilledPerStream.get(stream) ?? 0;
      recovered += back;
      const got = (logs.perStream.get(stream) ?? 0) + back;
      if (got < n) lost += n - got;
    }
    // Frames the sender counted but the collector never received (Bun drops a slow client's frames
    // past the server's backpressure limit): a collector that does not keep up loses them upstream.
    const neverReceived = Math.max(0, exStats.total - received);
    for (const [stream, got] of logs.perStream) {
      const n = exStats.sent[stream] ?? 0;
      if (got > n) extra += got - n;
    }
    let aggLines = 0;
    let depthLines = 0;
    for (const [stream, n] of logs.perStream) {
      if (stream.endsWith("@aggTrade")) aggLines += n;
      else depthLines += n;
    }
    aggLines += recovered; // a recovered trade is a prices row too
    const parquetMissing = Math.abs(aggLines - (await parquetRows(col.outputDir, "prices"))) + Math.abs(depthLines - (await parquetRows(col.outputDir, "orderbook")));
    const parquetFiles = listFiles(col.outputDir, /\.parquet$/).length;

    const offered = (s1.total - s0.total) / dt;
    // What the collector took in during the window (its own frame counter), and how far behind it
    // was at the window's end (frames sent by then but not yet taken in).
    const taken = (f1 - f0) / dt;
    const backlog = Math.max(0, s1.total - f1);
    const pipeline = quantiles(logs.pipelineMs.values());
    const eventLat = quantiles(logs.eventLatencyMs.values(), 0);
    const cpuPct = ((c1 - c0) / (dt * 1000)) * 100;
    const framesInWindow = s1.total - s0.total;
    const exCpuPct = ((s1.cpuMs - s0.cpuMs) / (dt * 1000)) * 100;
    const sourceLimited = offered < 0.9 * target;
    // Keeping up: at the window's end at most half a second of frames not yet taken in.
    const maxBacklog = Math.max(2000, target / 2);
    const why: string[] = [];
    if (lost > 0) why.push(`${lost} lost (${neverReceived} never received)`);
    if (recovered > 0) why.push(`${recovered} recovered over REST after gaps`);
    if (extra > 0) why.push(`${extra} extra`);
    if (logs.chainBreaks > 0) why.push(`${logs.chainBreaks} chain breaks`);
    if (parquetMissing > 0) why.push(`${parquetMissing} Parquet rows off`);
    if (stop.exitCode !== 0) why.push(`exit ${stop.exitCode}`);
    if (why.length > 0) process.stderr.write(`collector stderr (last 2000 chars):\n${stop.stderr.slice(-2000)}\n`);
    if (backlog > maxBacklog) why.push(`${backlog} frames behind at the end (took in ${Math.round(taken)}/s)`);
    if ((eventLat.p99 ?? 0) >= 1000) why.push(`event latency p99 ${eventLat.p99} ms`);
    if (sourceLimited) why.push(`exchange offered only ${Math.round(offered)}/s`);
    // A failure of the collector's own (loss, lag) is a failure even when the sender was also short.
    const collectorFailed = why.length > (sourceLimited ? 1 : 0);
    col.cleanup();
    return {
      target,
      offered_per_s: Math.round(offered),
      taken_per_s: Math.round(taken),
      backlog_at_end: backlog,
      frames: logs.dataLines,
      lost,
      never_received: neverReceived,
      recovered,
      gap_lines: logs.gapLines,
      extra,
      chain_breaks: logs.chainBreaks,
      parquet_rows_missing: parquetMissing,
      parquet_files: parquetFiles,
      exit_code: stop.exitCode,
      pipeline_ms: pipeline,
      event_latency_ms: eventLat,
      collector_cpu_pct: Math.round(cpuPct),
      collector_cpu_us_per_frame: framesInWindow > 0 ? Math.round(((c1 - c0) * 1000) / framesInWindow * 10) / 10 : 0,
      exchange_cpu_pct: Math.round(exCpuPct),
      thread_cpu_pct: Object.fromEntries(Object.keys(th1).map((k) => [k, Math.round(((th1[k]! - (th0[k] ?? 0)) / (dt * 1000)) * 100)])),
      main_faults_per_frame: framesInWindow > 0 ? Math.round(((pf1 - pf0) / framesInWindow) * 1000) / 1000 : 0,
      peak_rss_mb: Math.round(peakRss / 2 ** 20),
      status_max_ms: Math.round(statusMaxMs),
      main_runqueue_wait_pct: Math.round(((rq1 - rq0) / (dt * 1000)) * 100),
      box_cpu_pressure_pct: Math.round(((psi1 - psi0) / (dt * 1e6)) * 100),
      backlog_max: backlogMax,
      stalls,
      sustained: why.length === 0,
      source_limited: sourceLimited && !collectorFailed,
      why: why.join("; "),
    };
  } catch (e) {
    await col.stop().catch(() => undefined);
    await ex.stop().catch(() => undefined);
    col.cleanup();
    throw e;
  }
}

interface BareResult {
  readonly target: number;
  readonly offered_per_s: number;
  readonly received_per_s: number;
  readonly backlog_at_end: number;
  readonly never_received: number;
  readonly client_cpu_pct: number;
  readonly exchange_cpu_pct: number;
  readonly sustained: boolean;
  readonly source_limited: boolean;
  readonly why: string;
}

/** One step of the bare client's ladder: same exchange, same streams, same window, same verdict. */
/** The exchange for a step at `speed`: with `--warmup`, started at the warm-up share of it. */
function startExchange(speed: number): Promise<ExchangeProcess> {
  return ExchangeProcess.start({ synthetic: N, speed: WARMUP_SEC > 0 ? speed * WARMUP_SHARE : speed });
}

/** `--warmup`: the warm-up share of the rate for WARMUP_SEC, then the step's rate. */
async function warmUp(ex: ExchangeProcess, speed: number): Promise<void> {
  if (WARMUP_SEC <= 0) return;
  await Bun.sleep(WARMUP_SEC * 1000);
  await ex.setSpeed(speed);
}

async function runBareStep(target: number, perSym: number): Promise<BareResult> {
  const speed = target / (N * perSym);
  const ex = await startExchange(speed);
  const bare = await BareClient.start(ex);
  try {
    await waitFor("bare client receiving", async () => (await bare.stats()).received > 0 || undefined, 60_000);
    await warmUp(ex, speed);
    const s0 = await ex.stats();
    const b0 = await bare.stats();
    const t0 = performance.now();
    await Bun.sleep(STEP_SEC * 1000);
    const s1 = await ex.stats();
    const b1 = await bare.stats();
    const dt = (performance.now() - t0) / 1000;
    await ex.silence();
    const received = await bare.drained();
    const exStats = await ex.stats();
    const offered = (s1.total - s0.total) / dt;
    const backlog = Math.max(0, s1.total - b1.received);
    const neverReceived = Math.max(0, exStats.total - received);
    const sourceLimited = offered < 0.9 * target;
    const why: string[] = [];
    if (neverReceived > 0) why.push(`${neverReceived} never received`);
    if (backlog > Math.max(2000, target / 2)) why.push(`${backlog} frames behind at the end (received ${Math.round((b1.received - b0.received) / dt)}/s)`);
    if (sourceLimited) why.push(`exchange offered only ${Math.round(offered)}/s`);
    const clientFailed = why.length > (sourceLimited ? 1 : 0);
    return {
      target,
      offered_per_s: Math.round(offered),
      received_per_s: Math.round((b1.received - b0.received) / dt),
      backlog_at_end: backlog,
      never_received: neverReceived,
      client_cpu_pct: Math.round(((b1.cpuMs - b0.cpuMs) / (dt * 1000)) * 100),
      exchange_cpu_pct: Math.round(((s1.cpuMs - s0.cpuMs) / (dt * 1000)) * 100),
      sustained: why.length === 0,
      source_limited: sourceLimited && !clientFailed,
      why: why.join("; "),
    };
  } finally {
    await bare.stop();
    await ex.stop();
  }
}

/**
 * The bare client's ladder: every rate from `from` (harvestd's highest sustained rate: the lower
 * steps cost a bare client nothing and only lengthen the run) until one fails (in --quick, every rate).
 */
async function bareLadder(perSym: number, from: number): Promise<{ best: number; table: Record<string, unknown>[]; steps: { target: number; runs: BareResult[]; sustained: boolean }[] }> {
  const steps: { target: number; runs: BareResult[]; sustained: boolean }[] = [];
  const table: Record<string, unknown>[] = [];
  for (const target of RATES.filter((r) => r >= from)) {
    const runs: BareResult[] = [];
    for (let r = 0; r < REPEATS; r++) runs.push(await runBareStep(target, perSym));
    const sustained = runs.every((x) => x.sustained);
    steps.push({ target, runs, sustained });
    const med = (f: (x: BareResult) => number) => median(runs.map(f));
    const row = {
      target,
      offered: med((x) => x.offered_per_s),
      received: med((x) => x.received_per_s),
      backlog: med((x) => x.backlog_at_end),
      never_received: runs.reduce((s, x) => s + x.never_received, 0),
      client_cpu_pct: med((x) => x.client_cpu_pct),
      ex_cpu_pct: med((x) => x.exchange_cpu_pct),
      verdict: sustained ? "sustained" : runs.every((x) => x.sustained || x.source_limited) ? "source-limited" : "FAILED",
      why: runs.map((x) => x.why).filter(Boolean).join(" | "),
    };
    table.push(row);
    console.log(`  bare ${target}/s: ${row.verdict}${row.why ? ` (${row.why})` : ""}; received ${row.received}/s; load ${load().join(" ")}`);
    if (!sustained && !QUICK) break;
  }
  return { best: Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.target)), table, steps };
}

async function main(): Promise<void> {
  const startLoad = header("live", `build/harvestd vs the fake exchange, ${N} symbols, rising rates, Parquet rotation every ${ROTATE_SEC} s${WARMUP_SEC > 0 ? `, ${WARMUP_SEC} s warm-up at half rate` : ", cold start"}`);
  // One build for the whole run (build/harvestd can be rebuilt by others while a ladder runs).
  const binary = PROFILE_DIR === undefined ? pinBinary() : "from source (--profile)";
  console.log(`binary: ${binary}`);
  const perSym = framesPerSymbolSecond();
  console.log(`one BTCUSDT clone = ${perSym.toFixed(1)} frames/s at speed 1; ${STEP_SEC} s per step, ${REPEATS} run(s) per rate`);
  const steps: { target: number; runs: RunResult[]; sustained: boolean }[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const target of LADDERS.includes("harvestd") ? RATES : []) {
    const runs: RunResult[] = [];
    for (let r = 0; r < REPEATS; r++) runs.push(await runStep(target, perSym));
    const sustained = runs.every((x) => x.sustained);
    steps.push({ target, runs, sustained });
    const med = (f: (x: RunResult) => number | null) => median(runs.map((x) => f(x) ?? Number.NaN));
    const row = {
      target,
      offered: med((x) => x.offered_per_s),
      taken: med((x) => x.taken_per_s),
      lost: runs.reduce((s, x) => s + x.lost + x.extra, 0),
      recovered: runs.reduce((s, x) => s + x.recovered, 0),
      pipe_p50_ms: med((x) => x.pipeline_ms.p50),
      pipe_p99_ms: med((x) => x.pipeline_ms.p99),
      pipe_max_ms: med((x) => x.pipeline_ms.max),
      evt_p99_ms: med((x) => x.event_latency_ms.p99),
      cpu_pct: med((x) => x.collector_cpu_pct),
      us_frame: med((x) => x.collector_cpu_us_per_frame),
      main_pct: med((x) => x.thread_cpu_pct.main ?? 0),
      main_sys_pct: med((x) => x.thread_cpu_pct.main_sys ?? 0),
      main_faults: med((x) => x.main_faults_per_frame),
      worker_pct: med((x) => x.thread_cpu_pct.worker ?? 0),
      gc_pct: med((x) => x.thread_cpu_pct.gc ?? 0),
      ex_cpu_pct: med((x) => x.exchange_cpu_pct),
      rss_mb: med((x) => x.peak_rss_mb),
      status_max_ms: Math.max(...runs.map((x) => x.status_max_ms)),
      main_wait_pct: med((x) => x.main_runqueue_wait_pct),
      box_psi_pct: med((x) => x.box_cpu_pressure_pct),
      backlog_max: Math.max(...runs.map((x) => x.backlog_max)),
      pq_files: med((x) => x.parquet_files),
      verdict: sustained ? "sustained" : runs.every((x) => x.sustained || x.source_limited) ? "source-limited" : "FAILED",
      why: runs.map((x) => x.why).filter(Boolean).join(" | "),
    };
    rows.push(row);
    console.log(`  ${target}/s: ${row.verdict}${row.why ? ` (${row.why})` : ""}; pipeline p99 ${row.pipe_p99_ms} ms; /api/status max ${row.status_max_ms} ms, backlog max ${row.backlog_max}, main thread waiting for a core ${row.main_wait_pct} %, box CPU pressure ${row.box_psi_pct} %; load ${load().join(" ")}`);
    for (const x of runs) if (x.stalls.length > 0) console.log(`    stalls (status > 250 ms): ${x.stalls.map((z) => `${z.at_s}s ${z.status_ms}ms/${z.backlog}`).join(", ")}`);
    if (!sustained && !QUICK) break;
  }
  console.log("");
  printTable(rows);
  const best = Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.target));
  const at20k = rows.find((r) => r.target === 20_000);
  console.log(`highest sustained rate with zero loss: ${best}/s${steps.some((s) => !s.sustained && s.runs.some((x) => x.source_limited)) ? " (next step limited by the exchange process)" : ""}`);
  if (at20k !== undefined) console.log(`pipeline latency at 20k frames/s: p50 ${at20k.pipe_p50_ms} ms, p99 ${at20k.pipe_p99_ms} ms, max ${at20k.pipe_max_ms} ms (target p99 ≤ 1 ms)`);
  const bare = LADDERS.includes("bare") ? await bareLadder(perSym, QUICK ? 0 : best) : undefined;
  let ratio: number | null = null;
  if (bare !== undefined) {
    console.log("");
    printTable(bare.table);
    ratio = bare.best > 0 ? Math.round((best / bare.best) * 1000) / 1000 : null;
    const bareBound = bare.steps.some((x) => !x.sustained && x.runs.every((r) => r.sustained || r.source_limited)) ? " (a lower bound: the next step was limited by the exchange process)" : "";
    console.log(`bare counting client, same exchange, same run: ${bare.best}/s${bareBound}; harvestd / bare = ${ratio ?? "n/a"} (target ≥ 0.8)`);
  }
  writeResult("live", startLoad, {
    binary,
    symbols: N,
    step_seconds: STEP_SEC,
    repeats: REPEATS,
    rotate_sec: Number(ROTATE_SEC),
    warmup_sec: WARMUP_SEC,
    warmup_share: WARMUP_SHARE,
    writer_nice: WRITER_NICE === undefined ? null : Number(WRITER_NICE),
    frames_per_symbol_second_at_speed_1: perSym,
    highest_sustained_per_s: best,
    bare_client_highest_per_s: bare?.best ?? null,
    bare_client_source_limited: bare === undefined ? null : bare.steps.some((x) => !x.sustained && x.runs.every((r) => r.sustained || r.source_limited)),
    ratio_to_bare_client: ratio,
    table: rows,
    steps,
    bare_client: bare === undefined ? null : { table: bare.table, steps: bare.steps },
  });
}

await main();
