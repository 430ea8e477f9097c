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
