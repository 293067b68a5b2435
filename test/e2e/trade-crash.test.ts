// SIGKILL with a position open: the exchange-side stop stays in place (the dead-man switch cancels
// resting orders, not the stop), and a restarted process adopts the position and its stop. The
// adopted position keeps its age (the opening fill's time at the venue): the strategy's time stop
// does not close it at the first row. That process is then cut off from the venue (a TCP proxy) and
// stopped: the flatten gives up within its share of the shutdown deadline, every row collected is
// written, and the log names the position left open with its stop. A third process adopts it again
// and closes everything on SIGTERM.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "../helpers/binary.ts";
import { startTcpProxy } from "../helpers/nats-cluster.ts";
import { aggTradeIdsInParquet, layout } from "./storage-support.ts";
import { busyStrategy, readKind, startTrader, startWorld, traderReady, type World } from "./trade-support.ts";

const SYMBOLS = ["BTCUSDT"];
let w: World;

// Positions held long enough to be killed with one open: no signal exits, a far stop, a long time stop.
const HOLD = ["strategy.min_reverse_move_bps=10000", "strategy.max_hold_sec=120", "strategy.stop_bps=300", "trade.dead_man_sec=5"];
/** A short shutdown deadline: the cut-off stop must fit in it (the trader's share is a third). */
const SHUTDOWN_SEC = 9;

beforeAll(async () => {
  w = await startWorld(SYMBOLS, 5);
});
afterAll(async () => {
  await w.stop();
});

test("SIGKILL mid-position leaves the protective stop at the venue; a restart adopts it, a stop cut off from the venue keeps the deadline and names it, the next SIGTERM flattens", async () => {
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

  // A new process adopts the position and keeps exactly one stop. It reaches the venue through a proxy.
  const proxy = await startTcpProxy(Number(new URL(w.tn.restBase).port));
  const via = { restBase: `http://127.0.0.1:${proxy.port}`, wsBase: `ws://127.0.0.1:${proxy.port}` };
  const second = startTrader({ fx: w.fx, tn: via }, SYMBOLS, busyStrategy(SYMBOLS, [...HOLD, `shutdown_timeout_sec=${SHUTDOWN_SEC}`]), {}, first.dir);
  let exit = -1;
  let stderr = "";
  let stopMs = 0;
  try {
    await traderReady(second);
    expect(ledger.openAlgos("BTCUSDT")).toHaveLength(1);
    // Rows keep coming; a position seconds old under max_hold_sec = 120 is held, with its stop.
    const restartedAt = Date.now();
    await Bun.sleep(3000);
    expect(ledger.position("BTCUSDT").qty).toBe(pos);
    expect(ledger.openAlgos("BTCUSDT").map((a) => a.algoId)).toEqual([stop!.algoId]);
    expect((await readKind(first.dir, "orders")).filter((o) => o.reason === "time" && Number(o.ts_ms) >= restartedAt - 10_000)).toEqual([]);
  } finally {
    // The venue unreachable at SIGTERM, the position open.
    proxy.cut();
    await Bun.sleep(200);
    const t0 = performance.now();
    const r = await second.run.stop("SIGTERM");
    stopMs = performance.now() - t0;
    exit = r.exitCode;
    stderr = r.stderr;
    proxy.stop();
  }
  expect(stderr).toContain("position found at start");
  // Its age is the venue's: the time of the fill that opened it.
  const opened = Number(/position found at start[^\n]*"opened_ms":(\d+)/.exec(stderr)?.[1]);
  expect(ledger.fills.filter((f) => f.symbol === "BTCUSDT" && f.side === (pos > 0 ? "BUY" : "SELL")).map((f) => f.time)).toContain(opened);
  // Within the deadline, exit 0, and the position named with the stop that still protects it.
  expect(stderr).not.toContain("shutdown incomplete");
  expect(exit).toBe(0);
  expect(stopMs).toBeLessThan(SHUTDOWN_SEC * 1000);
  const leftLine = stderr.split("\n").find((l) => l.includes("trade: position left open on the venue")) ?? "";
  expect(leftLine).toContain(`"level":"error"`);
  expect(leftLine).toContain(`BTCUSDT ${pos}`);
  expect(leftLine).toContain(`"qty":${pos}`);
  expect(leftLine).toContain(`stays on the venue (trigger ${stop!.triggerPrice})`);
  // The venue kept both.
  expect(ledger.position("BTCUSDT").qty).toBe(pos);
  expect(ledger.openAlgos("BTCUSDT").map((a) => a.algoId)).toEqual([stop!.algoId]);
  // Every trade the raw log holds is in Parquet: the sinks were flushed despite the venue.
  for (const r of await aggTradeIdsInParquet(layout(first.dir), SYMBOLS)) {
    expect(r.logged.length).toBeGreaterThan(50);
    expect(r.ids).toEqual(r.logged);
  }

  // A third process, reaching the venue, adopts the position again; SIGTERM closes everything.
  const third = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS, HOLD));
  let last = -1;
  try {
    await traderReady(third);
  } finally {
    last = (await third.run.stop("SIGTERM")).exitCode;
  }
  expect(last).toBe(0);
  expect(ledger.position("BTCUSDT").qty).toBe(0);
  expect(ledger.openOrders()).toEqual([]);
  expect(ledger.openAlgos()).toEqual([]);
}, 150_000);
