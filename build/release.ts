/**
 * `npm run release`: builds harvestd for every release target (build/targets.ts) into build/release/,
 * plus SHA256SUMS (the `sha256sum -c` format). From this one machine and the npm registry only:
 * each target's Bun runtime is fetched with `npm pack` (the packages declare os/cpu, so a plain
 * install of a foreign one is refused) at exactly the version of the Bun that compiles, and cached
 * under node_modules/.cache/harvestd-runtimes/. docs/release.md.
 *
 *   bun build/release.ts [--only linux-arm64,windows-x64]
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compile, stamp } from "./build.ts";
import { adhocSign } from "./macho-sign.ts";
import { RELEASE_TARGETS, releaseFileName, type ReleaseTarget } from "./targets.ts";

const root = join(import.meta.dir, "..");
export const RELEASE_DIR = join(root, "build", "release");
const CACHE_DIR = join(root, "node_modules", ".cache", "harvestd-runtimes");

class ReleaseError extends Error {}

function run(cmd: readonly string[], cwd: string): string {
  const r = Bun.spawnSync([...cmd], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new ReleaseError(`${cmd.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim().split("\n").slice(-3).join(" | ")}`);
  return r.stdout.toString();
}

/** The integrity package-lock.json pins for `pkg` (the `bun` package lists most runtimes), or null. */
function lockedIntegrity(pkg: string, version: string): string | null {
  try {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages?: Record<string, { version?: string; integrity?: string }> };
    const e = lock.packages?.[`node_modules/${pkg}`];
    return e?.version === version ? (e.integrity ?? null) : null;
  } catch {
    return null;
  }
}

/**
 * Path of `t`'s runtime executable at `version`, fetched once. npm checks the tarball against the
 * registry's integrity; where package-lock.json pins one too, it must be the same.
 */
export function runtimeFor(t: ReleaseTarget, version: string): string {
  const dir = join(CACHE_DIR, `${t.runtimePackage.replace("/", "+")}@${version}`);
  const exe = join(dir, t.runtimePath);
  if (existsSync(exe)) return exe;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spec = `${t.runtimePackage}@${version}`;
  const out = run(["npm", "pack", spec, "--json", "--pack-destination", dir], dir);
  const [info] = JSON.parse(out) as { filename: string; integrity: string }[];
  if (!info) throw new ReleaseError(`npm pack ${spec} printed no package`);
  const pinned = lockedIntegrity(t.runtimePackage, version);
  if (pinned !== null && pinned !== info.integrity) throw new ReleaseError(`${spec}: integrity ${info.integrity} differs from package-lock.json's ${pinned}`);
  run(["tar", "-xzf", info.filename, t.runtimePath], dir);
  rmSync(join(dir, info.filename), { force: true });
  if (!existsSync(exe)) throw new ReleaseError(`${spec} has no ${t.runtimePath}`);
  return exe;
}

export function sha256File(path: string): string {
  const h = createHash("sha256");
  h.update(readFileSync(path));
  return h.digest("hex");
}

export interface Built {
  readonly target: ReleaseTarget;
  readonly file: string;
  readonly bytes: number;
  readonly seconds: number;
}

/** Builds `targets` into RELEASE_DIR and rewrites SHA256SUMS over every binary the folder then holds. */
export function release(targets: readonly ReleaseTarget[]): Built[] {
  mkdirSync(RELEASE_DIR, { recursive: true });
  // One commit and one build time for the whole release.
  const base = stamp("");
  process.stdout.write(`release of commit ${base.commit}, built ${base.buildTime}\n`);
  const built: Built[] = [];
  for (const t of targets) {
    const t0 = performance.now();
    const runtime = runtimeFor(t, Bun.version);
    const file = join(RELEASE_DIR, releaseFileName(t));
    const tmp = `${file}.partial`;
    if (compile({ outfile: tmp, stamp: { ...base, target: t.name }, cross: { bunTarget: t.bunTarget, runtime } }) !== 0) {
      rmSync(tmp, { force: true });
      throw new ReleaseError(`compiling ${t.name} failed`);
    }
    // macOS kills a binary whose signature does not match its pages (macho-sign.ts says why).
    if (t.os === "darwin") writeFileSync(tmp, adhocSign(readFileSync(tmp), "harvestd"));
    renameSync(tmp, file);
    built.push({ target: t, file, bytes: statSync(file).size, seconds: (performance.now() - t0) / 1000 });
  }
  const sums = RELEASE_TARGETS.map(releaseFileName)
    .filter((n) => existsSync(join(RELEASE_DIR, n)))
    .map((n) => `${sha256File(join(RELEASE_DIR, n))}  ${n}\n`)
    .join("");
  writeFileSync(join(RELEASE_DIR, "SHA256SUMS"), sums);
  return built;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { only: { type: "string" } }, strict: true });
  const only = values.only?.split(",").map((s) => s.trim()) ?? null;
  const unknown = only?.filter((n) => !RELEASE_TARGETS.some((t) => t.name === n)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`release: unknown target ${unknown.join(", ")} (targets: ${RELEASE_TARGETS.map((t) => t.name).join(", ")})\n`);
    process.exit(2);
  }
  try {
    for (const b of release(only === null ? RELEASE_TARGETS : RELEASE_TARGETS.filter((t) => only.includes(t.name)))) {
      process.stdout.write(`built ${b.file} (${(b.bytes / 1048576).toFixed(1)} MiB, ${b.seconds.toFixed(1)} s)\n`);
    }
    process.stdout.write(`wrote ${join(RELEASE_DIR, "SHA256SUMS")}\n`);
  } catch (e) {
    process.stderr.write(`release: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
