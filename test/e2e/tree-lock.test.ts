// One harvestd per data tree: a second `run` on the folders of a running one exits 75 naming it,
// before touching anything (it used to take the running one's marker for a crashed run's and delete
// and rebuild its Parquet parts); a clean stop removes the locks; after a SIGKILL the next start takes
// the stale lock over and recovers as before.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, runBinary, startBinary, tempDir, waitFor } from "../helpers/binary.ts";

const SYMBOLS = ["BTCUSDT"];
let fx: FakeExchange;

beforeAll(async () => {
  fx = await startFakeExchange({ symbols: SYMBOLS, speed: 3, recordFrames: false });
});
afterAll(async () => {
  await fx.stop();
});

/** Every file under `dir` with its size and modification time: what a second start must not touch. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (p.endsWith(".parquet")) out.set(p, `${st.size}:${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

test("a second run on the same folders exits 75 naming the first and touches nothing; SIGTERM frees them; after SIGKILL the lock is taken over", async () => {
  const dir = tempDir("tree-lock");
  const env = (port: number) => collectorEnv(fx, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "1" });
  const first = startBinary(["run"], env(freePort()));
  try {
    await waitFor("the first run's Parquet parts", () => (snapshot(dir).size >= 3 ? true : undefined), 30_000, 200);
    const before = snapshot(dir);
    const second = await runBinary(["run"], env(freePort()));
    expect(second.exitCode).toBe(75);
    expect(second.stderr).toContain(`is in use by harvestd run (pid ${first.proc.pid} on `);
    expect(second.stderr).toContain(".harvestd.lock");
    expect(second.stderr).not.toContain("interrupted");
    // Every part the first had written is still there, unchanged (the first keeps adding its own).
    const after = snapshot(dir);
    for (const [p, v] of before) expect(after.get(p)).toBe(v);
  } finally {
    const r = await first.stop("SIGTERM");
    expect(r.exitCode).toBe(0);
  }
  for (const sub of ["ndjson", "raw", "preview", "artifacts"]) expect(existsSync(join(dir, sub, ".harvestd.lock"))).toBe(false);

  // A killed run leaves its locks; the next start finds their process gone and takes them over.
  const killed = startBinary(["run"], env(freePort()));
  await waitFor("the run's lock", () => (existsSync(join(dir, "ndjson", ".harvestd.lock")) ? true : undefined), 20_000, 100);
  await Bun.sleep(2000);
  killed.proc.kill("SIGKILL");
  await killed.proc.exited;
  expect(existsSync(join(dir, "ndjson", ".harvestd.lock"))).toBe(true);
  const next = startBinary(["run"], env(freePort()));
  const r = await (async () => {
    const lockPid = (): number | undefined => {
      try {
        return (JSON.parse(readFileSync(join(dir, "ndjson", ".harvestd.lock"), "utf8")) as { pid: number }).pid;
      } catch {
        return undefined;
      }
    };
    await waitFor("the next run to take the stale lock", () => (lockPid() === next.proc.pid ? true : undefined), 20_000, 100);
    await Bun.sleep(3000);
    return next.stop("SIGTERM");
  })();
  expect(r.exitCode).toBe(0);
  expect(r.stdout + r.stderr).toContain("previous run was interrupted");
}, 120_000);
