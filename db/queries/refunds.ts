/**
 * The refunds table. Creating a refund reserves its amount on the refunded row (the order, or the payment
 * exception whose money it returns) in the same transaction, so the sum of SUCCESS and PROCESSING refunds can
 * never exceed what was paid, whatever the concurrency and however many API processes there are.
 */
import type { Db } from '../connection';
import type { NotifyStatus } from '../../domain/order';
import type { RefundResult, RefundSource, RefundStatus } from '../../domain/refund';

export interface RefundRow {
  id: number;
  app_id: string;
  out_refund_no: string;
  order_id: number;
  payment_exception_id: number | null;
  source: RefundSource;
  created_by: string | null;
  amount: number;
  reason: string | null;
  notify_url: string | null;
  request_hash: string;
  channel_id: number;
  channel_type: string;
  scene_code: string;
  config_id: number;
  mch_id: string;
  provider_out_trade_no: string;
  trade_amount: number;
  provider_refund_id: string | null;
  status: RefundStatus;
  refund_time: Date | null;
  result_error_code: string | null;
  result_error_msg: string | null;
  notify_status: NotifyStatus;
  workflow_id: string;
  workflow_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type NewRefund = Pick<
  RefundRow,
  | 'app_id'
  | 'out_refund_no'
  | 'order_id'
  | 'payment_exception_id'
  | 'source'
  | 'created_by'
  | 'amount'
  | 'reason'
  | 'notify_url'
  | 'request_hash'
  | 'channel_id'
  | 'channel_type'
  | 'scene_code'
  | 'config_id'
  | 'mch_id'
  | 'provider_out_trade_no'
  | 'trade_amount'
  | 'workflow_id'
>;

export type CreateRefundOutcome =
  | { outcome: 'CREATED'; row: RefundRow }
  /** A refund with this (app, outRefundNo) exists already: the caller compares request hashes. */
  | { outcome: 'EXISTS'; row: RefundRow }
  /** The order is not (or no longer) refundable: not paid, or FINISH. */
  | { outcome: 'NOT_REFUNDABLE'; orderStatus: string }
  /** The amount exceeds what is still refundable. */
  | { outcome: 'EXCEEDS_REFUNDABLE'; refundable: number };

class Refused extends Error {
  constructor(readonly result: CreateRefundOutcome) {
    super('refund refused');
  }
}

/**
 * Inserts the refund and reserves its amount, or changes nothing. The insert comes first: a concurrent request
 * with the same outRefundNo waits on the unique index and then finds this refund, instead of being refused for
 * an amount its twin reserved. The reservation is one conditional UPDATE (row-locked by PostgreSQL); the CHECK
 * constraints on refund_reserved stand behind it.
 */
export async function createRefundWithReservation(db: Db, refund: NewRefund): Promise<CreateRefundOutcome> {
  try {
    return await db.transaction(async (trx) => {
      const inserted = (await trx('refunds').insert(refund).onConflict(['app_id', 'out_refund_no']).ignore().returning('*')) as RefundRow[];
      if (inserted.length === 0) {
        const existing = await findRefundByOutRefundNo(trx, refund.app_id, refund.out_refund_no);
        if (!existing) throw new Error('refund vanished between insert and select');
        return { outcome: 'EXISTS' as const, row: existing };
      }
      if (refund.payment_exception_id !== null) {
        const reserved = await trx('payment_exceptions')
          .where({ id: refund.payment_exception_id })
          .whereRaw('refund_reserved + ? <= amount', [refund.amount])
          .update({ refund_reserved: trx.raw('refund_reserved + ?', [refund.amount]), status: 'REFUNDING', updated_at: trx.fn.now() });
        if (reserved !== 1) {
          const e = await trx('payment_exceptions').where({ id: refund.payment_exception_id }).first('amount', 'refund_reserved');
          throw new Refused({ outcome: 'EXCEEDS_REFUNDABLE', refundable: e ? Number(e.amount) - Number(e.refund_reserved) : 0 });
        }
      } else {
        const reserved = await trx('orders')
          .where({ id: refund.order_id, status: 'SUCCESS' })
          .whereRaw('refund_reserved + ? <= amount', [refund.amount])
          .update({ refund_reserved: trx.raw('refund_reserved + ?', [refund.amount]), updated_at: trx.fn.now() });
        if (reserved !== 1) {
          const o = await trx('orders').where({ id: refund.order_id }).first('status', 'amount', 'refund_reserved');
          if (!o || o.status !== 'SUCCESS') throw new Refused({ outcome: 'NOT_REFUNDABLE', orderStatus: o?.status ?? 'UNKNOWN' });
          throw new Refused({ outcome: 'EXCEEDS_REFUNDABLE', refundable: Number(o.amount) - Number(o.refund_reserved) });
        }
      }
      return { outcome: 'CREATED' as const, row: inserted[0] as RefundRow };
    });
  } catch (err) {
    // Rolled back: the inserted row and any reservation are gone.
    if (err instanceof Refused) return err.result;
    throw err;
  }
}

export async function findRefundByOutRefundNo(db: Db, appId: string, outRefundNo: string): Promise<RefundRow | null> {
  return ((await db<RefundRow>('refunds').where({ app_id: appId, out_refund_no: outRefundNo }).first()) as RefundRow | undefined) ?? null;
}

export async function findRefundById(db: Db, id: number): Promise<RefundRow | null> {
  return ((await db<RefundRow>('refunds').where({ id }).first()) as RefundRow | undefined) ?? null;
}

export async function listRefundsOfOrder(db: Db, orderId: number): Promise<RefundRow[]> {
  return (await db<RefundRow>('refunds').where({ order_id: orderId }).orderBy('id')) as RefundRow[];
}

/** Fen refunded successfully from the order's own payment (exception refunds return other money). */
export async function refundedAmountOfOrder(db: Db, orderId: number): Promise<number> {
  const r = await db('refunds').where({ order_id: orderId, status: 'SUCCESS' }).whereNull('payment_exception_id').sum({ n: 'amount' }).first();
  return Number(r?.n ?? 0);
}

export async function markRefundWorkflowStarted(db: Db, id: number): Promise<void> {
  await db('refunds').where({ id }).whereNull('workflow_started_at').update({ workflow_started_at: db.fn.now() });
}

/** Refunds whose workflow start may have been lost (crash between commit and start): for the reconciler. */
export async function findRefundsWithoutWorkflow(db: Db, olderThan: Date, limit = 100): Promise<RefundRow[]> {
  return (await db<RefundRow>('refunds').whereNull('workflow_started_at').where('created_at', '<', olderThan).orderBy('id').limit(limit)) as RefundRow[];
}

export async function setProviderRefundId(db: Db, id: number, providerRefundId: string): Promise<void> {
  await db('refunds').where({ id }).whereNull('provider_refund_id').update({ provider_refund_id: providerRefundId, updated_at: db.fn.now() });
}

/**
 * Records a refund's final result once (later calls change nothing). A FAIL gives its reservation back, in the
 * same transaction, so the money becomes refundable again; the exception it served follows its refund.
 */
export async function recordRefundResult(db: Db, id: number, r: RefundResult): Promise<boolean> {
  if (r.status === 'PROCESSING') throw new Error('a refund result must be final');
  return db.transaction(async (trx) => {
    const updated = (await trx('refunds')
      .where({ id, status: 'PROCESSING' })
      .update({
        status: r.status,
        refund_time: r.refundTime === null ? null : new Date(r.refundTime),
        provider_refund_id: trx.raw('coalesce(?, provider_refund_id)', [r.providerRefundId]),
        result_error_code: r.errorCode,
        result_error_msg: r.errorMsg?.slice(0, 256) ?? null,
        updated_at: trx.fn.now(),
      })
      .returning(['order_id', 'payment_exception_id', 'amount'])) as Array<{ order_id: number; payment_exception_id: number | null; amount: number }>;
    if (updated.length === 0) return false;
    const { order_id, payment_exception_id, amount } = updated[0];
    if (payment_exception_id !== null) {
      await trx('payment_exceptions')
        .where({ id: payment_exception_id })
        .update({
          ...(r.status === 'FAIL' ? { refund_reserved: trx.raw('refund_reserved - ?', [amount]) } : {}),
          status: r.status === 'SUCCESS' ? 'REFUNDED' : 'REFUND_FAILED',
          updated_at: trx.fn.now(),
        });
    } else if (r.status === 'FAIL') {
      await trx('orders').where({ id: order_id }).update({ refund_reserved: trx.raw('refund_reserved - ?', [amount]), updated_at: trx.fn.now() });
    }
    return true;
  });
}

export async function setRefundNotifyStatus(db: Db, id: number, status: NotifyStatus): Promise<void> {
  await db('refunds').where({ id }).update({ notify_status: status, updated_at: db.fn.now() });
}

export interface RefundListItem {
  id: number;
  app_id: string;
  app_name: string;
  out_refund_no: string;
  order_id: number;
  out_trade_no: string;
  source: RefundSource;
  amount: number;
  status: RefundStatus;
  channel_type: string;
  refund_time: Date | null;
  result_error_code: string | null;
  notify_status: string;
  created_at: Date;
  workflow_id: string;
}

export interface RefundSearch {
  outRefundNo?: string;
  outTradeNo?: string;
  status?: string;
  source?: string;
  appId?: string;
  page: number;
  pageSize: number;
}

export async function searchRefunds(db: Db, f: RefundSearch): Promise<{ items: RefundListItem[]; total: number }> {
  const q = db('refunds as r').join('orders as o', 'o.id', 'r.order_id').join('apps as a', 'a.app_id', 'r.app_id');
  if (f.outRefundNo) q.where('r.out_refund_no', f.outRefundNo);
  if (f.outTradeNo) q.where('o.out_trade_no', f.outTradeNo);
  if (f.status) q.where('r.status', f.status);
  if (f.source) q.where('r.source', f.source);
  if (f.appId) q.where('r.app_id', f.appId);
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q
    .select('r.id', 'r.app_id', 'a.name as app_name', 'r.out_refund_no', 'r.order_id', 'o.out_trade_no', 'r.source', 'r.amount', 'r.status', 'r.channel_type', 'r.refund_time', 'r.result_error_code', 'r.notify_status', 'r.created_at', 'r.workflow_id')
    .orderBy([{ column: 'r.created_at', order: 'desc' }, { column: 'r.id', order: 'desc' }])
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)) as RefundListItem[];
  return { items, total: Number(n) };
}
