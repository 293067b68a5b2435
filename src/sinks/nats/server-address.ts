/**
 * One `[publish.nats] servers` entry taken apart (used by `run` and `harvestd store` alike), so that
 * `validate` names the entry: `nats://user:pass@` (no host) or `nats://host:99999` would otherwise
 * fail at start, or forever in the background. Never repeats the address's user info.
 */
import { hideUserInfo } from "../../util/user-info.ts";

/** The schemes the NATS client is given today (src/sinks/nats/connection.ts: tls:// turns TLS on). */
const SCHEMES: readonly string[] = ["nats", "tls"];
const HOST_NAME = /^[A-Za-z0-9_.-]+$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

/** What is wrong with one server address, or null. Never repeats the address's user info. */
export function natsServerProblem(url: string): string | null {
  const shown = JSON.stringify(hideUserInfo(url));
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(url);
  if (m === null) return `${shown} is not an address: expected nats://host:port or tls://host:port`;
  const scheme = m[1]!;
  const rest = m[2]!;
  if (!SCHEMES.includes(scheme.toLowerCase())) return `${shown}: scheme ${scheme}:// is not one of ${SCHEMES.map((s) => `${s}://`).join(", ")}`;
  if (/[/?#\s]/.test(rest)) return `${shown}: expected only host and port after ${scheme}://`;
  // The last `@` ends the user info, as for the client: a password may hold an unescaped `@`.
  const hostPort = rest.slice(rest.lastIndexOf("@") + 1);
  const split = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort)!;
  const host = split[1]!;
  const port = split[2];
  if (host === "") return `${shown} has no host`;
  if (!HOST_NAME.test(host) && !IPV6.test(host)) return `${shown}: ${JSON.stringify(host)} is not a host name or address`;
  if (port === undefined) return null;
  // `nats://user:password` (the `@host` forgotten) reads as host `user`, port `password`: not repeated.
  if (!/^\d+$/.test(port)) return "the port is not a number (address not shown: it may hold a password)";
  if (Number(port) < 1 || Number(port) > 65535) return `${shown}: port ${port} is not from 1 to 65535`;
  return null;
}

