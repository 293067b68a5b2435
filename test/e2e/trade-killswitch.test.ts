// A forced loss trips the kill switch: the venue's price moves against the open position, the day's
// loss passes max_daily_loss, the trader flattens, refuses every new entry for the day, and /health
// answers 503 with the reason. A restart the same day (its audit log gone, so only the venue's trade
// list can tell) stays halted: 503, no order.
//
// A busy day: an account with more fills of a symbol today than one page of the venue's trade list
// (1,000), the losses in the day's first fills and the latest 1,000 flat. A trader starting now (no
// audit log: a fresh folder) must read the whole day, page by page from midnight, and so start
// halted; from the latest page alone it would see a flat day and trade on.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser } from "../helpers/browser.ts";
import { busyStrategy, readKind, standingAfterStart, startTrader, startWorld, type World } from "./trade-support.ts";

const SYMBOLS = ["BTCUSDT"];
/** The busy day's symbol (its own ledger entries, traded by its own trader). */
const BUSY = "SANDUSDT";
const LOSING = 500;
const FLAT = 1500;
let w: World;

beforeAll(async () => {
  w = await startWorld([...SYMBOLS, BUSY], 5);
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
  const { health: health2, halted: halted2, exitCode } = await standingAfterStart(startTrader(w, SYMBOLS, args), 5000);
  expect(exitCode).toBe(0);
  expect(health2.status).toBe(503);
  expect(health2.body.reasons.join(" ")).toMatch(/trade halted: BTCUSDT max_daily_loss: day PnL -\d+\.\d+ <= -3, flattened and stopped for \d{4}-\d\d-\d\d/);
  expect(String(halted2)).toContain("max_daily_loss");
  expect(ledger.orders.size).toBe(haltOrders);
  expect(ledger.position("BTCUSDT").qty).toBe(0);
}, 120_000);

test("the day's PnL is rebuilt from every page of the trade list: losses older than the latest 1,000 fills keep the symbol halted", async () => {
  const ledger = w.tn.server.ledger;
  const now = Date.now();
  const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
  // Yesterday's fills do not count; today's first 500 lose 0.01 USDT each: the limit of 3 USDT is crossed at the 301st.
  const first = Math.max(dayStart, now - 60_000);
  const fill = (i: number, time: number, realizedPnl: number) => ({
    id: 400_001 + i, orderId: 300_001 + i, clientOrderId: `earlier-${i}`, symbol: BUSY, side: i % 2 === 0 ? ("BUY" as const) : ("SELL" as const),
    price: 100, qty: 0.001, quoteQty: 0.1, commission: 0, realizedPnl, maker: false, time,
  });
  ledger.fills.push(fill(0, dayStart - 3_600_000, -100));
  for (let i = 1; i <= LOSING + FLAT; i++) ledger.fills.push(fill(i, first + Math.floor(i / 40), i <= LOSING ? -0.01 : 0));

  const args = busyStrategy([BUSY], ["risk.max_daily_loss=3"]);
  // Signals flow for 5 s once it is ready; none may become an order.
  const { health, halted, exitCode, stderr } = await standingAfterStart(startTrader(w, [BUSY], args), 5000);
  expect(exitCode).toBe(0);
  expect(stderr).not.toContain("day PnL rebuilt from the first ones");
  expect(health.status).toBe(503);
  expect(health.body.reasons.join(" ")).toMatch(new RegExp(`trade halted: ${BUSY} max_daily_loss: day PnL -3\\.0\\d <= -3`));
  expect(String(halted)).toContain("max_daily_loss");
  expect([...ledger.orders.values()].filter((o) => o.symbol === BUSY)).toEqual([]);
  // The latest page, then the day from midnight: a page from its start time, the rest by id.
  const asked = w.tn.server.requests.filter((q) => q.path === "/fapi/v1/userTrades" && q.status === 200 && q.params.symbol === BUSY).map((q) => q.params);
  expect(asked.slice(0, 3).map((p) => ("startTime" in p ? "time" : "fromId" in p ? "id" : "latest"))).toEqual(["latest", "time", "id"]);
}, 90_000);
