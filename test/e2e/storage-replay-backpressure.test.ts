/**
 * Replay produces rows far faster than the Parquet writer encodes them. Live ingest drops past the
 * buffer bound (it must never wait); replay has nothing to protect and must wait instead: with a
 * 1 MiB bound, every row of a large log still reaches Parquet.
 */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, runBinary, tempDir } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";

const TRADES = 60_000;

test("replay waits for the writer instead of dropping rows past storage.max_buffer_mb", async () => {
  const dir = tempDir("replay-backpressure");
  const t0 = Date.UTC(2026, 10, 21, 10, 0, 0);
  const lines = [`{"ts_recv":${t0},"event":"session","version":"test"}`];
  for (let i = 0; i < TRADES; i++) {
    const T = t0 + i * 10;
    const data = `{"e":"aggTrade","E":${T + 5},"a":${1000 + i},"s":"BTCUSDT","p":"${(60000 + (i % 97) / 10).toFixed(1)}","q":"0.${(i % 9) + 1}00","f":${5000 + i},"l":${5000 + i},"T":${T},"m":${i % 3 === 0}}`;
    lines.push(`{"ts_recv":${T + 7},"stream":"btcusdt@aggTrade","latency_event_ms":2,"latency_pipeline_ms":0.01,"data":${data}}`);
  }
  const nd = join(dir, "ndjson", "date=2026-11-21", "symbol=BTCUSDT");
  mkdirSync(nd, { recursive: true });
  writeFileSync(join(nd, "raw-10.ndjson"), lines.join("\n") + "\n");

  const out = join(dir, "out");
  const r = await runBinary(["replay", join(dir, "ndjson"), "--out", out, "--config", join(REPO, "config.toml"), "--set", "storage.max_buffer_mb=1"], {
    ARTIFACTS_DIR: join(dir, "artifacts"),
  });
  expect(r.stderr).not.toContain("dropped");
  expect(r.exitCode).toBe(0);
  const rows = await query(`SELECT count(*) AS n, count(DISTINCT agg_trade_id) AS ids FROM ${hive(join(out, "raw", "date=*", "**", "kind=prices", "*.parquet"))}`);
  expect(Number(rows[0]!.n)).toBe(TRADES);
  expect(Number(rows[0]!.ids)).toBe(TRADES);
  const cvd = await query(`SELECT count(*) AS n FROM ${hive(join(out, "preview", "date=*", "**", "kind=cvd", "*.parquet"))}`);
  expect(Number(cvd[0]!.n)).toBe(TRADES);
}, 120_000);
