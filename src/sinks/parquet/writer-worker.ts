/**
 * Worker entry point: encodes ColumnBatches to Parquet and commits them to the Hive tree, off the
 * ingest thread. Listed as an entry point of `bun build --compile` (see parquet-sink.ts for how
 * it is located inside the executable).
 *
 * Messages are handled one at a time, in order, so a `close` request is answered only after every
 * batch posted before it has been written or has failed. Nothing here throws out of the handler:
 * every failure becomes an `error` reply, and the worker keeps serving.
 */
import { encodeBatch, DEFAULT_ROW_GROUP_SIZE } from "./encode.ts";
import { commitFile, FileOpError, partFileName, partitionDir } from "./files.ts";
import type { FromWorker, ToWorker, WorkerInit, WriteRequest } from "./protocol.ts";

declare var self: Worker;

let config: WorkerInit = { type: "init", rowGroupSize: DEFAULT_ROW_GROUP_SIZE, createdBy: "harvestd", runTag: "x" };
let seq = 0;

const reply = (msg: FromWorker): void => self.postMessage(msg);

function write(req: WriteRequest): void {
  const { batch } = req;
  const base = { id: req.id, kind: batch.kind, symbol: batch.symbol, rows: batch.rows };
  const dir = partitionDir(req.root, batch.kind, batch.symbol, batch.day);
  const t0 = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = encodeBatch(batch, config);
  } catch (e) {
    reply({ type: "error", ...base, error: { code: "EENCODE", message: String((e as Error)?.message ?? e), path: dir } });
    return;
  }
  const t1 = performance.now();
  try {
    const path = commitFile(dir, bytes, () => partFileName(batch.minTsMs, ++seq, config.runTag));
    reply({ type: "written", ...base, written: path, bytes: bytes.length, encodeMs: t1 - t0, writeMs: performance.now() - t1 });
  } catch (e) {
    const err =
      e instanceof FileOpError
        ? { code: e.code, message: e.message, path: e.path }
        : { code: "EIO", message: String((e as Error)?.message ?? e), path: dir };
    reply({ type: "error", ...base, error: err });
  }
}

self.onmessage = (event: MessageEvent) => {
  const msg = event.data as ToWorker;
  switch (msg.type) {
    case "init":
      config = msg;
      break;
    case "write":
      write(msg);
      break;
    case "close":
      // Dropping the handler empties the event loop, so the worker exits by itself after the
      // reply is delivered (process.exit could cut the reply off).
      self.onmessage = null;
      reply({ type: "closed" });
      break;
  }
};

reply({ type: "ready" });
