/**
 * Custom indicator kinds through the real ParquetSink and its writer Worker (which learns the custom
 * schemas from its init message): files under PREVIEW_DIR/date=/symbol=/kind=custom_<name>/ with the
 * declared Parquet types, rotated and compacted like any preview kind, read back by DuckDB.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { registerCustomSchema } from "../../src/core/rows.ts";
import { schemaOfColumns } from "../../src/indicators/load.ts";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import type { MaintenanceEvent } from "../../src/sinks/parquet/sink-types.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";

const H = 3_600_000;
const H0 = Date.UTC(2026, 0, 1, 10);

describe("custom kinds in Parquet", () => {
  test("declared types, PREVIEW_DIR placement, rotation and compaction of a closed hour", async () => {
    registerCustomSchema(
      "custom_pq_test",
      schemaOfColumns([
        { name: "d", type: "double" },
        { name: "i", type: "int64" },
        { name: "s", type: "string" },
        { name: "b", type: "bool" },
      ]),
    );
    const dir = tempDir("ind-parquet");
    const raw = join(dir, "raw");
    const preview = join(dir, "preview");
    const events: MaintenanceEvent[] = [];
    const sink = new ParquetSink({ outputDir: raw, previewDir: preview, rotateSec: 60, orderbookRotateSec: 60, compactionScanAtStart: false, onMaintenance: (e) => events.push(e) });
    const want: Record<string, unknown>[] = [];
    let i = 0;
    // 10:00 to 11:05 every 10 s: hour 10 closes (60 s rotation + 30 s grace) and is compacted.
    for (let ts = H0; ts < H0 + H + 5 * 60_000; ts += 10_000, i++) {
      sink.tick(ts);
      const row = { symbol: "BTCUSDT", ts_ms: ts, d: i % 7 === 0 ? null : i / 3, i: i % 5 === 0 ? null : i * 1000, s: i % 3 === 0 ? null : `s${i}`, b: i % 4 === 0 ? null : i % 2 === 0 };
      sink.append("custom_pq_test", row);
      want.push(row);
    }
    // A custom kind nobody registered is refused, not written.
    sink.append("custom_never_registered", { symbol: "BTCUSDT", ts_ms: H0 });
    await waitFor("the custom kind's closed hour compacted", () => (events.some((e) => e.type === "compacted" && e.path.includes("kind=custom_pq_test")) ? true : undefined), 30_000);
    await sink.close();
    const st = sink.status();
    expect(st.rowsRejected).toBe(1);
    expect(st.lastRejection).toContain("custom_never_registered");
    expect(st.rowsWritten).toBe(want.length);

    const kindDir = join(preview, "date=2026-01-01", "symbol=BTCUSDT", "kind=custom_pq_test");
    expect(existsSync(kindDir)).toBe(true);
    expect(existsSync(join(raw, "date=2026-01-01"))).toBe(false);
    const hourOf = (n: string) => Math.floor(Number(/^part-(\d+)-/.exec(n)![1]) / H);
    const names = readdirSync(kindDir).filter((n) => n.endsWith(".parquet"));
    expect(names.filter((n) => hourOf(n) === H0 / H).length).toBe(1);
    expect(names.filter((n) => hourOf(n) === H0 / H + 1).length).toBeGreaterThanOrEqual(5);

    const types = await query(`DESCRIBE SELECT * EXCLUDE (date, kind) FROM ${hive(join(preview, "**", "*.parquet"))}`);
    expect(types.map((t) => `${t.column_name}:${t.column_type}`)).toEqual([
      "symbol:VARCHAR",
      "ts_ms:TIMESTAMP WITH TIME ZONE",
      "d:DOUBLE",
      "i:BIGINT",
      "s:VARCHAR",
      "b:BOOLEAN",
    ]);
    const got = await query(`SELECT symbol, epoch_ms(ts_ms) AS ts_ms, d, i, s, b FROM ${hive(join(preview, "**", "*.parquet"))} WHERE kind = 'custom_pq_test' ORDER BY ts_ms`);
    expect(got.map((r): Record<string, unknown> => ({ ...r, ts_ms: Number(r.ts_ms), i: r.i === null ? null : Number(r.i) }))).toEqual(want);

    // A later run: its start-up scan merges the custom kind's hours left open, and leaves the parts
    // of a custom kind no longer configured as they are, without reporting a fault.
    const gone = kindDir.replace("kind=custom_pq_test", "kind=custom_gone_indicator");
    cpSync(kindDir, gone, { recursive: true });
    const goneFiles = readdirSync(gone).sort();
    const later: MaintenanceEvent[] = [];
    const again = new ParquetSink({ outputDir: raw, previewDir: preview, rotateSec: 60, orderbookRotateSec: 60, compactionScanAtStart: true, onMaintenance: (e) => later.push(e) });
    await waitFor("the open hour of the custom kind compacted by the start-up scan", () => (later.some((e) => e.type === "compacted" && e.path.includes("kind=custom_pq_test")) ? true : undefined), 30_000);
    await again.close();
    expect(later.filter((e) => e.type === "error")).toEqual([]);
    expect(readdirSync(gone).sort()).toEqual(goneFiles);
    expect(readdirSync(kindDir).filter((n) => n.endsWith(".parquet")).length).toBe(2);
  }, 60_000);
});
