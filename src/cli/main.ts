#!/usr/bin/env bun
/**
 * harvestd command line (README.md, "Commands"). Every error a user can cause ends in one clear line naming
 * what and where, and a distinct exit code: 0 ok, 1 runtime failure, 2 usage, 78 configuration.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG_TOML } from "../config/default-config.ts";
import { SYMBOL_PATTERN } from "../core/symbols.ts";
import { notBuilt } from "../calc/supported.ts";
import { indicatorParams } from "../calc/params.ts";
import { formatProblem, loadConfig, type ConfigProblem } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { formatIndicatorProblem, loadIndicators } from "../indicators/load.ts";
import { INDICATOR_TYPES_TEXT } from "../indicators/types-text.ts";
import { assertStrictMode } from "../util/strict-mode.ts";
import { versionLine } from "../util/version.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** sysexits.h EX_CONFIG. */
export const EXIT_CONFIG = 78;

const USAGE = `usage: harvestd [command] [options]

commands:
  run [--config PATH]          collect until run_hours elapses or SIGINT/SIGTERM (default command)
  store [--config PATH]        consume the [publish.nats] stream of collectors into NDJSON and
                               Parquet, as one collector would write them (docs/scale-out.md)
  validate [--config PATH]     check the configuration; exit 0, or list every problem and exit 78
  config                       print the fully commented default config.toml
  indicator-types              print the TypeScript types of a custom indicator module
                               (docs/indicators-custom.md), for your editor
  replay PATH... [--out DIR] [--threads N] [--symbols A,B]
                               rebuild Parquet from NDJSON raw logs (.ndjson, .ndjson.gz, folders);
                               symbols replayed by N threads (default: half the cores)
  report --from DATE --to DATE [--symbols A,B]
                               data-quality and signal-validation report (UTC dates, inclusive)
                               into ARTIFACTS_DIR/dq_reports/ as Markdown, JSON and HTML
  backfill --from DATE --to DATE [--symbols A,B]
                               fetch over REST the trades missing between stored ones (UTC dates,
                               inclusive) into the NDJSON log and the prices Parquet
  train --from DATE --to DATE --out DIR [--symbols A,B] [--models logistic,gbdt,mlp,lstm,cnn]
        [--seed N] [--folds K] [--signals fusion|strategy]
                               train signal-filter models on the stored Parquet (docs/models.md):
                               model files and a training report (Markdown, JSON, HTML) into DIR
  version                      version, target platform, git commit, Bun version, build time

options (a command refuses those it does not read):
  --config PATH        configuration file (default: ./config.toml when present, else built-in defaults)
  --symbols A,B|ALL    run, store, validate: override symbols; replay, report, backfill, train: only
                       these symbols of the logs or the tree
  --run-hours N        run, store, validate: override run_hours
  --set key.path=VAL   override any key (VAL in TOML syntax), repeatable; not for config, version
`;

/** A usage problem found by `parse`: one line, exit 2. */
export class UsageError extends Error {}

/**
 * The options each command reads. Any other is refused rather than ignored: `report --threads 4` or
 * `replay --run-hours 1` would otherwise look accepted and change nothing.
 */
const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  run: ["config", "symbols", "run-hours", "set"],
  store: ["config", "symbols", "run-hours", "set"],
  validate: ["config", "symbols", "run-hours", "set"],
  replay: ["config", "symbols", "set", "out", "threads"],
  report: ["config", "symbols", "set", "from", "to"],
  backfill: ["config", "symbols", "set", "from", "to"],
  train: ["config", "symbols", "set", "from", "to", "out", "models", "seed", "folds", "signals"],
  config: [],
  version: [],
  "indicator-types": [],
};

/** A one-line problem when an option given is not one `command` reads; unknown commands are left to the caller. */
function foreignOption(command: string, given: readonly string[]): string | null {
  const allowed = COMMAND_OPTIONS[command];
  if (allowed === undefined) return null;
  const foreign = given.find((o) => o !== "help" && !allowed.includes(o));
  if (foreign === undefined) return null;
  const takes = allowed.length === 0 ? "takes no options" : `takes ${allowed.map((o) => `--${o}`).join(", ")}`;
  return `${command} does not take --${foreign} (it ${takes})`;
}

