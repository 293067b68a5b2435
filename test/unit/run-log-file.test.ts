/**
 * Run-log files: appended off the calling thread, rotated by size and by UTC day, closed files
 * gzip'd (readable by zcat), old files deleted, and the buffer written at process exit.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { RunLogFile } from "../../src/util/run-log-file.ts";
import { tempDir } from "../helpers/binary.ts";

/** Every line of every run-log file in `dir`, oldest file first (names sort by time). */
function allLines(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    if (!n.startsWith("harvestd-")) continue;
    const buf = readFileSync(join(dir, n));
    const text = n.endsWith(".gz") ? gunzipSync(buf).toString("utf8") : buf.toString("utf8");
    out.push(...text.split("\n").filter((l) => l.length > 0));
  }
  return out;
}

describe("RunLogFile", () => {
  test("append does not write on the calling thread; flush hands the lines over in order", async () => {
    const dir = tempDir("runlog");
    const f = new RunLogFile({ dir });
    for (let i = 0; i < 100; i++) f.append(`{"i":${i}}`);
    expect(readdirSync(dir)).toEqual([]);
    await f.flush();
    expect(allLines(dir)).toEqual(Array.from({ length: 100 }, (_, i) => `{"i":${i}}`));
    await f.close();
  });

  test("rotates by size: every file stays under the limit, closed ones are gzip'd, no line lost or repeated", async () => {
    const dir = tempDir("runlog");
    const f = new RunLogFile({ dir, maxFileBytes: 4096 });
    const lines = Array.from({ length: 600 }, (_, i) => `{"i":${i},"pad":"${"x".repeat(40)}"}`);
    for (let i = 0; i < lines.length; i++) {
      f.append(lines[i]!);
      if (i % 50 === 49) await f.flush();
    }
    await f.close();
    const names = readdirSync(dir).sort();
    const gz = names.filter((n) => n.endsWith(".jsonl.gz"));
    const plain = names.filter((n) => n.endsWith(".jsonl"));
    expect(gz.length).toBeGreaterThanOrEqual(5);
    expect(plain.length).toBe(1);
    expect(names.some((n) => n.endsWith(".partial"))).toBe(false);
    for (const n of gz) expect(gunzipSync(readFileSync(join(dir, n))).length).toBeLessThanOrEqual(4096);
    expect(allLines(dir)).toEqual(lines);
    // zcat reads them.
    const z = Bun.spawnSync(["zcat", join(dir, gz[0]!)]);
    expect(z.exitCode).toBe(0);
    expect(z.stdout.toString().startsWith('{"i":0,')).toBe(true);
  });

  test("rotates on a new UTC day and deletes files older than keepDays", async () => {
    const dir = tempDir("runlog");
    mkdirSync(dir, { recursive: true });
    const old = join(dir, "harvestd-2020-01-01T00-00-00-000Z.jsonl.gz");
    writeFileSync(old, "");
    utimesSync(old, new Date("2020-01-01"), new Date("2020-01-01"));
    const other = join(dir, "notes.txt");
    writeFileSync(other, "keep");
    utimesSync(other, new Date("2020-01-01"), new Date("2020-01-01"));
    let now = Date.parse("2026-03-01T23:59:59Z");
    const f = new RunLogFile({ dir, keepDays: 7, now: () => now });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(other)).toBe(true);
    f.append("a");
    await f.flush();
    now = Date.parse("2026-03-02T00:00:01Z");
    f.append("b");
    await f.flush();
    await f.close();
    const names = readdirSync(dir).filter((n) => n.startsWith("harvestd-")).sort();
    expect(names).toEqual(["harvestd-2026-03-01T23-59-59-000Z.jsonl.gz", "harvestd-2026-03-02T00-00-01-000Z.jsonl"]);
    expect(allLines(dir)).toEqual(["a", "b"]);
  });

  test("flushSync writes what is buffered at once (process exit)", () => {
    const dir = tempDir("runlog");
    const f = new RunLogFile({ dir });
    f.append("last words");
    f.flushSync();
    expect(allLines(dir)).toEqual(["last words"]);
  });
});
