/**
 * ClockCheck (src/exchange/binance/clock-check.ts) against a local REST server whose /fapi/v1/time
 * runs ahead of or behind this process's clock by what the test sets: the offset measured, a clock
 * off by more than a second said once and its return said once, an offset the round trip leaves
 * uncertain not said, an answer that is not a time kept out of the figure.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { CLOCK_WARN_MS, ClockCheck } from "../../src/exchange/binance/clock-check.ts";
import { IpLimits } from "../../src/exchange/binance/ip-limits.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";
import type { Logger } from "../../src/util/log.ts";
import { waitFor } from "../helpers/binary.ts";

/** The exchange's clock minus ours, and how long it takes to answer. */
let aheadMs = 0;
let delayMs = 0;
let body: string | null = null;
let served = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    if (new URL(req.url).pathname !== "/fapi/v1/time") return new Response("no", { status: 404 });
    // The exchange stamps its time halfway through the round trip.
    await Bun.sleep(delayMs / 2);
    const text = body ?? JSON.stringify({ serverTime: Date.now() + aheadMs });
    await Bun.sleep(delayMs / 2);
    served++;
    return new Response(text, { headers: { "content-type": "application/json" } });
  },
});
const started: ClockCheck[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.stop();
  aheadMs = delayMs = 0;
  body = null;
});
afterAll(() => server.stop(true));

function logger(): Logger & { lines: { level: string; msg: string; fields?: Readonly<Record<string, unknown>> }[] } {
  const lines: { level: string; msg: string; fields?: Readonly<Record<string, unknown>> }[] = [];
  return { lines, log: (level, msg, fields) => lines.push({ level, msg, fields }), limited: (_k, level, msg, fields) => lines.push({ level, msg, fields }) };
}

/** A check every 100 ms, on a client with limits of its own. */
function start(log: Logger): ClockCheck {
  const c = new ClockCheck(new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 2400 }, new IpLimits()), log, 100);
  started.push(c);
  c.start();
  return c;
}

async function answers(n: number): Promise<void> {
  const until = served + n;
  await waitFor(`${n} more answers`, () => (served >= until ? true : undefined), 5000, 10);
  await Bun.sleep(20);
}

test("a clock that agrees: offset near 0, nothing said", async () => {
  const log = logger();
  const c = start(log);
  await answers(2);
  expect(Math.abs(c.offsetMs!)).toBeLessThan(50);
  expect(log.lines).toEqual([]);
});

test("the exchange 3 s behind (our clock ahead): +3000 ms, said once; back in step: said once more", async () => {
  const log = logger();
  aheadMs = -3000;
  const c = start(log);
  await answers(3);
  expect(c.offsetMs!).toBeGreaterThan(2950);
  expect(c.offsetMs!).toBeLessThan(3050);
  expect(log.lines.map((l) => [l.level, l.fields?.ahead])).toEqual([["warn", true]]);
  expect(log.lines[0]!.msg).toContain("local clock differs from the exchange's");
  aheadMs = 0;
  await answers(2);
  expect(Math.abs(c.offsetMs!)).toBeLessThan(50);
  expect(log.lines.map((l) => [l.level, l.msg])).toEqual([
    ["warn", log.lines[0]!.msg],
    ["info", "the local clock agrees with the exchange's again"],
  ]);
});

test("our clock behind by 2 s: -2000 ms and ahead = false", async () => {
  const log = logger();
  aheadMs = 2000;
  const c = start(log);
  await answers(1);
  expect(c.offsetMs!).toBeLessThan(-1950);
  expect(log.lines.map((l) => [l.level, l.fields?.ahead])).toEqual([["warn", false]]);
});

test("an offset within what the round trip leaves uncertain is measured but not said", async () => {
  const log = logger();
  // 1.2 s off, but a 1 s round trip leaves ±0.5 s: not certainly past CLOCK_WARN_MS.
  aheadMs = -(CLOCK_WARN_MS + 200);
  delayMs = 1000;
  const c = start(log);
  await answers(1);
  expect(Math.abs(c.offsetMs! - (CLOCK_WARN_MS + 200))).toBeLessThan(150);
  expect(log.lines).toEqual([]);
});

test("an answer that is not a time: one warning, the figure left as it was", async () => {
  const log = logger();
  body = '{"code":0}';
  const c = start(log);
  await answers(2);
  expect(c.offsetMs).toBeNull();
  expect(log.lines.length).toBeGreaterThan(0);
  expect(log.lines.every((l) => l.level === "warn" && l.msg.includes("not a time"))).toBe(true);
});
