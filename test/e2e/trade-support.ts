// Shared set-up of the testnet-trading end-to-end tests: the fake exchange (market data from the real
// recordings), the fake testnet matching against the same replayed book, and the compiled binary
// trading on them with settings that make the strategy trade often.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { startFakeTestnet, type FakeTestnet, type FakeTestnetOptions } from "../fake-testnet/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, type Running } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";

export const API_KEY = "e2eApiKey0123456789ABCDEFghijkl";
export const API_SECRET = "e2eSecret-9f8e7d6c5b4a3210-never-print-me";

export interface World {
  readonly fx: FakeExchange;
  readonly tn: FakeTestnet;
  stop(): Promise<void>;
}

/** The fake exchange alone, its books filled: the market data, before any testnet. */
export async function startMarket(symbols: readonly string[], speed: number): Promise<FakeExchange> {
  const fx = await startFakeExchange({ symbols, speed, recordFrames: false, tradeHistoryLimit: 20_000, exchangeInfoServedOnly: true });
  for (const s of symbols) await waitFor(`${s} book`, () => (fx.lastDepth(s) === undefined ? undefined : true), 20_000, 20);
  return fx;
}

/** The fake testnet with the tests' key, matching against `fx`. */
export function startTestnet(fx: FakeExchange, testnet: Partial<FakeTestnetOptions> = {}): Promise<FakeTestnet> {
  return startFakeTestnet({ exchange: fx, apiKey: API_KEY, secret: API_SECRET, ...testnet });
}

export async function startWorld(symbols: readonly string[], speed: number, testnet: Partial<FakeTestnetOptions> = {}): Promise<World> {
  const fx = await startMarket(symbols, speed);
  const tn = await startTestnet(fx, testnet);
  return {
    fx,
    tn,
    async stop() {
      await tn.stop();
      await fx.stop();
    },
  };
}

/** `--set` flags that make the shared strategy trade often on a few minutes of data. */
export function busyStrategy(symbols: readonly string[], extra: readonly string[] = []): string[] {
  const sets = [
    "strategy.min_consistency=0",
    "strategy.allow_degraded=true",
    "strategy.min_reverse_move_bps=0",
    "strategy.max_hold_sec=4",
    "strategy.atr.mult=0",
    "risk.cost.enable=false",
    "risk.max_orders_per_min=600",
    "risk.notional_usdt=150",
    "risk.max_position_notional=400",
    "risk.max_daily_loss=1000",
    "risk.max_drawdown_pct=50",
    ...["Q_H", "A_H", "A_L", "Q_L"].flatMap((r) => [`strategy.regimes.${r}.entry=0.3`, `strategy.regimes.${r}.exit=0.1`, `strategy.regimes.${r}.cooldown_sec=1`, `strategy.regimes.${r}.max_spread_bps=200`]),
    "trade.enable=true",
    "trade.dead_man_sec=10",
    "trade.dead_man_renew_sec=2",
    "trade.order_timeout_ms=1000",
    "trade.resolve_deadline_ms=5000",
    ...symbols.map((s) => `trade.symbols.${s}={leverage=5}`),
    ...extra,
  ];
  return sets.flatMap((s) => ["--set", s]);
}

export interface Trader {
  readonly run: Running;
  readonly dir: string;
  readonly port: number;
}

/** Where a trader finds the market and the venue (a World, or a venue not listening yet). */
export interface Venues {
  readonly fx: FakeExchange;
  readonly tn: Pick<FakeTestnet, "restBase" | "wsBase">;
}

export function startTrader(w: Venues, symbols: readonly string[], args: readonly string[], env: Record<string, string> = {}, dir = tempDir("trade")): Trader {
  const port = freePort();
  const run = startBinary(["run", ...args], collectorEnv(w.fx, symbols, dir, port, {
    BINANCE_TRADE_REST: w.tn.restBase,
    BINANCE_TRADE_WS: w.tn.wsBase,
    BINANCE_API_KEY: API_KEY,
    BINANCE_API_SECRET: API_SECRET,
    PARQUET_ROTATE_SEC: "2",
    ...env,
  }));
  return { run, dir, port };
}

export async function status(t: Trader): Promise<any> {
  return (await fetch(`http://127.0.0.1:${t.port}/api/status`)).json();
}

