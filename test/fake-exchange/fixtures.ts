// Loads the real Binance recordings from the shared fixture folder (read in place, never copied into
// the repo) and turns them into plain per-symbol series: diff-depth events, the REST snapshot, and
// trades already in aggTrade form.
import { gunzipSync } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const FIXTURE_DIR = join(import.meta.dir, "..", "..", "..", "shared", "fixtures", "binance");

export type PriceLevel = readonly [price: string, qty: string];

export interface DiffEvent {
  readonly E: number;
  readonly T: number;
  readonly U: number;
  readonly u: number;
  readonly pu: number;
  readonly b: readonly PriceLevel[];
  readonly a: readonly PriceLevel[];
}

export interface DepthSnapshot {
  readonly lastUpdateId: number;
  readonly E: number;
  readonly T: number;
  readonly bids: readonly PriceLevel[];
  readonly asks: readonly PriceLevel[];
}

/** One aggregate trade with the recorded (not yet rewritten) times and ids. */
export interface RecordedAggTrade {
  readonly E: number;
  readonly T: number;
  readonly a: number;
  readonly p: string;
  readonly q: string;
  readonly f: number;
  readonly l: number;
  readonly m: boolean;
}

export interface SymbolSeries {
  readonly symbol: string;
  readonly recording: string;
  readonly diffs: readonly DiffEvent[];
  readonly snapshot: DepthSnapshot;
  readonly trades: readonly RecordedAggTrade[];
  /** "aggTrade" = recorded as-is; "trade" = aggregated here from the @trade stream. */
  readonly tradeOrigin: "aggTrade" | "trade";
}

export interface Recording {
  readonly id: string;
  readonly symbols: ReadonlyMap<string, SymbolSeries>;
}

interface CatalogEntry {
  readonly id: string;
  readonly kind: "cryptofeed" | "hftbacktest";
  readonly files: readonly string[];
  readonly symbols: readonly string[];
}

// Recordings made at the same time share one entry so their symbols replay in step.
const CATALOG: readonly CatalogEntry[] = [
  {
    id: "cryptofeed-2021-04-05",
    kind: "cryptofeed",
    files: ["cryptofeed/BINANCE_FUTURES-1125a2.0"],
    symbols: ["BATUSDT", "CHRUSDT", "CTKUSDT", "NEOUSDT", "SANDUSDT"],
  },
  {
    id: "cryptofeed-2021-04-17",
    kind: "cryptofeed",
    files: ["cryptofeed/BINANCE_FUTURES.ws.5.0", "cryptofeed/BINANCE_FUTURES.http.4.0"],
    symbols: ["DENTUSDT", "KSMUSDT", "XMRUSDT", "YFIUSDT"],
  },
  {
    id: "hftbacktest-2024-08-08",
    kind: "hftbacktest",
    files: ["hftbacktest/btcusdt_20240808.gz", "hftbacktest/ethusdt_20240808.gz"],
    symbols: ["BTCUSDT", "ETHUSDT"],
  },
];

export const REAL_SYMBOLS: readonly string[] = CATALOG.flatMap((c) => c.symbols);

export function recordingIdOf(symbol: string): string | undefined {
  return CATALOG.find((c) => c.symbols.includes(symbol))?.id;
}

const AGG_TRADE_KEYS = "e,E,a,s,p,q,f,l,T,m";

class SeriesBuilder {
  readonly diffs: DiffEvent[] = [];
  readonly trades: RecordedAggTrade[] = [];
  readonly rawTrades: { E: number; T: number; t: number; p: string; q: string; m: boolean }[] = [];
  snapshot: DepthSnapshot | undefined;
  constructor(readonly symbol: string) {}
}

function builderFor(map: Map<string, SeriesBuilder>, symbol: string): SeriesBuilder {
  let b = map.get(symbol);
  if (!b) map.set(symbol, (b = new SeriesBuilder(symbol)));
  return b;
}

function takeFrame(map: Map<string, SeriesBuilder>, frameText: string, where: string): void {
  // Stream name sits at a fixed place in the wrapper; peeking at it skips parsing the frames we
  // do not serve (bookTicker is ~70% of the hftbacktest lines).
  if (!frameText.startsWith('{"stream":"')) throw new Error(`${where}: not a combined-stream frame`);
  const end = frameText.indexOf('"', 11);
  const stream = frameText.slice(11, end);
  const at = stream.indexOf("@");
  const kind = stream.slice(at + 1);
  if (kind !== "aggTrade" && kind !== "trade" && kind !== "depth@100ms" && kind !== "depth@0ms") return;
  const data = JSON.parse(frameText).data;
  const b = builderFor(map, data.s);
  if (kind === "aggTrade") {
    if (Object.keys(data).join(",") !== AGG_TRADE_KEYS) throw new Error(`${where}: unexpected aggTrade fields`);
    b.trades.push({ E: data.E, T: data.T, a: data.a, p: data.p, q: data.q, f: data.f, l: data.l, m: data.m });
  } else if (kind === "trade") {
    b.rawTrades.push({ E: data.E, T: data.T, t: data.t, p: data.p, q: data.q, m: data.m });
  } else {
    b.diffs.push({ E: data.E, T: data.T, U: data.U, u: data.u, pu: data.pu, b: data.b, a: data.a });
  }
}

function takeSnapshot(map: Map<string, SeriesBuilder>, symbol: string, body: string): void {
  const s = JSON.parse(body);
  builderFor(map, symbol).snapshot = {
    lastUpdateId: s.lastUpdateId,
    E: s.E,
    T: s.T,
    bids: s.bids,
    asks: s.asks,
  };
}

