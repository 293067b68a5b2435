/**
 * Compaction inside the compiled binary (its writer worker, bun:ffi renameat2 embedded): closed
 * hours that an earlier run left as many parts are merged when `harvestd run` starts, rows
 * unchanged, while the run collects normally.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import { partMinTs } from "../../src/sinks/parquet/files.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { makeRow } from "../unit/sink-support.ts";
import { apiStatus, layout, unreadableParquet, type Layout } from "./storage-support.ts";

/** Two closed hours of yesterday, ten parts each. */
const DAY = Math.floor(Date.now() / 86_400_000) - 1;
const H = 3_600_000;
const HOURS = [DAY * 24 + 5, DAY * 24 + 6];

let fake: FakeExchange;
let l: Layout;
let before: Record<string, unknown>[];
let status: Record<string, any>;
let result: RunResult;
const dirOf = (root: string) => join(root, `date=${new Date(DAY * 86_400_000).toISOString().slice(0, 10)}`, "symbol=BTCUSDT", "kind=prices");
const rowsOf = (root: string) => query(`SELECT * EXCLUDE (date, kind) FROM ${hive(join(dirOf(root), "*.parquet"))} ORDER BY ALL`);

beforeAll(async () => {
  const dir = tempDir("storage-compaction");
  l = layout(dir);
  const prep = new ParquetSink({ outputDir: l.raw, previewDir: l.preview, rotateSec: 60, orderbookRotateSec: 60, compaction: false });
  let n = 0;
  for (const hour of HOURS) {
    for (let p = 0; p < 10; p++) {
      for (let i = 0; i < 30; i++) prep.append("prices", makeRow("prices", n++, "BTCUSDT", hour * H + p * 60_000 + i * 1000));
      prep.flush();
    }
  }
  await prep.close();
  before = await rowsOf(l.raw);

  fake = await startFakeExchange({ symbols: ["BTCUSDT"], speed: 4, recordFrames: false });
  const port = freePort();
  const proc = startBinary(["run", "--config", join(REPO, "config.toml")], collectorEnv(fake, ["BTCUSDT"], dir, port));
  status = await waitFor("two compactions", async () => {
    const s = await apiStatus(port).catch(() => null);
    return s !== null && s.parquet.compactions >= 2 ? s : undefined;
  }, 60_000, 250);
  result = await proc.stop("SIGTERM");
}, 120_000);

afterAll(async () => {
  await fake?.stop();
});

describe("the compiled binary compacts closed hours at start", () => {
  test("each closed hour is one file, with the same rows", async () => {
    expect(result.exitCode).toBe(0);
    expect(status.parquet.filesCompacted).toBe(20);
    const names = readdirSync(dirOf(l.raw));
    expect(names.map((n) => Math.floor(partMinTs(n)! / H)).sort()).toEqual(HOURS);
    expect(await rowsOf(l.raw)).toEqual(before);
    expect(before.length).toBe(600);
    expect(await unreadableParquet([l.raw])).toEqual([]);
  });

  test("the run log records compactions (at most one line a minute)", () => {
    const log = result.stderr.split("\n").filter((line) => line.includes('"parquet compacted"'));
    expect(log.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(log[0]!)).toMatchObject({ files: 10, rows: 300 });
  });
});
