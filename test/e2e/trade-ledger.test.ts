// The compiled binary trading on the fake testnet while every fault is injected: the fills and orders
// Parquet equal the venue's ledger exactly, no intent becomes two orders, the position stays within its
// limit at the venue, SIGTERM leaves no open order and a flat position, and the key never shows.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../helpers/binary.ts";
import { allFilesText, API_KEY, API_SECRET, busyStrategy, expectFillsEqualLedger, expectOrdersEqualLedger, readKind, startTrader, startWorld, status, waitForFills, type World } from "./trade-support.ts";

const SYMBOLS = ["BTCUSDT"];
const LIMIT = 400;
let w: World;

beforeAll(async () => {
  w = await startWorld(SYMBOLS, 5);
});
afterAll(async () => {
  await w.stop();
});

test("faults during trading: records equal the ledger, no duplicate order, limits held, clean SIGTERM", async () => {
  const t = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS, [`risk.max_position_notional=${LIMIT}`, "risk.notional_usdt=300"]));
  let pages = "";
  let stderr = "";
  try {
    await waitForFills(w, 4, 30_000);
    const tn = w.tn;
    // Order POSTs whose answer is lost after the order was placed, or that fail before it was.
    tn.failNextOrders("timeout", "5xx-after-place", "5xx-before-place");
    await waitFor("three faulted order POSTs", () => (tn.requests().filter((r) => r.fault !== null).length >= 3 ? true : undefined), 20_000);
    tn.dropUserStreams();
    await waitForFills(w, tn.server.ledger.fills.length + 2, 15_000);
    tn.expireListenKey();
    await waitForFills(w, tn.server.ledger.fills.length + 2, 15_000);
    tn.setClockSkew(-8000);
    await waitForFills(w, tn.server.ledger.fills.length + 2, 15_000);
    const st = await status(t);
    expect(st.trading.ready).toBe(true);
    expect(st.trading.counters.reconciles).toBeGreaterThanOrEqual(3);
    pages = JSON.stringify(st) + (await (await fetch(`http://127.0.0.1:${t.port}/metrics`)).text()) + (await (await fetch(`http://127.0.0.1:${t.port}/health`)).text());
    expect(pages.includes("harvestd_trade_position_qty{symbol=\"BTCUSDT\"}")).toBe(true);
  } finally {
    const r = await t.run.stop("SIGTERM");
    stderr = r.stderr;
    expect(r.exitCode).toBe(0);
  }
  const ledger = w.tn.server.ledger;
  // After SIGTERM: nothing resting, nothing held.
  expect(ledger.openOrders()).toEqual([]);
  expect(ledger.openAlgos()).toEqual([]);
  expect(ledger.position("BTCUSDT").qty).toBe(0);
  // The position never went past its limit at the venue (fills land a little off the decision's price).
  expect(ledger.position("BTCUSDT").maxAbsNotional).toBeLessThanOrEqual(LIMIT * 1.01);
  expect(ledger.position("BTCUSDT").maxAbsNotional).toBeGreaterThan(0);

  await expectFillsEqualLedger(t.dir, w, expect);
  await expectOrdersEqualLedger(t.dir, w, expect);

  // Every faulted POST's order exists exactly once, and no intent was filled by two orders.
  const faulted = w.tn.requests().filter((r) => r.fault !== null);
  expect(faulted).toHaveLength(3);
  for (const f of faulted) {
    const cid = f.params.newClientOrderId ?? f.params.clientAlgoId;
    const n = [...ledger.orders.values()].filter((o) => o.clientOrderId === cid).length + [...ledger.algos.values()].filter((a) => a.clientAlgoId === cid).length;
    expect({ cid, n }).toEqual({ cid, n: 1 });
  }
  const orders = await readKind(t.dir, "orders");
  const keyOf = new Map(orders.filter((o) => o.intent_key !== null).map((o) => [String(o.client_order_id), String(o.intent_key)]));
  const filledPerKey = new Map<string, number>();
  for (const o of ledger.orders.values()) {
    const key = keyOf.get(o.clientOrderId);
    if (key === undefined || o.executedQty === 0) continue;
    filledPerKey.set(key, (filledPerKey.get(key) ?? 0) + 1);
  }
  expect([...filledPerKey.values()].every((n) => n === 1)).toBe(true);
  expect(filledPerKey.size).toBeGreaterThan(4);

  // The key and secret appear nowhere: files, pages, logs.
  const texts = [...allFilesText(t.dir), { path: "pages", text: pages }, { path: "stderr", text: stderr }];
  for (const secret of [API_SECRET, API_KEY]) expect(texts.filter((x) => x.text.includes(secret)).map((x) => x.path)).toEqual([]);
  // The audit log has every request, signature removed.
  const auditDir = join(t.dir, "ndjson", "trading");
  const audit = readdirSync(auditDir).map((f) => allFilesText(auditDir).find((x) => x.path.endsWith(f))!.text).join("");
  expect(audit).toContain('"path":"/fapi/v1/order"');
  expect(audit).not.toContain("signature");
}, 120_000);
