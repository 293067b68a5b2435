/**
 * The NATS publisher's /health reasons age an outage on the monotonic clock: a wall clock stepped
 * forward (NTP, a resumed VPS) must not make a fresh disconnection look long (docs/feed.md, "When
 * the clock steps"). The publisher here points at a port where nothing listens, so it never connects,
 * and the reason names that address and what is wrong with it.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { NatsParamsSchema } from "../../src/sinks/nats/params.ts";
import { NatsPublisher } from "../../src/sinks/nats/publisher.ts";
import { freePort, tempDir } from "../helpers/binary.ts";

const dir = tempDir("nats-health");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("an outage is aged on the monotonic clock, not the wall clock passed in", async () => {
  const port = freePort();
  const params = NatsParamsSchema.parse({ enable: true, servers: [`nats://127.0.0.1:${port}`], stream: "HEALTH", subject_prefix: "health", discover_servers: false });
  const pub = new NatsPublisher({ params, exchange: "binance", ndjsonDir: join(dir, "ndjson"), flushLog: async () => {}, stateFile: join(dir, "state.json"), log: { log() {}, limited() {} } });
  const realNow = performance.now.bind(performance);
  try {
    expect((await pub.start(300)).ok).toBe(true);
    // The wall clock 45 s ahead of where it was a moment ago: not an outage of 45 s.
    expect(pub.healthReasons(Date.now() + 45_000)).toEqual([]);
    // 11 s of monotonic time later, the same outage is one.
    const shifted = realNow() + 11_000;
    performance.now = () => shifted;
    const reasons = pub.healthReasons(Date.now());
    expect(reasons).toContainEqual(expect.stringMatching(new RegExp(`^nats: not connected for 1[01] s: nats://127\\.0\\.0\\.1:${port}: connection refused \\(nothing listens on port ${port}\\) \\(records kept in the NDJSON log\\)$`)));
  } finally {
    performance.now = realNow;
    await pub.close();
  }
});
