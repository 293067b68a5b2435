/**
 * The rows the Parquet sink holds in its builders are bounded (docs/storage.md "Overload: spill,
 * never drop" and "Replay"): `rowsUnsent` (neither handed over nor sent ahead) never exceeds
 * `maxRowsUnsent`, and `rowsBuffered` (sent-ahead rows included) never exceeds `maxRowsBuffered`,
 * both while the writer is behind in live mode (batches waiting on disk, so nothing is sent ahead)
 * and in replay mode (unbounded bytes, waiting for room, no rotation). Past a bound the largest
 * builders are handed over early; nothing is dropped and every row reaches the files once.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import { tempDir } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 5, 10);
const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT"];

interface Peaks {
  unsent: number;
  buffered: number;
}

function watch(sink: ParquetSink, peaks: Peaks): void {
  const st = sink.status();
  peaks.unsent = Math.max(peaks.unsent, st.rowsUnsent);
  peaks.buffered = Math.max(peaks.buffered, st.rowsBuffered);
  expect(st.rowsUnsent).toBeLessThanOrEqual(st.maxRowsUnsent);
  if (st.maxRowsBuffered !== null) expect(st.rowsBuffered).toBeLessThanOrEqual(st.maxRowsBuffered);
}

async function everyRowOnce(raw: string, rows: number): Promise<void> {
  const [r] = await query(`SELECT count(*) AS n, count(DISTINCT symbol || ':' || agg_trade_id) AS d FROM read_parquet('${raw}/*/*/*/*.parquet')`);
  expect({ n: Number(r!.n), d: Number(r!.d) }).toEqual({ n: rows, d: rows });
}

describe("Parquet sink: rows held in builders", () => {
  test("live, writer behind (batches on disk): held rows stay under the bound, nothing dropped, every row written", async () => {
    const d = tempDir("pq-held-live");
    const raw = join(d, "raw");
    // A bound far below one batch: everything handed over goes through the spill, so chunks are not sent ahead.
    const sink = new ParquetSink({ outputDir: raw, previewDir: join(d, "preview"), rotateSec: 60, orderbookRotateSec: 60, maxBufferBytes: 50_000, compaction: false, lowMemory: true });
    const bound = sink.status().maxRowsUnsent;
    let id = 0;
    for (const s of SYMBOLS) for (let i = 0; i < 2000; i++) sink.append("prices", makeRow("prices", id++, s, T0 + id));
    sink.flush();
    expect(sink.status().batchesSpilled).toBeGreaterThan(0);
    const peaks: Peaks = { unsent: 0, buffered: 0 };
    // Several times the bound, no rotation: before the fix the builders held all of it.
    const total = bound * 5;
    for (let n = 0; n < total; n++) {
      const s = SYMBOLS[n % SYMBOLS.length]!;
      sink.append("prices", makeRow("prices", id++, s, T0 + id));
      if (n % 1000 === 0) watch(sink, peaks);
    }
    watch(sink, peaks);
    const st = sink.status();
    expect(peaks.unsent).toBeGreaterThan(bound / 2);
    expect(st.earlyHandOvers).toBeGreaterThan(0);
    // Enough handed over at once that it does not happen every few rows: one round per half bound, a builder each.
    expect(st.earlyHandOvers).toBeLessThanOrEqual(SYMBOLS.length * Math.ceil(total / (bound / 2)));
    expect(st.rowsSpilledTotal).toBeGreaterThan(bound);
    await sink.close();
    const end = sink.status();
    expect({ dropped: end.rowsDropped, lost: end.rowsLost, written: end.rowsWritten, unsent: end.rowsUnsent, buffered: end.rowsBuffered }).toEqual({ dropped: 0, lost: 0, written: id, unsent: 0, buffered: 0 });
    await everyRowOnce(raw, id);
  }, 120_000);

  test("live, writer keeping up: a rate high enough to pass the bounds within a rotation hands nothing over early (no extra files)", async () => {
    const d = tempDir("pq-held-live-ok");
    const raw = join(d, "raw");
    const sink = new ParquetSink({ outputDir: raw, previewDir: join(d, "preview"), rotateSec: 60, orderbookRotateSec: 60, compaction: false, lowMemory: true });
    const st0 = sink.status();
    expect(st0.maxRowsBuffered).toBeNull();
    // Four times the unsent bound in one rotation (at 200k frames/s, 50 symbols pass 2 M rows in ≈ 4 s).
    const total = st0.maxRowsUnsent * 4;
    let id = 0;
    for (let n = 0; n < total; n++) {
      const s = SYMBOLS[n % SYMBOLS.length]!;
      sink.append("prices", makeRow("prices", id++, s, T0 + Math.floor(n / 1000)));
      if (n % 65_536 === 0) await Bun.sleep(0);
    }
    const st = sink.status();
    expect({ early: st.earlyHandOvers, spilled: st.rowsSpilledTotal }).toEqual({ early: 0, spilled: 0 });
    expect(st.rowsBuffered).toBe(total);
    await sink.close();
    expect(sink.status().rowsWritten).toBe(id);
    await everyRowOnce(raw, id);
  }, 120_000);

  test("replay (unbounded bytes, waits for room, never rotates): held rows stay under the bounds, every row written", async () => {
    const d = tempDir("pq-held-replay");
    const raw = join(d, "raw");
    // As pipeline.ts builds replay's sink.
    const sink = new ParquetSink({
      outputDir: raw,
      previewDir: join(d, "preview"),
      rotateSec: 60,
      orderbookRotateSec: 60,
      maxBufferBytes: Number.MAX_SAFE_INTEGER,
      compaction: false,
      compactAllOnClose: false,
      compactionScanAtStart: false,
    });
    const st0 = sink.status();
    const peaks: Peaks = { unsent: 0, buffered: 0 };
    // Past the bound on rows not handed over (sent-ahead ones included), within one hour.
    const total = st0.maxRowsBuffered! + st0.maxRowsUnsent;
    let id = 0;
    for (let n = 0; n < total; n++) {
      const s = SYMBOLS[n % SYMBOLS.length]!;
      sink.append("prices", makeRow("prices", id++, s, T0 + Math.floor(n / 1000)));
      if (n % 4096 === 0) {
        watch(sink, peaks);
        // As replay (once per block of a few thousand lines) and recovery (every 4096 lines applied) wait.
        await sink.waitForRoom(8 * 1024 * 1024);
      }
    }
    watch(sink, peaks);
    expect(peaks.buffered).toBeGreaterThan(st0.maxRowsBuffered! / 2);
    expect(sink.status().earlyHandOvers).toBeGreaterThan(0);
    await sink.close();
    const end = sink.status();
    expect({ dropped: end.rowsDropped, lost: end.rowsLost, written: end.rowsWritten }).toEqual({ dropped: 0, lost: 0, written: id });
    await everyRowOnce(raw, id);
  }, 180_000);
});
