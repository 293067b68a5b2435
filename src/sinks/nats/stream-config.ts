/**
 * Creates the JetStream stream from `[publish.nats]`, or checks that an existing one has the settings
 * asked for. A mismatch is refused with one line naming every differing setting and both values:
 * changing a stream's replicas or retention under other collectors and stores is an operator's
 * decision, never a side effect of starting a process.
 */
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import type { NatsParams } from "./params.ts";

const NS_PER_SEC = 1_000_000_000;

export interface WantedStream {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly num_replicas: number;
  readonly storage: StorageType;
  readonly retention: RetentionPolicy;
  /** Nanoseconds; 0 = unlimited. */
  readonly max_age: number;
  /** Bytes; -1 = unlimited. */
  readonly max_bytes: number;
  /** Nanoseconds. */
  readonly duplicate_window: number;
}

export function wantedStream(p: NatsParams): WantedStream {
  return {
    name: p.stream,
    subjects: [`${p.subject_prefix}.>`],
    num_replicas: p.replicas,
    storage: p.storage === "memory" ? StorageType.Memory : StorageType.File,
    retention: p.retention === "interest" ? RetentionPolicy.Interest : p.retention === "workqueue" ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    max_age: Math.round(p.max_age_hours * 3600 * NS_PER_SEC),
    max_bytes: p.max_bytes_gb > 0 ? Math.round(p.max_bytes_gb * 1024 ** 3) : -1,
    duplicate_window: Math.round(p.duplicate_window_sec * NS_PER_SEC),
  };
}

/** Settings of `have` that differ from `want`, as `key: stream has X, config wants Y`. */
export function streamMismatches(have: Partial<StreamConfig>, want: WantedStream): string[] {
  const out: string[] = [];
  const cmp = (key: string, h: unknown, w: unknown, fmt: (v: unknown) => string = String) => {
    if (h !== w) out.push(`${key}: stream has ${fmt(h)}, config wants ${fmt(w)}`);
  };
  const secs = (v: unknown) => `${Number(v) / NS_PER_SEC} s`;
  cmp("subjects", [...(have.subjects ?? [])].sort().join(","), [...want.subjects].sort().join(","));
  cmp("replicas", have.num_replicas, want.num_replicas);
  cmp("storage", have.storage, want.storage);
  cmp("retention", have.retention, want.retention);
  cmp("max_age", have.max_age ?? 0, want.max_age, secs);
  cmp("max_bytes", have.max_bytes ?? -1, want.max_bytes);
  cmp("duplicate_window", have.duplicate_window, want.duplicate_window, secs);
  return out;
}

export type EnsureResult = { readonly ok: true; readonly created: boolean; readonly info: StreamInfo } | { readonly ok: false; readonly error: string };

/** Creates the stream, or checks the existing one against the configuration. */
export async function ensureStream(jsm: JetStreamManager, p: NatsParams): Promise<EnsureResult> {
  const want = wantedStream(p);
  let info: StreamInfo | null = null;
  try {
    info = await jsm.streams.info(want.name);
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.StreamNotFound) throw e;
  }
  if (info === null) {
    try {
      const created = await jsm.streams.add({ ...want, subjects: [...want.subjects], discard: DiscardPolicy.Old });
      return { ok: true, created: true, info: await withLeader(jsm, created) };
    } catch (e) {
      // Another collector may have created it a moment ago: check that one instead.
      if (!(e instanceof JetStreamApiError) || !/already in use|exists/i.test(e.message)) throw e;
      info = await jsm.streams.info(want.name);
    }
  }
  const diff = streamMismatches(info.config, want);
  if (diff.length > 0) {
    return { ok: false, error: `stream ${want.name} exists with other settings (${diff.join("; ")}): change [publish.nats] to match, or migrate the stream with the nats CLI` };
  }
  return { ok: true, created: false, info: await withLeader(jsm, info) };
}

/**
 * A replicated stream just created has no leader for a moment, and publishes to it fail meanwhile:
 * wait (at most 10 s) until it has one, so the first records do not all go the catch-up way.
 */
async function withLeader(jsm: JetStreamManager, info: StreamInfo): Promise<StreamInfo> {
  const until = performance.now() + 10_000;
  while ((info.config.num_replicas ?? 1) > 1 && (info.cluster?.leader ?? "") === "" && performance.now() < until) {
    await Bun.sleep(100);
    info = await jsm.streams.info(info.config.name);
  }
  return info;
}
