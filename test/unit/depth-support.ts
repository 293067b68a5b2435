// Real recorded diff depth, in ARRIVAL order per symbol, with the REST snapshots at the place they
// arrived and the bookTicker frames (the exchange's own best bid/ask at an update id) alongside.
// Read in place from ../shared/fixtures/binance (never copied). The fake exchange's loader sorts by id
// and keeps one snapshot per symbol, so the tests here read the files themselves.
import { gunzipSync } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURE_DIR } from "../fake-exchange/fixtures.ts";

export type ArrivalItem =
  | { readonly type: "diff"; readonly recv: number; readonly data: Record<string, unknown> }
  | { readonly type: "snapshot"; readonly recv: number; readonly body: string; readonly limit: number }
  | { readonly type: "bookTicker"; readonly recv: number; readonly data: { u: number; b: string; B: string; a: string; A: string } };

export interface ArrivalFile {
  readonly name: string;
  readonly bySymbol: ReadonlyMap<string, ArrivalItem[]>;
}

function read(rel: string): string {
  const bytes = readFileSync(join(FIXTURE_DIR, rel));
  return new TextDecoder().decode(rel.endsWith(".gz") ? gunzipSync(bytes) : bytes);
}

function push(map: Map<string, ArrivalItem[]>, symbol: string, it: ArrivalItem): void {
  let l = map.get(symbol);
  if (!l) map.set(symbol, (l = []));
  l.push(it);
}

function takeFrame(map: Map<string, ArrivalItem[]>, recv: number, text: string): void {
  const w = JSON.parse(text) as { stream: string; data: Record<string, unknown> };
  const d = w.data;
  if (d.e === "depthUpdate") push(map, d.s as string, { type: "diff", recv, data: d });
  else if (d.e === "bookTicker") push(map, d.s as string, { type: "bookTicker", recv, data: d as never });
}

const CF_FRAME = /^([0-9.]+): (.*)$/;
const CF_REST = /^(https?:\/\/\S+) -> ([0-9.]+): (.*)$/;

/** A cryptofeed recording (one or two files merged by receipt time). */
export function loadCryptofeed(files: readonly string[]): ArrivalFile {
  const lines: { recv: number; kind: "frame" | "rest"; url?: string; text: string }[] = [];
  for (const f of files) {
    for (const line of read(`cryptofeed/${f}`).split("\n")) {
      const r = CF_REST.exec(line);
      if (r) {
        lines.push({ recv: Number(r[2]) * 1000, kind: "rest", url: r[1], text: r[3]! });
        continue;
      }
      const m = CF_FRAME.exec(line);
      if (m) lines.push({ recv: Number(m[1]) * 1000, kind: "frame", text: m[2]! });
    }
  }
  lines.sort((a, b) => a.recv - b.recv);
  const map = new Map<string, ArrivalItem[]>();
  for (const l of lines) {
    if (l.kind === "frame") takeFrame(map, l.recv, l.text);
    else {
      const url = new URL(l.url!);
      if (url.pathname !== "/fapi/v1/depth") continue;
      push(map, url.searchParams.get("symbol")!, { type: "snapshot", recv: l.recv, body: l.text, limit: Number(url.searchParams.get("limit")) });
    }
  }
  return { name: files.join("+"), bySymbol: map };
}

/** An hftbacktest file: one symbol; the REST line carries no symbol, it is the file's. */
export function loadHftbacktest(file: string): ArrivalFile {
  const map = new Map<string, ArrivalItem[]>();
  let symbol = "";
  const pendingSnaps: ArrivalItem[] = [];
  for (const line of read(`hftbacktest/${file}`).split("\n")) {
    if (line.length === 0) continue;
    const sp = line.indexOf(" ");
    const ts = line.slice(0, sp);
    const recv = ts.length >= 19 ? Number(ts) / 1e6 : Number(ts) / 1e3;
    const body = line.slice(sp + 1);
    if (body.startsWith('{"lastUpdateId"')) {
      const it: ArrivalItem = { type: "snapshot", recv, body, limit: 1000 };
      if (symbol === "") pendingSnaps.push(it);
      else push(map, symbol, it);
      continue;
    }
    if (symbol === "") {
      symbol = /"s":"([A-Z0-9]+)"/.exec(body)![1]!;
      for (const s of pendingSnaps) push(map, symbol, s);
    }
    takeFrame(map, recv, body);
  }
  return { name: file, bySymbol: map };
}

export const REAL_FILES: readonly (() => ArrivalFile)[] = [
  () => loadHftbacktest("btcusdt_20240808.gz"),
  () => loadHftbacktest("ethusdt_20240808.gz"),
  () => loadHftbacktest("btcusdt_20240718.gz"),
  () => loadHftbacktest("btcusdt_20230404.dat.gz"),
  () => loadCryptofeed(["BINANCE_FUTURES-1125a2.0"]),
  () => loadCryptofeed(["BINANCE_FUTURES.ws.5.0", "BINANCE_FUTURES.http.4.0"]),
  () => loadCryptofeed(["BINANCE_FUTURES.ws.1.0", "BINANCE_FUTURES.http.0.0"]),
];
