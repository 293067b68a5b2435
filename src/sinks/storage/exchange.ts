/**
 * Atomic exchange of two directories: Linux renameat2(RENAME_EXCHANGE), called through bun:ffi.
 *
 * This is what lets compaction replace many part files by one merged file in a single step: the
 * new content of a partition folder is staged in another folder, then the two folders swap names
 * at once. POSIX has no other way to make several files appear and disappear together. Supported
 * by ext4, xfs, btrfs, tmpfs and overlayfs; elsewhere (other systems, filesystems that refuse it)
 * `exchangeUnavailable()` says why and compaction stays off.
 */
import { FileOpError } from "../parquet/files.ts";

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;
const ERRNO: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  16: "EBUSY",
  18: "EXDEV",
  20: "ENOTDIR",
  22: "EINVAL",
  28: "ENOSPC",
  30: "EROFS",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  95: "EOPNOTSUPP",
};

interface Libc {
  renameat2(olddirfd: number, oldpath: unknown, newdirfd: number, newpath: unknown, flags: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;
let unavailable: string | null = null;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") {
    unavailable = `atomic directory exchange needs Linux renameat2 (this is ${process.platform})`;
    return null;
  }
  try {
    // Required lazily: bun:ffi is only needed where compaction runs (the writer worker).
    const ffi = require("bun:ffi") as typeof import("bun:ffi");
    const { FFIType } = ffi;
    const symbols = {
      renameat2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    } as const;
    let lib: ReturnType<typeof ffi.dlopen<typeof symbols>> | null = null;
    let lastErr = "";
    for (const name of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
      try {
        lib = ffi.dlopen(name, symbols);
        break;
      } catch (e) {
        lastErr = (e as Error).message;
      }
    }
    if (lib === null) {
      unavailable = `cannot load libc for renameat2: ${lastErr}`;
      return null;
    }
    const s = lib.symbols;
    libc = {
      renameat2: (a, b, c, d, f) => s.renameat2(a, b as never, c, d as never, f),
      errno: () => ffi.read.i32(s.__errno_location()!, 0),
    };
    return libc;
  } catch (e) {
    unavailable = `bun:ffi is not available: ${(e as Error).message}`;
    return null;
  }
}

/** Why directories cannot be exchanged here, or null when they can. */
export function exchangeUnavailable(): string | null {
  load();
  return unavailable;
}

const cString = (s: string): Buffer => Buffer.from(`${s}\0`, "utf8");

/** Swaps the names of two existing directories in one atomic step; throws FileOpError. */
export function exchangeDirs(a: string, b: string): void {
  const c = load();
  if (c === null) throw new FileOpError("ENOSYS", unavailable ?? "renameat2 unavailable", b);
  const { ptr } = require("bun:ffi") as typeof import("bun:ffi");
  const pa = cString(a);
  const pb = cString(b);
  if (c.renameat2(AT_FDCWD, ptr(pa), AT_FDCWD, ptr(pb), RENAME_EXCHANGE) === 0) return;
  const n = c.errno();
  const code = ERRNO[n] ?? `errno ${n}`;
  throw new FileOpError(code, `cannot exchange ${a} and ${b}: renameat2 failed with ${code}`, b);
}
