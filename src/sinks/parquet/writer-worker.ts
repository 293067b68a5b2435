/**
 * Worker entry point: encodes ColumnBatches to Parquet and commits them to the Hive tree, off the
 * ingest thread; holds and retries writes that failed; compacts closed hours and applies retention.
 * Listed as an entry point of `bun build --compile` (see parquet-sink.ts for how it is located
 * inside the executable).
 *
 * Work runs one job at a time. Writes, retries and close go first; compaction, the start-up scan
 * and retention run when no write is waiting, one partition-hour per job, so a write never waits
 * for more than one such step. A `close` is handled after every write posted before it.
 * Nothing throws out of a job: every failure becomes a reply, and the worker keeps serving.
 * The runner is job-runner.ts; when the worker collects its heap, heap-release.ts.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { compactHour, hoursToCompact, HOUR_MS } from "../storage/compaction.ts";
import { exchangeUnavailable } from "../storage/exchange.ts";
import { applyRetention } from "../storage/retention.ts";
import { chunkTransferList, stringTransferList, type RowChunk } from "./columns.ts";
import { DEFAULT_ROW_GROUP_SIZE, ParquetFileBuilder, partsLength, releaseParts } from "./encode.ts";
import { letGo, releaseArrayBuffer } from "../../util/release.ts";
import { JobRunner } from "./job-runner.ts";
import { HeapRelease } from "./heap-release.ts";
import { PageSpool } from "./page-spool.ts";
import { makeStagingDir } from "../storage/staging.ts";
import { commitFile, commitFiles, partFileName, partitionDir } from "./files.ts";
import { errorInfo, type FromWorker, type ToWorker, type WorkerInit, type WriteErrorInfo, type WriteRequest } from "./protocol.ts";
import { registerCustomSchema, type SinkKind } from "../../core/rows.ts";
import { assertStrictMode } from "../../util/strict-mode.ts";
import { profileThisWorker } from "../../util/worker-profile.ts";
import { traceBuffersFromEnv } from "../../util/buffer-trace.ts";

declare var self: Worker;

profileThisWorker();
traceBuffersFromEnv("parquet writer");
assertStrictMode("parquet writer worker");

let config: WorkerInit = {
  type: "init",
  rowGroupSize: DEFAULT_ROW_GROUP_SIZE,
  createdBy: "harvestd",
  runTag: "x",
  retryMs: 1000,
  compaction: null,
  roots: [],
  retentionDays: 0,
};
let seq = 0;
const reply = (msg: FromWorker): void => self.postMessage(msg);

/** Sends chunk memory back to the ingest thread (transferred: it leaves this thread's memory now). */
function recycle(buffers: ArrayBuffer[]): void {
  if (buffers.length === 0) return;
  letGo(buffers);
  self.postMessage({ type: "recycle", buffers } satisfies FromWorker, buffers);
}

// ---- job runner ---------------------------------------------------------------------------------

/**
 * Test hook, read only by tests (test/e2e/ops-health.test.ts): `HARVESTD_TEST_PAUSE_PARQUET_WRITER=1`
 * makes this writer take batches and never run a job, a stuck writer for /health's stall check.
 * Nothing else reads it; do not set it in production.
 */
const pausedForTest = process.env.HARVESTD_TEST_PAUSE_PARQUET_WRITER === "1";

const heap = new HeapRelease(() => config.lowMemory === true);
const jobs = new JobRunner({
  paused: pausedForTest,
  onIdle: () => heap.maybeCollect(),
  // Jobs report their own failures (compaction, retention, the scan, the spool); what reaches here escaped one of them.
  onError: (e) => reply({ type: "maintenance-error", what: "writer job", error: errorInfo(e, "") }),
});

/**
 * Background work is paced: after a compaction, the next background job waits COMPACT_PAUSE_FACTOR
 * times as long as the merge took (writes do not wait). At an hour turn every partition's merge
 * comes due at once (≈ 350 at 50 symbols); a merge copies its parts' bytes (parquet/stitch.ts), and
 * spread out, the round's reads and writes leave the disk to the rotations' commits.
 */
const COMPACT_PAUSE_FACTOR = 4;

// ---- writes, held writes and retries --------------------------------------------------------------

interface Held {
  readonly id: number;
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly rows: number;
  readonly dir: string;
  readonly minTsMs: number;
  readonly bytes: readonly Uint8Array[];
  /** Length of `bytes`. */
  readonly size: number;
  readonly encodeMs: number;
  attempts: number;
}

