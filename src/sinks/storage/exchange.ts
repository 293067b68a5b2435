/**
 * Atomic exchange of two directories, called through bun:ffi:
 * - Linux: renameat2(RENAME_EXCHANGE) (ext4, xfs, btrfs, tmpfs, overlayfs; glibc or musl);
 * - macOS: renamex_np(RENAME_SWAP) (APFS; HFS+ refuses it with ENOTSUP);
 * - Windows has no such call: `exchangeUnavailable()` says so and compaction stays off there.
 *
 * This is what lets compaction replace many part files by one merged file in a single step: the
 * new content of a partition folder is staged in another folder, then the two folders swap names
 * at once. There is no other way to make several files appear and disappear together. Two plain
 * renames would leave an instant with no folder (a reader sees rows vanish) and, on Windows,
 * fail whenever a reader holds a file of the folder open. Without compaction nothing is lost:
 * an hour simply stays as its part files (docs/storage.md, docs/release.md).
 */
import { FileOpError } from "../parquet/files.ts";

/** errno names by number, per platform (they differ past 34). */
const ERRNO: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  linux: { 1: "EPERM", 2: "ENOENT", 13: "EACCES", 16: "EBUSY", 18: "EXDEV", 20: "ENOTDIR", 22: "EINVAL", 28: "ENOSPC", 30: "EROFS", 38: "ENOSYS", 39: "ENOTEMPTY", 95: "EOPNOTSUPP" },
  darwin: { 1: "EPERM", 2: "ENOENT", 13: "EACCES", 16: "EBUSY", 18: "EXDEV", 20: "ENOTDIR", 22: "EINVAL", 28: "ENOSPC", 30: "EROFS", 45: "ENOTSUP", 66: "ENOTEMPTY", 78: "ENOSYS" },
};

interface Binding {
  /** 0 on success, else -1 with errno set. */
  exchange(a: Buffer, b: Buffer): number;
  errno(): number;
  readonly call: string;
}

let binding: Binding | null | undefined;
let unavailable: string | null = null;

type Ffi = typeof import("bun:ffi");

function linux(ffi: Ffi): Binding | string {
  const { FFIType } = ffi;
  const AT_FDCWD = -100;
  const RENAME_EXCHANGE = 2;
  const symbols = {
    renameat2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  } as const;
  let lastErr = "";
  for (const name of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
    try {
      const s = ffi.dlopen(name, symbols).symbols;
      return {
        exchange: (a, b) => s.renameat2(AT_FDCWD, ffi.ptr(a), AT_FDCWD, ffi.ptr(b), RENAME_EXCHANGE),
        errno: () => ffi.read.i32(s.__errno_location()!, 0),
        call: "renameat2",
      };
    } catch (e) {
      lastErr = (e as Error).message;
    }
  }
  return `cannot load libc for renameat2: ${lastErr}`;
}

function darwin(ffi: Ffi): Binding | string {
  const { FFIType } = ffi;
  const RENAME_SWAP = 2;
  const symbols = {
    renamex_np: { args: [FFIType.ptr, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    __error: { args: [], returns: FFIType.ptr },
  } as const;
  try {
    const s = ffi.dlopen("/usr/lib/libSystem.B.dylib", symbols).symbols;
    return {
      exchange: (a, b) => s.renamex_np(ffi.ptr(a), ffi.ptr(b), RENAME_SWAP),
      errno: () => ffi.read.i32(s.__error()!, 0),
      call: "renamex_np",
    };
  } catch (e) {
    return `cannot load libSystem for renamex_np: ${(e as Error).message}`;
  }
}

function load(): Binding | null {
  if (binding !== undefined) return binding;
  binding = null;
  const bind = process.platform === "linux" ? linux : process.platform === "darwin" ? darwin : null;
  if (bind === null) {
    unavailable = `${process.platform === "win32" ? "Windows" : process.platform} has no atomic folder swap, so part files are not merged (docs/storage.md)`;
    return null;
  }
  try {
    // Required lazily: bun:ffi is only needed where compaction runs (the writer worker).
    const b = bind(require("bun:ffi") as Ffi);
    if (typeof b === "string") unavailable = b;
    else binding = b;
  } catch (e) {
    unavailable = `bun:ffi is not available: ${(e as Error).message}`;
  }
  return binding;
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
  if (c === null) throw new FileOpError("ENOSYS", unavailable ?? "no atomic folder swap", b);
  if (c.exchange(cString(a), cString(b)) === 0) return;
  const n = c.errno();
  const code = ERRNO[process.platform]?.[n] ?? `errno ${n}`;
  throw new FileOpError(code, `cannot exchange ${a} and ${b}: ${c.call} failed with ${code}`, b);
}
