/**
 * Activity options of the workflows that move money (refunds, transfers): a provider outage is retried for as long
 * as it lasts, always with the same request number (so never a second refund or payout); only answers retrying
 * cannot change stop it. Deterministic code only.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorCode, failureType } from '../domain/errors';

export const moneyMovingCalls = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    nonRetryableErrorTypes: [ErrorCode.VALIDATION, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND, ErrorCode.CONFLICT].map(failureType),
  },
});

/** Polling a provider for a PROCESSING refund or transfer backs off to once an hour. */
export const MAX_POLL_INTERVAL_MS = 60 * 60_000;

/** An open order's provider queries back off by half each time up to this (a lost callback is found within it). */
export const MAX_PAYMENT_POLL_INTERVAL_MS = 5 * 60_000;

/** The wait before the next query of an open order's channels, after one that decided nothing. */
export function nextPaymentPollInterval(currentMs: number, baseMs: number): number {
  return Math.max(baseMs, Math.min(MAX_PAYMENT_POLL_INTERVAL_MS, Math.round(currentMs * 1.5)));
}
