/**
 * What differs between the platforms harvestd is released for (docs/release.md), in one place.
 *
 * Everything else is the same code on every target; the differences that remain:
 * - stop signals: Windows has no SIGTERM (below);
 * - the atomic folder swap behind compaction: Linux renameat2, macOS renamex_np, none on Windows
 *   (src/sinks/storage/exchange.ts; compaction switches itself off there).
 */

export const IS_WINDOWS = process.platform === "win32";

/**
 * `<os>-<arch>` as release files name it: `linux-x64`, `darwin-arm64`, `windows-x64`. It cannot tell
 * a `-baseline` build (same platform, older CPUs): a compiled binary gets its name from the build.
 */
export function hostTarget(): string {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `${os}-${process.arch}`;
}

/**
 * Signals that mean "flush everything and exit 0"; a second one during the flush gives up.
 *
 * POSIX: SIGINT (Ctrl-C), SIGTERM (systemd, launchd, docker stop, kill) and SIGHUP (the terminal
 * it was started from closed: an SSH session dropped). SIGHUP's default is to end the process at
 * once, which lost what was not yet flushed; harvestd has nothing to reload, so a hang-up stops it
 * the clean way (docs/operations.md, "Stopping").
 * Windows has no SIGTERM: the runtime turns console control events into signals instead: Ctrl-C →
 * SIGINT, Ctrl-Break → SIGBREAK, the console window closed → SIGHUP (Windows ends the process a few
 * seconds later whatever it does). A service wrapper stops a console program with Ctrl-C
 * (deploy/windows/README.md), so that is the one that must flush; `taskkill /F` cannot be caught.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = IS_WINDOWS ? ["SIGINT", "SIGBREAK", "SIGHUP"] : ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Stop signals that, arriving again during the flush, give it up (an operator insisting). Not a
 * POSIX SIGHUP: a hang-up can come twice without anyone asking (the terminal, then its shell
 * ending), and it is ignored from the first on, so the flush finishes.
 */
export const INSISTING_SIGNALS: readonly NodeJS.Signals[] = IS_WINDOWS ? STOP_SIGNALS : ["SIGINT", "SIGTERM"];
