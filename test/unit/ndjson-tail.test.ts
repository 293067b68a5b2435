/**
 * The NDJSON log never holds a cut line followed by more lines (docs/storage.md, "NDJSON raw logs").
 *
 * The walkthrough that found it: a stop on a full disk left `{"ts_recv":…,"stream":"btcus` as the
 * last bytes of the hour file; the restart in the same hour appended its `session` line after it,
 * and replay reported a bad line in the middle of the log. Now a file the sink opens to append is
 * cut back to its last whole line first (logged with the file and the bytes cut), and a stop whose
 * last write fails part-way through a line cuts its own fragment. The failing write is real: a
 * child process with a file-size limit (RLIMIT_FSIZE) gets a short write, then EFBIG, as a full
 * disk gives a short write, then ENOSPC.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { linesLostLine } from "../../src/core/raw-log.ts";
import { NdjsonSink, ndjsonRelPath } from "../../src/sinks/ndjson/ndjson-sink.ts";
import type { StorageEvent } from "../../src/sinks/storage/events-log.ts";
import { REPO, tempDir } from "../helpers/binary.ts";

const T0 = Date.UTC(2026, 11, 7, 18, 20);
const WHOLE = '{"ts_recv":1796666457000,"stream":"btcusdt@aggTrade","data":{"a":1}}\n{"ts_recv":1796666457050,"stream":"btcusdt@depth5","data":{"b":2}}\n';
const FRAGMENT = '{"ts_recv":1796666457074,"stream":"btcus';
const SESSION = `{"ts_recv":${T0},"event":"session"}`;

/** The hour file of BTCUSDT at T0 in a fresh folder, holding `text`. */
function hourFile(text: string): { dir: string; path: string } {
  const dir = tempDir("nd-tail");
  const path = join(dir, ndjsonRelPath("BTCUSDT", T0));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return { dir, path };
}

/** Opens the hour file again, as a restart within the hour does, and appends the session line. */
async function restart(dir: string): Promise<StorageEvent[]> {
  const events: StorageEvent[] = [];
  const sink = new NdjsonSink({ dir, compress: "none", sweep: false, now: () => T0, onMaintenance: (e) => events.push(e) });
  sink.append("BTCUSDT", T0, SESSION);
  await sink.close();
  return events;
}

/** Lines of `text` that are not a JSON object, as `line N: …`. */
function badLines(text: string): string[] {
  const bad: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== "object" || v === null) bad.push(`line ${i + 1}: ${line.slice(0, 60)}`);
    } catch {
      bad.push(`line ${i + 1}: ${line.slice(0, 60)}`);
    }
  });
  return bad;
}

const tailEvents = (events: readonly StorageEvent[]) => events.filter((e) => e.type === "error" && e.what.startsWith("unfinished last line"));

