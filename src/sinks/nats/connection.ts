/**
 * Connection options for the NATS client from `[publish.nats]` and the environment. Credentials are
 * read from the environment only (NATS_USER + NATS_PASSWORD, or NATS_CREDS = path of a .creds
 * file) and never appear in logs, status or errors: problems name the variable, not its value.
 * A server URL carrying credentials is refused: the client would not use them, and a secret in
 * config.toml is one more place for it to leak from.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { hideUserInfo } from "../../util/user-info.ts";
import type { NatsParams } from "./params.ts";

export type OptionsResult = { readonly ok: true; readonly options: NodeConnectionOptions } | { readonly ok: false; readonly error: string };

/** Builds the client options; a missing or unreadable credentials/TLS file is an error naming it. */
export function connectionOptions(p: NatsParams, name: string, env: Readonly<Record<string, string | undefined>> = process.env): OptionsResult {
  const opts: NodeConnectionOptions = {
    servers: [...p.servers],
    name,
    // Reconnects forever: a collector outlives any NATS outage and catches up from its log.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    waitOnFirstConnect: true,
    ignoreClusterUpdates: !p.discover_servers,
    pingInterval: 10_000,
    maxPingOut: 2,
  };
  const withCredentials = p.servers.findIndex((u) => redactServer(u) !== u);
  if (withCredentials >= 0) {
    return { ok: false, error: `servers[${withCredentials}] (${redactServer(p.servers[withCredentials]!)}): credentials in a server URL are not used; set NATS_USER and NATS_PASSWORD (or NATS_CREDS) in the environment instead` };
  }
  const user = env.NATS_USER ?? "";
  const pass = env.NATS_PASSWORD ?? "";
  const creds = env.NATS_CREDS ?? "";
  if (creds !== "" && user !== "") return { ok: false, error: "set either NATS_CREDS or NATS_USER/NATS_PASSWORD, not both" };
  if (creds !== "") {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(creds));
    } catch (e) {
      return { ok: false, error: `NATS_CREDS: cannot read the credentials file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
    opts.authenticator = credsAuthenticator(bytes);
    // The client parses the file only when a server asks for a signature, and retries a parse
    // failure forever as if the server were down: sign once here so a bad file is refused at start.
    try {
      opts.authenticator("harvestd-check");
    } catch (e) {
      return { ok: false, error: `NATS_CREDS: the credentials file cannot be used: ${(e as Error).message}` };
    }
  } else if (user !== "" || pass !== "") {
    if (user === "" || pass === "") return { ok: false, error: "NATS_USER and NATS_PASSWORD go together: set both" };
    opts.user = user;
    opts.pass = pass;
  }
  const t = p.tls;
  const wantsTls = t.enable || p.servers.some((s) => s.startsWith("tls://")) || t.ca_file !== "" || t.cert_file !== "";
  if (wantsTls) {
    for (const [key, path] of [["ca_file", t.ca_file], ["cert_file", t.cert_file], ["key_file", t.key_file]] as const) {
      if (path === "") continue;
      try {
        readFileSync(path);
      } catch (e) {
        return { ok: false, error: `publish.nats.tls.${key}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
      }
    }
    opts.tls = {
      ...(t.ca_file !== "" ? { caFile: t.ca_file } : {}),
      ...(t.cert_file !== "" ? { certFile: t.cert_file, keyFile: t.key_file } : {}),
    };
  }
  return { ok: true, options: opts };
}

/** The collector's name in headers and counts: `collector_id`, else the host name. */
export function collectorName(p: NatsParams): string {
  if (p.collector_id !== "") return p.collector_id;
  return hostname().replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "collector";
}

export async function openConnection(options: NodeConnectionOptions): Promise<NatsConnection> {
  return connect(options);
}

/** `nats://user:pass@host:4222` → `nats://host:4222`: credentials in a server URL never reach a log or the status. */
export function redactServer(url: string): string {
  return hideUserInfo(url, "");
}

/**
 * A client error as shown in logs and status: without credentials, and saying where the credentials
 * come from when the server refused them (the client says only "Authorization Violation").
 */
export function natsErrorText(e: unknown, servers: readonly string[]): string {
  const text = `nats: ${redactText((e as Error)?.message ?? String(e), servers)}`;
  return refusedCredentials(e) ? `${text} (the server refused the credentials from NATS_USER/NATS_PASSWORD or NATS_CREDS, or none were set)` : text;
}

/** Whether a client error is a server refusing the credentials (not an address problem). */
export function refusedCredentials(e: unknown): boolean {
  return /authorization violation|authentication/i.test((e as Error)?.message ?? String(e));
}

/** Removes the credentials of every server URL in `servers` from `text` (client errors may quote a URL). */
export function redactText(text: string, servers: readonly string[]): string {
  let out = text;
  for (const s of servers) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^@/\s]*)@/.exec(s);
    if (m === null || m[1] === "") continue;
    out = out.split(`${m[1]}@`).join("");
    for (const part of m[1]!.split(":")) if (part.length >= 3) out = out.split(part).join("***");
  }
  return out;
}

/**
 * What is wrong with one server address, seen from here: its name does not resolve, nothing listens
 * (connection refused), or what answers is not a NATS server (no `INFO` greeting). Null when a NATS
 * server greets (the problem is elsewhere: credentials, TLS, JetStream). Never names credentials.
 */
export async function diagnoseServer(url: string, timeoutMs = 1500): Promise<string | null> {
  const shown = redactServer(url);
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/\s]*@)?(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?/.exec(url);
  if (m === null) return `${shown}: not a server address`;
  const host = m[1]!.replace(/^\[|\]$/g, "");
  const port = m[2] === undefined ? 4222 : Number(m[2]);
  const { lookup } = await import("node:dns/promises");
  const net = await import("node:net");
  let address: string;
  try {
    address = (await lookup(host)).address;
  } catch (e) {
    return `${shown}: name not resolved (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  return new Promise((resolve) => {
    let done = false;
    const s = net.connect({ host: address, port });
    const finish = (v: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => finish(`${shown}: not a NATS server (connected, but no INFO greeting within ${timeoutMs / 1000} s)`), timeoutMs);
    s.once("data", (d: Buffer) => {
      const head = d.toString("latin1", 0, 16);
      finish(head.startsWith("INFO") ? null : `${shown}: not a NATS server (it answered ${JSON.stringify(head.replace(/[^\x20-\x7e]/g, "?"))})`);
    });
    s.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNREFUSED") finish(`${shown}: connection refused (nothing listens on port ${port})`);
      else if (e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH") finish(`${shown}: host unreachable (${e.code})`);
      else finish(`${shown}: ${e.code ?? e.message}`);
    });
    s.once("close", () => finish(`${shown}: not a NATS server (it closed the connection without a greeting)`));
  });
}

/** The problems of every server of `servers` ("; "-joined), or null when each greets as NATS. */
export async function diagnoseServers(servers: readonly string[], timeoutMs = 1500): Promise<string | null> {
  const found = (await Promise.all(servers.map((s) => diagnoseServer(s, timeoutMs)))).filter((x): x is string => x !== null);
  return found.length === 0 ? null : found.join("; ");
}
