/**
 * The report's Parquet reader (hyparquet, as in the binary) on files written by harvestd's own encoder:
 * values of every column type, the Hive tree selection (dates, symbols, `.partial` and staging folders
 * ignored), a part that vanished because compaction merged its folder (read again, rows once), and an
 * unreadable file (skipped, reported).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SCHEMAS, type Cell, type RowKind } from "../../src/core/rows.ts";
import { DAY_MS } from "../../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { listPartFiles, listPartition, readPartFile, readPartition } from "../../src/report/parquet-tree.ts";
import { tempDir } from "../helpers/binary.ts";

const dir = tempDir("report-pq");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 5, 10);

/** A full row of `kind` with the given cells; every other column null (nullable) or a filler. */
function row(kind: RowKind, cells: Record<string, Cell>): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const d of SCHEMAS[kind]) {
    if (d.name in cells) out[d.name] = cells[d.name];
    else if (d.nullable) out[d.name] = null;
    else out[d.name] = d.type === "str" ? "x" : d.type === "bool" ? false : 1;
  }
  return out;
}

function writePart(path: string, kind: RowKind, rows: Record<string, Cell>[]): void {
  const b = new ColumnBatchBuilder(kind, rows[0].symbol as string, Math.floor((rows[0].ts_ms as number) / DAY_MS));
  for (const r of rows) if (!b.append(r)) throw new Error(b.lastRejection);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeBatch(b.take()!));
}

const part = (root: string, date: string, symbol: string, kind: RowKind, name: string) => join(dir, root, `date=${date}`, `symbol=${symbol}`, `kind=${kind}`, name);

describe("reading columns", () => {
  test("ts as epoch ms, i64 and f64 with NaN for null, bool as 0/1, strings with null", async () => {
    const path = part("raw", "2026-01-05", "BTCUSDT", "prices", "part-1-000001-a.parquet");
    writePart(path, "prices", [
      row("prices", { symbol: "BTCUSDT", ts_ms: T0, agg_trade_id: 2 ** 52 + 3, price: 100.5, latency_ms: 12, backfilled: false, scenario_2x2: "A_H" }),
      row("prices", { symbol: "BTCUSDT", ts_ms: T0 + 7, agg_trade_id: 2 ** 52 + 4, price: 100.25, latency_ms: null, backfilled: true, scenario_2x2: null }),
    ]);
    const c = await readPartFile({ path, date: "2026-01-05", symbol: "BTCUSDT", kind: "prices" }, ["ts_ms", "agg_trade_id", "price", "latency_ms", "backfilled", "scenario_2x2"]);
    expect(c.rows).toBe(2);
    expect(Array.from(c.num("ts_ms"))).toEqual([T0, T0 + 7]);
    expect(Array.from(c.num("agg_trade_id"))).toEqual([2 ** 52 + 3, 2 ** 52 + 4]);
    expect(Array.from(c.num("price"))).toEqual([100.5, 100.25]);
    expect(c.num("latency_ms")[0]).toBe(12);
    expect(c.num("latency_ms")[1]).toBeNaN();
    expect(Array.from(c.bool("backfilled"))).toEqual([0, 1]);
    expect(c.str("scenario_2x2")).toEqual(["A_H", null]);
    expect(() => c.num("scenario_2x2")).toThrow("was not read with that type");
  });

  test("a column the file lacks, or a file that is not Parquet, is an error naming the file", async () => {
    const path = part("raw", "2026-01-05", "BTCUSDT", "prices", "part-1-000001-a.parquet");
    const garbage = part("raw", "2026-01-05", "BTCUSDT", "prices", "part-9-000009-z.parquet.bad");
    writeFileSync(garbage, "not parquet at all");
    await expect(readPartFile({ path: garbage, date: "2026-01-05", symbol: "BTCUSDT", kind: "prices" }, ["ts_ms"])).rejects.toThrow(`${garbage}: not a readable prices Parquet file`);
    await expect(readPartFile({ path, date: "2026-01-05", symbol: "BTCUSDT", kind: "orderbook" }, ["best_bid"])).rejects.toThrow("no column best_bid");
  });
});

