/**
 * The fake exchange's CLI (`test/fake-exchange/main.ts`) in a process of its own, for tests whose
 * exchange must run under an environment of its own (a shifted clock, fake-clock.ts) while the
 * test's process keeps the real one.
 */
import { join } from "node:path";
import type { FaultPlan } from "../fake-exchange/index.ts";
import { REPO } from "./binary.ts";

export interface ExchangeProcessOptions {
  readonly symbols: readonly string[];
  readonly speed: number;
  /** A fault plan from the start, stopped after `faultsForMs`. */
  readonly faults?: FaultPlan;
  readonly faultsForMs?: number;
}

/** What the exchange injected, as it prints once its faults stop. */
export interface InjectedFaults {
  readonly drops: number;
  readonly duplicates: number;
  readonly skippedDepth: number;
  readonly withheldTrades: number;
}

export interface ExchangeProcess {
  readonly endpoints: { readonly publicWsBase: string; readonly marketWsBase: string; readonly restBase: string };
  /** Resolves with the fault counts once the plan stopped (rejects when the process ends first). */
  readonly faults: Promise<InjectedFaults>;
  stop(): void;
}

/** Starts the exchange with `env` added to this process's environment; resolves once it serves. */
export async function startExchangeProcess(opts: ExchangeProcessOptions, env: Readonly<Record<string, string>>): Promise<ExchangeProcess> {
  const args = ["--symbols", opts.symbols.join(","), "--speed", String(opts.speed)];
  if (opts.faults !== undefined) args.push("--faults", JSON.stringify(opts.faults));
  if (opts.faultsForMs !== undefined) args.push("--faults-for-ms", String(opts.faultsForMs));
  const proc = Bun.spawn([process.execPath, join(REPO, "test", "fake-exchange", "main.ts"), ...args], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const lines = jsonLines(proc.stdout);
  const first = await lines.next();
  if (first.done) throw new Error("fake exchange exited before printing its endpoints");
  const faults = (async () => {
    for await (const l of lines) if (l.faultsStopped) return l.log as InjectedFaults;
    throw new Error("fake exchange exited before its faults ended");
  })();
  // Nobody may wait for the faults: an unobserved rejection must not fail the test run.
  faults.catch(() => {});
  return { endpoints: first.value as ExchangeProcess["endpoints"], faults, stop: () => proc.kill("SIGTERM") };
}

/** The JSON objects printed one per line on `stream`. */
async function* jsonLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, any>> {
  const decoder = new TextDecoder();
  let buf = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield JSON.parse(buf.slice(0, nl)) as Record<string, any>;
      buf = buf.slice(nl + 1);
    }
  }
}
