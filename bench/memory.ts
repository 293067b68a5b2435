/**
 * Memory: resident set size of the compiled binary collecting 50 symbols from the fake exchange (its
 * own process) for 10 minutes, with the shipped config (Parquet rotation and compaction as
 * configured). Each symbol is a clone of BTCUSDT 2024-08-08 at recorded speed (≈ 40 frames/s per
 * symbol: a busy symbol, so 50 of them is a heavy 50-symbol load), phase-shifted so they do not move
 * in lockstep.
 *
 * RSS is read from /proc every 100 ms from spawn (`--sample-ms`; a rotation's spike lasts well under
 * a second, so a 1 s sampler misses most of it). Reported: RSS once ready (first frames in), peak
 * (the target is about every moment, so the peak is the figure), p99 and median of the second half,
 * final, and the growth over the second half of the run (MiB per minute: a leak shows as a steady
 * positive slope once buffers and JIT have warmed up). Loss is checked as in the live benchmark
 * (frames sent per stream vs NDJSON data lines). What holding memory down costs: CPU, the heap cap's
 * full collections and their pauses (/metrics), and the pipeline latency the NDJSON lines record.
 *
 * An hour turn closes every symbol's NDJSON file and Parquet hour at once (gzip, compaction): a run
 * that should contain one without waiting for the clock uses `--hour-turn-at S`, which re-runs this
 * benchmark under libfaketime (Debian `faketime`) with every process's clock shifted so that the
 * UTC hour turns S seconds after the start.
 *
 * Usage: bun bench/memory.ts [--quick] [--symbols N] [--seconds S] [--speed X] [--sample-ms M] [--target-mb T] [--hour-turn-at S] [--set key.path=VALUE ...]
 * `--set` (repeatable) overrides a key of the shipped config, as the CLI's own `--set`: an A/B of one
 * switch (`--set storage.ndjson_compress="none"`) in an otherwise identical run.
 * Writes bench/results/memory-<date>.json (memory-<N>sym-<date>.json for N ≠ 50 symbols; -2, -3… for later runs that day).
 * `SYMBOLS=ALL` order of magnitude: `--symbols 400 --speed 0.166` (≈ 2,650 frames/s), target 250 MB.
 */
import { collectorFrames, ExchangeProcess, startCollector, summarizeLogs, waitDrained, waitFor } from "./lib/harvestd.ts";
import { rerunWithHourTurnAt, underShiftedClock } from "./lib/fake-clock.ts";
import { argValue, cpuMsOf, header, printTable, QUICK, quantiles, rssOf, writeResult } from "./lib/report.ts";

const N = Number(argValue("symbols") ?? 50);
const SECONDS = Number(argValue("seconds") ?? (QUICK ? 30 : 600));
const SPEED = Number(argValue("speed") ?? 1);
/** The goal is in MB (10^6 bytes); RSS is reported in MiB, so the verdict converts. */
const TARGET_MB = Number(argValue("target-mb") ?? (N > 50 ? 250 : 150));
const TARGET_MIB = (TARGET_MB * 1e6) / 2 ** 20;
const SAMPLE_MS = Number(argValue("sample-ms") ?? 100);
const HOUR_TURN_AT = argValue("hour-turn-at");
const SETS = process.argv.flatMap((a, i) => (a === "--set" && process.argv[i + 1] !== undefined ? [process.argv[i + 1]!] : []));

const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const HEAP_EVERY_S = 15;

/** `harvestd_js_heap_used_bytes` from /metrics (the main thread's heap; workers have their own). */
async function mainHeapBytes(base: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^harvestd_js_heap_used_bytes (\S+)$/m.exec(text);
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * The heap cap's full collections on the ingest thread (`harvestd_heap_collection_pause_seconds`):
 * how many, their mean pause, and how many ended within each bucket bound (cumulative, ms). Null
 * from a binary without the histogram.
 */
async function heapPauses(base: string): Promise<{ collections: number; mean_ms: number | null; within_ms: Record<string, number> } | null> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const count = /^harvestd_heap_collection_pause_seconds_count (\S+)$/m.exec(text);
    const sum = /^harvestd_heap_collection_pause_seconds_sum (\S+)$/m.exec(text);
    if (count === null || sum === null) return null;
    const within: Record<string, number> = {};
    for (const m of text.matchAll(/^harvestd_heap_collection_pause_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) within[m[1] === "+Inf" ? "+Inf" : String(Number(m[1]) * 1000)] = Number(m[2]);
    const n = Number(count[1]);
    return { collections: n, mean_ms: n === 0 ? null : Math.round((Number(sum[1]) * 1e6) / n) / 1000, within_ms: within };
  } catch {
    return null;
  }
}

/** The 100 ms samples from 3 s before the peak to 3 s after it, [second, MiB]: the shape of the highest moment. */
function peakWindow(samples: readonly { t: number; rss: number }[]): [number, number][] {
  if (samples.length === 0) return [];
  const top = samples.reduce((a, b) => (b.rss > a.rss ? b : a));
  return samples.filter((s) => Math.abs(s.t - top.t) <= 3).map((s) => [Math.round(s.t * 10) / 10, mib(s.rss)]);
}

/** [second, highest RSS in it]: the samples, small enough to commit, every peak kept. */
function perSecondMax(samples: readonly { t: number; rss: number }[]): [number, number][] {
  const out = new Map<number, number>();
  for (const s of samples) out.set(Math.floor(s.t), Math.max(out.get(Math.floor(s.t)) ?? 0, s.rss));
  return [...out].map(([t, rss]) => [t, mib(rss)]);
}

