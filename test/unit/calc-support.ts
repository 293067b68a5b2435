/**
 * Shared helpers for the calc-* unit tests: an in-memory sink, event builders, contract test doubles,
 * a seeded PRNG and readers for the real recorded fixtures.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AggTradeEvent, DepthEvent } from "../../src/core/market-events.ts";
import { ALL_KINDS, withComputedCells, type Row, type RowKind, type RowSink } from "../../src/core/rows.ts";
import type { Divergence, DivergenceEvent, FeatureRow, Features, Fusion, FusionOutput, Regime, Scenario } from "../../src/calc/contracts.ts";
import { prng } from "../helpers/prng.ts";
export { prng };

/** Copies every row on append (the RowSink contract: the engine reuses its row objects). */
export class MemorySink implements RowSink {
  readonly rows: Record<RowKind, Row[]>;
  constructor() {
    this.rows = Object.fromEntries(ALL_KINDS.map((k) => [k, [] as Row[]])) as Record<RowKind, Row[]>;
  }
  append(kind: RowKind, row: Row): void {
    // As a sink that stores rows: a copy, with row_id filled in.
    this.rows[kind].push(withComputedCells(kind, row));
  }
}

export type Level = readonly [number, number];

export function depth(
  T: number | null,
  U: number | null,
  u: number,
  pu: number | null,
  bids: readonly Level[],
  asks: readonly Level[],
  symbol = "BTCUSDT",
  E: number | null = T,
): DepthEvent {
  return {
    kind: "depth",
    symbol,
    eventTime: E,
    transactTime: T,
    firstId: U,
    lastId: u,
    prevLastId: pu,
    bids: Float64Array.from(bids.flat()),
    asks: Float64Array.from(asks.flat()),
  };
}

export function trade(T: number | null, a: number, p: number, q: number, m: boolean | null, symbol = "BTCUSDT", E: number | null = T): AggTradeEvent {
  return {
    kind: "aggTrade",
    symbol,
    eventTime: E,
    tradeTime: T,
    aggId: a,
    price: p,
    qty: q,
    firstTradeId: null,
    lastTradeId: null,
    buyerIsMaker: m,
  };
}

// ---- contract test doubles -------------------------------------------------------------------------

export class FixedRegime implements Regime {
  constructor(private readonly scenario: Scenario = "Q_L") {}
  onEvent(): void {}
  onTrade(): void {}
  onValidBook(): void {}
  label(): Scenario {
    return this.scenario;
  }
  ready(): boolean {
    return false;
  }
  realizedVolBps(): number {
    return 0;
  }
  tradesPerSecond(): number {
    return 0;
  }
}

/** Records its inputs; never evaluates (returns null). */
export class RecordingFusion implements Fusion {
  readonly ofiZ: Array<[number, number, number]> = [];
  readonly trades: Array<[number, number, number]> = [];
  onOfiZ(ofiZ: number, tsEff: number, tsMs: number): void {
    this.ofiZ.push([ofiZ, tsEff, tsMs]);
  }
  onTrade(zCvd: number, tsEff: number, tsMs: number): FusionOutput | null {
    this.trades.push([zCvd, tsEff, tsMs]);
    return null;
  }
}

export class RecordingDivergence implements Divergence {
  readonly resets: number[] = [];
  readonly ofi: number[] = [];
  onValidBook(): void {}
  onTrade(): void {}
  onOfi(_t: number, v: number): void {
    this.ofi.push(v);
  }
  onReset(t: number): void {
    this.resets.push(t);
  }
  advance(_b: number, _t: number, _out: DivergenceEvent[]): void {}
  finish(_out: DivergenceEvent[]): void {}
}

export class NullFeatures implements Features {
  onValidBook(): void {}
  onOfi(): void {}
  onTrade(): void {}
  onFusion(): void {}
  advance(_b: number, _t: number, _emit: (row: FeatureRow) => void): void {}
  finish(_emit: (row: FeatureRow) => void): void {}
}

export function doubles(): { regime: FixedRegime; fusion: RecordingFusion; divergence: RecordingDivergence; features: NullFeatures } {
  return { regime: new FixedRegime(), fusion: new RecordingFusion(), divergence: new RecordingDivergence(), features: new NullFeatures() };
}


// ---- real fixtures ---------------------------------------------------------------------------------

/** `shared/fixtures/binance` next to the repository (as test/fake-exchange/fixtures.ts). */
export const FIXTURES = join(import.meta.dir, "..", "..", "..", "shared", "fixtures", "binance");