/** Per root, the writes that failed or queued behind one that failed, oldest first. */
const held = new Map<string, Held[]>();
const retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
interface RootFailure {
  readonly sinceMs: number;
  readonly error: WriteErrorInfo;
}
/**
 * Per root, since when its writes fail and the error of the latest one; cleared by its next
 * successful write. Read only for writes queued behind a failure, which are not attempted: every
 * attempted write reports its own error, never this one (it names another write's file).
 */
const failing = new Map<string, RootFailure>();

function rootFailed(root: string, error: WriteErrorInfo): void {
  failing.set(root, { sinceMs: failing.get(root)?.sinceMs ?? Date.now(), error });
}

/** A commit's outcome: the failure is the write's own (its kind, symbol and file), never its root's last. */
type CommitResult = { readonly ok: true } | { readonly ok: false; readonly error: WriteErrorInfo };
const COMMITTED: CommitResult = { ok: true };
/** Partition-hours this worker wrote into and has not compacted yet. */
const touched = new Map<string, { root: string; dir: string; hour: number; tries: number; scheduled: boolean }>();

const nextName = (minTsMs: number): string => partFileName(minTsMs, ++seq, config.runTag);

function commit(root: string, h: Held): CommitResult {
  h.attempts++;
  const t0 = performance.now();
  let path: string;
  try {
    path = commitFile(h.dir, h.bytes, () => nextName(h.minTsMs));
  } catch (e) {
    const error = errorInfo(e, h.dir);
    rootFailed(root, error);
    return { ok: false, error };
  }
  written(root, h, path, performance.now() - t0);
  return COMMITTED;
}

/** Bookkeeping and the reply for a committed part. */
function written(root: string, h: Held, path: string, writeMs: number): void {
  releaseParts(h.bytes);
  failing.delete(root);
  const hour = Math.floor(h.minTsMs / HOUR_MS);
  const key = `${h.dir}|${hour}`;
  const t = touched.get(key);
  if (t === undefined) touched.set(key, { root, dir: h.dir, hour, tries: 0, scheduled: false });
  // A late part for an hour already merged: it is merged again when its turn comes.
  else t.tries = 0;
  reply({
    type: "written",
    id: h.id,
    kind: h.kind,
    symbol: h.symbol,
    rows: h.rows,
    written: path,
    bytes: h.size,
    encodeMs: h.encodeMs,
    writeMs,
    attempts: h.attempts,
  });
}

function failed(h: Held, error: WriteErrorInfo): void {
  reply({ type: "failed", id: h.id, kind: h.kind, symbol: h.symbol, rows: h.rows, error, heldBytes: h.size });
}

/**
 * Queues `h` behind the root's held writes (written in order). While the root is failing, `h` is
 * held too and says so without an attempt of its own: its own partition, the root's error.
 */
function queueBehind(root: string, queue: Held[], h: Held): void {
  queue.push(h);
  const f = failing.get(root);
  if (f === undefined) return;
  const since = new Date(f.sinceMs).toISOString();
  failed(h, { code: f.error.code, message: `not attempted: ${root} failing since ${since}: ${f.error.message}`, path: h.dir });
}

// ---- chunks sent ahead --------------------------------------------------------------------------

/**
 * Files being built from chunks sent ahead of their batch, by batch key. Each chunk is encoded into
 * the file's pages as it arrives and then dropped: the worker never holds a batch's raw rows whole.
 */
const ahead = new Map<number, ParquetFileBuilder>();

/**
 * The pages of the files in `ahead`, on disk until each file is finished (page-spool.ts): with 60 s
 * rotations they are most of what this thread would otherwise hold. In the first root's staging
 * folder; a spool that cannot write keeps pages in memory and says so once.
 */
let spool: PageSpool | null = null;
function pageSpool(): PageSpool | null {
  const root = config.roots[0];
  if (spool === null && root !== undefined && config.lowMemory === true) {
    spool = new PageSpool(
      () => makeStagingDir(root, `pages-${config.runTag}`),
      (message, path) => reply({ type: "maintenance-error", what: "spool", error: { code: "ESPOOL", message, path } }),
    );
  }
  return spool;
}

