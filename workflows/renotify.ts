/**
 * One extra notification attempt for an order whose PaymentWorkflow has already ended (acknowledged,
 * exhausted or stopped): ops press renotify days later and the merchant gets the result once more, signed,
 * recorded like every other attempt. Deterministic code only.
 */
import type { NotifyAttemptRecord } from '../domain/payment';
import { notifyAttempt, store } from './notify-attempt';

export async function renotifyWorkflow(input: { orderId: number }): Promise<NotifyAttemptRecord> {
  const { state, nextAttempt } = await store.loadNotificationState({ orderId: input.orderId });
  const record = await notifyAttempt({ orderId: input.orderId, attempt: nextAttempt, trigger: 'RENOTIFY', scheduledAt: Date.now(), state });
  await store.recordNotifyAttempt({ orderId: input.orderId, record });
  if (record.acknowledged) await store.recordNotifyStatus({ orderId: input.orderId, notifyStatus: 'ACKED' });
  return record;
}
