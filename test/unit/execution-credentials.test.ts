/** Trading keys from the environment (src/exchange/binance/execution/signer.ts): refused with the variable named, never the value. */
import { expect, test } from "bun:test";
import { credentialsFromEnv } from "../../src/exchange/binance/execution/signer.ts";

test("a key or secret with leading or trailing whitespace is refused, naming the variable, not the value", () => {
  for (const [env, name] of [
    [{ BINANCE_API_KEY: "k", BINANCE_API_SECRET: "s3cr3tabc\n" }, "BINANCE_API_SECRET"],
    [{ BINANCE_API_KEY: " k3y9", BINANCE_API_SECRET: "s3cr3tabc" }, "BINANCE_API_KEY"],
  ] as const) {
    const r = credentialsFromEnv(env);
    expect(r.ok).toBe(false);
    const error = r.ok ? "" : r.error;
    expect(error.startsWith(`${name} has leading or trailing whitespace`)).toBe(true);
    expect(error).not.toMatch(/s3cr3tabc|k3y9/);
  }
  expect(credentialsFromEnv({ BINANCE_API_KEY: "k", BINANCE_API_SECRET: "s" }).ok).toBe(true);
});
