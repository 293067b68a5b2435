/**
 * The dataset builder on stores that are not complete: only prices and fusion rows (no books, no 1 s
 * table) still give samples, with the missing inputs at their neutral values; an unreadable file
 * stops training with its path; the two signal rules pick different samples.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDataset, type DatasetRequest } from "../../src/models/dataset.ts";
import { FLAT_FEATURES } from "../../src/models/features.ts";
import { StrategyParamsSchema } from "../../src/trading/strategy/params.ts";
import { tempDir } from "../helpers/binary.ts";
import { makeMarket, writeMarket } from "./models-support.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function store(kinds: readonly ("prices" | "orderbook" | "fusion" | "features")[]): { rawDir: string; previewDir: string } {
  const root = tempDir("models-dataset");
  dirs.push(root);
  const m = makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 20, seed: 2, edge: "none", tradeMs: 500 });
  const rows = { prices: [], orderbook: [], fusion: [], features: [], ...Object.fromEntries(kinds.map((k) => [k, m.rows[k]])) };
  return writeMarket(root, "SYNUSDT", { rows: rows as typeof m.rows });
}

const req = (s: { rawDir: string; previewDir: string }, signals: DatasetRequest["signals"]): DatasetRequest => ({
  ...s,
  from: "2026-01-05",
  to: "2026-01-05",
  symbols: null,
  barrier: { stopBps: 8, takeProfit: [{ at_bps: 8, fraction: 1 }], maxHoldMs: 20_000, takerBps: 1, feeTier: "T" },
  strategy: StrategyParamsSchema.parse({}),
  signals,
});

describe("dataset", () => {
  test("prices and fusion alone give samples; book and 1 s inputs are neutral", async () => {
    const ds = await buildDataset(req(store(["prices", "fusion"]), "fusion"), () => {});
    expect(ds.samples.length).toBeGreaterThan(50);
    const imb = FLAT_FEATURES.indexOf("book_imbalance_l5_signed");
    const rv = FLAT_FEATURES.indexOf("realized_vol_bps");
    for (const s of ds.samples) {
      expect(s.flat[imb]).toBe(0);
      expect(s.flat[rv]).toBe(0);
      expect(s.seq.every((v) => v === 0)).toBe(true);
    }
    const full = await buildDataset(req(store(["prices", "fusion", "orderbook", "features"]), "fusion"), () => {});
    expect(full.samples.length).toBe(ds.samples.length);
    expect(full.samples.some((s) => s.flat[imb] !== 0)).toBe(true);
    expect(full.samples.some((s) => s.seq.some((v) => v !== 0))).toBe(true);
  });

  test("fusion signal changes and the strategy's entry rule pick different samples", async () => {
    const s = store(["prices", "fusion"]);
    const a = await buildDataset(req(s, "fusion"), () => {});
    const b = await buildDataset(req(s, "strategy"), () => {});
    expect(a.samples.length).toBeGreaterThan(0);
    expect(b.samples.length).toBeGreaterThan(0);
    expect(a.samples.map((x) => x.aggTradeId)).not.toEqual(b.samples.map((x) => x.aggTradeId));
  });

  test("an unreadable file stops training with its path", async () => {
    const s = store(["prices", "fusion"]);
    const bad = join(s.previewDir, "date=2026-01-05", "symbol=SYNUSDT", "kind=fusion");
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, "part-9999999999999-000001-x.parquet"), "not parquet");
    await expect(buildDataset(req(s, "fusion"), () => {})).rejects.toThrow(/cannot read fusion file .*part-9999999999999-000001-x\.parquet/);
  });
});
