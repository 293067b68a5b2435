/**
 * Issue "Operator surface": the status page of the compiled binary, collecting from the fake
 * exchange, in a real headless Chromium. The page must fill with live values, keep updating its
 * table and charts, show what the exchange actually traded and the paper-trading figures, fit a phone, show an unhealthy state and
 * recover, work behind the token (bearer header, or the browser's Basic prompt), and run without a
 * single console error. Screenshots land in test-artifacts/ for a person to look at.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { waitFor } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { fakeClockMissing, shiftedClock } from "../helpers/fake-clock.ts";
import { startCollector, waitForHealth, type CollectorUnderTest } from "./http-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SANDUSDT", "NEOUSDT"];
const TOKEN = "browser-test-token-5f0c2a9e41d7b386";
const AUTH = { Authorization: `Bearer ${TOKEN}` };

const missing = chromiumMissing();
if (missing !== undefined) console.warn(`skipping the browser tests: ${missing}`);

interface SymbolView {
  readonly cells: Record<string, string>;
  /** Points drawn per chart (M and L commands of the line path). */
  readonly points: Record<string, number>;
  readonly paths: Record<string, string>;
}

/** What a person sees, per symbol: the table cells and the chart paths. */
function readPage(page: Page): Promise<Record<string, SymbolView>> {
  return page.evaluate(() => {
    const out: Record<string, { cells: Record<string, string>; points: Record<string, number>; paths: Record<string, string> }> = {};
    for (const tr of Array.from(document.querySelectorAll("#rows tr[data-symbol]")) as HTMLElement[]) {
      const symbol = tr.dataset.symbol!;
      const cells: Record<string, string> = {};
      for (const td of Array.from(tr.querySelectorAll("td[data-k]")) as HTMLElement[]) cells[td.dataset.k!] = td.textContent ?? "";
      const points: Record<string, number> = {};
      const paths: Record<string, string> = {};
      for (const svg of Array.from(document.querySelectorAll(`.card[data-symbol="${symbol}"] svg[data-chart]`)) as SVGElement[]) {
        const d = svg.querySelector("path.line")?.getAttribute("d") ?? "";
        paths[svg.dataset.chart!] = d;
        points[svg.dataset.chart!] = (d.match(/[ML]/g) ?? []).length;
      }
      out[symbol] = { cells, points, paths };
    }
    return out;
  });
}

const shown = (text: string): number => Number(text.replace(/,/g, ""));

