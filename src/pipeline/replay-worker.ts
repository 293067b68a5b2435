/**
 * Worker entry point of a parallel replay (replay-parallel.ts): replays the files of its symbols with
 * replayShare, the inline replay's own path, into a ParquetSink of its own, and posts to the main
 * thread what it meets and what it did. Listed as an entry point of `bun build --compile`.
 */
import type { FromReplayWorker, ReplayWorkerStart } from "./replay-parallel.ts";
import { replayShare } from "./replay-share.ts";
import { assertStrictMode } from "../util/strict-mode.ts";
import { profileThisWorker } from "../util/worker-profile.ts";

declare var self: Worker;

profileThisWorker();
assertStrictMode("replay worker");

const post = (msg: FromReplayWorker): void => self.postMessage(msg);

self.onmessage = async (event: MessageEvent) => {
  const { cfg, files, target } = event.data as ReplayWorkerStart;
  try {
    const result = await replayShare(cfg, files, target, {
      warn: (message) => post({ type: "warn", message }),
      sinkError: (error) => post({ type: "sink-error", error }),
      maintenance: (ev) => post({ type: "maintenance", event: ev }),
      inputDone: () => post({ type: "input-done" }),
    });
    post({ type: "done", result });
  } catch (e) {
    post({ type: "failed", message: e instanceof Error ? e.message : String(e) });
  }
  // The handler keeps the worker alive while it replays; without it the worker exits once the reply is out.
  self.onmessage = null;
};
