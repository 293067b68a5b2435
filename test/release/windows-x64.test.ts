/**
 * Issue "Release binaries": the windows-x64 release binary, run here under Wine: `version`,
 * `validate` of the shipped and of a broken configuration, collection from the fake exchange
 * stopped by Ctrl-C (Wine delivers SIGINT to a Windows program as the console's Ctrl-C event, the
 * way a service wrapper stops it) with everything flushed, exit 0 and every aggTrade id stored, and
 * `replay` of that NDJSON log giving the live run's rows exactly and the linux-x64 binary's row for
 * row (doubles within rounding: another C library's exp and log).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, tempDir, waitFor } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { collectOn, expectEveryIdStored, compareRows, ensureRelease, expectValidate, replayBesideX64, expectVersion, releaseBinary, startWine, WINE_MISSING, type Collection, type Emulator } from "./support.ts";

const SYMBOLS = ["BTCUSDT", "SANDUSDT", "NEOUSDT"];
const timings: Record<string, number> = {};
/** Largest difference accepted between Windows and Linux doubles, relative to max(1, |x|) (3e-17 seen). */
const TOLERANCE = 1e-13;

if (WINE_MISSING !== null) console.warn(`skipping the windows-x64 tests: ${WINE_MISSING}`);

describe.skipIf(WINE_MISSING !== null)("windows-x64 release binary under Wine", () => {
  let wine: Emulator;
  let collection: Collection;
  let commit = "";

  beforeAll(async () => {
    const t0 = performance.now();
    [commit, wine] = await Promise.all([ensureRelease().then((r) => r.commit), startWine()]);
    timings.setup = (performance.now() - t0) / 1000;
    collection = await collectOn(wine, SYMBOLS, 10, "SIGINT");
    timings.start = collection.startSeconds;
    timings.stop = collection.stopSeconds;
  }, 180_000);

  afterAll(async () => {
    await wine?.close();
    console.log(`windows-x64 under Wine, seconds: ${JSON.stringify(timings)}`);
  });

  test("version names the target, the version and the commit", async () => {
    timings.version = await expectVersion(wine, commit);
  }, 60_000);

  test("validate: the shipped config.toml exits 0, a broken one 78 naming each problem", async () => {
    timings.validate = await expectValidate(wine);
  }, 60_000);

  test("Ctrl-C flushes and exits 0 with every aggTrade id the exchange sent stored; no .partial left", async () => {
    await expectEveryIdStored(collection, SYMBOLS);
    expect(collection.result.stderr).toContain('"reason":"SIGINT"');
    expect(listFiles(collection.dir, /\.partial$/)).toEqual([]);
  });

  test("the page spool's staging folder goes at a stop, and a crash's at the next start (rm of a folder fails under Wine)", async () => {
    // Pages are spooled only for kinds rotating every 10 s or slower (the collection above rotates every 2 s).
    const fake = await startFakeExchange({ symbols: SYMBOLS, speed: 4 });
    const dir = tempDir("collect-windows-spool");
    const staging = join(dir, "raw", ".harvestd-staging");
    try {
      const pagesFolders = () => (existsSync(staging) ? readdirSync(staging).filter((n) => n.startsWith("pages-")) : []);
      /** A run until its page spool's folder exists (`untilSpool`, as a collection writes its first chunks), else for a second. */
      const run = async (untilSpool: boolean): Promise<{ stderr: string; running: string[] }> => {
        const port = freePort();
        const env = collectorEnv(fake, SYMBOLS, "", port, { PARQUET_ROTATE_SEC: "10", ORDERBOOK_ROTATE_SEC: "10" });
        for (const k of ["OUTPUT_DIR", "PREVIEW_DIR", "NDJSON_DIR", "ARTIFACTS_DIR"]) env[k] = wine.path(join(dir, env[k]!));
        const proc = Bun.spawn(wine.argv(releaseBinary(wine.target), ["run"]), {
          cwd: dir,
          env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...wine.env, ...env },
          stdin: "ignore",
          stdout: "ignore",
          stderr: "pipe",
        });
        const err = new Response(proc.stderr).text();
        await waitFor("/health", async () => ((await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined), 60_000, 250).catch(async (e) => {
          proc.kill("SIGKILL");
          throw new Error(`${(e as Error).message}\n${await err}`);
        });
        if (untilSpool) await waitFor("the page spool's folder", () => (pagesFolders().length > 0 ? true : undefined), 40_000, 250).catch(() => undefined);
        else await Bun.sleep(1000);
        const running = pagesFolders();
        proc.kill("SIGINT");
        const code = await proc.exited;
        const stderr = await err;
        if (code !== 0) console.error(stderr);
        expect(code).toBe(0);
        return { stderr, running };
      };
      // The spool is in use (its folder exists while running) and goes at the stop, without a problem.
      const first = await run(true);
      expect(first.running.length).toBe(1);
      expect(first.stderr).toContain('"reason":"SIGINT"');
      expect(first.stderr).not.toContain("spool problem");
      expect(pagesFolders()).toEqual([]);
      // A crash's spool folder (a segment in it) is removed by the next start, nothing failed.
      mkdirSync(join(staging, "pages-crashed-0"), { recursive: true });
      writeFileSync(join(staging, "pages-crashed-0", "pages-0"), new Uint8Array(4096));
      const second = (await run(false)).stderr;
      const leftovers = second.split("\n").filter((l) => l.includes("removed leftovers"));
      expect(leftovers.length).toBe(1);
      expect(JSON.parse(leftovers[0]!)).toMatchObject({ removed: 1, failed: [] });
      expect(second).not.toContain("spool problem");
      expect(pagesFolders()).toEqual([]);
    } finally {
      await fake.stop();
    }
  }, 120_000);

  test("replay of the recorded NDJSON: the live run's rows exactly, the linux-x64 binary's row for row", async () => {
    const r = await replayBesideX64(wine, collection.dir);
    timings.replay = r.seconds;
    // Compaction needs an atomic folder swap, which Windows lacks: off, said once, nothing else lost.
    expect(r.stderr).toContain("compaction is off: Windows has no atomic folder swap");
    // Same platform: the replay rebuilds the live run's rows exactly.
    for (const kind of Object.keys(r.target)) expect({ kind, rows: r.live[kind] }).toEqual({ kind, rows: r.target[kind] });
    // Across platforms, every cell is equal except that Math.exp/expm1/log come from a different C
    // library on Windows and may round differently in the last bit (docs/release.md); ids,
    // timestamps, prices, quantities, counts and every text are exact.
    const cmp = compareRows(r.x64, r.target, TOLERANCE);
    console.log(`windows vs linux-x64 replay: ${cmp.cellsDiffering} cells differ, by at most ${cmp.maxScaledDiff} (scaled), ${cmp.maxUlps} ulps`);
    expect(cmp.problems).toEqual([]);
  }, 120_000);
});
