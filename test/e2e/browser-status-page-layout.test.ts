/**
 * The status page's wide tables in a real headless Chromium, served by the real HTTP server (its CSP:
 * style and script allowed by hash only) with a status document that fills every table: paper
 * trading, testnet trading with a halt reason, a failing custom indicator. At 1300 px every column is
 * visible (long text cells wrap instead of being cut off); narrower, a table scrolls inside its own
 * panel and the page itself never scrolls sideways. Without a collector or an exchange: this checks
 * the layout only (test/e2e/browser-status-page.test.ts runs the page against the binary).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startHttpServer, type HttpServer } from "../../src/http/server.ts";
import { freePort } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser, type TestBrowser } from "../helpers/browser.ts";

const missing = chromiumMissing();
if (missing !== undefined) console.warn(`skipping the status page layout tests: ${missing}`);

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SANDUSDT", "NEOUSDT"];

function statusDoc(): unknown {
  const now = Date.now();
  return {
    version: "layout-test",
    now_ms: now,
    uptime_s: 100,
    health: { ok: true, reasons: [] },
    totals: { msgs_per_s: 50, badFrames: 0 },
    connections: [{ state: "open" }],
    parquet: { filesWritten: 3 },
    ndjson: { linesWritten: 100 },
    symbols: SYMBOLS.map((symbol) => ({
      symbol,
      last_price: 61234.5,
      mid: 61234.55,
      spread_bps: 0.02,
      ofi_z: 1.2,
      cvd: -12.5,
      fusion_score: 0.4,
      fusion_signal: "buy",
      regime: "active_hi",
      msgs_per_s: 12,
      latency_p50_ms: 3,
      latency_p99_ms: 12,
      resyncs: 0,
      reconnects: 0,
      backfilled: 0,
      last_frame_age_s: 0.1,
      last_parquet_file: `/d/raw/date=2025-01-01/symbol=${symbol}/kind=orderbook/part-20250101T000000-abcdef.parquet`,
      last_parquet_at_ms: now,
      // PaperStats (src/trading/paper/trader.ts), its longest texts: a position, many skip reasons, a halt.
      paper: {
        fee_tier: "VIP1",
        trades: 12,
        wins: 7,
        win_rate: 0.583,
        equity: -1.23,
        fees: 2.345,
        max_drawdown: 3.21,
        sharpe: 0.12,
        halted: symbol === "ETHUSDT" ? "daily loss 25.00 reached (limit 25)" : null,
        signals: { taken: 12, skipped: { cost: 380, regime: 44, cooldown: 7, spread: 3 } },
        position: { side: "long", entry_ts_ms: now, entry_price: 61234.5, qty: 0.0123, unrealized_pnl: 0.45 },
      },
    })),
    trading: {
      ready: true,
      user_stream: true,
      counters: { fills: 4, ordersFailed: 0 },
      limits: { order_count_10s: 1, used_weight_1m: 20 },
      symbols: SYMBOLS.map((symbol) => ({
        symbol,
        position_qty: 0.0123,
        entry_price: 61234.5,
        position_notional: 753.2,
        max_position_notional: 1000,
        stop_trigger: 60000.1,
        open_orders: 2,
        day_pnl: -12.34,
        max_daily_loss: 25,
        total_pnl: 3.21,
        drawdown_pct: 5.02,
        max_drawdown_pct: 5,
        orders_last_min: 3,
        max_orders_per_min: 10,
        halted: symbol === "BTCUSDT" ? "max_drawdown_pct: drawdown 5.02 % reached the limit 5 %" : null,
      })),
    },
    custom_indicators: [
      { name: "vwap_dev", file: "/srv/harvestd/indicators/vwap-dev.ts", calls: 123456, costMeanUs: 1.2, costP99Us: 4.5, rows: 123000, errors: 136, switchedOff: ["BTCUSDT", "ETHUSDT"], lastError: "BTCUSDT: emit() called outside a handler call" },
    ],
  };
}

interface TableFit {
  readonly section: string;
  readonly panel: number;
  readonly table: number;
  /** Header cells whose right edge is past the panel's (cut off until scrolled). */
  readonly hidden: readonly string[];
}

function tableFits(page: Page): Promise<{ tables: TableFit[]; pageOverflow: number }> {
  return page.evaluate(() => {
    const tables = Array.from(document.querySelectorAll("section .wrap"))
      .filter((w) => (w as HTMLElement).offsetParent !== null)
      .map((w) => {
        const box = w.getBoundingClientRect();
        return {
          section: w.closest("section")!.id,
          panel: w.clientWidth,
          table: w.scrollWidth,
          hidden: Array.from(w.querySelectorAll("th"))
            .filter((th) => th.getBoundingClientRect().right > box.right + 0.5)
            .map((th) => th.textContent ?? ""),
        };
      });
    return { tables, pageOverflow: document.documentElement.scrollWidth - window.innerWidth };
  });
}

describe.skipIf(missing !== undefined)("status page: wide tables in headless Chromium", () => {
  let server: HttpServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = startHttpServer(`127.0.0.1:${freePort()}`, "", {
      status: statusDoc,
      health: () => ({ ok: true, reasons: [] }),
      orderbook: () => null,
      history: () => ({ t: [], symbols: {} }),
    });
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 30_000);

  async function open(width: number) {
    const opened = await browser.open(`${server.url}/`, { viewport: { width, height: 900 } });
    await opened.page.waitForSelector("#trading-rows tr");
    await opened.page.waitForSelector("#paper-rows tr");
    await opened.page.waitForSelector("#custom-rows tr");
    return opened;
  }

  test("1300 px: every column of the paper, testnet and custom indicator tables is visible; long texts wrap", async () => {
    const { page, problems, screenshot } = await open(1300);
    const { tables, pageOverflow } = await tableFits(page);
    expect(tables.map((t) => t.section).sort()).toEqual(["custom", "paper", "table-section", "trading"]);
    for (const t of tables) expect({ section: t.section, hidden: t.hidden, overflow: t.table - t.panel }).toEqual({ section: t.section, hidden: [], overflow: 0 });
    expect(pageOverflow).toBeLessThanOrEqual(0);
    // The texts are whole, wrapped onto more lines, not cut.
    expect(await page.textContent("#trading-rows tr:first-child td:last-child")).toBe("max_drawdown_pct: drawdown 5.02 % reached the limit 5 %");
    const paperHead = await page.$$eval("#paper-head th", (ths) => ths.map((th) => th.textContent));
    expect(paperHead).toContain("Fee tier");
    await screenshot("status-page-1300-tables");
    // The page's one style and script ran under its CSP: no violation, no error.
    expect(problems).toEqual([]);
  }, 60_000);

  test("900 px: a table too wide scrolls inside its panel, the page does not scroll sideways", async () => {
    const { page, problems } = await open(900);
    const { tables, pageOverflow } = await tableFits(page);
    expect(pageOverflow).toBeLessThanOrEqual(0);
    for (const t of tables) {
      const overflowX = await page.$eval(`#${t.section} .wrap`, (w) => getComputedStyle(w).overflowX);
      expect(overflowX).toBe("auto");
    }
    expect(problems).toEqual([]);
  }, 60_000);
});
