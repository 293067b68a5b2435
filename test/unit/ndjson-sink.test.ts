import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dataLine, linesLostLine } from "../../src/core/raw-log.ts";
import { NdjsonSink, ndjsonRelPath } from "../../src/sinks/ndjson/ndjson-sink.ts";
import { tempDir } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 21, 13, 59, 59, 500);

describe("NdjsonSink", () => {
  test("files are named by symbol and UTC receipt hour", () => {
    expect(ndjsonRelPath("BTCUSDT", T0)).toBe("date=2026-11-21/symbol=BTCUSDT/raw-13.ndjson");
    expect(ndjsonRelPath("BTCUSDT", Date.UTC(2026, 11, 31, 23, 0, 0))).toBe("date=2026-12-31/symbol=BTCUSDT/raw-23.ndjson");
  });

  test("lines land in arrival order, split per symbol and hour; the closed hour is gzipped for zcat", async () => {
    const dir = tempDir("ndjson");
    const sink = new NdjsonSink({ dir, compress: "gzip" });
    const want: Record<string, string[]> = {};
    for (let i = 0; i < 1000; i++) {
      const sym = i % 3 === 0 ? "ETHUSDT" : "BTCUSDT";
      const ts = T0 + i; // crosses 14:00 after 500 lines
      const line = `{"ts_recv":${ts},"i":${i}}`;
      sink.append(sym, ts, line);
      const key = `${sym}/${ndjsonRelPath(sym, ts)}`;
      (want[key] ??= []).push(line);
    }
    await sink.close();
    const files = listFiles(dir, /\.ndjson(\.gz)?$/).map((f) => f.slice(dir.length + 1));
    expect(files.sort()).toEqual([
      "date=2026-11-21/symbol=BTCUSDT/raw-13.ndjson.gz",
      "date=2026-11-21/symbol=BTCUSDT/raw-14.ndjson",
      "date=2026-11-21/symbol=ETHUSDT/raw-13.ndjson.gz",
      "date=2026-11-21/symbol=ETHUSDT/raw-14.ndjson",
    ]);
    for (const [key, lines] of Object.entries(want)) {
      const rel = key.slice(key.indexOf("/") + 1);
      const plain = join(dir, rel);
      const text = existsSync(plain)
        ? readFileSync(plain, "utf8")
        : // An independent reader: the system's zcat.
          Bun.spawnSync(["zcat", `${plain}.gz`]).stdout.toString();
      expect(text).toBe(lines.join("\n") + "\n");
    }
    expect(sink.status().linesWritten).toBe(1000);
  });

  test("data lines written as bytes, mixed with text lines, with flushes between and lines of every size, read back exactly", async () => {
    const dir = tempDir("ndjson-data");
    const sink = new NdjsonSink({ dir, compress: "none", flushIntervalMs: 5 });
    const want: Record<string, string[]> = {};
    const t = Date.UTC(2026, 10, 21, 10, 0, 0);
    for (let i = 0; i < 6000; i++) {
      const sym = ["BTCUSDT", "ETHUSDT", "币USDT"][i % 3]!;
      const ts = t + i;
      // Payloads from a few bytes to 200 KiB (past the sink's largest buffer step), some not ASCII.
      const size = i % 997 === 0 ? 200_000 : (i * 7919) % 900;
      const payload = `{"i":${i},"x":"${(i % 5 === 0 ? "é🚀" : "a").repeat(size)}"}`;
      let line: string;
      if (i % 11 === 0) {
        line = `{"ts_recv":${ts},"event":"gap","i":${i}}`;
        sink.append(sym, ts, line);
      } else {
        line = dataLine(ts, `${sym.toLowerCase()}@aggTrade`, i % 4 === 0 ? null : i - 50, (i % 13) / 7, payload);
        sink.appendData(sym, ts, `${sym.toLowerCase()}@aggTrade`, i % 4 === 0 ? null : i - 50, (i % 13) / 7, payload);
      }
      (want[sym] ??= []).push(line);
      if (i % 500 === 0) await Bun.sleep(10);
    }
    await sink.close();
    for (const [sym, lines] of Object.entries(want)) {
      expect(readFileSync(join(dir, ndjsonRelPath(sym, t)), "utf8")).toBe(lines.join("\n") + "\n");
    }
    expect(sink.status().linesWritten).toBe(6000);
    expect(sink.status().bytesHeld).toBe(0);
    expect(sink.status().pendingLines).toBe(0);
  });

  test("the buffer bound drops data lines whole and counts them", async () => {
    const dir = tempDir("ndjson-data-bound");
    const sink = new NdjsonSink({ dir, compress: "none", maxBufferBytes: 10_000 });
    const t = Date.UTC(2026, 10, 21, 10, 0, 0);
    const payload = `{"x":"${"a".repeat(900)}"}`;
    for (let i = 0; i < 30; i++) sink.appendData("BTCUSDT", t + i, "btcusdt@aggTrade", 1, 0.5, payload);
    const dropped = sink.status().linesDropped;
    expect(dropped).toBeGreaterThan(15);
    await sink.close();
    const lines = readFileSync(join(dir, ndjsonRelPath("BTCUSDT", t)), "utf8").split("\n").filter(Boolean);
    // The kept lines, then the trace of the dropped ones (the newest: the oldest are kept).
    expect(lines.length).toBe(30 - dropped + 1);
    for (const [k, l] of lines.slice(0, -1).entries()) expect(l).toBe(dataLine(t + k, "btcusdt@aggTrade", 1, 0.5, payload));
    const kept = 30 - dropped;
    expect(lines.at(-1)).toBe(linesLostLine(t + 29, { lines: dropped, fromTs: t + kept, toTs: t + 29, streams: { "btcusdt@aggTrade": dropped }, control: 0 }));
    expect(sink.status().linesLost).toBe(dropped);
  });

  test("buffered lines reach the file within a second without close", async () => {
    const dir = tempDir("ndjson-flush");
    const sink = new NdjsonSink({ dir, flushIntervalMs: 200 });
    const now = Date.now();
    sink.append("BTCUSDT", now, '{"a":1}');
    const path = join(dir, ndjsonRelPath("BTCUSDT", now));
    await Bun.sleep(1000);
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n');
    await sink.close();
  });

  test("a restart appends to the hour's existing file instead of replacing it", async () => {
    const dir = tempDir("ndjson-append");
    for (const i of [1, 2]) {
      const sink = new NdjsonSink({ dir, compress: "none" });
      sink.append("BTCUSDT", T0 + H, `{"run":${i}}`);
      await sink.close();
    }
    expect(readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0 + H)), "utf8")).toBe('{"run":1}\n{"run":2}\n');
  });

  test("a write error is reported, not thrown into the caller", async () => {
    const errors: string[] = [];
    const sink = new NdjsonSink({ dir: "/proc/harvestd-cannot-write", onError: (e, p) => errors.push(`${p}: ${e.message}`) });
    sink.append("BTCUSDT", T0, "{}");
    await sink.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(sink.status().lastError).toContain("/proc/harvestd-cannot-write");
  });
});

describe("NdjsonSink close while a write loop syncs", () => {
  // Lines appended while the loop waited on datasync used to be queued but never written: close()
  // resolved with them neither on disk nor counted as lost.
  test("every line appended before close() is in the file, 40 trials with fsync always", async () => {
    const T = Date.UTC(2026, 0, 1, 10);
    for (let trial = 0; trial < 40; trial++) {
      const dir = tempDir("ndjson-close-sync");
      const sink = new NdjsonSink({ dir, compress: "none", fsync: "always", sweep: false });
      for (let i = 0; i < 100; i++) sink.append("BTCUSDT", T, `{"i":${i}}`);
      void sink.flush();
      await Bun.sleep(trial % 5);
      for (let i = 100; i < 200; i++) sink.append("BTCUSDT", T, `{"i":${i}}`);
      await sink.close();
      const files = listFiles(dir, /\.ndjson$/);
      const lines = files.flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean));
      expect({ trial, lines: lines.length, lost: sink.status().linesLost }).toEqual({ trial, lines: 200, lost: 0 });
    }
  });
});
