/**
 * The `[publish.nats]` section of config.toml: where a collector publishes its accepted records and
 * where `harvestd store` consumes them (docs/scale-out.md). Secrets are never configuration: the
 * user/password or creds file come from NATS_USER/NATS_PASSWORD or NATS_CREDS (credentials.ts).
 */
import { z } from "zod";
import { natsServerProblem } from "./server-address.ts";

const natsUrl = z.string().superRefine((url, ctx) => {
  const problem = natsServerProblem(url);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
});
/** Stream and consumer names: NATS forbids spaces, dots, `*`, `>` and path separators in them. */
const natsName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, - and _ only (no dots or spaces)");
/** A subject prefix: dot-separated tokens without wildcards. */
const subjectPrefix = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "dot-separated tokens of letters, digits, - and _ (no wildcards)");

export const NatsTlsSchema = z.strictObject({
  /** Require TLS even for nats:// URLs. */
  enable: z.boolean().default(false),
  /** PEM CA bundle that signs the servers' certificates (empty = system roots). */
  ca_file: z.string().default(""),
  /** Client certificate and key for mutual TLS (both or neither). */
  cert_file: z.string().default(""),
  key_file: z.string().default(""),
});

export const NatsParamsSchema = z
  .strictObject({
    /** Publish every accepted record of `harvestd run` to the stream. */
    enable: z.boolean().default(false),
    servers: z.array(natsUrl).min(1, "at least one server").default(["nats://127.0.0.1:4222"]),
    /** Also use servers the cluster announces (off when clients reach the cluster through proxies/NAT). */
    discover_servers: z.boolean().default(true),
    stream: natsName.default("HARVESTD"),
    subject_prefix: subjectPrefix.default("harvestd"),
    /** Names this collector in message headers and in the store's per-collector counts ("" = host name). */
    collector_id: z.string().regex(/^[A-Za-z0-9_.-]{0,64}$/, "letters, digits, ., - and _ only").default(""),
    /** Stream settings: a stream that exists with other values is refused, never changed. */
    replicas: z.number().int().min(1).max(5).default(3),
    storage: z.enum(["file", "memory"]).default("file"),
    retention: z.enum(["limits", "interest", "workqueue"]).default("limits"),
    /** Messages older than this are removed by the server; 0 = no age limit. */
    max_age_hours: z.number().nonnegative().default(72),
    /** Stream size limit in GiB; 0 = none (the servers' JetStream limits still apply). */
    max_bytes_gb: z.number().nonnegative().default(0),
    /** Window within which JetStream drops a second message with the same Nats-Msg-Id. */
    duplicate_window_sec: z.number().positive().default(120),
    /** Publishes awaiting their acknowledgement at most; beyond it the rest is caught up from the NDJSON log. */
    ack_window: z.number().int().min(1).max(1_000_000).default(20_000),
    /** An acknowledgement not received within this is a failed publish (caught up later from the log). */
    ack_timeout_sec: z.number().positive().default(10),
    /** Durable pull consumer of `harvestd store` (one per store; partitioned stores need distinct names). */
    consumer: natsName.default("harvestd-store"),
    /** Messages fetched per pull by the store. */
    fetch_batch: z.number().int().min(1).max(10_000).default(1000),
    /** Unacknowledged messages are redelivered to the store after this long. */
    ack_wait_sec: z.number().positive().default(60),
    tls: NatsTlsSchema.prefault({}),
  })
  .superRefine((p, ctx) => {
    if ((p.tls.cert_file === "") !== (p.tls.key_file === "")) {
      ctx.addIssue({ code: "custom", path: ["tls"], message: "tls.cert_file and tls.key_file go together: give both or neither" });
    }
  });

export type NatsParams = Readonly<z.infer<typeof NatsParamsSchema>>;

export const PublishParamsSchema = z.strictObject({
  nats: NatsParamsSchema.prefault({}),
});
