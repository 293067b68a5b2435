/**
 * Builds the ProcessPrng stub DLL (process-prng.s) with GNU binutils for MinGW-w64 alone (Debian
 * package binutils-mingw-w64-x86-64: as, dlltool, ld; no C compiler). Wine 8 lacks the function
 * that Bun's Windows runtime imports (docs/release.md); with this DLL in the Wine prefix's
 * system32 the Windows binary runs.
 *
 *   bun test/release/wine-prng/build.ts OUT_DIR     → OUT_DIR/bcryptprimitives.dll
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TOOLS = ["as", "dlltool", "ld"] as const;
const PREFIX = "x86_64-w64-mingw32-";

/** Why the stub cannot be built here, or null. */
export function stubToolsMissing(): string | null {
  const missing = TOOLS.map((t) => PREFIX + t).filter((t) => Bun.which(t) === null);
  return missing.length === 0 ? null : `${missing.join(", ")} not found (Debian package binutils-mingw-w64-x86-64)`;
}

function run(cmd: string[], cwd: string): void {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString().trim()}`);
}

/** Assembles and links the stub into `outDir`; returns the DLL's path. */
export function buildProcessPrngStub(outDir: string): string {
  const missing = stubToolsMissing();
  if (missing !== null) throw new Error(missing);
  const work = mkdtempSync(join(tmpdir(), "harvestd-prng-"));
  try {
    // Import library for the one advapi32 function used, and the export list of the stub.
    writeFileSync(join(work, "advapi32.def"), "LIBRARY advapi32.dll\nEXPORTS\nSystemFunction036\n");
    writeFileSync(join(work, "bcryptprimitives.def"), "LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n");
    run([`${PREFIX}as`, "-o", "process-prng.o", join(import.meta.dir, "process-prng.s")], work);
    run([`${PREFIX}dlltool`, "-d", "advapi32.def", "-l", "libadvapi32.a"], work);
    mkdirSync(outDir, { recursive: true });
    const dll = join(outDir, "bcryptprimitives.dll");
    run([`${PREFIX}ld`, "--shared", "--entry", "DllMain", "-o", dll, "process-prng.o", "bcryptprimitives.def", "libadvapi32.a"], work);
    return dll;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write("usage: bun test/release/wine-prng/build.ts OUT_DIR\n");
    process.exit(2);
  }
  process.stdout.write(`${buildProcessPrngStub(out)}\n`);
}
