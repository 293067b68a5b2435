// The live snapshot fetcher against the fake exchange's REST, through the real RestClient: one request
// in flight per symbol, at most one a second, failures delivered and backed off, weight 20 at 1000.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SnapshotFetcher, type SnapshotAnswer } from "../../src/exchange/binance/depth/snapshot-fetcher.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";

let fx: FakeExchange;
beforeAll(async () => {
  fx = await startFakeExchange({ symbols: ["KSMUSDT"], diffDepth: true, recordFrames: false });
});
afterAll(async () => {
  await fx.stop();
});

describe("snapshot fetcher", () => {
  test("dedups, spaces requests, delivers failures and backs off", async () => {
    let now = 1_000_000;
    const answers: SnapshotAnswer[] = [];
    const rest = new RestClient({ baseUrl: fx.restBase, weightBudget1m: 2400 });
    const f = new SnapshotFetcher(rest, 1000, (_s, a) => answers.push(a), () => now);
    const depthRequests = () => fx.restRequests().filter((r) => r.path === "/fapi/v1/depth");
    f.request("KSMUSDT");
    f.request("KSMUSDT"); // in flight: ignored
    await Bun.sleep(300);
    expect(answers.length).toBe(1);
    expect(answers[0]!.ok).toBe(true);
    expect(depthRequests().map((r) => [r.query, r.weight])).toEqual([["?symbol=KSMUSDT&limit=1000", 20]]);
    f.request("KSMUSDT"); // within a second of the last answer: ignored
    await Bun.sleep(100);
    expect(depthRequests().length).toBe(1);
    now += 1001;
    fx.rejectDepth(1, 500);
    f.request("KSMUSDT");
    await Bun.sleep(300);
    expect(answers.length).toBe(2);
    expect(answers[1]).toMatchObject({ ok: false, status: 500 });
    f.request("KSMUSDT"); // backing off after the failure
    await Bun.sleep(100);
    expect(depthRequests().length).toBe(2);
    now += 1001;
    f.request("KSMUSDT");
    await Bun.sleep(300);
    expect(answers.length).toBe(3);
    expect(answers[2]!.ok).toBe(true);
    expect(f.counters).toEqual({ requests: 3, failures: 1 });
    f.stop();
    rest.close();
  });
});
