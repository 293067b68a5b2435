/**
 * The user's walkthrough with the compiled binary: `harvestd train` writes a logistic model from a
 * synthetic store (real Parquet, the project's writer); that file validates; with its body corrupted
 * (`jq 'del(.members[0].body.weights)'`, a string among the weights, weights cut short, a member
 * family that disagrees) `validate`, `run` and `replay` refuse it at start with one line naming
 * model.path, the file and the field, exit 78, no stack trace. Nothing here reaches a network.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FLAT_FEATURES } from "../../src/models/features.ts";
import { collectorEnv, ensureBinary, freePort, runBinary, startBinary, tempDir } from "../helpers/binary.ts";
import { makeMarket, writeMarket } from "../unit/models-support.ts";

let dir: string;
let trained: { members: { family: string; body: Record<string, unknown> }[] };
const env = (): Record<string, string> => ({
  OUTPUT_DIR: join(dir, "raw"),
  PREVIEW_DIR: join(dir, "preview"),
  NDJSON_DIR: join(dir, "nd"),
  ARTIFACTS_DIR: join(dir, "art"),
});

/** A config with paper trading on and `[model] path` = a copy of the trained file changed by `edit`. */
function configWith(name: string, edit: (m: typeof trained) => void): { cfg: string; model: string } {
  const m = structuredClone(trained);
  edit(m);
  const model = join(dir, `${name}.json`);
  writeFileSync(model, JSON.stringify(m));
  const cfg = join(dir, `${name}.toml`);
  writeFileSync(cfg, `[paper]\nenable = true\n[model]\npath = ${JSON.stringify(model)}\n`);
  return { cfg, model };
}

beforeAll(async () => {
  ensureBinary();
  dir = tempDir("models-corrupt");
  const stores = writeMarket(dir, "SYNUSDT", makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 40, seed: 7, edge: "none", tradeMs: 500 }));
  const r = await runBinary(["train", "--from", "2026-01-05", "--to", "2026-01-05", "--models", "logistic", "--folds", "2", "--out", join(dir, "zoo")], {
    ...env(),
    OUTPUT_DIR: stores.rawDir,
    PREVIEW_DIR: stores.previewDir,
  });
  if (r.exitCode !== 0) throw new Error(`train failed (${r.exitCode}): ${r.stderr}`);
  trained = JSON.parse(readFileSync(join(dir, "zoo", "logistic.model.json"), "utf8"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a model file with a corrupt body (compiled binary)", () => {
  test("the trained file as written validates", async () => {
    const { cfg } = configWith("good", () => {});
    const r = await runBinary(["validate", "--config", cfg], env());
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("validate refuses each corruption with exit 78, one line naming model.path, the file and the field", async () => {
    const cases: [string, (m: typeof trained) => void, string][] = [
      ["no-weights", (m) => delete m.members[0].body.weights, "members[0].body.weights: expected an array of numbers, got missing"],
      ["string-weight", (m) => ((m.members[0].body.weights as unknown[])[2] = "0.1"), 'members[0].body.weights[2]: expected a finite number, got "0.1"'],
      ["short-weights", (m) => (m.members[0].body.weights = (m.members[0].body.weights as number[]).slice(0, 5)), `members[0].body.weights: expected ${FLAT_FEATURES.length} numbers (one per flat feature), got 5`],
      ["family", (m) => (m.members[0].family = "gbdt"), 'members[0].body.family: "logistic" disagrees with the member\'s family "gbdt"'],
      ["no-normalisation", (m) => delete (m.members[0] as Record<string, unknown>).normalisation, "members[0].normalisation: expected an object, got missing"],
    ];
    for (const [name, edit, want] of cases) {
      const { cfg, model } = configWith(name, edit);
      const r = await runBinary(["validate", "--config", cfg], env());
      expect(r.exitCode).toBe(78);
      expect(r.stdout).not.toContain("configuration ok");
      const line = r.stderr.split("\n").find((l) => l.trim().startsWith("model.path:"));
      expect(line).toBeDefined();
      expect(line).toContain(model);
      expect(line).toContain(want);
      expect(r.stderr).not.toContain("    at ");
    }
  });

  test("a model.path given with --set is blamed on the flag, not the file", async () => {
    const { cfg } = configWith("flagged", () => {});
    const missing = join(dir, "no-such-model.json");
    const r = await runBinary(["validate", "--config", cfg, "--set", `model.path=${JSON.stringify(missing)}`], env());
    expect(r.exitCode).toBe(78);
    const line = r.stderr.split("\n").find((l) => l.trim().startsWith("model.path:"))!;
    expect(line).toContain("does not exist");
    expect(line).toContain("[flag model.path]");
  });

  test("run and replay refuse it at start the same way (exit 78, before any connection)", async () => {
    const { cfg, model } = configWith("run", (m) => delete m.members[0].body.weights);
    const nd = join(dir, "empty.ndjson");
    writeFileSync(nd, "");
    // the exchange is a closed local port: a run that got past the check would only retry, and is stopped
    const closed = { publicWsBase: "ws://127.0.0.1:9", marketWsBase: "ws://127.0.0.1:9", restBase: "http://127.0.0.1:9" };
    for (const args of [["run", "--config", cfg], ["replay", "--config", cfg, nd]]) {
      const b = startBinary(args, collectorEnv(closed, ["BTCUSDT"], dir, freePort()));
      const exited = await Promise.race([b.proc.exited, Bun.sleep(10_000).then(() => null)]);
      const r = await b.stop("SIGKILL");
      expect(exited).toBe(78);
      expect(r.stderr).toContain(`model.path: model file ${model}: members[0].body.weights`);
    }
  }, 30_000);
});