function holdChunks(key: number, kind: SinkKind, symbol: string, chunks: readonly RowChunk[]): void {
  let file = ahead.get(key);
  if (file === undefined) ahead.set(key, (file = new ParquetFileBuilder(kind, symbol, config, pageSpool())));
  try {
    file.addRows(chunks);
  } catch (e) {
    // Reported by the batch's write, which knows its symbol and rows.
    aheadFailed.set(key, String((e as Error)?.message ?? e));
  }
  // Encoded (or failed): the rows are not needed again here; their memory goes back to be filled again.
  recycle(chunkTransferList(chunks));
  heap.maybeCollect();
}

/** Batch keys whose chunks sent ahead could not be encoded, with why. */
const aheadFailed = new Map<number, string>();

/** Takes batch `key`'s file built from chunks sent ahead, and why they could not be encoded, if so. */
function takeAhead(key: number): { readonly file: ParquetFileBuilder | undefined; readonly error: string | undefined } {
  const taken = { file: ahead.get(key), error: aheadFailed.get(key) };
  ahead.delete(key);
  aheadFailed.delete(key);
  return taken;
}

function write(req: WriteRequest): void {
  const { root, batch, key } = req;
  const dir = partitionDir(root, batch.kind, batch.symbol, batch.day);
  const base = { id: req.id, kind: batch.kind, symbol: batch.symbol, rows: batch.rows };
  const taken = takeAhead(key);
  const file = taken.file ?? new ParquetFileBuilder(batch.kind, batch.symbol, config);
  const aheadError = taken.error;
  if (aheadError !== undefined) {
    file.discard();
    reply({ type: "dropped", ...base, error: { code: "EENCODE", message: aheadError, path: dir } });
    return;
  }
  // A writer that replaced one that died never saw the chunks its predecessor held.
  if (file.rows !== batch.sentRows) {
    file.discard();
    reply({ type: "dropped", ...base, error: { code: "EWORKER", message: `rows sent ahead of this ${base.kind} batch were lost with a previous writer worker`, path: dir } });
    return;
  }
  const t0 = performance.now();
  let bytes: Uint8Array[];
  try {
    bytes = file.finish(batch);
  } catch (e) {
    file.discard();
    reply({ type: "dropped", ...base, error: { code: "EENCODE", message: String((e as Error)?.message ?? e), path: dir } });
    return;
  } finally {
    // The string arenas are sized per batch: freed here. The chunks go back to be filled again.
    for (const b of stringTransferList(batch.strings)) releaseArrayBuffer(b);
    recycle(chunkTransferList(batch.chunks));
  }
  const h: Held = { ...base, dir, minTsMs: batch.minTsMs, bytes, size: partsLength(bytes), encodeMs: performance.now() - t0, attempts: 0 };
  heap.maybeCollect(true);
  const queue = held.get(root);
  // Held writes of this root go first (in order); after a recovery, while they drain, this waits its turn.
  if (queue !== undefined && queue.length > 0) return queueBehind(root, queue, h);
  // A burst (a rotation, the shutdown: one batch per symbol and kind) is committed as a group when
  // no further write is queued: two syncs for all its files instead of two per file.
  let group = toCommit.get(root);
  if (group === undefined) toCommit.set(root, (group = []));
  group.push(h);
  if (group.length >= MAX_GROUP || !jobs.writeQueued()) commitPending();
}

/** Encoded parts waiting for their group commit, per root, in arrival order. */
const toCommit = new Map<string, Held[]>();
/**
 * Encoded parts wait in memory for their group's commit; 64 at most (≈ 1–2 MB at 50 symbols) rather
 * than a whole rotation's 350+ (≈ 8 MB held at the rotation's peak), for a few more syncs a minute.
 */
const MAX_GROUP = 64;
/** Fewer parts than this are committed file by file (a group's syncfs also flushes others' data). */
const MIN_GROUP = 4;

function commitPending(): void {
  for (const [root, group] of toCommit) {
    toCommit.delete(root);
    if (group.length < MIN_GROUP) {
      for (const h of group) commitOrHold(root, h);
      continue;
    }
    for (const h of group) h.attempts++;
    const t0 = performance.now();
    const out = commitFiles(root, group.map((h) => ({ dir: h.dir, bytes: h.bytes, nextName: () => nextName(h.minTsMs) })));
    const ms = (performance.now() - t0) / group.length;
    group.forEach((h, i) => {
      const r = out[i]!;
      if (typeof r === "string") return written(root, h, r, ms);
      const error = errorInfo(r, h.dir);
      rootFailed(root, error);
      holdFailed(root, h, error);
    });
  }
}

