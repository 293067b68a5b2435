/**
 * Parallel replay's main-thread side (src/pipeline/replay-parallel.ts): how symbols are split over
 * workers, and that a worker which crashes, exits early or cannot start ends the replay with one
 * clear error instead of a hang. Real Worker threads run small scripts standing in for
 * replay-worker.ts; the real worker is exercised end to end by test/e2e/storage-replay-parallel.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigSchema } from "../../src/config/schema.ts";
import { replayInWorkers, splitBySymbol } from "../../src/pipeline/replay-parallel.ts";
import type { PlannedFile } from "../../src/pipeline/replay-files.ts";
import type { ReplayEvents } from "../../src/pipeline/replay-share.ts";
import { tempDir } from "../helpers/binary.ts";

const file = (symbol: string, path: string, startsRun = true): PlannedFile => ({ path, symbol, order: path, startsRun });

describe("splitBySymbol", () => {
  test("whole symbols, largest first to the least loaded share; each share keeps the input order", () => {
    const files = [
      file("AAA", "a1"),
      file("AAA", "a2", false),
      file("BBB", "b1"),
      file("CCC", "c1"),
      file("DDD", "d1"),
      file("AAA", "a3"),
    ];
    const size: Record<string, number> = { a1: 4, a2: 4, a3: 2, b1: 7, c1: 5, d1: 4 };
    // AAA 10 → share 0; BBB 7 → 1; CCC 5 → 1 (7 < 10); DDD 4 → 0 (10 < 12).
    const shares = splitBySymbol(files, 2, (p) => size[p]!);
    expect(shares.map((s) => s.map((f) => f.path))).toEqual([
      ["a1", "a2", "d1", "a3"],
      ["b1", "c1"],
    ]);
  });

  test("never more shares than symbols, never fewer than one", () => {
    const files = [file("AAA", "a1"), file("BBB", "b1")];
    expect(splitBySymbol(files, 8, () => 1)).toHaveLength(2);
    expect(splitBySymbol(files, 1, () => 1)).toEqual([files]);
    expect(splitBySymbol([], 4, () => 1)).toEqual([]);
  });
});

describe("replayInWorkers: a worker that fails ends the replay with one line, never a hang", () => {
  const dir = tempDir("replay-parallel-unit");
  const cfg = ConfigSchema.parse({});
  const target = { outputDir: join(dir, "raw"), previewDir: join(dir, "preview"), roomBytes: 1 << 20 };
  const shares = [[file("AAAUSDT", "a")], [file("BBBUSDT", "b")]];
  const events = (): ReplayEvents & { warnings: string[] } => {
    const warnings: string[] = [];
    return { warnings, warn: (m) => warnings.push(m), sinkError: () => {}, maintenance: () => {} };
  };
  /** The replay promise, or a rejection saying it hung (generous: the box is shared). */
  const settled = <T>(p: Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("still pending after 30 s: a hang")), 30_000);
    });
    return Promise.race([p, hang]).finally(() => clearTimeout(timer));
  };
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `declare var self: Worker;\n${body}\n`);
    return p;
  };
  /** Replies like replay-worker.ts: a warning, input done, then a result naming its symbol's file count. */
  const GOOD = `
    const result = (files: { symbol: string }[]) => ({
      summary: { files: files.length, lines: 10, applied: 9, badLines: 1, truncatedFiles: ["t"], symbols: 1, elapsedMs: 5 },
      totals: { rowsWritten: 20, filesWritten: 2, filesCompacted: 2, compactions: 1, rowsLost: 0 },
    });`;

  test("results of every worker are summed; warnings reach the main thread", async () => {
    const ok = script(
      "ok.ts",
      `${GOOD}
      self.onmessage = (ev: MessageEvent) => {
        self.postMessage({ type: "warn", message: "from " + ev.data.files[0].symbol });
        self.postMessage({ type: "input-done" });
        self.postMessage({ type: "done", result: result(ev.data.files) });
        self.onmessage = null;
      };`,
    );
    const ev = events();
    const r = await settled(replayInWorkers(cfg, shares, target, ev, ok));
    expect(r.summary).toMatchObject({ files: 2, lines: 20, applied: 18, badLines: 2, truncatedFiles: ["t", "t"], symbols: 2 });
    expect(r.totals).toEqual({ rowsWritten: 40, filesWritten: 4, filesCompacted: 4, compactions: 2, rowsLost: 0 });
    expect(ev.warnings.sort()).toEqual(["from AAAUSDT", "from BBBUSDT"]);
  }, 60_000);

  test("the error a worker's replay ended with is the error of the whole replay", async () => {
    const failing = script("failing.ts", `self.onmessage = () => { self.postMessage({ type: "failed", message: "replay: x.ndjson: stopped after line 3: boom" }); self.onmessage = null; };`);
    await expect(settled(replayInWorkers(cfg, shares, target, events(), failing))).rejects.toThrow(/^replay: x\.ndjson: stopped after line 3: boom$/);
  }, 60_000);

  test("an exception thrown in a worker: named with the worker's symbols", async () => {
    const throwing = script("throwing.ts", `self.onmessage = (ev: MessageEvent) => { if (ev.data.files[0].symbol === "BBBUSDT") throw new Error("kaboom"); };`);
    // The AAAUSDT worker never answers: the crash of the other must still end the replay.
    await expect(settled(replayInWorkers(cfg, shares, target, events(), throwing))).rejects.toThrow(/^replay: the replay worker for BBBUSDT failed: kaboom \(at .*throwing\.ts:2:\d+\)\)$/);
  }, 60_000);

  test("a worker that exits without a result", async () => {
    const exiting = script(
      "exiting.ts",
      `${GOOD}
      self.onmessage = (ev: MessageEvent) => {
        if (ev.data.files[0].symbol === "AAAUSDT") process.exit(3);
        self.postMessage({ type: "done", result: result(ev.data.files) });
        self.onmessage = null;
      };`,
    );
    await expect(settled(replayInWorkers(cfg, shares, target, events(), exiting))).rejects.toThrow(/^replay: the replay worker for AAAUSDT exited before finishing \(exit code 3\)$/);
  }, 60_000);

  test("a worker script that does not load", async () => {
    const broken = script("broken.ts", `this is not TypeScript at all (`);
    await expect(settled(replayInWorkers(cfg, shares, target, events(), broken))).rejects.toThrow(/^replay: the replay worker for (AAAUSDT|BBBUSDT) failed: [^\n]+$/);
    await expect(settled(replayInWorkers(cfg, shares, target, events(), join(dir, "missing.ts")))).rejects.toThrow(/^replay: the replay worker for (AAAUSDT|BBBUSDT) failed: [^\n]+$/);
  }, 60_000);
});
