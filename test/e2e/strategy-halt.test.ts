/**
 * A loss limit in the compiled binary (docs/strategy.md "Risk"): with `risk.max_daily_loss` below one
 * entry fee, the first fill breaches it, so the strategy closes the position (`risk_halt`), takes no
 * other entry that UTC day (limits are per symbol: each symbol halts on its own loss), and the status
 * page names the limit, the figure and the day.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { strategyArgs } from "../helpers/strategy-sets.ts";
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
    25_000,
    250,
  );
  await Bun.sleep(3000);
  run = await proc.stop("SIGTERM");
}, 60_000);

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
