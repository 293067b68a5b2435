/**
 * Issue "Operator surface", running as a service: SIGTERM flushes and exits 0; a flush that cannot
 * finish is cut off after shutdown_timeout_sec (or at once by a second signal) with exit 1 and a log
 * line saying what was still pending, instead of hanging until systemd's SIGKILL.
 *
 * A flush that cannot finish is made real, not mocked: the current hour's NDJSON file of a busy
 * symbol is a named pipe nobody reads; once the pipe's buffer is full, writing to it blocks for ever.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../helpers/binary.ts";
import { blockNdjson } from "../helpers/ndjson.ts";
import { startCollector, waitForHealth, type CollectorUnderTest } from "./http-support.ts";

const SYMBOLS = ["SANDUSDT", "NEOUSDT"];

/** A collector whose BTCUSDT raw log stops being written once the pipe's buffer is full. */
async function startBlocked(shutdownTimeoutSec: number): Promise<CollectorUnderTest> {
  const c = await startCollector({
    symbols: ["BTCUSDT", "NEOUSDT"],
    fake: { speed: 4 },
    args: ["--set", `shutdown_timeout_sec=${shutdownTimeoutSec}`],
    prepare: (dir) => blockNdjson(dir, "BTCUSDT"),
  });
  await waitForHealth(c, 200);
  // Stuck: lines pile up behind the blocked write.
  await waitFor("NDJSON lines to pile up", async () => {
    const s = (await (await c.get("/api/status")).json()) as { ndjson: { pendingLines: number } };
    return s.ndjson.pendingLines > 300 ? true : undefined;
  }, 60_000, 250);
  return c;
}

const logLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function runLog(c: CollectorUnderTest): string {
  const d = join(c.dir, "artifacts", "run_logs");
  return existsSync(d) ? readdirSync(d).map((f) => readFileSync(join(d, f), "utf8")).join("") : "";
}

function ndjsonBytes(c: CollectorUnderTest, symbol: string): number {
  const root = join(c.dir, "ndjson");
  let n = 0;
  for (const date of readdirSync(root)) {
    const folder = join(root, date, `symbol=${symbol}`);
    if (!existsSync(folder)) continue;
    for (const f of readdirSync(folder)) {
      const st = statSync(join(folder, f));
      if (st.isFile()) n += st.size;
    }
  }
  return n;
}

describe("shutdown", () => {
  test("SIGTERM: everything is flushed and the process exits 0, well within the time limit", async () => {
    const c = await startCollector({ symbols: SYMBOLS });
    await waitForHealth(c, 200);
    await Bun.sleep(2000);
    const t0 = Date.now();
    const r = await c.stop();
    const tookMs = Date.now() - t0;
    expect(r.exitCode).toBe(0);
    const msgs = logLines(r.stderr);
    expect(msgs.find((l) => l.msg === "stopping")).toMatchObject({ reason: "SIGTERM", shutdown_timeout_sec: 30 });
    expect(msgs.at(-1)).toMatchObject({ msg: "stopped", rowsLost: 0 });
    expect(tookMs).toBeLessThan(30_000);
    console.log(`graceful SIGTERM shutdown took ${tookMs} ms`);
  }, 90_000);

  test("a flush that cannot finish: exit 1 after shutdown_timeout_sec, logging what was pending", async () => {
    const c = await startBlocked(2);
    const t0 = Date.now();
    const r = await c.stop();
    const tookMs = Date.now() - t0;
    expect(r.exitCode).toBe(1);
    expect(tookMs).toBeGreaterThanOrEqual(2000);
    expect(tookMs).toBeLessThan(15_000);
    const last = logLines(r.stderr).at(-1)!;
    expect(last).toMatchObject({ level: "error", msg: "shutdown incomplete: exiting without waiting further", why: "flush exceeded shutdown_timeout_sec=2" });
    expect(last.ndjsonPendingLines as number).toBeGreaterThan(0);
    // The other symbol's raw log was written all along.
    expect(ndjsonBytes(c, "NEOUSDT")).toBeGreaterThan(0);
  }, 90_000);

  test("a clean stop is not taken for a crash at the next start (the page spool's staging folder it leaves is empty)", async () => {
    // 60 s rotations: chunks go to the writer ahead of their batch and its pages wait in the spool.
    const env = { PARQUET_ROTATE_SEC: "60", ORDERBOOK_ROTATE_SEC: "60" };
    const first = await startCollector({ symbols: SYMBOLS, fake: { speed: 8 }, env });
    await waitForHealth(first, 200);
    await waitFor("the page spool in use", () => (existsSync(join(first.dir, "raw", ".harvestd-staging")) ? true : undefined), 30_000, 200);
    const r1 = await first.stop();
    expect(r1.exitCode).toBe(0);
    const second = await startCollector({ symbols: SYMBOLS, fake: { speed: 8 }, env, dir: first.dir });
    await waitForHealth(second, 200);
    const r2 = await second.stop();
    expect(r2.exitCode).toBe(0);
    const msgs = logLines(r2.stderr).map((l) => l.msg);
    expect(msgs).not.toContain("removed leftovers of an interrupted run (their data is in the NDJSON raw log)");
    expect(msgs.some((m) => typeof m === "string" && m.startsWith("previous run was interrupted"))).toBe(false);
  }, 90_000);

  test("one request delivered twice (two SIGINTs 5 ms apart, as GNU `timeout` delivers it: to the process, then its group): flushed, exit 0", async () => {
    const c = await startCollector({ symbols: SYMBOLS, fake: { speed: 8 } });
    await waitForHealth(c, 200);
    await Bun.sleep(1500);
    c.run.proc.kill("SIGINT");
    await Bun.sleep(5);
    const r = await c.run.stop("SIGINT");
    await c.fake.stop();
    expect(r.exitCode).toBe(0);
    const msgs = logLines(r.stderr);
    expect(msgs.filter((l) => l.msg === "stopping")).toEqual([expect.objectContaining({ reason: "SIGINT" })]);
    expect(msgs.some((l) => l.msg === "shutdown incomplete: exiting without waiting further")).toBe(false);
    expect(msgs.at(-1)).toMatchObject({ msg: "stopped", rowsLost: 0 });
  }, 90_000);

  test("a second SIGTERM during a stuck flush exits 1 at once", async () => {
    const c = await startBlocked(120);
    c.run.proc.kill("SIGTERM");
    await waitFor("the first SIGTERM to be taken", () => (runLog(c).includes('"msg":"stopping"') ? true : undefined), 20_000, 100);
    // Past the second in which a repeat counts as the same request (cli/run.ts SAME_REQUEST_MS).
    await Bun.sleep(1500);
    const t0 = Date.now();
    const r = await c.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.exitCode).toBe(1);
    expect(logLines(r.stderr).at(-1)).toMatchObject({ msg: "shutdown incomplete: exiting without waiting further", why: "second SIGTERM during shutdown" });
  }, 90_000);
});
