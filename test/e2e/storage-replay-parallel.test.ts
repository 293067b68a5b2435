/**
 * Parallel replay (issue 7): the compiled binary replays a multi-symbol raw-log tree with
 * `--threads 2` (symbols split over two Worker threads, each with its own Parquet sink) and with
 * `--threads 1` (one thread, as before). The two outputs must be the same files with the same rows
 * in the same order (DuckDB reads every file with its row numbers), the same compaction, and the
 * same summary. The tree is built from real recordings (five symbols of three sizes) and holds what
 * replay treats specially: a restart (`session` line) in the middle of each symbol's input, so an
 * hour gets two parts that compaction merges; two hours per symbol; a gzipped hour; and, for
 * KSMUSDT, an earlier hour in a loose file outside `symbol=` folders (its symbol is sniffed and its
 * input does not follow on from its folder's in the reading order). Paper trading is on, so a
 * symbol's input ending at a different place would show as different `paper` rows.
 * Also: bad lines and a file that cannot be decompressed are reported the same way, naming file
 * and line, whichever thread meets them.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { dataLine, sessionLine } from "../../src/core/raw-log.ts";
import { ALL_KINDS, RAW_KINDS, SCHEMAS, type RowKind } from "../../src/core/rows.ts";
import { makeTrack, renderItem } from "../fake-exchange/replay.ts";
import { recordingScripts } from "../fake-exchange/script.ts";
import { ensureBinary, REPO, runBinary, tempDir, type RunResult } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { strategyArgs } from "../helpers/strategy-sets.ts";

const T0 = Date.UTC(2026, 2, 2, 10, 57, 0);
/** Symbol, recording, minutes of input from T0 (loops of the recording, ids continued). */
const INPUT = [
  ["BTCUSDT", "hftbacktest-2024-08-08", 9],
  ["ETHUSDT", "hftbacktest-2024-08-08", 9],
  ["SANDUSDT", "cryptofeed-2021-04-05", 8],
  ["NEOUSDT", "cryptofeed-2021-04-05", 8],
  ["KSMUSDT", "cryptofeed-2021-04-17", 8],
] as const;
/** KSMUSDT starts this much earlier, at 09:58: its hour 09 goes to a loose file. */
const KSM_EARLY_MS = 59 * 60_000;

/** Writes the raw-log tree; returns its folder. */
function writeTree(dir: string): string {
  const root = join(dir, "ndjson");
  for (const [symbol, recording, minutes] of INPUT) {
    const script = recordingScripts(recording).get(symbol)!;
    const start = symbol === "KSMUSDT" ? T0 - KSM_EARLY_MS : T0;
    const end = T0 + minutes * 60_000;
    const track = makeTrack(symbol, script, 0, 0);
    const byFile = new Map<string, string[]>();
    const put = (ts: number, line: string) => {
      const iso = new Date(ts).toISOString();
      const file =
        symbol === "KSMUSDT" && ts < Date.UTC(2026, 2, 2, 10)
          ? join(root, "loose", "ksm-early.ndjson")
          : join(root, `date=${iso.slice(0, 10)}`, `symbol=${symbol}`, `raw-${iso.slice(11, 13)}.ndjson`);
      let lines = byFile.get(file);
      if (lines === undefined) byFile.set(file, (lines = []));
      lines.push(line);
    };
    put(start, sessionLine(start, "test"));
    // A restart half way through: the engine and paper trader start again, the sink flushes.
    const restartAt = start + Math.floor((end - start) / 2);
    let restarted = false;
    for (let loop = 0; ; loop++) {
      const base = start + loop * script.period;
      if (base >= end) break;
      for (const item of script.items) {
        const E = base + item.t;
        if (E >= end) break;
        const recv = E + 3;
        if (!restarted && recv >= restartAt) {
          put(recv, sessionLine(recv, "test"));
          restarted = true;
        }
        const f = renderItem(track, item, loop, E, E - item.lag);
        put(recv, dataLine(recv, f.stream, 3, 0.01, f.data));
      }
    }
    for (const [file, lines] of byFile) {
      mkdirSync(dirname(file), { recursive: true });
      const text = lines.join("\n") + "\n";
      if (symbol === "ETHUSDT" && file.endsWith("raw-10.ndjson")) writeFileSync(`${file}.gz`, gzipSync(text));
      else writeFileSync(file, text);
    }
  }
  return root;
}

const replay = (input: string, out: string, threads: number): Promise<RunResult> =>
  // The strategy set to trade often (its defaults trade a few times a day), so paper rows are compared too.
  runBinary(["replay", input, "--out", out, "--config", join(REPO, "config.toml"), ...strategyArgs(), "--threads", String(threads)], {
    ARTIFACTS_DIR: join(out, "artifacts"),
    PAPER_ENABLE: "1",
  });

/**
 * Every row of `kind` in file order: the file (partition folder and the first `ts_ms` its name
 * carries; the sequence number and run tag in names differ from run to run), its row number, then
 * every schema column. Timestamps as epoch ms, so values compare exactly.
 */
