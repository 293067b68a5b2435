/** The NDJSON sink's per-file line buffer (src/sinks/ndjson/line-bytes.ts): what it hands out, and what it keeps. */
import { describe, expect, test } from "bun:test";
import { LineBytes } from "../../src/sinks/ndjson/line-bytes.ts";

function append(lb: LineBytes, line: string, room = line.length * 3 + 1): void {
  const b = lb.room(room);
  const n = lb.offset + b.write(line, lb.offset, "utf8");
  b[n] = 0x0a;
  lb.commit(n + 1);
}

describe("LineBytes", () => {
  test("hands out exactly the lines appended, flush after flush", () => {
    const lb = new LineBytes();
    const seen: string[] = [];
    for (let flush = 0; flush < 5; flush++) {
      for (let i = 0; i < 50 * (flush + 1); i++) append(lb, `{"flush":${flush},"i":${i},"text":"ünïcödé"}`);
      const out = lb.take();
      expect(out.lines).toBe(50 * (flush + 1));
      expect(out.bytes).toBe(out.buf.length);
      seen.push(out.buf.toString("utf8"));
    }
    const lines = seen.join("").split("\n").slice(0, -1);
    expect(lines.length).toBe(50 + 100 + 150 + 200 + 250);
    expect(JSON.parse(lines[50 + 99]!)).toEqual({ flush: 1, i: 99, text: "ünïcödé" });
  });

  test("a buffer stays for the next flush while it fits the flushes", () => {
    const lb = new LineBytes();
    append(lb, "x".repeat(300));
    lb.take();
    const kept = lb.capacity;
    expect(kept).toBeGreaterThan(0);
    append(lb, "y".repeat(300));
    const out = lb.take();
    expect(out.buf.toString()).toBe(`${"y".repeat(300)}\n`);
    expect(lb.capacity).toBe(kept);
  });

  test("one large line does not leave its buffer with the file", () => {
    const lb = new LineBytes();
    // A REST book snapshot: ≈ 40 KB of text asks for three times that much room.
    const snapshot = `{"lastUpdateId":1,"bids":[${Array.from({ length: 1000 }, (_, i) => `["${100000 - i}.10","1.234"]`).join(",")}]}`;
    append(lb, snapshot);
    const first = lb.take();
    expect(first.buf.toString()).toBe(`${snapshot}\n`);
    // The next flushes hold a few small lines: the large buffer goes at the first of them.
    append(lb, '{"e":"depthUpdate","u":2}');
    const second = lb.take();
    expect(second.buf.toString()).toBe('{"e":"depthUpdate","u":2}\n');
    append(lb, '{"e":"depthUpdate","u":3}');
    expect(lb.capacity).toBeLessThanOrEqual(16 * 1024);
    expect(lb.take().buf.toString()).toBe('{"e":"depthUpdate","u":3}\n');
  });
});
