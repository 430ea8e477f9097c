/** notification_attempts: every attempt to notify a merchant, one row per (order, attempt). */
import type { Db } from '../connection';
import type { NotifyStatus } from '../../domain/order';
import type { NotifyAttemptRecord } from '../../domain/payment';

/**
 * Whose notification an attempt belongs to: an order's payment result, or one of its refunds' results
 * (refundId set). Attempts are numbered per subject.
 */
export interface NotifySubject {
  /** Null for a transfer's notifications (a transfer has no order). */
  orderId: number | null;
  refundId?: number | null;
  transferId?: number | null;
}

const subjectWhere = (s: NotifySubject) => ({ order_id: s.orderId, refund_id: s.refundId ?? null, transfer_id: s.transferId ?? null });

/**
 * Idempotent per (subject, attempt): an activity retried after a crash writes the attempt once. An order's own
 * attempts also keep its notification health on the order row (first attempt acknowledged; time from payment to
 * the first acknowledgement), which the statistics read without touching this table, and, when `notifyStatus` is
 * given, the order's notify status in that same statement. Returns whether the order row took `notifyStatus`
 * (false for refunds and transfers, whose status the caller writes).
 */
export async function recordNotifyAttempt(db: Db, subject: NotifySubject, r: NotifyAttemptRecord, notifyStatus?: NotifyStatus): Promise<boolean> {
  // The attempt's own start (lateness = started_at - scheduled_at); older records did not report it.
  const startedAt = r.startedAt === undefined ? new Date() : new Date(r.startedAt);
  const ofOrder = subject.orderId !== null && !subject.refundId && !subject.transferId;
  if (ofOrder && (r.attempt === 1 || r.acknowledged || notifyStatus)) {
    // At most one statement on the order row per attempt (this runs for every notification attempt).
    await db('orders')
      .where({ id: subject.orderId })
      .update({
        first_notify_acked: r.attempt === 1 ? db.raw('coalesce(first_notify_acked, ?)', [r.acknowledged]) : db.raw('first_notify_acked'),
        notify_ack_ms: r.acknowledged
          ? db.raw('coalesce(notify_ack_ms, case when pay_time is null then null else greatest(0, floor(extract(epoch from (?::timestamptz - pay_time)) * 1000))::int end)', [startedAt])
          : db.raw('notify_ack_ms'),
        ...(notifyStatus ? { notify_status: notifyStatus, updated_at: db.fn.now() } : {}),
      });
  }
  await db('notification_attempts')
    .insert({
      ...subjectWhere(subject),
      attempt: r.attempt,
      trigger: r.trigger,
      scheduled_at: new Date(r.scheduledAt),
      started_at: startedAt,
      http_status: r.httpStatus,
      latency_ms: r.latencyMs,
      acknowledged: r.acknowledged,
      error: r.error?.slice(0, 500) ?? null,
    })
    .onConflict(['order_id', 'refund_id', 'transfer_id', 'attempt'])
    .ignore();
  return ofOrder && notifyStatus !== undefined;
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

export async function listNotifyAttempts(db: Db, subject: NotifySubject): Promise<NotifyAttemptRow[]> {
  return db('notification_attempts').where(subjectWhere(subject)).orderBy('attempt');
}

/** The number the next attempt of this subject gets: one more than the highest stored (attempts are never deleted). */
export async function nextNotifyAttemptNumber(db: Db, subject: NotifySubject): Promise<number> {
  const last = await db('notification_attempts').where(subjectWhere(subject)).max({ n: 'attempt' }).first();
  return Number(last?.n ?? 0) + 1;
}

/** When the subject's first attempt was scheduled (the start of its notification), for time-to-acknowledgement. */
export async function firstAttemptScheduledAt(db: Db, subject: NotifySubject): Promise<number | null> {
  const row = await db('notification_attempts').where({ ...subjectWhere(subject), attempt: 1 }).first('scheduled_at');
  return row ? (row.scheduled_at as Date).getTime() : null;
}
