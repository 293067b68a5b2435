/**
 * Every NDJSON line lost is told in a `lines_lost` line, or named as untold: a stop on a disk that
 * is still full (a real tmpfs, filled to the last page) cannot append a `lines_lost` line, and must
 * then say how many lines no such line tells (status, one log line) instead of leaving a sum that
 * silently falls short; lines already written are never given up to make room.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { linesLostOf } from "../../src/core/raw-log.ts";
import { NdjsonSink } from "../../src/sinks/ndjson/ndjson-sink.ts";
import type { StorageEvent } from "../../src/sinks/storage/events-log.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";

const T0 = Date.UTC(2026, 0, 1, 10, 30);
const SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"];

/** A data line of exactly 4,095 characters (4 KiB with its newline: files end on a page boundary, no slack to append into). */
function dataLine(symbol: string, ts: number, i: number): string {
  const head = `{"ts_recv":${ts},"stream":"${symbol.toLowerCase()}@aggTrade","latency_event_ms":0,"latency_pipeline_ms":0,"data":{"i":${i},"pad":"`;
  const tail = `"}}`;
  return head + "x".repeat(4095 - head.length - tail.length) + tail;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Writes a filler file until the filesystem says ENOSPC (page by page, then byte by byte: nothing is left). */
function fill(path: string): void {
  const fd = openSync(path, "w");
  try {
    for (const size of [65536, 4096, 1]) {
      const b = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const mnt = tempDir("nd-lost-mnt");
const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
const mounted = mount.exitCode === 0;
if (!mounted) console.warn(`ndjson-lost-told: full-disk test skipped, cannot mount a tmpfs (${mount.stderr.toString().trim()})`);
afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", "-l", mnt]);
});

describe("NdjsonSink: every lost line told, or named untold", () => {
  test.skipIf(!mounted)("a stop on a disk still full to the last page: the lines_lost lines and the untold count sum to linesLost; written lines kept", async () => {
    const dir = join(mnt, "nd");
    const events: StorageEvent[] = [];
    const sink = new NdjsonSink({ dir, flushIntervalMs: 50, retryMs: 50, maxBufferBytes: 64 * 1024, compress: "none", fsync: "none", sweep: false, now: () => T0, onMaintenance: (e) => events.push(e) });
    let i = 0;
    for (let k = 0; k < 20; k++) {
      for (const s of SYMBOLS) sink.append(s, T0 + k, dataLine(s, T0 + k, i++));
      await sink.flush();
    }
    expect(sink.status().linesWritten).toBe(80);
    fill(join(mnt, "filler"));
    for (let k = 20; k < 60; k++) for (const s of SYMBOLS) sink.append(s, T0 + k, dataLine(s, T0 + k, i++));
    await waitFor("failing", () => (sink.status().failingFiles === SYMBOLS.length ? true : undefined), 5_000);
    expect(sink.status().linesDropped).toBeGreaterThan(0);
    await sink.close();
    const st = sink.status();

    let told = 0;
    let tellers = 0;
    let data = 0;
    for (const f of filesUnder(dir)) {
      expect(statSync(f).size % 4096 === 0 || readFileSync(f, "utf8").endsWith("\n")).toBe(true);
      for (const line of readFileSync(f, "utf8").split("\n").filter(Boolean)) {
        const lost = linesLostOf(line);
        if (lost !== null) {
          told += lost.lines;
          tellers++;
        } else data++;
      }
    }
    expect(st.linesLost).toBeGreaterThan(0);
    // Every line appended is either in the files or counted lost; the 80 written before the disk filled are all there.
    expect(data + st.linesLost).toBe(i);
    expect(data).toBeGreaterThanOrEqual(80);
    expect(st.linesWritten).toBe(data + tellers);
    // Every lost line is told, by a lines_lost line or by the untold count the stop names.
    expect(st.linesLostUntold).toBeGreaterThan(0);
    expect(told + st.linesLostUntold).toBe(st.linesLost);
    const untold = events.filter((e) => e.type === "error" && e.error.code === "EUNTOLD");
    expect(untold.length).toBe(1);
    expect(untold[0]!.type === "error" && untold[0]!.error.message).toContain(`${st.linesLostUntold} of the ${st.linesLost} lines lost are told by no lines_lost line`);
  }, 30_000);

  test("a file that cannot take even its lines_lost line: the untold lines are counted and logged", async () => {
    const d = tempDir("nd-untold");
    const dir = join(d, "nd");
    writeFileSync(dir, "a file where the folder should be");
    const events: StorageEvent[] = [];
    const sink = new NdjsonSink({ dir, flushIntervalMs: 50, retryMs: 100, sweep: false, now: () => T0, onMaintenance: (e) => events.push(e) });
    for (let k = 0; k < 10; k++) sink.append("BTCUSDT", T0, `{"ts_recv":${T0},"i":${k}}`);
    await waitFor("failing", () => (sink.status().failingFiles === 1 ? true : undefined), 5_000);
    await sink.close();
    const st = sink.status();
    expect(st.linesLost).toBe(10);
    expect(st.linesLostUntold).toBe(10);
    const untold = events.filter((e) => e.type === "error" && e.error.code === "EUNTOLD");
    expect(untold.length).toBe(1);
    expect(untold[0]!.type === "error" && untold[0]!.error.message).toContain("10 of the 10 lines lost");
  }, 20_000);
});
