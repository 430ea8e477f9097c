/**
 * One merchant notification attempt as a workflow step, shared by PaymentWorkflow's schedule and the
 * one-shot renotifyWorkflow, and the activity options both use. Deterministic code only.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotificationState, NotifyAttemptRecord } from '../domain/payment';

/** Database writes must land: retry until they do (every store activity is idempotent). */
export const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** One notification attempt is one HTTP POST; the workflow owns the retry schedule, so no activity retries. */
const notify = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 1 },
});

/**
 * Runs attempt `attempt` and returns its record. Never throws: an activity failure (worker lost, timeout) is
 * a failed attempt like a merchant's 500, so the schedule goes on.
 */
export async function notifyAttempt(args: {
  orderId: number;
  attempt: number;
  trigger: NotifyAttemptRecord['trigger'];
  scheduledAt: number;
  state: NotificationState;
}): Promise<NotifyAttemptRecord> {
  const { orderId, attempt, trigger, scheduledAt, state } = args;
  try {
    const r = await notify.notifyMerchant({ orderId, attempt, scheduledAt, state });
    return { attempt, trigger, scheduledAt, ...r };
  } catch (err) {
    return { attempt, trigger, scheduledAt, httpStatus: null, latencyMs: 0, acknowledged: false, error: `activity failed: ${(err as Error).message}`.slice(0, 500) };
  }
}
