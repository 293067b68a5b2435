/**
 * /health tells the truth at the edges of a run (issue "Nothing lost across restarts", item 3):
 *
 * - `starting`: until every connection has opened and delivered a frame, 503 — tried as a new user on
 *   a machine without network would: every upgrade refused, and /health never says ok meanwhile;
 * - a stalled writer: the current NDJSON hour file of a busy symbol is a named pipe nobody reads, so
 *   once its buffer is full the write blocks for good (a real stall, no hook): 503 naming the writer
 *   after `health.writer_stall_sec`;
 * - `stopping`: from the first SIGTERM until the process is gone, 503 (here the stuck writer keeps the
 *   shutdown going for shutdown_timeout_sec);
 * - a stalled Parquet writer: the worker is paused by a test-only environment variable (nothing in a
 *   real run can stop it from outside, short of a hung disk): 503 naming it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { waitFor } from "../helpers/binary.ts";
import { blockNdjson } from "../helpers/ndjson.ts";
import { newStore, startRun, type Store } from "./restart-support.ts";

const fakes: FakeExchange[] = [];
afterAll(async () => {
  for (const fx of fakes) await fx.stop().catch(() => {});
});

async function health(store: Store): Promise<{ status: number; reasons: string[] }> {
  const r = await fetch(`http://127.0.0.1:${store.port}/health`);
  const body = (await r.json()) as { reasons: string[] };
  return { status: r.status, reasons: body.reasons };
}

describe("/health", () => {
  test("starting: 503 from the first answer while no connection can open, 200 once every connection delivered", async () => {
    const fx = await startFakeExchange({ symbols: ["SANDUSDT", "NEOUSDT"], speed: 2, recordFrames: false });
    fakes.push(fx);
    fx.rejectUpgrades(1_000_000, 503);
    const store = newStore(fx, ["SANDUSDT", "NEOUSDT"], { WSS_RECONNECT_DELAY: "0.2" });
    const run = startRun(store, ["--set", "feed.reconnect_max_delay_sec=0.5"]);
    const seen: { status: number; reasons: string[] }[] = [];
    await waitFor("the HTTP server", async () => (await health(store).catch(() => undefined)) ?? undefined, 30_000, 100);
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      seen.push(await health(store));
      await Bun.sleep(200);
    }
    expect(seen.every((h) => h.status === 503)).toBe(true);
    expect(seen.at(-1)!.reasons.some((r) => r.startsWith("starting"))).toBe(true);
    fx.rejectUpgrades(0);
    await waitFor("/health 200", async () => ((await health(store)).status === 200 ? true : undefined), 30_000, 200);
    expect((await run.stop("SIGTERM")).exitCode).toBe(0);
  }, 60_000);

  test("a stalled writer turns /health 503 naming it; from the first SIGTERM on it is 503 stopping", async () => {
    const fx = await startFakeExchange({ symbols: ["BTCUSDT", "NEOUSDT"], speed: 4, recordFrames: false });
    fakes.push(fx);
    const store = newStore(fx, ["BTCUSDT", "NEOUSDT"]);
    blockNdjson(store.dir, "BTCUSDT");
    const run = startRun(store, ["--set", "health.writer_stall_sec=2", "--set", "shutdown_timeout_sec=6"]);
    const stalled = await waitFor(
      "/health to name the stalled writer",
      async () => {
        const h = await health(store).catch(() => null);
        return h !== null && h.status === 503 && h.reasons.some((r) => /ndjson writer stalled/.test(r)) ? h : undefined;
      },
      60_000,
      250,
    );
    expect(stalled.reasons.find((r) => /ndjson writer stalled/.test(r))).toMatch(/ndjson writer stalled: \d+ lines pending, no progress for \d+ s/);

    run.proc.kill("SIGTERM");
    // The signal reaches the process asynchronously; from the first answer that says so, every one must.
    await waitFor("/health to say stopping", async () => ((await health(store).catch(() => null))?.reasons[0] === "stopping" ? true : undefined), 5000, 50);
    const during: { status: number; reasons: string[] }[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 3000) {
      const h = await health(store).catch(() => null);
      if (h !== null) during.push(h);
      await Bun.sleep(150);
    }
    expect(during.length).toBeGreaterThan(5);
    for (const h of during) {
      expect(h.status).toBe(503);
      expect(h.reasons[0]).toBe("stopping");
    }
    expect(await run.proc.exited).toBe(1);
  }, 90_000);

  test("a stalled Parquet writer (the test hook HARVESTD_TEST_PAUSE_PARQUET_WRITER) turns /health 503 naming it", async () => {
    const fx = await startFakeExchange({ symbols: ["SANDUSDT", "NEOUSDT"], speed: 4, recordFrames: false });
    fakes.push(fx);
    const store = newStore(fx, ["SANDUSDT", "NEOUSDT"], { HARVESTD_TEST_PAUSE_PARQUET_WRITER: "1" });
    const run = startRun(store, ["--set", "health.writer_stall_sec=2"]);
    const stalled = await waitFor(
      "/health to name the stalled Parquet writer",
      async () => {
        const h = await health(store).catch(() => null);
        return h !== null && h.reasons.some((r) => r.startsWith("parquet writer stalled")) ? h : undefined;
      },
      60_000,
      250,
    );
    expect(stalled.status).toBe(503);
    expect(stalled.reasons.find((r) => r.startsWith("parquet writer stalled"))).toMatch(/^parquet writer stalled: \d+ batches \(\d+ rows\) pending, no progress for \d+ s$/);
    run.proc.kill("SIGKILL");
    await run.proc.exited;
  }, 90_000);
});
