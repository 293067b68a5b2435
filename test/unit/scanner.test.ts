/**
 * The frame scanner (src/exchange/binance/scanner.ts) yields exactly what JSON.parse + parseData + rawDataText
 * yield on every frame of the real recordings, scans (does not fall back on) every real aggTrade and
 * depth frame, and falls back on each kind of input it must not claim to understand.
 */
import { describe, expect, test } from "bun:test";
import { FrameScan, SCAN_AGG_TRADE, SCAN_DEPTH, SCAN_FALLBACK, scanFrame, type ScanResult } from "../../src/exchange/binance/scanner.ts";
import { parseStreamName } from "../../src/exchange/binance/streams.ts";
import { checkFrame, cryptofeedFrames, derivedAggTradeFrames, hftbacktestFrames, referenceParses, scriptFrames } from "./scanner-support.ts";

/** Scans every frame; every aggTrade/depth frame the reference parses must be scanned, not fall back. */
function checkCorpus(frames: readonly string[]): { scanned: number; fallback: number; hot: number } {
  const scan = new FrameScan();
  let scanned = 0;
  let fallback = 0;
  let hot = 0;
  for (const text of frames) {
    const r = checkFrame(text, scan);
    if (r === "scanned") scanned++;
    else fallback++;
    const stream = /^\{"stream":"([^"]*)"/.exec(text)?.[1];
    const sp = stream === undefined ? null : parseStreamName(stream);
    if (sp !== null && referenceParses(text)) {
      hot++;
      if (r !== "scanned") throw new Error(`real ${sp.kind} frame not scanned: ${text.slice(0, 200)}`);
    }
  }
  return { scanned, fallback, hot };
}

describe("scanner on real recorded frames", () => {
  test("the 850 recorded aggTrade frames: all scanned, identical to JSON.parse + parseData", () => {
    const frames = derivedAggTradeFrames();
    expect(frames.length).toBe(850);
    expect(checkCorpus(frames)).toEqual({ scanned: 850, fallback: 0, hot: 850 });
  }, 60_000);

  test("depth5@100ms and aggTrade frames folded from every recording (fake exchange rendering, two loops)", () => {
    const { depth, aggTrade } = scriptFrames(2);
    expect(depth.length).toBeGreaterThan(10_000);
    expect(aggTrade.length).toBeGreaterThan(10_000);
    expect(checkCorpus(depth)).toEqual({ scanned: depth.length, fallback: 0, hot: depth.length });
    expect(checkCorpus(aggTrade)).toEqual({ scanned: aggTrade.length, fallback: 0, hot: aggTrade.length });
    // The depth5 shape really is what the scanner read: five levels a side.
    const scan = new FrameScan();
    expect(scanFrame(depth[0]!, scan)).toBe(SCAN_DEPTH);
    expect(scan.depth.bids.length).toBe(10);
    expect(scan.depth.asks.length).toBe(10);
  }, 120_000);

  test("every cryptofeed frame (aggTrade, diff depth, bookTicker, kline): diff depth scanned, others fall back", () => {
    const frames = cryptofeedFrames();
    expect(frames.length).toBeGreaterThan(13_000);
    const r = checkCorpus(frames);
    expect(r.hot).toBeGreaterThan(6_000);
    expect(r.scanned).toBe(r.hot);
    expect(r.fallback).toBe(frames.length - r.hot);
  }, 60_000);

  test("every hftbacktest frame (diff depth@0ms with long level lists, bookTicker, trade, markPrice, REST body)", () => {
    const frames = hftbacktestFrames();
    expect(frames.length).toBeGreaterThan(190_000);
    const r = checkCorpus(frames);
    expect(r.hot).toBeGreaterThan(20_000);
    expect(r.scanned).toBe(r.hot);
  }, 120_000);
});

const AGG = '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1617647797640,"a":9445517,"s":"BTCUSDT","p":"0.69067","q":"369","f":12821738,"l":12821738,"T":1617647797485,"m":true}}';
const DEPTH =
  '{"stream":"btcusdt@depth5@100ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["61800.20","2.507"],["61798.70","0.153"]],"a":[["61800.30","3.330"]]}}';

/** `AGG` with the text of its payload member `key` (value included) replaced. */
const aggWith = (member: string, replacement: string) => {
  if (!AGG.includes(member)) throw new Error(`no ${member} in AGG`);
  return AGG.replace(member, replacement);
};

