/**
 * Per-update cost of the calculators (docs/indicators.md §12.6), replayed from real recorded traffic.
 *
 * Input: hftbacktest BTCUSDT 2024-08-08 — top-5 snapshots derived from the recorded diff depth (a
 * full book kept from the inline REST snapshot) and the recorded trades, in arrival order. The
 * stream is looped with ids and times shifted so it stays continuous (no id gaps, no OFI time-gap
 * resets between passes) until at least MIN_UPDATES updates have been replayed.
 *
 * Timed separately, each call bracketed by Bun.nanoseconds() (so every figure includes one timer
 * read, reported as `timer_overhead`):
 *   book    BookTracker.process (validation + classification + d_*)
 *   ofi     OfiCalculator.update (MLOFI + z-score)              — one per normal book message
 *   cvd     CvdCalculator.update (EWMAs + exact MAD floor + z)  — one per trade
 *   fusion  FusionCalculator.onTrade                            — one per trade with a z_cvd
 *   engine_depth / engine_trade  SymbolEngine.onDepth / onTrade end to end (all calculators, row
 *           objects; `row_id` is computed later, by the Parquet writer), into a sink that only counts.
 *
 * Usage: bun bench/calculators.ts [minUpdates] [--quick]. Writes bench/results/calculators-<date>.json
 * (`--quick`: 100,000 updates, written as calculators-<date>-quick.json).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { indicatorParams } from "../src/calc/params.ts";
import { CvdCalculator } from "../src/calc/cvd.ts";
import { FusionCalculator } from "../src/calc/fusion.ts";
import { OfiCalculator } from "../src/calc/ofi.ts";
import { BookTracker } from "../src/calc/orderbook.ts";
import { SymbolEngine } from "../src/calc/symbol-engine.ts";
import type { AggTradeEvent, DepthEvent } from "../src/core/market-events.ts";
import type { Row, RowKind, RowSink } from "../src/core/rows.ts";
import { FIXTURES, readHftStream, type ReplayItem } from "../test/unit/calc-support.ts";
import { load, QUICK, quantiles, Sample, type Quantiles } from "./lib/report.ts";

const countArg = process.argv.slice(2).find((a) => !a.startsWith("--"));
const MIN_UPDATES = Number(countArg ?? (QUICK ? 100_000 : 1_000_000));
const FIXTURE = `${FIXTURES}/hftbacktest/btcusdt_20240808.gz`;
const TARGET_P99_NS = 2000;

/** Shifts a replay item by `pass` loops: times by the stream span, ids so every chain continues. */
function shifter(items: readonly ReplayItem[]) {
  const books = items.filter((x) => x.ev.kind === "depth").map((x) => x.ev as DepthEvent);
  const trades = items.filter((x) => x.ev.kind === "aggTrade").map((x) => x.ev as AggTradeEvent);
  const t0 = Math.min(books[0].transactTime as number, trades[0].tradeTime as number);
  const t1 = Math.max(books.at(-1)?.transactTime as number, trades.at(-1)?.tradeTime as number);
  const dt = t1 - t0 + 100; // 100 ms between passes: below the 2 s OFI reset gap
  const du = (books.at(-1) as DepthEvent).lastId - (books[0].prevLastId as number);
  const da = (trades.at(-1) as AggTradeEvent).aggId - trades[0].aggId + 1;
  return (it: ReplayItem, pass: number): ReplayItem => {
    const ev = it.ev;
    if (pass === 0) return it;
    if (ev.kind === "depth") {
      return {
        recv: it.recv + pass * dt,
        ev: {
          ...ev,
          eventTime: (ev.eventTime as number) + pass * dt,
          transactTime: (ev.transactTime as number) + pass * dt,
          firstId: (ev.firstId as number) + pass * du,
          lastId: ev.lastId + pass * du,
          prevLastId: (ev.prevLastId as number) + pass * du,
        },
      };
    }
    return {
      recv: it.recv + pass * dt,
      ev: { ...ev, eventTime: (ev.eventTime as number) + pass * dt, tradeTime: (ev.tradeTime as number) + pass * dt, aggId: ev.aggId + pass * da },
    };
  };
}

class CountingSink implements RowSink {
  n = 0;
  append(_k: RowKind, _r: Row): void {
    this.n++;
  }
}

function timerOverhead(): Quantiles {
  const s = new Sample();
  for (let i = 0; i < 200_000; i++) {
    const t = Bun.nanoseconds();
    s.push(Bun.nanoseconds() - t);
  }
  return quantiles(s.values(), 1);
}

