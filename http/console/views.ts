/** JSON shapes of the administrator API (camelCase, ISO times, never a secret). */
import type { Response } from 'express';
import type { AuditRow } from '../../db/queries/audit-log';
import type { BindingListItem } from '../../db/queries/app-channels';
import type { AppListItem } from '../../db/queries/apps';
import type { ChannelConfigView } from '../../db/queries/channel-configs';
import type { ChannelView } from '../../db/queries/channels';
import type { NotifyAttemptRow } from '../../db/queries/notification-attempts';
import type { OrderListItem } from '../../db/queries/orders';
import type { PaymentExceptionRow } from '../../db/queries/payment-exceptions';
import type { RefundListItem, RefundRow } from '../../db/queries/refunds';
import type { OrderDetail, RefundDetail } from '../../app/operator';
import type { DiscrepancyRow, ReconciliationRunRow } from '../../db/queries/reconciliation';
import type { DailyStats } from '../../db/queries/statistics';
import type { TransferRow } from '../../db/queries/transfers';
import type { WorkflowDescription } from '../../temporal/client';
import { shanghaiDay, shanghaiDayRange } from '../../domain/reconciliation';
import type { AdminPrincipal } from './auth';
import type { AdminSettings } from './settings';

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

export function workflowUrl(settings: AdminSettings, workflowId: string): string {
  return `${settings.temporalUiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function sessionView(p: AdminPrincipal, settings: AdminSettings) {
  return {
    username: p.username,
    csrfToken: p.csrfToken,
    expiresAt: iso(p.expiresAt),
    idleTimeoutSeconds: settings.sessionIdleSeconds,
    temporalUiUrl: settings.temporalUiUrl,
    keyRotationGraceSeconds: settings.keyRotationGraceSeconds,
    bindingAutoApproveSeconds: settings.bindingAutoApproveSeconds,
  };
}

export interface AppView {
  appId: string;
  name: string;
  status: string;
  contact: string | null;
  notifyUrl: string | null;
  returnUrl: string | null;
  signType: string;
  previousKeyValidUntil: string | null;
  keyRotatedAt: string | null;
  statusChangedAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  bindingsApproved: number;
  bindingsPending: number;
}

export function appView(a: AppListItem): AppView {
  const previous = a.previous_key_valid_until && a.previous_key_valid_until > new Date() ? iso(a.previous_key_valid_until) : null;
  return {
    appId: a.app_id,
    name: a.name,
    status: a.status,
    contact: a.contact,
    notifyUrl: a.notify_url,
    returnUrl: a.return_url,
    signType: a.sign_type,
    previousKeyValidUntil: previous,
    keyRotatedAt: iso(a.key_rotated_at),
    statusChangedAt: iso(a.status_changed_at),
    createdAt: iso(a.created_at),
    updatedAt: iso(a.updated_at),
    bindingsApproved: Number(a.bindings_approved ?? 0),
    bindingsPending: Number(a.bindings_pending ?? 0),
  };
}

export function channelView(c: ChannelView) {
  return { id: c.id, configId: c.config_id, channelType: c.channel_type, channelName: c.channel_name, sceneCode: c.scene_code, sceneName: c.scene_name, sort: c.sort, status: c.status };
}

export function channelConfigView(c: ChannelConfigView) {
  return {
    id: c.id,
    channelType: c.channel_type,
    name: c.name,
    mchId: c.mch_id,
    providerAppId: c.provider_app_id,
    gatewayUrl: c.gateway_url,
    status: c.status,
    createdAt: iso(c.created_at),
    updatedAt: iso(c.updated_at),
    // The names only, so an administrator knows what is stored; values never leave the database decrypted.
    secretFields: c.secretFields,
    channels: c.channels.map(channelView),
  };
}

export function bindingView(b: BindingListItem, settings: AdminSettings) {
  const workflowId = b.workflow_id;
  return {
    id: b.id,
    appId: b.app_id,
    appName: b.app_name,
    appStatus: b.app_status,
    channelId: b.channel_id,
    channelType: b.channel_type,
    channelName: b.channel_name,
    sceneCode: b.scene_code,
    sceneName: b.scene_name,
    configId: b.config_id,
    configName: b.config_name,
    mchId: b.mch_id,
    status: b.status,
    appliedAt: iso(b.applied_at ?? b.created_at),
    autoApproveAt: b.status === 'PENDING' ? iso(b.auto_approve_at) : null,
    decidedAt: iso(b.decided_at),
    decidedBy: b.decided_by,
    decisionNote: b.decision_note,
    workflowId,
    workflowUrl: workflowId ? workflowUrl(settings, workflowId) : null,
  };
}

export function orderListView(o: OrderListItem, settings: AdminSettings) {
  const workflowId = o.workflow_id;
  return {
    id: o.id,
    appId: o.app_id,
    appName: o.app_name,
    outTradeNo: o.out_trade_no,
    amount: o.amount,
    orderTitle: o.order_title,
    status: o.status,
    channelType: o.channel_type,
    notifyStatus: o.notify_status,
    payTime: iso(o.pay_time),
    createdAt: iso(o.created_at),
    workflowId,
    workflowUrl: workflowUrl(settings, workflowId),
  };
}

export function orderDetailView(detail: OrderDetail, settings: AdminSettings) {
  const { order: o, app, attempts, workflow, live } = detail;
  const workflowId = o.workflow_id;
  return {
    id: o.id,
    appId: o.app_id,
    appName: app?.name ?? null,
    outTradeNo: o.out_trade_no,
    amount: o.amount,
    orderTitle: o.order_title,
    goodsDesc: o.goods_desc,
    thirdPartyUser: o.third_party_user,
    status: o.status,
    channelId: o.channel_id,
    channelType: o.channel_type,
    mchId: o.mch_id,
    providerTradeNo: o.provider_trade_no,
    payTime: iso(o.pay_time),
    resultErrorCode: o.result_error_code,
    resultErrorMsg: o.result_error_msg,
    notifyUrl: o.notify_url,
    returnUrl: o.return_url,
    notifyStatus: o.notify_status,
    expireAt: iso(o.expire_at),
    createdAt: iso(o.created_at),
    updatedAt: iso(o.updated_at),
    attempts: attempts.map(attemptView),
    workflow: {
      id: workflowId,
      url: workflowUrl(settings, workflowId),
      status: workflow?.status ?? null,
      startTime: iso(workflow?.startTime),
      closeTime: iso(workflow?.closeTime),
      nextNotifyAt: live?.nextNotifyAt ? new Date(live.nextNotifyAt).toISOString() : null,
      notifyStatus: live?.notifyStatus ?? null,
    },
    canRenotify: !!o.notify_url && ['SUCCESS', 'FAIL', 'CLOSED', 'FINISH'].includes(o.status),
    refundedAmount: detail.refundedAmount,
    refundable: detail.refundable,
    refunds: detail.refunds.map((r) => refundView(r, settings)),
    exceptions: detail.exceptions.map(paymentExceptionView),
  };
}

function attemptView(a: NotifyAttemptRow) {
  return {
    attempt: a.attempt,
    trigger: a.trigger,
    scheduledAt: iso(a.scheduled_at),
    startedAt: iso(a.started_at),
    httpStatus: a.http_status,
    latencyMs: a.latency_ms,
    acknowledged: a.acknowledged,
    error: a.error,
  };
}

export function refundView(r: RefundRow, settings: AdminSettings) {
  return {
    id: r.id,
    appId: r.app_id,
    outRefundNo: r.out_refund_no,
    orderId: r.order_id,
    paymentExceptionId: r.payment_exception_id,
    source: r.source,
    createdBy: r.created_by,
    amount: r.amount,
    reason: r.reason,
    status: r.status,
    channelType: r.channel_type,
    providerOutTradeNo: r.provider_out_trade_no,
    providerRefundId: r.provider_refund_id,
    refundTime: iso(r.refund_time),
    resultErrorCode: r.result_error_code,
    resultErrorMsg: r.result_error_msg,
    notifyUrl: r.notify_url,
    notifyStatus: r.notify_status,
    createdAt: iso(r.created_at),
    workflowId: r.workflow_id,
    workflowUrl: workflowUrl(settings, r.workflow_id),
  };
}

export function refundListView(r: RefundListItem, settings: AdminSettings) {
  return {
    id: r.id,
    appId: r.app_id,
    appName: r.app_name,
    outRefundNo: r.out_refund_no,
    orderId: r.order_id,
    outTradeNo: r.out_trade_no,
    source: r.source,
    amount: r.amount,
    status: r.status,
    channelType: r.channel_type,
    refundTime: iso(r.refund_time),
    resultErrorCode: r.result_error_code,
    notifyStatus: r.notify_status,
    createdAt: iso(r.created_at),
    workflowId: r.workflow_id,
    workflowUrl: workflowUrl(settings, r.workflow_id),
  };
}

export function refundDetailView(d: RefundDetail, settings: AdminSettings) {
  return {
    ...refundView(d.refund, settings),
    outTradeNo: d.order.out_trade_no,
    attempts: d.attempts.map(attemptView),
    workflow: {
      id: d.refund.workflow_id,
      url: workflowUrl(settings, d.refund.workflow_id),
      status: d.workflow?.status ?? null,
      startTime: iso(d.workflow?.startTime),
      closeTime: iso(d.workflow?.closeTime),
      providerCalls: d.live?.providerCalls ?? null,
      nextNotifyAt: d.live?.nextNotifyAt ? new Date(d.live.nextNotifyAt).toISOString() : null,
    },
  };
}

export function paymentExceptionView(e: PaymentExceptionRow & { out_trade_no?: string; app_name?: string }) {
  return {
    id: e.id,
    kind: e.kind,
    status: e.status,
    orderId: e.order_id,
    outTradeNo: e.out_trade_no ?? null,
    appId: e.app_id,
    appName: e.app_name ?? null,
    channelId: e.channel_id,
    channelType: e.channel_type,
    providerOutTradeNo: e.provider_out_trade_no,
    providerTradeNo: e.provider_trade_no,
    amount: e.amount,
    orderStatus: e.order_status,
    detectedBy: e.detected_by,
    refundReserved: e.refund_reserved,
    createdAt: iso(e.created_at),
    // Amount mismatches wait for a person; an exception whose refund failed may be tried again.
    canRefund: e.status === 'OPEN' || e.status === 'REFUND_FAILED',
  };
}

export function reconciliationRunView(r: ReconciliationRunRow, settings: AdminSettings) {
  return {
    id: r.id,
    day: r.day,
    configId: r.config_id,
    channelType: r.channel_type,
    status: r.status,
    trigger: r.trigger,
    requestedBy: r.requested_by,
    attempt: r.attempt,
    provider: { paymentCount: r.provider_payment_count, paymentAmount: r.provider_payment_amount, refundCount: r.provider_refund_count, refundAmount: r.provider_refund_amount },
    local: { paymentCount: r.local_payment_count, paymentAmount: r.local_payment_amount, refundCount: r.local_refund_count, refundAmount: r.local_refund_amount },
    discrepancyCount: r.discrepancy_count,
    error: r.error,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    workflowId: r.workflow_id,
    workflowUrl: workflowUrl(settings, r.workflow_id),
  };
}

export function discrepancyView(d: DiscrepancyRow) {
  return {
    id: d.id,
    runId: d.run_id,
    day: d.day,
    configId: d.config_id,
    kind: d.kind,
    recordKind: d.record_kind,
    providerOutTradeNo: d.provider_out_trade_no,
    providerTradeNo: d.provider_trade_no,
    outRefundNo: d.out_refund_no,
    orderId: d.order_id,
    refundId: d.refund_id,
    providerAmount: d.provider_amount,
    localAmount: d.local_amount,
    localStatus: d.local_status,
    resolution: d.resolution,
    detail: d.detail,
    createdAt: iso(d.created_at),
  };
}

/** Inclusive Asia/Shanghai days from..to (default: the last 30 days up to today) as instants and a day list. */
export function statisticsRange(from: string | undefined, to: string | undefined): { start: Date; end: Date; days: string[] } {
  const last = to ?? shanghaiDay(Date.now());
  const first = from ?? shanghaiDay(shanghaiDayRange(last).start.getTime() - 29 * 24 * 3600_000);
  const days: string[] = [];
  for (let d = shanghaiDayRange(first).start.getTime(); d < shanghaiDayRange(last).end.getTime() && days.length < 400; d += 24 * 3600_000) days.push(shanghaiDay(d));
  return { start: shanghaiDayRange(first).start, end: shanghaiDayRange(last).end, days };
}

/** Every day of the range (zeros where nothing happened), with the rates the charts draw and the range's totals. */
export function statisticsView(days: string[], stats: DailyStats[]) {
  const byDay = new Map(stats.map((s) => [s.day, s]));
  const rows = days.map((day) => {
    const s = byDay.get(day) ?? { day, created: 0, paidCount: 0, paidAmount: 0, refundCount: 0, refundAmount: 0, notified: 0, firstAttemptAcked: 0, exhausted: 0, p95AckMs: null };
    return { ...s, successRate: s.created ? s.paidCount / s.created : null, firstAttemptAckRate: s.notified ? s.firstAttemptAcked / s.notified : null };
  });
  const sum = (k: 'created' | 'paidCount' | 'paidAmount' | 'refundCount' | 'refundAmount' | 'notified' | 'firstAttemptAcked' | 'exhausted') => rows.reduce((a, r) => a + r[k], 0);
  const totals = {
    created: sum('created'),
    paidCount: sum('paidCount'),
    paidAmount: sum('paidAmount'),
    refundCount: sum('refundCount'),
    refundAmount: sum('refundAmount'),
    exhausted: sum('exhausted'),
    successRate: sum('created') ? sum('paidCount') / sum('created') : null,
    firstAttemptAckRate: sum('notified') ? sum('firstAttemptAcked') / sum('notified') : null,
  };
  return { days: rows, totals };
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  // A cell a spreadsheet would run as a formula is quoted as text.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes the header, then pages of rows as CSV, waiting for the socket to drain. */
export async function streamCsv(res: Response, columns: readonly string[], pages: AsyncIterable<Record<string, unknown>[]>): Promise<void> {
  res.write(columns.join(',') + '\r\n');
  for await (const page of pages) {
    const chunk = page.map((row) => columns.map((k) => csvCell(row[k])).join(',')).join('\r\n') + '\r\n';
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    if (res.destroyed) return;
  }
  res.end();
}

export function transferView(t: TransferRow, settings: AdminSettings) {
  return {
    id: t.id,
    appId: t.app_id,
    outBizNo: t.out_biz_no,
    channelType: t.channel_type,
    amount: t.amount,
    payeeType: t.payee_type,
    payeeAccount: t.payee_account,
    payeeName: t.payee_name,
    remark: t.remark,
    notifyUrl: t.notify_url,
    day: t.day,
    needsApproval: t.needs_approval,
    status: t.status,
    decidedBy: t.decided_by,
    decidedAt: iso(t.decided_at),
    decisionNote: t.decision_note,
    providerTransferId: t.provider_transfer_id,
    transferTime: iso(t.transfer_time),
    resultErrorCode: t.result_error_code,
    resultErrorMsg: t.result_error_msg,
    notifyStatus: t.notify_status,
    createdAt: iso(t.created_at),
    workflowId: t.workflow_id,
    workflowUrl: workflowUrl(settings, t.workflow_id),
    canDecide: t.status === 'PENDING_APPROVAL',
  };
}

export function transferDetailView(d: { transfer: TransferRow; attempts: NotifyAttemptRow[]; workflow: WorkflowDescription | null; dailyReserved: number }, settings: AdminSettings) {
  return {
    ...transferView(d.transfer, settings),
    dailyReserved: d.dailyReserved,
    attempts: d.attempts.map(attemptView),
    workflow: { id: d.transfer.workflow_id, url: workflowUrl(settings, d.transfer.workflow_id), status: d.workflow?.status ?? null, startTime: iso(d.workflow?.startTime), closeTime: iso(d.workflow?.closeTime) },
  };
}

export function auditView(a: AuditRow) {
  return { id: a.id, at: iso(a.at), actor: a.actor, action: a.action, targetType: a.target_type, targetId: a.target_id, ip: a.ip, outcome: a.outcome, detail: a.detail };
}
