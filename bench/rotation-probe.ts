/**
 * Rotation probe: RSS around one Parquet rotation, in isolation (no exchange, no engines). A
 * ParquetSink (with its real writer worker) is fed one minute of synthetic rows for 50 symbols at
 * about the per-kind rates of 50 busy symbols (≈ 300k rows), then the rotation clock crosses the
 * minute and RSS is sampled every 5 ms for 3 s. The rows are synthetic (random doubles compress far
 * worse than market data), so the figure is a harsher version of the live collector's rotation
 * spike (bench/memory.ts); it answers in 15 s instead of minutes, which is what it is for: trying a
 * change to the writer's memory behaviour.
 *
 * Usage: bun bench/rotation-probe.ts   (prints the RSS before, the peak and a trace; writes nothing)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMAS, type Cell, type RowKind } from "../src/core/rows.ts";
import { ParquetSink } from "../src/sinks/parquet/parquet-sink.ts";

const SYMBOLS = 50;
/** Rows per symbol and minute, by kind (a busy symbol at ≈ 40 frames/s). */
const PER_MINUTE: Partial<Record<RowKind, number>> = { orderbook: 1400, book_l2: 1400, prices: 600, ofi: 1400, cvd: 600, fusion: 600, features: 60, events: 20 };
const T0 = Date.UTC(2026, 11, 5, 3, 0, 0);
const rssMiB = (): number => process.memoryUsage.rss() / 2 ** 20;

const dir = mkdtempSync(join(tmpdir(), "harvestd-rotation-probe-"));
const sink = new ParquetSink({ outputDir: dir, previewDir: dir, rotateSec: 60, orderbookRotateSec: 60, lowMemory: true });
try {
  await Bun.sleep(300);
  sink.tick(T0);
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => `S${i}USDT`);
  const rows = new Map<RowKind, Record<string, Cell>>();
  for (const kind of Object.keys(PER_MINUTE) as RowKind[]) {
    rows.set(kind, Object.fromEntries(SCHEMAS[kind].map((d) => [d.name, d.type === "str" ? "x" : d.type === "bool" ? true : 1])));
  }
  let n = 0;
  for (let i = 0; i < 1400; i++) {
    for (const symbol of symbols) {
      for (const [kind, per] of Object.entries(PER_MINUTE) as [RowKind, number][]) {
        if (i >= per) continue;
        const r = rows.get(kind)!;
        r.symbol = symbol;
        for (const d of SCHEMAS[kind]) {
          if (d.type === "f64") r[d.name] = 60_000 + Math.random();
          else if (d.type === "i64") r[d.name] = 1e9 + i;
          else if (d.type === "str" && d.name !== "symbol") r[d.name] = "Q_UP";
        }
        r.ts_ms = T0 + Math.floor((i / per) * 59_000);
        sink.append(kind, r);
        n++;
      }
    }
    // The clock moves on inside the minute, as live; chunks go ahead to the writer as they fill.
    if (i % 100 === 0) {
      sink.tick(T0 + i * 40);
      await Bun.sleep(1);
    }
  }
  await Bun.sleep(2000);
  Bun.gc(true);
  await Bun.sleep(1000);
  const before = rssMiB();
  let peak = before;
  const trace: string[] = [];
  const t0 = performance.now();
  const timer = setInterval(() => {
    const r = rssMiB();
    peak = Math.max(peak, r);
    trace.push(`${(performance.now() - t0).toFixed(0)}ms:${r.toFixed(0)}`);
  }, 5);
  sink.tick(T0 + 60_000);
  await Bun.sleep(3000);
  clearInterval(timer);
  console.log(`${n} rows, ${SYMBOLS} symbols; RSS before the rotation ${before.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB (+${(peak - before).toFixed(1)})`);
  console.log(trace.filter((_, i) => i % 10 === 0).join(" "));
  await sink.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
