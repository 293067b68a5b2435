/**
 * Which JIT compilations come with the collector's short RSS jumps (docs/storage.md, "The jumps are
 * JavaScriptCore's top JIT tier (FTL) compiling"). Compiles the sources as build/build.ts does but
 * without `--bytecode`, whose binary leaves functions unnamed in JSC's report (or runs
 * $HARVESTD_BIN when set), at 50 symbols with `BUN_JSC_reportFTLCompileTimes=1`, stamps each
 * compile report line as it arrives, samples RSS every 50 ms, and prints each compilation of 25 ms
 * or more with how far RSS rose over it; the table goes to bench/results/jit-probe-<date>.json.
 * `--keep FILE` also keeps the samples and report lines; `--from FILE` reports such a file again.
 *
 *   bun bench/jit-probe.ts [--symbols 50] [--seconds 300] [--hour-turn-at S] [--keep FILE | --from FILE]
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ENTRY_POINTS } from "../build/build.ts";
import { collectorEnv } from "../test/helpers/binary.ts";
import { rerunWithHourTurnAt, underShiftedClock } from "./lib/fake-clock.ts";
import { ExchangeProcess, freePort, REPO, tempDir } from "./lib/harvestd.ts";
import { argValue, header, median, rssOf, writeResult } from "./lib/report.ts";

const N = Number(argValue("symbols") ?? 50);
const SECONDS = Number(argValue("seconds") ?? 300);
const HOUR_TURN_AT = argValue("hour-turn-at");
const KEEP = argValue("keep");
const FROM = argValue("from");
const MiB = 2 ** 20;
/** Compilations shorter than this are many (hundreds a run) and none has moved RSS by much. */
const REPORTED_MS = 25;

interface Sample {
  readonly t: number;
  readonly rss: number;
}
interface Compilation {
  readonly t: number;
  readonly ms: number;
  readonly line: string;
}
interface Probe {
  readonly binary: string;
  readonly samples: readonly Sample[];
  readonly compiles: readonly Compilation[];
}

/** Builds the named binary (unless $HARVESTD_BIN), runs it for SECONDS, returns what was seen. */
async function probe(): Promise<Probe> {
  const dir = tempDir("jit-probe");
  try {
    const binary = process.env.HARVESTD_BIN ?? join(dir, "harvestd");
    if (process.env.HARVESTD_BIN === undefined) {
      const built = Bun.spawnSync([process.execPath, "build", "--compile", "--minify-syntax", ...ENTRY_POINTS, "--outfile", binary], { cwd: REPO, stdout: "ignore", stderr: "inherit" });
      if (built.exitCode !== 0) throw new Error("bun build failed");
    }
    const version = new TextDecoder().decode(Bun.spawnSync([binary, "version"]).stdout).trim();
    const ex = await ExchangeProcess.start({ synthetic: N, speed: 1 });
    // The shifted clock of --hour-turn-at reaches the collector through libfaketime's variables.
    const fakeClockEnv = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && (k === "LD_PRELOAD" || k.startsWith("FAKETIME"))));
    const errFile = join(dir, "stderr.txt");
    const proc = Bun.spawn([binary, "run", "--config", join(REPO, "config.toml")], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...fakeClockEnv, BUN_JSC_reportFTLCompileTimes: "1", ...collectorEnv(ex, ex.symbols, dir, freePort()) },
      stdin: "ignore",
      stdout: "ignore",
      stderr: Bun.file(errFile),
    });
    const t0 = performance.now();
    const samples: Sample[] = [];
    const compiles: Compilation[] = [];
    // The report lines go to a file read at each sample: each is stamped with the sample's time (±50 ms).
    let readUpTo = 0;
    const sampler = setInterval(() => {
      const t = (performance.now() - t0) / 1000;
      const rss = rssOf(proc.pid);
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
    proc.kill("SIGTERM");
    await proc.exited;
    await ex.stop();
    return { binary: version, samples, compiles };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (b: number): number => Math.round((b / MiB) * 10) / 10;

/**
 * Each longer compilation with how far RSS rose over it: the highest sample from 0.5 s before the
 * report line was seen to 0.1 s after, above the median of the second before that.
 */
function compilationRows(p: Probe) {
  return p.compiles
    .filter((c) => c.ms >= REPORTED_MS)
    .map((c) => {
      const before = median(p.samples.filter((s) => s.t > c.t - 1.5 && s.t <= c.t - 0.5).map((s) => s.rss));
      const peak = Math.max(0, ...p.samples.filter((s) => s.t > c.t - 0.5 && s.t <= c.t + 0.1).map((s) => s.rss));
      return {
        at_s: Math.round(c.t * 100) / 100,
        function: /Optimized (\S*?)#/.exec(c.line)?.[1] || "(anonymous)",
        compile_ms: Math.round(c.ms),
        code_bytes: Number(/into (\d+) bytes/.exec(c.line)?.[1] ?? 0),
        rss_before_mib: mib(before),
        rss_rise_mib: mib(peak - before),
      };
    });
}

if (HOUR_TURN_AT !== undefined && FROM === undefined && !underShiftedClock()) process.exit(await rerunWithHourTurnAt(Number(HOUR_TURN_AT)));
const startLoad = header("jit-probe", `FTL compilations and RSS of a build without bytecode, ${N} symbols for ${SECONDS} s`);
const p: Probe = FROM === undefined ? await probe() : (JSON.parse(readFileSync(FROM, "utf8")) as Probe);
if (KEEP !== undefined) await Bun.write(KEEP, JSON.stringify(p));
const rows = compilationRows(p);
const perSecond = new Map<number, number>();
for (const s of p.samples) perSecond.set(Math.floor(s.t), Math.max(perSecond.get(Math.floor(s.t)) ?? 0, s.rss));
const highest = [...perSecond].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([t, r]) => [t, mib(r)] as const);
const peak = mib(Math.max(...p.samples.map((s) => s.rss)));
console.log(`${p.binary}\npeak ${peak} MiB; ${p.compiles.length} FTL compilations, ${rows.length} of them ≥ ${REPORTED_MS} ms:`);
console.table(rows);
console.log(`highest seconds: ${highest.map(([t, r]) => `${t} s ${r}`).join(", ")} MiB`);
writeResult("jit-probe", startLoad, {
  binary: p.binary,
  symbols: N,
  seconds: SECONDS,
  hour_turn_at_s: HOUR_TURN_AT === undefined ? null : Number(HOUR_TURN_AT),
  from_file: FROM ?? null,
  peak_rss_mib: peak,
  ftl_compilations: p.compiles.length,
  compilations_over_25_ms: rows,
  highest_seconds_mib: highest,
});
process.exit(0);
