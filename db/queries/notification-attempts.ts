/** notification_attempts: every attempt to notify a merchant, one row per (order, attempt). */
import type { Db } from '../connection';
import type { NotifyAttemptRecord } from '../../domain/payment';

/** Idempotent per (order, attempt): an activity retried after a crash writes the attempt once. */
export async function recordNotifyAttempt(db: Db, orderId: number, r: NotifyAttemptRecord, startedAt = new Date()): Promise<void> {
  await db('notification_attempts')
    .insert({
      order_id: orderId,
      attempt: r.attempt,
      trigger: r.trigger,
      scheduled_at: new Date(r.scheduledAt),
      started_at: startedAt,
      http_status: r.httpStatus,
      latency_ms: r.latencyMs,
      acknowledged: r.acknowledged,
      error: r.error?.slice(0, 500) ?? null,
    })
    .onConflict(['order_id', 'attempt'])
    .ignore();
}

export interface NotifyAttemptRow {
  attempt: number;
  trigger: string;
  scheduled_at: Date;
  started_at: Date;
  http_status: number | null;
  latency_ms: number;
  acknowledged: boolean;
  error: string | null;
}

export async function listNotifyAttempts(db: Db, orderId: number): Promise<NotifyAttemptRow[]> {
  return db('notification_attempts').where({ order_id: orderId }).orderBy('attempt');
}

/** The number the next attempt of this order gets: one more than the highest stored (attempts are never deleted). */
export async function nextNotifyAttemptNumber(db: Db, orderId: number): Promise<number> {
  const last = await db('notification_attempts').where({ order_id: orderId }).max({ n: 'attempt' }).first();
  return Number(last?.n ?? 0) + 1;
}