function main(): void {
  const loadStart = load();
  const tLoad = performance.now();
  const items = readHftStream(FIXTURE);
  const loadMs = performance.now() - tLoad;
  const shift = shifter(items);
  const perPass = items.length;
  const passes = Math.ceil(MIN_UPDATES / perPass);
  const params = indicatorParams();

  // ---- calculators alone ----
  const book = new BookTracker(params.ofi);
  const ofi = new OfiCalculator(params.ofi);
  const cvd = new CvdCalculator(params.cvd);
  const fusion = new FusionCalculator(params);
  const sBook = new Sample();
  const sOfi = new Sample();
  const sCvd = new Sample();
  const sFusion = new Sample();
  let tradeTsEff = Number.NEGATIVE_INFINITY;
  let lastA = Number.NaN;
  let updates = 0;
  const tCalc = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (const raw of items) {
      const { ev } = shift(raw, pass);
      updates++;
      if (ev.kind === "depth") {
        let t = Bun.nanoseconds();
        const cls = book.process(ev);
        sBook.push(Bun.nanoseconds() - t);
        if (cls === "reset") ofi.reset();
        if (cls === "normal") {
          t = Bun.nanoseconds();
          ofi.update(book.prevBid, book.prevAsk, book.bid, book.ask, book.tsEff);
          sOfi.push(Bun.nanoseconds() - t);
          if (ofi.z !== null) fusion.onOfiZ(ofi.z, book.tsEff, book.tsMs);
        }
      } else {
        if (ev.aggId <= lastA) continue;
        lastA = ev.aggId;
        const ts = ev.tradeTime as number;
        tradeTsEff = ts > tradeTsEff ? ts : tradeTsEff;
        let t = Bun.nanoseconds();
        cvd.update(tradeTsEff, ev.price, ev.qty, ev.buyerIsMaker ? -1 : 1);
        sCvd.push(Bun.nanoseconds() - t);
        const z = cvd.zCvd;
        if (z !== null) {
          t = Bun.nanoseconds();
          fusion.onTrade(z, tradeTsEff, ts);
          sFusion.push(Bun.nanoseconds() - t);
        }
      }
    }
  }
  const calcWallMs = performance.now() - tCalc;

  // ---- the engine end to end ----
  const sink = new CountingSink();
  const engine = new SymbolEngine("BTCUSDT", params, sink);
  const sDepth = new Sample();
  const sTrade = new Sample();
  const tEngine = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (const raw of items) {
      const { recv, ev } = shift(raw, pass);
      const t = Bun.nanoseconds();
      if (ev.kind === "depth") {
        engine.onDepth(ev, recv);
        sDepth.push(Bun.nanoseconds() - t);
      } else {
        engine.onTrade(ev, recv);
        sTrade.push(Bun.nanoseconds() - t);
      }
    }
  }
  engine.finish();
  const engineWallMs = performance.now() - tEngine;

  const result = {
    benchmark: "calculators",
    date: new Date().toISOString(),
    bun: Bun.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    load_avg_start: loadStart,
    load_avg_end: load(),
    fixture: FIXTURE,
    fixture_load_ms: Math.round(loadMs),
    events_per_pass: perPass,
    passes,
    updates,
    target_p99_ns: TARGET_P99_NS,
    unit: "ns per call (includes one Bun.nanoseconds() read)",
    timer_overhead: timerOverhead(),
    book: quantiles(sBook.values(), 1),
    ofi: quantiles(sOfi.values(), 1),
    cvd: quantiles(sCvd.values(), 1),
    fusion: quantiles(sFusion.values(), 1),
    engine_depth: quantiles(sDepth.values(), 1),
    engine_trade: quantiles(sTrade.values(), 1),
    calculators_wall_ms: Math.round(calcWallMs),
    engine_wall_ms: Math.round(engineWallMs),
    engine_events_per_sec: Math.round(((sDepth.n + sTrade.n) / engineWallMs) * 1000),
    engine_rows: sink.n,
    engine_counters: { ...engine.counters },
  };

  const line = (name: string, s: Quantiles) =>
    `${name.padEnd(13)} n=${String(s.n).padStart(8)}  p50=${String(s.p50).padStart(6)}  p99=${String(s.p99).padStart(6)}  p99.9=${String(s.p999).padStart(7)}  max=${String(s.max).padStart(9)}  mean=${s.mean}`;
  console.log(`replayed ${updates} updates (${passes} passes of ${perPass} events) from ${FIXTURE}`);
  console.log(`ns per call; timer overhead p50 ${result.timer_overhead.p50} ns; load average ${result.load_avg_start.join(" ")} → ${result.load_avg_end.join(" ")}`);
  console.log(line("book", result.book));
  console.log(line("ofi", result.ofi));
  console.log(line("cvd", result.cvd));
  console.log(line("fusion", result.fusion));
  console.log(line("engine_depth", result.engine_depth));
  console.log(line("engine_trade", result.engine_trade));
  console.log(`engine: ${result.engine_events_per_sec} events/s end to end, ${sink.n} rows`);
  for (const k of ["ofi", "cvd", "fusion"] as const) {
    const p99 = result[k].p99 ?? Infinity;
    console.log(`${k}: p99 ${p99} ns ${p99 <= TARGET_P99_NS ? "≤" : ">"} target ${TARGET_P99_NS} ns`);
  }

  const dir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}calculators-${result.date.slice(0, 10)}${QUICK ? "-quick" : ""}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

main();
