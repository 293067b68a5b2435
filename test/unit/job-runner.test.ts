/**
 * sinks/parquet/job-runner.ts, the Parquet writer's one-job-at-a-time runner: urgent jobs before
 * background ones, background paced after a merge, a failing job reported and passed over, nothing
 * run while paused. The writer's own tests (sink-compaction's pacing, ops-health's stuck writer) run
 * it inside the worker.
 */
import { describe, expect, test } from "bun:test";
import { JobRunner } from "../../src/sinks/parquet/job-runner.ts";

function runner(paused = false) {
  const ran: string[] = [];
  const errors: unknown[] = [];
  let idle = 0;
  const r = new JobRunner({ paused, onError: (e) => errors.push(e), onIdle: () => idle++ });
  return { r, ran, errors, idle: () => idle };
}

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out");
    await Bun.sleep(2);
  }
};

describe("JobRunner", () => {
  test("urgent jobs run before background ones queued earlier, one at a time, then idle", async () => {
    const { r, ran, idle } = runner();
    r.inBackground(() => void ran.push("compact"));
    r.urgently(async () => {
      ran.push("write-1 start");
      await Bun.sleep(5);
      ran.push("write-1 end");
    });
    r.urgently(() => void ran.push("write-2"));
    await until(() => idle() > 0);
    expect(ran).toEqual(["write-1 start", "write-1 end", "write-2", "compact"]);
  });

  test("a job that throws is reported and the next one still runs", async () => {
    const { r, ran, errors, idle } = runner();
    r.urgently(() => {
      throw new Error("boom");
    });
    r.urgently(() => void ran.push("after"));
    await until(() => idle() > 0);
    expect((errors[0] as Error).message).toBe("boom");
    expect(ran).toEqual(["after"]);
  });

  test("after pauseBackground the next background job waits; writes do not", async () => {
    const { r, ran, idle } = runner();
    const t0 = performance.now();
    let bgAt = 0;
    r.pauseBackground(60);
    r.inBackground(() => {
      bgAt = performance.now() - t0;
      ran.push("compact");
    });
    r.urgently(() => void ran.push("write"));
    await until(() => ran.length === 2);
    expect(ran).toEqual(["write", "compact"]);
    expect(bgAt).toBeGreaterThanOrEqual(55);
    expect(idle()).toBeGreaterThan(0);
  });

  test("writeQueued tells a write whether another waits behind it", async () => {
    const { r, idle } = runner();
    const seen: boolean[] = [];
    r.write(() => void seen.push(r.writeQueued()));
    r.write(() => void seen.push(r.writeQueued()));
    r.urgently(() => void seen.push(r.writeQueued()));
    await until(() => idle() > 0);
    expect(seen).toEqual([true, false, false]);
  });

  test("dropBackground forgets background jobs; paused runs nothing", async () => {
    const { r, ran, idle } = runner();
    r.inBackground(() => void ran.push("compact"));
    r.dropBackground();
    r.urgently(() => void ran.push("close"));
    await until(() => idle() > 0);
    expect(ran).toEqual(["close"]);
    const p = runner(true);
    p.r.urgently(() => void p.ran.push("write"));
    await Bun.sleep(30);
    expect(p.ran).toEqual([]);
  });
});
