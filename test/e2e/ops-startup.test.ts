/**
 * Start-up REST calls survive throttling (issue "Nothing lost across restarts", item 2): `SYMBOLS=ALL`
 * needs exchangeInfo, and the fake exchange answers its first requests with 429 and 418 carrying
 * Retry-After. The compiled binary waits as told, retries, and collects every listed symbol; the
 * retries are logged. An exchange that never answers well ends start-up after
 * `feed.startup_rest_deadline_sec` with one line naming the URL and the last answer, exit 1.
 */
import { afterAll, expect, test } from "bun:test";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { runBinary } from "../helpers/binary.ts";
import { newStore, startRun, tradeLines, waitForTrades } from "./restart-support.ts";

const SYMBOLS = ["SANDUSDT", "NEOUSDT"];
const fakes: FakeExchange[] = [];
afterAll(async () => {
  for (const fx of fakes) await fx.stop().catch(() => {});
});

test("429s on exchangeInfo: Retry-After honoured, then every symbol collected", async () => {
  const fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, recordFrames: false, exchangeInfoServedOnly: true });
  fakes.push(fx);
  fx.rejectRest(2, 429, 1);
  const store = newStore(fx, SYMBOLS, { SYMBOLS: "ALL" });
  const t0 = Date.now();
  const run = startRun(store);
  await waitForTrades(store, SYMBOLS, 40_000);
  const r = await run.stop("SIGTERM");
  expect(r.exitCode).toBe(0);
  // The start-up's requests; a listing check 10 s in may follow them (docs/feed.md, "Listings").
  const info = fx.restRequests().filter((q) => q.path === "/fapi/v1/exchangeInfo").slice(0, 3);
  expect(info.map((q) => q.status)).toEqual([429, 429, 200]);
  // Each retry waited at least the Retry-After of 1 s.
  expect(info[1]!.at - info[0]!.at).toBeGreaterThanOrEqual(950);
  expect(info[2]!.at - info[1]!.at).toBeGreaterThanOrEqual(950);
  expect(info[0]!.at).toBeGreaterThanOrEqual(t0);
  const retries = r.stderr.split("\n").filter((l) => l.includes('"msg":"exchangeInfo request failed, retrying"'));
  expect(retries.length).toBe(2);
  expect(retries[0]).toContain("HTTP 429");
  for (const s of SYMBOLS) expect(tradeLines(store, s).length).toBeGreaterThan(0);
}, 60_000);

test("an exchange that keeps refusing: exit 1 after the start-up deadline, one line saying why", async () => {
  const fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, recordFrames: false, exchangeInfoServedOnly: true });
  fakes.push(fx);
  fx.rejectRest(1_000_000, 418, 1);
  const store = newStore(fx, SYMBOLS, { SYMBOLS: "ALL" });
  const t0 = Date.now();
  const r = await runBinary(["run", "--set", "feed.startup_rest_deadline_sec=4"], store.env);
  const took = Date.now() - t0;
  expect(r.exitCode).toBe(1);
  expect(took).toBeLessThan(15_000);
  // It gives up as soon as the next (jittered, doubling) wait would end past the 4 s deadline: after
  // the third attempt at ≈ 2 s, or a fourth at ≈ 3.5 s; never before two waits of at least 1 s.
  expect(took).toBeGreaterThanOrEqual(1900);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("harvestd:"));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(/^harvestd: cannot resolve symbols=ALL from http:\/\/127\.0\.0\.1:\d+: GET http:\/\/127\.0\.0\.1:\d+\/fapi\/v1\/exchangeInfo failed: HTTP 418 \(IP banned\)/);
  expect(fx.restRequests().filter((q) => q.path === "/fapi/v1/exchangeInfo").length).toBeGreaterThanOrEqual(3);
}, 60_000);
