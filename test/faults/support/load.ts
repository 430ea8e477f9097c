/** Runs `op` for items 0…n-1 with at most `concurrency` at once; resolves with every outcome, in item order. */
export async function mapConcurrent<T>(n: number, concurrency: number, op: (i: number) => Promise<T>): Promise<Array<{ ok: true; value: T } | { ok: false; error: Error }>> {
  const out = new Array<{ ok: true; value: T } | { ok: false; error: Error }>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      try {
        out[i] = { ok: true, value: await op(i) };
      } catch (err) {
        out[i] = { ok: false, error: err as Error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return out;
}

/** How a request failed: a documented error envelope from the API, or no answer at all. */
export function failureKind(err: Error): 'envelope' | 'network' | 'other' {
  const e = err as Error & { code?: unknown; httpStatus?: unknown };
  if (err.name === 'CashierDeskError' && typeof e.code === 'number' && typeof e.httpStatus === 'number') return 'envelope';
  if (err.name === 'CashierDeskNetworkError') return 'network';
  return 'other';
}
