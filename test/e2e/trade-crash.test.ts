// SIGKILL with a position open: the exchange-side stop stays in place (the dead-man switch cancels
// resting orders, not the stop), and a restarted process adopts the position and its stop, then
// closes everything on SIGTERM. The adopted position keeps its age (the opening fill's time at the
// venue): the strategy's time stop does not close it at the first row.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "../helpers/binary.ts";
import { busyStrategy, readKind, startTrader, startWorld, status, type World } from "./trade-support.ts";

const SYMBOLS = ["BTCUSDT"];
let w: World;

// Positions held long enough to be killed with one open: no signal exits, a far stop, a long time stop.
const HOLD = ["strategy.min_reverse_move_bps=10000", "strategy.max_hold_sec=120", "strategy.stop_bps=300", "trade.dead_man_sec=5"];

beforeAll(async () => {
  w = await startWorld(SYMBOLS, 5);
});
afterAll(async () => {
  await w.stop();
});

test("SIGKILL mid-position leaves the protective stop at the venue; a restart adopts it and SIGTERM flattens", async () => {
  const ledger = w.tn.server.ledger;
  const first = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS, HOLD));
  let killedAt = 0;
  try {
    await waitFor("an open position with its stop", () => (ledger.position("BTCUSDT").qty !== 0 && ledger.openAlgos("BTCUSDT").length === 1 ? true : undefined), 40_000, 50);
  } finally {
    first.run.proc.kill("SIGKILL");
    await first.run.proc.exited;
    killedAt = Date.now();
  }
  const pos = ledger.position("BTCUSDT").qty;
  expect(pos).not.toBe(0);
  const [stop] = ledger.openAlgos("BTCUSDT");
  expect(stop!.orderType).toBe("STOP_MARKET");
  expect(stop!.closePosition).toBe(true);
  // It protects: a long's stop sells below the entry, a short's buys above it.
  expect(stop!.side).toBe(pos > 0 ? "SELL" : "BUY");
  if (pos > 0) expect(stop!.triggerPrice).toBeLessThan(ledger.position("BTCUSDT").entryPrice);
  else expect(stop!.triggerPrice).toBeGreaterThan(ledger.position("BTCUSDT").entryPrice);

  // The dead-man switch fires (nobody renews it) and the stop is still there, the position unchanged.
  await waitFor("the dead-man switch to fire", () => (w.tn.server.countdownFired.some((c) => c.symbol === "BTCUSDT" && c.at > killedAt) ? true : undefined), 15_000, 100);
  expect(ledger.openAlgos("BTCUSDT").map((a) => a.algoId)).toEqual([stop!.algoId]);
  expect(ledger.position("BTCUSDT").qty).toBe(pos);

  // A new process adopts the position and keeps exactly one stop; SIGTERM closes everything.
  const second = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS, HOLD), {}, first.dir);
  let exit = -1;
  let stderr = "";
  try {
    await waitFor("the restarted trader", async () => {
      try {
        const st = await status(second);
        return st.trading?.ready === true ? st : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 200);
    expect(ledger.openAlgos("BTCUSDT")).toHaveLength(1);
    // Rows keep coming; a position seconds old under max_hold_sec = 120 is held, with its stop.
    const restartedAt = Date.now();
    await Bun.sleep(3000);
    expect(ledger.position("BTCUSDT").qty).toBe(pos);
    expect(ledger.openAlgos("BTCUSDT").map((a) => a.algoId)).toEqual([stop!.algoId]);
    expect((await readKind(first.dir, "orders")).filter((o) => o.reason === "time" && Number(o.ts_ms) >= restartedAt - 10_000)).toEqual([]);
  } finally {
    const r = await second.run.stop("SIGTERM");
    exit = r.exitCode;
    stderr = r.stderr;
  }
  expect(stderr).toContain("position found at start");
  // Its age is the venue's: the time of the fill that opened it.
  const opened = Number(/position found at start[^\n]*"opened_ms":(\d+)/.exec(stderr)?.[1]);
  expect(ledger.fills.filter((f) => f.symbol === "BTCUSDT" && f.side === (pos > 0 ? "BUY" : "SELL")).map((f) => f.time)).toContain(opened);
  expect(exit).toBe(0);
  expect(ledger.position("BTCUSDT").qty).toBe(0);
  expect(ledger.openOrders()).toEqual([]);
  expect(ledger.openAlgos()).toEqual([]);
}, 120_000);
