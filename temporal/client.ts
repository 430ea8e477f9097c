/** Client-side start of PaymentWorkflow, shared by the API and the worker's reconciler. */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/connection';
import * as orders from '../db/queries/orders';
import { fenToYuanString } from '../domain/money';
import { SA, renotifySignal, type PaymentWorkflowInput } from '../workflows/messages';
import type { paymentWorkflow } from '../workflows/payment';
import type { renotifyWorkflow } from '../workflows/renotify';

/**
 * Starts (or finds) the order's workflow. Idempotent: USE_EXISTING for a running one, and a closed one
 * counts as started. Called after the row exists, so a crash in between is healed by a retry or by the
 * reconciler — never two workflows, never a workflow without a row.
 */
export async function ensurePaymentWorkflow(
  deps: { db: Db; temporal: Client; taskQueue: string; pollIntervalMs: number },
  row: orders.OrderRow,
): Promise<void> {
  if (row.workflow_started_at) return;
  const input: PaymentWorkflowInput = {
    orderId: row.id,
    appId: row.app_id,
    outTradeNo: row.out_trade_no,
    amount: row.amount,
    orderTitle: row.order_title,
    notifyUrl: row.notify_url,
    expireAt: row.expire_at.getTime(),
    pollIntervalMs: deps.pollIntervalMs,
  };
  try {
    await deps.temporal.workflow.start<typeof paymentWorkflow>('paymentWorkflow', {
      workflowId: row.workflow_id,
      taskQueue: deps.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: SA.OutTradeNo, value: row.out_trade_no },
        { key: SA.AppId, value: row.app_id },
        { key: SA.PaymentStatus, value: 'CREATED' },
        { key: SA.NotifyAttempts, value: 0 },
      ],
      staticSummary: `订单 ${row.out_trade_no} · ¥${fenToYuanString(row.amount)} · 应用 ${row.app_id}`,
      staticDetails: `**${row.order_title}**\n\n- orderId: ${row.id}\n- outTradeNo: ${row.out_trade_no}\n- amount: ${row.amount} fen\n- expires: ${row.expire_at.toISOString()}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  await orders.markWorkflowStarted(deps.db, row.id);
}

/** Starts the workflows of orders whose start was lost (process crash between insert and start). */
export async function reconcileUnstartedOrders(deps: { db: Db; temporal: Client; taskQueue: string; pollIntervalMs: number }, olderThanMs = 30_000): Promise<number> {
  const rows = await orders.findOrdersWithoutWorkflow(deps.db, new Date(Date.now() - olderThanMs));
  for (const row of rows) await ensurePaymentWorkflow(deps, row);
  return rows.length;
}

/**
 * Ops renotify: a signal while the PaymentWorkflow runs (an extra attempt, schedule unchanged); once it has
 * ended, a one-shot renotifyWorkflow. Its id carries the number of attempts so far, so a double click
 * starts one attempt, not two.
 */
export async function renotifyOrder(
  deps: { db: Db; temporal: Client; taskQueue: string },
  order: Pick<orders.OrderRow, 'id' | 'app_id' | 'out_trade_no' | 'workflow_id'>,
): Promise<{ workflowId: string; mode: 'signal' | 'renotify-workflow' }> {
  try {
    await deps.temporal.workflow.getHandle(order.workflow_id).signal(renotifySignal);
    return { workflowId: order.workflow_id, mode: 'signal' };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const done = await deps.db('notification_attempts').where({ order_id: order.id }).count({ n: '*' }).first();
  const workflowId = `renotify:${order.app_id}:${order.out_trade_no}:${Number(done?.n ?? 0) + 1}`;
  await deps.temporal.workflow.start<typeof renotifyWorkflow>('renotifyWorkflow', {
    workflowId,
    taskQueue: deps.taskQueue,
    args: [{ orderId: order.id }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: SA.OutTradeNo, value: order.out_trade_no },
      { key: SA.AppId, value: order.app_id },
    ],
    staticSummary: `重新通知 ${order.out_trade_no} · 应用 ${order.app_id}`,
  });
  return { workflowId, mode: 'renotify-workflow' };
}
