/**
 * parquet/stitch.ts: files of one kind joined by copying their column chunks under one new footer.
 * Parts of three kinds, with nulls, dictionary strings and several row groups a part, are stitched; DuckDB and hyparquet (two independent readers) must read exactly the parts' rows in
 * order, each part's row groups with their statistics. Files that are not Parquet, or that change
 * while being copied, are refused with a reason.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SCHEMAS, type RowKind } from "../../src/core/rows.ts";
import { DAY_MS } from "../../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { readStitchPart, sameSchemaAndMetadata, StitchError, stitchedFooter, stitchedProblem, stitchShifts, writeStitched } from "../../src/sinks/parquet/stitch.ts";
import { tempDir } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow, readParquetRows } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 1, 10);

/** A part of `rows` rows of `kind` from row `first`, row groups of `groupRows`. */
function writePart(dir: string, name: string, kind: RowKind, first: number, rows: number, groupRows: number): string {
  const b = new ColumnBatchBuilder(kind, "ETHUSDT", Math.floor(T0 / DAY_MS));
  for (let i = first; i < first + rows; i++) expect(b.append(makeRow(kind, i, "ETHUSDT", T0 + i * 1000))).toBe(true);
  const path = join(dir, name);
  writeFileSync(path, encodeBatch(b.take()!, { rowGroupSize: groupRows }));
  return path;
}

function stitch(paths: readonly string[], out: string): void {
  const parts = paths.map(readStitchPart);
  const footer = stitchedFooter(parts, stitchShifts(parts));
  const fd = openSync(out, "w");
  try {
    writeStitched(fd, parts, footer);
  } finally {
    closeSync(fd);
  }
}

const cols = (kind: RowKind) => SCHEMAS[kind].map((d) => `"${d.name}"`).join(", ");

