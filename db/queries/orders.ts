import type { Db } from '../connection';
import type { NotifyStatus, OrderStatus } from '../../domain/order';
import type { ChannelRef, NotifyAttemptRecord } from '../../workflows/messages';

export interface OrderRow {
  id: number;
  app_id: string;
  out_trade_no: string;
  amount: number;
  order_title: string;
  goods_desc: string;
  third_party_user: string;
  notify_url: string | null;
  return_url: string | null;
  request_hash: string;
  token: string;
  expire_at: Date;
  status: OrderStatus;
  allowed_channel_ids: number[] | null;
  channel_id: number | null;
  channel_type: string | null;
  mch_id: string | null;
  provider_trade_no: string | null;
  pay_time: Date | null;
  result_error_code: string | null;
  result_error_msg: string | null;
  notify_status: NotifyStatus;
  workflow_id: string;
  workflow_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type NewOrder = Pick<
  OrderRow,
  'app_id' | 'out_trade_no' | 'amount' | 'order_title' | 'goods_desc' | 'third_party_user' | 'notify_url' | 'return_url' | 'request_hash' | 'token' | 'expire_at' | 'workflow_id'
>;

/**
 * Inserts the order unless (app_id, out_trade_no) exists; returns the stored row either way. The unique
 * constraint, not a read-then-write, decides, so concurrent duplicates end with exactly one row.
 */
export async function insertOrFindOrder(db: Db, order: NewOrder): Promise<{ row: OrderRow; created: boolean }> {
  const inserted = await db<OrderRow>('orders').insert(order).onConflict(['app_id', 'out_trade_no']).ignore().returning('*');
  if (inserted.length === 1) return { row: inserted[0] as OrderRow, created: true };
  const row = await findOrderByOutTradeNo(db, order.app_id, order.out_trade_no);
  if (!row) throw new Error('order vanished between insert and select');
  return { row, created: false };
}

export async function findOrderByOutTradeNo(db: Db, appId: string, outTradeNo: string): Promise<OrderRow | null> {
  return ((await db<OrderRow>('orders').where({ app_id: appId, out_trade_no: outTradeNo }).first()) as OrderRow | undefined) ?? null;
}

export async function findOrderById(db: Db, id: number): Promise<OrderRow | null> {
  return ((await db<OrderRow>('orders').where({ id }).first()) as OrderRow | undefined) ?? null;
}

export async function findOrderByToken(db: Db, token: string): Promise<OrderRow | null> {
  return ((await db<OrderRow>('orders').where({ token }).first()) as OrderRow | undefined) ?? null;
}

export async function markWorkflowStarted(db: Db, id: number): Promise<void> {
  await db('orders').where({ id }).whereNull('workflow_started_at').update({ workflow_started_at: db.fn.now() });
}

/** Orders whose workflow start may have been lost (crash between insert and start): for the reconciler. */
export async function findOrdersWithoutWorkflow(db: Db, olderThan: Date, limit = 100): Promise<OrderRow[]> {
  return (await db<OrderRow>('orders').whereNull('workflow_started_at').where('created_at', '<', olderThan).orderBy('id').limit(limit)) as OrderRow[];
}

export async function setAllowedChannels(db: Db, id: number, channelIds: number[]): Promise<void> {
  await db('orders').where({ id }).update({ allowed_channel_ids: JSON.stringify(channelIds), updated_at: db.fn.now() });
}

export async function markPaying(db: Db, id: number, channel: ChannelRef): Promise<void> {
  // Only an open order moves to PAYING; a late prepay never overwrites a final result.
  await db('orders')
    .where({ id })
    .whereIn('status', ['CREATED', 'PAYING'])
    .update({ status: 'PAYING', channel_id: channel.channelId, channel_type: channel.channelType, mch_id: channel.mchId, updated_at: db.fn.now() });
}

export interface PaymentResult {
  orderId: number;
  status: OrderStatus;
  channel: ChannelRef | null;
  providerTradeNo: string | null;
  payTime: number | null;
  errorCode: string | null;
  errorMsg: string | null;
}

/** Idempotent: writing the same result twice leaves the same row. */
export async function recordPaymentResult(db: Db, r: PaymentResult): Promise<void> {
  await db('orders')
    .where({ id: r.orderId })
    .update({
      status: r.status,
      channel_id: r.channel?.channelId ?? null,
      channel_type: r.channel?.channelType ?? null,
      mch_id: r.channel?.mchId ?? null,
      provider_trade_no: r.providerTradeNo,
      pay_time: r.payTime === null ? null : new Date(r.payTime),
      result_error_code: r.errorCode,
      result_error_msg: r.errorMsg,
      updated_at: db.fn.now(),
    });
}

export async function setNotifyStatus(db: Db, id: number, status: NotifyStatus): Promise<void> {
  await db('orders').where({ id }).update({ notify_status: status, updated_at: db.fn.now() });
}

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

export async function listNotifyAttempts(db: Db, orderId: number) {
  return db('notification_attempts').where({ order_id: orderId }).orderBy('attempt');
}
