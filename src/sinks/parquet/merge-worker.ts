/**
 * Worker entry point: merges closed hours (compaction.ts compactHour) for the writer worker, which
 * starts it when an hour's merges come due and ends it once they are done (merge-runner.ts). Listed
 * as an entry point of `bun build --compile`, beside the writer worker.
 *
 * Why a thread of its own that does not live long: a merge decodes parts and encodes the hour, and
 * a worker thread's allocator keeps much of what that used. Merged in the writer's thread, an
 * orderbook hour raised RSS by ≈ 40 MiB and left ≈ 13–15 MiB of it for good, hour after hour; the
 * same merges in a thread that then ends left ≈ 4–5 (docs/storage.md, "Compaction of closed hours").
 */
import { registerCustomSchema } from "../../core/rows.ts";
import { collectOnGrowth } from "../../util/collect-on-growth.ts";
import { assertStrictMode } from "../../util/strict-mode.ts";
import { profileThisWorker } from "../../util/worker-profile.ts";
import { traceBuffersFromEnv } from "../../util/buffer-trace.ts";
import { compactHour, MERGE_COLLECT_GROWTH_BYTES } from "../storage/compaction.ts";
import { partFileName } from "./files.ts";
import { errorInfo, type FromMergeWorker, type MergeInit, type ToMergeWorker } from "./protocol.ts";

declare var self: Worker;

profileThisWorker();
traceBuffersFromEnv("parquet merge");
assertStrictMode("parquet merge worker");

let init: MergeInit | null = null;
let seq = 0;
const reply = (msg: FromMergeWorker): void => self.postMessage(msg);

/**
 * After each part read back, a collection whenever the heap has grown by 2 MiB: decoding a part
 * leaves its pages and arrays as garbage; over the 60 parts of a busy orderbook hour that raised RSS
 * by ≈ 60 MiB, with these collections by ≈ 30 (bench/compaction.ts). Only for the live collector
 * (`lowMemory`): merges are paced background work there, and a replay has no memory goal.
 */
const afterPartCollection = collectOnGrowth(MERGE_COLLECT_GROWTH_BYTES);

self.onmessage = async (event: MessageEvent) => {
  const msg = event.data as ToMergeWorker;
  if (msg.type === "init") {
    init = msg;
    for (const [kind, defs] of msg.customSchemas) registerCustomSchema(kind, defs);
    return;
  }
  const cfg = init;
  if (cfg === null) {
    reply({ type: "merged", id: msg.id, error: { code: "EINVAL", message: "merge before init", path: msg.dir } });
    return;
  }
  try {
    // Names of this thread's files carry their own tag, so they never meet the writer's.
    const nextName = (minTsMs: number): string => partFileName(minTsMs, ++seq, cfg.runTag);
    const outcome = await compactHour(msg.root, msg.dir, msg.hour, { encode: cfg.encode, nextName, afterPart: cfg.lowMemory ? afterPartCollection : undefined });
    reply({ type: "merged", id: msg.id, outcome });
  } catch (e) {
    reply({ type: "merged", id: msg.id, error: errorInfo(e, msg.dir) });
  }
};

reply({ type: "ready" });
