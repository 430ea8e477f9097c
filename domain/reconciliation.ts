/** Reconciliation (对账) and statement rules: business days in Asia/Shanghai and the discrepancy kinds. Pure. */

/**
 * MISSING_LOCAL: the provider has money (a payment or refund) we do not show; MISSING_PROVIDER: we show money the
 * provider's bill lacks; AMOUNT_MISMATCH: both have it with different amounts; STATUS_MISMATCH: the bill has a
 * refund we still show as PROCESSING or FAIL.
 */
export const DISCREPANCY_KINDS = ['MISSING_LOCAL', 'MISSING_PROVIDER', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH'] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** What became of a MISSING_LOCAL payment: its order healed by a provider query, or raised as an exception. */
export type DiscrepancyResolution = 'HEALED' | 'EXCEPTION' | 'UNKNOWN_TRADE' | 'NOT_PAID';

export const RECONCILIATION_RUN_STATUSES = ['RUNNING', 'DONE', 'FAILED'] as const;
export type ReconciliationRunStatus = (typeof RECONCILIATION_RUN_STATUSES)[number];

const SHANGHAI_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 24 * 3600_000;

/** `yyyy-MM-dd` that is a real calendar date. */
export function isDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The Asia/Shanghai day (yyyy-MM-dd) an instant falls on (UTC+8, no daylight saving). */
export function shanghaiDay(epochMs: number): string {
  return new Date(epochMs + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** [start, end) of an Asia/Shanghai day as instants. */
export function shanghaiDayRange(day: string): { start: Date; end: Date } {
  const start = new Date(`${day}T00:00:00+08:00`);
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The day before the Asia/Shanghai day of `epochMs`: the day a reconciliation run at that instant covers. */
export function previousShanghaiDay(epochMs: number): string {
  return shanghaiDay(epochMs - DAY_MS);
}

/** Whether `day` is over in Asia/Shanghai at `now` (providers only issue bills for finished days). */
export function isPastDay(day: string, now: number): boolean {
  return isDay(day) && shanghaiDayRange(day).end.getTime() <= now;
}
