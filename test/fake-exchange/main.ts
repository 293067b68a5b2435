// Standalone fake exchange for manual runs and benchmarks:
//   bun test/fake-exchange/main.ts [--speed N] [--symbols A,B] [--port P] [--synthetic N]
//        [--synthetic-source SYM] [--ping-interval-ms MS] [--trade-history N] [--record-frames]
//        [--faults PLAN_JSON [--faults-for-ms MS]] [--diff-depth] [--help]
// --diff-depth serves the diff stream (`@depth@100ms`) and depth snapshots, for feed.depth = "full".
// Prints {"publicWsBase":…,"marketWsBase":…,"restBase":…} as one line, runs until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { startFakeExchange, type FaultPlan } from "./index.ts";

const USAGE = `usage: bun test/fake-exchange/main.ts [options]

Serves recorded Binance USD-M futures traffic on 127.0.0.1; prints
{"publicWsBase":…,"marketWsBase":…,"restBase":…} as one line, runs until SIGINT/SIGTERM.

  --speed N                  replay speed, recorded ms per wall ms (default 1)
  --symbols A,B              symbols to serve (default: every recorded one)
  --port P                   port to listen on (default: a free one)
  --synthetic N              also serve N clones SYN001USDT… of --synthetic-source
  --synthetic-source SYM     the symbol cloned (default BTCUSDT)
  --ping-interval-ms MS      server ping interval (default 180000, as Binance)
  --trade-history N          trades kept per symbol for REST (default 10000)
  --record-frames            record every sent frame (grows without bound)
  --faults PLAN_JSON         start a fault plan (fault-plan.ts) at once
  --faults-for-ms MS         stop it after MS ms (a line {"faultsStopped":true,…} follows)
  --diff-depth               serve the diff stream and depth snapshots (feed.depth = "full")
  -h, --help                 print this and exit
`;

function fail(msg: string): never {
  process.stderr.write(`fake-exchange: ${msg} (--help lists the options)\n`);
  process.exit(64);
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} needs a non-negative number, got "${v}"`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      speed: { type: "string" },
      symbols: { type: "string" },
      port: { type: "string" },
      synthetic: { type: "string" },
      "synthetic-source": { type: "string" },
      "ping-interval-ms": { type: "string" },
      "trade-history": { type: "string" },
      "record-frames": { type: "boolean" },
      faults: { type: "string" },
      "faults-for-ms": { type: "string" },
      "diff-depth": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  fail((e as Error).message);
}
if (args.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

// Handlers go in before the (slow, fixture-parsing) start so an early signal still exits cleanly.
let exchange: Awaited<ReturnType<typeof startFakeExchange>> | undefined;
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await exchange?.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

try {
  exchange = await startFakeExchange({
    speed: num("speed", args.speed),
    symbols: args.symbols ? args.symbols.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean) : undefined,
    port: num("port", args.port),
    syntheticSymbols: num("synthetic", args.synthetic),
    syntheticSource: args["synthetic-source"],
    pingIntervalMs: num("ping-interval-ms", args["ping-interval-ms"]),
    // A long-running process must not accumulate every frame it ever sent.
    recordFrames: args["record-frames"] ?? false,
    // REST backfill only needs the recent past; 250 BTC clones at speed 20 make ~150k trades/s.
    tradeHistoryLimit: num("trade-history", args["trade-history"]) ?? 10_000,
    diffDepth: args["diff-depth"] ?? false,
  });
} catch (e) {
  fail((e as Error).message);
}
// A fault plan (fault-plan.ts) from the start, for a test that runs this process under a shifted
// clock; it stops after --faults-for-ms, and the process says so on stdout.
if (args.faults !== undefined) {
  let plan: FaultPlan;
  try {
    plan = JSON.parse(args.faults) as FaultPlan;
  } catch (e) {
    fail(`--faults needs a fault plan as JSON: ${(e as Error).message}`);
  }
  const ctl = exchange.startFaults(plan);
  const forMs = num("faults-for-ms", args["faults-for-ms"]);
  if (forMs !== undefined) {
    setTimeout(() => {
      ctl.stop();
      process.stdout.write(`${JSON.stringify({ faultsStopped: true, log: { drops: ctl.log.drops.length, duplicates: ctl.log.duplicates.length, skippedDepth: ctl.log.skippedDepth.length, withheldTrades: ctl.log.withheldTrades.length } })}\n`);
    }, forMs);
  }
}
process.stdout.write(
  `${JSON.stringify({ publicWsBase: exchange.publicWsBase, marketWsBase: exchange.marketWsBase, restBase: exchange.restBase })}\n`,
);
