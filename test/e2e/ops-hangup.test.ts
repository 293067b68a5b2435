/**
 * The terminal goes away: a user started the binary in an SSH session (README, "Download, verify, run") and
 * the connection dropped. The kernel hangs up the terminal and sends SIGHUP, whose default ends a
 * process at once, losing what was not yet flushed. harvestd stops the clean way instead (docs/
 * operations.md, "Stopping"), even though its stderr now goes nowhere and the hang-up may come twice.
 *
 * The terminal is real: util-linux's `script` runs the binary on a pseudo-terminal, and killing
 * `script` closes its side, as sshd dying would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, ensureBinary, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { aggTradeIdsInParquet, apiStatus, layout } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const SCRIPT = Bun.which("script");
if (SCRIPT === null && process.env.CI === undefined) console.warn("ops-hangup: skipped, util-linux `script` not installed (apt-get install bsdutils)");

/** The pid of the binary serving `port` (found by its environment: `script` started it, not us). */
function binaryPid(binary: string, port: number): number | undefined {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv0 = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0")[0];
      if (argv0 !== binary) continue;
      if (readFileSync(`/proc/${name}/environ`, "utf8").split("\0").includes(`HTTP_LISTEN=127.0.0.1:${port}`)) return Number(name);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return undefined;
}

const alive = (pid: number): boolean => {
  try {
    // State Z: exited, waiting for a parent that no longer exists to reap it.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

(SCRIPT !== null || process.env.CI !== undefined ? describe : describe.skip)("the terminal the binary runs in closes", () => {
  let fake: FakeExchange;
  let dir: string;
  let lines: { msg: string; reason?: string; rowsLost?: number }[];

  beforeAll(async () => {
    fake = await startFakeExchange({ symbols: SYMBOLS, speed: 4, recordFrames: false });
    dir = tempDir("ops-hangup");
    const port = freePort();
    const binary = ensureBinary();
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...collectorEnv(fake, SYMBOLS, dir, port) };
    // -q: no banner; -f: flush; -e: script's exit is the command's; -c: the command, on the pty. The
    // shell stays (not `exec`), as a login shell would: the binary is hung up by the terminal, then
    // again when the shell, the terminal's session leader, ends.
    const term = Bun.spawn([SCRIPT ?? "script", "-qfec", `${binary} run --config ${join(REPO, "config.toml")}; echo "exit $?"`, "/dev/null"], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    // The terminal's output is read, as a terminal would, so the binary never blocks on it.
    void new Response(term.stdout).text();
    void new Response(term.stderr).text();
    try {
      await waitFor("frames flowing", async () => ((await apiStatus(port).catch(() => undefined))?.totals?.frames > 500 ? true : undefined), 20_000, 100);
      const pid = await waitFor("the binary's pid", () => binaryPid(binary, port), 5000, 50);
      // The terminal's side closes without a word (sshd killed, the network gone).
      term.kill("SIGKILL");
      await term.exited;
      await waitFor("the binary gone", () => (alive(pid) ? undefined : true), 30_000, 100);
    } finally {
      term.kill("SIGKILL");
    }
    const logDir = join(dir, "artifacts", "run_logs");
    lines = readdirSync(logDir)
      .flatMap((f) => readFileSync(join(logDir, f), "utf8").split("\n"))
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
  }, 60_000);

  afterAll(async () => {
    await fake?.stop();
  });

  test("it stops the clean way, saying why, though nobody reads its stderr any more", () => {
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain("stopping");
    expect(lines.find((l) => l.msg === "stopping")!.reason).toStartWith("SIGHUP (the terminal it ran in closed");
    expect(msgs).not.toContain("shutdown incomplete: exiting without waiting further");
    expect(lines.at(-1)!.msg).toBe("stopped");
    expect(lines.at(-1)!.rowsLost).toBe(0);
  });

  test("everything it logged is in the Parquet store, every trade id once", async () => {
    for (const r of await aggTradeIdsInParquet(layout(dir), SYMBOLS)) {
      expect(r.logged.length).toBeGreaterThan(50);
      expect(r.ids).toEqual(r.logged);
      expect(r.logged.at(-1)! - r.logged[0]! + 1).toBe(r.logged.length);
    }
  });
});

describe("a hang-up that comes twice", () => {
  let fake: FakeExchange;
  let result: RunResult;
  let signal: unknown;
  let dir: string;

  beforeAll(async () => {
    fake = await startFakeExchange({ symbols: SYMBOLS, speed: 4, recordFrames: false });
    dir = tempDir("ops-hangup-twice");
    const port = freePort();
    const bin = startBinary(["run", "--config", join(REPO, "config.toml")], collectorEnv(fake, SYMBOLS, dir, port));
    try {
      await waitFor("frames flowing", async () => ((await apiStatus(port).catch(() => undefined))?.totals?.frames > 500 ? true : undefined), 20_000, 100);
      // A second one while the first one's flush runs: ignored (not the operator's "give up", and not the default action).
      bin.proc.kill("SIGHUP");
      await Bun.sleep(5);
      result = await bin.stop("SIGHUP");
      signal = bin.proc.signalCode;
    } finally {
      if (bin.proc.exitCode === null) bin.proc.kill("SIGKILL");
    }
  }, 60_000);

  afterAll(async () => {
    await fake?.stop();
  });

  test("the flush finishes: exit 0, the last line says stopped, every logged trade in Parquet", async () => {
    expect(signal).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.stderr).not.toContain("shutdown incomplete");
    expect(result.stderr.trim().split("\n").at(-1)).toContain('"msg":"stopped"');
    for (const r of await aggTradeIdsInParquet(layout(dir), SYMBOLS)) expect(r.ids).toEqual(r.logged);
  });
});
