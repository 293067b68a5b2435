/** The compiled binary's commands other than run: validate, config, version, usage errors. */
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectorEnv, freePort, REPO, runBinary, tempDir } from "../helpers/binary.ts";

describe("harvestd validate", () => {
  test("the shipped config.toml is valid: exit 0", async () => {
    const dir = tempDir("validate-ok");
    // Data folders of the shipped config are relative to it; point them at a temp dir.
    const r = await runBinary(["validate", "--config", join(REPO, "config.toml")], {
      OUTPUT_DIR: join(dir, "raw"),
      PREVIEW_DIR: join(dir, "preview"),
      NDJSON_DIR: join(dir, "nd"),
      ARTIFACTS_DIR: join(dir, "art"),
    });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("configuration ok");
  });

  test("a wrong type, a bad symbol and an unwritable directory are all named: exit 78", async () => {
    const dir = tempDir("validate-bad");
    const cfg = join(dir, "bad.toml");
    writeFileSync(
      cfg,
      ['symbols = ["BTCUSDT", "btc-usdt"]', "", "[storage]", 'parquet_rotate_sec = "sixty"', 'output_dir = "/proc/harvestd-no/raw"', ""].join("\n"),
    );
    const r = await runBinary(["validate", "--config", cfg]);
    expect(r.exitCode).toBe(78);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toContain(cfg);
    const problem = (path: string) => lines.find((l) => l.trim().startsWith(`${path}:`));
    expect(problem("symbols[1]")).toContain("upper-case");
    expect(problem("storage.parquet_rotate_sec")).toContain("number");
    expect(problem("storage.output_dir")).toContain("/proc/harvestd-no/raw");
    // One line each, no stack trace.
    expect(r.stderr).not.toContain("    at ");
  });

  test("a configured option that is not built yet is refused with its key", async () => {
    const dir = tempDir("validate-unbuilt");
    const r = await runBinary(["validate", "--set", "cvd.activity_adapt=true"], { OUTPUT_DIR: join(dir, "a"), PREVIEW_DIR: join(dir, "b"), NDJSON_DIR: join(dir, "c"), ARTIFACTS_DIR: join(dir, "d") }, dir);
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain("cvd.activity_adapt");
  });

  test("a bad value never puts a secret on stderr: a URL's user info, a token: exit 78", async () => {
    const dir = tempDir("validate-secret");
    const env = { OUTPUT_DIR: join(dir, "a"), PREVIEW_DIR: join(dir, "b"), NDJSON_DIR: join(dir, "c"), ARTIFACTS_DIR: join(dir, "d") };
    const cfg = join(dir, "nats.toml");
    // A string where a list belongs.
    writeFileSync(cfg, ["[publish.nats]", 'servers = "nats://hvuser:S3cretPw-xyzzy@127.0.0.1:14222"', ""].join("\n"));
    const url = await runBinary(["validate", "--config", cfg], env, dir);
    expect(url.exitCode).toBe(78);
    expect(url.stderr).toContain(`publish.nats.servers: expected a list, got "nats://***@127.0.0.1:14222" [${cfg}:2]`);
    expect(url.stderr).not.toMatch(/S3cretPw|hvuser/);
    const token = await runBinary(["validate", "--set", "http.token=12"], env, dir);
    expect(token.exitCode).toBe(78);
    const line = token.stderr.split("\n").find((l) => l.trim().startsWith("http.token:"));
    expect(line?.trim()).toBe("http.token: expected text, got a number (value not shown: it may hold a secret) [flag http.token]");
  });
});

