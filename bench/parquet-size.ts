/**
 * Parquet size: bytes per row of the files harvestd leaves on disk vs DuckDB writing the same rows
 * with zstd.
 *
 * The files come from `harvestd replay` (compiled binary, shipped config) over raw logs generated
 * from real traffic (bench/lib/ndjson-gen.ts) — the same path the live collector's files take,
 * including hourly compaction. For every file, DuckDB reads its rows and writes them again with
 * `COPY (SELECT * FROM read_parquet(file, hive_partitioning = false)) TO … (FORMAT parquet,
 * COMPRESSION zstd)`, so both sides hold the same rows in the same number of files; the ratio is ours
 * over DuckDB's, per kind and in total. For reference, DuckDB also writes all rows of a kind into one
 * file (`duckdb_one_file`), which shows what fewer, larger files would save.
 *
 * Each symbol gets ONE loop of the recording unless --symbols says otherwise: a symbol's log that
 * repeats the same 13,783 frames makes compression over a large window find whole loops again, which
 * real traffic never offers (measured 2026-12-06: with 15 loops a file, pages of a whole row group
 * gave orderbook rows 16.9 bytes against 113 for pages of a few hundred rows — the same rows, not
 * the same information). One loop per file keeps the comparison about the encodings. With one loop
 * per symbol the symbols are clones, so `duckdb_one_file` (all of a kind's rows in one file) sees
 * the clones repeat and is only a curiosity here.
 *
 * Usage: bun bench/parquet-size.ts [--quick] [--frames N] [--symbols N]
 * Writes bench/results/parquet-size-<date>.json.
 */
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { listFiles } from "../test/helpers/ndjson.ts";
import { harvestdBinary, REPO, tempDir } from "./lib/harvestd.ts";
import { framesPerLoop, generateLogs } from "./lib/ndjson-gen.ts";
import { argValue, header, printTable, QUICK, writeResult } from "./lib/report.ts";

const FRAMES = Number(argValue("frames") ?? (QUICK ? 60_000 : 1_000_000));
const SYMBOLS = Number(argValue("symbols") ?? Math.ceil(FRAMES / framesPerLoop()));
const TARGET_RATIO = 1.05;

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function main(): Promise<void> {
  const startLoad = header("parquet-size", "harvestd Parquet bytes per row vs DuckDB zstd, same rows");
  const dir = tempDir("bench-pqsize");
  const inst = await DuckDBInstance.create(":memory:");
  const db = await inst.connect();
  try {
    const gen = generateLogs(join(dir, "ndjson"), SYMBOLS, FRAMES);
    const out = join(dir, "out");
    const r = Bun.spawnSync([harvestdBinary(), "replay", join(dir, "ndjson"), "--out", out, "--config", join(REPO, "config.toml")], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
      stdout: "pipe",
      stderr: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`replay exited ${r.exitCode}: ${r.stderr.toString()}`);
    console.log(`input: ${gen.dataLines.toLocaleString("en-US")} frames, ${SYMBOLS} symbols; ${r.stdout.toString().trim()}`);

    const files = listFiles(out, /\.parquet$/);
    const byKind = new Map<string, { files: number; rows: number; ours: number; duck: number; one: number }>();
    const ddir = join(dir, "duckdb");
    mkdirSync(ddir, { recursive: true });
    let i = 0;
    for (const f of files) {
      const kind = /kind=([^/]+)/.exec(f)?.[1] ?? "unknown";
      const src = `read_parquet(${sq(f)}, hive_partitioning = false)`;
      const rows = Number((await db.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${src}`)).getRowObjectsJS()[0]!.n);
      const target = join(ddir, `${i++}.parquet`);
      await db.run(`COPY (SELECT * FROM ${src}) TO ${sq(target)} (FORMAT parquet, COMPRESSION zstd)`);
      const k = byKind.get(kind) ?? { files: 0, rows: 0, ours: 0, duck: 0, one: 0 };
      k.files++;
      k.rows += rows;
      k.ours += statSync(f).size;
      k.duck += statSync(target).size;
      byKind.set(kind, k);
    }
    for (const [kind, k] of byKind) {
      const list = files.filter((f) => f.includes(`kind=${kind}/`)).map(sq).join(", ");
      const target = join(ddir, `all-${kind}.parquet`);
      await db.run(`COPY (SELECT * FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true)) TO ${sq(target)} (FORMAT parquet, COMPRESSION zstd)`);
      k.one = statSync(target).size;
    }
    const rows = [...byKind].map(([kind, k]) => ({
      kind,
      files: k.files,
      rows: k.rows,
      ours_bytes: k.ours,
      duckdb_bytes: k.duck,
      ours_b_per_row: Math.round((k.ours / k.rows) * 100) / 100,
      duckdb_b_per_row: Math.round((k.duck / k.rows) * 100) / 100,
      ratio: Math.round((k.ours / k.duck) * 1000) / 1000,
      duckdb_one_file_b_per_row: Math.round((k.one / k.rows) * 100) / 100,
    }));
    const tot = rows.reduce((a, x) => ({ files: a.files + x.files, rows: a.rows + x.rows, ours: a.ours + x.ours_bytes, duck: a.duck + x.duckdb_bytes }), { files: 0, rows: 0, ours: 0, duck: 0 });
    const total = { kind: "TOTAL", files: tot.files, rows: tot.rows, ours_bytes: tot.ours, duckdb_bytes: tot.duck, ours_b_per_row: Math.round((tot.ours / tot.rows) * 100) / 100, duckdb_b_per_row: Math.round((tot.duck / tot.rows) * 100) / 100, ratio: Math.round((tot.ours / tot.duck) * 1000) / 1000 };
    printTable([...rows, total]);
    console.log(`ours / DuckDB zstd = ${total.ratio} (target ≤ ${TARGET_RATIO})`);
    writeResult("parquet-size", startLoad, { input_frames: gen.dataLines, symbols: SYMBOLS, target_ratio: TARGET_RATIO, total, kinds: rows });
  } finally {
    db.closeSync();
    inst.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
