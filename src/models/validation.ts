/**
 * Splits for honest out-of-sample scores (docs/models.md "Validation").
 *
 * Purged, embargoed walk-forward: samples are ordered by signal time and cut into `folds + 1`
 * consecutive blocks; fold k tests on block k and trains only on samples that are over before it —
 * a training sample's signal is at least `embargoMs` (≥ the maximum holding time) before the test
 * block's first signal, and its label window (signal to exit) ends before that first signal too.
 * So no training label has seen a price the test period trades on, and nothing after the test block
 * is ever trained on.
 *
 * Random K-fold (shuffled, no purge, no embargo) exists only to show what leakage does: on a market
 * without edge it scores above 0.5 because neighbouring signals share their future.
 */
import { prng as mulberry32 } from "../util/prng.ts";

export interface TimedSample {
  readonly tsMs: number;
  /** End of the label window. */
  readonly exitTsMs: number;
}

export interface Split {
  readonly fold: number;
  readonly train: readonly number[];
  readonly test: readonly number[];
  /** Test block's first and last signal time (walk-forward only). */
  readonly testFromMs: number;
  readonly testToMs: number;
  /** Samples left out of training because of the purge and the embargo. */
  readonly purged: number;
}

/** Indices of `samples` ordered by time (ties by index). */
export function timeOrder(samples: readonly TimedSample[]): number[] {
  return samples.map((_, i) => i).sort((a, b) => samples[a].tsMs - samples[b].tsMs || a - b);
}

export function walkForwardSplits(samples: readonly TimedSample[], folds: number, embargoMs: number): Split[] {
  const order = timeOrder(samples);
  const n = order.length;
  const blocks = folds + 1;
  const out: Split[] = [];
  for (let k = 1; k < blocks; k++) {
    const a = Math.floor((k * n) / blocks);
    const b = Math.floor(((k + 1) * n) / blocks);
    if (b <= a) continue;
    const test = order.slice(a, b);
    const start = samples[test[0]].tsMs;
    const train: number[] = [];
    let purged = 0;
    for (const i of order.slice(0, a)) {
      const s = samples[i];
      if (s.tsMs < start - embargoMs && s.exitTsMs < start) train.push(i);
      else purged++;
    }
    out.push({ fold: k, train, test, testFromMs: start, testToMs: samples[test[test.length - 1]].tsMs, purged });
  }
  return out;
}

export function randomKFoldSplits(samples: readonly TimedSample[], folds: number, seed: number): Split[] {
  const rnd = mulberry32(seed);
  const idx = samples.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const out: Split[] = [];
  for (let k = 0; k < folds; k++) {
    const test = idx.filter((_, i) => i % folds === k);
    const train = idx.filter((_, i) => i % folds !== k);
    out.push({ fold: k + 1, train, test, testFromMs: Number.NaN, testToMs: Number.NaN, purged: 0 });
  }
  return out;
}
