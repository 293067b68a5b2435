/**
 * Cost of `storage.ndjson_fsync` = none | interval | always on this machine's disk (the repo's file
 * system, not tmpfs, where fsync is free). Per mode:
 *   steady   SYMBOLS symbols at RATE lines/s in all for SECONDS: fdatasync calls, process CPU (the
 *            thread pool included), the ingest event loop's lag (p99, max), bytes the kernel wrote
 *   burst    BURST lines appended at once: time until every line is written (and synced)
 * `bun bench/ndjson-fsync.ts [--quick]`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NdjsonSink, type NdjsonFsync } from "../src/sinks/ndjson/ndjson-sink.ts";
import { QUICK, REPO, Sample, header, printTable, quantiles, writeResult } from "./lib/report.ts";

const SYMBOLS = 50;
const RATE = 4000;
const SECONDS = QUICK ? 3 : 20;
const BURST = QUICK ? 50_000 : 300_000;
const MODES: readonly NdjsonFsync[] = ["none", "interval", "always"];

const line = (i: number, sym: string) =>
  `{"ts_recv":${Date.now()},"stream":"${sym.toLowerCase()}@aggTrade","latency_event_ms":12,"latency_pipeline_ms":0.021,"data":{"e":"aggTrade","E":1712345678901,"a":${i},"s":"${sym}","p":"64123.10","q":"0.012","f":${i * 3},"l":${i * 3 + 2},"T":1712345678899,"m":true}}`;

function ioWriteBytes(): number {
  const m = /write_bytes: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"));
  return m === null ? 0 : Number(m[1]);
}

async function steady(mode: NdjsonFsync): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(REPO, "bench", ".tmp-fsync-"));
  const sink = new NdjsonSink({ dir, fsync: mode, sweep: false, compress: "none" });
  const syms = Array.from({ length: SYMBOLS }, (_, i) => `SYM${i}USDT`);
  const lag = new Sample();
  const io0 = ioWriteBytes();
  const cpu0 = process.cpuUsage();
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  let expected = performance.now();
  while (Date.now() < end) {
    // 10 ms steps: RATE/100 lines spread over the symbols, then yield to the event loop.
    for (let k = 0; k < RATE / 100; k++, n++) sink.append(syms[n % SYMBOLS]!, Date.now(), line(n, syms[n % SYMBOLS]!));
    expected += 10;
    const wait = expected - performance.now();
    await Bun.sleep(Math.max(0, wait));
    lag.push(Math.max(0, performance.now() - expected));
  }
  await sink.close();
  const cpu = process.cpuUsage(cpu0);
  const st = sink.status();
  const q = quantiles(lag.values(), 1);
  rmSync(dir, { recursive: true, force: true });
  return {
    mode,
    lines: st.linesWritten,
    fsyncs: st.fsyncs,
    cpu_ms_per_s: Math.round((cpu.user + cpu.system) / 1000 / SECONDS),
    loop_lag_p99_ms: q.p99,
    loop_lag_max_ms: q.max,
    disk_kib_per_s: Math.round((ioWriteBytes() - io0) / 1024 / SECONDS),
  };
}

async function burst(mode: NdjsonFsync): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(REPO, "bench", ".tmp-fsync-"));
  const sink = new NdjsonSink({ dir, fsync: mode, sweep: false, compress: "none" });
  const syms = Array.from({ length: SYMBOLS }, (_, i) => `SYM${i}USDT`);
  const t0 = performance.now();
  for (let n = 0; n < BURST; n++) sink.append(syms[n % SYMBOLS]!, Date.now(), line(n, syms[n % SYMBOLS]!));
  await sink.close();
  const ms = performance.now() - t0;
  const st = sink.status();
  rmSync(dir, { recursive: true, force: true });
  return { mode, burst_lines: st.linesWritten, burst_ms: Math.round(ms), burst_lines_per_s: Math.round((st.linesWritten / ms) * 1000), burst_fsyncs: st.fsyncs };
}

const start = header("ndjson-fsync", `${SYMBOLS} symbols, ${RATE} lines/s for ${SECONDS} s; burst of ${BURST} lines`);
const rows: Record<string, unknown>[] = [];
for (const mode of MODES) rows.push({ ...(await steady(mode)), ...(await burst(mode)) });
printTable(rows);
writeResult("ndjson-fsync", start, { symbols: SYMBOLS, rate: RATE, seconds: SECONDS, burst: BURST, rows });
