/**
 * Waiting on venue work for a bounded time: the work is not cancelled (a request on the wire cannot
 * be taken back), the caller just stops waiting for it and says what it left undone.
 */

/** Whether `work` settles within `ms` (Infinity: waits for it). It keeps running either way. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (!Number.isFinite(ms)) {
    await work;
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
