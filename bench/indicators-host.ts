/**
 * Per-event cost of the custom indicator stage (src/indicators/host.ts) on real recorded traffic:
 * the hftbacktest BTCUSDT 2024-08-08 stream (top-5 books and trades in arrival order), fed to one
 * symbol's IndicatorHost with each example module of examples/indicators/ alone, then all three, into
 * a sink that only counts rows. Each event is bracketed by Bun.nanoseconds(), so the figures include
 * one timer read (`timer_overhead`) and everything the stage does: the event → trade/book object,
 * level cleaning, the module's handler, the row check and the append.
 *
 * `none` is a host without indicators: what the stage costs a symbol that has nothing to run.
 *
 * Usage: bun bench/indicators-host.ts [--quick]. Writes bench/results/indicators-host-<date>.json.
 */
import { join } from "node:path";
import type { Row, RowSink, SinkKind } from "../src/core/rows.ts";
import { CustomIndicators } from "../src/indicators/custom-indicators.ts";
import { loadIndicators } from "../src/indicators/load.ts";
import { silentLogger } from "../src/util/log.ts";
import { FIXTURES, readHftStream } from "../test/unit/calc-support.ts";
import { header, printTable, QUICK, quantiles, REPO, Sample, writeResult } from "./lib/report.ts";

class CountingSink implements RowSink {
  rows = 0;
  append(_kind: SinkKind, _row: Row): void {
    this.rows++;
  }
}

const EXAMPLES = {
  vwap_dev: { module: join(REPO, "examples/indicators/vwap-dev.ts"), params: { window_sec: 30 } },
  book_pressure: { module: join(REPO, "examples/indicators/book-pressure.ts"), params: { levels: 5 } },
  trade_bars: { module: join(REPO, "examples/indicators/trade-bars.js"), params: {} },
} as const;

const startLoad = header("indicators-host", "custom indicator stage, per event");
const items = readHftStream(join(FIXTURES, "hftbacktest/btcusdt_20240808.gz"), QUICK ? 60_000 : Number.POSITIVE_INFINITY);
const passes = QUICK ? 1 : 3;

let timer = 0;
{
  const s = new Sample();
  for (let i = 0; i < 200_000; i++) {
    const t0 = Bun.nanoseconds();
    s.push(Bun.nanoseconds() - t0);
  }
  timer = quantiles(s.values()).p50 ?? 0;
}

async function measure(name: string, names: readonly (keyof typeof EXAMPLES)[]): Promise<Record<string, unknown>> {
  const r = await loadIndicators(names.map((n) => EXAMPLES[n]));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const sink = new CountingSink();
  const trades = new Sample();
  const books = new Sample();
  for (let pass = 0; pass < passes; pass++) {
    // A fresh host per pass: the stream's ids restart, as after a new session.
    const host = new CustomIndicators(r.indicators, silentLogger).host("BTCUSDT", sink);
    for (const { recv, ev } of items) {
      const t0 = Bun.nanoseconds();
      if (ev.kind === "aggTrade") host.onTrade(ev, recv, false);
      else host.onDepth(ev, recv);
      const dt = Bun.nanoseconds() - t0;
      (ev.kind === "aggTrade" ? trades : books).push(dt);
    }
    host.finish();
  }
  const qt = quantiles(trades.values(), 0);
  const qb = quantiles(books.values(), 0);
  return { stage: name, trades: qt.n, trade_p50_ns: qt.p50, trade_p99_ns: qt.p99, trade_mean_ns: qt.mean, books: qb.n, book_p50_ns: qb.p50, book_p99_ns: qb.p99, book_mean_ns: qb.mean, rows: sink.rows };
}

const rows = [
  await measure("none", []),
  await measure("vwap_dev", ["vwap_dev"]),
  await measure("book_pressure", ["book_pressure"]),
  await measure("trade_bars", ["trade_bars"]),
  await measure("all three", ["vwap_dev", "book_pressure", "trade_bars"]),
];
printTable(rows);
console.log(`timer_overhead ≈ ${timer} ns per bracket (included above)`);
writeResult("indicators-host", startLoad, { fixture: "hftbacktest/btcusdt_20240808.gz", passes, timer_overhead_ns: timer, stages: rows });
