/** The NDJSON sink's per-file line buffer (src/sinks/ndjson/line-bytes.ts), whose buffers come from a BufferPool and go back to it once written. */
import { describe, expect, test } from "bun:test";
import { LineBytes } from "../../src/sinks/ndjson/line-bytes.ts";
import { BufferPool } from "../../src/util/buffer-pool.ts";
import { lineBufferSize, MAX_LINE_BUFFER_BYTES } from "../../src/sinks/ndjson/line-bytes.ts";

function append(lb: LineBytes, line: string, room = line.length * 3 + 1): void {
  const b = lb.room(room);
  const n = lb.offset + b.write(line, lb.offset, "utf8");
  b[n] = 0x0a;
  lb.commit(n + 1);
}

/** What a flush hands out, as text; its buffers go back to the pool as the write loop returns them. */
function takeText(lb: LineBytes, pool: BufferPool): { text: string; lines: number; bytes: number } {
  const out = lb.take();
  const text = out.parts.map((p) => p.bytes.toString("utf8")).join("");
  for (const p of out.parts) pool.put(p.owner);
  return { text, lines: out.lines, bytes: out.bytes };
}

describe("LineBytes", () => {
  test("hands out exactly the lines appended, flush after flush, across several buffers", () => {
    const pool = new BufferPool(1 << 24);
    const lb = new LineBytes(pool);
    const seen: string[] = [];
    for (let flush = 0; flush < 5; flush++) {
      // The later flushes outgrow the buffer sized from the one before: several parts, in order.
      for (let i = 0; i < 50 * 4 ** flush; i++) append(lb, `{"flush":${flush},"i":${i},"text":"ünïcödé"}`);
      const out = takeText(lb, pool);
      expect(out.lines).toBe(50 * 4 ** flush);
      expect(out.bytes).toBe(Buffer.byteLength(out.text));
      seen.push(out.text);
    }
    const lines = seen.join("").split("\n").slice(0, -1);
    expect(lines.length).toBe(50 * (1 + 4 + 16 + 64 + 256));
    expect(JSON.parse(lines[50 + 99]!)).toEqual({ flush: 1, i: 99, text: "ünïcödé" });
    expect(JSON.parse(lines.at(-1)!)).toEqual({ flush: 4, i: 50 * 256 - 1, text: "ünïcödé" });
  });

  test("a written buffer is filled again by the next flush instead of a fresh one", () => {
    const pool = new BufferPool(1 << 24);
    const lb = new LineBytes(pool);
    append(lb, "x".repeat(300));
    const first = lb.take().parts[0]!.owner;
    pool.put(first);
    append(lb, "y".repeat(300));
    const second = lb.take();
    expect(second.parts[0]!.owner).toBe(first);
    expect(second.parts[0]!.bytes.toString()).toBe(`${"y".repeat(300)}\n`);
    expect(pool.allocated).toBe(1);
    expect(pool.reused).toBe(1);
  });

  test("sizes are powers of two from 4 KiB; above the largest, exactly what was asked", () => {
    expect(lineBufferSize(1)).toBe(4096);
    expect(lineBufferSize(4097)).toBe(8192);
    expect(lineBufferSize(MAX_LINE_BUFFER_BYTES)).toBe(MAX_LINE_BUFFER_BYTES);
    expect(lineBufferSize(MAX_LINE_BUFFER_BYTES + 1)).toBe(MAX_LINE_BUFFER_BYTES + 1);
  });

  test("one large line does not size the file's later buffers", () => {
    const pool = new BufferPool(1 << 24);
    const lb = new LineBytes(pool);
    // A REST book snapshot: ≈ 40 KB of text asks for three times that much room.
    const snapshot = `{"lastUpdateId":1,"bids":[${Array.from({ length: 1000 }, (_, i) => `["${100000 - i}.10","1.234"]`).join(",")}]}`;
    append(lb, snapshot);
    expect(takeText(lb, pool).text).toBe(`${snapshot}\n`);
    // The next flushes hold a few small lines: after one flush the file asks for small buffers again.
    append(lb, '{"e":"depthUpdate","u":2}');
    expect(takeText(lb, pool).text).toBe('{"e":"depthUpdate","u":2}\n');
    append(lb, '{"e":"depthUpdate","u":3}');
    expect(lb.capacity).toBeLessThanOrEqual(16 * 1024);
    expect(takeText(lb, pool).text).toBe('{"e":"depthUpdate","u":3}\n');
  });
});
