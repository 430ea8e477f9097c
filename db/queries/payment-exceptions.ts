/** payment_exceptions: money a provider took where no payment was wanted (late, duplicate, wrong amount). */
import type { Db } from '../connection';
import type { PaymentExceptionKind, PaymentExceptionStatus } from '../../domain/refund';

export interface PaymentExceptionRow {
  id: number;
  order_id: number;
  app_id: string;
  kind: PaymentExceptionKind;
  channel_id: number;
  channel_type: string;
  scene_code: string;
  config_id: number;
  mch_id: string;
  provider_out_trade_no: string;
  provider_trade_no: string | null;
  amount: number;
  order_status: string;
  detected_by: string;
  status: PaymentExceptionStatus;
  refund_reserved: number;
  created_at: Date;
  updated_at: Date;
}

export type NewPaymentException = Pick<
  PaymentExceptionRow,
  | 'order_id'
  | 'app_id'
  | 'kind'
  | 'channel_id'
  | 'channel_type'
  | 'scene_code'
  | 'config_id'
  | 'mch_id'
  | 'provider_out_trade_no'
  | 'provider_trade_no'
  | 'amount'
  | 'order_status'
  | 'detected_by'
>;

/** Records the exception unless this provider trade has one of this kind already; returns the stored row. */
export async function insertOrFindPaymentException(db: Db, e: NewPaymentException): Promise<{ row: PaymentExceptionRow; created: boolean }> {
  const inserted = (await db('payment_exceptions').insert(e).onConflict(['config_id', 'provider_out_trade_no', 'kind']).ignore().returning('*')) as PaymentExceptionRow[];
  if (inserted.length === 1) return { row: inserted[0], created: true };
  const row = (await db('payment_exceptions').where({ config_id: e.config_id, provider_out_trade_no: e.provider_out_trade_no, kind: e.kind }).first()) as PaymentExceptionRow | undefined;
  if (!row) throw new Error('payment exception vanished between insert and select');
  return { row, created: false };
}

export async function findPaymentExceptionById(db: Db, id: number): Promise<PaymentExceptionRow | null> {
  return ((await db('payment_exceptions').where({ id }).first()) as PaymentExceptionRow | undefined) ?? null;
}

export async function listPaymentExceptionsOfOrder(db: Db, orderId: number): Promise<PaymentExceptionRow[]> {
  return (await db('payment_exceptions').where({ order_id: orderId }).orderBy('id')) as PaymentExceptionRow[];
}

export interface PaymentExceptionSearch {
  kind?: string;
  status?: string;
  appId?: string;
  outTradeNo?: string;
  page: number;
  pageSize: number;
}

export async function searchPaymentExceptions(
  db: Db,
  f: PaymentExceptionSearch,
): Promise<{ items: Array<PaymentExceptionRow & { out_trade_no: string; app_name: string }>; total: number }> {
  const q = db('payment_exceptions as e').join('orders as o', 'o.id', 'e.order_id').join('apps as a', 'a.app_id', 'e.app_id');
  if (f.kind) q.where('e.kind', f.kind);
  if (f.status) q.where('e.status', f.status);
  if (f.appId) q.where('e.app_id', f.appId);
  if (f.outTradeNo) q.where('o.out_trade_no', f.outTradeNo);
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = await q
    .select('e.*', 'o.out_trade_no', 'a.name as app_name')
    .orderBy([{ column: 'e.created_at', order: 'desc' }, { column: 'e.id', order: 'desc' }])
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize);
  return { items, total: Number(n) };
}
