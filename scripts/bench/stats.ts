/** Load generation and the figures the bench reports. Pure apart from the clock; unit-tested. */

export interface Summary {
  /** Operations completed in the measured window. */
  n: number;
  errors: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(latenciesMs: readonly number[], windowMs: number, errors = 0): Summary {
  const s = [...latenciesMs].sort((a, b) => a - b);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    n: s.length,
    errors,
    perSecond: windowMs > 0 ? r1((s.length * 1000) / windowMs) : 0,
    p50: r1(percentile(s, 50)),
    p95: r1(percentile(s, 95)),
    p99: r1(percentile(s, 99)),
    max: r1(s.length ? s[s.length - 1] : 0),
  };
}

/**
 * Runs `op` from `concurrency` loops for `durationMs` after `warmupMs`; only operations that start and end
 * inside the measured window count, so the rate is completions per second of the window. Errors are counted
 * (and the first few kept), never thrown: a bench reports what happened. `completed` also counts the warm-up's.
 */
export async function runLoad(opts: { concurrency: number; durationMs: number; warmupMs: number; op: (i: number) => Promise<unknown> }): Promise<LoadRun> {
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  let seq = 0;
  let completed = 0;
  const t0 = performance.now();
  const windowStart = t0 + opts.warmupMs;
  const windowEnd = windowStart + opts.durationMs;
  const loop = async () => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      try {
        await opts.op(seq++);
        completed++;
        const ended = performance.now();
        if (started >= windowStart && ended <= windowEnd) latencies.push(ended - started);
      } catch (err) {
        if (started >= windowStart) errors++;
        if (firstErrors.length < 3) firstErrors.push((err as Error).message.slice(0, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  return { ...summarize(latencies, opts.durationMs, errors), firstErrors, completed, latenciesMs: latencies, windowMs: opts.durationMs };
}

/** One load run: its summary, what it completed (warm-up included), and the raw latencies of its window. */
export interface LoadRun extends Summary {
  firstErrors: string[];
  completed: number;
  latenciesMs: number[];
  windowMs: number;
}

/** Several runs of one phase as one: every window's latencies together, the rate over all windows. */
export function pooled(runs: readonly LoadRun[]): Summary {
  return summarize(
    runs.flatMap((r) => r.latenciesMs),
    runs.reduce((a, r) => a + r.windowMs, 0),
    runs.reduce((a, r) => a + r.errors, 0),
  );
}

/** The median (the lower middle of an even count), or 0 when empty. */
export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

/** Runs `op` for every item with at most `concurrency` in flight; resolves to the results in order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, op: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const loop = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await op(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, loop));
  return out;
}

/** The figures of a load run without its run-specific extras (errors seen, orders made). */
export function strip<T extends Summary>(s: T): Summary {
  const { n, errors, perSecond, p50, p95, p99, max } = s;
  return { n, errors, perSecond, p50, p95, p99, max };
}

export const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);