/** The command line as every command reads it: one parse, of the one option table (OPTIONS). */
export interface Parsed {
  readonly command: string;
  readonly positionals: readonly string[];
  readonly configPath: string | null;
  readonly overrides: readonly string[];
  readonly out: string | null;
  readonly from: string | null;
  readonly to: string | null;
  /** --threads as given (replay), or null. */
  readonly threads: string | null;
  /** --symbols as given, upper-cased and each named once; null when not given, or ALL. */
  readonly symbols: readonly string[] | null;
  /** train's --models, --seed, --folds, --signals as given, or null (models/command.ts checks them). */
  readonly models: string | null;
  readonly seed: string | null;
  readonly folds: string | null;
  readonly signals: string | null;
}

/** Every option of every command (COMMAND_OPTIONS says which command reads which). */
const OPTIONS = {
  config: { type: "string" },
  symbols: { type: "string" },
  "run-hours": { type: "string" },
  set: { type: "string", multiple: true },
  out: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  threads: { type: "string" },
  models: { type: "string" },
  seed: { type: "string" },
  folds: { type: "string" },
  signals: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Options that take a value: a negative number after one is its value, not another option. */
const VALUE_OPTIONS: ReadonlySet<string> = new Set(Object.entries(OPTIONS).flatMap(([name, o]) => (o.type === "string" ? [`--${name}`] : [])));

/** `--run-hours -1` as `--run-hours=-1`, so the value is checked and named like any other. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (VALUE_OPTIONS.has(argv[i]!) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

/** The command and its options; throws UsageError for an unknown option, one the command does not read, or a malformed symbol. */
export function parse(argv: readonly string[]): Parsed {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      strict: true,
      options: OPTIONS,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = args.values as Record<string, string | string[] | boolean | undefined>;
  const [first, ...rest] = args.positionals;
  const command = v.help ? "help" : (first ?? "run");
  const foreign = foreignOption(command, Object.keys(v).filter((k) => v[k] !== undefined));
  if (foreign !== null) throw new UsageError(foreign);
  const overrides: string[] = [...((v.set as string[] | undefined) ?? [])];
  if (typeof v.symbols === "string") {
    const s = v.symbols.trim();
    overrides.push(s.toUpperCase() === "ALL" ? `symbols="ALL"` : `symbols=${JSON.stringify(s.split(",").map((x) => x.trim().toUpperCase()).filter(Boolean))}`);
  }
  if (typeof v["run-hours"] === "string") overrides.push(`run_hours=${v["run-hours"]}`);
  const explicit = typeof v.config === "string" ? v.config : null;
  const configPath = explicit ?? (existsSync("config.toml") ? "config.toml" : null);
  const str = (x: unknown): string | null => (typeof x === "string" ? x : null);
  // Named twice is asked for once: a symbol's rows are reported, replayed or trained on once.
  const symbols = typeof v.symbols === "string" && v.symbols.trim().toUpperCase() !== "ALL" ? [...new Set(v.symbols.split(",").map((x) => x.trim().toUpperCase()).filter(Boolean))] : null;
  const misspelt = symbols?.find((s) => !SYMBOL_PATTERN.test(s));
  if (misspelt !== undefined) throw new UsageError(`--symbols: ${JSON.stringify(misspelt)} is not a symbol (letters and digits, e.g. BTCUSDT; several separated by commas)`);
  return {
    command,
    positionals: rest,
    configPath,
    overrides,
    out: str(v.out),
    from: str(v.from),
    to: str(v.to),
    threads: str(v.threads),
    symbols,
    models: str(v.models),
    seed: str(v.seed),
    folds: str(v.folds),
    signals: str(v.signals),
  };
}

/** Options this build does not implement are configuration errors (docs/indicators.md §15.13). */
function unbuiltOptions(cfg: Config, sourceOf: (path: string) => string): ConfigProblem[] {
  return notBuilt(indicatorParams(cfg)).map((n) => ({ path: n.path, source: sourceOf(n.path), message: n.message }));
}

/**
 * Custom indicator modules (docs/indicators-custom.md) are imported and checked once the rest of the
 * configuration is valid: one line per module that fails, naming the entry, the file and the problem.
 */
async function indicatorLines(cfg: Config): Promise<string[]> {
  if (cfg.indicators.custom.length === 0) return [];
  const r = await loadIndicators(cfg.indicators.custom);
  return r.ok ? [] : r.problems.map((p) => formatIndicatorProblem(p));
}

async function indicatorProblems(cfg: Config): Promise<number | null> {
  const lines = await indicatorLines(cfg);
  for (const l of lines) process.stderr.write(`harvestd: ${l}\n`);
  return lines.length > 0 ? EXIT_CONFIG : null;
}

/** Problems to print under the file they are about; `after`: a last line (checks left for later). */
function reportProblems(r: { readonly configPath: string | null; readonly problems: readonly ConfigProblem[] }, after?: string): number {
  process.stderr.write(`harvestd: invalid configuration${r.configPath ? ` (${r.configPath})` : ""}:\n`);
  for (const p of r.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
  if (after !== undefined) process.stderr.write(`  ${after}\n`);
  return EXIT_CONFIG;
}

/** The configuration the checks after the schema read, and where its values came from. */
interface Checked {
  readonly config: Config;
  readonly configPath: string | null;
  readonly sourceOf: (path: string) => string;
}

/**
 * `[model].path` must name a model file computed on this binary's features (docs/models.md).
 * `exits`: compare the file's labels with the strategy's exits (not when [strategy], [paper] or
 * [regime] are wrong: validate then checks the file alone).
 */
async function modelPathProblems(r: Checked, exits = true): Promise<ConfigProblem[]> {
  const { modelConfigProblem, strategyExits } = await import("../models/live.ts");
  const message = modelConfigProblem(r.config.model, exits ? strategyExits(r.config) : undefined);
  // Named by where model.path came from: the file, the environment or a --set flag.
  return message === null ? [] : [{ path: "model.path", source: r.sourceOf("model.path"), message }];
}

async function modelProblems(r: Checked): Promise<number | null> {
  const problems = await modelPathProblems(r);
  return problems.length === 0 ? null : reportProblems({ configPath: r.configPath, problems });
}

/**
 * `trade.enable`: the API keys `run` would refuse, checked by `validate` too. They come from the
 * environment, so the file alone cannot be "ok" without them. Nothing is sent anywhere; the
 * messages name variables, never values.
 */
async function tradeKeyProblems(cfg: Config): Promise<ConfigProblem[]> {
  if (!cfg.trade.enable) return [];
  const { executionVenue } = await import("../pipeline/venue.ts");
  const v = executionVenue(cfg.trade, process.env);
  return v.ok ? [] : [{ path: "trade", source: "environment", message: v.error }];
}

/**
 * `[publish.nats]`'s connection settings as `run` and `store` would refuse them (credentials in the
 * environment, a creds file that cannot be used, TLS files, credentials in a server URL): a
 * service's `validate` passing what its start then refuses would leave it failed for good.
 */
async function natsProblems(r: Checked): Promise<ConfigProblem[]> {
  const { connectionOptions } = await import("../sinks/nats/connection.ts");
  const o = connectionOptions(r.config.publish.nats, "harvestd-validate");
  if (o.ok) return [];
  // The credentials' problems are the environment's; an address's or a TLS file's, the setting's.
  const source = o.error.startsWith("servers[") ? r.sourceOf("publish.nats.servers") : o.error.startsWith("publish.nats.tls.") ? r.sourceOf("publish.nats.tls") : "environment";
  return [{ path: "publish.nats", source, message: o.error }];
}

/**
 * `validate`: the schema's problems and those of the checks after it (options not built, custom
 * indicator modules, the model file, trading keys and NATS settings in the environment) in one run.
 * When the schema finds problems, each later check still runs if the sections it reads are valid
 * (load.ts PartialConfig); those that read a wrong section, or every one when a problem has no
 * section (a TOML syntax error), are named in a last line as checked once the problems are fixed
 * (docs/operations.md, "Configuration errors").
 */
async function validate(p: Parsed): Promise<number> {
  const r = loadConfig({ configPath: p.configPath, overrides: p.overrides, checkDirs: true });
  const problems: ConfigProblem[] = r.ok ? [] : [...r.problems];
  const checked: (Checked & { readonly failed: ReadonlySet<string> }) | null = r.ok
    ? { config: r.config, configPath: r.configPath, sourceOf: r.sourceOf, failed: new Set() }
    : r.partial === null
      ? null
      : { ...r.partial, configPath: r.configPath };
  const later: string[] = [];
  let modules: string[] = [];
  if (checked === null) later.push("custom indicator modules", "the model file", "trading keys", "NATS settings");
  else {
    const reads = (...sections: string[]): boolean => sections.every((s) => !checked.failed.has(s));
    const cfg = checked.config;
    // A section with a problem is at its defaults here, and a default is always built.
    problems.push(...unbuiltOptions(cfg, checked.sourceOf));
    if (reads("indicators")) modules = await indicatorLines(cfg);
    else later.push("custom indicator modules");
    if (reads("model")) problems.push(...(await modelPathProblems(checked, reads("strategy", "paper", "regime"))));
    else later.push("the model file");
    if (reads("trade")) problems.push(...(await tradeKeyProblems(cfg)));
    else later.push("trading keys");
    if (reads("publish")) problems.push(...(await natsProblems(checked)));
    else later.push("NATS settings");
  }
  if (problems.length === 0 && modules.length === 0) {
    if (!r.ok) throw new Error("validate: a failed configuration without problems");
    for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(`configuration ok${r.configPath ? ` (${r.configPath})` : " (built-in defaults)"}\n`);
    return EXIT_OK;
  }
  const rest = !r.ok && later.length > 0 ? `(checked once these are fixed: ${later.join(", ")})` : undefined;
  if (problems.length > 0) reportProblems({ configPath: r.configPath, problems }, modules.length === 0 ? rest : undefined);
  for (const l of modules) process.stderr.write(`harvestd: ${l}\n`);
  if (modules.length > 0 && rest !== undefined) process.stderr.write(`harvestd: ${rest}\n`);
  return EXIT_CONFIG;
}

export async function main(argv: readonly string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (e) {
    process.stderr.write(`harvestd: ${(e as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  switch (p.command) {
    case "help":
      process.stdout.write(USAGE);
      return EXIT_OK;
    case "version":
      process.stdout.write(`${versionLine()}\n`);
      return EXIT_OK;
    case "config":
      process.stdout.write(DEFAULT_CONFIG_TOML);
      return EXIT_OK;
    case "indicator-types":
      process.stdout.write(INDICATOR_TYPES_TEXT);
      return EXIT_OK;
    case "validate":
      return validate(p);
    case "run":
    case "store": {
      if (p.positionals.length > 0) {
        process.stderr.write(`harvestd: ${p.command} takes no arguments (got ${p.positionals.join(" ")})\n`);
        return EXIT_USAGE;
      }
      const r = loadConfig({ configPath: p.configPath, overrides: p.overrides, checkDirs: true });
      if (!r.ok && p.command === "store") {
        const { storeLoadProblems } = await import("../pipeline/store/store.ts");
        return reportProblems({ ...r, problems: storeLoadProblems(r.problems) });
      }
      if (!r.ok) return reportProblems(r);
      const unbuilt = unbuiltOptions(r.config, r.sourceOf);
      if (unbuilt.length > 0) return reportProblems({ configPath: r.configPath, problems: unbuilt });
      if (p.command === "store") {
        const { storeConfigProblems } = await import("../pipeline/store/store.ts");
        const problems = storeConfigProblems(r.config).map((x) => ({ ...x, source: r.sourceOf(x.path) }));
        if (problems.length > 0) return reportProblems({ configPath: r.configPath, problems });
      }
      const badIndicators = await indicatorProblems(r.config);
      if (badIndicators !== null) return badIndicators;
      const badModel = await modelProblems(r);
      if (badModel !== null) return badModel;
      const { runCollector } = await import("./run.ts");
      if (p.command === "run") return runCollector(r.config);
      const { createStore } = await import("../pipeline/store/store.ts");
      return runCollector(r.config, createStore, "store");
    }
    case "replay": {
      if (p.positionals.length === 0) {
        process.stderr.write(`harvestd: replay needs at least one NDJSON file or folder\n`);
        return EXIT_USAGE;
      }
      if (p.threads !== null && !/^[1-9]\d{0,3}$/.test(p.threads)) {
        process.stderr.write(`harvestd: --threads must be a whole number from 1 to 9999 (got ${JSON.stringify(p.threads)})\n`);
        return EXIT_USAGE;
      }
      // --symbols selects symbols in the logs; it is not a collection setting here.
      const r = loadConfig({ configPath: p.configPath, overrides: p.overrides.filter((o) => !o.startsWith("symbols=")), checkDirs: p.out === null });
      if (!r.ok) return reportProblems(r);
      const badIndicators = await indicatorProblems(r.config);
      if (badIndicators !== null) return badIndicators;
      const badModel = await modelProblems(r);
      if (badModel !== null) return badModel;
      const { runReplay } = await import("../pipeline/replay.ts");
      return runReplay(r.config, p.positionals, { out: p.out, symbols: p.symbols, threads: p.threads === null ? undefined : Number(p.threads) });
    }
    case "backfill": {
      const { checkBackfillRequest, runBackfill } = await import("../pipeline/backfill-command.ts");
      const problem = p.positionals.length > 0 ? `backfill takes no arguments (got ${p.positionals.join(" ")})` : checkBackfillRequest(p.from, p.to);
      if (problem !== null) {
        process.stderr.write(`harvestd: ${problem}\n`);
        return EXIT_USAGE;
      }
      // --symbols selects symbols in the tree; it is not a collection setting here.
      const r = loadConfig({ configPath: p.configPath, overrides: p.overrides.filter((o) => !o.startsWith("symbols=")), checkDirs: true });
      if (!r.ok) return reportProblems(r);
      // backfill rebuilds days through the same pipeline: with paper trading on, the model filter too
      const badModel = await modelProblems(r);
      if (badModel !== null) return badModel;
      return runBackfill(r.config, { from: p.from!, to: p.to!, symbols: p.symbols });
    }
    case "report": {
      const { checkRequest, runReport } = await import("../report/command.ts");
      const problem = p.positionals.length > 0 ? `report takes no arguments (got ${p.positionals.join(" ")})` : checkRequest(p.from, p.to);
      if (problem !== null) {
        process.stderr.write(`harvestd: ${problem}\n`);
        return EXIT_USAGE;
      }
      // --symbols selects symbols in the tree; it is not a collection setting here.
      const overrides = p.overrides.filter((o) => !o.startsWith("symbols="));
      const r = loadConfig({ configPath: p.configPath, overrides, checkDirs: false });
      if (!r.ok) return reportProblems(r);
      return runReport(r.config, { from: p.from!, to: p.to!, symbols: p.symbols });
    }
    case "train": {
      const { trainArgs, runTrain } = await import("../models/command.ts");
      // the options as parsed above, for every command alike; trainArgs checks their values
      const args = p.positionals.length > 0 ? `train takes no arguments (got ${p.positionals.join(" ")})` : trainArgs(p);
      if (typeof args === "string") {
        process.stderr.write(`harvestd: ${args}\n`);
        return EXIT_USAGE;
      }
      // --symbols selects symbols in the tree; it is not a collection setting here.
      const r = loadConfig({ configPath: p.configPath, overrides: p.overrides.filter((o) => !o.startsWith("symbols=")), checkDirs: false });
      if (!r.ok) return reportProblems(r);
      return runTrain(r.config, args);
    }
    default:
      process.stderr.write(`harvestd: unknown command ${JSON.stringify(p.command)}\n${USAGE}`);
      return EXIT_USAGE;
  }
}

if (import.meta.main) {
  assertStrictMode("harvestd");
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`harvestd: fatal: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
