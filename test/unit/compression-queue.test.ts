import { describe, expect, test } from "bun:test";
import { CompressionQueue } from "../../src/sinks/ndjson/compression-queue.ts";

/** A compression that takes `ms` and records how many ran at once. */
function recorder(ms: number) {
  const log = { running: 0, most: 0, order: [] as string[] };
  const compress = async (path: string): Promise<void> => {
    log.running++;
    log.most = Math.max(log.most, log.running);
    await Bun.sleep(ms);
    log.order.push(path);
    log.running--;
    if (path.includes("fail")) throw new Error("disk gone");
  };
  return { log, compress };
}

describe("CompressionQueue", () => {
  test("an hour turn's files are compressed one at a time, in the order they closed, each once", async () => {
    const { log, compress } = recorder(5);
    const q = new CompressionQueue(compress);
    const paths = Array.from({ length: 20 }, (_, i) => `date=2026-12-05/symbol=S${i}/raw-14.ndjson`);
    for (const p of paths) q.add(p);
    q.add(paths[3]!); // already queued: not twice
    expect(q.size).toBe(20);
    await q.idle();
    expect(log.most).toBe(1);
    expect(log.order).toEqual(paths);
    expect(q.size).toBe(0);
  });

  test("whenFree settles once that path's turn has ended; a failure does not stop the queue", async () => {
    const { log, compress } = recorder(5);
    const q = new CompressionQueue(compress);
    q.add("a-fail");
    q.add("b");
    q.add("c");
    const freeB = q.whenFree("b");
    expect(freeB).toBeDefined();
    await freeB;
    expect(log.order).toEqual(["a-fail", "b"]);
    expect(q.whenFree("b")).toBeUndefined();
    await q.idle();
    expect(log.order).toEqual(["a-fail", "b", "c"]);
    // A path can be queued again after its turn (an hour reopened and closed again).
    q.add("b");
    await q.idle();
    expect(log.order).toEqual(["a-fail", "b", "c", "b"]);
  });
});
