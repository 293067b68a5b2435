/**
 * Retention (Parquet in the writer worker, NDJSON in its sink, each with its own setting) and the
 * start-up cleanup of what a crash leaves behind.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import type { MaintenanceEvent } from "../../src/sinks/parquet/sink-types.ts";
import { NdjsonSink } from "../../src/sinks/ndjson/ndjson-sink.ts";
import { removeLeftovers } from "../../src/sinks/storage/cleanup.ts";
import { expiredDateDirs } from "../../src/sinks/storage/retention.ts";
import { STAGING_DIR } from "../../src/sinks/storage/staging.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";
import { treeFiles } from "./sink-support.ts";

const put = (root: string, rel: string, text = "x") => {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
};

/** 2030-01-10T12:00Z: far from the real clock, so only the clock given to the sinks matters. */
const NOW = Date.UTC(2030, 0, 10, 12);

describe("retention", () => {
  test("keeps today and the N days before it, whole days only", () => {
    const root = tempDir("ret-list");
    for (const d of ["2030-01-06", "2030-01-07", "2030-01-08", "2030-01-09", "2030-01-10"]) mkdirSync(join(root, `date=${d}`));
    mkdirSync(join(root, "not-a-date"));
    expect(expiredDateDirs(root, NOW, 2)).toEqual(["date=2030-01-06", "date=2030-01-07"]);
    expect(expiredDateDirs(root, NOW, 0)).toEqual([]);
  });

  test("Parquet and NDJSON trees each follow their own setting", async () => {
    const pq = tempDir("ret-pq");
    const nd = tempDir("ret-nd");
    for (const d of ["2030-01-01", "2030-01-05", "2030-01-09"]) {
      put(pq, `date=${d}/symbol=BTCUSDT/kind=prices/part-1-000001-a.parquet`);
      put(nd, `date=${d}/symbol=BTCUSDT/raw-01.ndjson.gz`);
    }
    const events: MaintenanceEvent[] = [];
    const sink = new ParquetSink({ outputDir: pq, previewDir: pq, rotateSec: 60, orderbookRotateSec: 60, retentionDays: 3, onMaintenance: (e) => events.push(e) });
    sink.tick(NOW);
    await waitFor("parquet retention", () => (events.filter((e) => e.type === "expired").length === 2 ? true : undefined), 10_000);
    await sink.close();
    expect(treeFiles(pq).filter((f) => !f.startsWith(STAGING_DIR))).toEqual(["date=2030-01-09/symbol=BTCUSDT/kind=prices/part-1-000001-a.parquet"]);
    expect(sink.status().partitionsExpired).toBe(2);

    const ndSink = new NdjsonSink({ dir: nd, retentionDays: 7, now: () => NOW });
    await ndSink.drain();
    await ndSink.close();
    expect(treeFiles(nd)).toEqual(["date=2030-01-05/symbol=BTCUSDT/raw-01.ndjson.gz", "date=2030-01-09/symbol=BTCUSDT/raw-01.ndjson.gz"]);
    expect(ndSink.status().partitionsExpired).toBe(1);
  }, 20_000);
});

describe("start-up cleanup", () => {
  test("removes .partial files and staging debris, nothing else", () => {
    const pq = tempDir("clean-pq");
    const nd = tempDir("clean-nd");
    const keep = [
      put(pq, "date=2030-01-01/symbol=BTCUSDT/kind=prices/part-1-000001-a.parquet"),
      put(nd, "date=2030-01-01/symbol=BTCUSDT/raw-01.ndjson"),
      put(nd, "date=2030-01-01/symbol=BTCUSDT/raw-00.ndjson.gz"),
    ];
    const gone = [
      put(pq, "date=2030-01-01/symbol=BTCUSDT/kind=prices/part-2-000002-a.parquet.partial"),
      put(nd, "date=2030-01-01/symbol=BTCUSDT/raw-01.ndjson.gz.partial"),
      put(pq, `${STAGING_DIR}/compact-x/part-3-000003-a.parquet`),
    ];
    const report = removeLeftovers([pq, nd, pq]);
    expect(report.failed).toEqual([]);
    expect(report.removed.length).toBe(3);
    for (const p of keep) expect(existsSync(p)).toBe(true);
    for (const p of gone) expect(existsSync(p)).toBe(false);
    expect(existsSync(join(pq, STAGING_DIR))).toBe(false);
  });

  test("an empty staging folder (what a clean stop leaves) goes without being reported as a crash's leftover", () => {
    const pq = tempDir("clean-empty-staging");
    mkdirSync(join(pq, STAGING_DIR));
    expect(removeLeftovers([pq])).toEqual({ removed: [], failed: [] });
    expect(existsSync(join(pq, STAGING_DIR))).toBe(false);
  });

  test("only the two newest dates are walked, so start-up does not grow with months of history", () => {
    const pq = tempDir("clean-recent");
    const old = put(pq, "date=2030-01-01/symbol=BTCUSDT/kind=prices/part-1-000001-a.parquet.partial");
    const gone = [
      put(pq, "date=2030-03-09/symbol=BTCUSDT/kind=prices/part-2-000002-a.parquet.partial"),
      put(pq, "date=2030-03-10/symbol=ETHUSDT/kind=cvd/part-3-000003-a.parquet.partial"),
      put(pq, `${STAGING_DIR}/compact-y/part-4-000004-a.parquet`),
    ];
    const report = removeLeftovers([pq]);
    expect(report.failed).toEqual([]);
    for (const p of gone) expect(existsSync(p)).toBe(false);
    expect(report.removed.length).toBe(3);
    // A crash leaves its leftovers in the newest dates; an old one was never this run's concern.
    expect(existsSync(old)).toBe(true);
  });
});
