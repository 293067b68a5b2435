/**
 * The status's latency figures are the last minute's, not the run's (docs/operations.md, "The status
 * page"): the compiled binary against the fake exchange is stopped (SIGSTOP) for 2 s, so the frames
 * sent meanwhile arrive 0–2 s late; /api/status's p99 rises, then falls back once the slow frames
 * are older than the window, while /metrics' lifetime histogram keeps them. And a connection's
 * last_error is history with its time: it stays, dated, after the connection is open again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../helpers/binary.ts";
import { samples } from "../helpers/metrics.ts";
import { Histogram, LATENCY_BOUNDS_MS } from "../../src/util/histogram.ts";
import { startCollector, waitForHealth, type CollectorUnderTest } from "./http-support.ts";

const SYMBOLS = ["SANDUSDT", "NEOUSDT"];
const SYMBOL = "SANDUSDT";

interface StatusSymbol {
  readonly symbol: string;
  readonly frames: number;
  readonly latency_window_s: number;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  readonly latency_max_ms: number | null;
}
interface StatusConnection {
  readonly id: string;
  readonly route: string;
  readonly state: string;
  readonly reconnects: number;
  readonly last_error: string | null;
  readonly last_error_at_ms: number | null;
  readonly last_error_age_s: number | null;
}
interface Status {
  readonly now_ms: number;
  readonly connections: readonly StatusConnection[];
  readonly symbols: readonly StatusSymbol[];
}

describe("the status's latency window and connection errors", () => {
  let c: CollectorUnderTest;

  beforeAll(async () => {
    c = await startCollector({ symbols: SYMBOLS, fake: { speed: 2 } });
    await waitForHealth(c, 200);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  const status = async (): Promise<Status> => (await (await c.get("/api/status")).json()) as Status;
  const sym = (s: Status): StatusSymbol => s.symbols.find((x) => x.symbol === SYMBOL)!;
  /** Frames of SYMBOL /metrics counts above 1 s of event latency (lifetime). */
  const slowInMetrics = async (): Promise<number> => {
    const m = samples(await (await c.get("/metrics")).text());
    const all = m.get(`harvestd_event_latency_seconds_bucket{symbol="${SYMBOL}",le="+Inf"}`)!;
    const upTo1s = m.get(`harvestd_event_latency_seconds_bucket{symbol="${SYMBOL}",le="1"}`)!;
    return all - upTo1s;
  };
  /** SYMBOL's lifetime event latency p99 from /metrics' buckets, ms (interpolated as the status does). */
  const lifetimeP99 = async (): Promise<number> => {
    const m = samples(await (await c.get("/metrics")).text());
    const h = new Histogram();
    let below = 0;
    LATENCY_BOUNDS_MS.forEach((b, i) => {
      const cum = m.get(`harvestd_event_latency_seconds_bucket{symbol="${SYMBOL}",le="${b / 1000}"}`)!;
      expect(cum).toBeNumber();
      h.counts[i] = cum - below;
      below = cum;
    });
    h.count = m.get(`harvestd_event_latency_seconds_count{symbol="${SYMBOL}"}`)!;
    h.counts[LATENCY_BOUNDS_MS.length] = h.count - below;
    h.min = 0;
    h.max = LATENCY_BOUNDS_MS.at(-1)!;
    return h.quantile(0.99)!;
  };

  test("a 2 s stall raises /api/status's p99, which falls back after the window; /metrics keeps the slow frames", async () => {
    // A few seconds of normal flow first.
    await waitFor("frames flowing", async () => ((sym(await status()).frames ?? 0) > 50 ? true : undefined), 30_000, 250);
    await Bun.sleep(2_000);
    const before = sym(await status());
    expect(before.latency_window_s).toBe(60);
    expect(before.latency_p99_ms).not.toBeNull();
    const baseline = before.latency_p99_ms!;
    expect(baseline).toBeLessThan(500);
    expect(await slowInMetrics()).toBe(0);

    const pid = c.run.proc.pid;
    process.kill(pid, "SIGSTOP");
    const stalledAt = Date.now();
    try {
      await Bun.sleep(2_000);
    } finally {
      process.kill(pid, "SIGCONT");
    }

    // The frames sent during the stall arrive late: the window's p99 and max show it.
    const high = await waitFor("p99 to show the stall", async () => {
      const s = sym(await status());
      return s.latency_p99_ms !== null && s.latency_p99_ms > 700 ? s : undefined;
    }, 10_000, 250);
    expect(high.latency_max_ms!).toBeGreaterThan(1_000);
    const slow = await slowInMetrics();
    expect(slow).toBeGreaterThan(0);

    // Once the stall is older than the window (50–60 s), the p99 is back near where it was.
    const fell = await waitFor("p99 to fall back", async () => {
      const s = sym(await status());
      return s.latency_p99_ms !== null && s.latency_p99_ms < Math.max(300, 3 * baseline) ? { s, afterMs: Date.now() - stalledAt } : undefined;
    }, 100_000, 500);
    expect(fell.afterMs).toBeGreaterThan(45_000);
    // Within the window (60 s), plus the polling's and a busy machine's slack.
    expect(fell.afterMs).toBeLessThan(80_000);
    expect(fell.s.latency_max_ms!).toBeLessThan(1_000);
    // /metrics is the lifetime: the slow frames are still there, and its p99 (≈ 3 % of the frames
    // were late) is still the stall's, far above the status's figure of the same moment.
    expect(await slowInMetrics()).toBeGreaterThanOrEqual(slow);
    const lifetime = await lifetimeP99();
    const now = sym(await status());
    expect(lifetime).toBeGreaterThan(500);
    expect(now.latency_p99_ms!).toBeLessThan(lifetime / 2);
  }, 150_000);

  test("a connection's last error stays after it is open again, with its time and age", async () => {
    const first = await status();
    for (const conn of first.connections) {
      expect(conn.last_error).toBeNull();
      expect(conn.last_error_at_ms).toBeNull();
      expect(conn.last_error_age_s).toBeNull();
    }
    const cutAt = Date.now();
    expect(c.fake.dropConnections("public")).toBeGreaterThan(0);
    const again = await waitFor("the public connection open again", async () => {
      const s = await status();
      const p = s.connections.find((x) => x.route === "public")!;
      return p.state === "open" && p.reconnects > 0 ? { s, p } : undefined;
    }, 30_000, 250);
    expect(again.p.last_error).not.toBeNull();
    expect(again.p.last_error_at_ms!).toBeGreaterThanOrEqual(cutAt - 1_000);
    expect(again.p.last_error_at_ms!).toBeLessThanOrEqual(again.s.now_ms);
    expect(again.p.last_error_age_s).toBeCloseTo((again.s.now_ms - again.p.last_error_at_ms!) / 1000, 3);
    // The other connection never failed.
    const market = again.s.connections.find((x) => x.route === "market")!;
    expect(market.last_error_at_ms).toBeNull();
  }, 60_000);
});
