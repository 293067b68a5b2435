/**
 * The Parquet writer's disk spill (src/sinks/parquet/spill.ts, docs/storage.md "Overload"): a batch
 * survives the round trip through its file byte for byte, and a sink whose bound is far below what
 * it is handed spills, keeps the order, drops nothing and leaves no spill folder behind.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import { batchFromSpill, spillParts } from "../../src/sinks/parquet/spill.ts";
import { tempDir } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 5, 10);

describe("Parquet spill", () => {
  test("a batch read back from its spill file encodes to the same bytes (numbers, nulls, strings)", async () => {
    for (const kind of ["prices", "orderbook", "fusion", "events"] as const) {
      const b = new ColumnBatchBuilder(kind, "BTCUSDT", Math.floor(T0 / 86_400_000));
      for (let i = 0; i < 3000; i++) expect(b.append(makeRow(kind, i, "BTCUSDT", T0 + i))).toBe(true);
      const batch = b.take()!;
      const file = new Uint8Array(await new Blob(spillParts(batch)).arrayBuffer());
      const back = batchFromSpill(file);
      expect(back.rows).toBe(3000);
      expect(encodeBatch(back, { createdBy: "t" })).toEqual(encodeBatch(batch, { createdBy: "t" }));
    }
  });

  test("past the bound batches wait on disk and all arrive, none dropped", async () => {
    const d = tempDir("pq-spill");
    const raw = join(d, "raw");
    const sink = new ParquetSink({ outputDir: raw, previewDir: join(d, "preview"), rotateSec: 60, orderbookRotateSec: 60, maxBufferBytes: 50_000, compaction: false });
    let id = 0;
    let maxSpilled = 0;
    for (let batch = 0; batch < 30; batch++) {
      for (let i = 0; i < 500; i++) sink.append("prices", makeRow("prices", id++, "BTCUSDT", T0 + batch * 1000 + i));
      sink.flush();
      maxSpilled = Math.max(maxSpilled, sink.status().batchesSpilled);
      expect(sink.status().bytesPending).toBeLessThanOrEqual(50_000 + 40_000);
    }
    expect(maxSpilled).toBeGreaterThan(0);
    await sink.close();
    const st = sink.status();
    expect({ dropped: st.rowsDropped, lost: st.rowsLost, written: st.rowsWritten, spilled: st.batchesSpilled }).toEqual({ dropped: 0, lost: 0, written: id, spilled: 0 });
    expect(st.rowsSpilledTotal).toBeGreaterThan(0);
    // Every row, each once.
    const rows = await query(`SELECT agg_trade_id FROM read_parquet('${raw}/*/*/*/*.parquet', filename = true) ORDER BY filename, agg_trade_id`);
    expect(rows.map((r) => Number(r.agg_trade_id))).toEqual(Array.from({ length: id }, (_, i) => makeRow("prices", i, "BTCUSDT", 0).agg_trade_id as number));
    const staging = join(raw, ".harvestd-staging");
    expect(existsSync(staging) ? readdirSync(staging).filter((n) => n.startsWith("spill-")) : []).toEqual([]);
  }, 30_000);
});
