/**
 * Chunk memory goes round (src/sinks/parquet/parquet-sink.ts, writer-worker.ts): the writer sends each
 * chunk's memory back once it has encoded it, the builders cut their next chunks from it, and every
 * row still lands exactly once with its values (read back by DuckDB).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import { tempDir } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 1, 10);

describe("chunk memory sent back by the writer", () => {
  test("is filled again by later chunks, and the rows written from it are exact", async () => {
    const root = tempDir("chunk-recycle");
    const sink = new ParquetSink({ outputDir: root, previewDir: root, rotateSec: 60, orderbookRotateSec: 60, compaction: false });
    sink.tick(T0);
    let i = 0;
    // Rounds of rows within one rotation: full chunks go ahead, the writer encodes them and sends
    // their memory back between rounds, as it would between socket reads.
    for (let round = 0; round < 40 && sink.status().chunkBuffersReturned === 0; round++) {
      for (let k = 0; k < 2_000; k++, i++) sink.append("prices", makeRow("prices", i, "BTCUSDT", T0 + i));
      await Bun.sleep(20);
    }
    expect(sink.status().chunkBuffersReturned).toBeGreaterThan(0);
    // More rows into the returned memory, then everything out.
    const reused = sink.status().chunkMemoryReused;
    for (let k = 0; k < 5_000; k++, i++) sink.append("prices", makeRow("prices", i, "BTCUSDT", T0 + i));
    expect(sink.status().chunkMemoryReused).toBeGreaterThan(reused);
    await sink.close();
    expect(sink.status().rowsWritten).toBe(i);

    const glob = join(root, "date=2026-01-01", "symbol=BTCUSDT", "kind=prices", "*.parquet");
    const [agg] = await query(
      `SELECT count(*) AS n, count(DISTINCT agg_trade_id) AS ids, min(agg_trade_id) AS lo, max(agg_trade_id) AS hi FROM read_parquet('${glob}')`,
    );
    const first = makeRow("prices", 0, "BTCUSDT", T0).agg_trade_id as number;
    const last = makeRow("prices", i - 1, "BTCUSDT", T0 + i - 1).agg_trade_id as number;
    expect({ n: Number(agg!.n), ids: Number(agg!.ids), lo: Number(agg!.lo), hi: Number(agg!.hi) }).toEqual({ n: i, ids: i, lo: first, hi: last });
    // Every third row's nullable cells are null, the rest hold their values: stale bytes under a
    // reused chunk would show as wrong values or wrong nulls here.
    const rows = await query(`SELECT agg_trade_id AS id, * EXCLUDE (agg_trade_id, row_id, symbol) FROM read_parquet('${glob}') ORDER BY agg_trade_id`);
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    let checked = 0;
    for (let k = 0; k < i; k += 7, checked++) {
      const want = makeRow("prices", k, "BTCUSDT", T0 + k);
      const got = byId.get(want.agg_trade_id as number)!;
      for (const [name, v] of Object.entries(want)) {
        if (name === "agg_trade_id" || name === "row_id" || name === "symbol") continue;
        const g = got[name];
        const have = typeof g === "bigint" ? Number(g) : g instanceof Date ? g.getTime() : g;
        expect({ row: k, column: name, value: have }).toEqual({ row: k, column: name, value: v });
      }
    }
    expect(checked).toBeGreaterThanOrEqual(1_000);
  }, 30_000);
});
