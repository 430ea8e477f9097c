/**
 * Prometheus exposition text as the bench reads it: samples by name and labels, counters summed over a label
 * match, and a histogram's quantile over the interval between two scrapes (Prometheus' histogram_quantile on the
 * difference). Pure; unit-tested.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

const matches = (s: Sample, name: string, match: Record<string, string>) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v);

/** The sum of every series of `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => matches(s, name, match)).reduce((a, s) => a + s.value, 0);
}

/** A histogram's cumulative bucket counts (summed over the series matching), its count and its sum. */
export interface Histogram {
  buckets: Map<number, number>;
  count: number;
  sum: number;
}

export function histogramOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): Histogram {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (!matches(s, `${name}_bucket`, match) || s.labels.le === undefined) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return { buckets, count: sumOf(samples, `${name}_count`, match), sum: sumOf(samples, `${name}_sum`, match) };
}

/** What was observed between two scrapes of the same process (buckets missing before count from zero). */
export function histogramDelta(before: Histogram, after: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return { buckets, count: after.count - before.count, sum: after.sum - before.sum };
}

/** Two intervals' observations together (a phase measured in several rounds). */
export function histogramAdd(a: Histogram, b: Histogram): Histogram {
  const buckets = new Map(a.buckets);
  for (const [le, n] of b.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  return { buckets, count: a.count + b.count, sum: a.sum + b.sum };
}

/**
 * The q-quantile (0–1), interpolated linearly inside its bucket as Prometheus does; one that falls in the +Inf
 * bucket is reported as the highest finite bound. null when nothing was observed.
 */
export function histogramQuantile(q: number, h: Histogram): number | null {
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  const total = h.buckets.get(Infinity) ?? (bounds.length ? h.buckets.get(bounds[bounds.length - 1])! : 0);
  if (!(total > 0)) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const le of bounds) {
    const count = h.buckets.get(le)!;
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return count === lowerCount ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/** The mean of what was observed, or null when nothing was. */
export const histogramMean = (h: Histogram): number | null => (h.count > 0 ? h.sum / h.count : null);
