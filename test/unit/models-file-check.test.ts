/**
 * A model file is checked completely at load (model-check.ts): real files trained here for every
 * family (and an ensemble of them) load and score finite probabilities, and each corruption a user
 * could make of them — a field deleted, a string among the numbers, an array cut short, a member's
 * family disagreeing with its body, a tree that loops, a layer of the wrong size — is refused with
 * one line naming the member and the field. Behind that check, a model that still fails at a signal
 * (built without loading) skips the signal with reason model_error, counted, logged once and named
 * by /health; the row path does not throw.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Row, RowKind, RowSink } from "../../src/core/rows.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { FLAT_FEATURES, SEQ_CHANNELS } from "../../src/models/features.ts";
import { ModelFilter } from "../../src/models/live.ts";
import { memberProblem } from "../../src/models/model-check.ts";
import { loadModelFile, type ModelFile } from "../../src/models/model-file.ts";
import { modelPredictor } from "../../src/models/predictor.ts";
import { runTraining } from "../../src/models/train.ts";
import { PaperTap, traderParams } from "../../src/trading/paper/paper-tap.ts";
import type { Logger } from "../../src/util/log.ts";
import { tempDir } from "../helpers/binary.ts";
import { prng } from "../helpers/prng.ts";
import { makeMarket, randomLogisticModel, syntheticTrainRequest, writeMarket } from "./models-support.ts";

/** A model file as parsed JSON, edited freely by the corruptions below. */
type Json = any;

const FAMILIES = ["logistic", "gbdt", "mlp", "lstm", "cnn"] as const;
let root: string;
let trainedDir: string;
const trained: Record<string, Json> = {};

beforeAll(async () => {
  root = tempDir("model-check");
  const stores = writeMarket(root, "SYNUSDT", makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 40, seed: 7, edge: "none", tradeMs: 500 }));
  trainedDir = join(root, "model");
  await runTraining(
    syntheticTrainRequest(stores, trainedDir, [...FAMILIES], { folds: 2, epochs: { mlp: 1, lstm: 1, cnn: 1 }, randomKFold: [] }),
    () => {},
  );
  for (const f of FAMILIES) trained[f] = JSON.parse(readFileSync(join(trainedDir, `${f}.model.json`), "utf8"));
  // an ensemble as train writes it when families pass: one file, their members
  trained.ensemble = { ...trained.logistic, name: "ensemble", members: FAMILIES.map((f) => trained[f].members[0]) };
}, 240_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function load(v: Json): ReturnType<typeof loadModelFile> {
  const p = join(root, `v${n++}.json`);
  writeFileSync(p, JSON.stringify(v));
  return loadModelFile(p);
}
/** A deep copy of a trained file, changed by `edit`, must be refused with an error containing every `want`. */
function refused(name: string, edit: (m: Json) => void, ...want: string[]): void {
  const m = structuredClone(trained[name]);
  edit(m);
  const r = load(m);
  expect(r.ok).toBe(false);
  const error = r.ok ? "" : r.error;
  expect(error.split("\n")).toHaveLength(1);
  for (const w of want) expect(error).toContain(w);
}

describe("real trained files", () => {
  test("every family's file and an ensemble load, and score finite probabilities in [0, 1]", () => {
    const r = prng(5);
    for (const name of [...FAMILIES, "ensemble"]) {
      const l = load(trained[name]);
      expect(l.ok ? "ok" : l.error).toBe("ok");
      const predict = modelPredictor((l as { model: ModelFile }).model.members);
      for (let i = 0; i < 20; i++) {
        const flat = Float64Array.from(FLAT_FEATURES, () => r() * 4 - 2);
        const seq = Float32Array.from({ length: 30 * SEQ_CHANNELS.length }, (_, k) => (k % SEQ_CHANNELS.length === 0 ? 1 : r() * 4 - 2));
        const p = predict({ flat, seq });
        expect(p >= 0 && p <= 1).toBe(true);
      }
    }
    // model.json is one of them, as written
    expect(loadModelFile(join(trainedDir, "model.json")).ok).toBe(true);
  });
});

