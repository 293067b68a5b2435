/**
 * Configuration defects an operator's walkthrough found: where a TOML error is, who set a wrong
 * value, folders that `validate` must not create, data folders that overlap, `${VAR}` in comments.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONFIG_TOML } from "../../src/config/default-config.ts";
import { formatProblem, loadConfig, type ConfigProblem } from "../../src/config/load.ts";
import { tempDir } from "../helpers/binary.ts";

function tmpConfig(text: string, dir = tempDir("cfg-walk")): string {
  const p = join(dir, "config.toml");
  writeFileSync(p, text);
  return p;
}

function problemsOf(r: ReturnType<typeof loadConfig>): readonly ConfigProblem[] {
  return r.ok ? [] : r.problems;
}

/** The one problem of `text`, as validate prints it. */
function tomlLine(text: string, env: Record<string, string> = {}): { p: string; line: string } {
  const p = tmpConfig(text);
  const problems = problemsOf(loadConfig({ configPath: p, env }));
  expect(problems.length).toBe(1);
  return { p, line: formatProblem(problems[0]!) };
}

describe("a TOML error names its line and column, and the line", () => {
  test("a list left open on line 1 is the cause, not the key on the next line", () => {
    const { p, line } = tomlLine(`symbols = ["BTCUSDT",\nrun_hours = 1\n`);
    expect(line).toBe(`${p}:1:11: not valid TOML: Unterminated array; expected ']' (still open at line 2) in \`symbols = ["BTCUSDT",\``);
  });

  test("a bare word in the 431-line shipped file: its own line and the word's column", () => {
    const lines = DEFAULT_CONFIG_TOML.split("\n");
    const at = lines.findIndex((l) => l.startsWith("enable_orderbook = "));
    lines[at] = "enable_orderbook = yes";
    const { p, line } = tomlLine(lines.join("\n"));
    expect(line).toBe(`${p}:${at + 1}:20: not valid TOML: Strings must be quoted: "yes" in \`enable_orderbook = yes\``);
  });

  test("an error inside a list that goes on is on its own line; a string left open at the end, on the line that opened it", () => {
    expect(tomlLine(`symbols = [\n  "BTCUSDT",\n  ETHUSDT,\n]\n`).line).toEndWith(`:3:3: not valid TOML: Strings must be quoted: "ETHUSDT" in \`ETHUSDT,\``);
    expect(tomlLine(`run_hours = 1\n[report]\nx = """\nabc\n`).line).toEndWith(`:3:5: not valid TOML: Unterminated string in \`x = """\``);
  });

  test("a secret key's value is not shown, in the line or in the message", () => {
    const bare = tomlLine(`[http]\ntoken = S3cret-xyzzy\n`).line;
    expect(bare).toEndWith(":2:9: not valid TOML: Strings must be quoted in `token = (value not shown: it may hold a secret)`");
    // A line of a list under a secret key has no key of its own: it is not shown at all.
    const listed = tomlLine(`api_keys = [\n  "S3cret-1",\n  S3cret-2,\n]\n`).line;
    expect(listed).toEndWith(":3:3: not valid TOML: Strings must be quoted in `(line not shown: it may hold a secret)`");
    // A secret key inside an inline table under a key that is not one.
    const inline = tomlLine(`[publish]\nnats = { password = S3cret-3 }\n`).line;
    expect(inline).toEndWith(":2:21: not valid TOML: Strings must be quoted in `nats = (value not shown: it may hold a secret)`");
    expect(bare + listed + inline).not.toContain("S3cret");
  });

  test("a line that ${VAR} changed is shown as the file has it, without a column", () => {
    const { p, line } = tomlLine(`symbols = ["\${SYM}" "ETHUSDT"]\n`, { SYM: "BTCUSDT" });
    expect(line).toStartWith(`${p}:1: not valid TOML: `);
    expect(line).toEndWith('in `symbols = ["${SYM}" "ETHUSDT"]`');
  });
});

