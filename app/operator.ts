/**
 * Administrator use-cases behind the console: the app registry (approve, disable, edit, rotate keys), channel
 * configs and channels, binding decisions, orders and renotify, the audit log. Every change is written to
 * the audit log with who did it and from where; no secret ever enters the log or a return value, except a
 * newly rotated app key, returned once.
 */
import type { Db } from '../db/connection';
import { listBindings, type BindingListItem } from '../db/queries/app-channels';
import * as apps from '../db/queries/apps';
import * as audit from '../db/queries/audit-log';
import * as configs from '../db/queries/channel-configs';
import * as channels from '../db/queries/channels';
import { listNotifyAttempts, nextNotifyAttemptNumber, type NotifyAttemptRow } from '../db/queries/notification-attempts';
import * as orders from '../db/queries/orders';
import { countOverview } from '../db/queries/overview';
import { listPaymentExceptionsOfOrder, searchPaymentExceptions, type PaymentExceptionRow, type PaymentExceptionSearch } from '../db/queries/payment-exceptions';
import * as statistics from '../db/queries/statistics';
import { dailyReserved, findTransferById, searchTransfers } from '../db/queries/transfers';
import type { TransferSettings } from '../domain/transfer';
import { findRefundById, listRefundsOfOrder, refundedAmountOfOrder, searchRefunds, type RefundRow, type RefundSearch } from '../db/queries/refunds';
import { SCENE_NAMES, type SceneCode } from '../domain/channel';
import { DomainError, ErrorCode } from '../domain/errors';
import { isFinal } from '../domain/order';
import type { SecretBox } from '../security/secret-box';
import type { TemporalGateway, WorkflowDescription } from '../temporal/client';
import type { PaymentState, RefundState } from '../workflows/messages';
import type { BindingService } from './bindings';
import type { ReconciliationService } from './reconciliation';
import type { RefundService } from './refunds';
import type { TransferService } from './transfers';

export interface OperatorDeps {
  db: Db;
  secretBox: SecretBox;
  temporal: TemporalGateway;
  bindings: BindingService;
  refunds: RefundService;
  reconciliation: ReconciliationService;
  transfers: TransferService;
  keyRotationGraceSeconds: number;
}

/** Who acts: the administrator's username and the client IP, for the audit log. */
export interface Actor {
  username: string;
  ip: string;
}

export interface AppPatch {
  name?: string;
  notifyUrl?: string | null;
  returnUrl?: string | null;
  contact?: string | null;
}

/** The console's fields of an app patch and the row columns they change (for the audit's from/to). */
const APP_PATCH_COLUMNS = { name: 'name', notifyUrl: 'notify_url', returnUrl: 'return_url', contact: 'contact' } as const;

const APP_TRANSITIONS = {
  approve: { action: 'app.approve', from: ['PENDING', 'DISABLED'], to: 'APPROVED' },
  disable: { action: 'app.disable', from: ['PENDING', 'APPROVED'], to: 'DISABLED' },
} as const;

export interface OrderDetail {
  order: orders.OrderRow;
  app: apps.AppListItem | null;
  attempts: NotifyAttemptRow[];
  workflow: WorkflowDescription | null;
  /** Asked only while the workflow still knows more than the row: the order is open or still notifying. */
  live: PaymentState | null;
  refunds: RefundRow[];
  /** Fen refunded successfully from the order's own payment. */
  refundedAmount: number;
  /** Fen still refundable (paid, minus SUCCESS and PROCESSING refunds); 0 unless the order is SUCCESS. */
  refundable: number;
  exceptions: PaymentExceptionRow[];
}

export interface RefundDetail {
  refund: RefundRow;
  order: orders.OrderRow;
  attempts: NotifyAttemptRow[];
  workflow: WorkflowDescription | null;
  /** The workflow's live view while the refund is processing or still notifying. */
  live: RefundState | null;
}

