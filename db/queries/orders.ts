/** The orders table: the order's read model (its writers are the payment activities; see recordPaymentResult). */
import type { Db } from '../connection';
import type { NotifyStatus, OrderStatus } from '../../domain/order';
import type { ChannelRef, PaymentResult } from '../../domain/payment';

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
  /** Fen of SUCCESS + PROCESSING refunds of the order's own payment (db/queries/refunds.ts keeps it). */
  refund_reserved: number;
  /** The provider's QR payload of the latest Native prepay: the only content the cashier's qr.svg draws. */
  qr_code: string | null;
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

/** `qrCode`: the provider's QR payload when the prepay returned one (Native); other scenes leave the stored one. */
export async function markPaying(db: Db, id: number, channel: ChannelRef, qrCode: string | null = null): Promise<void> {
  // Only an open order moves to PAYING; a late prepay never overwrites a final result.
  await db('orders')
    .where({ id })
    .whereIn('status', ['CREATED', 'PAYING'])
    .update({ status: 'PAYING', channel_id: channel.channelId, channel_type: channel.channelType, mch_id: channel.mchId, ...(qrCode !== null ? { qr_code: qrCode } : {}), updated_at: db.fn.now() });
}

/**
 * Idempotent: writing the same result twice leaves the same row. A SUCCESS never overwrites a FINISH that the
 * callback use-case recorded in the meantime (recordFinish).
 */
export async function recordPaymentResult(db: Db, r: PaymentResult & { notifyStatus?: NotifyStatus }): Promise<void> {
  const q = db('orders').where({ id: r.orderId });
  if (r.status === 'SUCCESS') q.whereNot({ status: 'FINISH' });
  await q.update({
      status: r.status,
      channel_id: r.channel?.channelId ?? null,
      channel_type: r.channel?.channelType ?? null,
      mch_id: r.channel?.mchId ?? null,
      provider_trade_no: r.providerTradeNo,
      pay_time: r.payTime === null ? null : new Date(r.payTime),
      result_error_code: r.errorCode,
      result_error_msg: r.errorMsg,
      ...(r.notifyStatus ? { notify_status: r.notifyStatus } : {}),
      updated_at: db.fn.now(),
    });
}

export async function setNotifyStatus(db: Db, id: number, status: NotifyStatus): Promise<void> {
  await db('orders').where({ id }).update({ notify_status: status, updated_at: db.fn.now() });
}

export interface OrderListItem {
  id: number;
  app_id: string;
  app_name: string;
  out_trade_no: string;
  amount: number;
  order_title: string;
  status: string;
  channel_type: string | null;
  notify_status: string;
  pay_time: Date | null;
  created_at: Date;
  workflow_id: string;
}

export interface OrderSearch {
  outTradeNo?: string;
  status?: string;
  appId?: string;
  createdFrom?: Date;
  createdTo?: Date;
  page: number;
  pageSize: number;
}

export async function searchOrders(db: Db, f: OrderSearch): Promise<{ items: OrderListItem[]; total: number }> {
  const q = db('orders as o').join('apps as a', 'a.app_id', 'o.app_id');
  if (f.outTradeNo) q.where('o.out_trade_no', f.outTradeNo);
  if (f.status) q.where('o.status', f.status);
  if (f.appId) q.where('o.app_id', f.appId);
  if (f.createdFrom) q.where('o.created_at', '>=', f.createdFrom);
  if (f.createdTo) q.where('o.created_at', '<', f.createdTo);
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q
    .select('o.id', 'o.app_id', 'a.name as app_name', 'o.out_trade_no', 'o.amount', 'o.order_title', 'o.status', 'o.channel_type', 'o.notify_status', 'o.pay_time', 'o.created_at', 'o.workflow_id')
    .orderBy([{ column: 'o.created_at', order: 'desc' }, { column: 'o.id', order: 'desc' }])
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)) as OrderListItem[];
  return { items, total: Number(n) };
}

/**
 * The one write of order state outside the workflow's activities. Alipay reports TRADE_FINISHED (no more
 * refunds) when its refund window closes, often after the PaymentWorkflow ended, or while it still notifies the
 * merchant; the callback use-case records it here at once so refunds are refused from then on. Only a SUCCESS
 * order moves, and only to FINISH.
 */
export async function recordFinish(db: Db, orderId: number): Promise<boolean> {
  return (await db('orders').where({ id: orderId, status: 'SUCCESS' }).update({ status: 'FINISH', updated_at: db.fn.now() })) === 1;
}
