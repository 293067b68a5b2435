// A forced loss trips the kill switch: the venue's price moves against the open position, the day's
// loss passes max_daily_loss, the trader flattens, refuses every new entry for the day, and /health
// answers 503 with the reason. A restart the same day (its audit log gone, so only the venue's trade
// list can tell) stays halted: 503, no order.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser } from "../helpers/browser.ts";
import { busyStrategy, readKind, startTrader, startWorld, status, type World } from "./trade-support.ts";

const SYMBOLS = ["BTCUSDT"];
let w: World;

beforeAll(async () => {
  w = await startWorld(SYMBOLS, 5);
});
afterAll(async () => {
  await w.stop();
});

test("a forced loss flattens, stops the symbol for the day and turns /health 503 with the reason", async () => {
  const ledger = w.tn.server.ledger;
  const args = busyStrategy(SYMBOLS, ["strategy.min_reverse_move_bps=10000", "strategy.max_hold_sec=120", "strategy.stop_bps=800", "risk.notional_usdt=300", "risk.max_daily_loss=3"]);
  const t = startTrader(w, SYMBOLS, args);
  let health: { status: number; body: any } = { status: 0, body: null };
  let haltOrders = 0;
  try {
    await waitFor("an open position", () => (ledger.position("BTCUSDT").qty !== 0 ? true : undefined), 40_000, 50);
    const long = ledger.position("BTCUSDT").qty > 0;
    // 2 % against the position at the venue: about 6 USDT on 300 USDT, over the 3 USDT limit.
    w.tn.shiftBook("BTCUSDT", long ? 0.98 : 1.02);
    health = await waitFor("/health 503", async () => {
      const r = await fetch(`http://127.0.0.1:${t.port}/health`);
      return r.status === 503 ? { status: r.status, body: await r.json() } : undefined;
    }, 20_000, 200);
    await waitFor("flat after the halt", () => (ledger.position("BTCUSDT").qty === 0 ? true : undefined), 10_000, 50);
    haltOrders = ledger.orders.size;
    // Signals keep coming; none may become an order for the rest of the day. Meanwhile the status
    // page shows the halt in its trading table.
    const slept = Bun.sleep(6000);
    if (chromiumMissing() === undefined) {
      const browser = await launchBrowser();
      try {
        const opened = await browser.open(`http://127.0.0.1:${t.port}/`);
        await opened.page.waitForFunction(() => document.querySelector("#trading-rows")?.textContent?.includes("max_daily_loss") === true, undefined, { timeout: 10_000 });
        const row = await opened.page.textContent("#trading-rows tr");
        expect(row).toContain("BTCUSDT");
        expect(row).toContain("flat");
        expect(opened.problems.filter((p) => !p.includes("HTTP 503"))).toEqual([]);
      } finally {
        await browser.close();
      }
    }
    await slept;
  } finally {
    w.tn.shiftBook("BTCUSDT", 1);
    const r = await t.run.stop("SIGTERM");
    expect(r.exitCode).toBe(0);
  }
  expect(health.status).toBe(503);
  expect(health.body.reasons.join(" ")).toMatch(/trade halted: BTCUSDT max_daily_loss: day PnL -\d+\.\d+ <= -3, flattened and stopped for \d{4}-\d\d-\d\d/);
  expect(ledger.orders.size).toBe(haltOrders);
  expect(ledger.openAlgos()).toEqual([]);
  // The flattening order is recorded with its reason.
  const halts = (await readKind(t.dir, "orders")).filter((o) => o.reason === "risk_halt");
  expect(halts.length).toBeGreaterThan(0);

  // Started again the same day in a fresh folder: the day's realised loss, rebuilt from the venue's
  // trade list, keeps the symbol halted; signals flow and none becomes an order.
  const again = startTrader(w, SYMBOLS, args);
  let health2: { status: number; body: any } = { status: 0, body: null };
  let halted2: unknown = null;
  try {
    await waitFor("the restarted trader", async () => {
      try {
        return (await status(again)).trading?.ready === true ? true : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 200);
    await Bun.sleep(5000);
    const r = await fetch(`http://127.0.0.1:${again.port}/health`);
    health2 = { status: r.status, body: await r.json() };
    halted2 = (await status(again)).trading.symbols[0].halted;
  } finally {
    const r = await again.run.stop("SIGTERM");
    expect(r.exitCode).toBe(0);
  }
  expect(health2.status).toBe(503);
  expect(health2.body.reasons.join(" ")).toMatch(/trade halted: BTCUSDT max_daily_loss: day PnL -\d+\.\d+ <= -3, flattened and stopped for \d{4}-\d\d-\d\d/);
  expect(String(halted2)).toContain("max_daily_loss");
  expect(ledger.orders.size).toBe(haltOrders);
  expect(ledger.position("BTCUSDT").qty).toBe(0);
}, 120_000);
