// A trader started again within a UTC day resumes the day's kill switch (docs/trading.md, "Restarts"):
// a halt recorded in the audit log by an earlier trader is found again (TradeRecords.haltsOf) and
// restored into the new RiskBook until the day ends.
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { Row, RowSink } from "../../src/core/rows.ts";
import { TradeRecords } from "../../src/trading/live/records.ts";
import { RiskBook, utcDay } from "../../src/trading/risk/limits.ts";
import { RiskParamsSchema } from "../../src/trading/risk/params.ts";
import { tempDir } from "../helpers/binary.ts";

const none: RowSink = { append: (_k: string, _r: Row) => undefined };

test("a halt noted in today's audit log is found again; other days' and other notes are not", () => {
  const dir = join(tempDir("trade-halts"), "trading");
  const first = new TradeRecords(none, dir, []);
  const today = utcDay(Date.now());
  first.note("reconciled", { initial: true });
  first.note("halt", { symbol: "BTCUSDT", reason: "BTCUSDT max_daily_loss: day PnL -31.53 <= -25, flattened and stopped for " + today, day: today });
  first.note("halt", { symbol: "ETHUSDT", reason: "old", day: "2001-01-01" });
  const found = new TradeRecords(none, dir, []).haltsOf(today);
  expect([...found.keys()]).toEqual(["BTCUSDT"]);
  expect(found.get("BTCUSDT")!.reason).toContain("max_daily_loss");
  expect(new TradeRecords(none, dir, []).haltsOf("2001-01-02").size).toBe(0);
});

test("a restored halt holds until its UTC day ends, then trading resumes", () => {
  const book = new RiskBook("BTCUSDT", RiskParamsSchema.parse({ max_daily_loss: 25 }));
  const day = Date.UTC(2026, 11, 7);
  book.restoreHalt(day + 3_600_000, "BTCUSDT max_daily_loss: day PnL -31.53 <= -25, flattened and stopped for 2026-12-07", day + 1000);
  expect(book.haltAt(day + 7_200_000)?.reason).toContain("max_daily_loss");
  expect(book.haltAt(day + 7_200_000)?.day).toBe("2026-12-07");
  // The realised figures alone would not halt it: the halt is what counts.
  expect(book.check(day + 7_200_000, 0)).toBeNull();
  expect(book.haltAt(day + 86_400_000 + 1)).toBeNull();
});
