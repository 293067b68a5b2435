/**
 * `--set` overrides that make the shared strategy (docs/strategy.md) trade often in a short test run:
 * entries on every edge of the fusion signal (|score| > 1.2, its own threshold), no cooldown, no
 * spread gate to speak of, no cost gate or order-rate limit, and exits within seconds (3 bps stop or target, 4 s hold).
 * The defaults trade far less: they are tuned for days, not for a 15 s run.
 */
const REGIMES = ["Q_H", "A_H", "A_L", "Q_L"] as const;

export const BUSY_STRATEGY_SETS: readonly string[] = [
  "strategy.stop_bps=3",
  "strategy.take_profit=[{ at_bps = 3, fraction = 1 }]",
  "strategy.max_hold_sec=4",
  "risk.cost.enable=false",
  "risk.max_orders_per_min=1000",
  ...REGIMES.flatMap((r) => [`strategy.regimes.${r}.entry=1.2`, `strategy.regimes.${r}.exit=0.6`, `strategy.regimes.${r}.cooldown_sec=0`, `strategy.regimes.${r}.max_spread_bps=100`]),
];

/** The overrides as command-line arguments, followed by `extra` ones. */
export function strategyArgs(extra: readonly string[] = []): string[] {
  return [...BUSY_STRATEGY_SETS, ...extra].flatMap((x) => ["--set", x]);
}
