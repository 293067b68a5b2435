/**
 * `npm run bench`: builds build/harvestd, then runs every benchmark in bench/ in turn, each in its own
 * process; each prints its figures as a table and writes JSON to bench/results/ with the machine, the
 * date and the load average. docs/performance.md says what each measures.
 *
 *   npm run bench                     everything, full length (about 35 minutes, see docs/performance.md)
 *   npm run bench -- --quick          every benchmark as a smoke run (about 3–4 minutes): proves they work
 *   npm run bench -- live replay      only the named benchmarks (flags are passed on)
 *   npm run bench -- --no-build       use the existing build/harvestd (or $HARVESTD_BIN)
 */
import { join } from "node:path";

const BENCHES = ["calculators", "ceiling", "hotpath", "startup", "replay", "parquet-size", "live", "memory", "sink-transport", "compaction", "model-inference", "encoder-ab", "ndjson-compress"] as const;

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--") && a !== "--no-build");
const named = args.filter((a) => !a.startsWith("--"));
for (const n of named) {
  if (!(BENCHES as readonly string[]).includes(n)) {
    process.stderr.write(`bench: unknown benchmark "${n}" (have ${BENCHES.join(", ")})\n`);
    process.exit(2);
  }
}
const selected = named.length > 0 ? named : [...BENCHES];

if (!args.includes("--no-build") && process.env.HARVESTD_BIN === undefined) {
  const b = Bun.spawnSync([process.execPath, join(import.meta.dir, "..", "build", "build.ts")], { stdout: "inherit", stderr: "inherit" });
  if (b.exitCode !== 0) {
    process.stderr.write("bench: building build/harvestd failed\n");
    process.exit(1);
  }
}

const t0 = performance.now();
const failed: string[] = [];
for (const b of selected) {
  process.stdout.write(`\n== bench/${b}.ts ${flags.join(" ")}\n`);
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, `${b}.ts`), ...flags], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) failed.push(b);
}
const min = ((performance.now() - t0) / 60_000).toFixed(1);
process.stdout.write(`\n${selected.length - failed.length}/${selected.length} benchmarks ran in ${min} min${failed.length > 0 ? `; failed: ${failed.join(", ")}` : ""}\n`);
process.exit(failed.length === 0 ? 0 : 1);
