/** `[publish.nats]`'s connection options and error texts (src/sinks/nats/connection.ts): what is refused before connecting, and what a log line may say. */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NatsParamsSchema } from "../../src/sinks/nats/params.ts";
import { connectionOptions, natsErrorText } from "../../src/sinks/nats/connection.ts";
import { tempDir } from "../helpers/binary.ts";

const params = (servers: string[]) => NatsParamsSchema.parse({ servers });

describe("connectionOptions", () => {
  test("a server URL with credentials is refused, naming its index and address without them", () => {
    const r = connectionOptions(params(["nats://127.0.0.1:4222", "nats://bob:hunter2@10.0.0.2:4222"]), "t", {});
    expect(r).toEqual({ ok: false, error: "servers[1] (nats://10.0.0.2:4222): credentials in a server URL are not used; set NATS_USER and NATS_PASSWORD (or NATS_CREDS) in the environment instead" });
  });

  test("a creds file that cannot be parsed is refused at once, not retried as if the server were down", () => {
    const file = join(tempDir("nats-creds"), "bad.creds");
    writeFileSync(file, "-----BEGIN NATS USER JWT-----\nnot a jwt\n------END NATS USER JWT------\n");
    const r = connectionOptions(params(["nats://127.0.0.1:4222"]), "t", { NATS_CREDS: file });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.startsWith("NATS_CREDS: the credentials file cannot be used")).toBe(true);
  });

  test("user and password from the environment are the client's; nothing else is needed", () => {
    const r = connectionOptions(params(["nats://127.0.0.1:4222"]), "t", { NATS_USER: "u", NATS_PASSWORD: "p" });
    expect(r.ok && { user: r.options.user, pass: r.options.pass }).toEqual({ user: "u", pass: "p" });
  });
});

describe("natsErrorText", () => {
  test("an authorization refusal says where credentials come from", () => {
    expect(natsErrorText(new Error("Authorization Violation"), [])).toBe("nats: Authorization Violation (the server refused the credentials from NATS_USER/NATS_PASSWORD or NATS_CREDS, or none were set)");
  });
  test("other errors are passed on, without a URL's credentials", () => {
    expect(natsErrorText(new Error("connect to nats://bob:hunter2@10.0.0.2:4222 failed"), ["nats://bob:hunter2@10.0.0.2:4222"])).not.toContain("hunter2");
  });
});