describe("a problem names the source that set the wrong value", () => {
  test("a list element from the environment or a flag", () => {
    const p = tmpConfig(`symbols = ["BTCUSDT"]\n`);
    const env = problemsOf(loadConfig({ configPath: p, env: { SYMBOLS: "BTCUSDT,ETH-USDT" } }));
    expect(env.map((x) => [x.path, x.source])).toEqual([["symbols[1]", "env SYMBOLS"]]);
    const flag = problemsOf(loadConfig({ configPath: p, env: {}, overrides: ['symbols=["BTCUSDT","x y"]'] }));
    expect(flag.map((x) => [x.path, x.source])).toEqual([["symbols[1]", "flag symbols"]]);
  });

  test("a traded symbol that is not collected: under its own key, from whoever set that key", () => {
    const p = tmpConfig(`symbols = ["BTCUSDT"]\n[trade.symbols.BTCUSDT]\nleverage = 2\n[trade.symbols.SOLUSDT]\nleverage = 2\n`);
    const r = loadConfig({ configPath: p, env: {}, overrides: ["trade.enable=true", "trade.symbols.ETHUSDT={leverage=5}"] });
    expect(problemsOf(r).map((x) => [x.path, x.source])).toEqual([
      ["trade.symbols.SOLUSDT", `${p}:4`],
      ["trade.symbols.ETHUSDT", "flag trade.symbols.ETHUSDT"],
    ]);
    expect(problemsOf(r)[1]!.message).toContain("ETHUSDT not in symbols");
  });

  test("a check of keys that go together is blamed on the one set", () => {
    const r = loadConfig({ configPath: tmpConfig(""), env: {}, overrides: ["publish.nats.tls.cert_file=/x/cert.pem"] });
    expect(problemsOf(r).map((x) => [x.path, x.source])).toEqual([["publish.nats.tls", "flag publish.nats.tls.cert_file"]]);
  });

  test("a flag's table replaces what the environment set under it: the flag is named", () => {
    const r = loadConfig({ configPath: tmpConfig(""), env: { OUTPUT_DIR: "/tmp/h/raw" }, overrides: ['storage={output_dir=""}'] });
    expect(problemsOf(r).map((x) => [x.path, x.source])).toEqual([["storage.output_dir", "flag storage"]]);
  });
});

describe("data folders: validate creates nothing", () => {
  test("missing folders under a writable parent pass, are not created, and are noted as created by run", () => {
    const dir = tempDir("cfg-nocreate");
    const r = loadConfig({ configPath: tmpConfig("", dir), env: {}, checkDirs: true });
    expect(r.ok).toBe(true);
    expect(readdirSync(dir)).toEqual(["config.toml"]);
    if (!r.ok) return;
    expect(r.notes).toEqual(
      ["output_dir", "preview_dir", "ndjson_dir", "artifacts_dir"].map((k) => expect.stringMatching(new RegExp(`^storage\\.${k}: ${dir}/data/\\w+ does not exist yet; run creates it \\(${dir} is writable\\)$`))),
    );
  });

  test("an existing folder is checked without leaving anything in it; a file in the way is named", () => {
    const dir = tempDir("cfg-exists");
    for (const d of ["raw", "preview", "ndjson", "artifacts"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "afile"), "");
    const text = `[storage]\noutput_dir = "raw"\npreview_dir = "preview"\nndjson_dir = "ndjson"\nartifacts_dir = "artifacts"\n`;
    const r = loadConfig({ configPath: tmpConfig(text, dir), env: {}, checkDirs: true });
    expect(r.ok ? r.notes : problemsOf(r)).toEqual([]);
    for (const d of ["raw", "preview", "ndjson", "artifacts"]) expect(readdirSync(join(dir, d))).toEqual([]);
    const blocked = loadConfig({ configPath: tmpConfig(text, dir), env: {}, overrides: [`storage.ndjson_dir=${join(dir, "afile", "nd")}`], checkDirs: true });
    expect(problemsOf(blocked).map((x) => [x.path, x.message])).toEqual([["storage.ndjson_dir", `${join(dir, "afile", "nd")} cannot be created: ${join(dir, "afile")} is not a folder`]]);
  });
});