describe("harvestd validate lists every problem at once, each where it was set", () => {
  const dirsEnv = (dir: string) => ({ OUTPUT_DIR: join(dir, "a"), PREVIEW_DIR: join(dir, "b"), NDJSON_DIR: join(dir, "c"), ARTIFACTS_DIR: join(dir, "d") });

  test("a schema problem in a 400-line file names file:line; a flag across keys names the flag's key", async () => {
    const dir = tempDir("validate-lines");
    const cfg = join(dir, "c.toml");
    const lines = readFileSync(join(REPO, "config.toml"), "utf8").split("\n");
    const at = lines.findIndex((l) => l.startsWith("exit = ") && lines.slice(0, lines.indexOf(l)).some((x) => x === "[strategy.regimes.Q_H]"));
    lines[at] = "exit = 99";
    writeFileSync(cfg, lines.join("\n"));
    const r = await runBinary(["validate", "--config", cfg, "--set", "feed.snapshot_limit=50"], dirsEnv(dir), dir);
    expect(r.exitCode).toBe(78);
    const problems = r.stderr.split("\n").filter((l) => l.startsWith("  "));
    expect(problems).toEqual([
      "  feed.snapshot_limit: full_levels (100) must not exceed snapshot_limit (50): deeper levels are never known [flag feed.snapshot_limit]",
      `  strategy.regimes.Q_H.exit: exit must be below entry (hysteresis) [${cfg}:${at + 1}]`,
    ]);
  });

  test("trading keys missing from the environment beside a schema problem: both, exit 78", async () => {
    const dir = tempDir("validate-all");
    const r = await runBinary(
      ["validate", "--set", "trade.enable=true", "--set", "trade.symbols.BTCUSDT={}", "--symbols", "BTCUSDT", "--set", "strategy.stop_bps=-1"],
      dirsEnv(dir),
      dir,
    );
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain("strategy.stop_bps: must be ≥ 0 [flag strategy.stop_bps]");
    expect(r.stderr).toContain("trade: BINANCE_API_KEY is not set");
    expect(r.stderr).not.toContain("checked once");
  });

  test("custom modules beside a schema problem: every module's problem too; a section in error leaves its checks for later", async () => {
    const dir = tempDir("validate-modules");
    mkdirSync(join(dir, "indicators"));
    copyFileSync(join(REPO, "examples", "indicators", "book-pressure.ts"), join(dir, "indicators", "book-pressure.ts"));
    const cfg = join(dir, "c.toml");
    writeFileSync(cfg, `[[indicators.custom]]\nmodule = "indicators/absent.ts"\n\n[[indicators.custom]]\nmodule = "indicators/book-pressure.ts"\nparams = { levels = 9 }\n\n[strategy]\nstop_bps = -1\n`);
    const r = await runBinary(["validate", "--config", cfg], dirsEnv(dir), dir);
    expect(r.exitCode).toBe(78);
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines).toEqual([
      `harvestd: invalid configuration (${cfg}):`,
      `  strategy.stop_bps: must be ≥ 0 [${cfg}:9]`,
      `harvestd: indicators.custom[0] (${join(dir, "indicators", "absent.ts")}): file not found`,
      expect.stringMatching(/^harvestd: indicators\.custom\[1\] .*: params rejected by the module: levels must be a whole number from 1 to 5, got 9$/),
    ]);
    // [trade] in error: its keys in the environment are checked once it is fixed, and the line says so.
    const trade = await runBinary(["validate", "--set", "trade.enable=true", "--set", "trade.symbols.BTCUSDT={leverage=0}", "--symbols", "BTCUSDT"], dirsEnv(dir), dir);
    expect(trade.exitCode).toBe(78);
    expect(trade.stderr).toContain("(checked once these are fixed: trading keys)");
    // A TOML syntax error leaves every later check for then.
    writeFileSync(cfg, `symbols = [\n`);
    const toml = await runBinary(["validate", "--config", cfg], dirsEnv(dir), dir);
    expect(toml.stderr).toContain(`${cfg}:1:11: not valid TOML`);
    expect(toml.stderr).toContain("(checked once these are fixed: custom indicator modules, the model file, trading keys, NATS settings)");
  });
});