describe("a corrupt body is refused at load, naming the member and the field", () => {
  test("logistic: weights or normalisation missing, a string, cut short; a family that disagrees", () => {
    refused("logistic", (m) => delete m.members[0].body.weights, "members[0].body.weights: expected an array of numbers, got missing");
    refused("logistic", (m) => delete m.members[0].normalisation, "members[0].normalisation: expected an object, got missing");
    refused("logistic", (m) => delete m.members[0].normalisation.flat_mean, "members[0].normalisation.flat_mean");
    refused("logistic", (m) => (m.members[0].body.weights[3] = "0.5"), 'members[0].body.weights[3]: expected a finite number, got "0.5"');
    refused("logistic", (m) => (m.members[0].body.weights = m.members[0].body.weights.slice(0, 5)), `members[0].body.weights: expected ${FLAT_FEATURES.length} numbers (one per flat feature), got 5`);
    refused("logistic", (m) => (m.members[0].body.bias = null), "members[0].body.bias: expected a finite number, got null");
    refused("logistic", (m) => (m.members[0].family = "gbdt"), 'members[0].body.family: "logistic" disagrees with the member\'s family "gbdt"');
    refused("logistic", (m) => (m.members[0].body.family = "mlp"), 'members[0].body.family: "mlp" disagrees');
    refused("logistic", (m) => (m.members[0].family = "forest"), "members[0].family: expected one of");
    refused("logistic", (m) => (m.members[0].normalisation.flat_std[2] = 0), "members[0].normalisation.flat_std[2]: expected a standard deviation > 0, got 0");
    refused("logistic", (m) => m.members[0].normalisation.flat_std.pop(), `members[0].normalisation.flat_std: expected ${FLAT_FEATURES.length} numbers`);
    refused("logistic", (m) => delete m.training.data_hash, "training.data_hash");
  });

  test("a number JSON reads as ±Infinity (1e999) is named so, not as null; NaN likewise", () => {
    const SENTINEL = 12345.678;
    for (const [text, shown] of [["1e999", "Infinity"], ["-1e999", "-Infinity"]]) {
      const m = structuredClone(trained.logistic);
      m.members[0].body.weights[2] = SENTINEL;
      const p = join(root, `v${n++}.json`);
      writeFileSync(p, JSON.stringify(m).replace(String(SENTINEL), text));
      const r = loadModelFile(p);
      expect(r.ok ? "" : r.error).toContain(`members[0].body.weights[2]: expected a finite number, got ${shown}`);
    }
    const m = structuredClone(trained.logistic);
    m.members[0].body.bias = Number.NaN;
    const shape = { flat: FLAT_FEATURES.length, seqChannels: SEQ_CHANNELS.length, seqLen: 30 };
    expect(memberProblem(m.members[0], 0, shape)).toBe("members[0].body.bias: expected a finite number, got NaN");
  });

  test("gbdt: a tree that loops or points outside, a feature index out of range, arrays of other lengths", () => {
    const split = (m: Json): [Json, number] => {
      const t = m.members[0].body.trees[0];
      return [t, t.feature.findIndex((f: number) => f >= 0)];
    };
    refused("gbdt", (m) => delete m.members[0].body.trees, "members[0].body.trees: expected an array of trees, got missing");
    refused("gbdt", (m) => (m.members[0].body.base = "0"), "members[0].body.base: expected a finite number");
    refused("gbdt", (m) => { const [t, k] = split(m); t.left[k] = k; }, "members[0].body.trees[0].left[", "expected a later node's index");
    refused("gbdt", (m) => { const [t, k] = split(m); t.right[k] = t.feature.length; }, "members[0].body.trees[0].right[");
    refused("gbdt", (m) => { const [t, k] = split(m); t.feature[k] = FLAT_FEATURES.length; }, "members[0].body.trees[0].feature[", "flat feature's index");
    refused("gbdt", (m) => m.members[0].body.trees[0].value.pop(), "members[0].body.trees[0].value: expected", "(one per node, as feature)");
    refused("gbdt", (m) => (m.members[0].body.trees[0].threshold[0] = "x"), "members[0].body.trees[0].threshold[0]: expected a finite number");
    refused("gbdt", (m) => (m.members[0].body.trees[1] = null), "members[0].body.trees[1]: expected an object");
  });

  test("mlp, lstm, cnn: layers of the wrong size, order or output", () => {
    refused("mlp", (m) => m.members[0].body.layers[0].kernel.pop(), `members[0].body.layers[0].kernel: expected ${FLAT_FEATURES.length * 32} numbers (${FLAT_FEATURES.length} inputs × 32 units), got ${FLAT_FEATURES.length * 32 - 1}`);
    refused("mlp", (m) => (m.members[0].body.layers[1].bias[0] = null), "members[0].body.layers[1].bias[0]: expected a finite number");
    refused("mlp", (m) => (m.members[0].body.layers.at(-1).activation = "linear"), "the last layer must be one sigmoid unit");
    refused("mlp", (m) => (m.members[0].body.layers[0].units = 31), "members[0].body.layers[0].kernel: expected");
    refused("mlp", (m) => (m.members[0].body.layers[0].type = "dropout"), "members[0].body.layers: expected a mlp's layers (dense, …), got dropout");
    refused("mlp", (m) => delete m.members[0].body.layers, "members[0].body.layers: expected a non-empty array");
    refused("lstm", (m) => m.members[0].body.layers[0].recurrent.pop(), "members[0].body.layers[0].recurrent: expected 256 numbers (8 units × 4·8 gates)");
    refused("lstm", (m) => (m.members[0].normalisation.seq_mean = []), `members[0].normalisation.seq_mean: expected ${SEQ_CHANNELS.length} numbers (one per sequence channel), got 0`);
    refused("cnn", (m) => (m.members[0].body.layers[0].width = 31), "members[0].body.layers[0].width: 31 is wider than its input's 30 steps");
    refused("cnn", (m) => m.members[0].body.layers.splice(2, 1), "members[0].body.layers: expected a cnn's layers");
    refused("cnn", (m) => (m.members[0].body.layers[1].filters = 4), "members[0].body.layers[1].kernel: expected");
  });

  test("ensemble: a corrupt second member is named", () => {
    refused("ensemble", (m) => delete m.members[1].body.trees[0].value, "members[1].body.trees[0].value");
    refused("ensemble", (m) => (m.members[4].family = "lstm"), 'members[4].body.family: "cnn" disagrees with the member\'s family "lstm"');
  });
});

