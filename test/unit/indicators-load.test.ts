/**
 * Loading custom indicator modules (src/indicators/load.ts): every way a module can be wrong is one
 * problem naming the entry, the file and what is wrong; a good module is registered as a kind.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { schemaOf } from "../../src/core/rows.ts";
import { CustomIndicators } from "../../src/indicators/custom-indicators.ts";
import { formatIndicatorProblem, loadIndicators } from "../../src/indicators/load.ts";
import type { Row, RowSink, SinkKind } from "../../src/core/rows.ts";
import { silentLogger } from "../../src/util/log.ts";
import { IndicatorsParamsSchema } from "../../src/indicators/params.ts";
import { tempDir } from "../helpers/binary.ts";

const dir = tempDir("ind-load");
let n = 0;
/** Writes a module under a fresh name (imports are cached per path). */
function mod(text: string, ext = "ts"): string {
  const p = join(dir, `m${++n}.${ext}`);
  writeFileSync(p, text);
  return p;
}
const good = (name: string, extra = "") =>
  `export default { name: "${name}", columns: { a: "double", b: "int64", c: "string", d: "bool" }, ${extra} create() { return { onTrade() {} }; } };\n`;

async function problemOf(text: string, params: Record<string, unknown> = {}, ext = "ts"): Promise<string> {
  const file = mod(text, ext);
  const r = await loadIndicators([{ module: file, params }]);
  if (r.ok) throw new Error("expected a problem");
  expect(r.problems.length).toBe(1);
  expect(r.problems[0]!.file).toBe(file);
  const line = formatIndicatorProblem(r.problems[0]!);
  expect(line).toContain(file);
  expect(line).not.toContain("\n");
  return r.problems[0]!.message;
}

