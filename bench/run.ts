/**
 * `npm run bench`: runs every benchmark in bench/ in turn; each prints its figures as a table and
 * writes JSON to bench/results/ with the machine and date.
 */
import { join } from "node:path";

const BENCHES = ["calculators.ts"] as const;

let failed = 0;
for (const b of BENCHES) {
  process.stdout.write(`\n== bench/${b}\n`);
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, b)], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
