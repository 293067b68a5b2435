/**
 * An independent, deliberately naive re-implementation of docs/indicators.md (prices, orderbook mid/spread,
 * OFI §5, CVD delta/hybrid §6.2, fusion §7) used to check what the binary wrote. It shares no code
 * with src/calc: windows are plain arrays, medians are full sorts, everything follows that document's text
 * literally with the default parameters. Only what the e2e test compares is implemented.
 */
import { createHash } from "node:crypto";

type Line = Record<string, unknown>;
type Levels = [number, number][];

export interface RefPrices { a: number; ts: number; price: number; qty: number; bestBuy: number | null; bestSell: number | null; rowId: string }
export interface RefBook { u: number; ts: number; mid: number | null; spreadBps: number | null }
export interface RefOfi { u: number; ts: number; value: number; z: number | null }
export interface RefCvd { a: number; ts: number; delta: number; cvd: number; zRaw: number | null; zCvd: number | null }
export interface RefFusion { a: number; ts: number; score: number; signal: string; consistency: number; degraded: boolean }

export interface RefResult {
  prices: RefPrices[];
  books: RefBook[];
  ofi: RefOfi[];
  cvd: RefCvd[];
  fusion: RefFusion[];
}

const W = [0.4, 0.25, 0.2, 0.1, 0.05];

