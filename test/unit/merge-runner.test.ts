/**
 * MergeRunner: the writer's merges run in a thread of their own (merge-worker.ts, from source
 * here; the compiled binary's is exercised by test/e2e/storage-compaction.test.ts). The thread
 * merges an hour exactly, ends once idle, starts again for the next merge, and a thread that
 * cannot start or dies gives an error for the merges it owed, never a merge that hangs.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/columns.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { commitFile, partFileName, partitionDir } from "../../src/sinks/parquet/files.ts";
import { MergeRunner } from "../../src/sinks/parquet/merge-runner.ts";
import type { MergeInit } from "../../src/sinks/parquet/protocol.ts";
import { tempDir } from "../helpers/binary.ts";
import { makeRow, readParquetRows } from "./sink-support.ts";

const SPECIFIER = join(import.meta.dir, "../../src/sinks/parquet/merge-worker.ts");
const H = 3_600_000;
const HOUR = Math.floor(Date.UTC(2026, 0, 2, 7) / H);
const DAY = Math.floor((HOUR * H) / 86_400_000);
const init = (): MergeInit => ({ type: "init", encode: {}, runTag: "testm", lowMemory: true, customSchemas: [] });

let seq = 0;
/** `parts` parts of 40 prices rows each in `hour`, in a fresh tree; returns the tree and the partition. */
function writeHour(hour: number, parts: number): { root: string; dir: string } {
  const root = tempDir("merge-runner");
  const dir = partitionDir(root, "prices", "BTCUSDT", DAY);
  for (let p = 0; p < parts; p++) {
    const b = new ColumnBatchBuilder("prices", "BTCUSDT", DAY);
    for (let i = 0; i < 40; i++) b.append(makeRow("prices", p * 40 + i, "BTCUSDT", hour * H + p * 60_000 + i * 1000));
    const batch = b.take()!;
    commitFile(dir, encodeBatch(batch), () => partFileName(batch.minTsMs, ++seq, "test"));
  }
  return { root, dir };
}

const readAll = async (dir: string) => {
  const rows: Record<string, unknown>[] = [];
  for (const f of readdirSync(dir).sort()) rows.push(...(await readParquetRows(join(dir, f))));
  return rows.sort((a, b) => Number(a.ts_ms) - Number(b.ts_ms));
};

describe("MergeRunner", () => {
  test("merges an hour in its own thread, ends it when idle, starts it again for the next", async () => {
    const runner = new MergeRunner(SPECIFIER, init, 300);
    const a = writeHour(HOUR, 6);
    const before = await readAll(a.dir);
    const r1 = await runner.merge(a.root, a.dir, HOUR);
    expect(r1).toEqual({ outcome: expect.objectContaining({ done: true, files: 6, rows: 240 }) });
    const merged = readdirSync(a.dir);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatch(/-testm\.parquet$/);
    expect(await readAll(a.dir)).toEqual(before);
    expect(runner.running).toBe(true);
    await Bun.sleep(800);
    expect(runner.running).toBe(false);

    const b = writeHour(HOUR + 1, 3);
    const r2 = await runner.merge(b.root, b.dir, HOUR + 1);
    expect(r2).toEqual({ outcome: expect.objectContaining({ done: true, files: 3, rows: 120 }) });
    expect(runner.running).toBe(true);
    runner.stop();
    expect(runner.running).toBe(false);
  });

  test("merges asked for within the idle time run in one thread", async () => {
    const runner = new MergeRunner(SPECIFIER, init, 2000);
    const hours = [0, 1, 2].map((k) => ({ ...writeHour(HOUR + 10 + k, 2), hour: HOUR + 10 + k }));
    const results = [];
    for (const h of hours) results.push(await runner.merge(h.root, h.dir, h.hour));
    expect(results.map((r) => ("outcome" in r && r.outcome.done ? r.outcome.rows : -1))).toEqual([80, 80, 80]);
    // A thread numbers its files from 1: one thread named them 1, 2, 3; a thread per merge, 1, 1, 1.
    expect(hours.map((h) => readdirSync(h.dir)[0]!.split("-")[2])).toEqual(["000001", "000002", "000003"]);
    runner.stop();
  });

  test("a merge worker that cannot start gives an error, not a hang", async () => {
    const runner = new MergeRunner(join(tempDir("merge-runner-missing"), "missing-worker.js"), init, 300);
    const a = writeHour(HOUR + 20, 2);
    const r = await Promise.race([runner.merge(a.root, a.dir, HOUR + 20), Bun.sleep(10_000).then(() => "hung" as const)]);
    expect(r).not.toBe("hung");
    expect(r).toEqual({ error: expect.objectContaining({ code: "EWORKER" }) });
    // Nothing was touched: the parts are still there.
    expect(readdirSync(a.dir)).toHaveLength(2);
  });

  test("a stop fails the merges still owed instead of leaving them pending", async () => {
    const runner = new MergeRunner(SPECIFIER, init, 300);
    const a = writeHour(HOUR + 30, 20);
    const pending = runner.merge(a.root, a.dir, HOUR + 30);
    runner.stop();
    expect(await pending).toEqual({ error: expect.objectContaining({ code: "EWORKER", message: expect.stringContaining("closing") }) });
  });
});