const CF_FRAME = /^([0-9.]+): (.*)$/;
const CF_REST = /^(https?:\/\/\S+) -> ([0-9.]+): (.*)$/;

function parseCryptofeed(text: string, file: string, map: Map<string, SeriesBuilder>): void {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    const rest = CF_REST.exec(line);
    if (rest) {
      const url = new URL(rest[1]);
      if (url.pathname === "/fapi/v1/depth") takeSnapshot(map, url.searchParams.get("symbol")!, rest[3]);
      continue;
    }
    const frame = CF_FRAME.exec(line);
    if (frame) takeFrame(map, frame[2], `${file}:${i + 1}`);
    // Other lines: cryptofeed configuration and "<url> <-> <time>" connection markers.
  }
}

function parseHftbacktest(text: string, file: string, map: Map<string, SeriesBuilder>): void {
  const lines = text.split("\n");
  // Each file holds one symbol; its REST snapshot line carries no symbol, so take it from the frames.
  let snapshotBody: string | undefined;
  let symbol: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    const body = line.slice(line.indexOf(" ") + 1);
    if (body.startsWith('{"lastUpdateId"')) {
      snapshotBody = body;
      continue;
    }
    if (!symbol) symbol = /"s":"([A-Z0-9]+)"/.exec(body)?.[1];
    takeFrame(map, body, `${file}:${i + 1}`);
  }
  if (!snapshotBody || !symbol) throw new Error(`${file}: no REST snapshot or no symbol`);
  takeSnapshot(map, symbol, snapshotBody);
}

/**
 * Turns @trade prints into aggTrades the way the exchange aggregates them: consecutive fills of one
 * taker order share price, side and trade time. The recordings carry no aggTrade ids, so `a` is
 * numbered from a made-up base (about half the trade id, the ratio seen on real BTCUSDT in 2024).
 */
export function aggregateTrades(
  raw: readonly { E: number; T: number; t: number; p: string; q: string; m: boolean }[],
): RecordedAggTrade[] {
  const out: RecordedAggTrade[] = [];
  if (raw.length === 0) return out;
  let a = Math.floor(raw[0].t / 2);
  let i = 0;
  while (i < raw.length) {
    const first = raw[i];
    let j = i + 1;
    while (j < raw.length && raw[j].p === first.p && raw[j].m === first.m && raw[j].T === first.T && raw[j].t === raw[j - 1].t + 1) j++;
    const group = raw.slice(i, j);
    const last = group[group.length - 1];
    out.push({ E: last.E, T: first.T, a: a++, p: first.p, q: sumQty(group.map((g) => g.q)), f: first.t, l: last.t, m: first.m });
    i = j;
  }
  return out;
}

/** Decimal-exact sum that keeps the recorded number of decimals (the lot step). */
export function sumQty(qs: readonly string[]): string {
  if (qs.length === 1) return qs[0];
  const decimals = Math.max(...qs.map((q) => (q.includes(".") ? q.length - q.indexOf(".") - 1 : 0)));
  let total = 0n;
  for (const q of qs) {
    const [int, frac = ""] = q.split(".");
    total += BigInt(int + frac.padEnd(decimals, "0"));
  }
  if (decimals === 0) return total.toString();
  const s = total.toString().padStart(decimals + 1, "0");
  return `${s.slice(0, s.length - decimals)}.${s.slice(s.length - decimals)}`;
}

const cache = new Map<string, Recording>();

function readText(rel: string): string {
  const path = join(FIXTURE_DIR, rel);
  const bytes = readFileSync(path);
  return new TextDecoder().decode(rel.endsWith(".gz") ? gunzipSync(bytes) : bytes);
}

/** Parsed recording, cached for the process: several fake exchanges in one test run parse once. */
export function loadRecording(id: string): Recording {
  const hit = cache.get(id);
  if (hit) return hit;
  const entry = CATALOG.find((c) => c.id === id);
  if (!entry) throw new Error(`unknown recording ${id}`);
  const map = new Map<string, SeriesBuilder>();
  for (const file of entry.files) {
    const text = readText(file);
    if (entry.kind === "cryptofeed") parseCryptofeed(text, file, map);
    else parseHftbacktest(text, file, map);
  }
  const symbols = new Map<string, SymbolSeries>();
  for (const symbol of entry.symbols) {
    const b = map.get(symbol);
    if (!b || !b.snapshot || b.diffs.length === 0) throw new Error(`${id}: ${symbol} lacks a snapshot or depth events`);
    const fromTrades = b.trades.length === 0 && b.rawTrades.length > 0;
    // Arrival order is not event order across streams; the script is built in event time.
    const trades = fromTrades ? aggregateTrades(b.rawTrades.sort((x, y) => x.t - y.t)) : b.trades.sort((x, y) => x.a - y.a);
    symbols.set(symbol, {
      symbol,
      recording: id,
      diffs: b.diffs.sort((x, y) => x.u - y.u),
      snapshot: b.snapshot,
      trades,
      tradeOrigin: fromTrades ? "trade" : "aggTrade",
    });
  }
  const rec: Recording = { id, symbols };
  cache.set(id, rec);
  return rec;
}

let exchangeInfoCache: { readonly text: string } | undefined;

/** The real captured `GET /fapi/v1/exchangeInfo` body (2021-07-22, 122 symbols), as text. */
export function loadExchangeInfoText(): string {
  if (!exchangeInfoCache) {
    const text = readText("cryptofeed/BINANCE_FUTURES.0");
    const line = text.split("\n").find((l) => CF_REST.test(l) && l.includes("/fapi/v1/exchangeInfo"));
    if (!line) throw new Error("exchangeInfo capture not found");
    exchangeInfoCache = { text: CF_REST.exec(line)![3] };
  }
  return exchangeInfoCache.text;
}
