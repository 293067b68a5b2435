/**
 * A custom indicator too slow for the feed (docs/indicators-custom.md, "Cost"): every symbol runs on
 * the one ingest thread, so a handler that takes most of it holds back every symbol's frames. The
 * compiled binary must say so where the operator looks: /health fails naming the indicator and its
 * share of the thread, and the log gets the `unhealthy` line with that reason.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";

const SLOW = `// Busy three times as long as the thread was free since the last call (of any symbol's instance):
// about 75 % of the thread whatever the feed's rate, without a backlog that would slow the stop.
let idleSince = performance.now();
export default {
  name: "slow_book",
  columns: { n: "int64" },
  create() {
    return {
      onBook(b) {
        const t = performance.now();
        const until = t + Math.min(3 * (t - idleSince), 50);
        while (performance.now() < until) {}
        idleSince = performance.now();
      },
    };
  },
};
`;

let fake: FakeExchange;
let run: RunResult;
let health: { status: number; body: { ok: boolean; reasons: string[] } } | undefined;

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: ["BTCUSDT", "ETHUSDT"], speed: 5, recordFrames: false });
  const dir = tempDir("ind-slow");
  mkdirSync(join(dir, "indicators"));
  writeFileSync(join(dir, "indicators", "slow.ts"), SLOW);
  const config = join(dir, "config.toml");
  writeFileSync(config, `[storage]\nwrite_parquet = false\n\n[[indicators.custom]]\nmodule = "indicators/slow.ts"\n`);
  const port = freePort();
  const proc = startBinary(["run", "--config", config], collectorEnv(fake, ["BTCUSDT", "ETHUSDT"], dir, port));
  try {
    health = await waitFor(
      "/health names the slow indicator",
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        if (r === undefined) return undefined;
        const body = (await r.json()) as { ok: boolean; reasons: string[] };
        return body.reasons.some((x) => x.includes("slow_book")) ? { status: r.status, body } : undefined;
      },
      40_000,
      500,
    );
    // The next look of the health log (every 5 s) writes the line.
    await Bun.sleep(5500);
  } finally {
    run = await proc.stop("SIGTERM");
  }
}, 70_000);

afterAll(async () => {
  await fake?.stop();
});

test("/health fails naming the indicator and its share of the ingest thread", () => {
  expect(health!.status).toBe(503);
  const reason = health!.body.reasons.find((x) => x.includes("slow_book"))!;
  expect(reason).toMatch(/^custom indicator slow_book takes \d+ % of the ingest thread \(\d+\.\d\d ms a call\): every symbol's frames wait for it$/);
  expect(Number(/takes (\d+) %/.exec(reason)![1])).toBeGreaterThanOrEqual(50);
});

test("the log's unhealthy line carries the reason; the run stops cleanly", () => {
  expect(run.exitCode).toBe(0);
  const lines = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);
  const unhealthy = lines.filter((l) => l.msg === "unhealthy");
  expect(unhealthy.some((l) => JSON.stringify(l.reasons).includes("custom indicator slow_book takes"))).toBe(true);
});