describe("data folders must not overlap", () => {
  const overlap = (storage: Record<string, string>, dir: string) => {
    const text = `[storage]\n${Object.entries(storage).map(([k, v]) => `${k} = "${v}"`).join("\n")}\n`;
    return problemsOf(loadConfig({ configPath: tmpConfig(text, dir), env: {} }));
  };

  test("ndjson_dir equal to output_dir, or preview_dir inside ndjson_dir: both keys named", () => {
    const dir = tempDir("cfg-overlap");
    const same = overlap({ output_dir: "a", ndjson_dir: "a/" }, dir);
    expect(same.map((x) => [x.path, x.message])).toEqual([
      ["storage.ndjson_dir", `${dir}/a is also storage.output_dir: each data folder needs its own (retention of one would delete the other's date= folders)`],
    ]);
    const nested = overlap({ ndjson_dir: "b", preview_dir: "b/preview" }, dir);
    expect(nested.map((x) => [x.path, x.message])).toEqual([
      ["storage.preview_dir", `${dir}/b/preview is inside storage.ndjson_dir (${dir}/b): data folders must not nest (start-up cleanup of the outer one would walk the inner one's whole history)`],
    ]);
  });

  test("compared after resolving links; the other key's source is named when it differs", () => {
    const dir = tempDir("cfg-overlap-link");
    mkdirSync(join(dir, "real"));
    symlinkSync(join(dir, "real"), join(dir, "link"));
    const r = loadConfig({ configPath: tmpConfig(`[storage]\noutput_dir = "real/raw"\n`, dir), env: { NDJSON_DIR: join(dir, "link", "raw") } });
    expect(problemsOf(r).map((x) => [x.path, x.source, x.message])).toEqual([
      ["storage.ndjson_dir", "env NDJSON_DIR", expect.stringContaining(`is also storage.output_dir, from ${dir}/config.toml:`)],
    ]);
  });

  test("output_dir and preview_dir may be one Parquet tree; artifacts_dir may sit anywhere", () => {
    const dir = tempDir("cfg-overlap-ok");
    expect(overlap({ output_dir: "pq", preview_dir: "pq", ndjson_dir: "nd", artifacts_dir: "pq/artifacts" }, dir)).toEqual([]);
  });
});

