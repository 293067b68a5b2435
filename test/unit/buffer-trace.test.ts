/** The buffer trace (src/util/buffer-trace.ts): bytes counted against the code that made them, and off again once collected. */
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BufferTrace, traceBuffersFromEnv } from "../../src/util/buffer-trace.ts";
import { tempDir } from "../helpers/binary.ts";

const OriginalFloat64Array = Float64Array;
const originalAllocUnsafe = Buffer.allocUnsafe;
let trace: BufferTrace | null = null;
afterEach(() => {
  trace?.stop();
  trace = null;
});

const kept: unknown[] = [];
function keepsLargeRings(): void {
  for (let i = 0; i < 10; i++) kept.push(new Float64Array(8192));
}
function makesGarbage(): void {
  for (let i = 0; i < 50; i++) Buffer.allocUnsafe(64 * 1024).fill(1);
}
function makesSmallAndViews(): void {
  const big = new ArrayBuffer(1 << 20);
  kept.push(new Float64Array(16), new Float64Array(big), new Uint8Array(big, 1024), Buffer.from(big));
}

test("live bytes are counted against the function that made them, and off again once collected", async () => {
  trace = new BufferTrace();
  keepsLargeRings();
  makesGarbage();
  makesSmallAndViews();
  for (let i = 0; i < 5; i++) {
    Bun.gc(true);
    await Bun.sleep(20);
  }
  const top = trace.top();
  const rings = top.find((s) => s.site.includes("keepsLargeRings"));
  expect(rings).toBeDefined();
  expect(rings!.liveBytes).toBe(10 * 8192 * 8);
  expect(rings!.live).toBe(10);
  const garbage = top.find((s) => s.site.includes("makesGarbage"));
  expect(garbage!.made).toBe(50);
  expect(garbage!.madeBytes).toBe(50 * 64 * 1024);
  // Collected (most of it, at least: a conservative scan may keep one or two alive).
  expect(garbage!.liveBytes).toBeLessThanOrEqual(2 * 64 * 1024);
  // Small arrays and views of existing memory own nothing new: not counted.
  expect(top.some((s) => s.site.includes("makesSmallAndViews"))).toBe(false);
  // The largest holder comes first; by bytes made, the garbage maker does.
  expect(top[0]!.site).toContain("keepsLargeRings");
  expect(trace.top(1, "madeBytes")[0]!.site).toContain("makesGarbage");
});

test("stop puts the original constructors back", () => {
  trace = new BufferTrace();
  expect(Float64Array).not.toBe(OriginalFloat64Array);
  trace.stop();
  expect(Float64Array).toBe(OriginalFloat64Array);
  expect(Buffer.allocUnsafe).toBe(originalAllocUnsafe);
});

test("HARVESTD_BUFFER_TRACE writes a line per report, naming the thread", async () => {
  const file = join(tempDir("buffer-trace"), "trace.ndjson");
  process.env.HARVESTD_BUFFER_TRACE = file;
  try {
    const stop = traceBuffersFromEnv("ingest", 100)!;
    keepsLargeRings();
    await Bun.sleep(800);
    stop();
    expect(Float64Array).toBe(OriginalFloat64Array);
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0].thread).toBe("ingest");
    expect(lines[0].extra_bytes).toBeGreaterThan(0);
    expect(lines[0].sites.some((s: { site: string; liveBytes: number }) => s.site.includes("keepsLargeRings") && s.liveBytes === 10 * 8192 * 8)).toBe(true);
    expect(lines[0].most_made.some((s: { site: string; madeBytes: number }) => s.site.includes("keepsLargeRings") && s.madeBytes === 10 * 8192 * 8)).toBe(true);
  } finally {
    delete process.env.HARVESTD_BUFFER_TRACE;
  }
  expect(traceBuffersFromEnv("ingest")).toBeNull();
});