async function rowsInFileOrder(out: string, kind: RowKind): Promise<Record<string, unknown>[]> {
  const root = join(out, (RAW_KINDS as readonly string[]).includes(kind) ? "raw" : "preview");
  if (listFiles(root, new RegExp(`kind=${kind}/[^/]*\\.parquet$`)).length === 0) return [];
  const cols = SCHEMAS[kind].map((d) => (d.type === "ts" ? `epoch_ms("${d.name}") AS "${d.name}"` : `"${d.name}"`));
  const glob = join(root, "*", "*", `kind=${kind}`, "*.parquet").replace(/'/g, "''");
  const rows = await query(
    `SELECT regexp_replace(filename, '-[0-9]+-[0-9a-z]+\\.parquet$', '') AS file, file_row_number, ${cols.join(", ")} ` +
      `FROM read_parquet('${glob}', filename = true, file_row_number = true, hive_partitioning = false) ORDER BY file, file_row_number`,
  );
  for (const r of rows) r.file = relative(root, r.file as string);
  return rows;
}

/** The summary line without its timing (`in 1.23 s (45678 lines/s…)`). */
const summaryOf = (stdout: string) => stdout.replace(/ in [\d.]+ s \([^)]*\)/, "").replace(/out-\d/g, "out");
/** stderr lines in a fixed order: workers report concurrently. */
const stderrLines = (r: RunResult) => r.stderr.split("\n").filter(Boolean).sort();

describe("replay with --threads 2 writes exactly what one thread writes", () => {
  let dir = "";
  let one: RunResult;
  let two: RunResult;
  const counts: Record<string, number> = {};

  beforeAll(async () => {
    dir = tempDir("replay-parallel");
    const input = writeTree(dir);
    two = await replay(input, join(dir, "out-2"), 2);
    one = await replay(input, join(dir, "out-1"), 1);
  }, 120_000);

  test("both exit 0, with the same summary; two threads were used", () => {
    if (one.exitCode !== 0 || two.exitCode !== 0) console.error(one.stderr, two.stderr);
    expect(two.exitCode).toBe(0);
    expect(one.exitCode).toBe(0);
    expect(two.stdout).toContain(", 2 threads)");
    expect(one.stdout).not.toContain("threads");
    expect(summaryOf(two.stdout)).toBe(summaryOf(one.stdout));
    expect(one.stdout).toContain("(5 symbols)");
    expect(one.stdout).toContain(" 0 bad lines, 0 truncated files");
    // Each restart left a second part in its hour: compaction had work, and did the same in both.
    const merged = /\((\d+) merged into (\d+) by compaction\)/.exec(one.stdout);
    expect(Number(merged?.[1])).toBeGreaterThan(0);
    expect(stderrLines(two)).toEqual(stderrLines(one));
  });

  test.each([...ALL_KINDS])("%s: the same files, rows and columns, in the same order", async (kind) => {
    const a = await rowsInFileOrder(join(dir, "out-1"), kind);
    const b = await rowsInFileOrder(join(dir, "out-2"), kind);
    counts[kind] = a.length;
    expect(b.length).toBe(a.length);
    expect(b).toEqual(a);
  }, 60_000);

  test("every symbol has rows of every kind it can, and each hour is one file (the comparison is not vacuous)", async () => {
    console.log(`rows compared per kind: ${JSON.stringify(counts)}`);
    for (const kind of ["prices", "orderbook", "ofi", "cvd", "fusion", "features", "paper"] as const) expect(counts[kind]).toBeGreaterThan(10);
    const out = join(dir, "out-2");
    const [r] = await query(
      `SELECT count(DISTINCT symbol) AS symbols, count(DISTINCT filename) AS files, count(DISTINCT (symbol, date_trunc('hour', ts_ms))) AS hours ` +
        `FROM read_parquet('${join(out, "raw", "*", "*", "kind=prices", "*.parquet")}', filename = true, hive_partitioning = true)`,
    );
    expect(Number(r!.symbols)).toBe(5);
    // BTC, ETH, SAND, NEO: hours 10 and 11; KSM: 09, 10 and 11.
    expect(Number(r!.hours)).toBe(11);
    expect(Number(r!.files)).toBe(11);
  }, 60_000);
});