describe("harvestd store", () => {
  test("refuses [trade] enable (the store does not trade), naming the key and its file: exit 78", async () => {
    const dir = tempDir("store-trade");
    const cfg = join(dir, "store.toml");
    writeFileSync(cfg, ['symbols = ["BTCUSDT"]', "", "[trade]", "enable = true", "", "[trade.symbols.BTCUSDT]", "leverage = 2", ""].join("\n"));
    // Nothing here may reach a real host: every endpoint is a closed local port.
    const closed = "127.0.0.1:9";
    const env = {
      ...collectorEnv({ publicWsBase: `ws://${closed}`, marketWsBase: `ws://${closed}`, restBase: `http://${closed}` }, ["BTCUSDT"], dir, freePort()),
      BINANCE_TRADE_REST: `http://${closed}`,
      BINANCE_TRADE_WS: `ws://${closed}`,
    };
    const r = await runBinary(["store", "--config", cfg], env, dir);
    expect(r.exitCode).toBe(78);
    const line = r.stderr.split("\n").find((l) => l.includes("trade.enable"));
    expect(line).toContain("the store does not trade");
    expect(line).toContain(cfg);
    expect(r.stderr).not.toContain("    at ");
    // `run` with the same file gets past the configuration (it stops later, at the missing API key).
    const run = await runBinary(["run", "--config", cfg], env, dir);
    expect(run.stderr).not.toContain("the store does not trade");
    expect(run.stderr).toContain("BINANCE_API_KEY");
  });
});

