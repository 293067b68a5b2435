/**
 * Hands memory back at once instead of waiting for a collection. Much of the writer worker's garbage
 * is ArrayBuffers (transferred rows, compressed pages, encoded files) that its small JS heap hardly
 * weighs, so its collector ran seldom and a rotation's worth stayed resident (docs/storage.md,
 * "Memory: what the writer holds"). Detaching a buffer (`transfer(0)`) frees its bytes immediately; a
 * collection would find nothing left but the empty object.
 *
 * Only for buffers this thread owns alone: every view of a released buffer reads as empty.
 */
type Transferable = ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer };

/**
 * Bytes this thread has let go of so far: released here, or transferred to another thread (`letGo`).
 * JavaScriptCore still counts such a buffer in its heap size (`heapSize()`) until the next
 * collection sweeps its empty object, so a trigger on heap growth subtracts this to see what is
 * really held (module state: each thread has its own).
 */
let letGoBytes = 0;

export function bytesLetGo(): number {
  return letGoBytes;
}

/** Counts buffers about to be transferred away (read before the transfer, which empties them). */
export function letGo(buffers: readonly ArrayBuffer[]): void {
  for (const b of buffers) letGoBytes += b.byteLength;
}

/** Frees the whole buffer behind `view` (and so every view of it). */
export function releaseBuffer(view: ArrayBufferView): void {
  releaseArrayBuffer(view.buffer as ArrayBuffer);
}

export function releaseArrayBuffer(buffer: ArrayBuffer): void {
  const buf = buffer as Transferable;
  if (buf.byteLength === 0 || typeof buf.transfer !== "function") return;
  letGoBytes += buf.byteLength;
  buf.transfer(0);
}

/**
 * Frees a library's result only when the view spans its buffer: a view into a shared slab (a pooled
 * Buffer) must not take its neighbours with it.
 */
export function releaseIfWhole(view: ArrayBufferView): void {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) releaseBuffer(view);
}
