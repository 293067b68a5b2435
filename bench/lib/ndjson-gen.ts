/**
 * Writes NDJSON raw logs exactly as the live collector lays them out (src/core/raw-log.ts line
 * formats, `date=…/symbol=…/raw-HH.ndjson`), from real traffic: N clones of BTCUSDT 2024-08-08 as the
 * fake exchange renders them (depth5 folded from the recorded diff depth, aggregated trades), looped
 * with ids shifted so every chain continues. Used by the replay and Parquet-size benchmarks.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { dataLine, sessionLine } from "../../src/core/raw-log.ts";
import { makeTrack, renderItem } from "../../test/fake-exchange/replay.ts";
import { recordingScripts } from "../../test/fake-exchange/script.ts";

/** A fixed day, so file layout and dates are the same on every run. */
const T0 = Date.UTC(2026, 0, 15, 0, 0, 0);
/** Receipt lag behind E, as a live run logs it. */
const RECV_LAG_MS = 3;

export interface GeneratedLogs {
  readonly dir: string;
  readonly symbols: readonly string[];
  readonly dataLines: number;
  readonly depthLines: number;
  readonly tradeLines: number;
  readonly bytes: number;
}

const recording = () => recordingScripts("hftbacktest-2024-08-08").get("BTCUSDT")!;

/** Data lines in one loop of the recording: a symbol given no more than this never repeats itself. */
export function framesPerLoop(): number {
  return recording().items.length;
}

/** At least `minFrames` data lines over `symbols` clones (whole loops per symbol). */
export function generateLogs(dir: string, symbolCount: number, minFrames: number): GeneratedLogs {
  const script = recording();
  const perLoop = script.items.length;
  const loops = Math.max(1, Math.ceil(minFrames / (symbolCount * perLoop)));
  const symbols = Array.from({ length: symbolCount }, (_, i) => `SYN${String(i + 1).padStart(3, "0")}USDT`);
  let dataLines = 0;
  let depthLines = 0;
  let tradeLines = 0;
  let bytes = 0;
  for (const symbol of symbols) {
    const track = makeTrack(symbol, script, 0, 0);
    let fd = -1;
    let path = "";
    let buf: string[] = [];
    let bufLen = 0;
    const flush = () => {
      if (fd >= 0 && buf.length > 0) writeSync(fd, buf.join(""));
      buf = [];
      bufLen = 0;
    };
    const write = (ts: number, line: string) => {
      const iso = new Date(ts).toISOString();
      const p = join(dir, `date=${iso.slice(0, 10)}`, `symbol=${symbol}`, `raw-${iso.slice(11, 13)}.ndjson`);
      if (p !== path) {
        flush();
        if (fd >= 0) closeSync(fd);
        mkdirSync(dirname(p), { recursive: true });
        fd = openSync(p, "a");
        path = p;
      }
      buf.push(line, "\n");
      bufLen += line.length + 1;
      bytes += line.length + 1;
      if (bufLen > 1 << 20) flush();
    };
    write(T0, sessionLine(T0, "bench"));
    for (let loop = 0; loop < loops; loop++) {
      for (const item of script.items) {
        const E = T0 + loop * script.period + item.t;
        const f = renderItem(track, item, loop, E, E - item.lag);
        const recv = E + RECV_LAG_MS;
        write(recv, dataLine(recv, f.stream, RECV_LAG_MS, 0.012, f.data));
        dataLines++;
        if (item.kind === "depth") depthLines++;
        else tradeLines++;
      }
    }
    flush();
    if (fd >= 0) closeSync(fd);
  }
  return { dir, symbols, dataLines, depthLines, tradeLines, bytes };
}
