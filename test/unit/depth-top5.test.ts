// Full mode feeds the engine the top 5 of the full book; depth5 mode feeds it the exchange's depth5
// frames. On the same real recordings the two must agree: the depth5 frames here are the ones the fake
// exchange serves in depth5 mode (folded from the same diffs by its own, independent book), read by
// the depth5 path (frame parser → engine). For the @100ms recordings (one diff per 100 ms) the engine
// rows of both modes are identical, column for column; for @0ms ones the top 5 agree at every frame.
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import type { DepthEvent } from "../../src/core/market-events.ts";
import type { Row, RowSink } from "../../src/core/rows.ts";
import { DepthSync } from "../../src/exchange/binance/depth/depth-sync.ts";
import { parseSnapshot } from "../../src/exchange/binance/depth/snapshot.ts";
import { parseDepth } from "../../src/exchange/binance/frame-parser.ts";
import { levelsJson } from "../fake-exchange/book.ts";
import { loadRecording } from "../fake-exchange/fixtures.ts";
import { foldDepth5 } from "../fake-exchange/script.ts";

class Rows implements RowSink {
  readonly byKind = new Map<string, Row[]>();
  append(kind: string, row: Row): void {
    let l = this.byKind.get(kind);
    if (!l) this.byKind.set(kind, (l = []));
    l.push({ ...row });
  }
  get(kind: string): Row[] {
    return this.byKind.get(kind) ?? [];
  }
}

function depthEvent(symbol: string, text: string): DepthEvent {
  const r = parseDepth(symbol, JSON.parse(text) as Record<string, unknown>);
  if (!r.ok || r.event.kind !== "depth") throw new Error("unparseable");
  return r.event;
}

const RECORDINGS = ["cryptofeed-2021-04-05", "cryptofeed-2021-04-17", "hftbacktest-2024-08-08"] as const;

describe("top 5 of the full book = the depth5 path", () => {
  for (const id of RECORDINGS) {
    test(id, () => {
      const rec = loadRecording(id);
      for (const series of rec.symbols.values()) {
        const symbol = series.symbol;
        const params = indicatorParams();
        const fullRows = new Rows();
        const d5Rows = new Rows();
        const fullEngine = new SymbolEngine(symbol, params, fullRows);
        const d5Engine = new SymbolEngine(symbol, params, d5Rows);
        // Full mode: snapshot, then the diffs; the top events go to the engine as they come.
        const topAfter = new Map<number, string>();
        let lastTop = "";
        const sync = new DepthSync(symbol, { fullLevels: 5, maxLevels: 5000, snapshotEveryMs: 0, refreshBelow: 5 }, {
          top: (ev, recv) => {
            lastTop = `"b":${levelsJson(pairs(ev.bids))},"a":${levelsJson(pairs(ev.asks))}`;
            fullEngine.onDepth(ev, recv);
          },
          needSnapshot: () => {},
        }, null);
        const s = series.snapshot;
        const p = parseSnapshot(JSON.stringify({ lastUpdateId: s.lastUpdateId, E: s.E, T: s.T, bids: s.bids, asks: s.asks }), 1000);
        if (!p.ok) throw new Error(p.reason);
        sync.onSnapshot(p.snapshot, s.E);
        for (const d of series.diffs) {
          sync.onDiff(depthEvent(symbol, JSON.stringify({ e: "depthUpdate", E: d.E, T: d.T, s: symbol, U: d.U, u: d.u, pu: d.pu, b: d.b, a: d.a })), d.E);
          if (sync.state === "synced") topAfter.set(d.u, lastTop);
        }
        // Depth5 mode: the fake exchange's depth5 frames, through the frame parser into the engine.
        const fold = foldDepth5(series);
        let compared = 0;
        for (const item of fold.items) {
          const last = series.diffs[item.diffEnd - 1]!;
          const text = `{"e":"depthUpdate","E":${last.E},"T":${last.T},"s":"${symbol}","U":${item.U},"u":${item.u},"pu":${item.pu},${item.book}}`;
          d5Engine.onDepth(depthEvent(symbol, text), last.E);
          const mine = topAfter.get(item.u);
          if (mine === undefined) continue; // the window ran out (no later snapshot in the recording)
          expect(numeric(mine)).toEqual(numeric(item.book));
          compared++;
        }
        expect(compared).toBeGreaterThan(fold.items.length * 0.5);
        if (id.startsWith("cryptofeed")) {
          // One diff per 100 ms cell: the same top-5 sequence, so the same rows in both modes.
          for (const kind of ["orderbook", "ofi"]) {
            expect(fullRows.get(kind).length).toBeGreaterThan(10);
            expect(fullRows.get(kind)).toEqual(d5Rows.get(kind));
          }
        }
      }
    }, 60_000);
  }
});

function pairs(flat: Float64Array): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])]);
  return out;
}

/** Level texts as numbers (the recorded texts carry trailing zeros, the book's numbers do not). */
function numeric(book: string): number[][][] {
  const o = JSON.parse(`{${book}}`) as { b: [string, string][]; a: [string, string][] };
  return [o.b.map(([p, q]) => [Number(p), Number(q)]), o.a.map(([p, q]) => [Number(p), Number(q)])];
}
