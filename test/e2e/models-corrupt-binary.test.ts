/**
 * The user's walkthrough with the compiled binary: `harvestd train` writes a logistic model from a
 * synthetic store (real Parquet, the project's writer); that file validates; with its body corrupted
 * (`jq 'del(.members[0].body.weights)'`, a string among the weights, weights cut short, a member
 * family that disagrees) `validate`, `run` and `replay` refuse it at start with one line naming
 * model.path, the file and the field, exit 78, no stack trace. A file whose own verdict is "no edge"
 * is accepted by all three with one warning line. `train` reads a symbol named twice once, and
 * refuses an --out that is a file before reading anything (exit 2). Nothing here reaches a network.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FLAT_FEATURES } from "../../src/models/features.ts";
import { collectorEnv, ensureBinary, freePort, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { makeMarket, writeMarket } from "../unit/models-support.ts";

let dir: string;
let trained: { verdict: string; members: { family: string; body: Record<string, unknown> }[] };
let train: RunResult;
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
  // the symbol named twice: its samples must be counted once
  train = await runBinary(["train", "--from", "2026-01-05", "--to", "2026-01-05", "--symbols", "SYNUSDT,synusdt", "--models", "logistic", "--folds", "2", "--out", join(dir, "zoo")], {
    ...env(),
    OUTPUT_DIR: stores.rawDir,
    PREVIEW_DIR: stores.previewDir,
  });
  if (train.exitCode !== 0) throw new Error(`train failed (${train.exitCode}): ${train.stderr}`);
  trained = JSON.parse(readFileSync(join(dir, "zoo", "logistic.model.json"), "utf8"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a model file with a corrupt body (compiled binary)", () => {
  test("train read the symbol named twice once", () => {
    const perSymbol = train.stderr.split("\n").filter((l) => l.startsWith("train: SYNUSDT: "));
    expect(perSymbol).toHaveLength(1);
    const labelled = Number(/→ (\d+) labelled signals/.exec(perSymbol[0])![1]);
    expect(JSON.parse(readFileSync(join(dir, "zoo", "report.json"), "utf8")).dataset.samples).toBe(labelled);
  });

  test("train --out naming a file is a usage error before anything is read: exit 2, one line", async () => {
    const file = join(dir, "zoo", "model.json");
    const r = await runBinary(["train", "--from", "2026-01-05", "--to", "2026-01-05", "--out", file], env());
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`harvestd: train --out ${file} is a file, not a folder (the model files and the report are written into a folder)\n`);
  });

  test("the trained file as written validates; with its own verdict \"no edge\" it does so with one warning line", async () => {
    // an edge whose out-of-sample trades earn (those of the file as trained lose after fees: with "edge" that warns)
    const { cfg } = configWith("good", (m) => Object.assign(m, { verdict: "edge", trades: { verdict: "earn", threshold: 0.6, n: 50, wins: 30, mean_ret_bps: 2 } }));
    const r = await runBinary(["validate", "--config", cfg], env());
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const noEdge = configWith("no-edge", (m) => (m.verdict = "no edge"));
    const w = await runBinary(["validate", "--config", noEdge.cfg], env());
    expect(w.exitCode).toBe(0);
    expect(w.stdout).toContain("configuration ok");
    const lines = w.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith(`harvestd: warning: model.path: model file ${noEdge.model}: its own verdict is "no edge"`);
    // Trained on other exits than the strategy's now: its probabilities are for other trades.
    const otherExits = configWith("other-exits", (m) => {
      m.verdict = "edge";
      ((m as unknown as { training: { barrier: { stop_bps: number } } }).training.barrier.stop_bps += 7);
    });
    const x = await runBinary(["validate", "--config", otherExits.cfg], env());
    expect({ code: x.exitCode, warnings: x.stderr.split("\n").filter((l) => l.includes("was trained on labels with other exits")).length }).toEqual({ code: 0, warnings: 1 });
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

  test("run and replay accept a model whose own verdict is \"no edge\", with one warning line at start", async () => {
    const { cfg, model } = configWith("run-no-edge", (m) => (m.verdict = "no edge"));
    const nd = join(dir, "empty-no-edge.ndjson");
    writeFileSync(nd, "");
    const closed = { publicWsBase: "ws://127.0.0.1:9", marketWsBase: "ws://127.0.0.1:9", restBase: "http://127.0.0.1:9" };
    for (const args of [["run", "--config", cfg], ["replay", "--config", cfg, nd]]) {
      const at = join(dir, args[0]);
      const b = startBinary(args, collectorEnv(closed, ["BTCUSDT"], at, freePort()));
      // replay of an empty file ends by itself (nothing to replay); run keeps retrying the closed
      // port, so it is stopped once its run log exists — after the start check
      await Promise.race([b.proc.exited, waitFor("the run log", () => (existsSync(join(at, "artifacts", "run_logs")) ? true : undefined), 10_000)]);
      const r = await b.stop("SIGTERM");
      expect(r.stderr).not.toContain("model.path: model file " + model + ": members");
      const warnings = r.stderr.split("\n").filter((l) => l.includes("its own verdict is"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toStartWith(`harvestd: warning: model.path: model file ${model}: its own verdict is "no edge"`);
    }
  }, 30_000);
});
