/**
 * A loss limit in the compiled binary (docs/strategy.md "Risk"): with `risk.max_daily_loss` below one
 * entry fee, the first fill breaches it, so the strategy closes the position (`risk_halt`), takes no
 * other entry that UTC day (limits are per symbol: each symbol halts on its own loss), and the status
 * page names the limit, the figure and the day. At 00:00 UTC the halt ends: the symbol trades again
 * (and, with the same limit, halts again for the new day) — seen with the binary and the fake
 * exchange under a clock shifted to just before midnight.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { strategyArgs } from "../helpers/strategy-sets.ts";
import { startExchangeProcess, type ExchangeProcess } from "../helpers/exchange-process.ts";
import { fakeClockMissing, shiftedClock } from "../helpers/fake-clock.ts";
import { apiStatus } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
let fake: FakeExchange;
let dir: string;
let status: Record<string, any>;
let run: RunResult;

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 8, recordFrames: false });
  dir = tempDir("strategy-halt");
  const port = freePort();
  // 1000 USDT entries pay 0.5 USDT in fees (TM, 5 bps): a 0.3 limit is breached by the first fill.
  const args = strategyArgs(["risk.max_daily_loss=0.3"]);
  const proc = startBinary(["run", "--config", join(REPO, "config.toml"), ...args], collectorEnv(fake, SYMBOLS, dir, port, { PAPER_ENABLE: "1" }));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 20_000);
  status = await waitFor(
    "a halt on the status page",
    async () => {
      const s = await apiStatus(port).catch(() => undefined);
      const halted = s?.symbols?.filter((x: { paper: { halted: string | null } | null }) => x.paper?.halted);
      return halted !== undefined && halted.length === SYMBOLS.length ? s : undefined;
    },
    // a few seconds on a quiet box; more than 25 once beside a CI run and helpers' tests
    45_000,
    250,
  );
  await Bun.sleep(3000);
  run = await proc.stop("SIGTERM");
}, 90_000);

afterAll(async () => {
  await fake?.stop();
});

describe("max_daily_loss in the compiled binary", () => {
  test("the status page says which limit stopped each symbol, with the figure and the day", () => {
    expect(run.exitCode).toBe(0);
    const day = new Date().toISOString().slice(0, 10);
    for (const s of status.symbols as { symbol: string; paper: { halted: string; trades: number } }[]) {
      expect(s.paper.halted).toMatch(new RegExp(`^${s.symbol} max_daily_loss: day PnL -[0-9.]+ <= -0\\.3, flattened and stopped for \\d{4}-\\d{2}-\\d{2}$`));
      // The day is the rows' UTC event date (the fake exchange's clock is the wall clock).
      expect(s.paper.halted.endsWith(day) || s.paper.halted.endsWith(new Date(Date.now() - 86_400_000).toISOString().slice(0, 10))).toBe(true);
    }
  });

  test("each symbol: one entry, closed by risk_halt, no entry after it", async () => {
    const rows = await query(`SELECT symbol, event, reason, ts_ms FROM ${hive(join(dir, "preview", "*", "*", "kind=paper", "*.parquet"))} ORDER BY symbol, ts_ms, position_no, event DESC`);
    for (const s of SYMBOLS) {
      const mine = rows.filter((r) => r.symbol === s).map((r) => `${r.event}:${r.reason}`);
      expect(mine).toEqual(["open:signal", "close:risk_halt"]);
    }
  });
});

const DAY_MS = 86_400_000;
/** Shifted seconds from the start to midnight: the first halt comes within ≈ 2 s of data, but a loaded box can take 15 s to start, connect and get there. */
const LEAD_S = 20;
const missing = fakeClockMissing();
if (missing !== undefined) console.warn(`strategy-halt across midnight: skipped, ${missing}`);

(missing === undefined ? describe : describe.skip)("max_daily_loss ends with the UTC day", () => {
  let exchange: ExchangeProcess | undefined;
  let dir: string;
  let midnight: number;
  let halts: string[][];
  let result: RunResult;

  beforeAll(async () => {
    dir = tempDir("strategy-halt-midnight");
    const now = Date.now();
    midnight = Math.ceil((now + (LEAD_S + 60) * 1000) / DAY_MS) * DAY_MS;
    const clock = shiftedClock(Math.round((midnight - now) / 1000) - LEAD_S);
    exchange = await startExchangeProcess({ symbols: SYMBOLS, speed: 8 }, clock);
    const port = freePort();
    const proc = startBinary(
      ["run", "--config", join(REPO, "config.toml"), ...strategyArgs(["risk.max_daily_loss=0.3"])],
      { ...collectorEnv(exchange.endpoints, SYMBOLS, dir, port, { PAPER_ENABLE: "1" }), ...clock },
    );
    const haltedFor = async (): Promise<string[]> => {
      const s = await apiStatus(port).catch(() => undefined);
      return (s?.symbols ?? []).map((x: { paper: { halted: string | null } | null }) => x.paper?.halted ?? "");
    };
    const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
    try {
      const before = await waitFor("both symbols halted before midnight", async () => {
        const h = await haltedFor();
        return h.length === SYMBOLS.length && h.every((x) => x.endsWith(dayOf(midnight - DAY_MS))) ? h : undefined;
      }, 30_000, 200);
      const after = await waitFor("both symbols halted again for the new day", async () => {
        const h = await haltedFor();
        return h.length === SYMBOLS.length && h.every((x) => x.endsWith(dayOf(midnight))) ? h : undefined;
      }, LEAD_S * 1000 + 40_000, 200);
      halts = [before, after];
      result = await proc.stop("SIGTERM");
    } finally {
      if (proc.proc.exitCode === null) proc.proc.kill("SIGKILL");
    }
  }, 90_000);

  afterAll(() => exchange?.stop());

  test("the halt of the day before is lifted at the turn: one entry and its risk_halt on each side of midnight, per symbol", async () => {
    expect(result.exitCode).toBe(0);
    // The halts were seen before midnight (the shifted clock reached it after them).
    expect(halts[0]!.every((h) => / max_daily_loss: day PnL -[0-9.]+ <= -0\.3, flattened and stopped for /.test(h))).toBe(true);
    const rows = await query(
      `SELECT symbol, event, reason, epoch_ms(ts_ms) AS t FROM ${hive(join(dir, "preview", "*", "*", "kind=paper", "*.parquet"))} ORDER BY symbol, ts_ms, position_no, event DESC`,
    );
    for (const s of SYMBOLS) {
      const mine = rows.filter((r) => r.symbol === s);
      const side = (pred: (t: number) => boolean) => mine.filter((r) => pred(Number(r.t))).map((r) => `${r.event}:${r.reason}`);
      expect({ s, before: side((t) => t < midnight), after: side((t) => t >= midnight) }).toEqual({
        s,
        before: ["open:signal", "close:risk_halt"],
        after: ["open:signal", "close:risk_halt"],
      });
    }
  });
});
