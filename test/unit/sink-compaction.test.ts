/**
 * Compaction through the real ParquetSink and writer worker: a closed hour's parts become one
 * file of their row groups, rows unchanged (read back by DuckDB and hyparquet), other hours untouched; a reader
 * polling the partition folder while compaction runs in the worker always counts every row
 * exactly once; a late part is merged on the next pass; a foreign file stops the hour's merge.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SCHEMAS } from "../../src/core/rows.ts";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import type { MaintenanceEvent } from "../../src/sinks/parquet/sink-types.ts";
import { partMinTs } from "../../src/sinks/parquet/files.ts";
import { symbolOffsetMs } from "../../src/sinks/rotation.ts";
import { STAGING_DIR } from "../../src/sinks/storage/staging.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { makeRow, parquetRowCount, readParquetRows, treeFiles } from "./sink-support.ts";

const H = 3_600_000;
/** 2026-01-01T10:00:00Z */
const H0 = Date.UTC(2026, 0, 1, 10);
const DEC31 = Date.UTC(2025, 11, 31);
const hourOf = (name: string) => Math.floor(partMinTs(name)! / H);

function sinkFor(root: string, events: MaintenanceEvent[], extra: Partial<ConstructorParameters<typeof ParquetSink>[0]> = {}): ParquetSink {
  return new ParquetSink({
    outputDir: root,
    previewDir: root,
    rotateSec: 60,
    orderbookRotateSec: 60,
    compactionScanAtStart: false,
    onMaintenance: (e) => events.push(e),
    ...extra,
  });
}

/** One prices and one orderbook row every 10 s from `from` to `to`, the clock ticking with them. */
function feed(sink: ParquetSink, from: number, to: number, symbol = "BTCUSDT"): number {
  let n = 0;
  for (let ts = from; ts < to; ts += 10_000, n++) {
    sink.tick(ts);
    sink.append("prices", makeRow("prices", n, symbol, ts));
    sink.append("orderbook", makeRow("orderbook", n, symbol, ts));
  }
  return n;
}

const pricesDir = (root: string, symbol = "BTCUSDT") => join(root, "date=2026-01-01", `symbol=${symbol}`, "kind=prices");

