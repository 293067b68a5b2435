/**
 * Replay throughput: `harvestd replay` (the compiled binary) turning NDJSON raw logs into Parquet.
 *
 * Input: bench/lib/ndjson-gen.ts writes raw logs in the live layout from real traffic (clones of
 * BTCUSDT 2024-08-08: depth5 folded from the recorded diff depth and aggregated trades, looped with
 * continuous ids). Figures: data lines per second as the binary reports them (reading, parsing, all
 * calculators, Parquet rows handed to the writer) and per wall-clock second of the whole process
 * (spawn → exit, Parquet files closed and compacted), and the process's CPU time (all threads: replay,
 * Parquet writers, JIT, GC) per data line. Checked: DuckDB reads back one prices row per aggTrade
 * line and one orderbook row per depth line; the exit code is 0.
 *
 * Usage: bun bench/replay.ts [--quick] [--frames N] [--symbols N] [--repeats R] [--threads N] [--profile DIR]
 * (`--threads`: passed to the binary; without it, the binary's default.)
 * Writes bench/results/replay-<date>.json.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { hive, query } from "../test/helpers/duckdb.ts";
import { listFiles } from "../test/helpers/ndjson.ts";
import { harvestdBinary, REPO, tempDir } from "./lib/harvestd.ts";
import { generateLogs } from "./lib/ndjson-gen.ts";
import { argValue, cpuPressureUs, header, median, printTable, QUICK, runQueueWaitMs, threadCpuMs, writeResult } from "./lib/report.ts";

const FRAMES = Number(argValue("frames") ?? (QUICK ? 100_000 : 2_000_000));
const SYMBOLS = Number(argValue("symbols") ?? (QUICK ? 2 : 10));
const REPEATS = Number(argValue("repeats") ?? (QUICK ? 1 : 3));
const PROFILE_DIR = argValue("profile");
const THREADS = argValue("threads");
const TARGET = 500_000;

async function main(): Promise<void> {
  const startLoad = header("replay", "harvestd replay: NDJSON raw logs → Parquet");
  const dir = tempDir("bench-replay");
  try {
    const t = performance.now();
    const gen = generateLogs(join(dir, "ndjson"), SYMBOLS, FRAMES);
    console.log(
      `input: ${gen.dataLines.toLocaleString("en-US")} data lines (${gen.depthLines} depth5, ${gen.tradeLines} aggTrade), ${SYMBOLS} symbols, ` +
        `${Math.round(gen.bytes / 2 ** 20)} MiB, generated in ${Math.round(performance.now() - t)} ms`,
    );
    const runs: Record<string, unknown>[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const out = join(dir, `out-${r}`);
      const cmd = PROFILE_DIR === undefined ? [harvestdBinary()] : [process.execPath, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${PROFILE_DIR}`, join(REPO, "src", "cli", "main.ts")];
      const t0 = performance.now();
      const threadArgs = THREADS === undefined ? [] : ["--threads", THREADS];
      const proc = Bun.spawn([...cmd, "replay", join(dir, "ndjson"), "--out", out, "--config", join(REPO, "config.toml"), ...threadArgs], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
        stdout: "pipe",
        stderr: "pipe",
      });
      // CPU per thread group, the largest sample of each: a thread's time leaves /proc when it exits
      // (the writer and replay workers at close), so the last sample would miss it.
      const byThread: Record<string, number> = {};
      const pressure0 = cpuPressureUs();
      const sampler = setInterval(() => {
        for (const [group, ms] of Object.entries(threadCpuMs(proc.pid))) byThread[group] = Math.max(byThread[group] ?? 0, ms);
        const wait = runQueueWaitMs(proc.pid);
        if (wait !== null) mainWaitMs = wait;
      }, 50);
      let mainWaitMs = 0;
      const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      await proc.exited;
      clearInterval(sampler);
      const wallS = (performance.now() - t0) / 1000;
      const pressure1 = cpuPressureUs();
      if (proc.exitCode !== 0) throw new Error(`replay exited ${proc.exitCode}: ${stderr}`);
      const m = /replayed (\d+) lines .* in ([\d.]+) s/.exec(stdout);
      if (m === null) throw new Error(`unexpected replay output: ${stdout}`);
      const lines = Number(m[1]);
      const ownS = Number(m[2]);
      const threads = Number(/, (\d+) threads\)/.exec(stdout)?.[1] ?? 1);
      const cpu = proc.resourceUsage()?.cpuTime;
      const cpuS = cpu === undefined ? null : (Number(cpu.user) + Number(cpu.system)) / 1e6;
      const [prices] = await query(`SELECT count(*)::BIGINT AS n FROM ${hive(join(out, "raw", "**", "kind=prices", "*.parquet"))}`);
      const [books] = await query(`SELECT count(*)::BIGINT AS n FROM ${hive(join(out, "raw", "**", "kind=orderbook", "*.parquet"))}`);
      const missing = Math.abs(Number(prices!.n) - gen.tradeLines) + Math.abs(Number(books!.n) - gen.depthLines);
      runs.push({
        run: r + 1,
        lines,
        replay_s: ownS,
        wall_s: Math.round(wallS * 100) / 100,
        frames_per_s: Math.round(gen.dataLines / ownS),
        wall_frames_per_s: Math.round(gen.dataLines / wallS),
        threads,
        cpu_s: cpuS === null ? null : Math.round(cpuS * 100) / 100,
        cpu_us_per_frame: cpuS === null ? null : Math.round((cpuS / gen.dataLines) * 1e8) / 100,
        // main = the JS thread (the replay itself with one thread), worker = replay and Parquet writer
        // Workers, jit = JIT compiler threads, gc = collector helpers; io and other threads in other.
        ...Object.fromEntries(["main", "worker", "jit", "gc"].map((k) => [`cpu_${k}_s`, Math.round((byThread[k] ?? 0) / 10) / 100])),
        cpu_other_s: Math.round(((byThread.io ?? 0) + (byThread.other ?? 0)) / 10) / 100,
        main_waited_for_core_s: Math.round(mainWaitMs / 10) / 100,
        box_cpu_pressure: pressure0 === null || pressure1 === null ? null : Math.round(((pressure1 - pressure0) / 1e6 / wallS) * 100) / 100,
        parquet_files: listFiles(join(out, "raw"), /\.parquet$/).length,
        rows_missing: missing,
      });
      if (missing !== 0) throw new Error(`replay output is missing rows: prices ${prices!.n} vs ${gen.tradeLines}, orderbook ${books!.n} vs ${gen.depthLines}`);
      rmSync(out, { recursive: true, force: true });
    }
    printTable(runs);
    const fps = median(runs.map((r) => r.frames_per_s as number));
    const wall = median(runs.map((r) => r.wall_frames_per_s as number));
    console.log(`replay: median ${fps.toLocaleString("en-US")} frames/s (${wall.toLocaleString("en-US")} wall-clock incl. start and close); target ≥ ${TARGET.toLocaleString("en-US")}`);
    writeResult("replay", startLoad, { input: { ...gen, dir: undefined, symbols: gen.symbols.length }, repeats: REPEATS, target_frames_per_s: TARGET, median_frames_per_s: fps, median_wall_frames_per_s: wall, runs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
