/**
 * An app's orders, refunds and payment exceptions with what a consistency check compares against Temporal, the
 * providers and the merchant: workflow ids, results, notify status and the provider request numbers. Read-only.
 */
import type { Db } from '../connection';

export interface OrderConsistencyRow {
  id: number;
  outTradeNo: string;
  workflowId: string;
  status: string;
  notifyStatus: string;
  channelId: number | null;
  channelType: string | null;
  amount: number;
}

export interface RefundConsistencyRow {
  id: number;
  orderId: number;
  outRefundNo: string;
  status: string;
  amount: number;
  channelType: string;
  mchId: string;
  providerOutTradeNo: string;
  workflowId: string;
}

export interface ExceptionConsistencyRow {
  id: number;
  orderId: number;
  kind: string;
  status: string;
  providerOutTradeNo: string;
}

export async function ordersForConsistency(db: Db, appId: string): Promise<OrderConsistencyRow[]> {
  const rows = await db('orders')
    .where({ app_id: appId })
    .orderBy('id')
    .select('id', 'out_trade_no', 'workflow_id', 'status', 'notify_status', 'channel_id', 'channel_type', 'amount');
  return rows.map((r) => ({
    id: Number(r.id),
    outTradeNo: r.out_trade_no,
    workflowId: r.workflow_id,
    status: r.status,
    notifyStatus: r.notify_status,
    channelId: r.channel_id,
    channelType: r.channel_type,
    amount: Number(r.amount),
  }));
}

export async function refundsForConsistency(db: Db, appId: string): Promise<RefundConsistencyRow[]> {
  const rows = await db('refunds')
    .where({ app_id: appId })
    .orderBy('id')
    .select('id', 'order_id', 'out_refund_no', 'status', 'amount', 'channel_type', 'mch_id', 'provider_out_trade_no', 'workflow_id');
  return rows.map((r) => ({
    id: Number(r.id),
    orderId: Number(r.order_id),
    outRefundNo: r.out_refund_no,
    status: r.status,
    amount: Number(r.amount),
    channelType: r.channel_type,
    mchId: r.mch_id,
    providerOutTradeNo: r.provider_out_trade_no,
    workflowId: r.workflow_id,
  }));
}

export async function exceptionsForConsistency(db: Db, appId: string): Promise<ExceptionConsistencyRow[]> {
  const rows = await db('payment_exceptions').where({ app_id: appId }).orderBy('id').select('id', 'order_id', 'kind', 'status', 'provider_out_trade_no');
  return rows.map((r) => ({ id: Number(r.id), orderId: Number(r.order_id), kind: r.kind, status: r.status, providerOutTradeNo: r.provider_out_trade_no }));
}
