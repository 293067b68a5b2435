/**
 * Consumer side of bench/sink-transport.ts: receives rows either as transferred column batches or
 * through the SPSC ring, optionally encodes each batch to Parquet (the writer's real work), and
 * reports when it has everything.
 */
import { SCHEMAS, type RowKind } from "../../src/core/rows.ts";
import { type ColumnBatch } from "../../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { RingConsumer, type RingBuffers } from "./spsc-ring.ts";

declare var self: Worker;

export type TransportInit =
  | { readonly mode: "transfer"; readonly encode: boolean }
  | { readonly mode: "ring"; readonly encode: boolean; readonly ring: RingBuffers; readonly kind: RowKind; readonly rows: number; readonly batchRows: number };

let encode = false;
let received = 0;
let encodedBytes = 0;

function consume(batch: ColumnBatch): void {
  received += batch.rows;
  if (encode) encodedBytes += encodeBatch(batch).length;
}

self.onmessage = (ev: MessageEvent) => {
  const msg = ev.data as TransportInit | { readonly batch: ColumnBatch } | { readonly done: true; readonly rows: number };
  if ("mode" in msg) {
    encode = msg.encode;
    if (msg.mode === "transfer") return;
    const ring = new RingConsumer(msg.ring, SCHEMAS[msg.kind]);
    let b = new ColumnBatchBuilder(msg.kind, "BTCUSDT", 0, msg.batchRows);
    while (received + b.rows < msg.rows) {
      ring.drain((row) => {
        b.append(row);
        if (b.rows >= msg.batchRows) {
          consume(b.take()!);
          b = new ColumnBatchBuilder(msg.kind, "BTCUSDT", 0, msg.batchRows);
        }
      }, 50);
    }
    const last = b.take();
    if (last) consume(last);
    self.postMessage({ received, encodedBytes });
    return;
  }
  if ("batch" in msg) {
    consume(msg.batch);
    self.postMessage({ ack: msg.batch.rows });
  }
};
