/**
 * The contract every sink keeps, one test body run against each implementation (NDJSON raw log,
 * Parquet, in-memory): ordering, rotation and flush-on-close. What was written is read back by
 * readers independent of the sink (files and zcat for NDJSON, hyparquet for Parquet).
 *
 * A "segment" is the sink's unit of output: an hour file for NDJSON, a part file for Parquet, a
 * sealed batch in memory. A "slot" is one rotation interval: a UTC hour for NDJSON (receipt time),
 * one rotation period for the row sinks.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { MemoryRowSink } from "../../src/sinks/memory/memory-sink.ts";
import { NdjsonSink } from "../../src/sinks/ndjson/ndjson-sink.ts";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import { tempDir } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { readParquetRows } from "./sink-support.ts";

const T0 = Date.UTC(2026, 0, 1, 10);
const H = 3_600_000;
const PERIOD_SEC = 60;

interface Segment {
  readonly symbol: string;
  readonly seqs: readonly number[];
}

interface Opened {
  write(symbol: string, ts: number, seq: number): void;
  /** The sink's clock enters rotation slot `slot`. */
  advance(slot: number): void;
  close(): Promise<void>;
  /** Segments in the order the sink documents for reading (time order). */
  segments(): Promise<Segment[]>;
  /** Appending after close is refused (thrown or counted), never silently taken. */
  refusesAfterClose(): boolean;
  /** Files a reader must never see after close (`.partial`). */
  leftovers(): string[];
}

interface Impl {
  readonly name: string;
  /** Time of record `i` in slot `slot`. */
  ts(slot: number, i: number): number;
  open(): Opened;
}

/** The row sinks carry the sequence number in an `events` row (explicit schema, a string column). */
const eventRow = (symbol: string, ts: number, seq: number) => ({
  symbol,
  ts_ms: ts,
  type: "contract",
  channel: null,
  strength: seq,
  detail: `{"seq":${seq}}`,
  scenario_2x2: null,
});

const IMPLS: readonly Impl[] = [
  {
    name: "ndjson",
    ts: (slot, i) => T0 + slot * H + i,
    open() {
      const dir = tempDir("contract-nd");
      // The wall clock stays at the first slot, so only records move files (no idle closing).
      const sink = new NdjsonSink({ dir, now: () => T0, compress: "gzip" });
      return {
        write: (symbol, ts, seq) => sink.append(symbol, ts, `{"ts_recv":${ts},"seq":${seq}}`),
        advance: () => {},
        close: () => sink.close(),
        async segments() {
          const files = listFiles(dir, /raw-\d\d\.ndjson(\.gz)?$/);
          const key = (p: string) => `${/date=([\d-]+)/.exec(p)![1]}/${/raw-(\d\d)/.exec(p)![1]}/${/symbol=(\w+)/.exec(p)![1]}`;
          return files
            .sort((a, b) => (key(a) < key(b) ? -1 : 1))
            .map((f) => {
              const text = f.endsWith(".gz") ? gunzipSync(readFileSync(f)).toString() : readFileSync(f, "utf8");
              return {
                symbol: /symbol=(\w+)/.exec(f)![1]!,
                seqs: text.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq),
              };
            });
        },
        refusesAfterClose() {
          try {
            sink.append("BTCUSDT", T0, "{}");
            return false;
          } catch {
            return true;
          }
        },
        leftovers: () => listFiles(dir, /\.partial$/),
      };
    },
  },
  {
    name: "parquet",
    ts: (slot, i) => T0 + slot * PERIOD_SEC * 1000 + i,
    open() {
      const dir = tempDir("contract-pq");
      const sink = new ParquetSink({ outputDir: dir, previewDir: dir, rotateSec: PERIOD_SEC, orderbookRotateSec: PERIOD_SEC, compactionScanAtStart: false });
      sink.tick(T0);
      return {
        write: (symbol, ts, seq) => sink.append("events", eventRow(symbol, ts, seq)),
        advance: (slot) => sink.tick(T0 + slot * PERIOD_SEC * 1000),
        close: () => sink.close(),
        async segments() {
          // Part names start with the first row's time, then the write counter: name order is time order.
          const files = listFiles(dir, /\.parquet$/).sort((a, b) => (a.split("/").at(-1)! < b.split("/").at(-1)! ? -1 : 1));
          const out: Segment[] = [];
          for (const f of files) {
            const rows = await readParquetRows(f);
            out.push({ symbol: /symbol=(\w+)/.exec(f)![1]!, seqs: rows.map((r) => r.strength as number) });
          }
          return out;
        },
        refusesAfterClose() {
          const before = sink.status().rowsRejected;
          sink.append("events", eventRow("BTCUSDT", T0, -1));
          return sink.status().rowsRejected === before + 1;
        },
        leftovers: () => listFiles(dir, /\.partial$/),
      };
    },
  },
  {
    name: "memory",
    ts: (slot, i) => T0 + slot * PERIOD_SEC * 1000 + i,
    open() {
      const sink = new MemoryRowSink({ rotateSec: PERIOD_SEC, orderbookRotateSec: PERIOD_SEC });
      sink.tick(T0);
      return {
        write: (symbol, ts, seq) => sink.append("events", eventRow(symbol, ts, seq)),
        advance: (slot) => sink.tick(T0 + slot * PERIOD_SEC * 1000),
        close: () => sink.close(),
        segments: async () => sink.segments().map((s) => ({ symbol: s.symbol, seqs: s.rows.map((r) => r.strength as number) })),
        refusesAfterClose() {
          const before = sink.rowsRejected;
          sink.append("events", eventRow("BTCUSDT", T0, -1));
          return sink.rowsRejected === before + 1;
        },
        leftovers: () => [],
      };
    },
  },
];

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

