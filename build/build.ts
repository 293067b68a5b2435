/**
 * Compiles harvestd into one self-contained executable, build/harvestd. Every Worker entry point must
 * be listed here, or the binary only fails once deployed (the test suite runs the compiled binary).
 * build/release.ts compiles the same way for every release target.
 */
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { hostTarget } from "../src/util/platform.ts";

const root = join(import.meta.dir, "..");

export const ENTRY_POINTS = ["src/cli/main.ts", "src/sinks/parquet/writer-worker.ts", "src/pipeline/replay-worker.ts"] as const;

/** What `harvestd version` reports about the build (src/util/version.ts). */
export interface BuildStamp {
  readonly target: string;
  readonly commit: string;
  readonly buildTime: string;
}

export interface CompileRequest {
  readonly outfile: string;
  readonly stamp: BuildStamp;
  /** Cross-compiling: `bun build --target` and the runtime executable of that target. */
  readonly cross?: { readonly bunTarget: string; readonly runtime: string };
}

/**
 * The commit being built: HARVESTD_COMMIT when set (builds from a source archive), else git's short
 * hash with `-dirty` when tracked files differ from it, else "unknown" (no git, not a checkout).
 */
export function gitCommit(): string {
  const given = process.env.HARVESTD_COMMIT?.trim();
  if (given) return given;
  const git = (...args: string[]): string | null => {
    try {
      const r = Bun.spawnSync(["git", ...args], { cwd: root, stdout: "pipe", stderr: "ignore" });
      return r.exitCode === 0 ? r.stdout.toString().trim() : null;
    } catch {
      return null; // git not installed
    }
  };
  const head = git("rev-parse", "--short=12", "HEAD");
  if (head === null || head === "") return "unknown";
  const dirty = git("status", "--porcelain", "--untracked-files=no");
  return dirty === null || dirty === "" ? head : `${head}-dirty`;
}

export function stamp(target: string): BuildStamp {
  return { target, commit: gitCommit(), buildTime: new Date().toISOString() };
}

/** One `bun build --compile`; returns bun's exit code. */
export function compile(req: CompileRequest): number {
  // Bun writes the source maps beside its output: build in a private folder, keep only the binary.
  const work = mkdtempSync(`${req.outfile}.bun-build-`);
  const out = join(work, "harvestd");
  try {
    const proc = Bun.spawnSync(
      [
        process.execPath,
        "build",
        "--compile",
        // Precompiled bytecode: `version` answers in ≈ 25 ms instead of ≈ 70 ms (docs/performance.md).
        "--bytecode",
        // A bytecode build is one CommonJS-style bundle, which runs in sloppy mode unless told: the
        // binary must run the code as the sources (ES modules, always strict) do. main.ts checks it.
        '--banner="use strict";',
        "--minify-syntax",
        "--minify-whitespace",
        "--sourcemap=inline",
        ...(req.cross ? [`--target=${req.cross.bunTarget}`, `--compile-executable-path=${req.cross.runtime}`] : []),
        `--define=HARVESTD_BUILD_TIME=${JSON.stringify(req.stamp.buildTime)}`,
        `--define=HARVESTD_TARGET=${JSON.stringify(req.stamp.target)}`,
        `--define=HARVESTD_COMMIT=${JSON.stringify(req.stamp.commit)}`,
        ...ENTRY_POINTS,
        "--outfile",
        out,
      ],
      { cwd: root, stdout: "inherit", stderr: "inherit" },
    );
    if (proc.exitCode !== 0) return proc.exitCode ?? 1;
    // Windows targets get `.exe` appended by bun.
    const produced = req.cross?.bunTarget.includes("windows") ? `${out}.exe` : out;
    rmSync(req.outfile, { force: true });
    renameSync(produced, req.outfile);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const outfile = join(root, "build", "harvestd");
  const s = stamp(hostTarget());
  if (compile({ outfile, stamp: s }) !== 0) {
    process.stderr.write("build failed\n");
    process.exit(1);
  }
  process.stdout.write(`built ${outfile} (${s.target}, commit ${s.commit}, ${s.buildTime})\n`);
}