describe("NdjsonSink: a file opened to append that does not end with a newline", () => {
  test("the cut last line goes (truncated after the last newline), logged with the file and the bytes cut; the next run's lines follow the last whole line", async () => {
    const { dir, path } = hourFile(WHOLE + FRAGMENT);
    const events = await restart(dir);
    const text = readFileSync(path, "utf8");
    expect(text).toBe(`${WHOLE}${SESSION}\n`);
    expect(badLines(text)).toEqual([]);
    expect(tailEvents(events)).toEqual([
      {
        type: "error",
        what: `unfinished last line of ${ndjsonRelPath("BTCUSDT", T0)}`,
        error: { code: "EPARTIAL", message: `cut ${FRAGMENT.length} bytes after the last whole line (a write cut short, by a full disk or a crash)`, path },
      },
    ]);
  });

  test("a cut line longer than a read step, and a file that is nothing but a cut line", async () => {
    const long = `{"ts_recv":1796666457074,"stream":"btcusdt@depth@100ms","data":{"b":[${'["1.0","2.0"],'.repeat(20_000)}`;
    expect(long.length).toBeGreaterThan(3 * 64 * 1024);
    const a = hourFile(WHOLE + long);
    await restart(a.dir);
    expect(readFileSync(a.path, "utf8")).toBe(`${WHOLE}${SESSION}\n`);

    const b = hourFile(FRAGMENT);
    const events = await restart(b.dir);
    expect(readFileSync(b.path, "utf8")).toBe(`${SESSION}\n`);
    expect(tailEvents(events).map((e) => e.type === "error" && e.error.message)).toEqual([`cut ${FRAGMENT.length} bytes after the last whole line (a write cut short, by a full disk or a crash)`]);
  });

  test("a last line that is whole but for its newline is kept and ended, and says so", async () => {
    const last = '{"ts_recv":1796666457074,"stream":"btcusdt@aggTrade","data":{"a":3}}';
    const { dir, path } = hourFile(WHOLE + last);
    const events = await restart(dir);
    expect(readFileSync(path, "utf8")).toBe(`${WHOLE}${last}\n${SESSION}\n`);
    expect(tailEvents(events).map((e) => e.type === "error" && e.error.message)).toEqual(["ended the last line, whole but for its newline (a write cut short just before it)"]);
  });

  test("a file that ends with a newline, and every other file of the folder, are left byte for byte", async () => {
    const { dir, path } = hourFile(WHOLE);
    const folder = dirname(path);
    // A closed hour compressed with a cut last line, a backfill file, a plain closed hour: the sink
    // appends to none of them (compressed hours get more lines only as whole members, compress.ts).
    const others: Record<string, Buffer> = {
      "raw-17.ndjson.gz": gzipSync(WHOLE + FRAGMENT),
      "raw-16.ndjson": Buffer.from(WHOLE + FRAGMENT),
      "backfill-20261207T181500Z.ndjson": Buffer.from(WHOLE + FRAGMENT),
    };
    for (const [name, bytes] of Object.entries(others)) writeFileSync(join(folder, name), bytes);
    const events = await restart(dir);
    expect(readFileSync(path, "utf8")).toBe(`${WHOLE}${SESSION}\n`);
    for (const [name, bytes] of Object.entries(others)) expect(readFileSync(join(folder, name)).equals(bytes)).toBe(true);
    expect(tailEvents(events)).toEqual([]);
  });
});

