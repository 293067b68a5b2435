/**
 * The fake exchange (test/fake-exchange) in its own process for the live and memory benchmarks, so
 * that producing frames never shares the collector's or the benchmark's event loop, with a count of
 * every data frame it sent per stream (the loss check compares it with what the collector logged).
 *
 *   bun bench/lib/exchange-proc.ts --synthetic N --speed S
 *
 * Prints `{"publicWsBase","marketWsBase","restBase"}` on one line, then answers commands on stdin, one
 * JSON line each on stdout:
 *   stats    {"sent":{stream:count},"total":n,"uptimeMs":ms,"cpuMs":ms}
 *   silence  stop sending data frames on both routes (connections stay open), then `{"ok":true}`
 *   speed S  replay at speed S from now on, then `{"ok":true}`
 *   quit     stop and exit
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startFakeExchange } from "../../test/fake-exchange/index.ts";

const { values } = parseArgs({ options: { synthetic: { type: "string" }, speed: { type: "string" }, symbols: { type: "string" } } });
const synthetic = Number(values.synthetic ?? "0");
const speed = Number(values.speed ?? "1");
const symbols = values.symbols === undefined ? [] : values.symbols.split(",").filter(Boolean);

const fx = await startFakeExchange({
  symbols,
  syntheticSymbols: synthetic,
  speed,
  recordFrames: false,
  tradeHistoryLimit: 1000,
  exchangeInfoServedOnly: true,
});
const sent = new Map<string, number>();
let total = 0;
fx.faults.hooks.beforeSend = (_text, frame) => {
  sent.set(frame.stream, (sent.get(frame.stream) ?? 0) + 1);
  total++;
  return undefined;
};
const started = performance.now();

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
out({ publicWsBase: fx.publicWsBase, marketWsBase: fx.marketWsBase, restBase: fx.restBase, symbols: fx.symbols });

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === "stats") {
    const u = process.cpuUsage();
    out({ sent: Object.fromEntries(sent), total, uptimeMs: Math.round(performance.now() - started), cpuMs: Math.round((u.user + u.system) / 1000) });
  } else if (cmd === "silence") {
    fx.silence("public", true);
    fx.silence("market", true);
    out({ ok: true });
  } else if (cmd.startsWith("speed ")) {
    fx.setSpeed(Number(cmd.slice(6)));
    out({ ok: true });
  } else if (cmd === "quit") {
    break;
  }
}
await fx.stop();
process.exit(0);
