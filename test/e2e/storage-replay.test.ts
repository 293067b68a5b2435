/**
 * Replay equality (issue "Storage"): the compiled binary collects from the fake exchange, stops on
 * SIGTERM; then `harvestd replay` of its NDJSON writes into another folder. Every kind, every
 * row, every column is equal between the two trees (DuckDB reads both; sorted full rows compared
 * in JavaScript, where -0 and 0 or two NaNs would differ, and by EXCEPT ALL in DuckDB).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { ALL_KINDS } from "../../src/core/rows.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { strategyArgs } from "../helpers/strategy-sets.ts";
import { kindRows, layout, treeDifference, unreadableParquet, type Layout } from "./storage-support.ts";

// Two recordings (BTCUSDT: hftbacktest, busy; the others: cryptofeed), so every kind has rows.
const SYMBOLS = ["BTCUSDT", "SANDUSDT", "NEOUSDT"];

let fake: FakeExchange;
let live: Layout;
let replayed: Layout;
let run: RunResult;
let replay: RunResult;
/** The same logs as .zst (BTCUSDT), .gz (SANDUSDT) and plain with the last line cut in half (NEOUSDT). */
let mixed: Layout;
let mixedReplay: RunResult;
let cutFile = "";
const counts: Record<string, number> = {};

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 8, recordFrames: false });
  const dir = tempDir("storage-replay");
  live = layout(join(dir, "live"));
  const port = freePort();
  const proc = startBinary(
    // The strategy set to trade often (its defaults trade a few times a day), so paper rows are compared too.
    ["run", "--config", join(REPO, "config.toml"), ...strategyArgs()],
    collectorEnv(fake, SYMBOLS, join(dir, "live"), port, { PARQUET_ROTATE_SEC: "2", ORDERBOOK_ROTATE_SEC: "1", PAPER_ENABLE: "1" }),
  );
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 20_000);
  await Bun.sleep(12_000);
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(500);
  run = await proc.stop("SIGTERM");

  const out = join(dir, "replayed");
  replayed = { raw: join(out, "raw"), preview: join(out, "preview"), ndjson: live.ndjson, artifacts: join(out, "artifacts") };
  replay = await runBinary(["replay", live.ndjson, "--out", out, "--config", join(REPO, "config.toml"), ...strategyArgs()], { ARTIFACTS_DIR: replayed.artifacts, PAPER_ENABLE: "1" });

  const mixedIn = join(dir, "mixed-ndjson");
  const files = listFiles(live.ndjson, /\.ndjson(\.gz)?$/);
  for (const f of files) {
    const text = f.endsWith(".gz") ? Bun.gunzipSync(readFileSync(f)) : readFileSync(f);
    const rel = relative(live.ndjson, f).replace(/\.gz$/, "");
    const target = join(mixedIn, rel);
    mkdirSync(dirname(target), { recursive: true });
    if (rel.includes("symbol=BTCUSDT")) writeFileSync(`${target}.zst`, zstdCompressSync(text));
    else if (rel.includes("symbol=SANDUSDT")) writeFileSync(`${target}.gz`, gzipSync(text));
    else {
      writeFileSync(target, text);
      cutFile = target;
    }
  }
  // The last NEOUSDT file loses the second half of its last line, newline included (a crash mid-write).
  const whole = readFileSync(cutFile, "utf8");
  const lastStart = whole.lastIndexOf("\n", whole.length - 2) + 1;
  writeFileSync(cutFile, whole.slice(0, lastStart + Math.floor((whole.length - 1 - lastStart) / 2)));
  const mixedOut = join(dir, "mixed");
  mixed = { raw: join(mixedOut, "raw"), preview: join(mixedOut, "preview"), ndjson: mixedIn, artifacts: join(mixedOut, "artifacts") };
  mixedReplay = await runBinary(["replay", mixedIn, "--out", mixedOut, "--config", join(REPO, "config.toml"), ...strategyArgs()], { ARTIFACTS_DIR: mixed.artifacts, PAPER_ENABLE: "1" });
}, 120_000);