describe("NdjsonSink: a stop whose last write fails part-way through a line", () => {
  const LINES = 130;
  const line = (i: number) => JSON.stringify({ ts_recv: T0 + i, stream: "btcusdt@aggTrade", data: { a: i, p: "97000.10", q: "0.005".repeat(40) } });
  /** Bytes of the first `n` lines with their newlines. */
  const bytesOf = (n: number) => Array.from({ length: n }, (_, i) => line(i).length + 1).reduce((a, b) => a + b, 0);

  /**
   * A child appends LINES lines (≈ 40 KB) under a file-size limit and stops: the only write attempts
   * are the stop's, the first cut short at `limit` bytes (mid-line), the next refused (EFBIG), and
   * the stop gives up. Returns what it reported and the file it left.
   */
  function stopUnder(limit: number, maxBufferBytes = 256 * 1024 * 1024): { dir: string; path: string; text: string; out: { events: StorageEvent[]; errors: string[]; status: { linesWritten: number; linesLost: number; linesLostUntold: number } } } {
    const dir = tempDir("nd-tail-stop");
    const path = join(dir, ndjsonRelPath("BTCUSDT", T0));
    const script = join(dir, "stop.ts");
    writeFileSync(
      script,
      `import { NdjsonSink } from ${JSON.stringify(join(REPO, "src/sinks/ndjson/ndjson-sink.ts"))};
const events = [];
const errors = [];
const sink = new NdjsonSink({ dir: ${JSON.stringify(dir)}, compress: "none", fsync: "none", sweep: false, retryMs: 60_000, now: () => ${T0}, maxBufferBytes: ${maxBufferBytes},
  onMaintenance: (e) => events.push(e), onError: (e) => errors.push(e.code) });
for (let i = 0; i < ${LINES}; i++) sink.append("BTCUSDT", ${T0}, JSON.stringify({ ts_recv: ${T0} + i, stream: "btcusdt@aggTrade", data: { a: i, p: "97000.10", q: "0.005".repeat(40) } }));
await sink.close();
console.log(JSON.stringify({ events, errors, status: sink.status() }));
`,
    );
    // No transpiler cache: the child may write no file but the log (every file is held to the limit).
    const child = Bun.spawnSync(["prlimit", `--fsize=${limit}`, process.execPath, script], { env: { ...process.env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" } });
    expect(child.stderr.toString()).toBe("");
    return { dir, path, text: readFileSync(path, "utf8"), out: JSON.parse(child.stdout.toString()) };
  }

  const noPrlimit = Bun.which("prlimit") === null;
  if (noPrlimit) console.warn("ndjson-tail: skipped, no prlimit (util-linux) to limit the child's file size");

  test.skipIf(noPrlimit)("the file is cut back to its last whole line, and a restart's lines follow it; lines lost are counted exactly", async () => {
    const limit = 10_000;
    const { dir, path, text, out } = stopUnder(limit);
    expect(out.errors).toContain("EFBIG");
    expect(text.endsWith("\n")).toBe(true);
    expect(badLines(text)).toEqual([]);
    const kept = text.split("\n").length - 1;
    expect(kept).toBeGreaterThan(0);
    expect(text).toBe(Array.from({ length: kept }, (_, i) => line(i) + "\n").join(""));
    expect(text.length).toBeLessThan(limit);
    // The whole lines the attempt did write are written, not lost (they were counted lost before).
    expect(out.status.linesWritten).toBe(kept);
    expect(out.status.linesLost).toBe(LINES - kept);
    // The `lines_lost` line did not fit in what the cut freed: its short write was undone, the file is
    // whole, and the stop counts those lines as told by no line (no written line is given up for it).
    expect(limit - text.length).toBeLessThan(200);
    expect(out.status.linesLostUntold).toBe(LINES - kept);
    expect(tailEvents(out.events).map((e) => e.type === "error" && e.error)).toEqual([
      { code: "EPARTIAL", message: `cut ${limit - text.length} bytes after the last whole line (a write cut short, by a full disk or a crash)`, path },
    ]);

    // The restart within the hour finds nothing to cut.
    const events = await restart(dir);
    const after = readFileSync(path, "utf8");
    expect(after).toBe(`${text}${SESSION}\n`);
    expect(tailEvents(events)).toEqual([]);
  }, 20_000);

  test.skipIf(noPrlimit)("when the cut leaves room, the stop says in the file how many lines it lost, which, and when they came", () => {
    // Cut short 250 bytes into line 34: the cut frees room for the `lines_lost` line.
    const kept = 34;
    const { text, out } = stopUnder(bytesOf(kept) + 250);
    // The data lines kept and the `lines_lost` line.
    expect(out.status.linesWritten).toBe(kept + 1);
    expect(out.status.linesLostUntold).toBe(0);
    expect(out.status.linesLost).toBe(LINES - kept);
    const told = linesLostLine(T0 + LINES - 1, { lines: LINES - kept, fromTs: T0 + kept, toTs: T0 + LINES - 1, streams: { "btcusdt@aggTrade": LINES - kept }, control: 0 });
    expect(text).toBe(Array.from({ length: kept }, (_, i) => line(i) + "\n").join("") + told + "\n");
  }, 20_000);

  test.skipIf(noPrlimit)("lines dropped at the bound, whose `lines_lost` line the stop could not write either, are in the stop's one line", () => {
    const kept = 34;
    const held = 100;
    // The bound holds the first `held` lines; the rest are dropped (appended as text: control lines).
    const { text, out } = stopUnder(bytesOf(kept) + 250, bytesOf(held) + 10);
    expect(out.status.linesWritten).toBe(kept + 1);
    expect(out.status.linesLost).toBe(LINES - kept);
    // Receipt times: of the unwritten lines from their text (T0 + i), of the dropped ones as appended (T0).
    const told = linesLostLine(T0 + held - 1, { lines: LINES - kept, fromTs: T0, toTs: T0 + held - 1, streams: { "btcusdt@aggTrade": held - kept }, control: LINES - held });
    expect(text).toBe(Array.from({ length: kept }, (_, i) => line(i) + "\n").join("") + told + "\n");
  }, 20_000);
});
