/**
 * How long a clean stop takes with many symbols (`SYMBOLS=ALL` against the fake exchange serving N
 * synthetic symbols, default 400): the binary collects for SECONDS, gets SIGTERM, and the time to its
 * exit is measured, with the breakdown the binary logs in its `stopped` line (`shutdown_ms`).
 * `bun bench/shutdown.ts [--symbols 400] [--seconds 40] [--speed 1] [--quick]`.
 */
import { ExchangeProcess, startCollector, waitFor, getJson } from "./lib/harvestd.ts";
import { QUICK, argValue, header, printTable, writeResult } from "./lib/report.ts";

const N = Number(argValue("symbols") ?? (QUICK ? "100" : "400"));
const SECONDS = Number(argValue("seconds") ?? (QUICK ? "10" : "40"));
const SPEED = Number(argValue("speed") ?? "1");

const start = header("shutdown", `SYMBOLS=ALL with ${N} symbols, ${SECONDS} s of collection at speed ${SPEED}, then SIGTERM`);
const fx = await ExchangeProcess.start({ synthetic: N, speed: SPEED });
const c = startCollector(["ALL"], fx, { SYMBOLS: "ALL", PARQUET_ROTATE_SEC: "60", ORDERBOOK_ROTATE_SEC: "60" });
try {
  // Every symbol collecting: /api/status lists them all with frames.
  await waitFor(
    "every symbol to deliver",
    async () => {
      const st = (await getJson(`${c.base}/api/status`)) as { symbols?: { frames?: number }[] } | undefined;
      return st?.symbols !== undefined && st.symbols.length >= N && st.symbols.every((s) => (s.frames ?? 0) > 0) ? true : undefined;
    },
    180_000,
    1000,
  );
  await Bun.sleep(SECONDS * 1000);
  const t0 = performance.now();
  const r = await c.stop();
  const ms = Math.round(performance.now() - t0);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  const stopped = lines.find((l) => l.msg === "stopped") ?? {};
  // From "stopping" on: what the binary said while it stopped (the incomplete-shutdown line names what was pending).
  const from = lines.findIndex((l) => l.msg === "stopping");
  for (const l of lines.slice(from)) console.log(JSON.stringify(l).slice(0, 400));
  const steps = (stopped.shutdown_ms ?? {}) as Record<string, number>;
  const row = { symbols: N, exit: r.exitCode, sigterm_to_exit_ms: ms, ...steps };
  printTable([row]);
  writeResult("shutdown", start, { seconds: SECONDS, speed: SPEED, ...row });
} finally {
  c.cleanup();
  await fx.stop();
}