describe("problems are reported the same way by the parallel path", () => {
  let dir = "";
  let input = "";
  let badFile = "";
  let cutFile = "";

  beforeAll(() => {
    dir = tempDir("replay-parallel-bad");
    input = writeTree(dir);
    const files = listFiles(input, /\.ndjson$/);
    // Line 5 of NEOUSDT's first hour is broken mid-file (corruption: reported, skipped)...
    badFile = files.find((f) => f.includes("symbol=NEOUSDT") && f.endsWith("raw-10.ndjson"))!;
    const lines = readFileSync(badFile, "utf8").split("\n");
    lines[4] = lines[4]!.slice(0, 40);
    writeFileSync(badFile, lines.join("\n"));
    // ...and SANDUSDT's last hour loses half of its last line (a crash mid-write).
    cutFile = files.find((f) => f.includes("symbol=SANDUSDT") && f.endsWith("raw-11.ndjson"))!;
    const text = readFileSync(cutFile, "utf8");
    const lastStart = text.lastIndexOf("\n", text.length - 2) + 1;
    writeFileSync(cutFile, text.slice(0, lastStart + 30));
  });

  test("a bad line and a truncated line: named with file and line, counted, exit 0, as with one thread", async () => {
    const two = await replay(input, join(dir, "out-2"), 2);
    const one = await replay(input, join(dir, "out-1"), 1);
    if (two.exitCode !== 0) console.error(two.stderr);
    expect(two.exitCode).toBe(0);
    expect(two.stdout).toContain(", 2 threads)");
    expect(two.stdout).toContain(" 1 bad lines, 1 truncated files");
    expect(two.stderr).toContain(`harvestd: replay: ${badFile}:5: not valid JSON\n`);
    expect(two.stderr).toMatch(new RegExp(`harvestd: replay: ${cutFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: truncated last line skipped`));
    expect(stderrLines(two)).toEqual(stderrLines(one));
    expect(summaryOf(two.stdout)).toBe(summaryOf(one.stdout));
  }, 120_000);

  test("a file that cannot be decompressed: one fatal line naming it, exit 1, as with one thread", async () => {
    const broken = join(input, "date=2026-03-02", "symbol=NEOUSDT", "raw-12.ndjson.gz");
    writeFileSync(broken, "this is not gzip\n");
    try {
      const two = await replay(input, join(dir, "out-fatal-2"), 2);
      const one = await replay(input, join(dir, "out-fatal-1"), 1);
      expect(two.exitCode).toBe(1);
      expect(one.exitCode).toBe(1);
      const fatal = (r: RunResult) => r.stderr.split("\n").filter((l) => l.startsWith("harvestd: fatal:"));
      expect(fatal(two)).toEqual([`harvestd: fatal: replay: ${broken}: stopped after line 0: incorrect header check`]);
      expect(fatal(one)).toEqual(fatal(two));
    } finally {
      Bun.spawnSync(["rm", "-f", broken]);
    }
  }, 120_000);

  test("an output folder that cannot be created: one line, exit 1; partitions that cannot be: the rows are reported dropped and replay exits 1, never waits for room forever", async () => {
    // A file where the output's parent folder should be: refused before anything is read.
    writeFileSync(join(dir, "a-file"), "");
    const refused = await runBinary(["replay", input, "--out", join(dir, "a-file", "out"), "--config", join(REPO, "config.toml")]);
    expect({ code: refused.exitCode, stderr: refused.stderr.trim() }).toEqual({ code: 1, stderr: `harvestd: replay: cannot create ${join(dir, "a-file", "out", "raw")}: ENOTDIR` });
    // Files where the day's folders should be: every write fails (ENOTDIR, root or not).
    const out = join(dir, "blocked-out");
    for (const root of ["raw", "preview"]) {
      mkdirSync(join(out, root), { recursive: true });
      writeFileSync(join(out, root, `date=${new Date(T0).toISOString().slice(0, 10)}`), "");
    }
    const results: Record<number, { exitCode: number | null; signal: unknown; stderr: string }> = {};
    for (const threads of [2, 1]) {
      // With a 1 MiB bound, the writes held after the first symbols' failures fill the room long
      // before the input ends: replay must not wait for room that failing writes never free.
      const proc = Bun.spawn([ensureBinary(), "replay", input, "--out", out, "--config", join(REPO, "config.toml"), "--set", "storage.max_buffer_mb=1", "--threads", String(threads)], {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
        stdout: "ignore",
        stderr: "pipe",
        timeout: 90_000,
      });
      const [stderr] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      results[threads] = { exitCode: proc.exitCode, signal: proc.signalCode, stderr };
    }
    for (const r of Object.values(results)) {
      expect({ exitCode: r.exitCode, signal: r.signal }).toEqual({ exitCode: 1, signal: null });
      expect(r.stderr).toMatch(/harvestd: replay: parquet write failed, \d+ rows dropped: cannot create .*blocked-out\/raw\/.*ENOTDIR/);
    }
    // The same rows are given up, kind by kind and symbol by symbol.
    const dropped = (r: { stderr: string }) => r.stderr.split("\n").filter((l) => l.includes("rows dropped")).sort();
    expect(dropped(results[2]!)).toEqual(dropped(results[1]!));
  }, 240_000);

  test("--threads must be a whole number from 1: exit 2", async () => {
    for (const bad of ["0", "two", "1.5", ""]) {
      const r = await runBinary(["replay", input, `--threads=${bad}`]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain("--threads must be a whole number");
    }
  }, 120_000);
});
