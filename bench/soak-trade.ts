/**
 * `npm run soak:trade -- [--speed S] [--hours H] [--symbols A,B] [--fault-every-min M] [--quick]`
 *
 * The compiled binary trading on the fake testnet for H wall hours while the fake exchange replays the
 * real recordings at S× (default S = 24, H = 24 / S: one simulated day of market data). Every M wall
 * minutes one fault is injected in turn (an order POST timing out after placing, a 5xx after
 * placing, a 5xx before placing, a user-stream drop, a listen-key expiry, 5 s of clock skew). At the
 * end: SIGTERM, `harvestd report` over the run's dates, and bench/results/soak-trade-<date>.md with
 * the report's trading section, the venue ledger's own figures and the checks (records = ledger,
 * nothing open, flat).
 *
 * What "simulated day" means here: the market data is a day's worth of replayed trades and books,
 * but the fake exchange stamps events with the wall clock, so the strategy's clocks (cooldowns, time
 * stops) run at wall speed while prices move S× faster. It exercises the execution machinery over
 * thousands of orders; it is not a backtest of the strategy's economics (docs/trading.md).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import { runBinary, waitFor } from "../test/helpers/binary.ts";
import { busyStrategy, expectFillsEqualLedger, expectOrdersEqualLedger, startTrader, startWorld, status } from "../test/e2e/trade-support.ts";
import type { OrderFault } from "../test/fake-testnet/index.ts";
import { argValue, machineInfo, QUICK, RESULTS_DIR } from "./lib/report.ts";

const speed = Number(argValue("speed") ?? 24);
const hours = Number(argValue("hours") ?? (QUICK ? 0.02 : 24 / speed));
const symbols = (argValue("symbols") ?? "BTCUSDT,ETHUSDT").split(",");
const faultEveryMin = Number(argValue("fault-every-min") ?? (QUICK ? 0.2 : 5));
if (!(speed > 0) || !(hours > 0) || !(faultEveryMin > 0)) throw new Error("--speed, --hours and --fault-every-min must be > 0");

// Moderately active settings: a few trades per symbol per wall minute (the defaults trade a few per day).
const SETTINGS = [
  "strategy.max_hold_sec=45",
  "strategy.min_reverse_move_bps=3",
  ...["Q_H", "A_H", "A_L", "Q_L"].map((r) => `strategy.regimes.${r}.cooldown_sec=20`),
  "risk.max_orders_per_min=30",
];

const world = await startWorld(symbols, speed);
const started = Date.now();
const trader = startTrader(world, symbols, busyStrategy(symbols, SETTINGS), { LOG_LEVEL: "warn" });
const faults: { at: string; fault: string }[] = [];
const cycle: (OrderFault | "drop" | "expire" | "skew")[] = ["timeout", "5xx-after-place", "5xx-before-place", "drop", "expire", "skew"];
let n = 0;
const faultTimer = setInterval(() => {
  const f = cycle[n++ % cycle.length]!;
  faults.push({ at: new Date().toISOString(), fault: f });
  if (f === "drop") world.tn.dropUserStreams();
  else if (f === "expire") world.tn.expireListenKey();
  else if (f === "skew") {
    world.tn.setClockSkew(-5000);
    setTimeout(() => world.tn.setClockSkew(0), 60_000);
  } else world.tn.failNextOrders(f);
}, faultEveryMin * 60_000);
const samples: { at: number; rss_mb: number | null; fills: number }[] = [];
const sampler = setInterval(async () => {
  let rss: number | null = null;
  try {
    const st = readFileSync(`/proc/${trader.run.proc.pid}/status`, "utf8");
    rss = Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? NaN) / 1024;
  } catch {
    /* not Linux */
  }
  samples.push({ at: Date.now(), rss_mb: rss, fills: world.tn.server.ledger.fills.length });
  process.stderr.write(`soak: ${((Date.now() - started) / 60_000).toFixed(1)} min, fills ${world.tn.server.ledger.fills.length}, rss ${rss?.toFixed(0)} MiB\n`);
}, 60_000);

await Bun.sleep(hours * 3_600_000);
clearInterval(faultTimer);
clearInterval(sampler);
const last = await status(trader).catch(() => null);
const stop = await trader.run.stop("SIGTERM");
const wallS = (Date.now() - started) / 1000;