describe("the tree", () => {
  test("dates in range, chosen symbols, name order; .partial files and the staging folder are never listed", () => {
    const p = (d: string, s: string, n: string) => part("t1", d, s, "fusion", n);
    for (const [d, s, n] of [
      ["2026-01-04", "AAA", "part-1.parquet"],
      ["2026-01-05", "AAA", "part-3.parquet"],
      ["2026-01-05", "AAA", "part-2.parquet"],
      ["2026-01-05", "BBB", "part-1.parquet"],
      ["2026-01-06", "AAA", "part-1.parquet"],
      ["2026-01-05", "AAA", "part-4.parquet.partial"],
    ]) {
      mkdirSync(dirname(p(d, s, n)), { recursive: true });
      writeFileSync(p(d, s, n), "");
    }
    mkdirSync(join(dir, "t1", ".harvestd-staging", "compact-1"), { recursive: true });
    writeFileSync(join(dir, "t1", ".harvestd-staging", "compact-1", "merged.parquet"), "");
    const all = listPartFiles(join(dir, "t1"), ["fusion", "cvd"], "2026-01-05", "2026-01-06", null);
    expect(all.map((f) => `${f.date}/${f.symbol}/${f.path.slice(f.path.lastIndexOf("/") + 1)}`)).toEqual([
      "2026-01-05/AAA/part-2.parquet",
      "2026-01-05/AAA/part-3.parquet",
      "2026-01-06/AAA/part-1.parquet",
      "2026-01-05/BBB/part-1.parquet",
    ]);
    expect(listPartFiles(join(dir, "t1"), ["fusion"], "2026-01-04", "2026-01-05", new Set(["BBB"])).length).toBe(1);
    expect(listPartFiles(join(dir, "nope"), ["fusion"], "2026-01-04", "2026-01-05", null)).toEqual([]);
  });

  test("a listed part merged away meanwhile: the folder is read again, every row exactly once", async () => {
    const folder = dirname(part("t2", "2026-01-05", "AAA", "cvd", "x"));
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => row("cvd", { symbol: "AAA", ts_ms: T0 + from + i, agg_trade_id: from + i, cvd: from + i }));
    writePart(join(folder, "part-1.parquet"), "cvd", rows(0, 3));
    writePart(join(folder, "part-2.parquet"), "cvd", rows(3, 2));
    const listed = listPartition(folder, "2026-01-05", "AAA", "cvd");
    // Compaction: the two parts become one merged file after the listing.
    writePart(join(folder, "merged.parquet.partial"), "cvd", rows(0, 5));
    renameSync(join(folder, "merged.parquet.partial"), join(folder, "part-0-merged.parquet"));
    rmSync(join(folder, "part-1.parquet"));
    rmSync(join(folder, "part-2.parquet"));
    const r = await readPartition(folder, listed, ["ts_ms", "agg_trade_id"]);
    expect(r.read.map((x) => [x.path.slice(folder.length + 1), x.rows])).toEqual([["part-0-merged.parquet", 5]]);
    expect(r.parts.flatMap((c) => Array.from(c.num("agg_trade_id")))).toEqual([0, 1, 2, 3, 4]);
    expect(r.unreadable).toEqual([]);
  });

  test("an unreadable file is skipped and reported; the others are read", async () => {
    const folder = dirname(part("t3", "2026-01-05", "AAA", "cvd", "x"));
    writePart(join(folder, "part-1.parquet"), "cvd", [row("cvd", { symbol: "AAA", ts_ms: T0, agg_trade_id: 1 })]);
    writeFileSync(join(folder, "part-2.parquet"), "PAR1 truncated");
    writePart(join(folder, "part-3.parquet"), "cvd", [row("cvd", { symbol: "AAA", ts_ms: T0 + 1, agg_trade_id: 2 })]);
    const r = await readPartition(folder, listPartition(folder, "2026-01-05", "AAA", "cvd"), ["agg_trade_id"]);
    expect(r.parts.flatMap((c) => Array.from(c.num("agg_trade_id")))).toEqual([1, 2]);
    expect(r.unreadable.map((u) => u.path)).toEqual([join(folder, "part-2.parquet")]);
    expect(r.unreadable[0].error).toContain("not a readable cvd Parquet file");
  });
});
