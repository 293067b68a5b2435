/**
 * The raw-log decoder's stream check (raw-log-decoder.ts isStreamOf): a data line is applied only when
 * its stream belongs to the symbol being replayed, by parseStreamName's rule, also once stream names
 * are recognised from earlier lines. Checked against the rule itself on a mixed sequence of lines and
 * symbols, in one decoder (so the remembered names are exercised) and in a fresh decoder per line.
 */
import { expect, test } from "bun:test";
import { dataLine } from "../../src/core/raw-log.ts";
import { BinanceRawLogDecoder } from "../../src/exchange/binance/raw-log-decoder.ts";
import { parseStreamName } from "../../src/exchange/binance/streams.ts";

const trade = (id: number) => `{"e":"aggTrade","E":${id},"a":${id},"s":"BTCUSDT","p":"100.5","q":"1","f":${id},"l":${id},"T":${id},"m":false}`;
const depth = (id: number) => `{"e":"depthUpdate","E":${id},"T":${id},"s":"BTCUSDT","U":${id},"u":${id},"pu":${id - 1},"b":[["100.4","2"]],"a":[["100.6","3"]]}`;

test("a line is applied exactly when its stream belongs to the replayed symbol, remembered names included", () => {
  const streams = ["btcusdt@aggTrade", "btcusdt@depth5@100ms", "ethusdt@aggTrade", "btcusdtx@aggTrade", "BTCUSDT@aggTrade", "btcusdt@depth@100ms", "btcusd@aggTrade", "ethusdt@depth5@100ms", "xbtcusdt@aggTrade"];
  const symbols = ["BTCUSDT", "ETHUSDT", "BTCUSDTX", "BTCUSD"];
  const shared = new BinanceRawLogDecoder();
  let applied = 0;
  let skipped = 0;
  for (let i = 0; i < 2000; i++) {
    const stream = streams[(i * 7 + (i >> 3)) % streams.length]!;
    // Long runs of one symbol (as replay reads a symbol's files), then the next.
    const symbol = symbols[Math.floor(i / 150) % symbols.length]!;
    const line = dataLine(1_763_000_000_000 + i, stream, 3, 0.01, stream.includes("@depth") ? depth(i + 10) : trade(i + 10));
    const sp = parseStreamName(stream);
    const want = sp !== null && sp.symbol === symbol ? "data" : "skip";
    expect(shared.decode(line, symbol).type).toBe(want);
    expect(new BinanceRawLogDecoder().decode(line, symbol).type).toBe(want);
    if (want === "data") applied++;
    else skipped++;
  }
  // Not vacuous: both outcomes, for every symbol that has streams.
  expect(applied).toBeGreaterThan(300);
  expect(skipped).toBeGreaterThan(300);
});