describe("scanner edge cases", () => {
  const scan = new FrameScan();
  const expectScanned = (text: string, kind: ScanResult) => {
    expect(scanFrame(text, scan)).toBe(kind);
    expect(checkFrame(text, scan)).toBe("scanned");
  };
  const expectFallback = (text: string) => {
    expect(scanFrame(text, scan)).toBe(SCAN_FALLBACK);
  };

  test("the reference frames scan to their fields", () => {
    expectScanned(AGG, SCAN_AGG_TRADE);
    expect(scan.tradeEvent("BTCUSDT")).toEqual({
      kind: "aggTrade",
      symbol: "BTCUSDT",
      eventTime: 1617647797640,
      tradeTime: 1617647797485,
      aggId: 9445517,
      price: 0.69067,
      qty: 369,
      firstTradeId: 12821738,
      lastTradeId: 12821738,
      buyerIsMaker: true,
    });
    expectScanned(DEPTH, SCAN_DEPTH);
    const d = scan.depthEvent("BTCUSDT");
    expect([d.eventTime, d.transactTime, d.firstId, d.lastId, d.prevLastId]).toEqual([1723161256299, 1723161256298, 5123107832006, 5123107837557, 5123107831937]);
    expect([...d.bids]).toEqual([61800.2, 2.507, 61798.7, 0.153]);
    expect([...d.asks]).toEqual([61800.3, 3.33]);
    expect(DEPTH.slice(scan.dataStart, scan.dataEnd)).toBe(DEPTH.slice(DEPTH.indexOf(',"data":') + 8, -1));
  });

  test("any key order, unknown scalar fields (nq, ps, st) and absent optional fields are read exactly", () => {
    expectScanned('{"stream":"x@aggTrade","data":{"m":false,"T":5,"q":"2","p":"1","a":7,"E":6}}', SCAN_AGG_TRADE);
    expectScanned(aggWith('"q":"369",', '"q":"369","nq":"368.5",'), SCAN_AGG_TRADE);
    expectScanned(DEPTH.replace('"s":"BTCUSDT",', '"s":"BTCUSDT","ps":"BTCUSDT",').replace("]]}}", ']],"st":1,"x":null,"y":-1.5e-3,"z":true}}'), SCAN_DEPTH);
    // Absent E, T, f, l, m, p: null / NaN as parseData has them.
    expectScanned('{"stream":"x@aggTrade","data":{"a":1,"T":2}}', SCAN_AGG_TRADE);
    expect(scan.trade.eventTime).toBeNull();
    expect(scan.trade.price).toBeNaN();
    expect(scan.trade.buyerIsMaker).toBeNull();
    expectScanned('{"stream":"x@depth@100ms","data":{"u":1,"E":2,"b":[],"a":[]}}', SCAN_DEPTH);
    expect(scan.depth.transactTime).toBeNull();
    expect(scan.depth.bids.length).toBe(0);
  });

  test("numeric strings convert as Number(): -0, empty (NaN), forms outside the fast path", () => {
    const cases: [string, number][] = [
      ["-0", -0],
      ["-0.000", -0],
      ["", Number.NaN],
      [" 1.5", 1.5],
      ["1e3", 1000],
      ["0x10", 16],
      ["+1", 1],
      ["1.", 1],
      [".5", 0.5],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["abc", Number.NaN],
      ["00.1", 0.1],
      ["0.1000000000000000055511151231257827", 0.1],
      ["123456789012345.6", 123456789012345.6],
      ["9007199254740993", 9007199254740992],
      ["0.30000000000000004", 0.30000000000000004],
    ];
    for (const [s, v] of cases) {
      expectScanned(aggWith('"p":"0.69067"', `"p":"${s}"`), SCAN_AGG_TRADE);
      expect(Object.is(scan.trade.price, v)).toBe(true);
    }
  });

  test("-0 and 15-digit integers are exact; 16 digits, fractions and exponents fall back", () => {
    expectScanned(aggWith('"a":9445517', '"a":-0'), SCAN_AGG_TRADE);
    expect(Object.is(scan.trade.aggId, -0)).toBe(true);
    expectScanned(aggWith('"a":9445517', '"a":999999999999999'), SCAN_AGG_TRADE);
    expect(scan.trade.aggId).toBe(999999999999999);
    for (const n of ["9007199254740993", "1234567890123456", "1e3", "1E+2", "1.0", "1.5", "01", "-01", "+1", ".5", "-", "0x10", "Infinity", "NaN", '"7"', "null", "true", "[7]"]) {
      expectFallback(aggWith('"a":9445517', `"a":${n}`));
    }
  });

  test("falls back on whatever JSON.parse rejects or reads differently", () => {
    const rejects = [
      AGG.slice(0, -1), // truncated
      AGG.slice(0, 60),
      `${AGG} `, // trailing whitespace (JSON.parse accepts; not the exact layout)
      ` ${AGG}`,
      AGG.replace('"a":', '"a" :'),
      AGG.replace('"a":', '"a": '),
      AGG.replace(",", " ,"),
      AGG.replace('"p":"0.69067"', '"p":"0.6\\u00397"'), // escape in a value
      AGG.replace('"a":', '"\\u0061":'), // escape in a key: decodes to "a"
      AGG.replace('"s":"BTCUSDT"', '"s":"BTC\tUSDT"'), // raw control character
      AGG.replace('"a":9445517,', '"a":1,"a":9445517,'), // duplicate key: JSON.parse keeps the last
      AGG.replace('"m":true', '"m":tru'),
      AGG.replace('"m":true', '"m":1'),
      AGG.replace(',"m":true', ',"m":true,'), // trailing comma
      AGG.replace('"e":"aggTrade",', '"x":{"y":1},'), // nested unknown value
      AGG.replace('"e":"aggTrade",', '"x":[1],'),
      AGG.replace('"a":9445517,', ""), // required field missing
      AGG.replace('"E":1617647797640,', "").replace(',"T":1617647797485', ""),
      AGG.replace("btcusdt@aggTrade", "btcusdt@aggTrades"),
      AGG.replace("btcusdt@aggTrade", "BTCUSDT@bookTicker"),
      AGG.replace("btcusdt@aggTrade", "@aggTrade"),
      AGG.replace("btcusdt@aggTrade", "btc\\u0075sdt@aggTrade"),
      AGG.replace('"stream":', '"stream" :'),
      AGG.replace("}}", '},"extra":1}'),
      AGG.replace('"data":{', '"data":null,"x":{'),
      '{"result":null,"id":1}',
      "",
      "{",
      DEPTH.replace('["61800.20","2.507"]', '[61800.2,"2.507"]'), // number instead of string
      DEPTH.replace('["61800.20","2.507"]', '["61800.20","2.507","x"]'),
      DEPTH.replace('["61800.20","2.507"]', '["61800.20"]'),
      DEPTH.replace('"b":[', '"b":[ '),
      DEPTH.replace('"pu":5123107831937,', '"pu":5123107831937,"pu":1,'),
      DEPTH.replace('"u":5123107837557,', ""),
      DEPTH.replace(',"a":[["61800.30","3.330"]]', ""),
    ];
    for (const text of rejects) {
      expect({ text, result: scanFrame(text, scan) }).toEqual({ text, result: SCAN_FALLBACK });
    }
  });

  test("owned copies equal the reused events and survive the next scan", () => {
    expectScanned(AGG, SCAN_AGG_TRADE);
    const t = scan.ownTradeEvent("BTCUSDT");
    expect(t).toEqual(scan.tradeEvent("BTCUSDT"));
    expectScanned(DEPTH, SCAN_DEPTH);
    const d = scan.ownDepthEvent("BTCUSDT");
    expect(d).toEqual(scan.depthEvent("BTCUSDT"));
    expectScanned(aggWith('"a":9445517', '"a":1'), SCAN_AGG_TRADE);
    expectScanned(DEPTH.replace("61800.20", "1.5").replace('"u":5123107837557', '"u":7'), SCAN_DEPTH);
    expect([t.aggId, d.lastId, d.bids[0]]).toEqual([9445517, 5123107837557, 61800.2]);
    expect([scan.trade.aggId, scan.depth.lastId, scan.depth.bids[0]]).toEqual([1, 7, 1.5]);
  });

  test("the depth side buffers grow past their initial size and stay exact", () => {
    const levels = Array.from({ length: 300 }, (_, i) => `["${(60000 - i * 0.1).toFixed(1)}","${(i * 0.001).toFixed(3)}"]`).join(",");
    const text = `{"stream":"btcusdt@depth@0ms","data":{"E":1,"u":2,"b":[${levels}],"a":[${levels}]}}`;
    expectScanned(text, SCAN_DEPTH);
    expect(scan.depth.bids.length).toBe(600);
    // A depth5 frame after it still gets exact-length arrays.
    expectScanned(DEPTH, SCAN_DEPTH);
    expect(scan.depth.bids.length).toBe(4);
  });
});