/** Resolves once the trader's status says it is ready (its HTTP surface may not be up yet). */
export async function traderReady(t: Trader): Promise<void> {
  await waitFor("the trader ready", async () => {
    try {
      return (await status(t)).trading?.ready === true ? true : undefined;
    } catch {
      return undefined;
    }
  }, 30_000, 200);
}

/**
 * A trader's standing once it is ready and signals have flowed for `settleMs`: /health and the first
 * symbol's halt. The trader is stopped with SIGTERM either way; its exit code and stderr come back.
 */
export async function standingAfterStart(t: Trader, settleMs: number): Promise<{ health: { status: number; body: any }; halted: unknown; exitCode: number | null; stderr: string }> {
  let health: { status: number; body: any };
  let halted: unknown;
  try {
    await traderReady(t);
    await Bun.sleep(settleMs);
    const h = await fetch(`http://127.0.0.1:${t.port}/health`);
    health = { status: h.status, body: await h.json() };
    halted = (await status(t)).trading.symbols[0].halted;
  } catch (e) {
    await t.run.stop("SIGTERM");
    throw e;
  }
  const r = await t.run.stop("SIGTERM");
  return { health, halted, exitCode: r.exitCode, stderr: r.stderr };
}

/** Waits until the ledger has at least `n` fills of our orders (entries and exits). */
export async function waitForFills(w: World, n: number, timeoutMs: number): Promise<void> {
  await waitFor(`${n} fills at the fake testnet`, () => (w.tn.server.ledger.fills.length >= n ? true : undefined), timeoutMs, 100);
}

export async function readKind(dir: string, kind: "orders" | "fills"): Promise<Record<string, unknown>[]> {
  const glob = join(dir, "preview", "**", `kind=${kind}`, "*.parquet");
  try {
    return await query(`SELECT * FROM ${hive(glob)} ORDER BY ts_ms`);
  } catch (e) {
    if (/No files found/i.test((e as Error).message)) return [];
    throw e;
  }
}

/** Every file under `dir`, as text (binary files too: a secret would show as its bytes). */
export function allFilesText(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: p, text: readFileSync(p).toString("latin1") });
    }
  };
  walk(dir);
  return out;
}

/** The fills Parquet equals the fake's ledger, fill for fill. */
export async function expectFillsEqualLedger(dir: string, w: World, expect: (v: unknown) => any): Promise<void> {
  const rows = await readKind(dir, "fills");
  const got = rows.map((r) => ({ id: Number(r.trade_id), order: Number(r.order_id), cid: String(r.client_order_id), side: String(r.side), price: Number(r.price), qty: Number(r.qty), commission: Number(r.commission), rp: Number(r.realized_pnl) })).sort((a, b) => a.id - b.id);
  const want = w.tn.server.ledger.fills.map((f) => ({ id: f.id, order: f.orderId, cid: f.clientOrderId, side: f.side, price: f.price, qty: f.qty, commission: f.commission, rp: f.realizedPnl }));
  expect(got).toEqual(want);
}

/** The last orders row of every order equals the fake's ledger (status, id, side, type, quantity). */
export async function expectOrdersEqualLedger(dir: string, w: World, expect: (v: unknown) => any): Promise<void> {
  const rows = await readKind(dir, "orders");
  const last = new Map<string, Record<string, unknown>>();
  // Rows without a venue id (refused by our limits, or never answered) have no ledger entry.
  for (const r of rows) if (r.order_id !== null) last.set(String(r.client_order_id), r);
  const ledger = w.tn.server.ledger;
  const want = [
    ...[...ledger.orders.values()].map((o) => ({ cid: o.clientOrderId, id: o.orderId, side: o.side, type: o.type, qty: o.origQty, status: o.status })),
    ...[...ledger.algos.values()].map((a) => ({ cid: a.clientAlgoId, id: a.algoId, side: a.side, type: a.orderType, qty: 0, status: a.algoStatus })),
  ].sort((a, b) => a.cid.localeCompare(b.cid));
  const got = [...last.values()]
    .map((r) => ({ cid: String(r.client_order_id), id: Number(r.order_id), side: String(r.side), type: String(r.type), qty: Number(r.qty), status: String(r.status) }))
    .sort((a, b) => a.cid.localeCompare(b.cid));
  expect(got).toEqual(want);
}
