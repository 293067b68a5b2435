/**
 * NdjsonSink beyond the happy path: write failures held and retried in order, the memory bound,
 * idle hours closed by the clock, closed hours compressed (gzip and zstd, read back by the system's
 * zcat and zstd), leftovers of earlier runs compressed without losing or repeating a line.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { linesLostLine } from "../../src/core/raw-log.ts";
import { NdjsonSink, ndjsonRelPath } from "../../src/sinks/ndjson/ndjson-sink.ts";
import type { StorageEvent } from "../../src/sinks/storage/events-log.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 10, 30);
const zcat = (p: string) => Bun.spawnSync(["zcat", p]).stdout.toString();
const zstdcat = (p: string) => Bun.spawnSync(["zstd", "-dcq", p]).stdout.toString();
const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `{"ts_recv":${T0},"i":${from + i}}`);

describe("NdjsonSink failures", () => {
  test("a failing write is held and retried; lines land whole and in order once the folder is writable", async () => {
    const d = tempDir("nd-retry");
    const dir = join(d, "nd");
    writeFileSync(dir, "a file where the folder should be");
    const errors: string[] = [];
    const events: StorageEvent[] = [];
    const sink = new NdjsonSink({ dir, flushIntervalMs: 50, retryMs: 100, now: () => T0, onError: (e) => errors.push(e.message), onMaintenance: (e) => events.push(e) });
    const want = lines(0, 500);
    for (const l of want.slice(0, 250)) sink.append("BTCUSDT", T0, l);
    await waitFor("failing", () => (sink.status().failingFiles === 1 ? true : undefined), 5_000);
    for (const l of want.slice(250)) sink.append("BTCUSDT", T0, l);
    await Bun.sleep(300);
    let st = sink.status();
    expect(st.healthy).toBe(false);
    expect(st.pendingLines).toBe(500);
    expect(st.linesWritten).toBe(0);
    expect(errors.length).toBeGreaterThan(1);

    rmSync(dir);
    await waitFor("written", () => (sink.status().linesWritten === 500 ? true : undefined), 5_000);
    st = sink.status();
    expect(st.healthy).toBe(true);
    expect(st.pendingLines).toBe(0);
    expect(st.bytesHeld).toBe(0);
    expect(events.some((e) => e.type === "resumed")).toBe(true);
    await sink.close();
    expect(readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0)), "utf8")).toBe(want.join("\n") + "\n");
  }, 20_000);

  test("memory held stays under the bound; past it lines are dropped and counted", async () => {
    const d = tempDir("nd-bound");
    const dir = join(d, "nd");
    writeFileSync(dir, "");
    const bound = 64 * 1024;
    const sink = new NdjsonSink({ dir, flushIntervalMs: 50, retryMs: 100, maxBufferBytes: bound, now: () => T0 });
    const want = lines(0, 5000);
    let maxHeld = 0;
    for (const l of want) {
      sink.append("BTCUSDT", T0, l);
      maxHeld = Math.max(maxHeld, sink.status().bytesHeld);
    }
    const st = sink.status();
    expect(maxHeld).toBeLessThanOrEqual(bound);
    expect(st.linesDropped).toBeGreaterThan(0);
    expect(st.pendingLines + st.linesDropped).toBe(5000);
    rmSync(dir);
    await waitFor("written", () => (sink.status().pendingLines === 0 ? true : undefined), 5_000);
    // The oldest lines are kept, in order; the newest were dropped, and the file says so as soon as
    // the write succeeds again (before any stop): how many, and when they were received.
    const told = linesLostLine(T0, { lines: st.linesDropped, fromTs: T0, toTs: T0, streams: {}, control: st.linesDropped });
    const path = join(dir, ndjsonRelPath("BTCUSDT", T0));
    expect(readFileSync(path, "utf8")).toBe(want.slice(0, st.pendingLines).join("\n") + "\n" + told + "\n");
    await sink.close();
    expect(readFileSync(path, "utf8")).toBe(want.slice(0, st.pendingLines).join("\n") + "\n" + told + "\n");
    expect(sink.status().linesLost).toBe(st.linesDropped);
  }, 20_000);

  test("drops told in the file of their own hour: data lines per stream, control lines apart, receipt times", async () => {
    const d = tempDir("nd-lost-hours");
    const dir = join(d, "nd");
    writeFileSync(dir, "");
    const bound = 16 * 1024;
    const sink = new NdjsonSink({ dir, compress: "none", flushIntervalMs: 50, retryMs: 100, maxBufferBytes: bound, now: () => T0 + H });
    const payload = `{"x":"${"a".repeat(400)}"}`;
    // Hour T0: lines kept until the bound, then dropped: data lines of two streams and control lines.
    let i = 0;
    while (sink.status().linesDropped === 0) sink.appendData("BTCUSDT", T0 + i, "btcusdt@aggTrade", 1, 0.5, `{"i":${i++},"p":${payload}}`);
    const kept = i - 1;
    for (let k = 0; k < 5; k++) sink.appendData("BTCUSDT", T0 + 100 + k, "btcusdt@depth5@100ms", 1, 0.5, payload);
    sink.append("BTCUSDT", T0 + 200, `{"ts_recv":${T0 + 200},"event":"gap","stream":"btcusdt@aggTrade","from_id":1,"to_id":2,"pad":"${"p".repeat(bound)}"}`);
    expect(sink.status().linesDropped).toBe(7);
    // Writable again: the held lines are written, and the next line is of the next hour.
    rmSync(dir);
    await waitFor("written", () => (sink.status().pendingLines === 0 ? true : undefined), 5_000);
    sink.append("BTCUSDT", T0 + H, `{"ts_recv":${T0 + H},"i":"next hour"}`);
    await waitFor("told", () => (readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0)), "utf8").includes("lines_lost") ? true : undefined), 5_000);
    await sink.close();
    const first = readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0)), "utf8").split("\n").filter(Boolean);
    expect(first.length).toBe(kept + 1);
    expect(JSON.parse(first.at(-1)!)).toEqual({
      ts_recv: T0 + 200,
      event: "lines_lost",
      lines: 7,
      from_ts: T0 + kept,
      to_ts: T0 + 200,
      streams: { "btcusdt@aggTrade": 1, "btcusdt@depth5@100ms": 5 },
      control: 1,
    });
    // Nothing was lost in the next hour: its file has no such line.
    expect(readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0 + H)), "utf8")).toBe(`{"ts_recv":${T0 + H},"i":"next hour"}\n`);
    expect(sink.status().linesLost).toBe(7);
  }, 20_000);

  test("close gives a failing file one last attempt, then counts its lines lost", async () => {
    const d = tempDir("nd-giveup");
    const dir = join(d, "nd");
    writeFileSync(dir, "");
    const sink = new NdjsonSink({ dir, flushIntervalMs: 50, retryMs: 100, now: () => T0 });
    for (const l of lines(0, 10)) sink.append("BTCUSDT", T0, l);
    await waitFor("failing", () => (sink.status().failingFiles === 1 ? true : undefined), 5_000);
    await sink.close();
    expect(sink.status().linesLost).toBe(10);
    expect(sink.status().pendingLines).toBe(0);
    expect(sink.status().healthy).toBe(false);
  }, 20_000);
});

describe("NdjsonSink hour files", () => {
  test("an idle symbol's file is closed and compressed once the clock leaves its hour", async () => {
    const dir = tempDir("nd-idle");
    let now = T0;
    const sink = new NdjsonSink({ dir, flushIntervalMs: 50, now: () => now, compress: "gzip" });
    const want = lines(0, 3);
    for (const l of want) sink.append("ETHUSDT", T0, l);
    const plain = join(dir, ndjsonRelPath("ETHUSDT", T0));
    await waitFor("written", () => (existsSync(plain) ? true : undefined), 5_000);
    now = T0 + H; // 11:30: hour 10 is over, no new line came
    await waitFor("compressed", () => (existsSync(`${plain}.gz`) && !existsSync(plain) ? true : undefined), 5_000);
    await sink.close();
    expect(zcat(`${plain}.gz`)).toBe(want.join("\n") + "\n");
    expect(sink.status().filesCompressed).toBe(1);
  }, 20_000);

  test("zstd: closed hours become .zst files that zstd reads", async () => {
    const dir = tempDir("nd-zstd");
    const sink = new NdjsonSink({ dir, compress: "zstd", now: () => T0 + H });
    const a = lines(0, 100);
    const b = lines(100, 5);
    for (const l of a) sink.append("BTCUSDT", T0, l);
    for (const l of b) sink.append("BTCUSDT", T0 + H, l); // next hour: hour 10 closes
    await sink.close();
    const p10 = join(dir, ndjsonRelPath("BTCUSDT", T0));
    expect(existsSync(p10)).toBe(false);
    expect(zstdcat(`${p10}.zst`)).toBe(a.join("\n") + "\n");
    expect(readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0 + H)), "utf8")).toBe(b.join("\n") + "\n");
  }, 20_000);

  test("an hour seen again after it was closed (clock stepped back): old lines first, nothing lost", async () => {
    const dir = tempDir("nd-back");
    const a = lines(0, 2000);
    const sink = new NdjsonSink({ dir, compress: "gzip", now: () => T0 });
    for (const l of a) sink.append("BTCUSDT", T0, l);
    sink.append("BTCUSDT", T0 + H, '{"next":1}'); // closes hour 10, compression starts
    sink.append("BTCUSDT", T0 + 1, '{"back":1}'); // hour 10 again, at once
    await sink.close();
    const p10 = join(dir, ndjsonRelPath("BTCUSDT", T0));
    expect(zcat(`${p10}.gz`)).toBe(a.join("\n") + "\n");
    expect(readFileSync(p10, "utf8")).toBe('{"back":1}\n');
    // The next start's sweep appends the reopened lines to the compressed hour.
    const later = new NdjsonSink({ dir, compress: "gzip", now: () => T0 + 3 * H });
    await later.drain();
    await later.close();
    expect(existsSync(p10)).toBe(false);
    expect(zcat(`${p10}.gz`)).toBe([...a, '{"back":1}'].join("\n") + "\n");
  });

  test("a file whose last line a crash cut short: the cut line goes, the next run's lines follow the last whole line (more in ndjson-tail.test.ts)", async () => {
    const dir = tempDir("nd-cut");
    const path = join(dir, ndjsonRelPath("BTCUSDT", T0));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '{"ts_recv":1,"a":1}\n{"ts_recv":2,"da');
    const sink = new NdjsonSink({ dir, compress: "none", now: () => T0 });
    sink.append("BTCUSDT", T0, '{"ts_recv":3,"event":"session"}');
    await sink.close();
    expect(readFileSync(path, "utf8")).toBe('{"ts_recv":1,"a":1}\n{"ts_recv":3,"event":"session"}\n');
  });

  test("closed hours left plain by an earlier run are compressed at start, never losing or repeating a line", async () => {
    const dir = tempDir("nd-sweep");
    const put = (rel: string, text: string | Buffer) => {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    };
    // 1. A plain hour a crash left behind.
    const crashed = put("date=2026-01-01/symbol=BTCUSDT/raw-07.ndjson", "a\nb\n");
    // 2. A compression cut off after its rename: the .gz already holds the plain file's lines.
    const cut = put("date=2026-01-01/symbol=BTCUSDT/raw-08.ndjson", "c\nd\n");
    put("date=2026-01-01/symbol=BTCUSDT/raw-08.ndjson.gz", gzipSync("c\nd\n"));
    // 3. An hour reopened after it was compressed: the new lines belong after the old ones.
    const reopened = put("date=2026-01-01/symbol=BTCUSDT/raw-09.ndjson", "g\n");
    put("date=2026-01-01/symbol=BTCUSDT/raw-09.ndjson.gz", gzipSync("e\nf\n"));
    // 4. The current hour of the previous run: left alone (this run may append to it).
    const current = put("date=2026-01-01/symbol=BTCUSDT/raw-10.ndjson", "h\n");
    // 5. Debris of a cut-off compression (start-up cleanup removes these; the sweep tolerates it).
    put("date=2026-01-01/symbol=BTCUSDT/raw-07.ndjson.gz.partial", "garbage");

    const sink = new NdjsonSink({ dir, now: () => T0 });
    await sink.drain();
    await sink.close();
    expect(existsSync(crashed) || existsSync(cut) || existsSync(reopened)).toBe(false);
    expect(zcat(`${crashed}.gz`)).toBe("a\nb\n");
    expect(zcat(`${cut}.gz`)).toBe("c\nd\n");
    expect(zcat(`${reopened}.gz`)).toBe("e\nf\ng\n");
    expect(readFileSync(current, "utf8")).toBe("h\n");
    expect(listFiles(dir, /\.partial$/)).toEqual([]);
  }, 20_000);
});