afterAll(async () => {
  await fake?.stop();
});

describe("replay of a live run's NDJSON writes the same Parquet rows", () => {
  test("both runs exit 0; replay reports no bad or truncated lines", () => {
    if (run.exitCode !== 0) console.error(run.stderr);
    expect(run.exitCode).toBe(0);
    if (replay.exitCode !== 0) console.error(replay.stderr);
    expect(replay.exitCode).toBe(0);
    expect(replay.stdout).toContain(" 0 bad lines, 0 truncated files");
  });

  test.each([...ALL_KINDS])("%s: every row and column equal", async (kind) => {
    const a = await kindRows(live, kind);
    const b = await kindRows(replayed, kind);
    expect(b.length).toBe(a.length);
    expect(b).toEqual(a);
    counts[kind] = a.length;
    expect(await treeDifference(live, replayed, kind)).toEqual({ onlyA: 0, onlyB: 0 });
  });

  test("the run produced rows of every kind it can in 12 s (the comparison is not vacuous)", async () => {
    console.log(`rows compared per kind: ${JSON.stringify(counts)}`);
    for (const kind of ["prices", "orderbook", "ofi", "cvd", "fusion", "features", "paper"] as const) {
      expect(counts[kind]).toBeGreaterThan(kind === "features" || kind === "paper" ? 10 : 100);
    }
  });

  test("both trees open in DuckDB and hyparquet; no .partial anywhere", async () => {
    expect(await unreadableParquet([live.raw, live.preview, replayed.raw, replayed.preview])).toEqual([]);
    expect(listFiles(join(live.raw, ".."), /\.partial$/)).toEqual([]);
  }, 120_000);
});

describe("replay input: .ndjson.zst, .ndjson.gz, a truncated last line", () => {
  test("reads all three, reports the cut line with its file and line number, exits 0", () => {
    if (mixedReplay.exitCode !== 0) console.error(mixedReplay.stderr);
    expect(mixedReplay.exitCode).toBe(0);
    expect(mixedReplay.stdout).toContain(" 0 bad lines, 1 truncated files");
    expect(mixedReplay.stderr).toMatch(new RegExp(`${cutFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: truncated last line skipped`));
  });

  test("the compressed logs give exactly the rows of the plain ones; the cut one loses at most its last line", async () => {
    const src = (l: Layout, kind: string) => hive(join(kind === "prices" || kind === "orderbook" ? l.raw : l.preview, "*", "*", `kind=${kind}`, "*.parquet"));
    for (const kind of ["prices", "orderbook", "cvd", "ofi"]) {
      const q = (l: Layout, where: string) => query(`SELECT * EXCLUDE (date, kind) FROM ${src(l, kind)} WHERE ${where} ORDER BY ALL`);
      expect(await q(mixed, "symbol <> 'NEOUSDT'")).toEqual(await q(replayed, "symbol <> 'NEOUSDT'"));
      const full = await q(replayed, "symbol = 'NEOUSDT'");
      const cut = await q(mixed, "symbol = 'NEOUSDT'");
      expect(cut.length).toBeGreaterThanOrEqual(full.length - 1);
      expect(full.slice(0, cut.length - 1)).toEqual(cut.slice(0, cut.length - 1));
    }
  }, 60_000);
});

