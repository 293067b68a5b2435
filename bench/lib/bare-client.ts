/**
 * The bare counting client of the live benchmark: the yardstick harvestd's ingest is held against.
 * Plain WebSocket clients (Bun's) on the same connections the collector opens (same routes, same
 * streams, grouped the same way by planConnections), in their own process, that only count the
 * messages they receive: no parsing, no logging, no rows.
 *
 *   bun bench/lib/bare-client.ts --public WS_BASE --market WS_BASE --symbols A,B,…
 *
 * Prints `{"connections":n}` once every connection is open, then answers commands on stdin, one JSON
 * line each on stdout:
 *   stats    {"received":n,"cpuMs":ms}
 *   quit     close and exit
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { combinedUrl, planConnections } from "../../src/exchange/binance/streams.ts";

const { values } = parseArgs({ options: { public: { type: "string" }, market: { type: "string" }, symbols: { type: "string" } } });
const symbols = (values.symbols ?? "").split(",").filter(Boolean);
const bases = { public: values.public ?? "", market: values.market ?? "" };

let received = 0;
const sockets: WebSocket[] = [];
await Promise.all(
  planConnections(symbols, true).map(
    (plan) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(combinedUrl(bases[plan.route], plan.streams));
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error(`bare client: ${plan.id} could not connect`));
        ws.onmessage = () => {
          received++;
        };
        sockets.push(ws);
      }),
  ),
);

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
out({ connections: sockets.length });

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === "stats") {
    const u = process.cpuUsage();
    out({ received, cpuMs: Math.round((u.user + u.system) / 1000) });
  } else if (cmd === "quit") {
    break;
  }
}
for (const ws of sockets) ws.close();
process.exit(0);