const ledger = world.tn.server.ledger;
const checks: Record<string, string> = {};
const check = async (name: string, fn: () => Promise<void> | void) => {
  try {
    await fn();
    checks[name] = "ok";
  } catch (e) {
    checks[name] = `FAILED: ${(e as Error).message.split("\n").slice(0, 3).join(" ")}`;
  }
};
await check("exit code 0 after SIGTERM", () => expect(stop.exitCode).toBe(0));
await check("fills Parquet = venue ledger", () => expectFillsEqualLedger(trader.dir, world, expect));
await check("orders Parquet = venue ledger", () => expectOrdersEqualLedger(trader.dir, world, expect));
await check("no open order or stop after SIGTERM", () => expect([...ledger.openOrders(), ...ledger.openAlgos()]).toEqual([]));
await check("flat after SIGTERM", () => expect(symbols.map((s) => ledger.position(s).qty)).toEqual(symbols.map(() => 0)));
await check("position within max_position_notional (400 USDT, 1 % price tolerance)", () => expect(Math.max(...symbols.map((s) => ledger.position(s).maxAbsNotional))).toBeLessThanOrEqual(404));

const days = [...new Set(readdirSync(join(trader.dir, "preview")).filter((d) => d.startsWith("date=")).map((d) => d.slice(5)))].sort();
const rep = await runBinary(["report", "--from", days[0]!, "--to", days[days.length - 1]!], { ...Object.fromEntries(Object.entries({ OUTPUT_DIR: join(trader.dir, "raw"), PREVIEW_DIR: join(trader.dir, "preview"), NDJSON_DIR: join(trader.dir, "ndjson"), ARTIFACTS_DIR: join(trader.dir, "artifacts") })) });
const reportDir = join(trader.dir, "artifacts", "dq_reports");
const md = readdirSync(reportDir).find((f) => f.endsWith(".md"));
const mdText = md === undefined ? "" : readFileSync(join(reportDir, md), "utf8");
const section = /## Testnet trading\n([\s\S]*?)\n## /.exec(mdText)?.[1]?.trim() ?? `(no trading section; report exit ${rep.exitCode}: ${rep.stderr.slice(0, 300)})`;
await world.stop();

const rss = samples.map((s) => s.rss_mb).filter((x): x is number => x !== null && Number.isFinite(x));
const date = new Date().toISOString().slice(0, 10);
const lines = [
  `# Testnet-trading soak (${QUICK ? "quick smoke run, not a figure" : `${(hours * speed).toFixed(1)} h of market data`}), ${new Date().toISOString()}`,
  "",
  `\`npm run soak:trade -- --speed ${speed} --hours ${hours} --symbols ${symbols.join(",")} --fault-every-min ${faultEveryMin}\``,
  "",
  `- Market: the fake exchange replaying the real recordings of ${symbols.join(", ")} at ${speed}× for ${(wallS / 3600).toFixed(2)} wall hours = ${((wallS / 3600) * speed).toFixed(1)} h of replayed market data (the recordings loop; see bench/soak-trade.ts for what the speed does and does not scale).`,
  `- Venue: the fake testnet (test/fake-testnet), orders matched against the same replayed book; taker 5 bps, maker 2 bps.`,
  `- Settings: test/e2e/trade-support.ts busyStrategy plus ${SETTINGS.join(", ")}.`,
  `- Faults injected: ${faults.length} (${cycle.join(", ")} in turn, every ${faultEveryMin} min).`,
  `- Machine: ${JSON.stringify(machineInfo())}; collector RSS median ${rss.length ? rss.sort((a, b) => a - b)[Math.floor(rss.length / 2)]!.toFixed(0) : "—"} MiB, peak ${rss.length ? Math.max(...rss).toFixed(0) : "—"} MiB.`,
  "",
  "## Checks",
  "",
  ...Object.entries(checks).map(([k, v]) => `- ${k}: ${v}`),
  "",
  "## Venue ledger",
  "",
  `- orders ${ledger.orders.size} (filled ${[...ledger.orders.values()].filter((o) => o.status === "FILLED").length}), stops ${ledger.algos.size} (triggered ${[...ledger.algos.values()].filter((a) => a.algoStatus === "FINISHED").length}), fills ${ledger.fills.length}, wallet ${ledger.wallet.toFixed(2)} USDT from 10000`,
  `- requests to the venue: ${world.tn.requests().length}; answered 429: ${world.tn.requests().filter((r) => r.status === 429).length}; -1021: ${world.tn.requests().filter((r) => r.code === -1021).length}`,
  `- trader counters at the end: ${JSON.stringify(last?.trading?.counters ?? null)}`,
  "",
  "## harvestd report: Testnet trading",
  "",
  section,
  "",
];
mkdirSync(RESULTS_DIR, { recursive: true });
const out = join(RESULTS_DIR, `soak-trade-${date}${QUICK ? "-quick" : ""}.md`);
writeFileSync(out, lines.join("\n"));
process.stdout.write(lines.join("\n") + `\nwritten to ${out}\ndata in ${trader.dir}\n`);
void waitFor;