describe.skipIf(missing !== undefined)("status page in headless Chromium (compiled binary, fake exchange)", () => {
  let c: CollectorUnderTest;
  let browser: TestBrowser;

  beforeAll(async () => {
    c = await startCollector({ symbols: SYMBOLS, token: TOKEN, env: { PAPER_ENABLE: "1" }, args: ["--set", "health.depth_timeout_sec=4"] });
    await waitForHealth(c, 200);
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    const r = await c?.stop();
    if (r !== undefined && r.exitCode !== 0) console.error(r.stderr);
  }, 60_000);

  test("desktop: the table and charts fill with live values and keep updating, without console errors", async () => {
    const { page, problems, screenshot } = await browser.open(`${c.base}/`, { headers: AUTH });
    // Every symbol has a row with a last price and a mid.
    const first = await waitFor(
      "a row with prices for every symbol",
      async () => {
        const v = await readPage(page);
        return SYMBOLS.every((s) => v[s] !== undefined && Number.isFinite(shown(v[s]!.cells.last_price!)) && Number.isFinite(shown(v[s]!.cells.mid!))) ? v : undefined;
      },
      30_000,
      250,
    );
    expect(Object.keys(first).sort()).toEqual([...SYMBOLS].sort());
    expect(await page.textContent("#health")).toBe("healthy");

    // Later: every chart has drawn more points, and the busy symbols' prices moved.
    const later = await waitFor(
      "charts and prices to move",
      async () => {
        const v = await readPage(page);
        const grew = SYMBOLS.every((s) => ["mid", "cvd", "ofi_z"].every((k) => v[s]!.points[k]! >= first[s]!.points[k]! + 3));
        const moved = ["BTCUSDT", "ETHUSDT"].every((s) => v[s]!.cells.mid !== first[s]!.cells.mid && v[s]!.paths.mid !== first[s]!.paths.mid);
        return grew && moved ? v : undefined;
      },
      40_000,
      500,
    );
    // The listing tile: the first listing check (10 s after the start) finds every symbol trading.
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#tiles .tile")).some((t) => t.textContent === "Exchange listingall trading"), undefined, { timeout: 30_000 });
    // Counters shown are numbers, and the last price shown is a price the exchange actually traded.
    const sent = c.fake.sentFrames();
    for (const s of SYMBOLS) {
      const cells = later[s]!.cells;
      for (const k of ["msgs_per_s", "resyncs", "reconnects", "backfilled"]) expect(Number.isInteger(shown(cells[k]!))).toBe(true);
      expect(cells.latency_p50_ms).toMatch(/ ms$/);
      expect(cells.last_parquet_file).toMatch(/^[a-z]+ · /);
      const decimals = (cells.last_price!.split(".")[1] ?? "").length;
      const traded = sent
        .filter((f) => f.stream === `${s.toLowerCase()}@aggTrade`)
        .map((f) => Number((JSON.parse(f.text) as { data: { p: string } }).data.p));
      const px = shown(cells.last_price!);
      expect(traded.some((p) => Math.abs(p - px) <= 0.5 * 10 ** -decimals + 1e-12)).toBe(true);
    }
    // Paper trading is on: its table has a row per symbol with the figures the status document carries.
    expect(await page.isVisible("#paper")).toBe(true);
    const paperHead = await page.$$eval("#paper-head th", (ths) => ths.map((th) => th.textContent));
    expect(paperHead.slice(0, 6)).toEqual(["Symbol", "PnL", "Win rate", "Max drawdown", "Sharpe", "Trades"]);
    const paperRows = await page.$$eval("#paper-rows tr", (trs) => trs.map((tr) => (tr as HTMLElement).dataset.symbol));
    expect(paperRows.sort()).toEqual([...SYMBOLS].sort());
    // Why it has or has not traded: its entry signals, taken and skipped by reason.
    const signalsAt = paperHead.indexOf("Signals");
    expect(signalsAt).toBeGreaterThan(0);
    const signalCells = await page.$$eval("#paper-rows tr", (trs, i) => trs.map((tr) => tr.children[i]!.textContent ?? ""), signalsAt);
    for (const cell of signalCells) expect(cell).toMatch(/^[\d,]+ taken( · [\d,]+ skipped \([a-z_]+ [\d,]+(, [a-z_]+ [\d,]+)*\))?$/);
    // A screenshot worth looking at: some 20 s of chart.
    await waitFor("20 chart points", async () => ((await readPage(page)).BTCUSDT!.points.mid! >= 20 ? true : undefined), 60_000, 500);
    await screenshot("status-page-desktop");
    expect(problems).toEqual([]);
  }, 120_000);

  test("phone: cards carry every figure, the wide table steps aside, nothing scrolls sideways", async () => {
    const { page, problems, screenshot } = await browser.open(`${c.base}/`, {
      headers: AUTH,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    await page.waitForSelector('.card[data-symbol="BTCUSDT"] .stats', { state: "visible", timeout: 30_000 });
    await waitFor("charts drawn on the phone", async () => ((await readPage(page)).BTCUSDT?.points.mid ?? 0) >= 3 ? true : undefined, 30_000, 250);
    expect(await page.isVisible("#table-section")).toBe(false);
    for (const s of SYMBOLS) expect(await page.isVisible(`.card[data-symbol="${s}"] svg[data-chart="ofi_z"]`)).toBe(true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot("status-page-phone");
    expect(problems).toEqual([]);
  }, 90_000);

  test("a silent stream turns the page unhealthy with the reason, and it recovers", async () => {
    const { page, problems, screenshot } = await browser.open(`${c.base}/`, { headers: AUTH });
    await page.waitForSelector("#health.ok", { timeout: 30_000 });
    c.fake.silence("public", true);
    try {
      // Quieter symbols' depth streams may be named first; wait for the busiest one.
      await page.waitForFunction(() => document.querySelector("#reasons.show")?.textContent?.includes("btcusdt@depth5@100ms") === true, undefined, { timeout: 30_000 });
      expect(await page.textContent("#health")).toBe("unhealthy");
      expect(await page.textContent("#reasons")).toContain("silent beyond timeout");
      await screenshot("status-page-unhealthy");
    } finally {
      c.fake.silence("public", false);
    }
    await page.waitForSelector("#health.ok", { timeout: 30_000 });
    expect(await page.isVisible("#reasons")).toBe(false);
    expect(problems).toEqual([]);
  }, 90_000);

  test("behind the token: the browser gets a Basic prompt; the token as password opens the page, a wrong one does not", async () => {
    const challenge = await fetch(`${c.base}/`);
    expect(challenge.status).toBe(401);
    // Browsers act on the first challenge of the header: it must be one they can prompt for.
    expect(challenge.headers.get("www-authenticate")).toMatch(/^Basic realm="harvestd"/);
    // A wrong password is refused again (a person would see the prompt once more).
    expect((await browser.open(`${c.base}/`, { httpCredentials: { username: "me", password: "not-the-token" } })).status).toBe(401);
    const { page, problems, status } = await browser.open(`${c.base}/`, { httpCredentials: { username: "me", password: TOKEN } });
    expect(status).toBe(200);
    // The page's own requests (/api/history, /api/status) reuse the credentials.
    await waitFor("a filled row", async () => (Number.isFinite(shown((await readPage(page)).BTCUSDT?.cells.mid ?? "x")) ? true : undefined), 30_000, 250);
    expect(problems).toEqual([]);
  }, 90_000);
});

describe.skipIf(missing !== undefined)("status page: a pause the exchange imposes on REST", () => {
  test("a 418 (IP banned) answered to a REST request shows as a tile, in /metrics and once in the log", async () => {
    const c = await startCollector({ symbols: ["BTCUSDT"] });
    let browser: TestBrowser | undefined;
    try {
      await waitForHealth(c, 200);
      // The next REST request (the clock check 2 s after the start, or the listing check at 10 s).
      c.fake.rejectRest(1, 418, 600);
      browser = await launchBrowser();
      const { page, problems } = await browser.open(`${c.base}/`);
      const tile = await waitFor(
        "the REST paused tile",
        async () => (await page.$$eval("#tiles .tile", (ts) => ts.map((t) => t.textContent ?? ""))).find((t) => t.startsWith("REST paused")),
        40_000,
        250,
      );
      expect(tile).toMatch(/^REST paused(9|10) min$/);
      const gauge = /^harvestd_rest_pause_seconds (\d+)$/m.exec(await (await c.get("/metrics")).text());
      expect(Number(gauge?.[1])).toBeGreaterThan(500);
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
      const r = await c.stop();
      const said = r.stderr.split("\n").filter((l) => l.includes('"exchange REST paused"')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(said.map((l) => [l.status, l.why, l.pause_s])).toEqual([[418, "IP banned", 600]]);
    }
  }, 90_000);
});

const clockMissing = missing ?? fakeClockMissing();
describe.skipIf(clockMissing !== undefined)("status page: the local clock against the exchange's", () => {
  test("a collector whose clock is 4 s ahead shows +4.0 s in a tile and in /metrics and says so once; one in step shows about 0 and says nothing", async () => {
    const [ahead, inStep] = await Promise.all([startCollector({ symbols: ["BTCUSDT"], env: shiftedClock(4) }), startCollector({ symbols: ["BTCUSDT"] })]);
    let browser: TestBrowser | undefined;
    const tileOf = async (page: Page) => (await page.$$eval("#tiles .tile", (ts) => ts.map((t) => t.textContent ?? ""))).find((t) => t.startsWith("Clock vs exchange"));
    const gauge = async (c: CollectorUnderTest) => Number(/^harvestd_clock_offset_seconds (\S+)$/m.exec(await (await c.get("/metrics")).text())?.[1]);
    try {
      browser = await launchBrowser();
      const pages = await Promise.all([browser.open(`${ahead.base}/`), browser.open(`${inStep.base}/`)]);
      const [aheadTile, inStepTile] = await Promise.all(pages.map((p) => waitFor("the clock tile", () => tileOf(p.page), 30_000, 250)));
      expect(aheadTile).toMatch(/^Clock vs exchange\+(3\.[89]|4\.[01]) s$/);
      expect(inStepTile).toMatch(/^Clock vs exchange[+-]0\.[01] s$/);
      expect(Math.abs((await gauge(ahead)) - 4)).toBeLessThan(0.2);
      expect(Math.abs(await gauge(inStep))).toBeLessThan(0.2);
      for (const p of pages) expect(p.problems).toEqual([]);
    } finally {
      await browser?.close();
      const [a, b] = await Promise.all([ahead.stop(), inStep.stop()]);
      const said = (r: { stderr: string }) => r.stderr.split("\n").filter((l) => l.includes("the local clock")).map((l) => JSON.parse(l) as Record<string, unknown>);
      const aheadSaid = said(a);
      expect(aheadSaid.map((l) => [l.level, l.ahead])).toEqual([["warn", true]]);
      expect(Math.abs(Number(aheadSaid[0]!.offset_ms) - 4000)).toBeLessThan(200);
      expect(said(b)).toEqual([]);
    }
  }, 90_000);
});
