/**
 * The `lines_lost` control line (core/raw-log.ts, docs/schemas.md "NDJSON raw log lines"): what the
 * NDJSON writer could not keep, told in the log itself. Its text round-trips; no other line is
 * taken for it; the decoder passes over it (it changes no row); and replay of a log holding one
 * warns with the file, line and count and sums the lost lines in its summary, exit 0.
 */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { backfillLine, dataLine, gapLine, linesLostLine, linesLostOf, sessionLine } from "../../src/core/raw-log.ts";
import { BinanceRawLogDecoder } from "../../src/exchange/binance/raw-log-decoder.ts";
import { ndjsonRelPath } from "../../src/sinks/ndjson/ndjson-sink.ts";
import { REPO, tempDir } from "../helpers/binary.ts";

const T0 = Date.UTC(2026, 11, 7, 18, 20);
const LOST = { lines: 1234, fromTs: T0 + 5, toTs: T0 + 25_000, streams: { "btcusdt@depth5@100ms": 1000, "btcusdt@aggTrade": 230 }, control: 4 };
const trade = (id: number) => `{"e":"aggTrade","E":${id},"a":${id},"s":"BTCUSDT","p":"100.5","q":"1","f":${id},"l":${id},"T":${id},"m":false}`;

test("the line: fixed field order, streams sorted by name, and read back exactly", () => {
  const line = linesLostLine(T0 + 30_000, LOST);
  expect(line).toBe(
    `{"ts_recv":${T0 + 30_000},"event":"lines_lost","lines":1234,"from_ts":${T0 + 5},"to_ts":${T0 + 25_000},"streams":{"btcusdt@aggTrade":230,"btcusdt@depth5@100ms":1000},"control":4}`,
  );
  expect(linesLostOf(line)).toEqual(LOST);
  expect(linesLostOf(linesLostLine(T0, { lines: 3, fromTs: T0, toTs: T0, streams: {}, control: 3 }))).toEqual({ lines: 3, fromTs: T0, toTs: T0, streams: {}, control: 3 });
});

test("no other line is taken for one", () => {
  for (const line of [
    dataLine(T0, "btcusdt@aggTrade", 3, 0.01, trade(1)),
    // A payload that merely mentions the event is a data line.
    dataLine(T0, "btcusdt@aggTrade", 3, 0.01, `{"event":"lines_lost","lines":5}`),
    sessionLine(T0, "test"),
    gapLine(T0, "btcusdt@aggTrade", 1, 2),
    backfillLine(T0, "btcusdt@aggTrade", trade(2)),
    `{"ts_recv":${T0},"event":"lines_lost"`,
    `{"ts_recv":${T0},"event":"lines_lost","lines":"many","from_ts":1,"to_ts":2}`,
    "",
  ]) {
    expect(linesLostOf(line)).toBeNull();
  }
});

test("replay's decoder passes over it: no row, no bad line", () => {
  const d = new BinanceRawLogDecoder();
  expect(d.decode(linesLostLine(T0, LOST), "BTCUSDT").type).toBe("skip");
  expect(d.sniffSymbol(linesLostLine(T0, LOST))).toBeNull();
});

test("replay of a log with lines_lost lines warns of each (file, line, count, times, streams) and sums them; exit 0", async () => {
  const dir = tempDir("lines-lost-replay");
  const root = join(dir, "ndjson");
  const path = join(root, ndjsonRelPath("BTCUSDT", T0));
  const lines = [sessionLine(T0, "test")];
  for (let i = 0; i < 20; i++) lines.push(dataLine(T0 + i * 100, "btcusdt@aggTrade", 3, 0.01, trade(100 + i)));
  lines.push(linesLostLine(T0 + 30_000, LOST));
  for (let i = 0; i < 5; i++) lines.push(dataLine(T0 + 31_000 + i, "btcusdt@aggTrade", 3, 0.01, trade(200 + i)));
  lines.push(linesLostLine(T0 + 40_000, { lines: 1, fromTs: T0 + 39_000, toTs: T0 + 39_000, streams: {}, control: 1 }));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines.join("\n") + "\n");

  const out = join(dir, "out");
  const p = Bun.spawn([process.execPath, join(REPO, "src/cli/main.ts"), "replay", root, "--out", out, "--config", join(REPO, "config.toml")], {
    cwd: REPO,
    env: { ...process.env, ARTIFACTS_DIR: join(out, "artifacts") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (exitCode !== 0) console.error(stderr);
  expect(exitCode).toBe(0);
  expect(stderr.split("\n").filter((l) => l.includes("lost"))).toEqual([
    `harvestd: replay: ${path}:22: the live run lost 1234 lines here (received ${new Date(T0 + 5).toISOString()} to ${new Date(T0 + 25_000).toISOString()}: ` +
      "btcusdt@aggTrade 230, btcusdt@depth5@100ms 1000, control lines 4): not in the log, so the rows built from them are missing from this replay",
    `harvestd: replay: ${path}:28: the live run lost 1 line here (received ${new Date(T0 + 39_000).toISOString()} to ${new Date(T0 + 39_000).toISOString()}: ` +
      "control lines 1): not in the log, so the rows built from them are missing from this replay",
  ]);
  expect(stdout).toContain(" 0 bad lines, 0 truncated files, 1235 lines the live run lost (lines_lost in 1 files)");
  expect(stdout).toContain("replayed 28 lines from 1 files");
}, 60_000);
