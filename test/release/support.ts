/**
 * Helpers for the release tests: `npm run release` once per test run, and the emulators that run
 * the cross-built binaries here: qemu user mode for linux-arm64, Wine for windows-x64 (with the
 * ProcessPrng stub, wine-prng/). A missing emulator skips those tests with the reason, except under
 * CI=true, where it fails them: .ci/run installs qemu-user-static, libc6-arm64-cross, wine64 and
 * binutils-mingw-w64-x86-64.
 */
import { expect } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { ALL_KINDS } from "../../src/core/rows.ts";
import { RELEASE_TARGETS, releaseFileName } from "../../build/targets.ts";
import { startFakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { kindRows, layout } from "../e2e/storage-support.ts";
import { buildProcessPrngStub, stubToolsMissing } from "./wine-prng/build.ts";

export const RELEASE_DIR = join(REPO, "build", "release");

export function releaseBinary(target: string): string {
  const t = RELEASE_TARGETS.find((x) => x.name === target);
  if (t === undefined) throw new Error(`no release target ${target}`);
  return join(RELEASE_DIR, releaseFileName(t));
}

export interface ReleaseRun extends RunResult {
  readonly seconds: number;
  /** The commit the release says it built (its first line), which every binary must name. */
  readonly commit: string;
}

let release: Promise<ReleaseRun> | null = null;

async function runRelease(): Promise<ReleaseRun> {
  const t0 = performance.now();
  const proc = Bun.spawn(["npm", "run", "release"], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (exitCode !== 0) throw new Error(`npm run release failed (exit ${exitCode}):\n${stderr}`);
  const commit = /^release of commit (\S+),/m.exec(stdout)?.[1];
  if (commit === undefined) throw new Error(`npm run release did not say which commit it built:\n${stdout}`);
  return { exitCode, stdout, stderr, seconds: (performance.now() - t0) / 1000, commit };
}

/** How long a test process waits for another's `npm run release` (six cross-builds). */
const RELEASE_WAIT_MS = 600_000;

/**
 * `npm run release` once per test run. `npm test` runs the files in several processes (`--parallel`)
 * under one HARVESTD_TEST_RUN, and all write build/release/: the first to make the run's marker folder
 * builds and leaves its result there, the others wait for it. Without HARVESTD_TEST_RUN (a file run
 * on its own), once per process.
 */
export function ensureRelease(): Promise<ReleaseRun> {
  release ??= (async () => {
    const run = process.env.HARVESTD_TEST_RUN;
    if (run === undefined || run === "") return runRelease();
    const marker = join(tmpdir(), `harvestd-release-run-${run.replace(/[^\w-]/g, "_")}`);
    const result = join(marker, "result.json");
    let mine = true;
    try {
      mkdirSync(marker);
    } catch {
      mine = false;
    }
    if (mine) {
      const r = await runRelease().catch((e: Error) => e);
      writeFileSync(result + ".tmp", JSON.stringify(r instanceof Error ? { error: r.message } : r));
      renameSync(result + ".tmp", result);
      if (r instanceof Error) throw r;
      return r;
    }
    const got = await waitFor("another test process's npm run release", () => (existsSync(result) ? (JSON.parse(readFileSync(result, "utf8")) as ReleaseRun | { error: string }) : undefined), RELEASE_WAIT_MS, 500);
    if ("error" in got) throw new Error(got.error);
    return got;
  })();
  return release;
}

/** Why an emulator is missing, thrown under CI (where .ci/run installs it), else returned. */
function missing(why: string | null): string | null {
  if (why !== null && process.env.CI === "true") throw new Error(why);
  return why;
}

/** How to start a binary of one target here. */
export interface Emulator {
  readonly target: string;
  /** Command line that runs `binary` with `args`. */
  argv(binary: string, args: readonly string[]): string[];
  /** Environment the emulator needs besides the program's own. */
  readonly env: Readonly<Record<string, string>>;
  /** A host path as the program must be given it. */
  path(p: string): string;
  close(): Promise<void>;
}

export const native: Emulator = {
  target: "linux-x64",
  argv: (binary, args) => [binary, ...args],
  env: {},
  path: (p) => p,
  close: async () => {},
};

const QEMU = Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64");
/** The aarch64 C library: multiarch (libc6:arm64) or the cross sysroot (libc6-arm64-cross). */
const ARM64_SYSROOT = existsSync("/lib/ld-linux-aarch64.so.1") ? null : existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1") ? "/usr/aarch64-linux-gnu" : undefined;

export const QEMU_MISSING = missing(
  QEMU === null ? "qemu-aarch64 not found (Debian package qemu-user-static)" : ARM64_SYSROOT === undefined ? "no aarch64 C library (Debian package libc6-arm64-cross)" : null,
);

export const qemuArm64: Emulator = {
  target: "linux-arm64",
  argv: (binary, args) => [QEMU!, ...(ARM64_SYSROOT ? ["-L", ARM64_SYSROOT] : []), binary, ...args],
  env: {},
  path: (p) => p,
  close: async () => {},
};

const WINE = Bun.which("wine64") ?? Bun.which("wine") ?? (existsSync("/usr/lib/wine/wine64") ? "/usr/lib/wine/wine64" : null);
const WINESERVER = Bun.which("wineserver") ?? (existsSync("/usr/lib/wine/wineserver") ? "/usr/lib/wine/wineserver" : null);

export const WINE_MISSING = missing(WINE === null || WINESERVER === null ? "wine not found (Debian package wine64)" : stubToolsMissing());

/**
 * Wine in a fresh prefix of its own, with the ProcessPrng stub in its system32. Paths are handed
 * over as Windows paths on Wine's Z: drive (the whole Unix file system).
 */
export async function startWine(): Promise<Emulator> {
  const prefix = tempDir("wine-prefix");
  const env = { WINEPREFIX: prefix, WINEDEBUG: "-all", WINEDLLOVERRIDES: "mscoree,mshtml=" };
  const boot = Bun.spawn([WINE!, "wineboot", "--init"], { env: { ...process.env, ...env }, stdout: "ignore", stderr: "ignore" });
  await boot.exited;
  Bun.spawnSync([WINESERVER!, "-w"], { env: { ...process.env, ...env } });
  const system32 = join(prefix, "drive_c", "windows", "system32");
  mkdirSync(system32, { recursive: true });
  copyFileSync(buildProcessPrngStub(join(prefix, "stub")), join(system32, "bcryptprimitives.dll"));
  return {
    target: "windows-x64",
    argv: (binary, args) => [WINE!, binary, ...args],
    env,
    path: (p) => `Z:${p.replaceAll("/", "\\")}`,
    async close() {
      Bun.spawnSync([WINESERVER!, "-k"], { env: { ...process.env, ...env } });
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** Runs `args` on the emulator's release binary to completion, in `cwd` (no config.toml there). */
export async function runOn(emu: Emulator, args: readonly string[], env: Record<string, string> = {}, cwd = tempDir("release-cwd")): Promise<RunResult & { seconds: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn(emu.argv(releaseBinary(emu.target), args), {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...emu.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr, seconds: (performance.now() - t0) / 1000 };
}

/** `version` on the emulator names its target, the package's version and `commit`; returns seconds. */
export async function expectVersion(emu: Emulator, commit: string): Promise<number> {
  const r = await runOn(emu, ["version"]);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toStartWith(`harvestd ${pkg.version} ${emu.target} (commit ${commit}, bun ${Bun.version}, built `);
  return r.seconds;
}

/**
 * `validate` on the emulator: the shipped config.toml exits 0; one with two mistakes (a number as
 * text, an unknown key) exits 78 naming both. Returns the seconds the first took.
 */
export async function expectValidate(emu: Emulator): Promise<number> {
  const ok = await runOn(emu, ["validate", "--config", emu.path(join(REPO, "config.toml"))]);
  if (ok.exitCode !== 0) console.error(ok.stderr);
  expect(ok.exitCode).toBe(0);
  expect(ok.stdout).toContain("configuration ok");
  const broken = join(tempDir(`${emu.target}-validate`), "broken.toml");
  writeFileSync(broken, 'run_hours = "soon"\n[storage]\nno_such_key = 1\n');
  const bad = await runOn(emu, ["validate", "--config", emu.path(broken)]);
  expect(bad.exitCode).toBe(78);
  expect(bad.stderr).toContain("run_hours");
  expect(bad.stderr).toContain("no_such_key");
  return ok.seconds;
}

/** `replay NDJSON --out DIR` on the emulator; the Parquet tree lands in `out`. */
export function replayOn(emu: Emulator, ndjson: string, out: string, env: Record<string, string> = {}): Promise<RunResult & { seconds: number }> {
  return runOn(emu, ["replay", emu.path(ndjson), "--out", emu.path(out), "--threads", "1"], { ARTIFACTS_DIR: emu.path(join(out, "artifacts")), ...env });
}

export interface Replayed {
  /** Rows per kind: the emulated binary's replay, the linux-x64 binary's replay, the live run. */
  readonly target: Record<string, Record<string, unknown>[]>;
  readonly x64: Record<string, Record<string, unknown>[]>;
  readonly live: Record<string, Record<string, unknown>[]>;
  readonly seconds: number;
  /** What the emulated binary's replay printed on stderr. */
  readonly stderr: string;
}

/**
 * Replays a collection's NDJSON log with the emulated binary and with the linux-x64 one; both must
 * exit 0 with no bad line, and the comparison must not be vacuous.
 */
export async function replayBesideX64(emu: Emulator, collectionDir: string, env: Record<string, string> = {}): Promise<Replayed> {
  const ndjson = join(collectionDir, "ndjson");
  const out = tempDir(`${emu.target}-replay`);
  const [t, x] = await Promise.all([replayOn(emu, ndjson, join(out, emu.target), env), replayOn(native, ndjson, join(out, "x64"))]);
  for (const r of [t, x]) {
    if (r.exitCode !== 0) console.error(r.stderr);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(" 0 bad lines, 0 truncated files");
  }
  const rows = { target: await allRows(join(out, emu.target)), x64: await allRows(join(out, "x64")), live: await allRows(collectionDir) };
  expect(rows.x64.prices!.length).toBeGreaterThan(100);
  expect(rows.x64.orderbook!.length).toBeGreaterThan(100);
  return { ...rows, seconds: t.seconds, stderr: t.stderr };
}

/** Every row of every kind under a replay's `--out` folder, read by DuckDB (full rows, sorted). */
export async function allRows(out: string): Promise<Record<string, Record<string, unknown>[]>> {
  const rows: Record<string, Record<string, unknown>[]> = {};
  for (const kind of ALL_KINDS) rows[kind] = await kindRows(layout(out), kind);
  return rows;
}

export interface Collection {
  readonly result: RunResult;
  /** The data folders (raw, preview, ndjson, artifacts) under this. */
  readonly dir: string;
  /** aggTrade ids the exchange sent, per symbol, ascending. */
  readonly sentIds: Readonly<Record<string, number[]>>;
  /** Seconds from start to a healthy /health, and from the stop signal to exit. */
  readonly startSeconds: number;
  readonly stopSeconds: number;
}

/**
 * `harvestd run` on the emulator against the fake exchange for `seconds`, then `signal` (SIGINT is
 * Ctrl-C: Wine turns it into the console event Windows programs get). The exchange is quiet for the
 * last half second, so everything it sent has arrived when the signal does.
 */
export async function collectOn(emu: Emulator, symbols: readonly string[], seconds: number, signal: NodeJS.Signals): Promise<Collection> {
  const fake = await startFakeExchange({ symbols, speed: 4 });
  try {
    const dir = tempDir(`collect-${emu.target}`);
    const port = freePort();
    const env = collectorEnv(fake, symbols, "", port, { PARQUET_ROTATE_SEC: "2", ORDERBOOK_ROTATE_SEC: "2" });
    for (const k of ["OUTPUT_DIR", "PREVIEW_DIR", "NDJSON_DIR", "ARTIFACTS_DIR"]) env[k] = emu.path(join(dir, env[k]!));
    const t0 = performance.now();
    const proc = Bun.spawn(emu.argv(releaseBinary(emu.target), ["run"]), {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...emu.env, ...env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = new Response(proc.stdout).text();
    const err = new Response(proc.stderr).text();
    await waitFor("/health", async () => ((await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined), 60_000, 250).catch(async (e) => {
      proc.kill("SIGKILL");
      throw new Error(`${(e as Error).message}\n${await err}`);
    });
    const startSeconds = (performance.now() - t0) / 1000;
    await Bun.sleep(seconds * 1000);
    fake.silence("public", true);
    fake.silence("market", true);
    await Bun.sleep(500);
    const t1 = performance.now();
    proc.kill(signal);
    const [exitCode, stdout, stderr] = await Promise.all([proc.exited, out, err]);
    const stopSeconds = (performance.now() - t1) / 1000;
    const sentIds: Record<string, number[]> = {};
    for (const s of symbols) {
      sentIds[s] = fake
        .sentFrames()
        .filter((f) => f.stream === `${s.toLowerCase()}@aggTrade`)
        .map((f) => (JSON.parse(f.text) as { data: { a: number } }).data.a)
        .sort((a, b) => a - b);
    }
    return { result: { exitCode, stdout, stderr }, dir, sentIds, startSeconds, stopSeconds };
  } finally {
    await fake.stop();
  }
}

/**
 * The collection exited 0 and the prices Parquet (read by DuckDB) holds exactly the aggTrade ids the
 * exchange sent, per symbol.
 */
export async function expectEveryIdStored(c: Collection, symbols: readonly string[]): Promise<void> {
  if (c.result.exitCode !== 0) console.error(c.result.stderr);
  expect(c.result.exitCode).toBe(0);
  const rows = await query(`SELECT symbol, agg_trade_id FROM ${hive(join(c.dir, "raw", "**", "kind=prices", "*.parquet"))} ORDER BY symbol, agg_trade_id`);
  for (const s of symbols) {
    expect(c.sentIds[s]!.length).toBeGreaterThan(20);
    expect({ symbol: s, ids: rows.filter((r) => r.symbol === s).map((r) => Number(r.agg_trade_id)) }).toEqual({ symbol: s, ids: c.sentIds[s]! });
  }
}

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** Position of a double on the number line in units in the last place (monotonic across zero). */
function ordinal(x: number): bigint {
  f64[0] = x;
  const b = i64[0]!;
  return b < 0n ? -(b & 0x7fffffffffffffffn) : b;
}

/** Distance between two doubles in units in the last place (0 when equal, also for two NaNs). */
export function ulps(a: number, b: number): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  const d = ordinal(a) - ordinal(b);
  return Number(d < 0n ? -d : d);
}

export interface RowComparison {
  /** Cells that differ beyond the tolerance, or at all when not both numbers (first 20). */
  readonly problems: string[];
  /** Cells that differ at all. */
  readonly cellsDiffering: number;
  /** Largest |a − b| / max(1, |a|, |b|) over doubles that differ. */
  readonly maxScaledDiff: number;
  /** Largest distance in units in the last place over doubles that differ. */
  readonly maxUlps: number;
}

/**
 * Compares two trees' rows kind by kind, row for row in sorted order: every cell equal, except
 * that doubles may differ by `tolerance` relative to max(1, |a|, |b|) — rounding, measured against
 * the scale of the inputs (a z-score near 0 is a difference of terms near 1, so its own last
 * place is not the yardstick).
 */
export function compareRows(a: Record<string, Record<string, unknown>[]>, b: Record<string, Record<string, unknown>[]>, tolerance: number): RowComparison {
  const problems: string[] = [];
  let cells = 0;
  let maxScaledDiff = 0;
  let maxUlps = 0;
  for (const kind of Object.keys(a)) {
    const ra = a[kind]!;
    const rb = b[kind] ?? [];
    if (ra.length !== rb.length) problems.push(`${kind}: ${ra.length} rows vs ${rb.length}`);
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
      for (const col of Object.keys(ra[i]!)) {
        const x = ra[i]![col];
        const y = rb[i]![col];
        if (Bun.deepEquals(x, y)) continue;
        cells++;
        const numbers = typeof x === "number" && typeof y === "number";
        const d = numbers ? Math.abs(x - y) / Math.max(1, Math.abs(x), Math.abs(y)) : Infinity;
        if (numbers) {
          maxScaledDiff = Math.max(maxScaledDiff, d);
          maxUlps = Math.max(maxUlps, ulps(x, y));
        }
        if (!(d <= tolerance) && problems.length < 20) problems.push(`${kind} row ${i} ${col}: ${String(x)} vs ${String(y)}`);
      }
    }
  }
  return { problems, cellsDiffering: cells, maxScaledDiff, maxUlps };
}
