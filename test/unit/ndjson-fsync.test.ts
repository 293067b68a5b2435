/**
 * storage.ndjson_fsync: "always" syncs after every write, "interval" once per period for files written
 * since their last sync (idle files are not synced again), "none" never; every synced mode syncs a file
 * before closing it. Counted by the sink, and the system calls themselves seen with strace.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NdjsonSink, ndjsonRelPath, type NdjsonFsync } from "../../src/sinks/ndjson/ndjson-sink.ts";
import { REPO, tempDir, waitFor } from "../helpers/binary.ts";

const T0 = Date.UTC(2026, 0, 1, 10, 30);

function sink(mode: NdjsonFsync, dir: string): NdjsonSink {
  return new NdjsonSink({ dir, fsync: mode, fsyncIntervalMs: 300, flushIntervalMs: 50, sweep: false, now: () => T0 });
}

describe("ndjson fsync", () => {
  test("always: one sync per write, and the lines are written", async () => {
    const dir = tempDir("nd-fsync");
    const s = sink("always", dir);
    for (let i = 0; i < 5; i++) {
      s.append("BTCUSDT", T0, `{"i":${i}}`);
      await s.flush();
    }
    expect(s.status().fsyncs).toBe(5);
    await s.close();
    expect(readFileSync(join(dir, ndjsonRelPath("BTCUSDT", T0)), "utf8").split("\n").length).toBe(6);
  });

  test("interval: files written since their last sync are synced once per period; idle files are not", async () => {
    const dir = tempDir("nd-fsync");
    const s = sink("interval", dir);
    s.append("BTCUSDT", T0, "{}");
    s.append("ETHUSDT", T0, "{}");
    await s.flush();
    expect(s.status().fsyncs).toBe(0);
    await waitFor("the interval sync", () => (s.status().fsyncs === 2 ? true : undefined), 2_000, 20);
    await Bun.sleep(700);
    // Nothing written since: no further sync.
    expect(s.status().fsyncs).toBe(2);
    s.append("BTCUSDT", T0, "{}");
    await s.flush();
    await waitFor("the next interval sync", () => (s.status().fsyncs === 3 ? true : undefined), 2_000, 20);
    await s.close();
    expect(s.status().fsyncs).toBe(3);
  });

  test("none: never; interval and always: a file written since its last sync is synced when closed", async () => {
    for (const [mode, want] of [["none", 0], ["interval", 1]] as const) {
      const dir = tempDir("nd-fsync");
      const s = new NdjsonSink({ dir, fsync: mode, fsyncIntervalMs: 60_000, sweep: false, now: () => T0 });
      s.append("BTCUSDT", T0, "{}");
      await s.close();
      expect(s.status().fsyncs).toBe(want);
    }
  });

  test("the fdatasync system calls are really made (strace)", () => {
    if (Bun.which("strace") === null) {
      console.warn("strace not installed: syscall check skipped");
      return;
    }
    const dir = tempDir("nd-fsync");
    const script = join(dir, "run.ts");
    writeFileSync(
      script,
      `import { NdjsonSink } from ${JSON.stringify(join(REPO, "src/sinks/ndjson/ndjson-sink.ts"))};
const s = new NdjsonSink({ dir: ${JSON.stringify(join(dir, "nd"))}, fsync: process.argv[2], sweep: false });
for (let i = 0; i < 4; i++) { s.append("BTCUSDT", Date.now(), "{}"); await s.flush(); }
await s.close();`,
    );
    const count = (mode: NdjsonFsync): number => {
      const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=fdatasync,fsync", "-o", join(dir, `trace-${mode}`), process.execPath, script, mode]);
      expect(r.exitCode).toBe(0);
      return readFileSync(join(dir, `trace-${mode}`), "utf8").split("\n").filter((l) => /fdatasync\(/.test(l) && !/resumed/.test(l)).length;
    };
    expect(count("none")).toBe(0);
    expect(count("always")).toBe(4);
  }, 30_000);
});