/** aggTrade frames (one combined-stream frame per line) as events, in file order. */
export function readAggTradeFrames(path: string): AggTradeEvent[] {
  const out: AggTradeEvent[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.length === 0) continue;
    const d = JSON.parse(line).data as Record<string, unknown>;
    out.push({
      kind: "aggTrade",
      symbol: String(d.s),
      eventTime: typeof d.E === "number" ? d.E : null,
      tradeTime: typeof d.T === "number" ? d.T : null,
      aggId: d.a as number,
      price: Number(d.p),
      qty: Number(d.q),
      firstTradeId: typeof d.f === "number" ? d.f : null,
      lastTradeId: typeof d.l === "number" ? d.l : null,
      buyerIsMaker: typeof d.m === "boolean" ? d.m : null,
    });
  }
  return out;
}

export interface ReplayItem {
  readonly recv: number;
  readonly ev: DepthEvent | AggTradeEvent;
}

/**
 * hftbacktest recording (`<recv ns> <frame>` per line, gzip) as an arrival-order stream of top-5
 * depth snapshots and trades. The recording has diff depth (`@depth@0ms`) and `@trade`, not depth5
 * and aggTrade: a full book is maintained from the inline REST snapshot plus the diffs that follow it
 * (diffs with u < lastUpdateId are skipped), and each applied diff yields one top-5 snapshot with the
 * diff's E/T/U/u/pu. Trades become aggTrade-shaped events with `a = t` (one trade = one agg trade).
 * `maxLines` bounds the work for unit tests.
 */
export function readHftStream(path: string, maxLines = Number.POSITIVE_INFINITY): ReplayItem[] {
  const text = gunzipSync(readFileSync(path)).toString("utf8");
  const out: ReplayItem[] = [];
  const bids = new Map<number, number>();
  const asks = new Map<number, number>();
  let snapshotId = -1;
  const pending: Array<{ recv: number; d: Record<string, unknown> }> = [];
  let start = 0;
  let lines = 0;
  const apply = (recv: number, d: Record<string, unknown>): void => {
    if ((d.u as number) < snapshotId) return;
    for (const [p, q] of d.b as [string, string][]) setLevel(bids, Number(p), Number(q));
    for (const [p, q] of d.a as [string, string][]) setLevel(asks, Number(p), Number(q));
    out.push({
      recv,
      ev: {
        kind: "depth",
        symbol: String(d.s),
        eventTime: d.E as number,
        transactTime: d.T as number,
        firstId: d.U as number,
        lastId: d.u as number,
        prevLastId: d.pu as number,
        bids: top5(bids, true),
        asks: top5(asks, false),
      },
    });
  };
  while (start < text.length && lines < maxLines) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lines++;
    const sp = line.indexOf(" ");
    if (sp < 0) continue;
    const recv = Math.floor(Number(line.slice(0, sp)) / 1e6);
    const msg = JSON.parse(line.slice(sp + 1)) as Record<string, unknown>;
    if ("lastUpdateId" in msg) {
      snapshotId = msg.lastUpdateId as number;
      bids.clear();
      asks.clear();
      for (const [p, q] of msg.bids as [string, string][]) setLevel(bids, Number(p), Number(q));
      for (const [p, q] of msg.asks as [string, string][]) setLevel(asks, Number(p), Number(q));
      for (const x of pending) apply(x.recv, x.d);
      pending.length = 0;
      continue;
    }
    const stream = msg.stream as string;
    const d = msg.data as Record<string, unknown>;
    if (stream.includes("@depth")) {
      if (snapshotId < 0) pending.push({ recv, d });
      else apply(recv, d);
    } else if (stream.endsWith("@trade")) {
      out.push({
        recv,
        ev: {
          kind: "aggTrade",
          symbol: String(d.s),
          eventTime: d.E as number,
          tradeTime: d.T as number,
          aggId: d.t as number,
          price: Number(d.p),
          qty: Number(d.q),
          firstTradeId: d.t as number,
          lastTradeId: d.t as number,
          buyerIsMaker: d.m as boolean,
        },
      });
    }
  }
  return out;
}

function setLevel(side: Map<number, number>, p: number, q: number): void {
  if (q === 0) side.delete(p);
  else side.set(p, q);
}

function top5(side: Map<number, number>, desc: boolean): Float64Array {
  const best: number[] = [];
  for (const p of side.keys()) {
    // insertion into a 5-long sorted list: the map holds ~1000 levels, a full sort per message is waste
    let i = best.length;
    while (i > 0 && (desc ? best[i - 1] < p : best[i - 1] > p)) i--;
    if (i < 5) {
      best.splice(i, 0, p);
      if (best.length > 5) best.pop();
    }
  }
  const out = new Float64Array(best.length * 2);
  best.forEach((p, i) => {
    out[2 * i] = p;
    out[2 * i + 1] = side.get(p) as number;
  });
  return out;
}