describe("loadIndicators", () => {
  test("a good module loads, with its columns in order, and its kind is registered with symbol and ts_ms first", async () => {
    const file = mod(good("load_ok"));
    const r = await loadIndicators([{ module: file, params: { x: 1 } }]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const l = r.indicators[0]!;
    expect(l.name).toBe("load_ok");
    expect(l.kind).toBe("custom_load_ok");
    expect(l.params).toEqual({ x: 1 });
    expect(Object.isFrozen(l.params)).toBe(true);
    expect(schemaOf("custom_load_ok")!.map((d) => `${d.name}:${d.type}:${d.nullable}`)).toEqual([
      "symbol:str:false",
      "ts_ms:ts:false",
      "a:f64:true",
      "b:i64:true",
      "c:str:true",
      "d:bool:true",
    ]);
  });

  test("the configured name overrides the module's, so one module can run twice", async () => {
    const file = mod(good("twice"));
    const r = await loadIndicators([
      { module: file, name: "twice_a", params: {} },
      { module: file, name: "twice_b", params: {} },
    ]);
    expect(r.ok && r.indicators.map((i) => i.kind)).toEqual(["custom_twice_a", "custom_twice_b"]);
    const clash = await loadIndicators([{ module: file, params: {} }, { module: file, params: {} }]);
    expect(clash.ok).toBe(false);
    if (!clash.ok) expect(clash.problems[0]!.message).toContain("already used");
  });

  test("a JavaScript module with relative and node: imports loads", async () => {
    const helper = mod("export const k = 2;\n", "js");
    const file = mod(`import { k } from "./${helper.split("/").pop()}";\nimport { createHash } from "node:crypto";\nexport default { name: "js_ok", columns: { v: "double" }, create() { return { onTrade(t, emit) { emit({ ts_ms: t.ts_ms, v: k }); } }; }, h: createHash("sha1") };\n`, "js");
    const r = await loadIndicators([{ module: file, params: {} }]);
    expect(r.ok).toBe(true);
  });

  test("a missing file", async () => {
    const file = join(dir, "nope.ts");
    const r = await loadIndicators([{ module: file, params: {} }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatIndicatorProblem(r.problems[0]!)).toBe(`indicators.custom[0] (${file}): file not found`);
  });

  test("a syntax error names its line and column", async () => {
    const msg = await problemOf(`export default {\n  name: "syn",\n  create() { let = ; },\n};\n`);
    expect(msg).toMatch(/^cannot load: .+ \(line 3:\d+\)$/);
  });

  test("several syntax errors: the first is reported with its position", async () => {
    const msg = await problemOf(`export default {\n  name: "syn2",\n  columns: { x: "double" }\n  create() { return {}; },\n};\n`);
    expect(msg).toMatch(/^cannot load: .+ \(line 4:\d+\)$/);
  });

  test("a relative import that does not exist, and a package import", async () => {
    expect(await problemOf(`import { x } from "./missing-helper.ts";\nexport default x;\n`)).toContain("missing-helper.ts");
    expect(await problemOf(`import { x } from "no-such-package-here";\nexport default x;\n`)).toContain("only relative files and node: built-ins");
  });

  test("a module that throws while loading", async () => {
    // The line of the throw in the module itself.
    expect(await problemOf(`const x = 1;\n\nthrow new Error("top-level boom");\n`)).toMatch(/^cannot load: the module threw while loading: top-level boom \([\w-]+\.ts:3:\d+\)$/);
  });

  test("contract violations: default export, name, create, columns", async () => {
    expect(await problemOf(`export const x = 1;\n`)).toContain("no default export");
    expect(await problemOf(good("Bad-Name"))).toContain('name "Bad-Name"');
    expect(await problemOf(`export default { name: "nocreate", columns: { a: "double" } };\n`)).toContain("create must be a function");
    expect(await problemOf(`export default { name: "nocols", create() { return {}; } };\n`)).toContain("columns must be an object");
    expect(await problemOf(`export default { name: "emptycols", columns: {}, create() { return {}; } };\n`)).toContain("at least one column");
    expect(await problemOf(`export default { name: "badtype", columns: { a: "float" }, create() { return {}; } };\n`)).toBe(
      'column "a" has type "float"; expected "double", "int64", "string" or "bool"',
    );
    expect(await problemOf(`export default { name: "reserved", columns: { symbol: "string" }, create() { return {}; } };\n`)).toContain("added by harvestd");
    expect(await problemOf(`export default { name: "badcol", columns: { "Bad Col": "double" }, create() { return {}; } };\n`)).toContain('column "Bad Col"');
  });

  test("params: the module's validateParams refuses, or throws", async () => {
    const validator = `validateParams(p) { return typeof p.window_sec === "number" ? null : "window_sec must be a number"; },`;
    expect(await problemOf(good("vp", validator), { window_sec: "x" })).toBe("params rejected by the module: window_sec must be a number");
    const file = mod(good("vp_ok", validator));
    expect((await loadIndicators([{ module: file, params: { window_sec: 5 } }])).ok).toBe(true);
    expect(await problemOf(good("vp_throw", `validateParams() { throw new Error("nope"); },`))).toBe("validateParams threw: nope");
  });

  test("every bad entry is reported, each on its own line, and nothing is registered", async () => {
    const ok = mod(good("all_ok"));
    const r = await loadIndicators([
      { module: join(dir, "gone.ts"), params: {} },
      { module: ok, params: {} },
      { module: mod(`export default 5;\n`), params: {} },
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.entry)).toEqual(["indicators.custom[0]", "indicators.custom[2]"]);
    expect(schemaOf("custom_all_ok")).toBeUndefined();
  });
});

describe("[indicators] config section", () => {
  test("defaults to no custom indicators; names, module extensions and unknown keys are checked", () => {
    expect(IndicatorsParamsSchema.parse({})).toEqual({ custom: [] });
    expect(IndicatorsParamsSchema.parse({ custom: [{ module: "a.ts" }] }).custom[0]!.params).toEqual({});
    expect(IndicatorsParamsSchema.safeParse({ custom: [{ module: "a.py" }] }).success).toBe(false);
    expect(IndicatorsParamsSchema.safeParse({ custom: [{ module: "a.ts", name: "X" }] }).success).toBe(false);
    expect(IndicatorsParamsSchema.safeParse({ custom: [{ module: "a.ts", modul: "b" }] }).success).toBe(false);
    expect(IndicatorsParamsSchema.safeParse({ custom: [{ module: "a.ts", name: "x" }, { module: "b.ts", name: "x" }] }).success).toBe(false);
  });
});

describe("docs/indicators-custom.md", () => {
  test("the quick-start module loads and writes the same rows as examples/indicators/vwap-dev.ts", async () => {
    const doc = readFileSync(join(import.meta.dir, "..", "..", "docs", "indicators-custom.md"), "utf8");
    const code = /`indicators\/vwap-dev\.ts`:\n\n```ts\n([\s\S]*?)```/.exec(doc)![1]!;
    const quick = mod(code);
    const example = join(import.meta.dir, "..", "..", "examples", "indicators", "vwap-dev.ts");
    const r = await loadIndicators([
      { module: quick, name: "quick", params: { window_sec: 2 } },
      { module: example, name: "example", params: { window_sec: 2 } },
    ]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const rows: Record<string, Row[]> = { custom_quick: [], custom_example: [] };
    const sink: RowSink = { append: (kind: SinkKind, row: Row) => void rows[kind]!.push(row) };
    const set = new CustomIndicators(r.indicators, silentLogger);
    const host = set.host("BTCUSDT", sink);
    for (let a = 1; a <= 300; a++) {
      const T = 1_700_000_000_000 + a * 37;
      host.onTrade({ kind: "aggTrade", symbol: "BTCUSDT", eventTime: T + 3, tradeTime: T, aggId: a, price: 100 + Math.sin(a / 7), qty: 0.5 + (a % 5), firstTradeId: null, lastTradeId: null, buyerIsMaker: a % 3 === 0 }, T + 5, false);
    }
    expect(set.views().map((v) => v.errors)).toEqual([0, 0]);
    expect(rows.custom_quick!.length).toBe(300);
    rows.custom_quick!.forEach((q, i) => {
      const e = rows.custom_example![i]!;
      expect(q.ts_ms).toBe(e.ts_ms);
      expect(q.n).toBe(e.n);
      expect(q.vwap as number).toBeCloseTo(e.vwap as number, 9);
      expect(q.dev_bps as number).toBeCloseTo(e.dev_bps as number, 6);
    });
  });
});