describe("other commands", () => {
  test("config prints the commented default, identical to the shipped config.toml", async () => {
    const r = await runBinary(["config"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(REPO, "config.toml"), "utf8"));
  });

  test("version names the version, the target, the commit, the Bun version and the build time", async () => {
    const r = await runBinary(["version"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^harvestd \d+\.\d+\.\d+ (linux|darwin|windows)-(x64|arm64) \(commit ([0-9a-f]{12}(-dirty)?|unknown), bun \d+\.\d+\.\d+, built \d{4}-\d{2}-\d{2}T[\d:.]+Z\)\n$/);
  });

  test("unknown commands and flags are usage errors with one clear line: exit 2", async () => {
    const a = await runBinary(["frobnicate"]);
    expect(a.exitCode).toBe(2);
    expect(a.stderr.split("\n")[0]).toBe('harvestd: unknown command "frobnicate"');
    const b = await runBinary(["run", "--no-such-flag"]);
    expect(b.exitCode).toBe(2);
    expect(b.stderr.split("\n")[0]).toContain("--no-such-flag");
    // A symbol that cannot be one is refused for every command, not searched for and found absent.
    for (const cmd of ["report", "backfill"]) {
      const c = await runBinary([cmd, "--from", "2026-01-01", "--to", "2026-01-01", "--symbols", "BTCUSDT,BTC_USDT"]);
      expect({ cmd, code: c.exitCode, first: c.stderr.split("\n")[0] }).toEqual({ cmd, code: 2, first: 'harvestd: --symbols: "BTC_USDT" is not a symbol (letters and digits, e.g. BTCUSDT; several separated by commas)' });
    }
  });

  test("an option the command does not read is refused, naming the options it takes: exit 2", async () => {
    const cases: [string[], string][] = [
      [["report", "--from", "2026-01-01", "--to", "2026-01-01", "--threads", "4"], "report does not take --threads (it takes --config, --symbols, --set, --from, --to)"],
      [["replay", "/tmp", "--run-hours", "1"], "replay does not take --run-hours (it takes --config, --symbols, --set, --out, --threads)"],
      [["run", "--out", "/tmp/x"], "run does not take --out (it takes --config, --symbols, --run-hours, --set)"],
      [["version", "--symbols", "BTCUSDT"], "version does not take --symbols (it takes no options)"],
    ];
    for (const [args, message] of cases) {
      const r = await runBinary(args);
      expect({ args, code: r.exitCode, first: r.stderr.split("\n")[0] }).toEqual({ args, code: 2, first: `harvestd: ${message}` });
    }
    // Those a command reads still pass the check (train's check of the values then asks for what is missing).
    const t = await runBinary(["train", "--from", "2026-01-01", "--to", "2026-01-01", "--seed", "3", "--folds", "4", "--models", "logistic", "--signals", "fusion"]);
    expect(t.stderr.split("\n")[0]).toBe("harvestd: train needs --out DIR (e.g. --out models/btc-2026-11)");
  });

  test("a negative number after an option is its value, checked like any other", async () => {
    const r = await runBinary(["validate", "--run-hours", "-1"]);
    expect({ code: r.exitCode, named: r.stderr.includes("run_hours: must be ≥ 0 [flag run_hours]"), usage: r.stderr.includes("usage:") }).toEqual({ code: 78, named: true, usage: false });
  });

  test("replay of a path that does not exist says which: exit 2", async () => {
    const r = await runBinary(["replay", "/nonexistent/harvestd/logs"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("/nonexistent/harvestd/logs does not exist");
  });

  test("a missing config file is a configuration error naming it: exit 78", async () => {
    const r = await runBinary(["run", "--config", "/nonexistent/harvestd.toml"]);
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain("/nonexistent/harvestd.toml");
    expect(r.stderr).toContain("cannot read config file");
  });
});

describe("validate refuses the NATS connection settings run and store would refuse", () => {
  const dirs = (dir: string) => ({ OUTPUT_DIR: join(dir, "a"), PREVIEW_DIR: join(dir, "b"), NDJSON_DIR: join(dir, "c"), ARTIFACTS_DIR: join(dir, "d") });

  test("credentials half set, a creds file missing or unusable, credentials in a server URL: exit 78, never the secret", async () => {
    const dir = tempDir("validate-nats");
    const garbage = join(dir, "bad.creds");
    writeFileSync(garbage, "-----BEGIN NATS USER JWT-----\nnot a jwt\n------END NATS USER JWT------\n");
    const cases: [Record<string, string>, string[], string][] = [
      [{ NATS_PASSWORD: "pw-only-9931" }, [], "publish.nats: NATS_USER and NATS_PASSWORD go together: set both [environment]"],
      [{ NATS_CREDS: "/nonexistent/harvestd.creds" }, [], "publish.nats: NATS_CREDS: cannot read the credentials file: ENOENT [environment]"],
      [{ NATS_CREDS: garbage }, [], "publish.nats: NATS_CREDS: the credentials file cannot be used"],
      [{}, ["--set", 'publish.nats.servers=["nats://bob:pw-in-url-7731@127.0.0.1:4222"]'], "publish.nats: servers[0] (nats://127.0.0.1:4222): credentials in a server URL are not used; set NATS_USER and NATS_PASSWORD (or NATS_CREDS) in the environment instead"],
    ];
    for (const [env, args, line] of cases) {
      const r = await runBinary(["validate", "--set", "publish.nats.enable=true", ...args], { ...dirs(dir), ...env }, dir);
      expect({ env, code: r.exitCode, named: r.stderr.includes(line) }).toEqual({ env, code: 78, named: true });
      expect(r.stderr).not.toMatch(/pw-only-9931|pw-in-url-7731/);
    }
  });
});

describe("validate leaves the data folders alone", () => {
  test("in an empty folder it creates nothing; data folders that overlap are refused naming both keys: exit 0, then 78", async () => {
    const dir = tempDir("validate-no-side-effect");
    const cfg = join(dir, "config.toml");
    writeFileSync(cfg, 'symbols = ["BTCUSDT"]\n');
    // Folders created by a root `validate` would be root's, and the service user's `run` then fails (EACCES).
    const ok = await runBinary(["validate", "--config", cfg], {}, dir);
    expect({ code: ok.exitCode, stderr: ok.stderr, left: readdirSync(dir) }).toEqual({ code: 0, stderr: "", left: ["config.toml"] });
    // Parquet retention would delete the NDJSON days kept "forever" in the same folder.
    const same = await runBinary(["validate", "--config", cfg, "--set", "storage.ndjson_dir=data/raw"], {}, dir);
    expect(same.exitCode).toBe(78);
    expect(same.stderr).toContain(`storage.ndjson_dir: ${dir}/data/raw is also storage.output_dir, from ${cfg}: `);
    expect(same.stderr).toContain("[flag storage.ndjson_dir]");
    expect(readdirSync(dir)).toEqual(["config.toml"]);
  });
});