describe("stitching Parquet files", () => {
  for (const kind of ["prices", "orderbook", "fusion"] as RowKind[]) {
    test(`${kind}: every part's rows, in order, read by DuckDB and hyparquet; every row group kept`, async () => {
      const dir = tempDir("stitch");
      // 20 parts (more than 15: the long form of the row-group list header), uneven sizes, some of
      // several row groups.
      const paths: string[] = [];
      let first = 0;
      for (let p = 0; p < 20; p++) {
        const rows = 1 + ((p * 37) % 90);
        paths.push(writePart(dir, `p${String(p).padStart(2, "0")}.parquet`, kind, first, rows, p % 3 === 0 ? 25 : 1000));
        first += rows;
      }
      const out = join(dir, "stitched.parquet");
      stitch(paths, out);

      const want = await query(`SELECT ${cols(kind)} FROM read_parquet([${paths.map((p) => `'${p}'`).join(", ")}]) ORDER BY ts_ms`);
      const got = await query(`SELECT ${cols(kind)} FROM read_parquet('${out}')`);
      expect(got.length).toBe(first);
      expect(got).toEqual(want);

      const parts = await Promise.all(paths.map(readParquetRows));
      expect(await readParquetRows(out)).toEqual(parts.flat());

      const groupsOf = async (files: string) =>
        (await query(`SELECT file_name, row_group_id, row_group_num_rows AS n, stats_min, stats_max, stats_null_count FROM parquet_metadata(${files}) WHERE path_in_schema = 'ts_ms' ORDER BY file_name, row_group_id`)).map(
          ({ n, stats_min, stats_max, stats_null_count }) => ({ n, stats_min, stats_max, stats_null_count }),
        );
      expect(await groupsOf(`'${out}'`)).toEqual(await groupsOf(`[${paths.map((p) => `'${p}'`).join(", ")}]`));
    });
  }

  test("the footer is the first part's: kind, symbol and schema version stay", async () => {
    const dir = tempDir("stitch-kv");
    const paths = [writePart(dir, "a.parquet", "prices", 0, 10, 100), writePart(dir, "b.parquet", "prices", 10, 10, 100)];
    const out = join(dir, "s.parquet");
    stitch(paths, out);
    const kv = await query(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${out}') ORDER BY k`);
    expect(kv).toEqual(await query(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${paths[0]}') ORDER BY k`));
    expect(kv.map((r) => r.k)).toEqual(["harvestd.kind", "harvestd.schema_version", "harvestd.symbol"]);
  });

  test("a file that is not Parquet, or whose footer is cut, is refused with its name", () => {
    const dir = tempDir("stitch-bad");
    const notParquet = join(dir, "x.parquet");
    writeFileSync(notParquet, "not a parquet file at all, just text");
    expect(() => readStitchPart(notParquet)).toThrow(StitchError);
    expect(() => readStitchPart(notParquet)).toThrow(notParquet);

    // Right magic and length, footer bytes that end inside a struct.
    const good = writePart(dir, "g.parquet", "prices", 0, 10, 100);
    const bytes = readFileSync(good);
    const len = bytes.readInt32LE(bytes.length - 8);
    const cut = Buffer.concat([Buffer.from("PAR1"), Buffer.alloc(16), bytes.subarray(bytes.length - 8 - len, bytes.length - 8 - Math.floor(len / 2))]);
    const tail = Buffer.alloc(8);
    tail.writeInt32LE(len - Math.floor(len / 2), 0);
    tail.write("PAR1", 4);
    const cutPath = join(dir, "cut.parquet");
    writeFileSync(cutPath, Buffer.concat([cut, tail]));
    expect(() => readStitchPart(cutPath)).toThrow(/footer ends early/);
    expect(readStitchPart(good).rows).toBe(10);
  });

  test("parts of one partition declare the same schema and metadata; another kind or symbol does not", () => {
    const dir = tempDir("stitch-same");
    const a = readStitchPart(writePart(dir, "a.parquet", "prices", 0, 10, 100));
    const b = readStitchPart(writePart(dir, "b.parquet", "prices", 10, 30, 7));
    const other = readStitchPart(writePart(dir, "c.parquet", "orderbook", 0, 10, 100));
    const c = new ColumnBatchBuilder("prices", "BTCUSDT", Math.floor(T0 / DAY_MS));
    c.append(makeRow("prices", 0, "BTCUSDT", T0));
    writeFileSync(join(dir, "d.parquet"), encodeBatch(c.take()!));
    const otherSymbol = readStitchPart(join(dir, "d.parquet"));
    expect(sameSchemaAndMetadata(a, b)).toBe(true);
    expect(sameSchemaAndMetadata(a, other)).toBe(false);
    expect(sameSchemaAndMetadata(a, otherSymbol)).toBe(false);
    expect([a.rows, b.rows, b.rowGroups]).toEqual([10, 30, 5]);
  });

  test("a stitched footer is read back: offsets not moved, or moved wrongly, are named", () => {
    const dir = tempDir("stitch-check");
    const parts = [0, 1, 2].map((p) => readStitchPart(writePart(dir, `p${p}.parquet`, "orderbook", p * 50, 50, 20)));
    const shifts = stitchShifts(parts);
    expect(stitchedProblem(stitchedFooter(parts, shifts), parts, shifts)).toBeNull();
    // The footer built as if every part stayed where it was: the second part's chunks overlap the first's.
    const unmoved = stitchedFooter(parts, [0, 0, 0]);
    expect(stitchedProblem(unmoved, parts, shifts)).toMatch(/^puts row group 3, column 0 at \d+, where the copied bytes have \d+$/);
    const offByOne = stitchedFooter(parts, shifts.map((s, i) => (i === 2 ? s + 1 : s)));
    expect(stitchedProblem(offByOne, parts, shifts)).toMatch(/row group 6, column 0/);
    // Fewer parts than the footer was built from: rows and row groups no longer agree.
    expect(stitchedProblem(stitchedFooter(parts, shifts), parts.slice(0, 2), shifts)).toMatch(/^declares 150 rows, the parts 100$/);
  });

  test("a part that changes length after its footer was read is not copied", () => {
    const dir = tempDir("stitch-changed");
    const a = writePart(dir, "a.parquet", "prices", 0, 10, 100);
    const b = writePart(dir, "b.parquet", "prices", 10, 10, 100);
    const parts = [readStitchPart(a), readStitchPart(b)];
    const footer = stitchedFooter(parts, stitchShifts(parts));
    truncateSync(b, 100);
    const fd = openSync(join(dir, "s.parquet"), "w");
    try {
      expect(() => writeStitched(fd, parts, footer)).toThrow(`${b} changed size while being merged`);
    } finally {
      closeSync(fd);
    }
  });
});
