/**
 * The merchant notification schedule: attempt 1 at once, then retries after
 * 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h — 16 attempts, the last at +24h4m.
 * Offsets are anchored to the first attempt so slow attempts never push later ones back.
 *
 * Changing these numbers changes running workflows' command sequence: guard any change with patched().
 */
const s = 1000;
const m = 60 * s;
const h = 60 * m;

export const NOTIFY_RETRY_DELAYS_MS: readonly number[] = [15 * s, 15 * s, 30 * s, 3 * m, 10 * m, 20 * m, 30 * m, 30 * m, 30 * m, 60 * m, 3 * h, 3 * h, 3 * h, 6 * h, 6 * h];

/** Offset of each scheduled attempt from the first one: [0, 15s, 30s, 1m, 4m, …, 24h4m]. */
export const NOTIFY_OFFSETS_MS: readonly number[] = NOTIFY_RETRY_DELAYS_MS.reduce<number[]>((acc, d) => [...acc, acc[acc.length - 1] + d], [0]);

export const MAX_SCHEDULED_NOTIFY_ATTEMPTS = NOTIFY_OFFSETS_MS.length;

/** Absolute time of scheduled attempt `index` (0-based), or null when the schedule is exhausted. */
export function scheduledAttemptAt(anchorMs: number, index: number): number | null {
  return index < NOTIFY_OFFSETS_MS.length ? anchorMs + NOTIFY_OFFSETS_MS[index] : null;
}