describe("a model that fails at a signal anyway (built without loading)", () => {
  test("skips every signal with reason model_error, counted, logged once, named by /health; nothing throws", () => {
    const cfg = ConfigSchema.parse({
      paper: { enable: true },
      strategy: { regimes: Object.fromEntries(["A_H", "A_L", "Q_H", "Q_L"].map((k) => [k, { cooldown_sec: 0, max_spread_bps: 50 }])) },
      risk: { max_orders_per_min: 1000, cost: { enable: false } },
    });
    for (const breakIt of [(m: Json) => delete m.members[0].body.weights, (m: Json) => (m.members[0].body.weights[0] = "x")]) {
      const model = structuredClone(randomLogisticModel({ seed: 3, threshold: 0.6, flatStd: 3, bias: 0.2 })) as Json;
      breakIt(model);
      const decisions: Row[] = [];
      const logged: unknown[][] = [];
      const log: Logger = { log: (...a) => void logged.push(a), limited: (...a) => void logged.push(a) };
      const sink: RowSink = { append: (k: RowKind, r: Row) => void (k === "model_decisions" && decisions.push(r)) };
      const filter = new ModelFilter(model, { path: "", threshold: 0.6, mode: "filter" }, sink, log);
      const head = filter.tap(new PaperTap(sink, traderParams(cfg), filter));
      const m = makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 10, seed: 4, edge: "none" });
      const order: Record<string, number> = { orderbook: 0, features: 1, prices: 2, fusion: 3 };
      const events: [RowKind, Row][] = [];
      for (const [k, rs] of Object.entries(m.rows)) for (const r of rs) events.push([k as RowKind, r]);
      events.sort((a, b) => (a[1].ts_ms as number) - (b[1].ts_ms as number) || order[a[0]] - order[b[0]]);
      for (const [k, r] of events) head.append(k, r);
      expect(decisions.length).toBeGreaterThan(5);
      const scored = decisions.filter((d) => d.reason !== "no_features");
      expect(scored.length).toBeGreaterThan(5);
      for (const d of scored) {
        expect(d.reason).toBe("model_error");
        expect(d.probability).toBeNull();
        expect(d.taken).toBe(false);
      }
      expect(filter.modelErrors).toBe(scored.length);
      expect(logged).toHaveLength(1);
      expect(logged[0][0]).toBe("error");
      const reasons = filter.healthReasons();
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toContain(`model logistic@000000000000 failed at ${scored.length} signals (skipped, reason model_error)`);
    }
  });
});
