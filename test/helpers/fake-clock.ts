/**
 * libfaketime (Debian `faketime`) for tests that run the binary, or the fake exchange's CLI, under a
 * shifted clock: the environment that shifts a child process's clock by whole seconds.
 */
import { existsSync, writeFileSync } from "node:fs";

const CANDIDATES = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"];

/** The preload library, or undefined when libfaketime is not installed. */
export const LIBFAKETIME: string | undefined = CANDIDATES.find((p) => existsSync(p));

/** Why such a test cannot run here, or undefined when it can; under CI it runs regardless and fails. */
export function fakeClockMissing(): string | undefined {
  if (LIBFAKETIME !== undefined || process.env.CI !== undefined) return undefined;
  return "libfaketime not installed (apt-get install faketime)";
}

/** Environment for a child whose clock runs `shiftS` whole seconds ahead (negative: behind) of the real one. */
export function shiftedClock(shiftS: number): Record<string, string> {
  if (!Number.isInteger(shiftS)) throw new Error(`shiftedClock: whole seconds, got ${shiftS}`);
  return { LD_PRELOAD: LIBFAKETIME ?? "", FAKETIME: `${shiftS >= 0 ? "+" : ""}${shiftS}s` };
}

/** A child's clock that the test steps while it runs, as NTP stepping a wrong clock would. */
export interface SteppableClock {
  /** Environment of the child: its wall clock follows `file`; its monotonic clock is left alone. */
  readonly env: Record<string, string>;
  /** Sets the child's wall clock `offsetS` whole seconds from the real one (it reads it within a second). */
  step(offsetS: number): void;
}

/**
 * libfaketime reading its offset from a file, re-read every second. Only the wall clock moves (an
 * NTP step does not touch CLOCK_MONOTONIC, so timers and `performance.now()` run on).
 */
export function steppableClock(file: string): SteppableClock {
  const write = (offsetS: number) => {
    if (!Number.isInteger(offsetS)) throw new Error(`steppableClock: whole seconds, got ${offsetS}`);
    writeFileSync(file, `${offsetS >= 0 ? "+" : ""}${offsetS}s\n`);
  };
  write(0);
  return {
    env: { LD_PRELOAD: LIBFAKETIME ?? "", FAKETIME_TIMESTAMP_FILE: file, FAKETIME_CACHE_DURATION: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" },
    step: write,
  };
}
