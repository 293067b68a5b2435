/**
 * The ingest thread's column builder (src/sinks/parquet/columns.ts): a builder that gets a few rows
 * holds a few rows' worth (its first chunk starts small and doubles), while the chunks it seals for
 * the writer are still full size, and rows keep their values across every growth (read back by
 * encoding the batch and reading the file with hyparquet), also when the chunks are cut from reused
 * memory that still holds other bytes.
 */
import { describe, expect, test } from "bun:test";
import { parquetReadObjects } from "hyparquet";
import { SCHEMAS, withComputedCells } from "../../src/core/rows.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { BufferPool, pooledSize } from "../../src/util/buffer-pool.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { makeRow } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 1, 10);

/** Reads a batch (and chunks sent ahead) back through the encoder and hyparquet, as stored rows. */
async function readBack(b: ColumnBatchBuilder, ahead: ReturnType<ColumnBatchBuilder["takeSealed"]>): Promise<Record<string, unknown>[]> {
  const batch = b.take()!;
  const bytes = encodeBatch({ ...batch, chunks: [...ahead, ...batch.chunks], sentRows: 0 });
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parquetReadObjects({ file, compressors: { ZSTD: (x: Uint8Array) => Bun.zstdDecompressSync(x) } });
}

function expectRows(kind: "prices" | "orderbook" | "cvd" | "fusion", got: readonly Record<string, unknown>[], rows: readonly ReturnType<typeof makeRow>[]): void {
  expect(got.length).toBe(rows.length);
  for (const def of SCHEMAS[kind]) {
    const want = rows.map((r) => withComputedCells(kind, r)[def.name]);
    const have = got.map((r) => {
      const v = r[def.name];
      return typeof v === "bigint" ? Number(v) : v instanceof Date ? v.getTime() : v;
    });
    expect({ column: def.name, values: have }).toEqual({ column: def.name, values: want });
  }
}

describe("column builder chunks", () => {
  test("a sparse builder holds a few rows' worth; a busy one seals full 256-row chunks", () => {
    const sparse = new ColumnBatchBuilder("orderbook", "BTCUSDT", 0, 0);
    for (let i = 0; i < 5; i++) expect(sparse.append(makeRow("orderbook", i, "BTCUSDT", T0 + i))).toBe(true);
    const busy = new ColumnBatchBuilder("orderbook", "BTCUSDT", 0, 0);
    for (let i = 0; i < 300; i++) expect(busy.append(makeRow("orderbook", i, "BTCUSDT", T0 + i))).toBe(true);
    // The first chunk of 256 rows is what a sparse builder used to hold: 16 times what it holds now.
    const full = busy.takeSealed();
    expect(full.map((c) => c.rows)).toEqual([256]);
    const perRow = full[0]!.nums.byteLength / 256 + full[0]!.flags.byteLength / 256;
    expect(sparse.heldBytes).toBeLessThanOrEqual(16 * perRow);
    expect(sparse.heldBytes).toBeGreaterThan(0);
  });

  test("a sparse builder's string arenas hold a few rows' worth too, in its first batch and after", () => {
    // prices carries one string column (scenario_2x2); its arena used to start at 256 rows of 16 bytes.
    const b = new ColumnBatchBuilder("prices", "BTCUSDT", 0, 0);
    for (let i = 0; i < 5; i++) expect(b.append(makeRow("prices", i, "BTCUSDT", T0 + i))).toBe(true);
    const numbersOf16Rows = b.heldBytes;
    expect(b.take()!.rows).toBe(5);
    for (let i = 0; i < 5; i++) expect(b.append(makeRow("prices", 5 + i, "BTCUSDT", T0 + 5 + i))).toBe(true);
    for (const held of [numbersOf16Rows, b.heldBytes]) expect(held).toBeLessThan(2048);
  });

  test("rows keep their values across the first chunk's growth and the chunks sealed after it", async () => {
    const b = new ColumnBatchBuilder("prices", "BTCUSDT", 0, 0);
    const rows = Array.from({ length: 700 }, (_, i) => makeRow("prices", i, "BTCUSDT", T0 + i * 7));
    for (const r of rows) expect(b.append(r)).toBe(true);
    const ahead = b.takeSealed();
    expect(ahead.map((c) => c.rows)).toEqual([256, 256]);
    const batch = b.take()!;
    const bytes = encodeBatch({ ...batch, chunks: [...ahead, ...batch.chunks], sentRows: 0 });
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const got = await parquetReadObjects({ file, compressors: { ZSTD: (x: Uint8Array) => Bun.zstdDecompressSync(x) } });
    expect(got.length).toBe(700);
    for (const def of SCHEMAS.prices) {
      const want = rows.map((r) => withComputedCells("prices", r)[def.name]);
      const have = got.map((r) => {
        const v = r[def.name];
        return typeof v === "bigint" ? Number(v) : v instanceof Date ? v.getTime() : v;
      });
      expect({ column: def.name, values: have }).toEqual({ column: def.name, values: want });
    }
  });

  test("chunks cut from reused memory hold exactly the rows written, nulls included", async () => {
    // Memory the writer sent back still holds an earlier batch's bytes: here all-ones (NaN numbers,
    // flags of 255). Every size class a 700-row batch can ask for is seeded with it.
    const pool = new BufferPool(1 << 28);
    for (let size = 4096; size <= 1 << 20; size = pooledSize(size + 1)) {
      for (let k = 0; k < 4; k++) {
        const b = pool.get(size);
        new Uint8Array(b).fill(0xff);
        pool.put(b);
      }
    }
    for (const kind of ["prices", "orderbook", "cvd", "fusion"] as const) {
      const b = new ColumnBatchBuilder(kind, "BTCUSDT", 0, 2048, pool);
      const reusedBefore = pool.reused;
      const rows = Array.from({ length: 700 }, (_, i) => makeRow(kind, i, "BTCUSDT", T0 + i * 7));
      for (const r of rows) expect(b.append(r)).toBe(true);
      const ahead = b.takeSealed();
      expectRows(kind, await readBack(b, ahead), rows);
      // The rows did go into reused memory (not only fresh arrays that start as zeros).
      expect(pool.reused).toBeGreaterThan(reusedBefore);
    }
  });
});
