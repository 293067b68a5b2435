/**
 * The crash-recovery rebuild's log lines (src/pipeline/recovery.ts rebuildLogger): a custom indicator
 * failing again on the interrupted run's lines logs through the rebuild's logger, so its lines carry
 * `"phase":"rebuild"` and are rate-limited apart from the live run's lines of the same kind.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Row, RowSink, SinkKind } from "../../src/core/rows.ts";
import { dataLine, sessionLine } from "../../src/core/raw-log.ts";
import { BinanceRawLogDecoder } from "../../src/exchange/binance/raw-log-decoder.ts";
import type { Indicator, LoadedIndicator } from "../../src/indicators/contract.ts";
import { CustomIndicators } from "../../src/indicators/custom-indicators.ts";
import { SWITCH_OFF_STREAK } from "../../src/indicators/host.ts";
import { schemaOfColumns } from "../../src/indicators/load.ts";
import { rebuildLogger, recoverSymbol, type RunMarker } from "../../src/pipeline/recovery.ts";
import type { Level, Logger } from "../../src/util/log.ts";

const dir = mkdtempSync(join(tmpdir(), "harvestd-recovery-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  readonly key: string | null;
  readonly level: Level;
  readonly msg: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

class Log implements Logger {
  readonly lines: Line[] = [];
  private readonly seen = new Set<string>();
  log(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ key: null, level, msg, fields });
  }
  limited(key: string, level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    // Like the real logger within one interval: the first line per key only.
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.lines.push({ key, level, msg, fields });
  }
}

class Rows implements RowSink {
  readonly rows: { kind: SinkKind; row: Row }[] = [];
  append(kind: SinkKind, row: Row): void {
    this.rows.push({ kind, row });
  }
}

const boom: Indicator = { name: "boom", columns: { x: "double" }, create: () => ({ onTrade() { throw new Error("boom"); } }) };
const loaded = (mod: Indicator): LoadedIndicator => {
  const columns = Object.entries(mod.columns).map(([name, type]) => ({ name, type }));
  return { name: mod.name, kind: `custom_${mod.name}`, file: `/x/${mod.name}.ts`, module: mod, columns, schema: schemaOfColumns(columns), params: {} };
};

test("rebuildLogger adds phase: rebuild to every line and limits under keys of its own", () => {
  const base = new Log();
  const r = rebuildLogger(base);
  r.log("error", "a", { x: 1 });
  r.limited("k", "warn", "b", { y: 2 });
  r.limited("k", "warn", "b", { y: 3 });
  base.limited("k", "warn", "b", { y: 4 }); // the live line of the same kind still gets through
  expect(base.lines).toEqual([
    { key: null, level: "error", msg: "a", fields: { x: 1, phase: "rebuild" } },
    { key: "rebuild:k", level: "warn", msg: "b", fields: { y: 2, phase: "rebuild" } },
    { key: "k", level: "warn", msg: "b", fields: { y: 4 } },
  ]);
});

test("a custom indicator failing during the rebuild of a killed run logs marked lines; the live run's are not marked", async () => {
  const ndjson = join(dir, "ndjson");
  const start = Date.UTC(2025, 0, 2, 3, 0, 0);
  const symDir = join(ndjson, "date=2025-01-02", "symbol=BTCUSDT");
  mkdirSync(symDir, { recursive: true });
  const trade = (a: number) => `{"e":"aggTrade","E":${start + a},"a":${a},"s":"BTCUSDT","p":"100.5","q":"1","f":${a},"l":${a},"T":${start + a},"m":false}`;
  const lines = [sessionLine(start, "test")];
  for (let a = 1; a <= 2 * SWITCH_OFF_STREAK; a++) lines.push(dataLine(start + a, "btcusdt@aggTrade", 1, 0.01, trade(a)));
  writeFileSync(join(symDir, "raw-03.ndjson"), lines.join("\n") + "\n");
  const res = loadConfig({ configPath: null, env: { NDJSON_DIR: ndjson, SYMBOLS: "BTCUSDT" } });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  const marker: RunMarker = { run_start: start, sessions: { BTCUSDT: start }, clean: false, compacted: {} };

  const log = new Log();
  const custom = new CustomIndicators([loaded(boom)], log);
  const applied = await recoverSymbol(res.config, new BinanceRawLogDecoder(), "BTCUSDT", marker, new Rows(), custom, rebuildLogger(log));
  expect(applied).toBe(2 * SWITCH_OFF_STREAK);
  // The live run then meets the same failure.
  const live = custom.host("BTCUSDT", new Rows());
  for (let a = 1; a <= SWITCH_OFF_STREAK; a++) live.onTrade({ kind: "aggTrade", symbol: "BTCUSDT", eventTime: start + a, tradeTime: start + a, aggId: a, price: 100, qty: 1, firstTradeId: null, lastTradeId: null, buyerIsMaker: false }, start + a, false);

  const shown = log.lines.map((l) => [l.msg, l.fields?.phase ?? "live"]);
  expect(shown).toEqual([
    ["custom indicator error", "rebuild"],
    ["custom indicator switched off for this symbol", "rebuild"],
    // Not held back by the rebuild's line of the same indicator and symbol.
    ["custom indicator error", "live"],
    ["custom indicator switched off for this symbol", "live"],
  ]);
});

test("a symbol the rebuild switched an indicator off for is not listed as switched off once the live host starts it afresh", async () => {
  const ndjson = join(dir, "ndjson-switch-off");
  const start = Date.UTC(2025, 0, 3, 3, 0, 0);
  const symDir = join(ndjson, "date=2025-01-03", "symbol=BTCUSDT");
  mkdirSync(symDir, { recursive: true });
  const trade = (a: number) => `{"e":"aggTrade","E":${start + a},"a":${a},"s":"BTCUSDT","p":"100.5","q":"1","f":${a},"l":${a},"T":${start + a},"m":false}`;
  const lines = [sessionLine(start, "test")];
  for (let a = 1; a <= 2 * SWITCH_OFF_STREAK; a++) lines.push(dataLine(start + a, "btcusdt@aggTrade", 1, 0.01, trade(a)));
  writeFileSync(join(symDir, "raw-03.ndjson"), lines.join("\n") + "\n");
  const res = loadConfig({ configPath: null, env: { NDJSON_DIR: ndjson, SYMBOLS: "BTCUSDT" } });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  const marker: RunMarker = { run_start: start, sessions: { BTCUSDT: start }, clean: false, compacted: {} };
  // Fails on the killed run's trades (the rebuild), not on the live ones.
  let failing = true;
  const flaky: Indicator = { name: "flaky", columns: { x: "double" }, create: () => ({ onTrade(_t, emit) { if (failing) throw new Error("boom"); emit({ ts_ms: _t.ts_ms, x: 1 }); } }) };

  const log = new Log();
  const custom = new CustomIndicators([loaded(flaky)], log);
  await recoverSymbol(res.config, new BinanceRawLogDecoder(), "BTCUSDT", marker, new Rows(), custom, rebuildLogger(log));
  expect(custom.views()[0]!.switchedOff).toEqual(["BTCUSDT"]);
  expect(custom.views()[0]!.errors).toBe(SWITCH_OFF_STREAK);

  // The live run's host starts the indicator afresh for the symbol: not switched off any more.
  failing = false;
  const rows = new Rows();
  const live = custom.host("BTCUSDT", rows);
  expect(custom.views()[0]!.switchedOff).toEqual([]);
  const ev = (a: number) => ({ kind: "aggTrade" as const, symbol: "BTCUSDT", eventTime: start + a, tradeTime: start + a, aggId: a, price: 100, qty: 1, firstTradeId: null, lastTradeId: null, buyerIsMaker: false });
  for (let a = 1; a <= 3; a++) live.onTrade(ev(a), start + a, false);
  expect(rows.rows.filter((r) => r.kind === "custom_flaky").length).toBe(3);
  const v = custom.views()[0]!;
  expect(v.switchedOff).toEqual([]);
  // The rebuild's failing calls stay counted (its log lines say "phase":"rebuild").
  expect(v.errors).toBe(SWITCH_OFF_STREAK);

  // A live switch-off is listed as before.
  failing = true;
  for (let a = 4; a < 4 + SWITCH_OFF_STREAK; a++) live.onTrade(ev(a), start + a, false);
  expect(custom.views()[0]!.switchedOff).toEqual(["BTCUSDT"]);
  expect(log.lines.filter((l) => l.msg === "custom indicator switched off for this symbol").map((l) => l.fields?.phase ?? "live")).toEqual(["rebuild", "live"]);
});
