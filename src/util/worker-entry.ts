/**
 * Where a Worker entry point's script is. From source: the `.ts` file itself. In a
 * `bun build --compile` executable, every entry point listed in build/build.ts is embedded as
 * `/$bunfs/root/<path relative to the entry points' common directory>.js` (`src/` for the project
 * build, so `pipeline/replay-worker.js`).
 *
 * Compiled or not is told by Bun.main, not import.meta.url: a `--bytecode` build keeps each module's
 * source path in import.meta.url, which would send the worker to a source tree that a deployed
 * machine does not have. Call it on the main thread (a worker's Bun.main is not the executable).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** `srcPath`: the entry point's path under `src/` without extension, e.g. `pipeline/replay-worker`. */
export function workerEntry(srcPath: string): string {
  if (!isCompiled(Bun.main)) return join(import.meta.dir, "..", `${srcPath}.ts`);
  const root = dirname(Bun.main);
  // Another common directory of the entry points embeds the script deeper or shallower.
  const parts = `src/${srcPath}.js`.split("/");
  const candidates = parts.map((_, i) => parts.slice(i).join("/"));
  for (const rel of candidates) {
    const p = join(root, rel);
    if (existsSync(p)) return p;
  }
  return join(root, candidates[1]!);
}

export function isCompiled(path: string): boolean {
  return path.includes("/$bunfs/") || path.includes("/~BUN/");
}