/** A part that could not be written: held (in order) and retried every retryMs. */
function holdFailed(root: string, h: Held, error: WriteErrorInfo): void {
  const queue = held.get(root);
  if (queue !== undefined && queue.length > 0) queue.push(h);
  else held.set(root, [h]);
  failed(h, error);
  scheduleRetry(root);
}

function commitOrHold(root: string, h: Held): void {
  const queue = held.get(root);
  if (queue !== undefined && queue.length > 0) return queueBehind(root, queue, h);
  const r = commit(root, h);
  if (!r.ok) holdFailed(root, h, r.error);
}

function scheduleRetry(root: string): void {
  if (retryTimers.has(root) || closing) return;
  retryTimers.set(
    root,
    setTimeout(() => {
      retryTimers.delete(root);
      jobs.urgently(() => retryHead(root));
    }, config.retryMs),
  );
}

/** Longest a drain of held writes runs before new messages are taken in. */
const DRAIN_SLICE_MS = 100;

/**
 * Writes held batches in order until one fails or the slice is used up. Whole slices, not one
 * write per job: new batches keep arriving behind the held ones, and the queue must shrink faster
 * than they come.
 */
function retryHead(root: string): void {
  const queue = held.get(root);
  if (queue === undefined || closing) return;
  const t0 = performance.now();
  while (queue.length > 0) {
    const h = queue[0]!;
    const r = commit(root, h);
    if (!r.ok) {
      failed(h, r.error);
      scheduleRetry(root);
      return;
    }
    queue.shift();
    if (performance.now() - t0 > DRAIN_SLICE_MS) break;
  }
  if (queue.length > 0) jobs.urgently(() => retryHead(root));
}

// ---- compaction, start-up scan, retention -------------------------------------------------------

let compactionOff = false;
let lastRetentionAt = -Infinity;
let lastScanAt = -Infinity;
const RETENTION_EVERY_MS = HOUR_MS;
const RESCAN_EVERY_MS = HOUR_MS;
/** Attempts at one partition-hour before it is left for the next start's scan. */
const MAX_COMPACT_TRIES = 3;

function anyHeld(): boolean {
  for (const q of held.values()) if (q.length > 0) return true;
  return false;
}

function compactJob(root: string, dir: string, hour: number, tries: number): void {
  touched.delete(`${dir}|${hour}`);
  if (compactionOff) return;
  const why = exchangeUnavailable();
  if (why !== null) {
    compactionOff = true;
    reply({ type: "maintenance-error", what: "compaction", error: { code: "ENOSYS", message: `compaction is off: ${why}`, path: root } });
    return;
  }
  // A failing disk first gets its writes back; merging needs room too.
  if (anyHeld()) return retryLater(root, dir, hour, tries);
  const t0 = performance.now();
  try {
    const out = compactHour(root, dir, hour, { nextName });
    if (out.done) {
      reply({ type: "compacted", dir, hour, path: out.path, files: out.files, rows: out.rows, bytes: out.bytes, ms: performance.now() - t0 });
    } else if (out.reason !== null) {
      const reason = out.reason;
      reply({ type: "maintenance-error", what: "compaction", error: { code: "ESKIPPED", message: reason, path: dir } });
      if (reason.includes("free space") || reason.includes("another process")) retryLater(root, dir, hour, tries);
    }
  } catch (e) {
    reply({ type: "maintenance-error", what: "compaction", error: errorInfo(e, dir) });
    retryLater(root, dir, hour, tries);
  }
  jobs.pauseBackground(COMPACT_PAUSE_FACTOR * (performance.now() - t0));
}

function retryLater(root: string, dir: string, hour: number, tries: number): void {
  if (tries + 1 >= MAX_COMPACT_TRIES) return;
  const key = `${dir}|${hour}`;
  if (!touched.has(key)) touched.set(key, { root, dir, hour, tries: tries + 1, scheduled: false });
}

