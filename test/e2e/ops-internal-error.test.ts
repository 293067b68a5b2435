/**
 * An error nothing catches (here a custom indicator's timer that throws; a bug would do the same)
 * must not take the raw-log lines still in memory with the process (docs/operations.md, "Stopping"):
 * the compiled binary logs it, stops as on a signal with everything flushed, and exits 70, so a
 * supervisor restarts it. Every line it counted as written is in the NDJSON files.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { readFileSync } from "node:fs";

const LATE_THROW = `export default {
  name: "late_throw",
  columns: { n: "int64" },
  create() {
    setTimeout(() => {
      throw new Error("late boom");
    }, 4000);
    return { onEnd() {} };
  },
};
`;

let fake: FakeExchange;
let run: RunResult;
let dir: string;

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: ["BTCUSDT"], speed: 5, recordFrames: false });
  dir = tempDir("internal-error");
  mkdirSync(join(dir, "indicators"));
  writeFileSync(join(dir, "indicators", "late-throw.ts"), LATE_THROW);
  const config = join(dir, "config.toml");
  writeFileSync(config, `[storage]\nndjson_compress = "none"\n\n[[indicators.custom]]\nmodule = "indicators/late-throw.ts"\n`);
  const proc = startBinary(["run", "--config", config], collectorEnv(fake, ["BTCUSDT"], dir, freePort()));
  // It stops by itself; the signal is only for a build that does not.
  const exited = await waitFor("the collector stops by itself", () => (proc.proc.exitCode !== null ? true : undefined), 30_000, 200).catch(() => false);
  run = await proc.stop("SIGTERM");
  expect(exited).toBe(true);
}, 60_000);

afterAll(async () => {
  await fake?.stop();
});

test("the error is logged with its place, then the collector stops cleanly and exits 70", () => {
  const lines = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);
  const err = lines.find((l) => l.msg === "internal error: stopping, everything collected is written first");
  expect(err).toBeDefined();
  expect(err!.error).toBe("late boom");
  expect(err!.stack).toContain("late-throw.ts");
  expect(lines.find((l) => l.msg === "stopping")?.reason).toBe("internal error: late boom");
  expect(lines.some((l) => l.msg === "stopped")).toBe(true);
  expect(run.exitCode).toBe(70);
});

test("every line the collector counted as written is in the raw log", () => {
  const stopped = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.msg === "stopped")!;
  const files = listFiles(join(dir, "ndjson"), /raw-\d\d\.ndjson$/);
  const onDisk = files.reduce((n, f) => n + readFileSync(f, "utf8").split("\n").filter((l) => l.length > 0).length, 0);
  expect(stopped.ndjsonLines).toBeGreaterThan(100);
  expect(onDisk).toBe(stopped.ndjsonLines);
});