async function main(): Promise<void> {
  const startLoad = header("memory", `RSS of build/harvestd with ${N} symbols for ${SECONDS} s`);
  const ex = await ExchangeProcess.start({ synthetic: N, speed: SPEED });
  const col = startCollector(ex.symbols, ex, {}, undefined, SETS);
  const t0 = performance.now();
  const samples: { t: number; rss: number }[] = [];
  /** [second, main thread's JS heap in use, MiB]: whether a rising RSS is that heap or elsewhere. */
  const heapSamples: [number, number][] = [];
  let readyAt: number | null = null;
  try {
    const sampler = setInterval(() => {
      const rss = rssOf(col.proc.pid);
      if (rss !== null) samples.push({ t: (performance.now() - t0) / 1000, rss });
    }, SAMPLE_MS);
    await waitFor("collector taking frames", async () => ((await collectorFrames(col.base)) ?? 0) > 0 || undefined, 60_000, 20);
    readyAt = (performance.now() - t0) / 1000;
    const readyRss = rssOf(col.proc.pid) ?? 0;
    const readyCpuMs = cpuMsOf(col.proc.pid) ?? 0;
    let nextPrint = 60;
    let nextHeap = 0;
    while ((performance.now() - t0) / 1000 < readyAt + SECONDS) {
      await Bun.sleep(1000);
      const el = (performance.now() - t0) / 1000 - readyAt;
      if (el >= nextHeap) {
        // Every second around a forced hour turn: the turn's spike lasts a few seconds.
        const nearTurn = HOUR_TURN_AT !== undefined && Math.abs(el - Number(HOUR_TURN_AT)) < 20;
        nextHeap += nearTurn ? 1 : HEAP_EVERY_S;
        const heap = await mainHeapBytes(col.base);
        if (heap !== null) heapSamples.push([Math.round((performance.now() - t0) / 1000), mib(heap)]);
      }
      if (el >= nextPrint) {
        console.log(`  ${Math.round(el)} s: RSS ${mib(samples.at(-1)?.rss ?? 0)} MiB`);
        nextPrint += 60;
      }
    }
    clearInterval(sampler);
    // CPU over the measured window, as a share of one core: what the memory costs (collections).
    const cpuPct = (((cpuMsOf(col.proc.pid) ?? 0) - readyCpuMs) / (SECONDS * 1000)) * 100;
    const pauses = await heapPauses(col.base);
    const stats = await ex.stats();
    const rate = stats.total / (stats.uptimeMs / 1000);
    await ex.silence();
    await waitDrained(col.base);
    const stop = await col.stop();
    const exStats = await ex.stats();
    const logs = summarizeLogs(col.ndjsonDir);
    const pipelineMs = quantiles(logs.pipelineMs.values(), 1);
    const eventMs = quantiles(logs.eventLatencyMs.values(), 0);
    let lost = 0;
    for (const [stream, n] of Object.entries(exStats.sent)) lost += Math.max(0, n - (logs.perStream.get(stream) ?? 0));

    const after = samples.filter((s) => s.t >= (readyAt ?? 0));
    const half = after.filter((s) => s.t >= (readyAt ?? 0) + SECONDS / 2);
    const peak = Math.max(...after.map((s) => s.rss));
    const growth = slope(
      half.map((s) => s.t / 60),
      half.map((s) => s.rss / 2 ** 20),
    );
    const row = {
      symbols: N,
      seconds: SECONDS,
      frames_per_s: Math.round(rate),
      ready_rss_mib: mib(readyRss),
      peak_rss_mib: mib(peak),
      p99_2nd_half_mib: mib(quantile(half.map((s) => s.rss), 0.99)),
      median_2nd_half_mib: mib(quantile(half.map((s) => s.rss), 0.5)),
      final_rss_mib: mib(after.at(-1)?.rss ?? 0),
      growth_2nd_half_mib_per_min: Math.round(growth * 100) / 100,
      cpu_pct_of_core: Math.round(cpuPct * 10) / 10,
      heap_collections: pauses?.collections ?? null,
      heap_pause_mean_ms: pauses?.mean_ms ?? null,
      // What a pause costs a frame: receipt to applied and logged, over the whole run (the logs' figures).
      pipeline_p99_ms: pipelineMs.p99,
      pipeline_p999_ms: pipelineMs.p999,
      pipeline_max_ms: pipelineMs.max,
      // Receipt minus the exchange's event time: a pause of the ingest thread delays receipt, so it shows here.
      event_p99_ms: eventMs.p99,
      event_max_ms: eventMs.max,
      lost,
      exit_code: stop.exitCode,
      verdict: peak / 2 ** 20 <= TARGET_MIB ? `peak ≤ ${TARGET_MB} MB` : `peak > ${TARGET_MB} MB (${mib(TARGET_MIB * 2 ** 20)} MiB)`,
    };
    printTable([row]);
    writeResult(N === 50 ? "memory" : `memory-${N}sym`, startLoad, { target_mb: TARGET_MB, config_sets: SETS, hour_turn_at_s: HOUR_TURN_AT === undefined ? null : Number(HOUR_TURN_AT), fake_clock_offset_s: process.env.FAKETIME ?? null, target_mib: mib(TARGET_MIB * 2 ** 20), sample_ms: SAMPLE_MS, speed: SPEED, ready_at_s: readyAt, ...row, heap_pauses: pauses, peak_window: peakWindow(after), per_second_max: perSecondMax(samples), main_heap_used_mib: heapSamples });
  } finally {
    await col.stop().catch(() => undefined);
    await ex.stop();
    col.cleanup();
  }
}

if (HOUR_TURN_AT !== undefined && !underShiftedClock()) process.exit(await rerunWithHourTurnAt(Number(HOUR_TURN_AT)));
await main();
