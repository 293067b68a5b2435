// [trade] as a user meets it: documented by `harvestd config`, a real-money host refused (78) unless
// allowed, keys only from the environment (missing: 78, one line, no value echoed). At start, a venue
// that refuses the key ends the run (exit 1); one that does not answer yet does not stop collection:
// the trader's start is retried until it does.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { freePort, runBinary, tempDir, waitFor } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser } from "../helpers/browser.ts";
import { PROMTOOL_MISSING, promtoolCheck, samples } from "../helpers/metrics.ts";
import { busyStrategy, startMarket, startTestnet, startTrader, status } from "./trade-support.ts";

const BASE = ["--set", "trade.enable=true", "--set", "trade.symbols.BTCUSDT={}", "--symbols", "BTCUSDT"];

test("harvestd config documents [trade]", async () => {
  const r = await runBinary(["config"]);
  expect(r.exitCode).toBe(0);
  for (const key of ["[trade]", "enable = false", 'venue = "testnet"', "allow_mainnet = false", "flatten_on_exit = true", "BINANCE_TRADE_REST", "BINANCE_API_KEY"]) expect(r.stdout).toContain(key);
});

test("a mainnet trading host is refused with exit 78 unless allow_mainnet", async () => {
  const dir = tempDir("trade-cfg");
  // Keys present (validate checks them too): only the hosts are in question here.
  const env = { OUTPUT_DIR: `${dir}/raw`, PREVIEW_DIR: `${dir}/p`, NDJSON_DIR: `${dir}/n`, ARTIFACTS_DIR: `${dir}/a`, BINANCE_API_KEY: "k", BINANCE_API_SECRET: "s" };
  const refused = await runBinary(["validate", ...BASE], { ...env, BINANCE_TRADE_REST: "https://fapi.binance.com" });
  expect(refused.exitCode).toBe(78);
  expect(refused.stderr).toContain("trade.rest: https://fapi.binance.com is a real-money Binance host");
  const ws = await runBinary(["validate", ...BASE], { ...env, BINANCE_TRADE_WS: "wss://fstream.binance.com" });
  expect(ws.exitCode).toBe(78);
  const allowed = await runBinary(["validate", ...BASE, "--set", "trade.allow_mainnet=true"], { ...env, BINANCE_TRADE_REST: "https://fapi.binance.com" });
  expect(allowed.exitCode).toBe(0);
  const demo = await runBinary(["validate", ...BASE, "--set", 'trade.venue="demo"'], env);
  expect(demo.exitCode).toBe(0);
  const none = await runBinary(["validate", "--set", "trade.enable=true"], env);
  expect(none.exitCode).toBe(78);
  expect(none.stderr).toContain("trade.symbols");
});

test("validate refuses what run would: a traded symbol not collected, a dead-man renewal not inside its countdown", async () => {
  const dir = tempDir("trade-cfg-cross");
  const env = { OUTPUT_DIR: `${dir}/raw`, PREVIEW_DIR: `${dir}/p`, NDJSON_DIR: `${dir}/n`, ARTIFACTS_DIR: `${dir}/a`, BINANCE_API_KEY: "k", BINANCE_API_SECRET: "s" };
  const two = ["--symbols", "BTCUSDT,ETHUSDT", "--set", "trade.enable=true", "--set", "trade.symbols.BTCUSDT={}"];
  const sol = await runBinary(["validate", ...two, "--set", "trade.symbols.SOLUSDT.leverage=3"], env);
  expect(sol.exitCode).toBe(78);
  expect(sol.stderr).toContain("trade.symbols SOLUSDT not in symbols");
  const renew = await runBinary(["validate", ...two, "--set", "trade.dead_man_sec=60", "--set", "trade.dead_man_renew_sec=120"], env);
  expect(renew.exitCode).toBe(78);
  expect(renew.stderr).toContain("dead_man_renew_sec 120 must be shorter than dead_man_sec 60");
  expect((await runBinary(["validate", ...two, "--set", "trade.dead_man_sec=60", "--set", "trade.dead_man_renew_sec=15"], env)).exitCode).toBe(0);
});

