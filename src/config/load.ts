/**
 * Builds the effective configuration: defaults < file < environment < command-line flags
 * (README.md, "Configuration"), and reports every problem with its key path and source.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ConfigSchema, type Config } from "./schema.ts";
import { ENV_BINDINGS, convertEnv } from "./env.ts";
import { knownKeysAt, unknownKeyMessage } from "./unknown-keys.ts";
import { configIssueMessage } from "./messages.ts";
import { hideUserInfo } from "../util/user-info.ts";
import { isSecretKey } from "./redact.ts";

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
    }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly configPath: string | null };

export interface LoadOptions {
  /** config.toml path; null = defaults only. */
  readonly configPath: string | null;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `key.path=value` overrides from `--set` and the named flags; value is TOML syntax or a bare string. */
  readonly overrides?: readonly string[];
  /** Also check that data directories are writable (validate and run do; tests of parsing need not). */
  readonly checkDirs?: boolean;
}

type Raw = Record<string, unknown>;

const PATH_KEYS = ["output_dir", "preview_dir", "ndjson_dir", "artifacts_dir"] as const;

/** `${VAR}` / `${VAR:-default}` on every non-comment line; an unset VAR without default is a problem. */
export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  source: string,
  problems: ConfigProblem[],
): string {
  return text
    .split("\n")
    .map((line, i) => {
      if (/^\s*#/.test(line)) return line;
      return line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, dflt?: string) => {
        const v = env[name];
        if (v !== undefined && v !== "") return v;
        if (dflt !== undefined) return dflt;
        problems.push({ path: "(file)", source: `${source}:${i + 1}`, message: `\${${name}} is not set and has no default` });
        return "";
      });
    })
    .join("\n");
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

function checkWritable(dir: string): string | null {
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.harvestd-write-probe-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
    return null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return `directory ${dir} is not writable (${err.code ?? err.message})`;
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

  if (configPath !== null) {
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { ok: false, configPath, problems: [{ path: "(file)", source: configPath, message: `cannot read config file (${err.code ?? err.message})` }] };
    }
    const interpolated = interpolate(text, env, configPath, problems);
    try {
      raw = Bun.TOML.parse(interpolated) as Raw;
    } catch (e) {
      return { ok: false, configPath, problems: [...problems, { path: "(file)", source: configPath, message: `not valid TOML: ${(e as Error).message}` }] };
    }
    resolveDirs(raw, dirname(configPath));
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
    sources.set(key, `env ${bnd.name}`);
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
    sources.set(key, `flag ${ov.slice(0, eq)}`);
  }
  resolveDirs(later, process.cwd());
  raw = deepMerge(raw, later);

  const parsed = ConfigSchema.safeParse(raw, { error: configIssueMessage });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = issue.path.filter((k): k is string | number => typeof k !== "symbol");
      if (issue.code === "unrecognized_keys") {
        // One problem per key, each under its own path and source (a --set typo is not the file's).
        const known = knownKeysAt(ConfigSchema, at);
        for (const k of issue.keys) {
          const path = keyPath([...at, k]);
          problems.push({ path, source: sourceOf(path, sources, configPath, true), message: unknownKeyMessage(k, known) });
        }
        continue;
      }
      const path = keyPath(at) || "(root)";
      problems.push({ path, source: sourceOf(path, sources, configPath), message: issue.message });
    }
  }
  // Defaults are relative too: they resolve like the file's own values.
  const baseDir = configPath === null ? process.cwd() : dirname(configPath);
  if (parsed.success) {
    for (const k of PATH_KEYS) parsed.data.storage[k] = resolve(baseDir, parsed.data.storage[k]);
    // Custom indicator modules, like the folders, are relative to the config file (docs/indicators-custom.md).
    for (const c of parsed.data.indicators.custom) c.module = resolve(baseDir, c.module);
    const cfg = parsed.data;
    if (cfg.http.listen !== "" && !isLoopbackListen(cfg.http.listen) && cfg.http.token === "") {
      problems.push({
        path: "http.listen",
        source: sourceOf("http.listen", sources, configPath),
        message: `binding a non-loopback address (${cfg.http.listen}) requires http.token (HTTP_TOKEN)`,
      });
    }
  }
  if (opts.checkDirs) {
    // Checked even when other keys are wrong, so one run of `validate` lists every problem.
    const storage = (typeof raw.storage === "object" && raw.storage !== null ? raw.storage : {}) as Raw;
    const defaults = ConfigSchema.shape.storage.parse({});
    for (const k of PATH_KEYS) {
      const v = storage[k];
      if (problems.some((x) => x.path === `storage.${k}`)) continue;
      const d = resolve(baseDir, typeof v === "string" && v !== "" ? v : defaults[k]);
      const msg = checkWritable(d);
      if (msg !== null) problems.push({ path: `storage.${k}`, source: sourceOf(`storage.${k}`, sources, configPath), message: msg });
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: problems.map(withoutUserInfo), configPath };
  return { ok: true, config: parsed.data, configPath, sourceOf: (path) => sourceOf(path, sources, configPath) };
}

/** A key's path as the configuration file writes it: `storage.parquet_rotate_sec`, `indicators.custom[0].module`. */
function keyPath(parts: readonly (string | number)[]): string {
  return parts.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/**
 * Where the value at `path` came from. `orBelow`: also a source that set a key under it (an unknown
 * key `x` comes from whoever set `x.y`).
 */
function sourceOf(path: string, sources: ReadonlyMap<string, string>, configPath: string | null, orBelow = false): string {
  // `servers[1]` is under `servers` as much as `tls.enable` is under `tls`.
  const under = (p: string, k: string): boolean => p.startsWith(`${k}.`) || p.startsWith(`${k}[`);
  for (const [k, s] of sources) if (path === k || under(path, k) || (orBelow && under(k, path))) return s;
  return configPath ?? "defaults";
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
  return `${p.path}: ${p.message} [${p.source}]`;
}
