// NatsKvLease against a real nats-server: one holder at a time, renewals, release, lapse after the
// TTL, an answer lost on the way, and a bucket whose TTL differs from the configured one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { NatsKvLease } from "../../src/sinks/nats/kv-lease.ts";
import { natsServerAvailable, startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";

let nats: NatsCluster;
let bucketNo = 0;

beforeAll(async () => {
  if (natsServerAvailable()) nats = await startNatsCluster({ size: 1 });
});
afterAll(async () => {
  await nats?.stop();
});

function lease(me: string, bucket: string, ttlMs = 2000): NatsKvLease {
  return new NatsKvLease({ servers: [...nats.servers], maxReconnectAttempts: -1, reconnectTimeWait: 200 }, { bucket, key: "account_test", me, ttlMs, replicas: 1, requestTimeoutMs: 1000 });
}

/** The first answer after the bucket is open (the first calls only start opening it). */
async function answer(l: NatsKvLease): Promise<Awaited<ReturnType<NatsKvLease["hold"]>>> {
  for (let i = 0; i < 100; i++) {
    const a = await l.hold();
    if (a.held || a.holder !== null || (a.error !== null && !/connecting/.test(a.error))) return a;
    await Bun.sleep(50);
  }
  throw new Error("the lease's bucket never opened");
}

describe.skipIf(!natsServerAvailable())("NatsKvLease", () => {
  test("one holder at a time; it renews; released, the other takes it; unrenewed, it lapses after the TTL", async () => {
    const bucket = `lease_test_${++bucketNo}`;
    const a = lease("a-1", bucket);
    const b = lease("b-1", bucket);
    try {
      expect(await answer(a)).toEqual({ held: true });
      expect(await answer(b)).toEqual({ held: false, holder: "a-1", error: null });
      // Renewals keep it past the TTL.
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(500);
        expect(await a.hold()).toEqual({ held: true });
        expect(await b.hold()).toEqual({ held: false, holder: "a-1", error: null });
      }
      await a.release();
      expect(await b.hold()).toEqual({ held: true });
      expect(await a.hold()).toEqual({ held: false, holder: "b-1", error: null });
      // b stops renewing: a gets it once the TTL has passed, not before.
      const lastRenewal = Date.now();
      await Bun.sleep(1000);
      expect((await a.hold()).held).toBe(false);
      const took = await (async () => {
        for (;;) {
          if ((await a.hold()).held) return Date.now();
          await Bun.sleep(100);
        }
      })();
      expect(took - lastRenewal).toBeGreaterThanOrEqual(1900);
      expect(took - lastRenewal).toBeLessThan(6000);
      // b's next renewal finds it taken.
      expect(await b.hold()).toEqual({ held: false, holder: "a-1", error: null });
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);

  test("a renewal whose answer was lost is recognised as its own write", async () => {
    const bucket = `lease_test_${++bucketNo}`;
    const a = lease("a-2", bucket);
    try {
      expect(await answer(a)).toEqual({ held: true });
      // The revision this process knows is stale (as after a lost answer): the key still names it.
      (a as unknown as { revision: number }).revision = 999_999;
      expect(await a.hold()).toEqual({ held: true });
      expect(await a.hold()).toEqual({ held: true });
    } finally {
      await a.close();
    }
  }, 30_000);

  test("a bucket whose TTL differs from the configured one is refused, naming both", async () => {
    const bucket = `lease_test_${++bucketNo}`;
    const first = lease("a-3", bucket, 2000);
    expect(await answer(first)).toEqual({ held: true });
    await first.close();
    const other = lease("b-3", bucket, 5000);
    try {
      const a = await answer(other);
      expect(a.held).toBe(false);
      expect(a.held ? "" : a.error).toContain(`NATS bucket ${bucket} lapses leases after 2 s, trade.lease_ttl_sec says 5`);
    } finally {
      await other.close();
    }
  }, 30_000);

  test("NATS unreachable: not held, says so, and close does not hang", async () => {
    const l = new NatsKvLease({ servers: ["nats://127.0.0.1:1"], maxReconnectAttempts: -1, reconnectTimeWait: 200, waitOnFirstConnect: true }, { bucket: "x", key: "k", me: "m", ttlMs: 2000, replicas: 1, requestTimeoutMs: 500 });
    const a = await l.hold();
    expect(a.held).toBe(false);
    const t0 = Date.now();
    await l.close();
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