describe("${VAR} in a comment is not a variable", () => {
  test("after a value, and not a `#` inside a string", () => {
    const p = tmpConfig(
      `run_hours = 1 # \${ALSO_NOT_SET}\nsymbols = ["\${A:-BTC}USDT"] # "\${UNSET_IN_COMMENT}"\n[http]\nlisten = "\${HOST}:8088" # port\n[storage]\nndjson_dir = "/tmp/#\${DIR}"\n`,
    );
    const r = loadConfig({ configPath: p, env: { HOST: "127.0.0.1", DIR: "nd" } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect([r.config.run_hours, r.config.symbols, r.config.http.listen, r.config.storage.ndjson_dir]).toEqual([1, ["BTCUSDT"], "127.0.0.1:8088", "/tmp/#nd"]);
    // Still a variable inside a string, even one holding a `#`.
    const unset = problemsOf(loadConfig({ configPath: tmpConfig(`[storage]\nndjson_dir = "/tmp/#\${NOT_SET_HERE}"\n`), env: {} }));
    expect(unset.map((x) => x.message)).toEqual(["${NOT_SET_HERE} is not set and has no default"]);
  });

  test("a multi-line string's lines are text, not comments", () => {
    const p = tmpConfig(`run_hours = 1\n[[indicators.custom]]\nmodule = '''\n# \${MOD}'''\n`);
    const r = loadConfig({ configPath: p, env: { MOD: "m.ts" } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.indicators.custom[0]!.module).toEndWith("# m.ts");
  });
});

describe("a schema problem names file:line when the file set the key (toml-lines.ts keyLines)", () => {
  const sourceOf = (text: string, overrides: string[] = [], env: Record<string, string> = {}) => {
    const p = tmpConfig(text);
    return { p, problems: problemsOf(loadConfig({ configPath: p, env, overrides })).map((x) => [x.path, x.source]) };
  };

  test("a key under a table header, a dotted key, an inline table, a list, an array of tables", () => {
    const { p, problems } = sourceOf(
      [
        "# comment",
        "symbols = [",
        '  "BTCUSDT",',
        '  "btc",',
        "]",
        "[strategy.regimes.A_L]",
        "entry = 1.2",
        "exit = 1.5",
        "[storage]",
        "parquet_rotate_sec = -1",
        'feed.full_levels = "x"',
        "[paper]",
        'fee_tiers = { VIP0 = { taker_bps = "a", maker_bps = 1 } }',
        "[[indicators.custom]]",
        'module = "a.ts"',
        "[[indicators.custom]]",
        'module = "b.txt"',
        "",
      ].join("\n"),
    );
    expect(Object.fromEntries(problems)).toEqual({
      // A list spread over lines: the entry's own line.
      "symbols[1]": `${p}:4`,
      "strategy.regimes.A_L.exit": `${p}:8`,
      "storage.parquet_rotate_sec": `${p}:10`,
      // A dotted key (here under [storage], so unknown there).
      "storage.feed": `${p}:11`,
      "paper.fee_tiers.VIP0.taker_bps": `${p}:13`,
      "indicators.custom[1].module": `${p}:17`,
    });
  });

  test("the environment and flags keep their own names; a default is named by the file alone; a secret's value never shown", () => {
    const { p, problems } = sourceOf(`[http]\ntoken = 123456789\n[strategy.regimes.A_L]\nentry = 0.2\n`, ["strategy.stop_bps=-1"], { RUN_HOURS: "-3" });
    const shown = problemsOf(loadConfig({ configPath: p, env: {} })).map(formatProblem).join("\n");
    expect(shown).toContain(`http.token: expected text, got a number (value not shown: it may hold a secret) [${p}:2]`);
    expect(shown).not.toContain("123456789");
    expect(problems).toEqual([
      ["run_hours", "env RUN_HOURS"],
      ["http.token", `${p}:2`],
      ["strategy.stop_bps", "flag strategy.stop_bps"],
      // exit (default 0.84 here) is not below the file's entry: entry, on line 4, was set, the default was not.
      ["strategy.regimes.A_L.entry", `${p}:4`],
    ]);
  });
});

describe("a problem across keys names the key set last, and its source", () => {
  test("--set feed.snapshot_limit=50 against the file's full_levels: the flag's key is named", () => {
    const p = tmpConfig(`[feed]\nfull_levels = 100\n`);
    const r = problemsOf(loadConfig({ configPath: p, env: {}, overrides: ["feed.snapshot_limit=50"] }));
    expect(r.map((x) => [x.path, x.source])).toEqual([["feed.snapshot_limit", "flag feed.snapshot_limit"]]);
    expect(r[0]!.message).toStartWith("full_levels (100) must not exceed snapshot_limit (50)");
    // Both from the file: the key the check names, on its line.
    const both = problemsOf(loadConfig({ configPath: tmpConfig(`[feed]\nfull_levels = 100\nsnapshot_limit = 50\nbook_max_levels = 100\n`), env: {} }));
    expect(both.map((x) => x.path)).toEqual(["feed.full_levels"]);
    expect(both[0]!.source).toEndWith("config.toml:2");
  });

  test("the later of two flags; an env variable under a flag; a path named in full (paper.fee_tiers)", () => {
    const flags = problemsOf(loadConfig({ configPath: null, env: {}, overrides: ["strategy.regimes.A_L.exit=2", "strategy.regimes.A_L.entry=1"] }));
    expect(flags.map((x) => [x.path, x.source])).toEqual([["strategy.regimes.A_L.entry", "flag strategy.regimes.A_L.entry"]]);
    const tier = problemsOf(loadConfig({ configPath: tmpConfig(`[regime]\nfee_tier = "VIP1"\n`), env: {}, overrides: ['paper.fee_tiers={ X = { taker_bps = 1, maker_bps = 1 } }'] }));
    expect(tier.map((x) => [x.path, x.source])).toEqual([["paper.fee_tiers", "flag paper.fee_tiers"]]);
  });
});
