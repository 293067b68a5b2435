/**
 * Which raw-log files replay reads, and in what order, when an hour exists both plain and
 * compressed: a compression cut short (the compressed file already holds the plain lines) must not
 * be read twice; an hour reopened after its compression must not lose its new lines.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { ConfigSchema } from "../../src/config/schema.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { collectReplayFiles, planReplay } from "../../src/pipeline/replay-files.ts";
import { replayPlanned } from "../../src/pipeline/replay-share.ts";
import { rawLogDecoder } from "../../src/pipeline/venue.ts";
import { MemoryRowSink } from "../../src/sinks/memory/memory-sink.ts";
import { tempDir } from "../helpers/binary.ts";

const T = Date.UTC(2026, 0, 1, 8);
const trade = (a: number) =>
  `{"ts_recv":${T + a},"stream":"btcusdt@aggTrade","latency_event_ms":1,"latency_pipeline_ms":0,"data":{"e":"aggTrade","E":${T + a},"a":${a},"s":"BTCUSDT","p":"100.${a}","q":"1","f":${a},"l":${a},"T":${T + a},"m":false}}\n`;
const trades = (ids: number[]) => ids.map(trade).join("");

describe("replay input files", () => {
  test("plain + compressed twins: read once each line, in hour order", async () => {
    const dir = tempDir("replay-twins");
    const put = (rel: string, data: string | Uint8Array) => {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), data);
    };
    const sym = "date=2026-01-01/symbol=BTCUSDT";
    put(`${sym}/raw-07.ndjson.zst`, zstdCompressSync(trades([1, 2])));
    // Cut short after the rename: the .gz holds the plain lines already.
    put(`${sym}/raw-08.ndjson.gz`, gzipSync(trades([3, 4])));
    put(`${sym}/raw-08.ndjson`, trades([3, 4]));
    // Reopened after compression: the plain lines follow the compressed ones.
    put(`${sym}/raw-09.ndjson.gz`, gzipSync(trades([5, 6])));
    put(`${sym}/raw-09.ndjson`, trades([7]));
    put(`${sym}/raw-10.ndjson`, trades([8]));

    const files = collectReplayFiles([dir]);
    expect(files.map((f) => f.path.slice(dir.length + sym.length + 2))).toEqual([
      "raw-07.ndjson.zst",
      "raw-08.ndjson.gz",
      "raw-08.ndjson",
      "raw-09.ndjson.gz",
      "raw-09.ndjson",
      "raw-10.ndjson",
    ]);
    const sink = new MemoryRowSink({ rotateSec: 60, orderbookRotateSec: 60 });
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const pipeline = new Pipeline(ConfigSchema.parse({}), { kind: "replay" }, { parquetError: () => {}, parquetMaintenance: () => {} }, { rowSinks: [sink] });
    const summary = await replayPlanned(await planReplay(files, (l) => rawLogDecoder().sniffSymbol(l), warn), pipeline, warn);
    await pipeline.close();
    const ids = sink.segments().filter((s) => s.kind === "prices").flatMap((s) => s.rows.map((r) => r.agg_trade_id));
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(summary.files).toBe(5);
    expect(warnings).toEqual([expect.stringContaining("raw-08.ndjson: its lines are already in raw-08.ndjson.gz")]);
  });
});
