/**
 * What a run-log line costs the thread that logs it (the ingest thread), three ways:
 *   sync    appendFileSync per line (what harvestd did before)
 *   async   RunLogFile: a string push, batched appends on libuv's thread pool (what it does now)
 *   worker  postMessage to a Worker that appends synchronously there
 * For each: calling-thread ns per line (mean, p99 of 1000-line slices), and the time until every line
 * is on disk. `bun bench/run-log.ts [--quick]`.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunLogFile } from "../src/util/run-log-file.ts";
import { QUICK, header, printTable, quantiles, writeResult } from "./lib/report.ts";

const LINES = QUICK ? 20_000 : 200_000;
const SLICE = 1000;
const line = (i: number) => JSON.stringify({ ts: new Date().toISOString(), level: "warn", msg: "frame rejected", conn: "market-0#1", reason: `not JSON: ${i}` });

interface Variant {
  readonly name: string;
  setup(dir: string): Promise<{ log(text: string): void; done(): Promise<void> }>;
}

const variants: Variant[] = [
  {
    name: "sync",
    async setup(dir) {
      const p = join(dir, "sync.jsonl");
      return { log: (t) => appendFileSync(p, t + "\n"), done: async () => {} };
    },
  },
  {
    name: "async",
    async setup(dir) {
      const f = new RunLogFile({ dir: join(dir, "async"), keepDays: 0 });
      return { log: (t) => f.append(t), done: () => f.close() };
    },
  },
  {
    name: "worker",
    async setup(dir) {
      const code = `const { appendFileSync } = require("node:fs"); onmessage = (e) => { if (e.data === null) { postMessage("done"); return; } appendFileSync(${JSON.stringify(join(dir, "worker.jsonl"))}, e.data + "\\n"); };`;
      const w = new Worker(URL.createObjectURL(new Blob([code], { type: "application/javascript" })));
      return {
        log: (t) => w.postMessage(t),
        done: () =>
          new Promise<void>((resolve) => {
            w.onmessage = () => {
              w.terminate();
              resolve();
            };
            w.postMessage(null);
          }),
      };
    },
  },
];

const start = header("run-log", `${LINES} log lines per variant`);
const rows: Record<string, unknown>[] = [];
for (const v of variants) {
  const dir = mkdtempSync(join(tmpdir(), "harvestd-bench-runlog-"));
  const sink = await v.setup(dir);
  const texts = Array.from({ length: LINES }, (_, i) => line(i));
  const slices: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < LINES; i += SLICE) {
    const s0 = performance.now();
    for (let j = i; j < i + SLICE; j++) sink.log(texts[j]!);
    slices.push(((performance.now() - s0) * 1e6) / SLICE);
    // Let timers and the pool run between slices, as the event loop does between frames.
    if ((i / SLICE) % 10 === 9) await Bun.sleep(0);
  }
  const callMs = performance.now() - t0;
  await sink.done();
  const allMs = performance.now() - t0;
  const q = quantiles(slices, 0);
  let written = 0;
  for (const f of ["sync.jsonl", "worker.jsonl"]) {
    try {
      written += readFileSync(join(dir, f), "utf8").split("\n").length - 1;
    } catch {}
  }
  if (v.name === "async") {
    const { readdirSync } = await import("node:fs");
    for (const f of readdirSync(join(dir, "async"))) written += readFileSync(join(dir, "async", f), "utf8").split("\n").length - 1;
  }
  rows.push({ variant: v.name, caller_ns_per_line: Math.round((callMs * 1e6) / LINES), p99_slice_ns_per_line: q.p99, max_slice_ns_per_line: q.max, all_on_disk_ms: Math.round(allMs), lines_written: written });
  rmSync(dir, { recursive: true, force: true });
}
printTable(rows);
writeResult("run-log", start, { lines: LINES, rows });
