/**
 * libfaketime (Debian `faketime`) for tests that run the binary, or the fake exchange's CLI, under a
 * shifted clock: the environment that shifts a child process's clock by whole seconds.
 */
import { existsSync } from "node:fs";

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