export function createOperatorService(deps: OperatorDeps) {
  const { db, secretBox, temporal } = deps;
  const record = (actor: Actor, e: Omit<audit.AuditEntry, 'actor' | 'ip'>) => audit.insertAudit(db, { ...e, actor: actor.username, ip: actor.ip });

  async function mustGetApp(appId: string): Promise<apps.AppListItem> {
    const app = await apps.getApp(db, appId);
    if (!app) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
    return app;
  }

  async function mustFindOrder(id: number): Promise<orders.OrderRow> {
    const order = await orders.findOrderById(db, id);
    if (!order) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
    return order;
  }

  async function mustGetChannelConfig(id: number): Promise<configs.ChannelConfigView> {
    const config = await configs.getChannelConfig(db, secretBox, id);
    if (!config) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
    return config;
  }

  async function mustFindChannel(id: number): Promise<channels.ChannelView> {
    const channel = await channels.findChannel(db, id);
    if (!channel) throw new DomainError(ErrorCode.NOT_FOUND, '渠道不存在');
    return channel;
  }

  return {
    overview: () => countOverview(db),
    listApps: (f: Parameters<typeof apps.listApps>[1]) => apps.listApps(db, f),
    listBindings: (f: Parameters<typeof listBindings>[1]) => listBindings(db, f),
    searchOrders: (f: orders.OrderSearch) => orders.searchOrders(db, f),
    listAudit: (f: Parameters<typeof audit.listAudit>[1]) => audit.listAudit(db, f),
    listChannelConfigs: () => configs.listChannelConfigs(db, secretBox),
    getChannelConfig: mustGetChannelConfig,

    async appDetail(appId: string): Promise<{ app: apps.AppListItem; bindings: BindingListItem[] }> {
      const app = await mustGetApp(appId);
      const { items } = await listBindings(db, { appId: app.app_id, page: 1, pageSize: 100 });
      return { app, bindings: items };
    },

    async changeAppStatus(actor: Actor, appId: string, change: keyof typeof APP_TRANSITIONS): Promise<apps.AppListItem> {
      const t = APP_TRANSITIONS[change];
      const before = await mustGetApp(appId);
      if (!(await apps.setAppStatus(db, appId, [...t.from], t.to))) throw new DomainError(ErrorCode.CONFLICT, `应用当前状态为 ${before.status}，不能执行该操作`);
      await record(actor, { action: t.action, targetType: 'app', targetId: appId, detail: { from: before.status, to: t.to } });
      return mustGetApp(appId);
    },

    async updateApp(actor: Actor, appId: string, patch: AppPatch): Promise<apps.AppListItem> {
      const before = await mustGetApp(appId);
      await apps.updateApp(db, appId, patch);
      const detail = Object.fromEntries(
        (Object.keys(patch) as Array<keyof AppPatch>).map((k) => [k, { from: before[APP_PATCH_COLUMNS[k]] ?? null, to: patch[k] ?? null }]),
      );
      await record(actor, { action: 'app.update', targetType: 'app', targetId: appId, detail });
      return mustGetApp(appId);
    },

    /** A new key, returned once; the previous one stays valid for the grace period. */
    async rotateAppKey(actor: Actor, appId: string, graceSeconds = deps.keyRotationGraceSeconds) {
      const rotated = await apps.rotateAppKey(db, secretBox, appId, new Date(Date.now() + graceSeconds * 1000));
      if (!rotated) throw new DomainError(ErrorCode.NOT_FOUND, '应用不存在');
      await record(actor, { action: 'app.rotate_key', targetType: 'app', targetId: appId, detail: { graceSeconds, previousKeyValidUntil: rotated.previousKeyValidUntil.toISOString() } });
      return { ...rotated, graceSeconds };
    },

    async createChannelConfig(actor: Actor, input: configs.ChannelConfigInput): Promise<configs.ChannelConfigView> {
      const id = await configs.createChannelConfig(db, secretBox, input);
      await record(actor, {
        action: 'channel_config.create',
        targetType: 'channel_config',
        targetId: id,
        detail: { channelType: input.channelType, name: input.name, mchId: input.mchId, providerAppId: input.providerAppId, gatewayUrl: input.gatewayUrl, secretFields: Object.keys(input.secrets).sort() },
      });
      return mustGetChannelConfig(id);
    },

    async updateChannelConfig(actor: Actor, id: number, patch: Partial<configs.ChannelConfigInput> & { status?: 'ACTIVE' | 'DISABLED' }): Promise<configs.ChannelConfigView> {
      if (!(await configs.channelConfigExists(db, id))) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
      const { status, ...fields } = patch;
      await configs.updateChannelConfig(db, secretBox, id, fields);
      if (status) await configs.setChannelConfigStatus(db, id, status);
      const { secrets, ...plain } = patch;
      await record(actor, {
        action: 'channel_config.update',
        targetType: 'channel_config',
        targetId: id,
        detail: { ...plain, ...(secrets ? { secretsReplaced: true, secretFields: Object.keys(secrets).sort() } : {}) },
      });
      return mustGetChannelConfig(id);
    },

    async createChannel(actor: Actor, configId: number, input: { channelName: string; sceneCode: SceneCode; sort?: number }): Promise<channels.ChannelView> {
      const config = await configs.channelConfigExists(db, configId);
      if (!config) throw new DomainError(ErrorCode.NOT_FOUND, '渠道配置不存在');
      const exists = await channels.findChannelByScene(db, configId, input.sceneCode);
      if (exists) throw new DomainError(ErrorCode.CONFLICT, `该配置已有 ${SCENE_NAMES[input.sceneCode]} 渠道 (id ${exists.id})`);
      const channelId = await channels.createChannel(db, { configId, channelType: config.channel_type, ...input });
      await record(actor, { action: 'channel.create', targetType: 'channel', targetId: channelId, detail: { configId, ...input } });
      return mustFindChannel(channelId);
    },

    async updateChannel(actor: Actor, id: number, patch: { channelName?: string; sort?: number; status?: 'ACTIVE' | 'DISABLED' }): Promise<channels.ChannelView> {
      await mustFindChannel(id);
      await channels.updateChannel(db, id, patch);
      await record(actor, { action: 'channel.update', targetType: 'channel', targetId: id, detail: patch });
      return mustFindChannel(id);
    },

    /** `note`: the administrator's note, null when none was given (an empty one is recorded as given). */
    async decideBinding(actor: Actor, bindingId: number, decision: 'APPROVED' | 'REJECTED', note: string | null) {
      const { row, status } = await deps.bindings.decide(bindingId, decision, actor.username, note || null);
      await record(actor, {
        action: decision === 'APPROVED' ? 'binding.approve' : 'binding.reject',
        targetType: 'binding',
        targetId: `${row.app_id}:${row.channel_id}`,
        detail: { bindingId, appId: row.app_id, channelId: row.channel_id, note, recordedStatus: status },
      });
      return { row, status };
    },

    async orderDetail(id: number): Promise<OrderDetail> {
      const order = await mustFindOrder(id);
      const [attempts, app, workflow] = await Promise.all([listNotifyAttempts(db, { orderId: order.id }), apps.getApp(db, order.app_id), temporal.describe(order.workflow_id)]);
      const workflowKnowsMore = !isFinal(order.status) || order.notify_status === 'PENDING';
      const live = workflow?.status === 'RUNNING' && workflowKnowsMore ? await temporal.paymentState(order.workflow_id, 3000) : null;
      const [refunds, refundedAmount, exceptions] = await Promise.all([listRefundsOfOrder(db, order.id), refundedAmountOfOrder(db, order.id), listPaymentExceptionsOfOrder(db, order.id)]);
      const refundable = order.status === 'SUCCESS' ? order.amount - order.refund_reserved : 0;
      return { order, app, attempts, workflow, live, refunds, refundedAmount, refundable, exceptions };
    },

    /** An administrator's refund of an order (same invariant as the merchant's; audited by the refund service). */
    refundOrder: (actor: Actor, orderId: number, a: { amount: number; reason: string; requestId?: string }) => deps.refunds.adminRefund(actor, orderId, a),

    /** Refunds a payment exception's money in full (e.g. an amount mismatch after review; audited). */
    refundPaymentException: (actor: Actor, exceptionId: number) => deps.refunds.refundPaymentException(exceptionId, actor),

    listRefunds: (f: RefundSearch) => searchRefunds(db, f),

    reconciliationRuns: (f: Parameters<ReconciliationService['listRuns']>[0]) => deps.reconciliation.listRuns(f),
    discrepancies: (f: Parameters<ReconciliationService['listDiscrepancies']>[0]) => deps.reconciliation.listDiscrepancies(f),
    /** Reconciles a past day of one channel config now (audited by the reconciliation service). */
    runReconciliation: (actor: Actor, day: string, configId: number) => deps.reconciliation.startRun(actor, day, configId),

    statistics: (f: statistics.StatsFilter) => statistics.dailyStats(db, f),

    listTransfers: (f: Parameters<typeof searchTransfers>[1]) => searchTransfers(db, f),
    async transferDetail(id: number) {
      const transfer = await findTransferById(db, id);
      if (!transfer) throw new DomainError(ErrorCode.NOT_FOUND, '转账不存在');
      const [attempts, workflow] = await Promise.all([listNotifyAttempts(db, { orderId: null, transferId: id }), temporal.describe(transfer.workflow_id)]);
      return { transfer, attempts, workflow, dailyReserved: await dailyReserved(db, transfer.app_id, transfer.day) };
    },
    /** Approve or reject a transfer above its app's approval threshold (audited by the transfer service). */
    decideTransfer: (actor: Actor, id: number, approve: boolean, note: string | null) => deps.transfers.decide(actor, id, approve, note),
    transferSettings: async (appId: string) => (await mustGetApp(appId), deps.transfers.getSettings(appId)),
    saveTransferSettings: async (actor: Actor, appId: string, s: TransferSettings) => (await mustGetApp(appId), deps.transfers.saveSettings(actor, appId, s)),

    /**
     * A CSV export of orders or refunds created in a date range: its row count first (the console's progress
     * bar), then pages of rows. Audited, since it hands out merchant data in bulk.
     */
    async exportRows(actor: Actor, what: 'orders' | 'refunds', f: statistics.ExportFilter) {
      const total = what === 'orders' ? await statistics.countOrdersForExport(db, f) : await statistics.countRefundsForExport(db, f);
      await record(actor, { action: `export.${what}`, targetType: 'export', targetId: what, detail: { from: f.from.toISOString(), to: f.to.toISOString(), appId: f.appId ?? null, rows: total } });
      return what === 'orders'
        ? { total, columns: statistics.ORDER_EXPORT_COLUMNS, pages: statistics.exportOrders(db, f) }
        : { total, columns: statistics.REFUND_EXPORT_COLUMNS, pages: statistics.exportRefunds(db, f) };
    },
    listPaymentExceptions: (f: PaymentExceptionSearch) => searchPaymentExceptions(db, f),

    async refundDetail(id: number): Promise<RefundDetail> {
      const refund = await findRefundById(db, id);
      if (!refund) throw new DomainError(ErrorCode.NOT_FOUND, '退款不存在');
      const order = await mustFindOrder(refund.order_id);
      const [attempts, workflow] = await Promise.all([listNotifyAttempts(db, { orderId: order.id, refundId: refund.id }), temporal.describe(refund.workflow_id)]);
      const knowsMore = refund.status === 'PROCESSING' || refund.notify_status === 'PENDING';
      const live = workflow?.status === 'RUNNING' && knowsMore ? await temporal.refundState(refund.workflow_id, 3000) : null;
      return { refund, order, attempts, workflow, live };
    },

    /** One extra notification attempt now: refused while there is no result or nowhere to send it. */
    async renotify(actor: Actor, id: number): Promise<{ id: number; workflowId: string; signalled: boolean }> {
      const order = await mustFindOrder(id);
      if (!isFinal(order.status)) throw new DomainError(ErrorCode.CONFLICT, '订单尚无支付结果，无需通知');
      if (!order.notify_url) throw new DomainError(ErrorCode.CONFLICT, '订单没有通知地址');
      const { workflowId, signalled } = await temporal.renotify({ orderId: order.id, appId: order.app_id, outTradeNo: order.out_trade_no }, () => nextNotifyAttemptNumber(db, { orderId: order.id }));
      await record(actor, { action: 'order.renotify', targetType: 'order', targetId: order.id, detail: { appId: order.app_id, outTradeNo: order.out_trade_no, workflowId } });
      return { id: order.id, workflowId, signalled };
    },
  };
}

export type OperatorService = ReturnType<typeof createOperatorService>;
