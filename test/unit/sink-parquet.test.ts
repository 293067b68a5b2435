/**
 * ParquetSink end to end: rows of every kind go through the real sink and writer worker into a
 * temp Hive tree, and are read back with DuckDB (over the tree, hive_partitioning=true) and with
 * hyparquet.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { ALL_KINDS, PREVIEW_KINDS, RAW_KINDS, SCHEMAS, withComputedCells, type Cell, type ColumnDef, type Row, type RowKind } from "../../src/core/rows.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { SCHEMA_VERSION } from "../../src/sinks/parquet/footer.ts";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import type { ParquetSinkError } from "../../src/sinks/parquet/sink-types.ts";
import { tempDir } from "../helpers/binary.ts";

/** 2025-12-31T23:59:58Z: rows one second apart cross into 2026-01-01 after the third row. */
const T0 = Date.UTC(2025, 11, 31, 23, 59, 58);
const ROWS = 8;
/** Rows per rotation slot: tick() between slots 0|1 of the loop below. */
const SLOT = 4;

/** Deterministic value for column `def` of row `i`; nullable columns are null every third row. */
function cell(def: ColumnDef, i: number, symbol: string): Cell {
  if (def.name === "symbol") return symbol;
  if (def.name === "ts_ms") return T0 + i * 1000;
  if (def.nullable && i % 3 === 1) return null;
  switch (def.type) {
    case "ts":
      return T0 + i * 1000 + 37;
    case "i64":
      // Beyond 2^32 and, on one row, the largest exact integer a JS number holds.
      return i === 5 ? Number.MAX_SAFE_INTEGER : 5_000_000_000 + i * 7 - 3;
    case "f64":
      // Values that are not exact in binary, negatives and a signed zero.
      return i === 2 ? -0 : (i - 4) * 0.1 + 1e-9 * i;
    case "str":
      return i === 3 ? `é✓ ${def.name} "q" ${i}` : `${def.name}-${i}`;
    case "bool":
      return i % 2 === 0;
  }
}

/** A row as stored: computed columns (row_id) hold what the sink derives. */
const makeRow = (kind: RowKind, i: number, symbol: string): Row =>
  withComputedCells(kind, Object.fromEntries(SCHEMAS[kind].map((d) => [d.name, cell(d, i, symbol)])));

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];

let dir: string;
let raw: string;
let preview: string;
let db: DuckDBConnection;
let sink: ParquetSink;
const errors: ParquetSinkError[] = [];

const expectedTypes: Record<ColumnDef["type"], string> = {
  ts: "TIMESTAMP WITH TIME ZONE",
  i64: "BIGINT",
  f64: "DOUBLE",
  str: "VARCHAR",
  bool: "BOOLEAN",
};