test("run without keys in the environment exits 78 naming the variable, never a value", async () => {
  const dir = tempDir("trade-keys");
  const env = { OUTPUT_DIR: `${dir}/raw`, PREVIEW_DIR: `${dir}/p`, NDJSON_DIR: `${dir}/n`, ARTIFACTS_DIR: `${dir}/a`, HTTP_LISTEN: "", BINANCE_TRADE_REST: "http://127.0.0.1:9", BINANCE_REST: "http://127.0.0.1:9" };
  const noKey = await runBinary(["run", ...BASE], env);
  expect(noKey.exitCode).toBe(78);
  expect(noKey.stderr).toContain("BINANCE_API_KEY is not set");
  const secret = "s3cr3t-value-that-must-not-print";
  const noSecret = await runBinary(["run", ...BASE], { ...env, BINANCE_API_KEY: secret });
  expect(noSecret.exitCode).toBe(78);
  expect(noSecret.stderr).toContain("neither BINANCE_API_SECRET nor BINANCE_ED25519_KEY_FILE is set");
  expect(noSecret.stderr + noSecret.stdout).not.toContain(secret);
  const badFile = await runBinary(["run", ...BASE], { ...env, BINANCE_API_KEY: secret, BINANCE_ED25519_KEY_FILE: `${dir}/missing.pem` });
  expect(badFile.exitCode).toBe(78);
  expect(badFile.stderr).toContain("BINANCE_ED25519_KEY_FILE");
  expect(badFile.stderr).not.toContain(secret);
});

test("validate checks the keys run would refuse: missing or unreadable is 78 naming the variable, never a value; present is ok", async () => {
  const dir = tempDir("trade-keys-validate");
  const env = { OUTPUT_DIR: `${dir}/raw`, PREVIEW_DIR: `${dir}/p`, NDJSON_DIR: `${dir}/n`, ARTIFACTS_DIR: `${dir}/a` };
  const secret = "s3cr3t-value-that-must-not-print";
  const noKey = await runBinary(["validate", ...BASE], env);
  expect(noKey.exitCode).toBe(78);
  expect(noKey.stderr).toContain("trade: BINANCE_API_KEY is not set");
  const noSecret = await runBinary(["validate", ...BASE], { ...env, BINANCE_API_KEY: secret });
  expect(noSecret.exitCode).toBe(78);
  expect(noSecret.stderr).toContain("neither BINANCE_API_SECRET nor BINANCE_ED25519_KEY_FILE is set");
  const badFile = await runBinary(["validate", ...BASE], { ...env, BINANCE_API_KEY: secret, BINANCE_ED25519_KEY_FILE: `${dir}/missing.pem` });
  expect(badFile.exitCode).toBe(78);
  expect(badFile.stderr).toContain("BINANCE_ED25519_KEY_FILE");
  for (const r of [noKey, noSecret, badFile]) expect(r.stderr + r.stdout).not.toContain(secret);
  const ok = await runBinary(["validate", ...BASE], { ...env, BINANCE_API_KEY: secret, BINANCE_API_SECRET: secret });
  expect(ok.exitCode).toBe(0);
  expect(ok.stderr + ok.stdout).not.toContain(secret);
});

/** The status page's trading line and table in a real browser, once the line starts with `prefix` (outside CI without a browser: null). */
async function tradingSection(port: number, prefix: string): Promise<{ readonly note: string; readonly rows: string } | null> {
  if (chromiumMissing() !== undefined) return null;
  const browser = await launchBrowser();
  try {
    const { page, problems } = await browser.open(`http://127.0.0.1:${port}/`);
    await page.waitForFunction((p) => (document.getElementById("trading-note")?.textContent ?? "").startsWith(p), prefix, { timeout: 20_000 });
    const note = (await page.textContent("#trading-note")) ?? "";
    const rows = (await page.textContent("#trading-rows")) ?? "";
    expect(problems).toEqual([]);
    return { note, rows };
  } finally {
    await browser.close();
  }
}

