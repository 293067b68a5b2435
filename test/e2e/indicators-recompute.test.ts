/**
 * Issue "Indicators exactly per spec", end to end: the compiled binary against the fake exchange
 * writes every preview kind, and an independent recomputation from its NDJSON raw log (test/helpers/
 * reference-indicators.ts, which shares no code with src/calc) matches the Parquet rows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, REPO, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { readSymbolLines } from "../helpers/ndjson.ts";
import { recompute, type RefResult } from "../helpers/reference-indicators.ts";

const SYMBOLS = ["BTCUSDT", "BATUSDT"];
const TOL = 1e-9;

let fake: FakeExchange;
let dir: string;
let result: RunResult;
const ref = new Map<string, RefResult>();

const rowsOf = (kind: string, root: "raw" | "preview", cols: string, symbol: string, order: string) =>
  query(`SELECT ${cols} FROM ${hive(join(dir, root, "**", `kind=${kind}`, "*.parquet"))} WHERE symbol = '${symbol}' ORDER BY ${order}`);

function close(got: unknown, want: number | null, what: string): void {
  if (want === null) {
    if (got !== null) throw new Error(`${what}: expected null, got ${String(got)}`);
    return;
  }
  if (typeof got !== "number" || Math.abs(got - want) > TOL * Math.max(1, Math.abs(want))) {
    throw new Error(`${what}: expected ${want}, got ${String(got)}`);
  }
}

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 3 });
  dir = tempDir("indicators");
  const port = freePort();
  const run = startBinary(["run", "--config", join(REPO, "config.toml")], collectorEnv(fake, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "4" }));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 15_000);
  await Bun.sleep(10_000);
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(500);
  result = await run.stop("SIGTERM");
  for (const s of SYMBOLS) ref.set(s, recompute(s, readSymbolLines(join(dir, "ndjson"), s)));
}, 60_000);

afterAll(async () => {
  await fake?.stop();
});

describe("indicators written by the binary equal an independent recomputation from its NDJSON", () => {
  test("the run ended cleanly and wrote every preview kind", async () => {
    expect(result.exitCode).toBe(0);
    const kinds = await query(`SELECT DISTINCT kind FROM ${hive(join(dir, "preview", "**", "*.parquet"))} ORDER BY kind`);
    expect(kinds.map((k) => k.kind)).toEqual(["cvd", "events", "features", "fusion", "ofi"]);
  });

  test("prices rows: every accepted trade, row_id, best fills as-of book", async () => {
    let total = 0;
    for (const s of SYMBOLS) {
      const want = ref.get(s)!.prices;
      const got = await rowsOf("prices", "raw", "agg_trade_id, epoch_ms(ts_ms) AS ts, price, qty, best_buy_fill, best_sell_fill, row_id", s, "agg_trade_id");
      expect(want.length).toBeGreaterThan(5);
      total += want.length;
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => {
        const g = got[i]!;
        expect(Number(g.agg_trade_id)).toBe(w.a);
        expect(Number(g.ts)).toBe(w.ts);
        expect(g.price).toBe(w.price);
        expect(g.qty).toBe(w.qty);
        expect(g.best_buy_fill).toBe(w.bestBuy);
        expect(g.best_sell_fill).toBe(w.bestSell);
        expect(g.row_id).toBe(w.rowId);
      });
    }
    expect(total).toBeGreaterThan(200);
  });

  test("orderbook rows: mid and spread of every kept book", async () => {
    for (const s of SYMBOLS) {
      const want = ref.get(s)!.books;
      const got = await rowsOf("orderbook", "raw", "last_id, mid, spread_bps", s, "last_id");
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => {
        expect(Number(got[i]!.last_id)).toBe(w.u);
        close(got[i]!.mid, w.mid, `${s} mid u=${w.u}`);
        close(got[i]!.spread_bps, w.spreadBps, `${s} spread u=${w.u}`);
      });
    }
  });

  test("ofi rows: MLOFI value and rolling z (null in warm-up, never 0)", async () => {
    let withZ = 0;
    for (const s of SYMBOLS) {
      const want = ref.get(s)!.ofi;
      const got = await rowsOf("ofi", "preview", "last_id, ofi_value, ofi_z", s, "last_id");
      expect(want.length).toBeGreaterThan(10);
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => {
        expect(Number(got[i]!.last_id)).toBe(w.u);
        close(got[i]!.ofi_value, w.value, `${s} ofi_value u=${w.u}`);
        close(got[i]!.ofi_z, w.z, `${s} ofi_z u=${w.u}`);
        if (w.z !== null) withZ++;
      });
    }
    expect(withZ).toBeGreaterThan(50);
  });

  test("cvd rows: delta, level and z (EWMA mix with exact MAD floor, warm-up, stale freeze)", async () => {
    let withZ = 0;
    for (const s of SYMBOLS) {
      const want = ref.get(s)!.cvd;
      const got = await rowsOf("cvd", "preview", "agg_trade_id, delta, cvd, z_raw, z_cvd", s, "agg_trade_id");
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => {
        expect(Number(got[i]!.agg_trade_id)).toBe(w.a);
        close(got[i]!.delta, w.delta, `${s} delta a=${w.a}`);
        close(got[i]!.cvd, w.cvd, `${s} cvd a=${w.a}`);
        close(got[i]!.z_raw, w.zRaw, `${s} z_raw a=${w.a}`);
        close(got[i]!.z_cvd, w.zCvd, `${s} z_cvd a=${w.a}`);
        if (w.zCvd !== null) withZ++;
      });
    }
    expect(withZ).toBeGreaterThan(50);
  });

  test("fusion rows: score, consistency, signal per trade", async () => {
    let rows = 0;
    for (const s of SYMBOLS) {
      const want = ref.get(s)!.fusion;
      const got = await rowsOf("fusion", "preview", "agg_trade_id, score, consistency, signal, degraded", s, "agg_trade_id");
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => {
        expect(Number(got[i]!.agg_trade_id)).toBe(w.a);
        close(got[i]!.score, w.score, `${s} score a=${w.a}`);
        close(got[i]!.consistency, w.consistency, `${s} consistency a=${w.a}`);
        expect(got[i]!.signal).toBe(w.signal);
        expect(got[i]!.degraded).toBe(w.degraded);
      });
      rows += want.length;
    }
    expect(rows).toBeGreaterThan(20);
  });

  test("features: one row per event-time second on a regular grid, CVD as of the second's end", async () => {
    for (const s of SYMBOLS) {
      const got = await rowsOf("features", "preview", "epoch_ms(ts_ms) AS ts, cvd, trade_count, scenario_2x2", s, "ts_ms");
      expect(got.length).toBeGreaterThan(5);
      const cvd = ref.get(s)!.cvd;
      for (let i = 0; i < got.length; i++) {
        const ts = Number(got[i]!.ts);
        expect(ts % 1000).toBe(0);
        if (i > 0) expect(ts - Number(got[i - 1]!.ts)).toBe(1000);
        // CVD after the last trade with ts ≤ the second's end (trades arrive in ts order here).
        const last = cvd.filter((c) => c.ts <= ts).at(-1);
        close(got[i]!.cvd, last?.cvd ?? 0, `${s} features cvd at ${ts}`);
        expect(["A_H", "A_L", "Q_H", "Q_L"]).toContain(got[i]!.scenario_2x2 as string);
      }
    }
  });

  test("events carry known types; the stop is no reconnect (no connection dropped in this run)", async () => {
    const ev = await query(`SELECT symbol, type FROM ${hive(join(dir, "preview", "**", "kind=events", "*.parquet"))}`);
    const known = new Set(["bear_div", "bull_div", "ofi_cvd_conflict", "seq_gap", "seq_chain_broken", "trade_id_gap", "crossed_book", "ofi_reset", "reconnect"]);
    for (const e of ev) expect(known.has(e.type as string)).toBe(true);
    expect(ev.filter((e) => e.type === "reconnect")).toEqual([]);
  });
});
