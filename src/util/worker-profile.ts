/**
 * `HARVESTD_WORKER_PROFILE=DIR`: a worker thread runs JSC's sampling profiler and writes its report
 * (hottest functions, tiers) into DIR when it ends. `bun --cpu-prof` profiles the main thread only;
 * this is how the writer's costs are found (bench/live.ts --profile sets it; docs/performance.md).
 */
import { startSamplingProfiler } from "bun:jsc";

export function profileThisWorker(): void {
  const dir = process.env.HARVESTD_WORKER_PROFILE;
  if (dir !== undefined && dir !== "") startSamplingProfiler(dir);
}