describe("compaction of closed hours", () => {
  test("a closed hour's parts become one file with the same rows; the open hour is untouched", async () => {
    const root = tempDir("compact");
    const events: MaintenanceEvent[] = [];
    const sink = sinkFor(root, events);
    // 10:00 to 11:05: the clock passes 11:00 + grace (60 s rotation + 30 s), closing hour 10.
    const n = feed(sink, H0, H0 + H + 5 * 60_000);
    await waitFor("both kinds compacted", () => (events.filter((e) => e.type === "compacted").length >= 2 ? true : undefined), 30_000);
    await sink.close();

    const st = sink.status();
    expect(st.rowsWritten).toBe(2 * n);
    expect(st.compactions).toBe(2);
    // A part per rotation: 60 a kind when BTCUSDT's boundaries fall on the minute; with its phase
    // offset (rotation.ts) the hour starts and ends mid-period, one part more.
    const partsPerKind = symbolOffsetMs("BTCUSDT", 60_000) === 0 ? 60 : 61;
    expect(st.filesCompacted).toBe(2 * partsPerKind);
    const names = readdirSync(pricesDir(root)).sort();
    const perHour = (h: number) => names.filter((f) => hourOf(f) === h);
    expect(perHour(H0 / H).length).toBe(1);
    // The 11:00 hour is not closed: its parts stay (one per minute, plus the last flush at close).
    expect(perHour(H0 / H + 1).length).toBeGreaterThanOrEqual(5);
    expect(names.every((f) => f.endsWith(".parquet"))).toBe(true);

    // Same rows, every column, as appended (DuckDB over the whole tree, sorted full rows).
    for (const kind of ["prices", "orderbook"] as const) {
      const cols = SCHEMAS[kind].map((d) => `"${d.name}"`).join(", ");
      const got = await query(`SELECT ${cols} FROM read_parquet('${root}/**/*.parquet', hive_partitioning = true, union_by_name = true) WHERE kind = '${kind}' ORDER BY ts_ms`);
      expect(got.length).toBe(n);
      const want = Array.from({ length: n }, (_, i) => makeRow(kind, i, "BTCUSDT", H0 + i * 10_000));
      const norm = (r: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v]));
      expect(got.map(norm)).toEqual(want.map((r) => norm({ ...r })));
    }

    // The merged file holds the hour's parts as its row groups, one a part, and reads back in
    // hyparquet, in order; each row group keeps its part's statistics (DuckDB's metadata).
    const merged = join(pricesDir(root), perHour(H0 / H)[0]!);
    expect(parquetRowCount(merged)).toBe(360);
    const rows = await readParquetRows(merged);
    expect(rows.map((r) => r.ts_ms)).toEqual(Array.from({ length: 360 }, (_, i) => H0 + i * 10_000));
    const groups = await query(
      `SELECT row_group_id AS g, row_group_num_rows AS n, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${merged}') WHERE path_in_schema = 'ts_ms' ORDER BY g`,
    );
    expect(groups.length).toBe(partsPerKind);
    expect(groups.reduce((s, g) => s + Number(g.n), 0)).toBe(360);
    for (let i = 1; i < groups.length; i++) expect(new Date(String(groups[i]!.lo)).getTime()).toBeGreaterThan(new Date(String(groups[i - 1]!.hi)).getTime());
    // Nothing left in staging.
    expect(treeFiles(join(root, STAGING_DIR))).toEqual([]);
  }, 60_000);

  test("a reader listing the folder during compaction counts every row exactly once", async () => {
    const root = tempDir("compact-race");
    // 16 closed hours of six parts each, written without compaction.
    const prep = sinkFor(root, [], { compaction: false });
    let total = 0;
    for (let h = 0; h < 16; h++) {
      for (let p = 0; p < 6; p++) {
        for (let i = 0; i < 50; i++) prep.append("prices", makeRow("prices", total++, "BTCUSDT", DEC31 + h * H + p * 60_000 + i));
        prep.flush();
      }
    }
    await prep.close();
    const dir = pricesDir(root).replace("2026-01-01", "2025-12-31");
    expect(readdirSync(dir).length).toBe(96);

    const events: MaintenanceEvent[] = [];
    // The start-up scan finds the 16 closed hours and compacts them in the worker thread.
    const sink = sinkFor(root, events, { compactionScanAtStart: true });
    const seenCounts = new Set<number>();
    let polls = 0;
    let vanished = 0;
    while (events.filter((e) => e.type === "compacted").length < 16) {
      const names = readdirSync(dir).filter((n) => n.endsWith(".parquet"));
      let sum = 0;
      try {
        for (const n of names) sum += parquetRowCount(join(dir, n));
      } catch (e) {
        // Listed before a swap, opened after it: the reader learns loudly, never miscounts.
        expect((e as NodeJS.ErrnoException).code).toBe("ENOENT");
        vanished++;
        continue;
      }
      polls++;
      seenCounts.add(names.length);
      expect(sum).toBe(total);
      expect(events.filter((e) => e.type === "error")).toEqual([]);
      await Bun.sleep(0);
    }
    await sink.close();
    expect(readdirSync(dir).length).toBe(16);
    // The polls saw the folder between swaps, not just before and after.
    expect(polls).toBeGreaterThan(16);
    expect([...seenCounts].some((c) => c > 16 && c < 96)).toBe(true);
    console.log(`compaction race: ${polls} consistent listings, ${vanished} hit a file that had just been merged away, ${seenCounts.size} distinct file counts`);
  }, 60_000);

  test("an hour turn's merges are spread out, not run back to back", async () => {
    const root = tempDir("compact-paced");
    const done: { at: number; ms: number }[] = [];
    const sink = sinkFor(root, [], {
      onMaintenance: (e) => {
        if (e.type === "compacted") done.push({ at: performance.now(), ms: e.ms });
      },
    });
    const symbols = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT", "FFFUSDT"];
    for (let ts = H0; ts < H0 + H + 5 * 60_000; ts += 10_000) {
      sink.tick(ts);
      for (const [i, symbol] of symbols.entries()) {
        sink.append("prices", makeRow("prices", i, symbol, ts));
        sink.append("orderbook", makeRow("orderbook", i, symbol, ts));
      }
    }
    await waitFor("every partition's hour 10 compacted", () => (done.length >= 2 * symbols.length ? true : undefined), 30_000);
    await sink.close();
    // Each merge waits four times as long as the one before it took (writer-worker.ts); run back to
    // back, the span would be about the sum of the merges' own times.
    const span = done.at(-1)!.at - done[0]!.at;
    const merging = done.slice(0, -1).reduce((a, d) => a + d.ms, 0);
    expect(span).toBeGreaterThan(3 * merging);
  }, 60_000);

  test("a part arriving after its hour was merged is merged on the next pass", async () => {
    const root = tempDir("compact-late");
    const events: MaintenanceEvent[] = [];
    const sink = sinkFor(root, events);
    feed(sink, H0, H0 + H + 3 * 60_000);
    await waitFor("hour 10 compacted", () => (events.filter((e) => e.type === "compacted").length >= 2 ? true : undefined), 30_000);
    // A late trade of 10:30 (e.g. recovered over REST) after the merge.
    sink.append("prices", makeRow("prices", 999, "BTCUSDT", H0 + 30 * 60_000 + 1));
    feed(sink, H0 + H + 3 * 60_000, H0 + H + 6 * 60_000);
    await waitFor("hour 10 merged again", () => (events.filter((e) => e.type === "compacted").length >= 3 ? true : undefined), 30_000);
    await sink.close();
    const names = readdirSync(pricesDir(root)).filter((f) => hourOf(f) === H0 / H);
    expect(names.length).toBe(1);
    expect(parquetRowCount(join(pricesDir(root), names[0]!))).toBe(361);
  }, 60_000);

  test("a file that is not ours stops the merge of its hour, reported, nothing touched", async () => {
    const root = tempDir("compact-foreign");
    const prep = sinkFor(root, [], { compaction: false });
    for (let p = 0; p < 3; p++) {
      prep.append("prices", makeRow("prices", p, "BTCUSDT", H0 + p * 60_000));
      prep.flush();
    }
    await prep.close();
    const foreign = join(pricesDir(root), `part-${H0 + 5}-000001-zzzzzz.parquet`);
    writeFileSync(foreign, "not parquet");
    const before = readdirSync(pricesDir(root)).sort();
    const events: MaintenanceEvent[] = [];
    const sink = sinkFor(root, events, { compactionScanAtStart: true });
    await waitFor("compaction problem reported", () => (events.some((e) => e.type === "error") ? true : undefined), 30_000);
    await sink.close();
    const err = events.find((e) => e.type === "error");
    expect(err?.type === "error" && err.error.message).toContain("is not a readable Parquet file");
    expect(readdirSync(pricesDir(root)).sort()).toEqual(before);
    expect(existsSync(foreign)).toBe(true);
  }, 60_000);
});
