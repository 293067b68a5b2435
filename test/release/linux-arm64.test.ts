/**
 * Issue "Release binaries": the linux-arm64 release binary, run here under qemu user mode (an
 * Ampere/Graviton VPS): `version`, `validate` of the shipped and of a broken configuration, 20 s of
 * collection from the fake exchange with every aggTrade id stored, and `replay` of that NDJSON log
 * giving the same Parquet rows as the linux-x64 binary, row for row.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO, tempDir } from "../helpers/binary.ts";
import pkg from "../../package.json" with { type: "json" };
import { allRows, brokenConfig, collectOn, ensureRelease, native, QEMU_MISSING, qemuArm64, replayOn, runOn, storedIds, type Collection } from "./support.ts";

const SYMBOLS = ["BTCUSDT", "SANDUSDT", "NEOUSDT"];
const timings: Record<string, number> = {};

if (QEMU_MISSING !== null) console.warn(`skipping the linux-arm64 tests: ${QEMU_MISSING}`);

describe.skipIf(QEMU_MISSING !== null)("linux-arm64 release binary under qemu", () => {
  let collection: Collection;
  let commit = "";

  beforeAll(async () => {
    commit = (await ensureRelease()).commit;
    collection = await collectOn(qemuArm64, SYMBOLS, 20, "SIGTERM");
    timings.start = collection.startSeconds;
    timings.stop = collection.stopSeconds;
  }, 180_000);

  afterAll(() => console.log(`linux-arm64 under qemu, seconds: ${JSON.stringify(timings)}`));

  test("version names the target, the version and the commit", async () => {
    const r = await runOn(qemuArm64, ["version"]);
    timings.version = r.seconds;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toStartWith(`harvestd ${pkg.version} linux-arm64 (commit ${commit}, bun ${Bun.version}, built `);
  }, 60_000);

  test("validate: the shipped config.toml exits 0, a broken one 78 naming each problem", async () => {
    const ok = await runOn(qemuArm64, ["validate", "--config", join(REPO, "config.toml")]);
    timings.validate = ok.seconds;
    if (ok.exitCode !== 0) console.error(ok.stderr);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain("configuration ok");
    const dir = tempDir("arm64-validate");
    const bad = await runOn(qemuArm64, ["validate", "--config", brokenConfig(dir)]);
    expect(bad.exitCode).toBe(78);
    expect(bad.stderr).toContain("run_hours");
    expect(bad.stderr).toContain("no_such_key");
  }, 60_000);

  test("20 s of collection: exits 0 on SIGTERM with every aggTrade id the exchange sent stored", async () => {
    if (collection.result.exitCode !== 0) console.error(collection.result.stderr);
    expect(collection.result.exitCode).toBe(0);
    const stored = await storedIds(join(collection.dir, "raw"), SYMBOLS);
    for (const s of SYMBOLS) {
      expect(collection.sentIds[s]!.length).toBeGreaterThan(20);
      expect(stored[s]).toEqual(collection.sentIds[s]!);
    }
  });

  test("replay of the recorded NDJSON writes the same Parquet rows as the linux-x64 binary, and as the live run", async () => {
    const ndjson = join(collection.dir, "ndjson");
    const out = tempDir("arm64-replay");
    // DFG off: under qemu, JSC's optimizing tier spends more time having its fresh code translated
    // than it saves (replay 14 s → 4 s here). The live run above used the default tiers.
    const [arm, x64] = await Promise.all([replayOn(qemuArm64, ndjson, join(out, "arm64"), { BUN_JSC_useDFGJIT: "0" }), replayOn(native, ndjson, join(out, "x64"))]);
    timings.replay = arm.seconds;
    for (const r of [arm, x64]) {
      if (r.exitCode !== 0) console.error(r.stderr);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(" 0 bad lines, 0 truncated files");
    }
    const x = await allRows(join(out, "x64"));
    const a = await allRows(join(out, "arm64"));
    const live = await allRows(collection.dir);
    expect(x.prices!.length).toBeGreaterThan(100);
    expect(x.orderbook!.length).toBeGreaterThan(100);
    for (const kind of Object.keys(x)) {
      expect({ kind, rows: a[kind] }).toEqual({ kind, rows: x[kind] });
      expect({ kind, rows: live[kind] }).toEqual({ kind, rows: x[kind] });
    }
  }, 120_000);
});
