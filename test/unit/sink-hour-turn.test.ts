/**
 * The hour's turn in ParquetSink: when a symbol's rows move into the next UTC hour, the old hour's
 * builder sends its last, partly filled chunk to the writer at once instead of holding it until
 * its rotation; a late row of the old hour is still taken; every row is written exactly once, in
 * the part of its hour (read back by DuckDB).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import { partMinTs } from "../../src/sinks/parquet/files.ts";
import { tempDir } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow } from "./sink-support.ts";

const H = 3_600_000;
/** 2026-01-01T11:00:00Z, the turn. */
const TURN = Date.UTC(2026, 0, 1, 11);

describe("the hour's turn", () => {
  test("the old hour's last chunk leaves at the turn; every row lands once, in its hour's part", async () => {
    const root = tempDir("hour-turn");
    const sink = new ParquetSink({ outputDir: root, previewDir: root, rotateSec: 60, orderbookRotateSec: 60, compaction: false });
    sink.tick(TURN - 50_000);
    // 40 rows of 10:59: fewer than a chunk, so nothing is sealed or sent ahead yet.
    for (let i = 0; i < 40; i++) sink.append("prices", makeRow("prices", i, "BTCUSDT", TURN - 40_000 + i * 1000));
    expect(sink.status().bytesSentAhead).toBe(0);
    sink.append("prices", makeRow("prices", 40, "BTCUSDT", TURN + 10));
    expect(sink.status().bytesSentAhead).toBeGreaterThan(0);
    // A late row of the old hour (a trade recovered over REST) still lands in that hour.
    sink.append("prices", makeRow("prices", 41, "BTCUSDT", TURN - 500));
    sink.append("prices", makeRow("prices", 42, "BTCUSDT", TURN + 20));
    await sink.close();

    const st = sink.status();
    expect(st.rowsWritten).toBe(43);
    expect(st.rowsRejected).toBe(0);
    const dir = join(root, "date=2026-01-01", "symbol=BTCUSDT", "kind=prices");
    const hourOf = (ts: number) => Math.floor(ts / H);
    const ids = async (file: string) => (await query(`SELECT agg_trade_id AS id, epoch_ms(ts_ms) AS ts FROM read_parquet('${join(dir, file)}')`)).map((r) => ({ id: Number(r.id), ts: Number(r.ts) }));
    const all: { id: number; ts: number }[] = [];
    for (const f of readdirSync(dir)) {
      const rows = await ids(f);
      // A part holds rows of one hour, the hour its name says.
      expect(new Set(rows.map((r) => hourOf(r.ts)))).toEqual(new Set([hourOf(partMinTs(f)!)]));
      all.push(...rows);
    }
    const want = Array.from({ length: 43 }, (_, i) => makeRow("prices", i, "BTCUSDT", 0).agg_trade_id as number);
    expect(all.map((r) => r.id).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
  });
});