describe.each(IMPLS.map((i) => [i.name, i] as const))("sink contract: %s", (_name, impl) => {
  test("ordering: each symbol's records read back in the order they were appended", async () => {
    const s = impl.open();
    const want = new Map<string, number[]>(SYMBOLS.map((x) => [x, []]));
    let seq = 0;
    for (let slot = 0; slot < 3; slot++) {
      s.advance(slot);
      for (let i = 0; i < 1000; i++) {
        // Uneven interleaving: symbols take turns in runs of different lengths.
        const symbol = SYMBOLS[(i * 7 + Math.floor(i / 5)) % 3]!;
        s.write(symbol, impl.ts(slot, i), seq);
        want.get(symbol)!.push(seq++);
      }
    }
    await s.close();
    const got = new Map<string, number[]>(SYMBOLS.map((x) => [x, []]));
    for (const seg of await s.segments()) got.get(seg.symbol)!.push(...seg.seqs);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  test("rotation: records of different slots never share a segment, and segments follow slot order", async () => {
    const s = impl.open();
    const slotOf = new Map<number, number>();
    let seq = 0;
    for (let slot = 0; slot < 4; slot++) {
      s.advance(slot);
      for (let i = 0; i < 50; i++) {
        slotOf.set(seq, slot);
        s.write("BTCUSDT", impl.ts(slot, i), seq++);
      }
    }
    await s.close();
    const segs = await s.segments();
    const segSlots = segs.map((g) => {
      const slots = new Set(g.seqs.map((q) => slotOf.get(q)));
      expect(slots.size).toBe(1);
      return [...slots][0]!;
    });
    expect(segSlots).toEqual([0, 1, 2, 3]);
    expect(segs.map((g) => g.seqs.length)).toEqual([50, 50, 50, 50]);
  });

  test("flush on close: everything appended right before close is there after it, nothing partial, nothing taken after", async () => {
    const s = impl.open();
    for (let i = 0; i < 10; i++) s.write(SYMBOLS[i % 3]!, impl.ts(0, i), i);
    // No tick, no timer: close alone must write everything out.
    await s.close();
    const seqs = (await s.segments()).flatMap((g) => g.seqs).sort((a, b) => a - b);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.leftovers()).toEqual([]);
    expect(s.refusesAfterClose()).toBe(true);
    expect((await s.segments()).flatMap((g) => g.seqs)).not.toContain(-1);
  });
});
