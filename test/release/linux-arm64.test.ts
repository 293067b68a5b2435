/**
 * Issue "Release binaries": the linux-arm64 release binary, run here under qemu user mode (an
 * Ampere/Graviton VPS): `version`, `validate` of the shipped and of a broken configuration, 20 s of
 * collection from the fake exchange with every aggTrade id stored, and `replay` of that NDJSON log
 * giving the same Parquet rows as the linux-x64 binary, row for row.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { collectOn, expectEveryIdStored, ensureRelease, expectValidate, QEMU_MISSING, qemuArm64, replayBesideX64, expectVersion, type Collection } from "./support.ts";

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
    timings.version = await expectVersion(qemuArm64, commit);
  }, 60_000);

  test("validate: the shipped config.toml exits 0, a broken one 78 naming each problem", async () => {
    timings.validate = await expectValidate(qemuArm64);
  }, 60_000);

  test("20 s of collection: exits 0 on SIGTERM with every aggTrade id the exchange sent stored", async () => {
    await expectEveryIdStored(collection, SYMBOLS);
  });

  test("replay of the recorded NDJSON writes the same Parquet rows as the linux-x64 binary, and as the live run", async () => {
    // DFG off: under qemu, JSC's optimizing tier spends more time having its fresh code translated
    // than it saves (replay 14 s → 4 s here). The live run above used the default tiers.
    const r = await replayBesideX64(qemuArm64, collection.dir, { BUN_JSC_useDFGJIT: "0" });
    timings.replay = r.seconds;
    expect(r.stderr).not.toContain("compaction is off");
    for (const kind of Object.keys(r.x64)) {
      expect({ kind, rows: r.target[kind] }).toEqual({ kind, rows: r.x64[kind] });
      expect({ kind, rows: r.live[kind] }).toEqual({ kind, rows: r.x64[kind] });
    }
  }, 120_000);
});
