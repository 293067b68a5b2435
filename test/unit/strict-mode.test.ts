/**
 * The compiled binary must run strict like the sources (src/util/strict-mode.ts): the check passes
 * here (ES modules are strict) and refuses the same code evaluated in sloppy mode, as a bytecode
 * bundle without "use strict" would run it.
 */
import { expect, test } from "bun:test";
import { assertStrictMode } from "../../src/util/strict-mode.ts";

test("strict code passes; the same check in sloppy code names the entry point and the fix", () => {
  expect(() => assertStrictMode("harvestd")).not.toThrow();
  // Function() bodies are sloppy unless they say otherwise: the check's own text, compiled there.
  const sloppy = new Function(`return (${assertStrictMode.toString()});`)() as (entry: string) => void;
  expect(() => sloppy("parquet writer worker")).toThrow('parquet writer worker: this build runs in sloppy mode; build it with build/build.ts (it adds "use strict")');
});
