import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONFIG_TOML } from "../../src/config/default-config.ts";
import { ENV_BINDINGS } from "../../src/config/env.ts";
import { loadConfig, type ConfigProblem } from "../../src/config/load.ts";
import { isSecretKey } from "../../src/config/redact.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { tempDir } from "../helpers/binary.ts";

const repo = join(import.meta.dir, "..", "..");

function tmpConfig(text: string): string {
  const dir = tempDir("cfg");
  const p = join(dir, "config.toml");
  writeFileSync(p, text);
  return p;
}

function ok(r: ReturnType<typeof loadConfig>) {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.problems)}`);
  return r.config;
}

describe("shipped configuration", () => {
  test("config.toml is exactly what `harvestd config` prints", () => {
    expect(readFileSync(join(repo, "config.toml"), "utf8")).toBe(DEFAULT_CONFIG_TOML);
  });

  test("parsing the commented default gives the schema defaults, with paths resolved", () => {
    const p = tmpConfig(DEFAULT_CONFIG_TOML);
    const fromFile = ok(loadConfig({ configPath: p, env: {} }));
    const defaults = ConfigSchema.parse({});
    const dir = join(p, "..");
    expect(fromFile.storage.output_dir).toBe(join(dir, "data/raw"));
    expect({ ...fromFile, storage: { ...fromFile.storage, output_dir: "", preview_dir: "", ndjson_dir: "", artifacts_dir: "" } }).toEqual({
      ...defaults,
      storage: { ...defaults.storage, output_dir: "", preview_dir: "", ndjson_dir: "", artifacts_dir: "" },
    });
  });

  test("an empty file is a complete configuration with the original's symbols", () => {
    const cfg = ok(loadConfig({ configPath: tmpConfig(""), env: {} }));
    expect(cfg.symbols).toEqual(["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]);
    expect(cfg.storage.parquet_rotate_sec).toBe(60);
    expect(cfg.feed.ping_interval_sec).toBe(20);
    expect(cfg.feed.heartbeat_timeout_sec).toBe(30);
    expect(cfg.feed.dedup_lru).toBe(8192);
    expect(cfg.cvd.mad_multiplier).toBe(1.8);
    expect(cfg.http.listen).toBe("127.0.0.1:8088");
  });
});

describe("precedence: defaults < file < environment < flags", () => {
  const file = tmpConfig(`run_hours = 2\n[storage]\nparquet_rotate_sec = 30\n[cvd]\nwinsor_limit = 5.0\n`);

  test("file overrides defaults", () => {
    const cfg = ok(loadConfig({ configPath: file, env: {} }));
    expect(cfg.run_hours).toBe(2);
    expect(cfg.storage.parquet_rotate_sec).toBe(30);
    expect(cfg.cvd.winsor_limit).toBe(5);
    expect(cfg.storage.orderbook_rotate_sec).toBe(60);
  });

  test("environment overrides the file", () => {
    const cfg = ok(loadConfig({ configPath: file, env: { RUN_HOURS: "3", PARQUET_ROTATE_SEC: "10", WINSOR_LIMIT: "6.5" } }));
    expect(cfg.run_hours).toBe(3);
    expect(cfg.storage.parquet_rotate_sec).toBe(10);
    expect(cfg.cvd.winsor_limit).toBe(6.5);
  });

  test("flags override the environment", () => {
    const cfg = ok(loadConfig({ configPath: file, env: { RUN_HOURS: "3" }, overrides: ["run_hours=4", "cvd.winsor_limit=7"] }));
    expect(cfg.run_hours).toBe(4);
    expect(cfg.cvd.winsor_limit).toBe(7);
  });
});

describe("environment variables of the original harvester", () => {
  test("every original name maps onto a key with its meaning", () => {
    const env = {
      SYMBOLS: "btcusdt, ethusdt",
      RUN_HOURS: "1",
      OUTPUT_DIR: "/tmp/h/raw",
      PREVIEW_DIR: "/tmp/h/preview",
      PARQUET_ROTATE_SEC: "15",
      ORDERBOOK_ROTATE_SEC: "20",
      ENABLE_ORDERBOOK: "0",
      WSS_PING_INTERVAL: "10",
      WSS_HEARTBEAT_TIMEOUT: "25",
      WSS_RECONNECT_DELAY: "0.5",
      DEDUP_LRU: "100",
      Z_MODE: "level",
      SCALE_MODE: "ewma",
      MAD_MULTIPLIER: "1.5",
      SCALE_FAST_WEIGHT: "0.3",
      HALF_LIFE_SEC: "300",
      WINSOR_LIMIT: "4",
      WIN_SECS: "120",
      ACTIVE_TPS: "1.5",
      VOL_SPLIT: "0.6",
      SCENARIO_SCHEME: "regime2x2",
      FEE_TIER: "VIP1",
      PAPER_ENABLE: "1",
      BINANCE_PUBLIC_WS: "ws://127.0.0.1:1/public",
      BINANCE_MARKET_WS: "ws://127.0.0.1:1/market",
      BINANCE_REST: "http://127.0.0.1:1",
      BINANCE_TRADE_REST: "http://127.0.0.1:2",
      BINANCE_TRADE_WS: "ws://127.0.0.1:2",
      NDJSON_DIR: "/tmp/h/nd",
      ARTIFACTS_DIR: "/tmp/h/art",
      HTTP_LISTEN: "127.0.0.1:9999",
      HTTP_TOKEN: "secret",
    };
    const cfg = ok(loadConfig({ configPath: null, env }));
    expect(cfg.symbols).toEqual(["BTCUSDT", "ETHUSDT"]);
    expect(cfg.run_hours).toBe(1);
    expect(cfg.storage).toMatchObject({ output_dir: "/tmp/h/raw", preview_dir: "/tmp/h/preview", ndjson_dir: "/tmp/h/nd", artifacts_dir: "/tmp/h/art", parquet_rotate_sec: 15, orderbook_rotate_sec: 20 });
    expect(cfg.feed).toMatchObject({ enable_orderbook: false, ping_interval_sec: 10, heartbeat_timeout_sec: 25, reconnect_delay_sec: 0.5, dedup_lru: 100 });
    expect(cfg.cvd).toMatchObject({ z_mode: "level", scale_mode: "ewma", mad_multiplier: 1.5, scale_fast_weight: 0.3, half_life_sec: 300, winsor_limit: 4 });
    expect(cfg.regime).toMatchObject({ win_secs: 120, active_tps: 1.5, vol_split: 0.6, scenario_scheme: "regime2x2", fee_tier: "VIP1" });
    expect(cfg.paper.enable).toBe(true);
    expect(cfg.endpoints).toEqual({ public_ws: "ws://127.0.0.1:1/public", market_ws: "ws://127.0.0.1:1/market", rest: "http://127.0.0.1:1" });
    expect(cfg.http).toEqual({ listen: "127.0.0.1:9999", token: "secret" });
    expect(cfg.trade).toMatchObject({ rest: "http://127.0.0.1:2", user_stream: "ws://127.0.0.1:2" });
    // Every binding was exercised, so a new one cannot be added without a test.
    expect(Object.keys(env).sort()).toEqual(ENV_BINDINGS.map((b) => b.name).sort());
  });

  test("SYMBOLS=ALL selects every TRADING USDT perpetual", () => {
    expect(ok(loadConfig({ configPath: null, env: { SYMBOLS: "all" } })).symbols).toBe("ALL");
  });

  test("a bad boolean variable lists every accepted spelling, and each of them is accepted", () => {
    const r = loadConfig({ configPath: null, env: { PAPER_ENABLE: "banana" } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toContainEqual(
      expect.objectContaining({ path: "paper.enable", message: 'expected 1, true, yes or on to enable, or 0, false, no or off to disable (any case), got "banana"' }),
    );
    for (const v of ["1", "true", "YES", "On"]) expect(ok(loadConfig({ configPath: null, env: { PAPER_ENABLE: v } })).paper.enable).toBe(true);
    for (const v of ["0", "False", "no", "OFF"]) expect(ok(loadConfig({ configPath: null, env: { PAPER_ENABLE: v } })).paper.enable).toBe(false);
  });

  test("a bad environment value names the variable and the key", () => {
    const r = loadConfig({ configPath: null, env: { WSS_PING_INTERVAL: "soon", ENABLE_ORDERBOOK: "maybe" } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toContainEqual(expect.objectContaining({ path: "feed.ping_interval_sec", source: "env WSS_PING_INTERVAL" }));
    expect(r.problems).toContainEqual(expect.objectContaining({ path: "feed.enable_orderbook", source: "env ENABLE_ORDERBOOK" }));
  });
});

describe("interpolation and paths", () => {
  test("${VAR} and ${VAR:-default} are substituted; comments are left alone", () => {
    const p = tmpConfig(`# \${NOT_SET} in a comment is fine\nsymbols = ["\${SYM1}", "\${SYM2:-ETHUSDT}"]\n[storage]\nparquet_rotate_sec = \${ROT:-45}\n`);
    const cfg = ok(loadConfig({ configPath: p, env: { SYM1: "SOLUSDT" } }));
    expect(cfg.symbols).toEqual(["SOLUSDT", "ETHUSDT"]);
    expect(cfg.storage.parquet_rotate_sec).toBe(45);
  });

  test("an unset variable without default is reported with file and line", () => {
    const p = tmpConfig(`run_hours = 1\nsymbols = ["\${MISSING_SYMBOL}"]\n`);
    const r = loadConfig({ configPath: p, env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]!.source).toBe(`${p}:2`);
    expect(r.problems[0]!.message).toContain("MISSING_SYMBOL");
  });

  test("relative paths in the file, and defaulted ones, resolve against the file's folder", () => {
    const p = tmpConfig(`[storage]\noutput_dir = "out/raw"\npreview_dir = "/abs/preview"\n`);
    const cfg = ok(loadConfig({ configPath: p, env: {} }));
    expect(cfg.storage.output_dir).toBe(join(p, "..", "out/raw"));
    expect(cfg.storage.preview_dir).toBe("/abs/preview");
    expect(cfg.storage.ndjson_dir).toBe(join(p, "..", "data/ndjson"));
  });
});

