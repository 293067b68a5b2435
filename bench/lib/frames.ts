/**
 * The frames the ceiling benchmark sends and parses: real recorded traffic as the fake exchange
 * renders it (depth5@100ms folded from the recorded diff depth, aggTrades as recorded or aggregated),
 * BTCUSDT and ETHUSDT 2024-08-08 — the busiest series — one loop each.
 */
import { prng, scriptFrames } from "../../test/unit/scanner-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];

export interface FrameSets {
  readonly depth: readonly string[];
  readonly aggTrade: readonly string[];
  /** Both kinds in their recorded proportion (≈ 1 depth : 2.5 aggTrade), shuffled with a fixed seed. */
  readonly mixed: readonly string[];
}

export function loadFrameSets(): FrameSets {
  const { depth, aggTrade } = scriptFrames(1, SYMBOLS);
  const mixed = [...depth, ...aggTrade];
  const rnd = prng(7);
  for (let i = mixed.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [mixed[i], mixed[j]] = [mixed[j]!, mixed[i]!];
  }
  return { depth, aggTrade, mixed };
}

/** The mixed set, for the WebSocket sender. */
export function loadCeilingFrames(): readonly string[] {
  return loadFrameSets().mixed;
}
