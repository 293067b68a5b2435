/**
 * Builds the effective configuration: defaults < file < environment < command-line flags
 * (README.md, "Configuration"), and reports every problem with its key path and source.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigSchema, type Config } from "./schema.ts";
import { ENV_BINDINGS, convertEnv } from "./env.ts";
import { knownKeysAt, unknownKeyMessage } from "./unknown-keys.ts";
import { configIssueMessage } from "./messages.ts";
import { hideUserInfo } from "../util/user-info.ts";
import { isSecretKey } from "./redact.ts";
import { keyLines, scanLines, VARIABLE } from "./toml-lines.ts";
import { locateTomlError } from "./toml-error.ts";
import { checkDataDir, overlappingRoots, type DataRoot } from "./data-dirs.ts";

export interface ConfigProblem {
  /** Dotted key path, e.g. `storage.output_dir`, or `(file)` for whole-file problems. */
  readonly path: string;
  /** Where the value came from: the file path, `env NAME`, `flag --x`. */
  readonly source: string;
  readonly message: string;
}

export type ConfigResult =
  | {
      readonly ok: true;
      readonly config: Config;
      readonly configPath: string | null;
      /** Where a key's value came from (file, `env NAME`, `flag --set key`), for problems found later. */
      readonly sourceOf: (path: string) => string;
      /** What is fine but worth saying (a data folder that `run` will create), for `validate` to print. */
      readonly notes: readonly string[];
    }
  | {
      readonly ok: false;
      readonly problems: readonly ConfigProblem[];
      readonly configPath: string | null;
      /**
       * For `validate`'s later checks (environment keys, modules, the model file): the configuration
       * with each top-level section that has a problem left at its defaults, and those sections, so a
       * check that reads none of them can still report its own problems in the same run. Null when a
       * problem cannot be placed in a section (a TOML syntax error, a `--set` that is not key=value).
       */
      readonly partial: PartialConfig | null;
    };

export interface PartialConfig {
  readonly config: Config;
  /** Top-level keys (`strategy`, `trade`) with a problem: their values in `config` are the defaults. */
  readonly failed: ReadonlySet<string>;
  readonly sourceOf: (path: string) => string;
}

export interface LoadOptions {
  /** config.toml path; null = defaults only. */
  readonly configPath: string | null;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `key.path=value` overrides from `--set` and the named flags; value is TOML syntax or a bare string. */
  readonly overrides?: readonly string[];
  /**
   * Also check that each data folder is writable, or its nearest existing parent when it does not
   * exist yet (validate and run do; tests of parsing need not). Nothing is created (data-dirs.ts).
   */
  readonly checkDirs?: boolean;
}

type Raw = Record<string, unknown>;

const PATH_KEYS = ["output_dir", "preview_dir", "ndjson_dir", "artifacts_dir"] as const;
type PathKey = (typeof PATH_KEYS)[number];

/** `${VAR}` / `${VAR:-default}` outside comments; an unset VAR without default is a problem. */
export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  source: string,
  problems: ConfigProblem[],
): string {
  return interpolateLines(text.split("\n"), env, source, problems).join("\n");
}

/**
 * One entry per line of the file, so a problem's line number is the file's even when a value brings
 * newlines. A comment is left as it is (`x = 1 # ${UNSET}` is fine); a `#` inside a string is not one.
 */
function interpolateLines(
  lines: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  source: string,
  problems: ConfigProblem[],
): string[] {
  const scans = scanLines(lines);
  return lines.map((line, i) => {
    const end = scans[i]!.codeEnd;
    const code = line.slice(0, end).replace(VARIABLE, (_m, name: string, dflt?: string) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (dflt !== undefined) return dflt;
      problems.push({ path: "(file)", source: `${source}:${i + 1}`, message: `\${${name}} is not set and has no default` });
      return "";
    });
    return code + line.slice(end);
  });
}

/** The parse error placed on its line: `config.toml:1:11`, Bun's message and the line (never a secret's value). */
function tomlProblem(configPath: string, lines: readonly string[], interpolated: readonly string[]): ConfigProblem {
  const at = locateTomlError(lines, interpolated);
  const source = at.column === null ? `${configPath}:${at.line}` : `${configPath}:${at.line}:${at.column}`;
  return { path: "(file)", source, message: `not valid TOML: ${at.message} in \`${at.text}\`` };
}

