/**
 * Connection options for the NATS client from `[publish.nats]` and the environment. Credentials are
 * read from the environment only (NATS_USER + NATS_PASSWORD, or NATS_CREDS = path of a .creds
 * file) and never appear in logs, status or errors: problems name the variable, not its value.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
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
  const user = env.NATS_USER ?? "";
  const pass = env.NATS_PASSWORD ?? "";
  const creds = env.NATS_CREDS ?? "";
  if (creds !== "" && user !== "") return { ok: false, error: "set either NATS_CREDS or NATS_USER/NATS_PASSWORD, not both" };
  if (creds !== "") {
    try {
      opts.authenticator = credsAuthenticator(new Uint8Array(readFileSync(creds)));
    } catch (e) {
      return { ok: false, error: `NATS_CREDS: cannot read the credentials file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
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
