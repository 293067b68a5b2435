/**
 * `harvestd report`'s progress counts the Parquet files it listed, each once: the A/B section reads
 * prices, orderbook, fusion and features a second time (other columns), which once printed
 * `report: read 48/32 files`. Here a real tree, written by harvestd's own encoder, goes through the
 * whole report with a line per call, and the counts are taken from what it printed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PREVIEW_KINDS, SCHEMAS, type Cell, type RowKind } from "../../src/core/rows.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { buildReport } from "../../src/report/build.ts";
import { Progress } from "../../src/report/progress.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { DAY_MS } from "../../src/sinks/parquet/columns.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { tempDir } from "../helpers/binary.ts";

const dir = tempDir("report-progress");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DATE = "2026-01-05";
const T0 = Date.UTC(2026, 0, 5, 10);
const ROWS_PER_FILE = 3;

/** `ROWS_PER_FILE` rows of `kind`, one second apart; columns not given are null or a filler. */
function rows(kind: RowKind, symbol: string): Record<string, Cell>[] {
  return Array.from({ length: ROWS_PER_FILE }, (_, i) => {
    const out: Record<string, Cell> = {};
    for (const d of SCHEMAS[kind]) out[d.name] = d.nullable ? null : d.type === "str" ? "x" : d.type === "bool" ? false : 1;
    return { ...out, symbol, ts_ms: T0 + i * 1000 };
  });
}

function writePart(root: string, symbol: string, kind: RowKind, name: string): void {
  const path = join(dir, root, `date=${DATE}`, `symbol=${symbol}`, `kind=${kind}`, name);
  const b = new ColumnBatchBuilder(kind, symbol, Math.floor(T0 / DAY_MS));
  for (const r of rows(kind, symbol)) if (!b.append(r)) throw new Error(b.lastRejection);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeBatch(b.take()!));
}

/** Progress numbers `read/total` of every line that has them. */
const counts = (lines: readonly string[]) => lines.flatMap((l) => [...l.matchAll(/(\d+)\/(\d+) files/g)].map((m) => [Number(m[1]), Number(m[2])] as const));

describe("report progress", () => {
  test("with model decisions (the A/B re-reads four kinds) and an unreadable file: never past the total, ending at it", async () => {
    let written = 0;
    for (const symbol of ["AAAUSDT", "BBBUSDT"]) {
      for (const kind of ["prices", "orderbook"] as const) for (const n of [1, 2]) (writePart("raw", symbol, kind, `part-${n}.parquet`), written++);
      for (const kind of PREVIEW_KINDS) (writePart("preview", symbol, kind, "part-1.parquet"), written++);
    }
    // Read by data quality and again by the A/B: one skipped file, reported once.
    writeFileSync(join(dir, "raw", `date=${DATE}`, "symbol=AAAUSDT", "kind=prices", "part-3.parquet"), "not parquet");
    written++;

    const cfg = ConfigSchema.parse({ storage: { output_dir: join(dir, "raw"), preview_dir: join(dir, "preview"), artifacts_dir: join(dir, "art") } });
    const lines: string[] = [];
    const data = await buildReport({ from: DATE, to: DATE, symbols: null }, { cfg, version: "test", progress: new Progress((l) => lines.push(l), 0) });

    expect(lines[0]).toBe(`report: ${written} Parquet files for 2 symbols`);
    const seen = counts(lines);
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter(([n, total]) => n > total || total !== written)).toEqual([]);
    // Rows once per file read: the A/B's second reading adds none.
    expect(lines.at(-1)).toMatch(new RegExp(`^report: read ${written}/${written} files \\(1 unreadable, left out\\), ${(written - 1) * ROWS_PER_FILE} rows in `));
    expect(data.inputs.skipped_files.map((s) => s.path)).toEqual([join(dir, "raw", `date=${DATE}`, "symbol=AAAUSDT", "kind=prices", "part-3.parquet")]);
  });

  test("a call may stand for several listed files: a partition read at once", () => {
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l), 0, () => 0);
    p.start(5, 1);
    p.file("A", "prices", 10, 3);
    p.warn("x: cannot read");
    p.file("A", "orderbook", 0, 2);
    p.done();
    expect(lines).toEqual([
      "report: 5 Parquet files for 1 symbol",
      "report: 3/5 files, 10 rows (A prices, symbol 1/1)",
      "report: skipped x: cannot read",
      "report: 5/5 files, 10 rows (A orderbook, symbol 1/1)",
      "report: read 5/5 files (1 unreadable, left out), 10 rows in 0.0 s",
    ]);
  });
});
