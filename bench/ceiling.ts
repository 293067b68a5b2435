/**
 * Ceiling: how many frames per second this machine can receive over a loopback WebSocket, and how
 * many it can turn into events, before any calculator runs.
 *
 * Parse (one process, one core): the same real frames (bench/lib/frames.ts) through
 *   reference  JSON.parse → parseStreamName → parseData → rawDataText (frame-intake.ts's fallback)
 *   scanner    scanFrame → stream name slice → symbol lookup → event + payload slice (the wiring
 *              docs/performance.md proposes), falling back to the reference for what it does not scan
 * per kind (depth5, aggTrade, mixed), repeated passes for a fixed time, median of the repeats; and
 * the same mixed frames as NDJSON raw-log lines (replay's input):
 *   reference  JSON.parse → applyRecord's checks → parseStreamName → parseData (what replay does today)
 *   scanner    scanDataLine → stream → symbol lookup → event
 *
 * Receive: bench/lib/ws-sender.ts in its own process blasts the mixed frames (corked batches, waits
 * on backpressure, never drops) to one client for a fixed time, then sends `END <count>`; the client
 * counts frames from the first to END and checks none is missing. Clients:
 *   native       Bun's WebSocket, text frames arrive as strings
 *   ws           the `ws` API (what src/exchange/binance/connection.ts uses): Buffer, then toString("utf8")
 *   native+scan  native, and every frame scanned (falls back to the reference when not scanned)
 *
 * Usage: bun bench/ceiling.ts [--quick]. Writes bench/results/ceiling-<date>.json.
 */
import WS from "ws";
import type { MarketEvent } from "../src/core/market-events.ts";
import { parseData, rawDataText } from "../src/exchange/binance/frame-parser.ts";
import { FrameScan, SCAN_AGG_TRADE, SCAN_FALLBACK, scanDataLine, scanFrame } from "../src/exchange/binance/scanner.ts";
import { parseStreamName } from "../src/exchange/binance/streams.ts";
import { dataLine } from "../src/core/raw-log.ts";
import { loadFrameSets } from "./lib/frames.ts";
import { header, median, printTable, QUICK, writeResult } from "./lib/report.ts";

const PARSE_MS = QUICK ? 300 : 3000;
const REPEATS = QUICK ? 1 : 5;
const RECEIVE_SEC = QUICK ? 1 : 5;

let sink = 0; // keeps the work observable so the JIT cannot drop it

function reference(text: string): MarketEvent | null {
  const w = JSON.parse(text) as { stream: string; data: unknown };
  const sp = parseStreamName(w.stream);
  if (sp === null) return null;
  const r = parseData(sp.kind, sp.symbol, w.data);
  sink += rawDataText(text, w).length;
  return r.ok ? r.event : null;
}

/** What the router would do with the scanner: stream → symbol through a map, event, payload text. */
function scanned(text: string, scan: FrameScan, symbols: Map<string, string>): MarketEvent | null {
  const k = scanFrame(text, scan);
  if (k === SCAN_FALLBACK) return reference(text);
  const stream = text.slice(scan.streamStart, scan.streamEnd);
  let symbol = symbols.get(stream);
  if (symbol === undefined) {
    symbol = parseStreamName(stream)?.symbol ?? "";
    symbols.set(stream, symbol);
  }
  sink += scan.dataEnd - scan.dataStart;
  return k === SCAN_AGG_TRADE ? scan.tradeEvent(symbol) : scan.depthEvent(symbol);
}

/** What replay does with a line today (applyRecord → applyData, minus the engine). */
function referenceLine(line: string): MarketEvent | null {
  const rec = JSON.parse(line) as Record<string, unknown>;
  if (typeof rec.ts_recv !== "number" || rec.event !== undefined || typeof rec.stream !== "string") return null;
  const sp = parseStreamName(rec.stream);
  if (sp === null) return null;
  const r = parseData(sp.kind, sp.symbol, rec.data);
  sink += rec.ts_recv;
  return r.ok ? r.event : null;
}

function scannedLine(line: string, scan: FrameScan, symbols: Map<string, string>): MarketEvent | null {
  const k = scanDataLine(line, scan);
  if (k === SCAN_FALLBACK) return referenceLine(line);
  const stream = line.slice(scan.streamStart, scan.streamEnd);
  let symbol = symbols.get(stream);
  if (symbol === undefined) {
    symbol = parseStreamName(stream)?.symbol ?? "";
    symbols.set(stream, symbol);
  }
  sink += scan.tsRecv;
  return k === SCAN_AGG_TRADE ? scan.tradeEvent(symbol) : scan.depthEvent(symbol);
}

function touch(ev: MarketEvent | null): void {
  if (ev === null) return;
  sink += ev.kind === "aggTrade" ? ev.price : ev.bids[0]!;
}

