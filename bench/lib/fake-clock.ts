/**
 * An hour turn S seconds into a benchmark without waiting for the clock: the benchmark runs itself
 * again under libfaketime (Debian `faketime`), every process it starts inheriting the same shifted
 * clock, so the UTC hour turns at S (docs/performance.md, "memory").
 */

/** True in the copy of the benchmark that already runs under the shifted clock. */
export const underShiftedClock = (): boolean => process.env.HARVESTD_BENCH_FAKE_CLOCK !== undefined;

/** Runs this benchmark again under faketime, the clock shifted so the hour turns `atS` seconds from now; its exit code. */
export async function rerunWithHourTurnAt(atS: number): Promise<number> {
  if (Bun.which("faketime") === null) throw new Error("--hour-turn-at needs libfaketime: apt-get install faketime");
  const now = Date.now();
  const offsetS = Math.round((Math.ceil(now / 3_600_000) * 3_600_000 - now) / 1000 - atS);
  console.log(`clock shifted by ${offsetS} s: the UTC hour turns ${atS} s after the start`);
  const proc = Bun.spawn(["faketime", "-f", `${offsetS >= 0 ? "+" : ""}${offsetS}`, process.execPath, ...process.argv.slice(1)], {
    env: { ...process.env, HARVESTD_BENCH_FAKE_CLOCK: String(atS), HARVESTD_BENCH_CLOCK_SHIFT_S: String(offsetS) },
    stdio: ["inherit", "inherit", "inherit"],
  });
  return proc.exited;
}
