/**
 * One extra notification attempt for an order whose PaymentWorkflow has already ended (acknowledged,
 * exhausted or stopped): ops press renotify days later and the merchant gets the result once more, signed,
 * recorded like every other attempt. Deterministic code only.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotifyAttemptRecord } from './messages';

const store = proxyActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '1s', maximumInterval: '1m' } });
const notify = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } });

export async function renotifyWorkflow(input: { orderId: number }): Promise<NotifyAttemptRecord> {
  const { state, nextAttempt } = await store.loadNotificationState({ orderId: input.orderId });
  const scheduledAt = Date.now();
  let record: NotifyAttemptRecord;
  try {
    const r = await notify.notifyMerchant({ orderId: input.orderId, attempt: nextAttempt, scheduledAt, state });
    record = { attempt: nextAttempt, trigger: 'RENOTIFY', scheduledAt, ...r };
  } catch (err) {
    record = { attempt: nextAttempt, trigger: 'RENOTIFY', scheduledAt, httpStatus: null, latencyMs: 0, acknowledged: false, error: `activity failed: ${(err as Error).message}`.slice(0, 500) };
  }
  await store.recordNotifyAttempt({ orderId: input.orderId, record });
  if (record.acknowledged) await store.recordNotifyStatus({ orderId: input.orderId, notifyStatus: 'ACKED' });
  return record;
}
