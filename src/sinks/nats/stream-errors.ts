/**
 * JetStream answers about a stream or consumer that retrying cannot fix: the server refuses what the
 * configuration asks for (subjects another stream already takes, replicas on a single server, …).
 * A process that meets one at start refuses to start (exit 78) with one line naming the
 * `[publish.nats]` key and the server's answer; one that meets it later says so on /health. Anything
 * not listed here (no leader, no quorum, a timeout, "insufficient resources" while nodes are down)
 * is transient and retried.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import type { NatsParams } from "./params.ts";

export interface PermanentJetStreamError {
  /** The server's error code (`err_code`). */
  readonly code: number;
  /** The server's answer, as it said it. */
  readonly description: string;
  /** `[publish.nats]` keys that cause it, with their values: `replicas = 3`. */
  readonly keys: string;
  /** What to change. */
  readonly hint: string;
}

type Rule = { readonly keys: (p: NatsParams) => string; readonly hint: (p: NatsParams) => string };

const RULES: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  // JSStreamSubjectOverlapErr
  [10065, { keys: (p) => `stream = "${p.stream}" with subject_prefix = "${p.subject_prefix}"`, hint: (p) => `another stream already takes the subjects ${p.subject_prefix}.>: set stream to that stream's name, or another subject_prefix` }],
  // JSStreamReplicasNotSupportedErr
  [10074, { keys: (p) => `replicas = ${p.replicas}`, hint: () => "a single JetStream server keeps one replica: set replicas = 1, or use a cluster" }],
  // JSStreamNameExistErr
  [10058, { keys: (p) => `stream = "${p.stream}"`, hint: () => "a stream of that name exists with other settings: match them, or use another name" }],
  // JSStreamInvalidConfigF
  [10052, { keys: (p) => `stream = "${p.stream}" settings`, hint: () => "the server refuses the stream's settings" }],
  // JSStreamMaxBytesRequired
  [10113, { keys: (p) => `max_bytes_gb = ${p.max_bytes_gb}`, hint: () => "the account requires a stream size limit: set max_bytes_gb" }],
  // JSStreamMaxStreamBytesExceeded
  [10122, { keys: (p) => `max_bytes_gb = ${p.max_bytes_gb}`, hint: () => "the account allows smaller streams: lower max_bytes_gb" }],
  // JSConsumerNameExistErr, JSConsumerAlreadyExists
  [10013, { keys: (p) => `consumer = "${p.consumer}"`, hint: () => "a consumer of that name exists with other settings: use another consumer name, or delete it" }],
  [10105, { keys: (p) => `consumer = "${p.consumer}"`, hint: () => "a consumer of that name exists with other settings: use another consumer name, or delete it" }],
]);

/**
 * The permanent JetStream stream/consumer error `e` is, or null when it is not one (transient, or
 * not a JetStream API answer at all: retry it).
 */
export function permanentJetStreamError(e: unknown, p: NatsParams): PermanentJetStreamError | null {
  if (!(e instanceof JetStreamApiError)) return null;
  const rule = RULES.get(e.code);
  if (rule === undefined) return null;
  return { code: e.code, description: e.message, keys: rule.keys(p), hint: rule.hint(p) };
}

/** One line for stderr, the log and /health: `replicas = 3 refused by the server: … (err 10074): …`. */
export function describePermanent(x: PermanentJetStreamError): string {
  return `${x.keys} refused by the server: ${x.description} (JetStream error ${x.code}); ${x.hint}`;
}
