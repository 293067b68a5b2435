/**
 * `harvestd backfill` fills a hole cut into a stored day: the compiled binary collects for 12 s, a run
 * of 150 trades is cut out of BTCUSDT's raw log, the Parquet tree is rebuilt from that log with
 * `harvestd replay` (so the stored day has the hole everywhere), then `harvestd backfill --from D --to D`
 * runs against the fake exchange, which still serves every trade over REST. Afterwards:
 *
 * - the prices Parquet holds every produced id of the span exactly once, the cut ones `backfilled`;
 * - a `backfill-*.ndjson.gz` file beside the hour files holds them, and a fresh `harvestd replay` of
 *   the raw log (compaction included) gives the same prices: every id once, the cut ones backfilled;
 * - a second `harvestd backfill` finds nothing to do.
 */
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { REPO, runBinary } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { newStore, pricesIds, producedBetween, replayInto, startRun, tradeLines, waitForTrades } from "./restart-support.ts";

const SYMBOLS = ["BTCUSDT", "SANDUSDT"];
const CUT = "BTCUSDT";
let fx: FakeExchange | null = null;
afterAll(async () => {
  await fx?.stop().catch(() => {});
});

/** Removes the trade lines of ids lo..hi from every raw hour file of `symbol` (plain or gzip). */
function cutTrades(ndjsonDir: string, symbol: string, lo: number, hi: number): number {
  const re = new RegExp(`"stream":"${symbol.toLowerCase()}@aggTrade".*"a":(\\d+),`);
  let removed = 0;
  for (const f of listFiles(ndjsonDir, new RegExp(`symbol=${symbol}/raw-\\d\\d\\.ndjson(\\.gz)?$`))) {
    const gz = f.endsWith(".gz");
    const text = (gz ? gunzipSync(readFileSync(f)) : readFileSync(f)).toString("utf8");
    const kept = text.split("\n").filter((l) => {
      const m = re.exec(l);
      const cut = m !== null && Number(m[1]) >= lo && Number(m[1]) <= hi;
      if (cut) removed++;
      return !cut;
    });
    const out = kept.join("\n");
    writeFileSync(f, gz ? gzipSync(out) : out);
  }
  return removed;
}

test("harvestd backfill fills a hole cut into a stored day; replay and compaction include it", async () => {
  fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, recordFrames: false });
  const store = newStore(fx, SYMBOLS);
  const run = startRun(store);
  await waitForTrades(store, SYMBOLS);
  await Bun.sleep(12_000);
  expect((await run.stop("SIGTERM")).exitCode).toBe(0);

  const before = tradeLines(store, CUT).map((t) => t.id);
  const mid = before[Math.floor(before.length / 2)]!;
  const [lo, hi] = [mid, mid + 149];
  expect(cutTrades(join(store.dir, "ndjson"), CUT, lo, hi)).toBe(150);
  // The stored day with the hole everywhere: Parquet rebuilt from the cut log.
  rmSync(join(store.dir, "raw"), { recursive: true, force: true });
  rmSync(join(store.dir, "preview"), { recursive: true, force: true });
  const rebuilt = await runBinary(["replay", join(store.dir, "ndjson"), "--config", join(REPO, "config.toml")], store.env);
  expect(rebuilt.exitCode).toBe(0);
  const holed = await pricesIds(join(store.dir, "raw"), CUT);
  expect([lo, hi].map((id) => holed.count.has(id))).toEqual([false, false]);

  const day = new Date().toISOString().slice(0, 10);
  // With the default hold (120 s) the hole is minutes too young to touch: nothing is fetched, and
  // the user is told so and when to run again, instead of "0 holes".
  const early = await runBinary(["backfill", "--from", day, "--to", day, "--config", join(REPO, "config.toml")], store.env);
  expect(early.exitCode).toBe(0);
  expect(early.stdout).toMatch(new RegExp(`backfill ${CUT}: \\d+ stored trades, 0 holes, 0 trades recovered, 0 ids not served by REST; 1 holes too recent to touch \\(a live collector may still fill them; run again after \\d\\d:\\d\\d:\\d\\d UTC\\)`));
  // Holes younger than twice backfill_max_hold_sec are left to a live collector: 0.5 s here. The
  // hole ends ≈ 60 trades (under a second) before the run's end, and the stop and the replay take
  // ≈ 0.2 s: without a wait the hole could still count as young (seen failing once in CI).
  await Bun.sleep(1_500);
  const args = ["backfill", "--from", day, "--to", day, "--config", join(REPO, "config.toml"), "--set", "feed.backfill_max_hold_sec=0.5"];
  // The command's first REST request is answered 429: it says so, waits, and goes on.
  fx.rejectRest(1, 429, 1);
  const r = await runBinary(args, store.env);
  expect(r.stderr).toBe("harvestd: backfill: the exchange paused REST requests (HTTP 429: too many requests) for 1 s; waiting\n");
  expect(r.stdout).toMatch(/REST requests, 1 throttled\)/);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(`backfill ${CUT}: `);
  expect(r.stdout).toMatch(new RegExp(`backfill ${CUT}: \\d+ stored trades, 1 holes, 150 trades recovered, 0 ids not served by REST`));
  expect(r.stdout).toMatch(/backfill SANDUSDT: \d+ stored trades, 0 holes/);

  const first = before[0]!;
  const last = before.at(-1)!;
  const span = producedBetween(fx, CUT, first, last);
  const cutIds = span.filter((id) => id >= lo && id <= hi);
  for (const [what, root] of [["live tree", join(store.dir, "raw")], ["replay", await replayInto(store)]] as const) {
    const got = await pricesIds(root, CUT);
    expect({ what, ids: [...got.count.keys()].sort((a, b) => a - b) }).toEqual({ what, ids: span });
    expect({ what, once: [...got.count.values()].every((n) => n === 1) }).toEqual({ what, once: true });
    expect({ what, backfilled: [...got.backfilled].sort((a, b) => a - b) }).toEqual({ what, backfilled: cutIds });
  }
  const files = readdirSync(join(store.dir, "ndjson", `date=${day}`, `symbol=${CUT}`));
  expect(files.filter((n) => /^backfill-.*\.ndjson\.gz$/.test(n)).length).toBe(1);

  const again = await runBinary(args, store.env);
  expect(again.exitCode).toBe(0);
  expect(again.stdout).toMatch(new RegExp(`backfill ${CUT}: \\d+ stored trades, 0 holes`));
}, 120_000);

test("harvestd backfill: a bad range is one usage line, exit 2", async () => {
  for (const [args, want] of [
    [["--from", "2026-02-30", "--to", "2026-03-01"], 'harvestd: backfill --from "2026-02-30" is not a date YYYY-MM-DD'],
    [["--from", "2026-03-02", "--to", "2026-03-01"], "harvestd: backfill --from 2026-03-02 is after --to 2026-03-01"],
    [["--to", "2026-03-01"], "harvestd: backfill needs --from YYYY-MM-DD and --to YYYY-MM-DD (UTC dates, inclusive)"],
  ] as const) {
    const r = await runBinary(["backfill", ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(want);
  }
});
