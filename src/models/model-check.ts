/**
 * The complete check of a model file's members, at load: every number the predictor will read is
 * there, is a finite number, and sits in an array as long as the feature list and the family's shape
 * say — so a file that passes cannot crash the collector or score NaN at a signal (predictor.ts reads
 * the bodies without looking). Each problem is one phrase naming the member and the field.
 *
 * What each family's body must be (the shapes train.ts writes, types.ts):
 * - every member: `family` one of the families and equal to `body.family`; a normalisation whose
 *   part the family reads (flat: logistic, gbdt, mlp; sequence: lstm, cnn) has one mean and one
 *   standard deviation (> 0) per input, the other part empty or as long; all finite.
 * - logistic: one weight per flat feature, a bias.
 * - gbdt: a base and trees; per tree five arrays of one length ≥ 1; a split node's feature is a flat
 *   feature's index, its children come after it (so a walk ends), its threshold is finite; a leaf has
 *   feature −1; values finite.
 * - mlp, lstm, cnn: the family's layer order (mlp: dense…; lstm: lstm, dense…; cnn: conv1d…,
 *   global_average_pool, dense…), each layer's arrays as long as its input and sizes make them, and a
 *   last dense layer of one sigmoid unit (a probability).
 */
import type { FamilyName } from "./families/types.ts";

const FAMILY_NAMES: readonly string[] = ["logistic", "gbdt", "mlp", "lstm", "cnn"];
const FLAT_FAMILIES: ReadonlySet<string> = new Set(["logistic", "gbdt", "mlp"]);
const ACTIVATIONS: readonly string[] = ["relu", "sigmoid", "linear"];

/** What the members are checked against: the file's (already matched) feature signature. */
export interface MemberShape {
  readonly flat: number;
  readonly seqChannels: number;
  readonly seqLen: number;
}

class Problem extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A value as the file had it: JSON.stringify would show a weight of 1e999 (parsed as Infinity) as null. */
function show(v: unknown): string {
  if (v === undefined) return "missing";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v).slice(0, 40);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!isObj(v)) throw new Problem(`${what}: expected an object, got ${show(v)}`);
  return v;
}

function finite(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Problem(`${what}: expected a finite number, got ${show(v)}`);
  return v;
}

function count(v: unknown, what: string, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new Problem(`${what}: expected a whole number ≥ ${min}, got ${show(v)}`);
  return v;
}

/** An array of finite numbers; `len`: the lengths allowed, and why. */
function numbers(v: unknown, what: string, len: { readonly n: readonly number[]; readonly why: string }): readonly number[] {
  if (!Array.isArray(v)) throw new Problem(`${what}: expected an array of numbers, got ${show(v)}`);
  if (!len.n.includes(v.length)) throw new Problem(`${what}: expected ${len.n.join(" or ")} numbers (${len.why}), got ${v.length}`);
  for (let i = 0; i < v.length; i++) finite(v[i], `${what}[${i}]`);
  return v as number[];
}

function normalisation(v: unknown, family: string, s: MemberShape, at: string): void {
  const n = obj(v, `${at}.normalisation`);
  const flatUsed = FLAT_FAMILIES.has(family);
  const part = (key: "flat" | "seq", size: number, used: boolean) => {
    const len = { n: used ? [size] : [0, size], why: `one per ${key === "flat" ? "flat feature" : "sequence channel"}` };
    numbers(n[`${key}_mean`], `${at}.normalisation.${key}_mean`, len);
    const std = numbers(n[`${key}_std`], `${at}.normalisation.${key}_std`, len);
    std.forEach((x, i) => {
      if (x <= 0) throw new Problem(`${at}.normalisation.${key}_std[${i}]: expected a standard deviation > 0, got ${x}`);
    });
  };
  part("flat", s.flat, flatUsed);
  part("seq", s.seqChannels, !flatUsed);
}

function gbdtBody(b: Record<string, unknown>, s: MemberShape, at: string): void {
  finite(b.base, `${at}.base`);
  if (!Array.isArray(b.trees)) throw new Problem(`${at}.trees: expected an array of trees, got ${show(b.trees)}`);
  b.trees.forEach((tv, ti) => {
    const tat = `${at}.trees[${ti}]`;
    const t = obj(tv, tat);
    if (!Array.isArray(t.feature) || t.feature.length < 1) throw new Problem(`${tat}.feature: expected an array of at least one node, got ${show(t.feature)}`);
    const nodes = t.feature.length;
    const len = { n: [nodes], why: "one per node, as feature" };
    const feature = numbers(t.feature, `${tat}.feature`, len);
    numbers(t.threshold, `${tat}.threshold`, len);
    const left = numbers(t.left, `${tat}.left`, len);
    const right = numbers(t.right, `${tat}.right`, len);
    numbers(t.value, `${tat}.value`, len);
    for (let k = 0; k < nodes; k++) {
      const f = feature[k];
      if (f === -1) continue;
      if (!Number.isInteger(f) || f < 0 || f >= s.flat) throw new Problem(`${tat}.feature[${k}]: expected −1 (a leaf) or a flat feature's index 0…${s.flat - 1}, got ${f}`);
      for (const [side, c] of [["left", left[k]], ["right", right[k]]] as const) {
        if (!Number.isInteger(c) || c <= k || c >= nodes) throw new Problem(`${tat}.${side}[${k}]: expected a later node's index ${k + 1}…${nodes - 1}, got ${c}`);
      }
    }
  });
}