function rate(frames: readonly string[], fn: (t: string) => MarketEvent | null): number {
  for (const t of frames) touch(fn(t)); // warm-up pass
  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let n = 0;
    const t0 = performance.now();
    let el = 0;
    do {
      for (let i = 0; i < frames.length; i++) touch(fn(frames[i]!));
      n += frames.length;
      el = performance.now() - t0;
    } while (el < PARSE_MS);
    rates.push((n / el) * 1000);
  }
  return Math.round(median(rates));
}

interface ReceiveResult {
  readonly client: string;
  readonly frames: number;
  readonly seconds: number;
  readonly frames_per_s: number;
  readonly mb_per_s: number;
  readonly missing: number;
}

async function receive(port: number, client: "native" | "ws" | "native+scan"): Promise<ReceiveResult> {
  const url = `ws://127.0.0.1:${port}/?seconds=${RECEIVE_SEC}`;
  const scan = new FrameScan();
  const symbols = new Map<string, string>();
  let n = 0;
  let bytes = 0;
  let t0 = 0;
  return await new Promise<ReceiveResult>((resolve, reject) => {
    const finish = (text: string) => {
      const el = (performance.now() - t0) / 1000;
      const sent = Number(text.slice(4));
      resolve({ client, frames: n, seconds: Math.round(el * 100) / 100, frames_per_s: Math.round(n / el), mb_per_s: Math.round(bytes / el / 1e5) / 10, missing: sent - n });
    };
    const onText = (text: string) => {
      if (n === 0) t0 = performance.now();
      if (text.charCodeAt(0) === 69 /* E */ && text.startsWith("END ")) return finish(text);
      n++;
      bytes += text.length;
      if (client === "native+scan") touch(scanned(text, scan, symbols));
    };
    if (client === "ws") {
      const ws = new WS(url);
      ws.on("message", (data: Buffer) => {
        const text = data.toString("utf8");
        onText(text);
        if (text.startsWith("END ")) ws.close();
      });
      ws.on("error", reject);
    } else {
      const ws = new WebSocket(url);
      ws.onmessage = (e) => {
        onText(e.data as string);
        if ((e.data as string).startsWith("END ")) ws.close();
      };
      ws.onerror = () => reject(new Error("websocket error"));
    }
  });
}

async function main(): Promise<void> {
  const startLoad = header("ceiling", "loopback WebSocket receive rate and frame parse rate (reference vs scanner)");
  const sets = loadFrameSets();
  const scan = new FrameScan();
  const symbols = new Map<string, string>();

  const parseRows: Record<string, unknown>[] = [];
  for (const [kind, frames] of [
    ["depth5", sets.depth],
    ["aggTrade", sets.aggTrade],
    ["mixed", sets.mixed],
  ] as const) {
    const ref = rate(frames, reference);
    const sc = rate(frames, (t) => scanned(t, scan, symbols));
    parseRows.push({ frames: kind, count: frames.length, reference_per_s: ref, scanner_per_s: sc, speedup: Math.round((sc / ref) * 10) / 10, scanner_ns: Math.round(1e9 / sc) });
  }
  const lines = sets.mixed.map((f, i) => {
    const i0 = f.indexOf('"stream":"') + 10;
    return dataLine(1_763_000_000_000 + i, f.slice(i0, f.indexOf('"', i0)), 3, 0.012, f.slice(f.indexOf(',"data":') + 8, -1));
  });
  {
    const ref = rate(lines, referenceLine);
    const sc = rate(lines, (t) => scannedLine(t, scan, symbols));
    parseRows.push({ frames: "mixed as raw-log lines", count: lines.length, reference_per_s: ref, scanner_per_s: sc, speedup: Math.round((sc / ref) * 10) / 10, scanner_ns: Math.round(1e9 / sc) });
  }
  console.log("\nparse (frames/s, one core):");
  printTable(parseRows);

  const sender = Bun.spawn([process.execPath, `${import.meta.dir}/lib/ws-sender.ts`], { stdout: "pipe", stderr: "inherit" });
  const reader = sender.stdout.getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("ws-sender exited before printing its port");
    first += new TextDecoder().decode(value);
  }
  const { port } = JSON.parse(first.slice(0, first.indexOf("\n"))) as { port: number };
  const recvRows: ReceiveResult[] = [];
  try {
    for (const client of ["native", "ws", "native+scan"] as const) {
      const runs: ReceiveResult[] = [];
      for (let r = 0; r < (QUICK ? 1 : 3); r++) runs.push(await receive(port, client));
      runs.sort((a, b) => a.frames_per_s - b.frames_per_s);
      recvRows.push(runs[runs.length >> 1]!);
    }
  } finally {
    sender.kill("SIGTERM");
    await sender.exited;
  }
  console.log(`\nreceive over loopback (frames/s, sender in its own process, ${RECEIVE_SEC} s per run, median of ${QUICK ? 1 : 3}):`);
  printTable(recvRows as unknown as Record<string, unknown>[]);
  if (recvRows.some((r) => r.missing !== 0)) throw new Error("frames went missing on loopback");

  writeResult("ceiling", startLoad, { parse_ms_per_repeat: PARSE_MS, repeats: REPEATS, parse: parseRows, receive: recvRows, checksum: sink });
}

await main();
