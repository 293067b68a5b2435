/**
 * A Parquet write failure names the write it is about. The walkthrough that found it: with the disk
 * full, a log line said `"kind":"cvd","symbol":"SANDUSDT"` with the path of BTCUSDT's ofi part: a
 * write queued behind an earlier failure of its root was reported with that root's last error.
 * Now every report (the log, `parquet.lastError`) carries the kind, symbol and partition of its
 * own write; one held back without an attempt says so ("not attempted: ROOT failing since …").
 *
 * The obstacle is a real filesystem error, as in sink-parquet-retry.test.ts: a plain file where the
 * output root should be (ENOTDIR for every partition under it).
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RowKind } from "../../src/core/rows.ts";
import { ParquetSink } from "../../src/sinks/parquet/parquet-sink.ts";
import type { ParquetSinkError } from "../../src/sinks/parquet/sink-types.ts";
import { tempDir, waitFor } from "../helpers/binary.ts";
import { makeRow } from "./sink-support.ts";

const T0 = Date.UTC(2026, 11, 7, 18);

/** Reports whose path is not the partition of their own kind and symbol, as `kind/symbol: path`. */
function misnamed(errors: readonly Pick<ParquetSinkError, "kind" | "symbol" | "path">[]): string[] {
  return errors.filter((e) => !new RegExp(`/symbol=${e.symbol}/kind=${e.kind}(/|$)`).test(e.path)).map((e) => `${e.kind}/${e.symbol}: ${e.path}`);
}

describe("ParquetSink write failures name their own write", () => {
  test("held, queued and given-up writes each report their own kind, symbol and partition; a queued one says it was not attempted", async () => {
    const d = tempDir("pq-names");
    const raw = join(d, "raw");
    writeFileSync(raw, "a file where the folder should be");
    const errors: ParquetSinkError[] = [];
    const sink = new ParquetSink({ outputDir: raw, previewDir: join(d, "preview"), rotateSec: 60, orderbookRotateSec: 60, retryMs: 100, compaction: false, onError: (e) => errors.push(e) });
    const batch = (kind: RowKind, symbol: string) => {
      for (let i = 0; i < 10; i++) sink.append(kind, makeRow(kind, i, symbol, T0 + i));
    };

    // The root fails first on BTCUSDT's prices; the next batches of the root queue behind it.
    batch("prices", "BTCUSDT");
    sink.flush();
    await waitFor("the first write held", () => (sink.status().batchesHeld === 1 ? true : undefined), 10_000);
    batch("prices", "ETHUSDT");
    batch("orderbook", "SANDUSDT");
    sink.flush();
    await waitFor("three writes held", () => (sink.status().batchesHeld === 3 ? true : undefined), 10_000);
    const lastError = sink.status().lastError;
    // Retries of the head keep failing meanwhile.
    await Bun.sleep(300);
    await sink.close();

    expect(misnamed(errors)).toEqual([]);
    expect(lastError === null ? ["no lastError"] : misnamed([lastError])).toEqual([]);
    const held = (symbol: string) => errors.filter((e) => e.outcome === "held" && e.symbol === symbol);
    expect(held("BTCUSDT").length).toBeGreaterThan(1);
    expect(held("BTCUSDT").every((e) => e.code === "ENOTDIR" && e.message.startsWith("cannot create"))).toBe(true);
    for (const [kind, symbol] of [["prices", "ETHUSDT"], ["orderbook", "SANDUSDT"]] as const) {
      const [queued] = held(symbol);
      expect(queued?.kind).toBe(kind);
      expect(queued?.code).toBe("ENOTDIR");
      expect(queued?.message).toMatch(new RegExp(`^not attempted: ${raw} failing since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: cannot create ${raw}/date=2026-12-07/symbol=BTCUSDT/kind=prices`));
      expect(queued?.path).toBe(join(raw, "date=2026-12-07", `symbol=${symbol}`, `kind=${kind}`));
    }
    // The stop's last attempt: each write tried and given up on its own error.
    const dropped = errors.filter((e) => e.outcome === "dropped");
    expect(dropped.map((e) => `${e.kind}/${e.symbol}`).sort()).toEqual(["orderbook/SANDUSDT", "prices/BTCUSDT", "prices/ETHUSDT"]);
    expect(dropped.every((e) => e.code === "ENOTDIR" && e.message.startsWith("cannot create"))).toBe(true);
    expect(sink.status().rowsLost).toBe(30);
  }, 20_000);
});