function maintain(nowMs: number): void {
  // Parts encoded before this message count as written for it: a late part of a merged hour must
  // not wait in a group commit while the pass that would merge it again goes by.
  commitPending();
  if (config.compaction !== null && !compactionOff) {
    const grace = config.compaction.graceMs;
    for (const t of touched.values()) {
      if (t.scheduled || (t.hour + 1) * HOUR_MS + grace > nowMs) continue;
      t.scheduled = true;
      jobs.inBackground(() => compactJob(t.root, t.dir, t.hour, t.tries));
    }
  }
  if (config.compaction !== null && !compactionOff && nowMs - lastScanAt >= RESCAN_EVERY_MS) {
    // Hourly, yesterday and today: hours whose merge was postponed (low disk, held writes).
    if (lastScanAt !== -Infinity) scan(nowMs, `date=${new Date(nowMs - 86_400_000).toISOString().slice(0, 10)}`);
    lastScanAt = nowMs;
  }
  if (config.retentionDays > 0 && nowMs - lastRetentionAt >= RETENTION_EVERY_MS) {
    lastRetentionAt = nowMs;
    for (const root of config.roots) jobs.inBackground(() => retentionJob(root, nowMs));
  }
  jobs.kick();
}

async function retentionJob(root: string, nowMs: number): Promise<void> {
  try {
    for (const path of await applyRetention(root, nowMs, config.retentionDays)) reply({ type: "expired", path });
  } catch (e) {
    reply({ type: "maintenance-error", what: "retention", error: errorInfo(e, root) });
  }
}

const listDirs = (dir: string, prefix: string): string[] => {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name.startsWith(prefix))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
};

/**
 * Closed hours with several parts that no tracked write points to: left by an earlier run, or
 * given up after failed attempts. One job per date folder; `fromDate` limits the scan to recent
 * dates (`date=YYYY-MM-DD` compares as text).
 */
function scan(nowMs: number, fromDate = ""): void {
  const grace = config.compaction!.graceMs;
  for (const root of config.roots) {
    for (const date of listDirs(root, "date=")) {
      if (date < fromDate) continue;
      jobs.inBackground(() => {
        try {
          for (const sym of listDirs(join(root, date), "symbol=")) {
            for (const kind of listDirs(join(root, date, sym), "kind=")) {
              const dir = join(root, date, sym, kind);
              for (const hour of hoursToCompact(dir)) {
                if ((hour + 1) * HOUR_MS + grace <= nowMs) jobs.inBackground(() => compactJob(root, dir, hour, 0));
              }
            }
          }
        } catch (e) {
          reply({ type: "maintenance-error", what: "scan", error: errorInfo(e, join(root, date)) });
        }
      });
    }
  }
}

// ---- close ------------------------------------------------------------------------------------------

let closing = false;

function close(compactAll: boolean): void {
  closing = true;
  commitPending();
  for (const t of retryTimers.values()) clearTimeout(t);
  retryTimers.clear();
  // Last attempt at every held write; what still fails is given up (NDJSON keeps the data).
  for (const [root, queue] of held) {
    for (const h of queue) {
      const r = commit(root, h);
      if (!r.ok) reply({ type: "dropped", id: h.id, kind: h.kind, symbol: h.symbol, rows: h.rows, error: r.error });
    }
    queue.length = 0;
  }
  jobs.dropBackground();
  if (compactAll && config.compaction !== null) {
    for (const t of [...touched.values()]) compactJob(t.root, t.dir, t.hour, MAX_COMPACT_TRIES);
  }
  // Dropping the handler empties the event loop, so the worker exits by itself after the reply is
  // delivered (process.exit could cut the reply off).
  self.onmessage = null;
  try {
    spool?.close();
  } catch (e) {
    // Its pages are all written by now; the folder left behind is removed at the next start (cleanup.ts).
    reply({ type: "maintenance-error", what: "spool", error: errorInfo(e, "") });
  }
  reply({ type: "closed" });
}

self.onmessage = (event: MessageEvent) => {
  const msg = event.data as ToWorker;
  switch (msg.type) {
    case "init":
      config = msg;
      for (const [kind, defs] of msg.customSchemas ?? []) registerCustomSchema(kind, defs);
      if (config.compaction?.scanAtStart) scan(Date.now());
      if (config.retentionDays > 0) maintain(Date.now());
      jobs.kick();
      break;
    case "write":
      jobs.write(() => write(msg));
      break;
    case "chunk":
      // Encoded right away: that is what frees the memory. Keys are unique per batch,
      // so a later batch's chunks never join an earlier write still in the queue.
      holdChunks(msg.key, msg.kind, msg.symbol, msg.chunks);
      break;
    case "discard":
      // Their batch will not be written: the pages they left in the spool go too.
      takeAhead(msg.key).file?.discard();
      break;
    case "maintain":
      jobs.urgently(() => maintain(msg.nowMs));
      break;
    case "close":
      jobs.urgently(() => close(msg.compactAll));
      break;
  }
};

reply({ type: "ready" });
