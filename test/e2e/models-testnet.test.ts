/**
 * The model filter on testnet trading (compiled binary, fake exchange + fake testnet): the testnet
 * trader's strategy asks the model about every entry signal, each question is recorded with
 * executor = testnet and a probability (the filter had seen the signal's rows), and no more entries
 * reach the venue than the model took.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hive, query } from "../helpers/duckdb.ts";
import { tempDir } from "../helpers/binary.ts";
import { busyStrategy, readKind, startTrader, startWorld, type World } from "./trade-support.ts";
import { randomLogisticModel } from "../unit/models-support.ts";

const SYMBOLS = ["BTCUSDT"];
let w: World;

beforeAll(async () => {
  w = await startWorld(SYMBOLS, 5);
});
afterAll(async () => {
  await w.stop();
});

function randomModelFile(dir: string): string {
  const path = join(dir, "model.json");
  writeFileSync(path, JSON.stringify(randomLogisticModel({ seed: 12, threshold: 0.5, flatStd: 2, bias: 0 })));
  return path;
}

test("the testnet strategy asks the model; decisions recorded with executor = testnet", async () => {
  const dir = tempDir("models-testnet");
  const model = randomModelFile(dir);
  const t = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS, [`model.path=${JSON.stringify(model)}`, "model.threshold=0.5", "paper.enable=false"]), {}, dir);
  await Bun.sleep(15_000);
  const r = await t.run.stop("SIGTERM");
  if (r.exitCode !== 0) console.error(r.stderr);
  expect(r.exitCode).toBe(0);
  const rows = await query(`SELECT executor, probability, taken, reason FROM ${hive(join(dir, "preview", "**", "kind=model_decisions", "*.parquet"))}`);
  expect(rows.length).toBeGreaterThan(3);
  for (const d of rows) {
    expect(d.executor).toBe("testnet");
    expect(d.reason).toBeNull();
    expect(d.taken).toBe((d.probability as number) >= 0.5);
  }
  const taken = rows.filter((d) => d.taken === true).length;
  const orders = await readKind(dir, "orders");
  const entries = new Set(orders.filter((o) => o.reason === "enter").map((o) => o.client_order_id));
  expect(entries.size).toBeGreaterThan(0);
  expect(entries.size).toBeLessThanOrEqual(taken);
}, 90_000);
