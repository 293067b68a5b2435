/**
 * `syncfs(2)` through bun:ffi (Linux): one call makes everything written to a file system durable.
 * The writer commits a burst of part files with two of them (docs/storage.md, "Group commit")
 * instead of two fsyncs per file: at shutdown with ~400 symbols that is 2,800 files, and the per-file
 * fsyncs alone took ≈ 14 s of the 30 s shutdown budget on the test machine. Elsewhere (or without
 * libc) `syncFileSystem` returns false and the writer keeps fsyncing file by file.
 */
type Ffi = typeof import("bun:ffi");

let call: ((fd: number) => number) | null | undefined;

function load(): ((fd: number) => number) | null {
  if (process.platform !== "linux") return null;
  try {
    const ffi = require("bun:ffi") as Ffi;
    for (const name of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
      try {
        const s = ffi.dlopen(name, { syncfs: { args: [ffi.FFIType.i32], returns: ffi.FFIType.i32 } }).symbols;
        return (fd) => s.syncfs(fd);
      } catch {}
    }
  } catch {}
  return null;
}

/** Flushes the file system holding `fd`; false when syncfs is not available or failed (fsync file by file then). */
export function syncFileSystem(fd: number): boolean {
  if (call === undefined) call = load();
  return call !== null && call(fd) === 0;
}
