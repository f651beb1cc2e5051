/**
 * Waits for `work` to settle, but at most `ms`: the one "wait for this, within a deadline"
 * of the workers (shutdown deadlines, a bounded wait on another part's work). Resolves true
 * when `work` settled in time, fulfilled or rejected (its outcome is the owner's to handle),
 * false at the limit; `undefined` (nothing running) is settled. Never rejects; the timer is
 * cleared either way and never keeps the process alive.
 */
export async function settleWithin(work: PromiseLike<unknown> | undefined, ms: number): Promise<boolean> {
  if (work === undefined) return true;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([Promise.resolve(work).then(() => true, () => true), limit]);
  } finally {
    clearTimeout(timer);
  }
}