describe("where replay may write (src/pipeline/replay-target.ts)", () => {
  const countRows = async (l: Layout) => Number((await query(`SELECT count(*) AS n FROM ${hive(join(l.raw, "*", "*", "kind=prices", "*.parquet"))}`))[0]!.n);

  test("a tree that already holds Parquet for those symbols and days is refused, naming them, and left as it was", async () => {
    const before = await countRows(replayed);
    const again = await runBinary(["replay", live.ndjson, "--out", join(replayed.raw, ".."), "--config", join(REPO, "config.toml")], { ARTIFACTS_DIR: replayed.artifacts });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/replay: .*raw already holds Parquet for date=\d{4}-\d\d-\d\d\/symbol=BTCUSDT, .*: replaying into it would store those rows a second time/);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(await countRows(replayed)).toBe(before);
  });

  test("a tree a collector is writing is refused with 75; --out naming a file is one line, exit 2", async () => {
    const busy = join(tempDir("replay-busy"), "tree");
    const port = freePort();
    const collector = startBinary(["run", "--config", join(REPO, "config.toml")], collectorEnv(fake, SYMBOLS, busy, port));
    try {
      await waitFor("the collector's lock", () => (existsSync(join(busy, "raw", ".harvestd.lock")) ? true : undefined), 20_000, 50);
      const r = await runBinary(["replay", live.ndjson, "--out", busy, "--config", join(REPO, "config.toml")], { ARTIFACTS_DIR: join(busy, "replay-artifacts") });
      expect({ code: r.exitCode, inUse: /in use|held by|running/.test(r.stderr) }).toEqual({ code: 75, inUse: true });
      expect(listFiles(join(busy, "raw"), /\.parquet$/).every((f) => !f.includes("replay"))).toBe(true);
    } finally {
      await collector.stop("SIGTERM");
    }
    const file = join(tempDir("replay-file"), "not-a-folder");
    writeFileSync(file, "");
    const r = await runBinary(["replay", live.ndjson, "--out", file, "--config", join(REPO, "config.toml")]);
    expect({ code: r.exitCode, stderr: r.stderr.trim() }).toEqual({ code: 2, stderr: `harvestd: replay: --out ${file} is not a folder` });
  }, 40_000);

  test("--symbols replays only those symbols, their rows equal to the whole replay's, and names one without a log", async () => {
    const out = join(tempDir("replay-some"), "tree");
    const some: Layout = { raw: join(out, "raw"), preview: join(out, "preview"), ndjson: live.ndjson, artifacts: join(out, "artifacts") };
    const r = await runBinary(["replay", live.ndjson, "--out", out, "--symbols", "sandusdt,NOSUCHUSDT", "--config", join(REPO, "config.toml"), ...strategyArgs()], { ARTIFACTS_DIR: some.artifacts, PAPER_ENABLE: "1" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("(1 symbols)");
    expect(r.stderr).toContain(`harvestd: replay: no raw log of NOSUCHUSDT under ${live.ndjson}`);
    for (const kind of ALL_KINDS) {
      const rows = await kindRows(some, kind);
      expect({ kind, symbols: [...new Set(rows.map((x) => x.symbol))] }).toEqual({ kind, symbols: rows.length === 0 ? [] : ["SANDUSDT"] });
      expect({ kind, rows }).toEqual({ kind, rows: (await kindRows(replayed, kind)).filter((x) => x.symbol === "SANDUSDT") });
    }
    // Into a tree that holds other symbols' days: only the chosen symbol's partitions must be free.
    const beside = await runBinary(["replay", live.ndjson, "--out", out, "--symbols", "NEOUSDT", "--config", join(REPO, "config.toml")], { ARTIFACTS_DIR: some.artifacts });
    expect(beside.exitCode).toBe(0);
    const none = await runBinary(["replay", live.ndjson, "--out", join(out, "other"), "--symbols", "NOSUCHUSDT", "--config", join(REPO, "config.toml")]);
    expect({ code: none.exitCode, last: none.stderr.trim().split("\n").at(-1) }).toEqual({ code: 2, last: `harvestd: replay: none of --symbols NOSUCHUSDT has a raw log under ${live.ndjson}: nothing to replay` });
  }, 90_000);

  test("a compressed log that is corrupt from its first byte is named", async () => {
    const dir = tempDir("replay-corrupt");
    const bad = join(dir, "x.ndjson.gz");
    writeFileSync(bad, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x67, 0x61, 0x72, 0x62]));
    const r = await runBinary(["replay", bad, "--out", join(dir, "out"), "--config", join(REPO, "config.toml")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^harvestd: fatal: replay: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: stopped after line 0: `));
  });
});
