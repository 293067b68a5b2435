/** Which settings `harvestd store` refuses before it starts (pipeline/store/store.ts). */
import { expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { storeConfigProblems } from "../../src/pipeline/store/store.ts";

const cfg = (feed: Record<string, unknown>) => ConfigSchema.parse({ feed });

test("a full-depth book is refused; depth5, or no book at all, is not", () => {
  expect(storeConfigProblems(cfg({ depth: "full" })).map((p) => p.path)).toEqual(["feed.depth"]);
  expect(storeConfigProblems(cfg({ depth: "depth5" }))).toEqual([]);
  expect(storeConfigProblems(cfg({ depth: "full", enable_orderbook: false }))).toEqual([]);
});