function side(raw: unknown, bids: boolean): Levels {
  const out: Levels = [];
  const seen = new Set<number>();
  for (const l of raw as unknown[]) {
    const p = Number((l as string[])[0]);
    const q = Number((l as string[])[1]);
    if (!Number.isFinite(p) || !Number.isFinite(q) || p <= 0 || q <= 0) continue;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push([p, q]);
  }
  out.sort((x, y) => (bids ? y[0] - x[0] : x[0] - y[0]));
  return out.slice(0, 5);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

const clip = (x: number, l: number) => Math.max(-l, Math.min(l, x));
const sgn = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

export function recompute(symbol: string, lines: readonly Line[]): RefResult {
  const res: RefResult = { prices: [], books: [], ofi: [], cvd: [], fusion: [] };
  // Book state.
  let lastU: number | null = null;
  let bookTsEff = Number.NEGATIVE_INFINITY;
  let base: { b: Levels; a: Levels } | null = null;
  const hist: number[] = [];
  const validBooks: { ts: number; bid: number; ask: number }[] = [];
  let lastOfi: { z: number; tsEff: number } | null = null;
  // Trade state.
  let lastA: number | null = null;
  let tradeTsEff = Number.NEGATIVE_INFINITY;
  let cvd = 0;
  let fast = 0;
  let slow = 0;
  let n = 0;
  let freeze = 0;
  const deltas: number[] = [];

  let sessions = 0;
  for (const line of lines) {
    if (line.event === "session") {
      if (++sessions > 1) throw new Error("reference: several sessions in one log are not handled");
      continue;
    }
    if (line.event === "disconnect" && line.route === "public") {
      lastU = null;
      base = null;
      hist.length = 0;
      continue;
    }
    if (line.event !== undefined && line.event !== "backfill") continue;
    const stream = line.stream as string;
    const d = line.data as Record<string, unknown>;
    if (stream.endsWith("@depth5@100ms")) {
      const u = d.u as number;
      if (lastU !== null && u <= lastU) continue;
      const ts = (d.T ?? d.E) as number;
      const tsEff = Math.max(ts, bookTsEff);
      const b = side(d.b, true);
      const a = side(d.a, false);
      const gap = tsEff - bookTsEff;
      lastU = u;
      bookTsEff = tsEff;
      if (b.length === 0 || a.length === 0) {
        res.books.push({ u, ts, mid: null, spreadBps: null });
        continue;
      }
      const mid = (b[0]![0] + a[0]![0]) / 2;
      res.books.push({ u, ts, mid, spreadBps: ((a[0]![0] - b[0]![0]) / mid) * 1e4 });
      if (b[0]![0] >= a[0]![0]) continue;
      validBooks.push({ ts, bid: b[0]![0], ask: a[0]![0] });
      if (base === null || gap > 2000) {
        base = { b, a };
        hist.length = 0;
        continue;
      }
      let value = 0;
      for (let m = 0; m < 5; m++) {
        const pb0 = base.b[m]?.[0] ?? Number.NEGATIVE_INFINITY, qb0 = base.b[m]?.[1] ?? 0;
        const pb1 = b[m]?.[0] ?? Number.NEGATIVE_INFINITY, qb1 = b[m]?.[1] ?? 0;
        const pa0 = base.a[m]?.[0] ?? Number.POSITIVE_INFINITY, qa0 = base.a[m]?.[1] ?? 0;
        const pa1 = a[m]?.[0] ?? Number.POSITIVE_INFINITY, qa1 = a[m]?.[1] ?? 0;
        const ofb = pb1 > pb0 ? qb1 : pb1 === pb0 ? qb1 - qb0 : -qb0;
        const ofa = pa1 > pa0 ? -qa0 : pa1 === pa0 ? qa1 - qa0 : qa1;
        value += W[m]! * (ofb - ofa);
      }
      let z: number | null = null;
      if (hist.length >= 16) {
        const mu = hist.reduce((s, x) => s + x, 0) / hist.length;
        const sd = Math.sqrt(hist.reduce((s, x) => s + (x - mu) ** 2, 0) / (hist.length - 1));
        z = clip((value - mu) / Math.max(sd, 1e-9), 3);
      }
      hist.push(value);
      if (hist.length > 80) hist.shift();
      base = { b, a };
      res.ofi.push({ u, ts, value, z });
      if (z !== null) lastOfi = { z, tsEff };
    } else if (stream.endsWith("@aggTrade")) {
      const id = d.a as number;
      if (lastA !== null && id <= lastA) continue;
      lastA = id;
      const p = Number(d.p), q = Number(d.q);
      if (!(p > 0) || !(q > 0) || typeof d.m !== "boolean") continue;
      const ts = (d.T ?? d.E) as number;
      const prevEff = tradeTsEff;
      const tsEff = Math.max(ts, tradeTsEff);
      tradeTsEff = tsEff;
      // Prices row: the latest processed valid book with ts ≤ the trade's ts.
      let fill: { bid: number; ask: number } | null = null;
      for (let i = validBooks.length - 1; i >= 0; i--) if (validBooks[i]!.ts <= ts) { fill = validBooks[i]!; break; }
      res.prices.push({ a: id, ts, price: p, qty: q, bestBuy: fill?.ask ?? null, bestSell: fill?.bid ?? null, rowId: createHash("md5").update(`${symbol}|${id}|price`).digest("hex") });
      // CVD, delta mode, hybrid scale.
      const delta = (d.m ? -1 : 1) * q;
      cvd += delta;
      n++;
      const abs = Math.abs(delta);
      if (n === 1) {
        fast = abs;
        slow = abs;
      } else {
        const dt = Math.max(tsEff - prevEff, 1) / 1000;
        const af = 1 - Math.exp((-Math.LN2 * dt) / 60);
        const as = 1 - Math.exp((-Math.LN2 * dt) / 600);
        fast = (1 - af) * fast + af * abs;
        slow = (1 - as) * slow + as * abs;
      }
      deltas.push(delta);
      if (deltas.length > 200) deltas.shift();
      let mad = 0;
      if (deltas.length >= 50) {
        const med = median(deltas);
        mad = 1.4826 * median(deltas.map((x) => Math.abs(x - med)));
      }
      const scale = Math.max(0.2 * fast + 0.8 * slow, 1.8 * mad, 1e-12);
      if (n > 1 && tsEff - prevEff > 5000) freeze = 2;
      let zRaw: number | null = delta / scale;
      if (freeze > 0) {
        freeze--;
        zRaw = null;
      }
      if (n < 20) zRaw = null;
      const zCvd = zRaw === null ? null : clip(zRaw, 8);
      res.cvd.push({ a: id, ts, delta, cvd, zRaw, zCvd });
      // Fusion on every trade with a z, once an OFI z exists.
      if (zCvd !== null && lastOfi !== null) {
        const zo = clip(lastOfi.z, 4), zc = clip(zCvd, 4);
        const lag = Math.abs(tsEff - lastOfi.tsEff);
        const degraded = lag > 3000;
        const score = degraded ? zc : 0.6 * zo + 0.4 * zc;
        const consistency = degraded ? 1 : Math.abs(zo) < 1e-9 || Math.abs(zc) < 1e-9 || sgn(zo) !== sgn(zc) ? 0 : Math.min(Math.abs(zo), Math.abs(zc)) / Math.max(Math.abs(zo), Math.abs(zc));
        const signal = score > 1.2 && consistency > 0.2 ? "buy" : score < -1.2 && consistency > 0.2 ? "sell" : "neutral";
        res.fusion.push({ a: id, ts, score, signal, consistency, degraded });
      }
    }
  }
  return res;
}
