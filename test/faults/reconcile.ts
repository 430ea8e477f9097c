/**
 * The check every fault scenario ends with: whatever was done to the processes, the system's four views of the
 * money agree once it has settled.
 *
 * - Temporal vs PostgreSQL: every accepted order (a row) has exactly one payment workflow execution, under its own
 *   id, and there is no payment workflow without an order.
 * - Merchant: every paid order's merchant acknowledged at least one verified (signed) notification, or the order is
 *   NOTIFY_EXHAUSTED (or STOPPED, where the scenario stops it) by design.
 * - Providers: no order reports FAIL/CLOSED while a trade of it is paid at a sandbox; every SUCCESS order's trade is.
 * - Exactly once where once is due: no delivery of an event after the merchant acknowledged it; no refund applied at
 *   a sandbox twice, none without a refund row, and every SUCCESS refund exactly once.
 *
 * Views converge asynchronously (notifications, provider polling, visibility), so the check polls until every
 * condition holds and fails with the list of violations left at its deadline.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/connection';
import { exceptionsForConsistency, ordersForConsistency, refundsForConsistency, type OrderConsistencyRow } from '../../db/queries/consistency';
import { providerOutTradeNo } from '../../domain/order';
import { providerOutRefundNo } from '../../domain/refund';
import type { ChannelRef } from '../../domain/payment';
import type { AlipaySandboxHandle } from '../../sandbox/alipay';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';
import type { MerchantDelivery } from './support/merchant';
import { PAYMENT_WORKFLOWS_QUERY } from '../../temporal/workflow-types';

export interface ReconcileTarget {
  db: Db;
  /** Absent under the time-skipping test server, which has no visibility store to list workflows from. */
  client?: Client;
  alipay: AlipaySandboxHandle;
  wechat: WechatSandboxHandle;
  app: { appId: string; channels: ChannelRef[] };
  /** The merchant's verified deliveries. */
  deliveries: readonly MerchantDelivery[];
}

export interface ReconcileOptions {
  timeoutMs?: number;
  /**
   * Events that may legitimately arrive again after an acknowledgement: a process killed after the merchant answered
   * but before the attempt was recorded (at-least-once).
   */
  redeliveryAllowed?: (eventId: string) => boolean;
  /** Orders stopped on purpose (stopNotify) count as settled. */
  allowStopped?: boolean;
}

export interface ReconcileReport {
  orders: number;
  paid: number;
  failedOrClosed: number;
  open: number;
  workflows: number;
  deliveries: number;
  refunds: number;
  exceptions: number;
}

const PAID = new Set(['SUCCESS', 'FINISH']);

async function paymentWorkflowRuns(client: Client, appId: string): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  for await (const w of client.workflow.list({ query: `${PAYMENT_WORKFLOWS_QUERY} AND AppId="${appId}"` })) {
    runs.set(w.workflowId, (runs.get(w.workflowId) ?? 0) + 1);
  }
  return runs;
}

