/**
 * The compiled binary must run the code as the sources run it: ES modules are always strict, but a
 * bytecode build is one CommonJS-style bundle per entry point, in sloppy mode unless build/build.ts
 * puts "use strict" at its top. Sloppy mode changes meanings quietly (`this` in a plain call, writes
 * to read-only properties) and how the JIT compiles; each entry point checks it once at start.
 */
export function assertStrictMode(entry: string): void {
  const self = (function (this: unknown) {
    return this;
  })();
  if (self !== undefined) throw new Error(`${entry}: this build runs in sloppy mode; build it with build/build.ts (it adds "use strict")`);
}
