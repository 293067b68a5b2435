/**
 * One harvestd per data tree. A second `run` (or `store`) started on the folders of a running one
 * would take its run marker for a crashed run's and "recover" it: delete its part files and rebuild
 * them while it writes, and both would append to the same raw logs. Each folder the command writes
 * gets a `.harvestd.lock` naming the process; a start finds it and refuses, unless its process is
 * gone (not alive, started before this machine's last boot, or its pid now belongs to another
 * process), in which case the lock is stale and taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname, uptime } from "node:os";
import { join } from "node:path";

export const LOCK_FILE = ".harvestd.lock";
/** sysexits EX_TEMPFAIL: the folders are in use; a start after the other process stops succeeds. */
export const EXIT_TREE_IN_USE = 75;
/** A lock file still empty this long after it was made is a crash between create and write. */
const EMPTY_LOCK_GRACE_MS = 10_000;
/** Boot times computed from uptime differ by rounding; a reboot moves them by far more. */
const SAME_BOOT_MS = 120_000;

interface LockBody {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly started_at: string;
  readonly boot_ms: number;
  /** Linux: the process's start time since boot (/proc/<pid>/stat field 22), to tell a reused pid. */
  readonly proc_start: string | null;
}

/** `inUse`: another harvestd holds a folder (else a folder or its lock file cannot be created). */
export type TreeLock = { readonly ok: true; release(): void } | { readonly ok: false; readonly error: string; readonly inUse: boolean };

const bootMs = (): number => Date.now() - uptime() * 1000;

function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)" start at field 3; a command name may itself contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The lock's holder while it runs; null when the lock is stale. */
function liveHolder(b: LockBody): LockBody | null {
  // Another machine (a shared disk) cannot be checked from here: it holds.
  if (b.host !== hostname()) return b;
  if (Math.abs(b.boot_ms - bootMs()) > SAME_BOOT_MS) return null;
  if (b.pid === process.pid || !alive(b.pid)) return null;
  const now = procStart(b.pid);
  if (now !== null && b.proc_start !== null && now !== b.proc_start) return null;
  return b;
}

/** Takes the lock of every folder in `dirs` for `command`, or none of them and says who holds one. */
export function lockTrees(dirs: readonly string[], command: string): TreeLock {
  const body = JSON.stringify({ pid: process.pid, host: hostname(), command, started_at: new Date().toISOString(), boot_ms: Math.round(bootMs()), proc_start: procStart(process.pid) } satisfies LockBody);
  const taken: string[] = [];
  const release = (): void => {
    for (const p of taken) {
      try {
        if (readFileSync(p, "utf8") === body) unlinkSync(p);
      } catch {}
    }
  };
  for (const dir of new Set(dirs)) {
    const refused = take(dir, body);
    if (refused !== null) {
      release();
      return { ok: false, ...refused };
    }
    taken.push(join(dir, LOCK_FILE));
  }
  return { ok: true, release };
}

function take(dir: string, body: string): { readonly error: string; readonly inUse: boolean } | null {
  const path = join(dir, LOCK_FILE);
  const unwritable = (error: string) => ({ error, inUse: false });
  const inUse = (error: string) => ({ error, inUse: true });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    return unwritable(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, body);
      closeSync(fd);
      return null;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") return unwritable(`cannot create ${path}: ${code ?? (e as Error).message}`);
    }
    let holder: LockBody | null;
    try {
      const text = readFileSync(path, "utf8");
      if (text === "" && Date.now() - statSync(path).mtimeMs < EMPTY_LOCK_GRACE_MS) return inUse(`${dir} is being locked by another harvestd starting now`);
      holder = text === "" ? null : liveHolder(JSON.parse(text) as LockBody);
    } catch {
      // Unreadable or not ours: a crash mid-write long ago.
      holder = null;
    }
    if (holder !== null) {
      return inUse(`${dir} is in use by harvestd ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.started_at}): stop it first, or if that process is gone, delete ${path}`);
    }
    try {
      unlinkSync(path);
    } catch {}
  }
  return inUse(`cannot take ${path}: it keeps being re-created`);
}
