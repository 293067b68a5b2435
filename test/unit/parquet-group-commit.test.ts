/**
 * Group commit of Parquet parts (src/sinks/parquet/files.ts commitFiles): every part lands under its
 * final name with its exact bytes, no `.partial` is left, a part that cannot be written is reported
 * alone while the others are committed, and the file system is synced twice for the whole group
 * (syncfs, seen with strace) instead of twice per file.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commitFiles, FileOpError } from "../../src/sinks/parquet/files.ts";
import { REPO, tempDir } from "../helpers/binary.ts";

describe("commitFiles", () => {
  test("every part committed with its bytes, a failing one reported alone, no partial left", () => {
    const root = tempDir("group");
    writeFileSync(join(root, "blocked"), "a file where a folder should be");
    let seq = 0;
    const items = Array.from({ length: 6 }, (_, i) => ({
      dir: i === 3 ? join(root, "blocked", "sub") : join(root, `d${i % 2}`),
      bytes: new Uint8Array([i, i + 1, i + 2]),
      nextName: () => `part-${++seq}.parquet`,
    }));
    const out = commitFiles(root, items);
    expect(out[3]).toBeInstanceOf(FileOpError);
    for (const [i, r] of out.entries()) {
      if (i === 3) continue;
      expect(typeof r).toBe("string");
      expect([...readFileSync(r as string)]).toEqual([i, i + 1, i + 2]);
    }
    for (const d of ["d0", "d1"]) expect(readdirSync(join(root, d)).some((n) => n.endsWith(".partial"))).toBe(false);
  });

  test("two syncfs calls for a group of 20 parts, no fsync per file (strace)", () => {
    if (Bun.which("strace") === null || process.platform !== "linux") {
      console.warn("strace not available: syscall check skipped");
      return;
    }
    const dir = tempDir("group");
    mkdirSync(join(dir, "out"));
    const script = join(dir, "run.ts");
    writeFileSync(
      script,
      `import { commitFiles } from ${JSON.stringify(join(REPO, "src/sinks/parquet/files.ts"))};
let n = 0;
const items = Array.from({ length: 20 }, (_, i) => ({ dir: ${JSON.stringify(join(dir, "out"))} + "/p" + i, bytes: new Uint8Array(100), nextName: () => "part-" + ++n + ".parquet" }));
const out = commitFiles(${JSON.stringify(join(dir, "out"))}, items);
if (out.some((r) => typeof r !== "string")) process.exit(3);`,
    );
    const trace = join(dir, "trace");
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=syncfs,fsync,fdatasync", "-o", trace, process.execPath, script]);
    expect(r.exitCode).toBe(0);
    const calls = readFileSync(trace, "utf8").split("\n").filter((l) => /(syncfs|fsync|fdatasync)\(/.test(l) && !/resumed/.test(l));
    expect(calls.filter((l) => l.includes("syncfs(")).length).toBe(2);
    expect(calls.filter((l) => /\bf(data)?sync\(/.test(l)).length).toBe(0);
    expect(existsSync(join(dir, "out", "p19", "part-20.parquet"))).toBe(true);
  }, 30_000);
});