/** Paid trades of one order at the sandboxes, by channel (a trade exists only where the buyer chose that channel). */
async function paidTradesOf(target: ReconcileTarget, order: OrderConsistencyRow): Promise<string[]> {
  const paid: string[] = [];
  for (const ch of target.app.channels) {
    const no = providerOutTradeNo(order.id, ch.channelId);
    if (ch.channelType === 'ali-pay') {
      const t = target.alipay.trade(no, ch.mchId);
      if (t && (t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED')) paid.push(`${ch.channelType}:${no}`);
    } else {
      const t = await target.wechat.getTrade(no, ch.mchId);
      if (t?.trade_state === 'SUCCESS') paid.push(`${ch.channelType}:${no}`);
    }
  }
  return paid;
}

async function sandboxRefunds(target: ReconcileTarget, channelType: string, providerTradeNo: string, mchId: string): Promise<string[]> {
  if (channelType === 'ali-pay') return target.alipay.refunds(providerTradeNo, mchId).map((r) => r.outRequestNo);
  return (await target.wechat.refunds(providerTradeNo, { mchid: mchId })).map((r) => r.out_refund_no);
}

/** One pass: the violations found now and what was counted. */
export async function findViolations(target: ReconcileTarget, opts: ReconcileOptions = {}): Promise<{ violations: string[]; report: ReconcileReport }> {
  const v: string[] = [];
  const orders = await ordersForConsistency(target.db, target.app.appId);
  const refunds = await refundsForConsistency(target.db, target.app.appId);
  const exceptions = await exceptionsForConsistency(target.db, target.app.appId);
  const runs = target.client ? await paymentWorkflowRuns(target.client, target.app.appId) : new Map<string, number>();

  // One workflow per order, and none without one.
  if (target.client) {
    const rowIds = new Set(orders.map((o) => o.workflowId));
    for (const o of orders) {
      const n = runs.get(o.workflowId) ?? 0;
      if (n !== 1) v.push(`order ${o.outTradeNo}: ${n} payment workflow executions (want 1)`);
    }
    for (const [id, n] of runs) if (!rowIds.has(id)) v.push(`workflow ${id} (${n} runs) has no order row`);
  }

  // Deliveries per event: nothing after the first acknowledgement.
  const byEvent = new Map<string, MerchantDelivery[]>();
  for (const d of target.deliveries) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d]);
  for (const [eventId, ds] of byEvent) {
    const firstAck = ds.findIndex((d) => d.acknowledged);
    if (firstAck >= 0 && firstAck < ds.length - 1 && !opts.redeliveryAllowed?.(eventId)) {
      v.push(`event ${eventId}: ${ds.length - firstAck - 1} deliveries after the merchant acknowledged it (attempts ${ds.map((d) => d.attempt).join(',')})`);
    }
  }
  const acked = new Set(target.deliveries.filter((d) => d.acknowledged && d.eventType === 'PAYMENT_RESULT').map((d) => d.outTradeNo));

  let paid = 0;
  let failedOrClosed = 0;
  let open = 0;
  for (const o of orders) {
    if (PAID.has(o.status)) {
      paid++;
      const settled = acked.has(o.outTradeNo) || o.notifyStatus === 'NOTIFY_EXHAUSTED' || (opts.allowStopped && o.notifyStatus === 'STOPPED');
      if (!settled) v.push(`order ${o.outTradeNo} is ${o.status} but its merchant acknowledged no signed notification (notify ${o.notifyStatus})`);
      const trades = await paidTradesOf(target, o);
      const own = o.channelId === null ? null : `${o.channelType}:${providerOutTradeNo(o.id, o.channelId)}`;
      const refundedAll = refunds.filter((r) => r.orderId === o.id && r.status === 'SUCCESS').reduce((s, r) => s + r.amount, 0) >= o.amount;
      if (own && !trades.includes(own) && !refundedAll) v.push(`order ${o.outTradeNo} is ${o.status} but its trade ${own} is not paid at the sandbox`);
    } else if (o.status === 'FAIL' || o.status === 'CLOSED') {
      failedOrClosed++;
      // A trade paid after the order closed is a payment exception, refunded in full: paid only until that refund lands.
      for (const trade of await paidTradesOf(target, o)) v.push(`order ${o.outTradeNo} is ${o.status} while its trade ${trade} is paid`);
    } else {
      open++;
    }
  }

  // Refunds: at most once at the provider, exactly once when SUCCESS, none unknown to us.
  const known = new Map<string, Set<string>>();
  for (const r of refunds) {
    const key = `${r.channelType}:${r.providerOutTradeNo}`;
    if (!known.has(key)) known.set(key, new Set());
    known.get(key)!.add(providerOutRefundNo(r.id));
  }
  const checkedTrades = new Set<string>();
  for (const r of refunds) {
    const key = `${r.channelType}:${r.providerOutTradeNo}`;
    const applied = await sandboxRefunds(target, r.channelType, r.providerOutTradeNo, r.mchId);
    const mine = applied.filter((no) => no === providerOutRefundNo(r.id)).length;
    if (mine > 1 || (r.status === 'SUCCESS' && mine !== 1)) v.push(`refund ${r.outRefundNo} (${r.status}): applied ${mine} times at the sandbox`);
    if (!checkedTrades.has(key)) {
      checkedTrades.add(key);
      for (const no of applied) if (!known.get(key)!.has(no)) v.push(`trade ${key}: sandbox refund ${no} has no refund row`);
    }
  }
  // Orders without refund rows must have no refunds at the sandbox either.
  for (const o of orders) {
    if (o.channelId === null || o.channelType === null) continue;
    const no = providerOutTradeNo(o.id, o.channelId);
    if (checkedTrades.has(`${o.channelType}:${no}`)) continue;
    const ch = target.app.channels.find((c) => c.channelId === o.channelId);
    if (!ch) continue;
    const applied = await sandboxRefunds(target, o.channelType, no, ch.mchId);
    if (applied.length) v.push(`order ${o.outTradeNo}: ${applied.length} refunds at the sandbox without a refund row`);
  }

  return {
    violations: v,
    report: { orders: orders.length, paid, failedOrClosed, open, workflows: runs.size, deliveries: target.deliveries.length, refunds: refunds.length, exceptions: exceptions.length },
  };
}

/** Polls findViolations until none is left; throws with the last violations at the deadline. */
export async function reconcile(target: ReconcileTarget, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let last: string[] = [];
  for (;;) {
    try {
      const { violations, report } = await findViolations(target, opts);
      if (violations.length === 0) return report;
      last = violations;
    } catch (err) {
      last = [`check failed: ${(err as Error).message}`];
    }
    if (Date.now() > deadline) {
      throw new Error(`reconciliation found ${last.length} violation(s):\n  ${last.slice(0, 40).join('\n  ')}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
