/**
 * Runs the compiled binary, build/harvestd, the way a user does. `npm test` builds it first; a test
 * run on its own builds it once if it is missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const REPO = join(import.meta.dir, "..", "..");
export const BINARY = join(REPO, "build", "harvestd");

export function ensureBinary(): string {
  if (!existsSync(BINARY)) {
    const r = Bun.spawnSync([process.execPath, join(REPO, "build", "build.ts")], { stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("building build/harvestd failed");
  }
  return BINARY;
}

const made: string[] = [];

/**
 * A fresh folder under the system temp folder, removed once every test has run (test/helpers/cleanup.ts,
 * preloaded by bunfig.toml): a full run made ≈ 240 of them, 500 MB, and left them behind.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `harvestd-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes the folders tempDir made, unless `HARVESTD_KEEP_TEST_DIRS=1` (to look into a failure). */
export function removeTempDirs(): void {
  if (process.env.HARVESTD_KEEP_TEST_DIRS === "1") return;
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A free TCP port on 127.0.0.1 (bound and released). */
/**
 * The first port the kernel hands out to connections (Linux's ip_local_port_range), or 32768. Ports
 * below it are never taken by a client socket, so a server a test kills and restarts on its port
 * (a NATS node, the fake testnet) finds it free again: a port from port 0 was in that range, and with
 * the suite's two processes connecting all the time one was taken in between.
 */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
})();
const TEST_PORT_LOW = 10_000;

/** A port nothing listens on now, chosen at random below the kernel's ephemeral range. */
export function freePort(): number {
  for (let tries = 0; tries < 100; tries++) {
    const port = TEST_PORT_LOW + Math.floor(Math.random() * Math.max(1000, EPHEMERAL_LOW - TEST_PORT_LOW));
    try {
      const s = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.stop(true);
      return port;
    } catch {
      // in use: another
    }
  }
  throw new Error("no free port found below the ephemeral range after 100 tries");
}

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the binary to completion. */
export async function runBinary(args: readonly string[], env: Record<string, string> = {}, cwd = REPO): Promise<RunResult> {
  const proc = Bun.spawn([ensureBinary(), ...args], { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

export interface Running {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Sends the signal and resolves with the exit code and output. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/** Starts the binary in the background. */
export function startBinary(args: readonly string[], env: Record<string, string>, cwd = REPO): Running {
  const proc = Bun.spawn([ensureBinary(), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = new Response(proc.stdout).text();
  const err = new Response(proc.stderr).text();
  return {
    proc,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      proc.kill(signal);
      const [exitCode, stdout, stderr] = await Promise.all([proc.exited, out, err]);
      return { exitCode, stdout, stderr };
    },
  };
}

/** Polls `fn` until it returns a non-undefined value or the time runs out. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`);
}

/** The endpoints of a (fake) exchange, as the collector's environment variables want them. */
export interface ExchangeEndpoints {
  readonly publicWsBase: string;
  readonly marketWsBase: string;
  readonly restBase: string;
}

/**
 * Environment for `harvestd run` against `exchange`, with every data folder under `dir`
 * (`raw`, `preview`, `ndjson`, `artifacts`) and the HTTP server on `port`. `extra` overrides.
 */
export function collectorEnv(exchange: ExchangeEndpoints, symbols: readonly string[], dir: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SYMBOLS: symbols.join(","),
    BINANCE_PUBLIC_WS: exchange.publicWsBase,
    BINANCE_MARKET_WS: exchange.marketWsBase,
    BINANCE_REST: exchange.restBase,
    OUTPUT_DIR: join(dir, "raw"),
    PREVIEW_DIR: join(dir, "preview"),
    NDJSON_DIR: join(dir, "ndjson"),
    ARTIFACTS_DIR: join(dir, "artifacts"),
    HTTP_LISTEN: `127.0.0.1:${port}`,
    ...extra,
  };
}