function netBody(b: Record<string, unknown>, family: string, s: MemberShape, at: string): void {
  if (!Array.isArray(b.layers) || b.layers.length === 0) throw new Problem(`${at}.layers: expected a non-empty array of layers, got ${show(b.layers)}`);
  const layers = b.layers as unknown[];
  // the family's layer order, as nets.ts builds it
  const types = layers.map((l, i) => (isObj(l) && typeof l.type === "string" ? l.type : `${show(isObj(l) ? l.type : l)} (layer ${i})`));
  const order = family === "mlp" ? /^(dense )+$/ : family === "lstm" ? /^lstm (dense )+$/ : /^(conv1d )+global_average_pool (dense )+$/;
  const want = family === "mlp" ? "dense, …" : family === "lstm" ? "lstm, dense, …" : "conv1d, …, global_average_pool, dense, …";
  if (!order.test(types.map((t) => `${t} `).join(""))) throw new Problem(`${at}.layers: expected a ${family}'s layers (${want}), got ${types.join(", ")}`);
  let steps = family === "mlp" ? 1 : s.seqLen;
  let width = family === "mlp" ? s.flat : s.seqChannels;
  layers.forEach((lv, i) => {
    const lat = `${at}.layers[${i}]`;
    const l = lv as Record<string, unknown>;
    if (l.type === "dense") {
      const units = count(l.units, `${lat}.units`);
      if (typeof l.activation !== "string" || !ACTIVATIONS.includes(l.activation)) throw new Problem(`${lat}.activation: expected one of ${ACTIVATIONS.map((a) => `"${a}"`).join(", ")}, got ${show(l.activation)}`);
      numbers(l.kernel, `${lat}.kernel`, { n: [width * units], why: `${width} inputs × ${units} units` });
      numbers(l.bias, `${lat}.bias`, { n: [units], why: "one per unit" });
      if (i === layers.length - 1 && (units !== 1 || l.activation !== "sigmoid")) throw new Problem(`${lat}: the last layer must be one sigmoid unit (a probability), got ${units} ${l.activation} unit${units === 1 ? "" : "s"}`);
      width = units;
      steps = 1;
    } else if (l.type === "lstm") {
      const u = count(l.units, `${lat}.units`);
      numbers(l.kernel, `${lat}.kernel`, { n: [width * 4 * u], why: `${width} inputs × 4·${u} gates` });
      numbers(l.recurrent, `${lat}.recurrent`, { n: [u * 4 * u], why: `${u} units × 4·${u} gates` });
      numbers(l.bias, `${lat}.bias`, { n: [4 * u], why: `4·${u} gates` });
      width = u;
      steps = 1;
    } else if (l.type === "conv1d") {
      const filters = count(l.filters, `${lat}.filters`);
      const w = count(l.width, `${lat}.width`);
      if (w > steps) throw new Problem(`${lat}.width: ${w} is wider than its input's ${steps} steps`);
      numbers(l.kernel, `${lat}.kernel`, { n: [w * width * filters], why: `width ${w} × ${width} inputs × ${filters} filters` });
      numbers(l.bias, `${lat}.bias`, { n: [filters], why: "one per filter" });
      steps = steps - w + 1;
      width = filters;
    } else {
      steps = 1;
    }
  });
}

/**
 * The first problem with member `i` of a model file (one phrase naming the field), or null. A
 * member that passes is a valid ModelMember for the given feature shape.
 */
export function memberProblem(m: unknown, i: number, s: MemberShape): string | null {
  const at = `members[${i}]`;
  try {
    const member = obj(m, at);
    const family = member.family;
    if (typeof family !== "string" || !FAMILY_NAMES.includes(family)) throw new Problem(`${at}.family: expected one of ${FAMILY_NAMES.map((f) => `"${f}"`).join(", ")}, got ${show(family)}`);
    const body = obj(member.body, `${at}.body`);
    if (body.family !== family) throw new Problem(`${at}.body.family: ${show(body.family)} disagrees with the member's family "${family}"`);
    normalisation(member.normalisation, family, s, at);
    const bat = `${at}.body`;
    if (family === "logistic") {
      numbers(body.weights, `${bat}.weights`, { n: [s.flat], why: "one per flat feature" });
      finite(body.bias, `${bat}.bias`);
    } else if (family === "gbdt") gbdtBody(body, s, bat);
    else netBody(body, family as FamilyName, s, bat);
    return null;
  } catch (e) {
    if (e instanceof Problem) return e.message;
    throw e;
  }
}
