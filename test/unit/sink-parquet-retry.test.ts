/**
 * ParquetSink when the filesystem refuses writes: the batch is held and retried, /health-facing
 * status says so, memory held stays under the bound (past it batches are dropped and counted),
 * and once the obstacle is gone every held batch is written, in full, with nothing lost.
 *
 * The obstacle is a real filesystem error: a plain file where the output folder should be
 * (ENOTDIR on mkdir). ENOSPC on a real full filesystem is exercised by
 * test/e2e/storage-disk-full.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import type { MaintenanceEvent, ParquetSinkError } from "../../src/sinks/parquet/sink-types.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 1, 10);

function blockedSink(maxBufferBytes?: number) {
  const d = tempDir("pq-retry");
  const raw = join(d, "raw");
  writeFileSync(raw, "a file where the folder should be");
  const errors: ParquetSinkError[] = [];
  const events: MaintenanceEvent[] = [];
  const sink = new ParquetSink({
    outputDir: raw,
    previewDir: join(d, "preview"),
    rotateSec: 60,
    orderbookRotateSec: 60,
    retryMs: 100,
    maxBufferBytes,
    compaction: false,
    onError: (e) => errors.push(e),
    onMaintenance: (e) => events.push(e),
  });
  return { d, raw, sink, errors, events, unblock: () => rmSync(raw) };
}

describe("ParquetSink write failures", () => {
  test("a failing write is held and retried; writing resumes when the folder becomes writable", async () => {
    const { raw, sink, errors, events, unblock } = blockedSink();
    for (let batch = 0; batch < 3; batch++) {
      for (let i = 0; i < 100; i++) sink.append("prices", makeRow("prices", batch * 100 + i, "BTCUSDT", T0 + batch * 60_000 + i));
      sink.append("cvd", makeRow("cvd", batch, "BTCUSDT", T0 + batch));
      sink.flush();
    }
    await waitFor("three prices batches held", () => (sink.status().batchesHeld === 3 ? true : undefined), 10_000);
    let st = sink.status();
    expect(st.healthy).toBe(false);
    expect(st.failingKinds).toEqual(["prices"]);
    expect(st.rowsHeld).toBe(300);
    expect(st.lastError?.code).toBe("ENOTDIR");
    expect(st.rowsLost).toBe(0);
    // The other root (preview, cvd) is not held up.
    await waitFor("cvd written", () => (sink.status().rowsWritten === 3 ? true : undefined), 10_000);
    // Retries keep failing while blocked.
    const failuresBefore = errors.length;
    await Bun.sleep(400);
    expect(errors.length).toBeGreaterThan(failuresBefore);
    expect(errors.every((e) => e.outcome === "held" && e.kind === "prices")).toBe(true);

    unblock();
    await waitFor("held batches written", () => (sink.status().batchesHeld === 0 ? true : undefined), 10_000);
    st = sink.status();
    expect(st.healthy).toBe(true);
    expect(st.failingKinds).toEqual([]);
    expect(st.rowsWritten).toBe(303);
    expect(st.rowsLost).toBe(0);
    expect(st.bytesPending).toBe(0);
    expect(events.filter((e) => e.type === "resumed").length).toBe(3);
    await sink.close();
    const rows = await query(`SELECT agg_trade_id FROM read_parquet('${raw}/**/*.parquet') ORDER BY 1`);
    expect(rows.map((r) => Number(r.agg_trade_id))).toEqual(Array.from({ length: 300 }, (_, i) => 5_000_000_000 + i * 7));
  }, 30_000);

  test("held data never exceeds the bound: past it batches are dropped and counted", async () => {
    const bound = 256 * 1024;
    const { raw, sink, errors, unblock } = blockedSink(bound);
    let appended = 0;
    let maxPending = 0;
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 200; i++) sink.append("orderbook", makeRow("orderbook", appended++, "BTCUSDT", T0 + batch * 60_000 + i));
      sink.flush();
      // Let the worker answer, so held batches shrink to their encoded size.
      await Bun.sleep(5);
      maxPending = Math.max(maxPending, sink.status().bytesPending);
    }
    await waitFor("everything answered", () => (sink.status().batchesPending === sink.status().batchesHeld ? true : undefined), 10_000);
    const st = sink.status();
    expect(maxPending).toBeLessThanOrEqual(bound);
    expect(st.bytesPending).toBeLessThanOrEqual(bound);
    expect(st.rowsDropped).toBeGreaterThan(0);
    expect(st.rowsHeld).toBeGreaterThan(0);
    expect(st.rowsHeld + st.rowsDropped).toBe(appended);
    // Not lastError: held writes keep failing (ENOTDIR) after the last drop, in either order.
    const drops = errors.filter((e) => e.outcome === "dropped");
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.every((e) => e.code === "EBUFFER")).toBe(true);
    expect(drops.reduce((n, e) => n + e.rows, 0)).toBe(st.rowsDropped);

    unblock();
    await waitFor("held batches written", () => (sink.status().batchesHeld === 0 ? true : undefined), 20_000);
    await sink.close();
    const end = sink.status();
    expect(end.rowsWritten).toBe(st.rowsHeld);
    expect(end.rowsLost).toBe(end.rowsDropped);
    const [row] = await query(`SELECT count(*) AS n FROM read_parquet('${raw}/**/*.parquet')`);
    expect(Number(row!.n)).toBe(st.rowsHeld);
  }, 40_000);

  test("close gives a held batch one last attempt, then counts it lost", async () => {
    const { sink, errors } = blockedSink();
    for (let i = 0; i < 10; i++) sink.append("prices", makeRow("prices", i, "BTCUSDT", T0 + i));
    sink.flush();
    await waitFor("held", () => (sink.status().batchesHeld === 1 ? true : undefined), 10_000);
    await sink.close();
    const st = sink.status();
    expect(st.rowsLost).toBe(10);
    expect(st.batchesHeld).toBe(0);
    expect(st.healthy).toBe(false);
    expect(errors.at(-1)?.outcome).toBe("dropped");
  }, 20_000);
});