function files(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const rootOf = (kind: RowKind): string => ((RAW_KINDS as readonly string[]).includes(kind) ? raw : preview);

beforeAll(async () => {
  dir = tempDir("pq");
  raw = join(dir, "raw");
  preview = join(dir, "preview");
  sink = new ParquetSink({
    outputDir: raw,
    previewDir: preview,
    rotateSec: 60,
    orderbookRotateSec: 30,
    onError: (e) => errors.push(e),
  });
  sink.tick(0);
  for (let i = 0; i < ROWS; i++) {
    // One rotation half way: each (kind, symbol) gets parts from two slots.
    if (i === SLOT) sink.tick(60_000);
    for (const symbol of SYMBOLS) for (const kind of ALL_KINDS) sink.append(kind, makeRow(kind, i, symbol));
  }
  await sink.close();
  db = await (await DuckDBInstance.create(":memory:")).connect();
});

afterAll(() => {
  db?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

describe("ParquetSink", () => {
  test("writes every row, no errors, no .partial left", () => {
    const s = sink.status();
    expect(errors).toEqual([]);
    expect(s.rowsRejected).toBe(0);
    expect(s.rowsWritten).toBe(ROWS * SYMBOLS.length * ALL_KINDS.length);
    expect(s.rowsBuffered).toBe(0);
    expect(s.batchesPending).toBe(0);
    expect(s.workerState).toBe("closed");
    expect(s.healthy).toBe(true);
    const all = [...files(raw), ...files(preview)];
    expect(all.length).toBe(s.filesWritten);
    expect(all.filter((f) => f.endsWith(".partial"))).toEqual([]);
    expect(all.every((f) => /^date=\d{4}-\d\d-\d\d\/symbol=[A-Z]+\/kind=[a-z0-9_]+\/part-\d{13}-\d{6}-[0-9a-z]+\.parquet$/.test(f))).toBe(true);
    expect(s.lastFiles.ETHUSDT?.orderbook?.path.startsWith(join(raw, "date=2026-01-01/symbol=ETHUSDT/kind=orderbook/"))).toBe(true);
  });

  test("raw kinds under outputDir, preview kinds under previewDir", () => {
    expect(new Set(files(raw).map((f) => f.split("/")[2]))).toEqual(new Set(RAW_KINDS.map((k) => `kind=${k}`)));
    expect(new Set(files(preview).map((f) => f.split("/")[2]))).toEqual(new Set(PREVIEW_KINDS.map((k) => `kind=${k}`)));
  });

  test("rows split across UTC dates and rotation slots", () => {
    // Rows 0-1 are on 2025-12-31, rows 2-7 on 2026-01-01; the tick after row 3 splits 2026-01-01.
    const parts = files(raw).filter((f) => f.includes("symbol=BTCUSDT/kind=prices"));
    expect(parts.map((f) => f.split("/")[0])).toEqual(["date=2025-12-31", "date=2026-01-01", "date=2026-01-01"]);
    expect(parts[0]).toContain(`part-${T0}-`);
    expect(parts[1]).toContain(`part-${T0 + 2000}-`);
    expect(parts[2]).toContain(`part-${T0 + 4000}-`);
  });

  test.each([...ALL_KINDS])("%s: DuckDB reads exact values, nulls and pinned types over the Hive tree", async (kind) => {
    const defs = SCHEMAS[kind];
    const glob = `${rootOf(kind)}/*/*/kind=${kind}/*.parquet`;
    const src = `read_parquet('${glob}', hive_partitioning=true)`;

    const described = await query(`DESCRIBE SELECT * FROM ${src}`);
    const types = Object.fromEntries(described.map((r) => [r.column_name, r.column_type]));
    expect(types).toEqual({
      ...Object.fromEntries(defs.map((d) => [d.name, expectedTypes[d.type]])),
      // Hive keys: `symbol` is also in the file and appears once; `date` is typed DATE.
      date: "DATE",
      kind: "VARCHAR",
    });

    const select = defs.map((d) => (d.type === "ts" ? `epoch_ms("${d.name}") AS "${d.name}"` : `"${d.name}"`));
    const got = await query(`SELECT ${select.join(", ")}, strftime(date, '%Y-%m-%d') AS d FROM ${src} ORDER BY symbol, ts_ms`);
    const want = SYMBOLS.flatMap((symbol) =>
      Array.from({ length: ROWS }, (_, i) => {
        const row = makeRow(kind, i, symbol);
        const out: Record<string, unknown> = {};
        for (const d of defs) {
          const v = row[d.name];
          out[d.name] = v !== null && (d.type === "i64" || d.type === "ts") ? BigInt(v as number) : v;
        }
        out.d = new Date(row.ts_ms as number).toISOString().slice(0, 10);
        return out;
      }),
    );
    expect(got).toEqual(want);
    // Nulls stay null (not 0 or NaN): the expected count is pinned, not just compared row by row.
    const nullable = defs.filter((d) => d.nullable);
    for (const d of nullable) expect(got.filter((r) => r[d.name] === null).length).toBe(SYMBOLS.length * 3);
  });

  test("SELECT * over the whole tree with hive_partitioning and union_by_name", async () => {
    for (const root of [raw, preview]) {
      const kinds = root === raw ? [...RAW_KINDS].sort() : [...PREVIEW_KINDS].sort();
      const rows = await query(
        `SELECT kind, symbol, count(*) AS n FROM read_parquet('${root}/**/*.parquet', hive_partitioning=true, union_by_name=true) GROUP BY ALL ORDER BY ALL`,
      );
      expect(rows).toEqual(kinds.flatMap((kind) => SYMBOLS.map((symbol) => ({ kind, symbol, n: BigInt(ROWS) }))));
    }
    const star = await query(`SELECT * FROM read_parquet('${dir}/**/*.parquet', hive_partitioning=true, union_by_name=true)`);
    expect(star.length).toBe(ROWS * SYMBOLS.length * ALL_KINDS.length);
  });

  test("hyparquet reads the same values; schema and key-value metadata are explicit", async () => {
    const path = sink.status().lastFiles.BTCUSDT!.prices!.path;
    const file = await asyncBufferFromFile(path);
    const meta = await parquetMetadataAsync(file);
    const kv = Object.fromEntries((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    expect(kv).toEqual({ "harvestd.kind": "prices", "harvestd.schema_version": SCHEMA_VERSION, "harvestd.symbol": "BTCUSDT" });
    const ts = meta.schema.find((e) => e.name === "ts_ms")!;
    expect(ts.type).toBe("INT64");
    expect(ts.logical_type).toEqual({ type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" });
    expect(meta.row_groups[0].columns[0].meta_data?.codec).toBe("ZSTD");
    expect(meta.row_groups[0].columns[1].meta_data?.statistics?.min_value).toBeDefined();

    const rows = await parquetReadObjects({
      file,
      compressors: { ZSTD: (input: Uint8Array) => Bun.zstdDecompressSync(input) },
    });
    // The last prices part of BTCUSDT holds rows 4..7.
    const want = Array.from({ length: ROWS - SLOT }, (_, k) => {
      const row = makeRow("prices", SLOT + k, "BTCUSDT");
      const out: Record<string, unknown> = {};
      for (const d of SCHEMAS.prices) {
        const v = row[d.name];
        out[d.name] = v === null ? null : d.type === "ts" ? new Date(v as number) : d.type === "i64" ? BigInt(v as number) : v;
      }
      return out;
    });
    expect(rows).toEqual(want);
  });

  test("row cap hands a batch over before rotation", async () => {
    const d = tempDir("pq-cap");
    const s = new ParquetSink({ outputDir: d, previewDir: d, rotateSec: 3600, orderbookRotateSec: 3600, maxRowsPerFile: 3 });
    for (let i = 0; i < 7; i++) s.append("prices", makeRow("prices", 2 + i, "BTCUSDT"));
    await s.close();
    expect(files(d).length).toBe(3);
    expect(s.status().rowsWritten).toBe(7);
    rmSync(d, { recursive: true, force: true });
  });

  test("long batches leave the ingest thread in chunks ahead of the batch: every row once, in order, across row caps", async () => {
    const d = tempDir("pq-ahead");
    // 5,000 rows per symbol in batches capped at 1,800: each batch has chunks sent ahead (first chunk
    // 256 rows), and a capped builder goes on under a new key while its previous write is queued.
    const s = new ParquetSink({ outputDir: d, previewDir: d, rotateSec: 3600, orderbookRotateSec: 3600, maxRowsPerFile: 1800 });
    const N = 5000;
    const row: Record<string, Cell> = { ...makeRow("cvd", 2, "BTCUSDT") };
    const eth: Record<string, Cell> = { ...makeRow("cvd", 2, "ETHUSDT") };
    for (let i = 0; i < N; i++) {
      for (const r of [row, eth]) {
        r.ts_ms = T0 + i;
        r.agg_trade_id = 1_000_000 + i;
        r.cvd = i * 0.5;
        r.z_raw = i % 7 === 0 ? null : i / 3;
        r.floor_used = i % 2 === 0;
        r.scenario_2x2 = `S${i % 3}`;
        s.append("cvd", r);
      }
    }
    await s.close();
    expect(s.status().rowsWritten).toBe(2 * N);
    expect(s.status().rowsDropped).toBe(0);
    for (const sym of ["BTCUSDT", "ETHUSDT"]) {
      const got = await query(
        `SELECT agg_trade_id, cvd, z_raw, floor_used, scenario_2x2 FROM read_parquet('${d}/*/symbol=${sym}/*/*.parquet', filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
      );
      expect(got.length).toBe(N);
      got.forEach((r, i) => {
        expect(r).toEqual({ agg_trade_id: BigInt(1_000_000 + i), cvd: i * 0.5, z_raw: i % 7 === 0 ? null : i / 3, floor_used: i % 2 === 0, scenario_2x2: `S${i % 3}` });
      });
    }
    rmSync(d, { recursive: true, force: true });
  });

  test("a batch alone over the buffer limit is written with the chunks it sent ahead; they never join another batch", async () => {
    const d = tempDir("pq-ahead-drop");
    // ≈ 67 bytes per cvd row: 2,000 rows (chunks of them sent ahead) exceed 100 kB, 10 rows do not.
    const s = new ParquetSink({ outputDir: d, previewDir: d, rotateSec: 3600, orderbookRotateSec: 3600, maxBufferBytes: 100_000 });
    const row: Record<string, Cell> = { ...makeRow("cvd", 2, "BTCUSDT") };
    for (let i = 0; i < 2000; i++) {
      row.agg_trade_id = i;
      s.append("cvd", row);
    }
    const eth: Record<string, Cell> = { ...makeRow("cvd", 2, "ETHUSDT") };
    for (let i = 0; i < 10; i++) {
      eth.agg_trade_id = 5000 + i;
      s.append("cvd", eth);
    }
    await s.close();
    // Over the bound, nothing else pending: it goes alone (it could never go otherwise); the ETH
    // batch behind it waits on disk (spill) and follows.
    expect(s.status().rowsDropped).toBe(0);
    expect(s.status().rowsWritten).toBe(2010);
    const got = await query(`SELECT symbol, agg_trade_id FROM read_parquet('${d}/*/*/*/*.parquet') ORDER BY 2`);
    expect(got).toEqual([
      ...Array.from({ length: 2000 }, (_, i) => ({ symbol: "BTCUSDT", agg_trade_id: BigInt(i) })),
      ...Array.from({ length: 10 }, (_, i) => ({ symbol: "ETHUSDT", agg_trade_id: BigInt(5000 + i) })),
    ]);
    rmSync(d, { recursive: true, force: true });
  });

  test("append copies: one reused (scratch) row object yields distinct rows", async () => {
    const d = tempDir("pq-scratch");
    const s = new ParquetSink({ outputDir: d, previewDir: d, rotateSec: 60, orderbookRotateSec: 60 });
    const scratch: Record<string, Cell> = { ...makeRow("cvd", 2, "BTCUSDT") };
    for (let i = 0; i < 3; i++) {
      scratch.agg_trade_id = 100 + i;
      scratch.scenario_2x2 = `Q_${i}`;
      s.append("cvd", scratch);
    }
    await s.close();
    const rows = await query(`SELECT agg_trade_id, scenario_2x2 FROM read_parquet('${d}/**/*.parquet') ORDER BY 1`);
    expect(rows).toEqual([0, 1, 2].map((i) => ({ agg_trade_id: BigInt(100 + i), scenario_2x2: `Q_${i}` })));
    rmSync(d, { recursive: true, force: true });
  });

  test("a write error is reported, never thrown into append", async () => {
    const d = tempDir("pq-err");
    const blocked = join(d, "not-a-dir");
    writeFileSync(blocked, "");
    const seen: ParquetSinkError[] = [];
    const s = new ParquetSink({
      outputDir: blocked,
      previewDir: join(d, "preview"),
      rotateSec: 60,
      orderbookRotateSec: 60,
      onError: (e) => seen.push(e),
    });
    expect(() => {
      for (let i = 0; i < 3; i++) {
        s.append("prices", makeRow("prices", i, "BTCUSDT"));
        s.append("cvd", makeRow("cvd", i, "BTCUSDT"));
      }
      s.flush();
    }).not.toThrow();
    await s.close();
    const st = s.status();
    // prices rows of two UTC days: two batches, each held after its failure, then given up at
    // close (retries while running are covered by test/unit/sink-parquet-retry.test.ts).
    expect(seen.map((e) => `${e.kind}:${e.outcome}`)).toEqual(["prices:held", "prices:held", "prices:dropped", "prices:dropped"]);
    expect(seen[0].code).toBe("ENOTDIR");
    expect(seen[0].path.startsWith(blocked)).toBe(true);
    expect(st.lastError?.code).toBe("ENOTDIR");
    expect(st.rowsLost).toBe(3);
    expect(st.rowsHeld).toBe(0);
    expect(st.healthy).toBe(false);
    // The other root is unaffected.
    expect(st.rowsWritten).toBe(3);
    expect(files(join(d, "preview")).length).toBe(2);
    rmSync(d, { recursive: true, force: true });
  });

  test("a worker that cannot start is reported and close() still resolves", async () => {
    const d = tempDir("pq-nowk");
    const seen: ParquetSinkError[] = [];
    const s = new ParquetSink({
      outputDir: d,
      previewDir: d,
      rotateSec: 60,
      orderbookRotateSec: 60,
      workerSpecifier: join(d, "missing-worker.js"),
      onError: (e) => seen.push(e),
    });
    s.append("cvd", makeRow("cvd", 2, "BTCUSDT"));
    s.flush();
    await s.close();
    expect(seen.some((e) => e.code === "EWORKER")).toBe(true);
    expect(s.status().rowsWritten).toBe(0);
    expect(s.status().healthy).toBe(false);
    rmSync(d, { recursive: true, force: true });
  });

  test("rows that do not fit the schema are refused and counted, not thrown", async () => {
    const d = tempDir("pq-bad");
    const s = new ParquetSink({ outputDir: d, previewDir: d, rotateSec: 60, orderbookRotateSec: 60 });
    const good = makeRow("cvd", 2, "BTCUSDT");
    s.append("cvd", { ...good, cvd: null }); // non-nullable
    s.append("cvd", { ...good, agg_trade_id: 1.5 }); // not an integer
    s.append("cvd", { ...good, scenario_2x2: 3 }); // wrong type after a string column was copied
    s.append("cvd", { ...good, symbol: "../x" }); // would escape the tree
    s.append("cvd", good);
    await s.close();
    const st = s.status();
    expect(st.rowsRejected).toBe(4);
    expect(st.lastRejection).toContain("symbol");
    expect(st.rowsWritten).toBe(1);
    const [row] = await query(`SELECT symbol, scenario_2x2, agg_trade_id FROM read_parquet('${d}/**/*.parquet')`);
    expect(row).toEqual({ symbol: "BTCUSDT", scenario_2x2: "scenario_2x2-2", agg_trade_id: BigInt(good.agg_trade_id as number) });
    s.append("cvd", good); // after close: refused, not thrown
    expect(s.status().rowsRejected).toBe(5);
    rmSync(d, { recursive: true, force: true });
  });

  test("encode uses the explicit schema even for a batch whose nullable columns are all null", () => {
    const b = new ColumnBatchBuilder("events", "BTCUSDT", 20454);
    b.append({ symbol: "BTCUSDT", ts_ms: 1767225600000, type: "gap", channel: null, strength: null, detail: null, scenario_2x2: null });
    const bytes = encodeBatch(b.take()!);
    expect(bytes.length).toBeGreaterThan(0);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("PAR1");
  });
});

describe("docs/schemas.md", () => {
  const doc = readFileSync(join(import.meta.dir, "../../docs/schemas.md"), "utf8");
  const docType: Record<ColumnDef["type"], string> = {
    ts: "TIMESTAMP(MILLIS, UTC)",
    i64: "INT64",
    f64: "DOUBLE",
    str: "STRING",
    bool: "BOOLEAN",
  };

  test.each([...ALL_KINDS])("%s: every column documented with its Parquet type and nullability", (kind) => {
    // A kind's section ends at the next heading of either level.
    const section = doc.split(`\n### ${kind}\n`)[1]?.split(/\n##+ /)[0] ?? "";
    const documented = new Map<string, string>();
    for (const line of section.split("\n")) {
      const cells = line.split("|").map((c) => c.trim());
      if (cells.length < 5 || !cells[1].startsWith("`")) continue;
      // `x0`–`x4` rows stand for five columns.
      const range = /^`(\w*?)0`–`\1[4]`$/.exec(cells[1]);
      const names = range ? [0, 1, 2, 3, 4].map((m) => `${range[1]}${m}`) : [cells[1].replaceAll("`", "")];
      for (const n of names) documented.set(n, `${cells[2]}|${cells[3]}`);
    }
    const want = new Map(SCHEMAS[kind].map((d) => [d.name, `${docType[d.type]}|${d.nullable ? "optional" : "required"}`]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(want));
  });
});