describe("problems are listed with their key paths", () => {
  test("wrong type, bad symbol, unknown key, out-of-range value, unwritable directory: all reported", () => {
    const p = tmpConfig(
      `run_hours = "soon"\nsymbols = ["BTCUSDT", "eth-usdt"]\ntypo_key = 1\n[regime]\nvol_split = 1.5\n[storage]\noutput_dir = "/proc/harvestd-cannot-exist/raw"\n`,
    );
    const r = loadConfig({ configPath: p, env: {}, checkDirs: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.problems.map((x) => x.path);
    expect(paths).toContain("run_hours");
    expect(paths).toContain("symbols[1]");
    expect(paths).toContain("regime.vol_split");
    expect(paths).toContain("storage.output_dir");
    expect(r.problems.some((x) => x.message.includes("typo_key"))).toBe(true);
  });

  test("symbols as one string (the environment's form) or lower-case 'all': says what the key takes, not 'Invalid input'", () => {
    for (const v of [`"BTCUSDT,ETHUSDT"`, `"all"`, `5`]) {
      const r = loadConfig({ configPath: tmpConfig(`symbols = ${v}\n`), env: {} });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.problems.map((x) => [x.path, x.message])).toEqual([["symbols", 'expected "ALL" or a list of symbols, e.g. ["BTCUSDT", "ETHUSDT"]']]);
    }
    // The list's own problems still name the element.
    const dup = loadConfig({ configPath: tmpConfig(`symbols = ["BTCUSDT", "BTCUSDT"]\n`), env: {} });
    expect(dup.ok ? [] : dup.problems.map((x) => x.message)).toEqual(["symbols must not repeat"]);
  });

  test("wrong values say what the key takes and what it got, in the words the environment's errors use", () => {
    const r = loadConfig({
      configPath: tmpConfig(`run_hours = -1\n[storage]\nparquet_rotate_sec = "60"\nndjson_compress = "lz4"\n[feed]\nping_interval_sec = 0\nenable_orderbook = "yes"\n`),
      env: {},
      overrides: ["feed.dedup_lru=2.5"],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.fromEntries(r.problems.map((x) => [x.path, x.message]))).toEqual({
      run_hours: "must be ≥ 0",
      "storage.parquet_rotate_sec": 'expected a number, got "60"',
      "storage.ndjson_compress": 'expected one of "none", "gzip", "zstd", got "lz4"',
      "feed.ping_interval_sec": "must be > 0",
      "feed.enable_orderbook": 'expected true or false, got "yes"',
      "feed.dedup_lru": "expected an integer, got 2.5",
    });
  });

  test("an unknown key: its own path, where it came from, and the nearest real key when it looks like a typo", () => {
    const r = loadConfig({
      configPath: tmpConfig(`[storage]\nparquet_rotate_secs = 30\n[strategy]\nbogus = 1\n`),
      env: {},
      overrides: ["nosuch.key=1", "storage.ndjson_compres=\"zstd\""],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.problems.map((x) => [x.path, [x.message, x.source]]));
    expect(byPath["storage.parquet_rotate_secs"]).toEqual(['unknown key "parquet_rotate_secs" (did you mean "parquet_rotate_sec"?)', expect.stringMatching(/\.toml:2$/)]);
    expect(byPath["strategy.bogus"]).toEqual(['unknown key "bogus"', expect.stringMatching(/\.toml:4$/)]);
    expect(byPath["nosuch"]).toEqual(['unknown key "nosuch"', "flag nosuch.key"]);
    expect(byPath["storage.ndjson_compres"]).toEqual(['unknown key "ndjson_compres" (did you mean "ndjson_compress"?)', "flag storage.ndjson_compres"]);
    expect(r.problems.length).toBe(4);
  });

  test("unknown keys inside a list entry and a per-symbol table: the entry's path as the file writes it, and the nearest real key", () => {
    const r = loadConfig({
      configPath: tmpConfig(`[[indicators.custom]]\nmodule = "a.ts"\n\n[[indicators.custom]]\nmodul = "b.ts"\n\n[trade.symbols.BTCUSDT]\nleverag = 3\n`),
      env: {},
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.problems.map((x) => [x.path, x.message]));
    expect(byPath["indicators.custom[1].modul"]).toBe('unknown key "modul" (did you mean "module"?)');
    expect(byPath["trade.symbols.BTCUSDT.leverag"]).toBe('unknown key "leverag" (did you mean "leverage"?)');
  });

  test("a per-symbol table under a lower-case symbol names the key and what a symbol must look like", () => {
    const r = loadConfig({ configPath: tmpConfig(`[trade.symbols.btcusdt]\nleverage = 3\n`), env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((x) => [x.path, x.message])).toEqual([["trade.symbols.btcusdt", 'key "btcusdt": symbol must be upper-case letters and digits, e.g. BTCUSDT']]);
  });

  test("an unwritable directory alone is the only problem", () => {
    const p = tmpConfig(`[storage]\noutput_dir = "/proc/harvestd-cannot-exist/raw"\n`);
    const r = loadConfig({ configPath: p, env: {}, checkDirs: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((x) => x.path)).toEqual(["storage.output_dir"]);
    expect(r.problems[0]!.message).toContain("/proc/harvestd-cannot-exist/raw");
  });

  test("a non-loopback HTTP address without a token is refused", () => {
    const r = loadConfig({ configPath: null, env: { HTTP_LISTEN: "0.0.0.0:8088" } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]!.path).toBe("http.listen");
    expect(r.problems[0]!.message).toContain("http.token");
    expect(loadConfig({ configPath: null, env: { HTTP_LISTEN: "0.0.0.0:8088", HTTP_TOKEN: "t" } }).ok).toBe(true);
  });

  test("invalid TOML names the file, the line and the column", () => {
    const p = tmpConfig(`symbols = [\n`);
    const r = loadConfig({ configPath: p, env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]!.source).toBe(`${p}:1:11`);
    expect(r.problems[0]!.message).toContain("TOML");
  });
});

describe("a problem never repeats a secret", () => {
  const PASSWORD = "S3cretPw-xyzzy";

  test("the key-name rule picks exactly the keys that hold secrets among all the schema's keys", () => {
    const leaves = (o: object, at: string[]): string[][] =>
      Object.entries(o).flatMap(([k, v]) => (v !== null && typeof v === "object" && !Array.isArray(v) ? leaves(v, [...at, k]) : [[...at, k]]));
    const all = leaves(ConfigSchema.parse({}), []);
    // key_file and listen_key_keepalive_sec name a file and a setting: their values are shown.
    expect(all.filter((p) => isSecretKey(p)).map((p) => p.join("."))).toEqual(["http.token"]);
    for (const name of ["api_key", "apiKey", "password", "passwd", "client_secret", "credentials", "creds_file", "private_key"]) expect(isSecretKey(["x", name])).toBe(true);
  });

  test("a secret key's wrong value is named by its kind only, from a file, a flag or a list", () => {
    const file = problemsOf(loadConfig({ configPath: tmpConfig(`[http]\ntoken = ["${PASSWORD}"]\n`), env: {} }));
    expect(file.map((p) => [p.path, p.message])).toEqual([["http.token", "expected text, got a list (value not shown: it may hold a secret)"]]);
    const flag = problemsOf(loadConfig({ configPath: null, env: {}, overrides: ["http.token=12345678"] }));
    expect(flag.map((p) => [p.path, p.message])).toEqual([["http.token", "expected text, got a number (value not shown: it may hold a secret)"]]);
    // A --set that is not key=value has no key to judge by: its text is not repeated when it names a secret.
    const bare = problemsOf(loadConfig({ configPath: null, env: {}, overrides: [`http.token:${PASSWORD}`] }));
    expect(bare.map((p) => [p.path, p.source])).toEqual([["(flags)", "flag --set (text not shown: it may hold a secret)"]]);
  });

  test("a URL's user info is hidden whatever the key: file, environment, and messages schemas compose", () => {
    const url = `nats://hvuser:${PASSWORD}@127.0.0.1:14222`;
    const file = problemsOf(loadConfig({ configPath: tmpConfig(`[publish.nats]\nservers = "${url}"\n`), env: {} }));
    expect(file.map((p) => [p.path, p.message])).toEqual([["publish.nats.servers", 'expected a list, got "nats://***@127.0.0.1:14222"']]);
    // Past 60 characters a value is shortened; the user info goes first, or the cut could leave the password without its `@`.
    const long = `nats://hvuser:${PASSWORD.repeat(5)}@127.0.0.1:14222`;
    const cut = problemsOf(loadConfig({ configPath: null, env: {}, overrides: [`publish.nats.servers="${long}"`] }));
    expect(cut.map((p) => p.message)).toEqual(['expected a list, got "nats://***@127.0.0.1:14222"']);
    const env = problemsOf(loadConfig({ configPath: null, env: { WSS_PING_INTERVAL: `https://u:${PASSWORD}@h`, FEE_TIER: `https://u:${PASSWORD}@h` } }));
    expect(Object.fromEntries(env.map((p) => [p.path, p.message]))).toEqual({
      "feed.ping_interval_sec": 'expected a number, got "https://***@h"',
      "regime.fee_tier": 'fee tier "https://***@h" is not in paper.fee_tiers (TM, VIP0, VIP1, VIP2, VIP3, VIP4, VIP5, VIP6)',
    });
    expect(JSON.stringify([file, cut, env])).not.toContain("S3cret");
  });
});

describe("NATS server addresses", () => {
  test("an address without a host, or with a port outside 1–65535, is refused under its own index; user info never shown", () => {
    const servers = ["nats://ok-1:4222", "nats://user:pass@", "nats://host:99999", "tls://host:0", "nats://user:password", "http://h:4222", "nats://h:4222/path"];
    const r = loadConfig({ configPath: null, env: {}, overrides: [`publish.nats.servers=${JSON.stringify(servers)}`] });
    expect(r.ok).toBe(false);
    expect(Object.fromEntries(problemsOf(r).map((p) => [p.path, [p.message, p.source]]))).toEqual({
      "publish.nats.servers[1]": ['"nats://***@" has no host', "flag publish.nats.servers"],
      "publish.nats.servers[2]": ['"nats://host:99999": port 99999 is not from 1 to 65535', "flag publish.nats.servers"],
      "publish.nats.servers[3]": ['"tls://host:0": port 0 is not from 1 to 65535', "flag publish.nats.servers"],
      "publish.nats.servers[4]": ["the port is not a number (address not shown: it may hold a password)", "flag publish.nats.servers"],
      "publish.nats.servers[5]": ['"http://h:4222": scheme http:// is not one of nats://, tls://', "flag publish.nats.servers"],
      "publish.nats.servers[6]": ['"nats://h:4222/path": expected only host and port after nats://', "flag publish.nats.servers"],
    });
  });

  test("names, IPv4 and IPv6 addresses, no port, and user info with an @ in the password are accepted", () => {
    const servers = ["nats://n1", "nats://10.0.0.1:4222", "tls://[::1]:4443", "nats://u:p@ss@n2.example.com:65535"];
    expect(ok(loadConfig({ configPath: null, env: {}, overrides: [`publish.nats.servers=${JSON.stringify(servers)}`] })).publish.nats.servers).toEqual(servers);
  });
});

function problemsOf(r: ReturnType<typeof loadConfig>): readonly ConfigProblem[] {
  return r.ok ? [] : r.problems;
}