function setPath(obj: Raw, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Raw;
  }
  cur[path[path.length - 1]!] = value;
}

/** A flag value in TOML syntax (`5`, `true`, `"x"`, `["A","B"]`), else taken as a bare string. */
function parseFlagValue(text: string): unknown {
  try {
    return (Bun.TOML.parse(`v = ${text}`) as { v: unknown }).v;
  } catch {
    return text;
  }
}

function resolveDirs(raw: Raw, baseDir: string): void {
  const storage = raw.storage;
  if (typeof storage !== "object" || storage === null) return;
  const s = storage as Raw;
  for (const k of PATH_KEYS) {
    const v = s[k];
    if (typeof v === "string" && v.length > 0 && !isAbsolute(v)) s[k] = resolve(baseDir, v);
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;

export function isLoopbackListen(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(":"));
  return LOOPBACK.test(host);
}

export function loadConfig(opts: LoadOptions): ConfigResult {
  const env = opts.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const configPath = opts.configPath === null ? null : resolve(opts.configPath);
  let raw: Raw = {};
  /** Where each key is set in the file (toml-lines.ts keyLines), for problems that name `file:line`. */
  let keyLine = new Map<string, number>();

  if (configPath !== null) {
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { ok: false, configPath, partial: null, problems: [{ path: "(file)", source: configPath, message: `cannot read config file (${err.code ?? err.message})` }] };
    }
    const lines = text.split("\n");
    const interpolated = interpolateLines(lines, env, configPath, problems);
    try {
      raw = Bun.TOML.parse(interpolated.join("\n")) as Raw;
    } catch {
      return { ok: false, configPath, partial: null, problems: [...problems, tomlProblem(configPath, lines, interpolated)] };
    }
    resolveDirs(raw, dirname(configPath));
    keyLine = keyLines(text);
  }

  // Environment and flags override the file; relative paths from them are relative to the cwd.
  const later: Raw = {};
  const sources = new Map<string, string>();
  for (const bnd of ENV_BINDINGS) {
    const v = env[bnd.name];
    if (v === undefined || v === "") continue;
    const key = bnd.path.join(".");
    const conv = convertEnv(bnd, v);
    if ("error" in conv) {
      problems.push({ path: key, source: `env ${bnd.name}`, message: conv.error });
      continue;
    }
    setPath(later, bnd.path, conv.value);
    setSource(sources, key, `env ${bnd.name}`);
  }
  for (const ov of opts.overrides ?? []) {
    const eq = ov.indexOf("=");
    if (eq <= 0) {
      // Not key=value, so no key to judge by: the text itself decides whether it may be shown.
      problems.push({ path: "(flags)", source: isSecretKey([ov]) ? "flag --set (text not shown: it may hold a secret)" : `flag --set ${ov}`, message: "expected key.path=value" });
      continue;
    }
    const key = ov.slice(0, eq).trim();
    setPath(later, key.split("."), parseFlagValue(ov.slice(eq + 1).trim()));
    setSource(sources, key, `flag ${ov.slice(0, eq)}`);
  }
  resolveDirs(later, process.cwd());
  const fileRaw = raw;
  raw = deepMerge(raw, later);
  const origins = new Origins(sources, configPath, fileRaw, keyLine);
  const sourceOf = (path: string): string => origins.of(path);

  const parsed = ConfigSchema.safeParse(raw, { error: configIssueMessage });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = issue.path.filter((k): k is string | number => typeof k !== "symbol");
      if (issue.code === "unrecognized_keys") {
        // One problem per key, each under its own path and source (a --set typo is not the file's).
        const known = knownKeysAt(ConfigSchema, at);
        for (const k of issue.keys) {
          const path = keyPath([...at, k]);
          problems.push({ path, source: origins.of(path, true), message: unknownKeyMessage(k, known) });
        }
        continue;
      }
      if (issue.code === "custom" && at.length > 0) {
        // A check across keys (`exit` below `entry`, `full_levels` within `snapshot_limit`) is blamed
        // on the key its message names that was set last: a flag's over the environment's over the
        // file's over a default. Ties keep the key the check names. A check of a table (`tls`: cert_file
        // and key_file go together) is about the keys set under it.
        const path = origins.lastSet(at, relatedKeys(at, issue.message));
        problems.push({ path, source: origins.of(path, true), message: issue.message });
        continue;
      }
      const path = keyPath(at) || "(root)";
      problems.push({ path, source: origins.of(path), message: issue.message });
    }
  }
  // Defaults are relative too: they resolve like the file's own values.
  const baseDir = configPath === null ? process.cwd() : dirname(configPath);
  if (parsed.success) {
    resolvePaths(parsed.data, baseDir);
    const cfg = parsed.data;
    if (cfg.http.listen !== "" && !isLoopbackListen(cfg.http.listen) && cfg.http.token === "") {
      problems.push({
        path: "http.listen",
        source: sourceOf("http.listen"),
        message: `binding a non-loopback address (${cfg.http.listen}) requires http.token (HTTP_TOKEN)`,
      });
    }
  }
  // Checked even when other keys are wrong, so one run of `validate` lists every problem.
  const dirs = dataDirs(raw, baseDir, problems);
  problems.push(...rootOverlapProblems(dirs, origins));
  const notes: string[] = [];
  if (opts.checkDirs) {
    for (const k of PATH_KEYS) {
      const dir = dirs[k];
      if (dir === undefined || problems.some((x) => x.path === `storage.${k}`)) continue;
      const check = checkDataDir(dir);
      if (check.problem !== null) problems.push({ path: `storage.${k}`, source: sourceOf(`storage.${k}`), message: check.problem });
      else if (check.note !== null) notes.push(`storage.${k}: ${check.note}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    const partial = partialConfig(raw, problems, keyLine, baseDir);
    return { ok: false, problems: problems.map(withoutUserInfo), configPath, partial: partial === null ? null : { ...partial, sourceOf } };
  }
  return { ok: true, config: parsed.data, configPath, sourceOf, notes: notes.map((n) => hideUserInfo(n)) };
}

/** Paths that are relative to the config file's folder, resolved (docs/indicators-custom.md for modules). */
function resolvePaths(cfg: Config, baseDir: string): void {
  for (const k of PATH_KEYS) cfg.storage[k] = resolve(baseDir, cfg.storage[k]);
  for (const c of cfg.indicators.custom) c.module = resolve(baseDir, c.module);
}

/** The top-level key of a problem's path: `strategy` of `strategy.regimes.A_L.exit`, `symbols` of `symbols[1]`. */
function sectionOf(path: string): string {
  return /^[^.[]*/.exec(path)![0];
}

/**
 * The configuration with every top-level section that has a problem left at its defaults (PartialConfig),
 * or null when a problem belongs to no section. A check across sections that then fails (a fee tier
 * that only the failed `[paper]` had) adds its sections, a few rounds at most.
 */
function partialConfig(raw: Raw, problems: readonly ConfigProblem[], keyLine: ReadonlyMap<string, number>, baseDir: string): Omit<PartialConfig, "sourceOf"> | null {
  const failed = new Set<string>();
  for (const p of problems) {
    if (p.path === "(file)") {
      // `${VAR}` unset: the keys set on that line.
      const line = Number(/:(\d+)(?::\d+)?$/.exec(p.source)?.[1] ?? NaN);
      const at = [...keyLine].filter(([, l]) => l === line).map(([k]) => sectionOf(k));
      if (at.length === 0) return null;
      for (const s of at) failed.add(s);
    } else if (p.path.startsWith("(")) return null;
    else failed.add(sectionOf(p.path));
  }
  for (let round = 0; round < 4; round++) {
    const rest: Raw = Object.fromEntries(Object.entries(raw).filter(([k]) => !failed.has(k)));
    const parsed = ConfigSchema.safeParse(rest);
    if (parsed.success) {
      resolvePaths(parsed.data, baseDir);
      return { config: parsed.data, failed };
    }
    for (const issue of parsed.error.issues) {
      const top = issue.path[0];
      if (typeof top !== "string" || failed.has(top)) return null;
      failed.add(top);
    }
  }
  return null;
}

/**
 * Keys a cross-key check's message names beside its own (`exit must be below entry` names `entry`):
 * its siblings written as words, and keys written as paths from the top (`paper.fee_tiers`) or from
 * its parent (`tls.cert_file`). Not the key itself, nor a key above or below it.
 */
function relatedKeys(at: readonly (string | number)[], message: string): string[] {
  const own = keyPath(at);
  const parent = at.slice(0, -1);
  const out = new Set<string>();
  const isKey = (parts: readonly (string | number)[]): boolean => parts.length > 0 && (knownKeysAt(ConfigSchema, parts.slice(0, -1))?.includes(String(parts.at(-1))) ?? false);
  for (const sibling of knownKeysAt(ConfigSchema, parent) ?? []) {
    if (sibling !== at.at(-1) && new RegExp(`(?<![\\w.])${sibling}(?![\\w])`).test(message)) out.add(keyPath([...parent, sibling]));
  }
  for (const dotted of message.match(/(?<![\w.])[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+/g) ?? []) {
    const parts = dotted.split(".");
    if (isKey(parts)) out.add(dotted);
    else if (isKey([...parent, ...parts])) out.add(keyPath([...parent, ...parts]));
  }
  const related = (p: string): boolean => p === own || p.startsWith(`${own}.`) || p.startsWith(`${own}[`) || own.startsWith(`${p}.`) || own.startsWith(`${p}[`);
  return [...out].filter((p) => !related(p));
}

/** Each data folder as it will be used (defaults resolved like the file's values), but for those already wrong. */
function dataDirs(raw: Raw, baseDir: string, problems: readonly ConfigProblem[]): Partial<Record<PathKey, string>> {
  const storage = (typeof raw.storage === "object" && raw.storage !== null ? raw.storage : {}) as Raw;
  const defaults = ConfigSchema.shape.storage.parse({});
  const out: Partial<Record<PathKey, string>> = {};
  for (const k of PATH_KEYS) {
    const v = storage[k] ?? defaults[k];
    if (typeof v === "string" && !problems.some((x) => x.path === "storage" || x.path === `storage.${k}`)) out[k] = resolve(baseDir, v);
  }
  return out;
}

/**
 * Data roots that are one folder, or one inside another: retention of one would delete the other's
 * `date=` folders (Parquet retention took NDJSON days kept "forever"), and start-up cleanup of the
 * outer one walks the inner one's whole history. Reported under the inner key, naming both.
 */
function rootOverlapProblems(storage: Readonly<Partial<Record<DataRoot, string>>>, origins: Origins): ConfigProblem[] {
  return overlappingRoots(storage).map(({ key, other, same }) => {
    const path = `storage.${key}`;
    const otherPath = `storage.${other}`;
    // Named when it came from elsewhere: another line of the same file is not another source.
    const where = origins.origin(otherPath) === origins.origin(path) ? "" : `, from ${origins.of(otherPath)}`;
    const message = same
      ? `${storage[key]} is also ${otherPath}${where}: each data folder needs its own (retention of one would delete the other's date= folders)`
      : `${storage[key]} is inside ${otherPath} (${storage[other]}${where}): data folders must not nest (start-up cleanup of the outer one would walk the inner one's whole history)`;
    return { path, source: origins.of(path), message };
  });
}

/** A later source replaces an earlier one for the key, and counts as the latest set (sourceOf). */
function setSource(sources: Map<string, string>, key: string, source: string): void {
  sources.delete(key);
  sources.set(key, source);
}

/** A key's path as the configuration file writes it: `storage.parquet_rotate_sec`, `indicators.custom[0].module`. */
function keyPath(parts: readonly (string | number)[]): string {
  return parts.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** A key path's parts: `indicators.custom[0].module` → indicators, custom, 0, module. */
function pathParts(path: string): (string | number)[] {
  return (path.match(/[^.[\]]+|\[\d+\]/g) ?? []).map((p) => (p.startsWith("[") ? Number(p.slice(1, -1)) : p));
}

/**
 * Where each key's value came from: the environment or a flag (`sources`, in the order they were
 * set), else the file, named `file:line` when the key is in it and its line is known
 * (toml-lines.ts keyLines), else the file alone (a default), or `defaults` without a file.
 */
class Origins {
  constructor(
    private readonly sources: ReadonlyMap<string, string>,
    private readonly configPath: string | null,
    private readonly fileRaw: Raw,
    private readonly keyLine: ReadonlyMap<string, number>,
  ) {}

  /**
   * The order of the latest source that set `path`: 0 for the environment's or flags' first, and so
   * on, or -1. `orBelow`: also a source that set a key under it (an unknown key `x` comes from
   * whoever set `x.y`). The last one set wins: a flag's `storage={…}` replaces what OUTPUT_DIR set under it.
   */
  private setAt(path: string, orBelow: boolean): number {
    // `servers[1]` is under `servers` as much as `tls.enable` is under `tls`.
    const under = (p: string, k: string): boolean => p.startsWith(`${k}.`) || p.startsWith(`${k}[`);
    let found = -1;
    let i = 0;
    for (const k of this.sources.keys()) {
      if (path === k || under(path, k) || (orBelow && under(k, path))) found = i;
      i++;
    }
    return found;
  }

  /** Whether the file itself sets `path` (or the list or table it is in). */
  private inFile(path: string): boolean {
    let cur: unknown = this.fileRaw;
    for (const part of pathParts(path)) {
      if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, part)) return false;
      cur = (cur as Record<string | number, unknown>)[part];
    }
    return true;
  }

  /** The source without a line: `env NAME`, `flag key`, the file, or `defaults`. */
  origin(path: string, orBelow = false): string {
    const at = this.setAt(path, orBelow);
    return at >= 0 ? [...this.sources.values()][at]! : (this.configPath ?? "defaults");
  }

  /** What a problem names as its source. */
  of(path: string, orBelow = false): string {
    if (this.setAt(path, orBelow) >= 0 || this.configPath === null || !this.inFile(path)) return this.origin(path, orBelow);
    // The key's own line, else that of the list or inline table holding it (`symbols[1]`).
    for (let p = path; p !== ""; p = p.replace(/(\.[^.[]*|\[\d+\])$/, "")) {
      const line = this.keyLine.get(p);
      if (line !== undefined) return `${this.configPath}:${line}`;
      if (!/[.[]/.test(p)) break;
    }
    return this.configPath;
  }

  /** Of the key at `at` and `related`, the one set last (flag, then environment, then file, then default); ties: `at`'s. */
  lastSet(at: readonly (string | number)[], related: readonly string[]): string {
    const rank = (path: string): number => {
      const set = this.setAt(path, true);
      return set >= 0 ? 2 + set : this.inFile(path) ? 1 : 0;
    };
    let best = keyPath(at);
    let bestRank = rank(best);
    for (const path of related) {
      const r = rank(path);
      if (r > bestRank) [best, bestRank] = [path, r];
    }
    return best;
  }
}

function deepMerge(a: Raw, b: Raw): Raw {
  const out: Raw = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const av = out[k];
    const bothObjects = typeof v === "object" && v !== null && !Array.isArray(v) && typeof av === "object" && av !== null && !Array.isArray(av);
    out[k] = bothObjects ? deepMerge(av as Raw, v as Raw) : v;
  }
  return out;
}

/**
 * Messages that schemas compose themselves (a mainnet URL refused, a fee tier not found) may quote a
 * value; whichever module wrote one, a URL's user info does not reach the terminal.
 */
function withoutUserInfo(p: ConfigProblem): ConfigProblem {
  return { path: hideUserInfo(p.path), source: hideUserInfo(p.source), message: hideUserInfo(p.message) };
}

export function formatProblem(p: ConfigProblem): string {
  // A whole-file problem's source is its place (`config.toml:1:11`), put first as compilers do.
  return p.path === "(file)" ? `${p.source}: ${p.message}` : `${p.path}: ${p.message} [${p.source}]`;
}