/** The status page's trading line (outside CI without a browser: a skip note). */
async function tradingNote(port: number, prefix: string): Promise<string> {
  return (await tradingSection(port, prefix))?.note ?? "skipped: no browser";
}

describe("the venue at start", () => {
  const SYMBOLS = ["BTCUSDT"];
  let fx: FakeExchange;
  /** The testnet's port, chosen before anything listens on it. */
  const port = freePort();
  let tn: FakeTestnet | null = null;
  const venue = { restBase: `http://127.0.0.1:${port}`, wsBase: `ws://127.0.0.1:${port}` };
  const testnet = async (): Promise<FakeTestnet> => (tn ??= await startTestnet(fx, { port }));

  beforeAll(async () => {
    fx = await startMarket(SYMBOLS, 5);
  });
  afterAll(async () => {
    await tn?.stop();
    await fx.stop();
  });

  test("a venue not answering at start: collection runs, /health names the trader's start, which succeeds once the venue answers", async () => {
    const t = startTrader({ fx, tn: venue }, SYMBOLS, busyStrategy(SYMBOLS));
    let stopped: Awaited<ReturnType<typeof t.run.stop>> | null = null;
    try {
      const health = await waitFor("/health naming the trader's start", async () => {
        if (t.run.proc.exitCode !== null) throw new Error(`the run exited with ${t.run.proc.exitCode}`);
        const r = await fetch(`http://127.0.0.1:${t.port}/health`).catch(() => undefined);
        const body = r === undefined ? undefined : ((await r.json()) as { reasons: string[] });
        const reason = body?.reasons.find((x) => x.startsWith("trade: not started: "));
        return reason === undefined ? undefined : { status: r!.status, reason };
      }, 20_000, 200);
      expect(health.status).toBe(503);
      expect(health.reason).toContain(`exchangeInfo from ${venue.restBase} failed: network error: ECONNREFUSED`);
      expect(health.reason).toContain("; retrying");
      // Collecting meanwhile: frames, NDJSON lines and Parquet rows grow, while the start is retried.
      const before = await status(t);
      const after = await waitFor("collection growing, the start retried", async () => {
        const st = await status(t);
        const grew = st.symbols[0].frames > before.symbols[0].frames && st.ndjson.linesWritten > before.ndjson.linesWritten && st.parquet.rowsWritten > before.parquet.rowsWritten;
        return grew && st.trading.start.attempts > 1 ? st : undefined;
      }, 20_000, 250);
      expect(after.trading.ready).toBe(false);
      expect(after.trading.start.retrying).toBe(true);
      // The status page says the same: not started, why, and that it is retried (it said "starting").
      const note = await tradingNote(t.port, "not started: ");
      expect(note).toContain(`exchangeInfo from ${venue.restBase} failed`);
      expect(note).toContain(" · retrying");

      // The venue comes up on that port: the trader starts, reconciles and trades.
      const ledger = (await testnet()).server.ledger;
      await waitFor("the trader ready", async () => ((await status(t)).trading?.ready === true ? true : undefined), 40_000, 200);
      await waitFor("orders filled at the venue", () => (ledger.fills.length >= 2 ? true : undefined), 40_000, 100);
      const st = await status(t);
      expect(st.trading.counters.reconciles).toBeGreaterThanOrEqual(1);
      expect(st.trading.start).toBeUndefined();
      expect(st.health.reasons.filter((r: string) => r.startsWith("trade"))).toEqual([]);
      expect(await tradingNote(t.port, "trading")).toStartWith("trading · user stream connected");
    } finally {
      stopped = await t.run.stop("SIGTERM");
    }
    expect(stopped.exitCode).toBe(0);
    expect(stopped.stderr).toContain("trade: the venue does not answer; collecting without trading");
    expect(stopped.stderr).toContain("trade: the venue answers; trader started");
    // The usual clean stop: flat, nothing resting.
    const ledger = tn!.server.ledger;
    expect(ledger.position("BTCUSDT").qty).toBe(0);
    expect(ledger.openOrders()).toEqual([]);
    expect(ledger.openAlgos()).toEqual([]);
  }, 120_000);

  test("a run the venue refuses at start (a wrong secret: exit 1) is no interrupted run for the next start to rebuild", async () => {
    const w = { fx, tn: await testnet() };
    const dir = tempDir("trade-refused");
    const refused = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS), { BINANCE_API_SECRET: "not-the-secret-0123456789" }, dir);
    await waitFor("the refused run exits", () => (refused.run.proc.exitCode !== null ? true : undefined), 20_000, 100);
    const first = await refused.run.stop("SIGTERM");
    expect(first.exitCode).toBe(1);
    expect(first.stderr).not.toContain("not-the-secret-0123456789");
    expect(first.stderr).not.toContain("retrying");
    const again = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS), {}, dir);
    await waitFor("the next run is up", async () => ((await fetch(`http://127.0.0.1:${again.port}/health`).catch(() => undefined)) !== undefined ? true : undefined), 20_000, 200);
    const second = await again.run.stop("SIGTERM");
    expect(second.exitCode).toBe(0);
    expect(second.stderr).not.toContain("previous run was interrupted");
  }, 60_000);

  test("a max_position_notional below the smallest order: every entry refused unsent, and said in /api/status, /metrics and the page; /health stays 200", async () => {
    const w = { fx, tn: await testnet() };
    const ordersBefore = w.tn.server.ledger.orders.size;
    const t = startTrader(w, SYMBOLS, busyStrategy(SYMBOLS, ["risk.max_position_notional=2"]));
    type Counters = Record<"refusedLimit" | "refusedNotInSync" | "refusedFilter", number>;
    const refusedOf = (c: Counters): number => c.refusedLimit + c.refusedNotInSync + c.refusedFilter;
    let stopped: Awaited<ReturnType<typeof t.run.stop>> | null = null;
    try {
      const st = await waitFor("three entries refused", async () => {
        const s = await status(t).catch(() => undefined);
        const c = s?.trading?.counters as Counters | undefined;
        return c !== undefined && refusedOf(c) >= 3 ? s : undefined;
      }, 60_000, 250);
      const sym = st.trading.symbols[0];
      expect(sym.limit_below_min_order).toBe(true);
      expect(sym.min_order_notional).toBeGreaterThan(2);
      const text = await (await fetch(`http://127.0.0.1:${t.port}/metrics`)).text();
      const later = (await status(t)).trading.counters as Counters;
      const m = samples(text);
      expect(m.get('harvestd_trade_limit_below_min_order{symbol="BTCUSDT"}')).toBe(1);
      // Each cause's counter lies between the status read before /metrics and the one after.
      for (const [reason, key] of [["limit", "refusedLimit"], ["not_in_sync", "refusedNotInSync"], ["filter", "refusedFilter"]] as const) {
        const v = m.get(`harvestd_trade_orders_refused_total{reason="${reason}"}`);
        expect({ reason, v: v! >= st.trading.counters[key] && v! <= later[key] }).toEqual({ reason, v: true });
      }
      if (PROMTOOL_MISSING === undefined) expect(promtoolCheck(text).lines).toEqual([]);
      expect((await waitFor("/health 200", async () => ((await fetch(`http://127.0.0.1:${t.port}/health`)).status === 200 ? true : undefined), 20_000, 250))).toBe(true);
      const page = await tradingSection(t.port, "trading");
      if (page !== null) {
        expect(page.note).toMatch(/ · refused \d+ \(limits \d+, not in sync \d+, venue rules \d+\) · /);
        expect(page.rows).toContain(" / 2 (below the smallest order, ");
      }
    } finally {
      stopped = await t.run.stop("SIGTERM");
    }
    expect(stopped.exitCode).toBe(0);
    expect(stopped.stderr).toContain("risk.max_position_notional = 2 is below the smallest order the venue accepts for BTCUSDT");
    // Nothing reached the venue.
    expect(w.tn.server.ledger.orders.size).toBe(ordersBefore);
  }, 120_000);
});
