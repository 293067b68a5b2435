/**
 * Startup to ready: from spawning build/harvestd `run` (one symbol, the repo's config.toml, the fake
 * exchange already up in its own process) to
 *   health       the first answer of GET /health (HTTP up, config loaded, sinks and engines built);
 *   first_frame  /api/status counting the first frame processed (connected, subscribed, a frame
 *                parsed and applied) — polled every 2 ms, so it is late by up to that;
 * and, as the floor any process pays, `harvestd --version` spawn → exit. Median of the runs.
 *
 * Usage: bun bench/startup.ts [--quick] [--runs N]
 * Writes bench/results/startup-<date>.json.
 */
import { harvestdBinary, ExchangeProcess, startCollector, getJson } from "./lib/harvestd.ts";
import { argValue, header, median, printTable, QUICK, writeResult } from "./lib/report.ts";

const RUNS = Number(argValue("runs") ?? (QUICK ? 3 : 15));
const TARGET_MS = 100;

async function once(ex: ExchangeProcess): Promise<{ health_ms: number; first_frame_ms: number }> {
  const t0 = performance.now();
  const col = startCollector(["BTCUSDT"], ex);
  let health = Number.NaN;
  let first = Number.NaN;
  try {
    const deadline = t0 + 30_000;
    while (performance.now() < deadline && Number.isNaN(first)) {
      if (Number.isNaN(health)) {
        try {
          await fetch(`${col.base}/health`);
          health = performance.now() - t0;
        } catch {
          /* not listening yet */
        }
      } else {
        const st = await getJson(`${col.base}/api/status`);
        const frames = (st?.symbols as { frames?: number }[] | undefined)?.[0]?.frames ?? 0;
        if (frames > 0) first = performance.now() - t0;
      }
      if (Number.isNaN(first)) await Bun.sleep(2);
    }
    if (Number.isNaN(first)) throw new Error("no frame processed within 30 s");
  } finally {
    await col.stop();
    col.cleanup();
  }
  return { health_ms: Math.round(health * 10) / 10, first_frame_ms: Math.round(first * 10) / 10 };
}

async function main(): Promise<void> {
  const startLoad = header("startup", "spawn → /health answers, spawn → first frame processed");
  const bin = harvestdBinary();
  const version: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    Bun.spawnSync([bin, "--version"], { stdout: "ignore", stderr: "ignore" });
    version.push(performance.now() - t0);
  }
  // BTCUSDT at 20× recorded speed: a frame every few ms, so the first frame measures readiness, not waiting.
  const ex = await ExchangeProcess.start({ synthetic: 0, speed: 20, symbols: ["BTCUSDT"] });
  const runs: { health_ms: number; first_frame_ms: number }[] = [];
  try {
    for (let i = 0; i < RUNS; i++) runs.push(await once(ex));
  } finally {
    await ex.stop();
  }
  const row = {
    runs: RUNS,
    version_exit_ms: Math.round(median(version) * 10) / 10,
    health_ms: median(runs.map((r) => r.health_ms)),
    first_frame_ms: median(runs.map((r) => r.first_frame_ms)),
    health_max_ms: Math.max(...runs.map((r) => r.health_ms)),
    first_frame_max_ms: Math.max(...runs.map((r) => r.first_frame_ms)),
    target_ms: TARGET_MS,
  };
  printTable([row]);
  writeResult("startup", startLoad, { ...row, all: runs, version_runs_ms: version.map((v) => Math.round(v * 10) / 10) });
}

await main();
