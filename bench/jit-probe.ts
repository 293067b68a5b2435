/**
 * Which JIT compilations come with the collector's short RSS jumps (docs/storage.md, "The jumps are
 * JavaScriptCore's top JIT tier (FTL) compiling"). Compiles the sources as build/build.ts does but
 * without `--bytecode`, whose binary leaves functions unnamed in JSC's report (or runs
 * $HARVESTD_BIN when set), at 50 symbols with `BUN_JSC_reportFTLCompileTimes=1`,
 * stamps each compile report line as it arrives, samples RSS every 50 ms, and prints each
 * compilation of 25 ms or more with how far RSS rose over it. JIT_PROBE_OUT=FILE keeps the samples.
 *
 *   bun bench/jit-probe.ts [--symbols 50] [--seconds 300]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ENTRY_POINTS } from "../build/build.ts";
import { collectorEnv } from "../test/helpers/binary.ts";
import { ExchangeProcess, freePort, REPO, tempDir } from "./lib/harvestd.ts";
import { argValue, rssOf } from "./lib/report.ts";

const N = Number(argValue("symbols") ?? 50);
const SECONDS = Number(argValue("seconds") ?? 300);
const MiB = 2 ** 20;

const dir = tempDir("jit-probe");
const binary = process.env.HARVESTD_BIN ?? join(dir, "harvestd");
if (process.env.HARVESTD_BIN === undefined) {
  const built = Bun.spawnSync([process.execPath, "build", "--compile", "--minify-syntax", ...ENTRY_POINTS, "--outfile", binary], { cwd: REPO, stdout: "ignore", stderr: "inherit" });
  if (built.exitCode !== 0) throw new Error("bun build failed");
}
const ex = await ExchangeProcess.start({ synthetic: N, speed: 1 });
const errFile = join(dir, "stderr.txt");
const col = {
  proc: Bun.spawn([binary, "run", "--config", join(REPO, "config.toml")], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", BUN_JSC_reportFTLCompileTimes: "1", ...collectorEnv(ex, ex.symbols, dir, freePort()) },
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(errFile),
  }),
};
const t0 = performance.now();
const at = (): number => (performance.now() - t0) / 1000;
const samples: { t: number; rss: number }[] = [];
const compiles: { t: number; ms: number; line: string }[] = [];

// The report lines go to a file read at each sample: each is stamped with the sample's time (±50 ms).
let readUpTo = 0;
const sampler = setInterval(() => {
  const t = at();
  const rss = rssOf(col.proc.pid);
  if (rss !== null) samples.push({ t, rss });
  const text = readFileSync(errFile, "utf8");
  const end = text.lastIndexOf("\n") + 1;
  for (const line of text.slice(readUpTo, end).split("\n")) {
    const m = /in ([\d.]+) ms/.exec(line);
    if (m !== null) compiles.push({ t, ms: Number(m[1]), line });
  }
  readUpTo = end;
}, 50);

await Bun.sleep(SECONDS * 1000);
clearInterval(sampler);
col.proc.kill("SIGTERM");
await col.proc.exited;
await ex.stop();

// Each longer compilation with how far RSS rose over it: the highest sample from 0.5 s before the
// report to 0.1 s after, above the median of the second before that.
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
const rows = compiles
  .filter((c) => c.ms >= 25)
  .map((c) => {
    const before = median(samples.filter((s) => s.t > c.t - 1.5 && s.t <= c.t - 0.5).map((s) => s.rss));
    const peak = Math.max(0, ...samples.filter((s) => s.t > c.t - 0.5 && s.t <= c.t + 0.1).map((s) => s.rss));
    return {
      at_s: Math.round(c.t * 100) / 100,
      function: /Optimized (\S*?)#/.exec(c.line)?.[1] || "(anonymous)",
      compile_ms: Math.round(c.ms),
      code_bytes: Number(/into (\d+) bytes/.exec(c.line)?.[1] ?? 0),
      rss_before_mib: Math.round((before / MiB) * 10) / 10,
      rss_rise_mib: Math.round(((peak - before) / MiB) * 10) / 10,
    };
  });
const perSecond = new Map<number, number>();
for (const s of samples) perSecond.set(Math.floor(s.t), Math.max(perSecond.get(Math.floor(s.t)) ?? 0, s.rss));
console.log(`peak ${(Math.max(...samples.map((s) => s.rss)) / MiB).toFixed(1)} MiB; ${compiles.length} FTL compilations, ${rows.length} of them ≥ 25 ms:`);
console.table(rows);
const top = [...perSecond].sort((a, b) => b[1] - a[1]).slice(0, 8);
console.log(`highest seconds: ${top.map(([t, r]) => `${t} s ${(r / MiB).toFixed(1)}`).join(", ")} MiB`);
if (process.env.JIT_PROBE_OUT) await Bun.write(process.env.JIT_PROBE_OUT, JSON.stringify({ samples, compiles }));
process.exit(0);
