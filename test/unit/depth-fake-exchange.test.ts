// The fake exchange's diff-depth stream and REST book (test/fake-exchange/diff-depth.ts), read by the
// collector's own DepthSync over a real socket: the pu chain holds across loop wraps, and the client's
// book equals the exchange's own after every diff; REST faults (stale, rejected) behave as documented.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DepthSync } from "../../src/exchange/binance/depth/depth-sync.ts";
import { parseSnapshot } from "../../src/exchange/binance/depth/snapshot.ts";
import { parseDepth } from "../../src/exchange/binance/frame-parser.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";

let fx: FakeExchange;
beforeAll(async () => {
  // KSMUSDT: a 30 s recording, so at speed 10 a wrap comes every ~3 s.
  fx = await startFakeExchange({ symbols: ["KSMUSDT"], speed: 10, diffDepth: true, bookHistoryLevels: 50, recordFrames: false });
});
afterAll(async () => {
  await fx.stop();
});

async function snapshot(limit: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`${fx.restBase}/fapi/v1/depth?symbol=KSMUSDT&limit=${limit}`);
  return { status: res.status, body: await res.text() };
}

describe("fake exchange diff depth", () => {
  test("a DepthSync client stays equal to the exchange's book across loop wraps", async () => {
    let wanted = false;
    const sync = new DepthSync("KSMUSDT", { fullLevels: 50, maxLevels: 5000, snapshotEveryMs: 0, refreshBelow: 50 }, { top: () => {}, needSnapshot: () => (wanted = true) }, null);
    const ws = new WebSocket(`${fx.publicWsBase}/stream?streams=ksmusdt@depth@100ms`);
    let compared = 0;
    let lastU = 0;
    let chainBreaks = 0;
    let mismatch: string | null = null;
    ws.onmessage = (m) => {
      const w = JSON.parse(String(m.data)) as { data: Record<string, unknown> };
      const r = parseDepth("KSMUSDT", w.data);
      if (!r.ok || r.event.kind !== "depth") return;
      if (lastU !== 0 && r.event.prevLastId !== lastU) chainBreaks++;
      lastU = r.event.lastId;
      sync.onDiff(r.event, Date.now());
      if (sync.state !== "synced") return;
      const ex = fx.exchangeBookAt("KSMUSDT", r.event.lastId);
      if (ex === undefined) return;
      const n = Math.min(50, sync.view.bids.n, sync.view.asks.n);
      for (let i = 0; i < n; i++) {
        const mine = [sync.view.bids.priceAt(i), sync.view.bids.qtyAt(i), sync.view.asks.priceAt(i), sync.view.asks.qtyAt(i)];
        const theirs = [ex.bids[i]![0], ex.bids[i]![1], ex.asks[i]![0], ex.asks[i]![1]];
        if (mine.join() !== theirs.join()) mismatch ??= `u=${r.event.lastId} level ${i}: ${mine} vs ${theirs}`;
      }
      compared++;
    };
    const deadline = Date.now() + 9000;
    while (Date.now() < deadline) {
      await Bun.sleep(100);
      if (wanted) {
        wanted = false;
        const s = await snapshot(1000);
        const p = parseSnapshot(s.body, 1000);
        sync.onSnapshot(p.ok ? p.snapshot : null, Date.now());
      }
    }
    ws.close();
    expect(mismatch).toBeNull();
    expect(chainBreaks).toBe(0);
    expect(compared).toBeGreaterThan(100);
    expect(sync.counters.resyncsPuBreak + sync.counters.resyncsCrossed + sync.counters.resyncsBadLevel).toBe(0);
  }, 20_000);

  test("depth faults: rejected, stale and delayed answers", async () => {
    fx.rejectDepth(2, 429, 1);
    expect((await snapshot(1000)).status).toBe(429);
    expect((await snapshot(1000)).status).toBe(429);
    // Other REST paths are not affected.
    expect((await fetch(`${fx.restBase}/fapi/v1/time`)).status).toBe(200);
    const fresh = JSON.parse((await snapshot(100)).body) as { lastUpdateId: number };
    fx.staleDepth(1);
    const stale = JSON.parse((await snapshot(100)).body) as { lastUpdateId: number };
    expect(stale.lastUpdateId).toBeLessThan(fresh.lastUpdateId);
    fx.delayDepth(1, 400);
    const t0 = Date.now();
    const delayed = await snapshot(100);
    expect(delayed.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
  });
});
