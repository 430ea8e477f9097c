/**
 * Order use-cases behind the merchant API and the cashier pages: creating an order together with its
 * workflow, choosing the channels offered, paying with one, and reading results. HTTP handlers parse, call
 * these and answer; the tests call them without HTTP.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/connection';
import { listApprovedAppChannels, type AppChannel } from '../db/queries/app-channels';
import type { AppWithKeys } from '../db/queries/apps';
import { gatewaysOf, loadCredentials, type GatewayInfo } from '../db/queries/channel-configs';
import { channelById } from '../db/queries/channels';
import * as orders from '../db/queries/orders';
import { refundedAmountOfOrder } from '../db/queries/refunds';
import { DomainError, ErrorCode } from '../domain/errors';
import { formatShanghai, isFinal, merchantResult, parseProviderOutTradeNo } from '../domain/order';
import { cashierPagePath, payWithChannelPath } from '../domain/urls';
import type { Logger } from '../observability/logger';
import type { ProviderRegistry } from '../providers/registry';
import type { PrepayResult, SceneCode } from '../providers/types';
import type { SecretBox } from '../security/secret-box';
import type { Metrics } from '../observability/metrics';
import type { TemporalGateway } from '../temporal/client';
import { WorkflowIds } from '../temporal/workflow-ids';
import { createOrderReader, storedOrderView, type OrderView } from './order-reader';
import { ttlCache } from './ttl-cache';

export interface OrderServiceDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  temporal: TemporalGateway;
  log: Logger;
  config: { publicBaseUrl: string; orderDefaultExpireSeconds: number; providerPollIntervalSeconds: number };
  metrics?: Metrics;
}

/** A unified-order request after validation (the HTTP schema produces it). */
export interface UnifiedOrderInput {
  amount: number;
  goodsDesc: string;
  orderTitle: string;
  outTradeNo: string;
  thirdPartyUser: string;
  notifyUrl?: string;
  returnUrl?: string | null;
  expireSeconds?: number;
}

export interface ChannelView extends AppChannel {
  url: string;
  method: 'POST';
  enctype: 'json';
}

/** What the hosted pages know about an order reached by its token (read-only). */
export interface CashierOrderView extends OrderView {
  /** The channels the consumer may choose: the merchant's filtered list, else every approved channel. */
  channels: AppChannel[];
  /** The app's display name (收款方). */
  appName: string | null;
}

export function requestHash(body: UnifiedOrderInput, notifyUrl: string | null, returnUrl: string | null): string {
  // Canonical: fixed key order, defaults resolved, so a retry with the same meaning hashes the same.
  const canonical = JSON.stringify([body.amount, body.goodsDesc, body.orderTitle, body.outTradeNo, body.thirdPartyUser, notifyUrl, returnUrl, body.expireSeconds ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function createOrderService(deps: OrderServiceDeps) {
  const { db, temporal, config } = deps;
  const readOrder = createOrderReader({ temporal });

  const channelView = (ch: AppChannel): ChannelView => ({ ...ch, url: config.publicBaseUrl + payWithChannelPath(ch.channelType, ch.sceneCode), method: 'POST', enctype: 'json' });

  /**
   * Starts (or finds) the order's workflow, then notes that it exists. Called after the row exists, so a
   * crash in between is healed by a retry or by the reconciler: never two workflows, never one without a row.
   */
  async function ensureWorkflow(row: orders.OrderRow, opts: { noteInBackground?: boolean } = {}): Promise<void> {
    if (row.workflow_started_at) return;
    await temporal.startPayment(
      {
        orderId: row.id,
        appId: row.app_id,
        outTradeNo: row.out_trade_no,
        amount: row.amount,
        orderTitle: row.order_title,
        notifyUrl: row.notify_url,
        expireAt: row.expire_at.getTime(),
        pollIntervalMs: config.providerPollIntervalSeconds * 1000,
      },
      { orderTitle: row.order_title, expireAt: row.expire_at },
    );
    const noted = orders.markWorkflowStarted(db, row.id);
    if (!opts.noteInBackground) return noted;
    // Off the merchant's response path: if this write is lost, the reconciler's start finds the workflow (the
    // start is idempotent per workflow id) and writes it then.
    noted.catch((err: Error) => deps.log.warn('could not note the workflow start; the reconciler will', { orderId: row.id, error: err.message }));
  }

  /** The approved channels the order may be paid with (the merchant's filtered list, if it set one). */
  // The cashier page polls every few seconds per open order, and every order of an app offers the app's channels:
  // the summary reads them at most once a second per app. Paying never uses this copy (payWithChannel reads afresh),
  // so a channel unbound a moment ago can be shown for up to a second but never used.
  const appChannelsForPolls = ttlCache((appId: string) => listApprovedAppChannels(db, appId), { ttlMs: 1000, maxEntries: 10_000 });

  async function choosableChannels(row: orders.OrderRow, opts: { forPoll?: boolean } = {}): Promise<{ channels: AppChannel[]; all: AppChannel[] }> {
    const all = await (opts.forPoll ? appChannelsForPolls(row.app_id) : listApprovedAppChannels(db, row.app_id));
    return { all, channels: row.allowed_channel_ids ? all.filter((c) => row.allowed_channel_ids!.includes(c.channelId)) : all };
  }

  return {
    readOrder,

    async unifiedOrder(app: AppWithKeys, body: UnifiedOrderInput): Promise<{ row: orders.OrderRow; channels: ChannelView[] }> {
      const notifyUrl = body.notifyUrl ?? app.notifyUrl ?? null;
      const returnUrl = body.returnUrl === undefined ? app.returnUrl ?? null : body.returnUrl;
      const hash = requestHash(body, notifyUrl, returnUrl);
      const channels = await listApprovedAppChannels(db, app.appId);
      if (channels.length === 0) throw new DomainError(ErrorCode.FORBIDDEN, '应用没有已审核通过的支付渠道');
      const { row, created } = await orders.insertOrFindOrder(db, {
        app_id: app.appId,
        out_trade_no: body.outTradeNo,
        amount: body.amount,
        order_title: body.orderTitle,
        goods_desc: body.goodsDesc,
        third_party_user: body.thirdPartyUser,
        notify_url: notifyUrl,
        return_url: returnUrl,
        request_hash: hash,
        token: randomBytes(16).toString('hex').toUpperCase(),
        expire_at: new Date(Date.now() + (body.expireSeconds ?? config.orderDefaultExpireSeconds) * 1000),
        workflow_id: WorkflowIds.payment(app.appId, body.outTradeNo),
      });
      if (!created && row.request_hash !== hash) throw new DomainError(ErrorCode.CONFLICT, `outTradeNo ${body.outTradeNo} 已用于内容不同的订单`);
      await ensureWorkflow(row, { noteInBackground: true });
      if (created) deps.metrics?.ordersCreated.inc();
      if (created) deps.log.info('order created', { appId: app.appId, outTradeNo: row.out_trade_no, orderId: row.id, amount: row.amount });
      return { row, channels: channels.map(channelView) };
    },

    /** The merchant's filtered list (at most one channel per type), remembered on the order. */
    async choosePaymentList(app: AppWithKeys, token: string, channelIds: number[]): Promise<string> {
      const row = await orders.findOrderByToken(db, token);
      if (!row || row.app_id !== app.appId) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      if (isFinal(row.status) || row.expire_at.getTime() <= Date.now()) throw new DomainError(ErrorCode.CONFLICT, '订单已结束或已过期');
      const bound = new Map((await listApprovedAppChannels(db, app.appId)).map((c) => [c.channelId, c]));
      const seenTypes = new Set<string>();
      for (const id of channelIds) {
        const ch = bound.get(id);
        if (!ch) throw new DomainError(ErrorCode.FORBIDDEN, `渠道 ${id} 未绑定或未审核通过`);
        if (seenTypes.has(ch.channelType)) throw new DomainError(ErrorCode.VALIDATION, `每类渠道最多保留一个: ${ch.channelType} 出现多次`);
        seenTypes.add(ch.channelType);
      }
      await orders.setAllowedChannels(db, row.id, [...new Set(channelIds)]);
      return config.publicBaseUrl + cashierPagePath('payment', token);
    },

    /** query-pay-result: the order's result as the merchant API states it. */
    async payResult(app: AppWithKeys, outTradeNo: string) {
      const row = await orders.findOrderByOutTradeNo(db, app.appId, outTradeNo);
      // Another app's order is simply not found: 4040, never 4030, so order numbers do not leak across apps.
      if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      const v = await readOrder(row);
      return {
        channelId: v.channel?.channelId ?? null,
        channelType: v.channel?.channelType ?? null,
        mchId: v.channel?.mchId ?? null,
        payTime: v.payTime === null ? null : formatShanghai(v.payTime),
        ...merchantResult(v.status, v.errorCode, v.errorMsg),
        refundedAmount: await refundedAmountOfOrder(db, row.id),
      };
    },

    /**
     * An order reached by its cashier token (null when unknown), with its state and the choosable channels. From
     * PostgreSQL alone: every open order's page polls this, and none of those polls may reach Temporal.
     */
    async cashierOrder(token: string): Promise<CashierOrderView | null> {
      const row = await orders.findOrderByToken(db, token);
      if (!row) return null;
      const { channels, all } = await choosableChannels(row, { forPoll: true });
      return { ...storedOrderView(row), channels, appName: all[0]?.appName ?? null };
    },

    /** Gateway URLs of the order's channels (the page's CSP form-action; never secrets). */
    channelGateways: (view: CashierOrderView): Promise<GatewayInfo[]> => gatewaysOf(db, view.channels.map((c) => c.configId)),

    /**
     * Checks the parameters a provider appended when it sent the buyer back to the return page: genuine,
     * for this order's trade, and for its amount. The page's status never comes from them, but a forged
     * return must not show another order. Returns 'ok' or the reason it was refused.
     */
    async verifyProviderReturn(view: CashierOrderView, params: Record<string, string>): Promise<'ok' | string> {
      const trade = parseProviderOutTradeNo(params.out_trade_no ?? '');
      if (!trade || trade.orderId !== view.row.id) return 'out_trade_no is not this order';
      const channel = await channelById(db, trade.channelId);
      const provider = channel && deps.providers.has(channel.channelType) ? deps.providers.get(channel.channelType) : null;
      if (!channel || !provider?.verifyReturn) return 'not a channel with a signed return';
      const creds = await loadCredentials(db, deps.secretBox, channel.configId);
      if (!creds) return 'channel config inactive';
      const returned = provider.verifyReturn(creds, params);
      if (!returned) return 'bad signature';
      if (returned.amountFen !== view.row.amount) return 'amount differs from the order';
      return 'ok';
    },

    /** Resolves which of the order's channels the consumer picked and runs the workflow's channel update. */
    async payWithChannel(args: { token: string; channelType: string; sceneCode: string; channelId?: number; openid?: string; clientIp?: string }): Promise<PrepayResult> {
      const row = await orders.findOrderByToken(db, args.token);
      if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在或链接无效');
      if (isFinal(row.status)) throw new DomainError(ErrorCode.CONFLICT, '订单已结束');
      if (row.expire_at.getTime() <= Date.now()) throw new DomainError(ErrorCode.CONFLICT, '订单已过期');
      const { channels } = await choosableChannels(row);
      const ch = channels.find((c) => c.channelType === args.channelType && c.sceneCode === args.sceneCode && (args.channelId === undefined || c.channelId === args.channelId));
      if (!ch) throw new DomainError(ErrorCode.FORBIDDEN, '该支付方式不可用于此订单');
      if (ch.sceneCode === 'jsapi' && !args.openid) throw new DomainError(ErrorCode.VALIDATION, 'JSAPI 支付需要 openid');
      return temporal.chooseChannel(row.workflow_id, {
        channelId: ch.channelId,
        channelType: ch.channelType,
        sceneCode: ch.sceneCode as SceneCode,
        configId: ch.configId,
        mchId: ch.mchId,
        clientIp: args.clientIp,
        openid: args.openid,
      });
    },

    /** Starts the workflows of orders whose start was lost (process crash between insert and start). */
    async startLostWorkflows(olderThanMs = 30_000): Promise<number> {
      const rows = await orders.findOrdersWithoutWorkflow(db, new Date(Date.now() - olderThanMs));
      for (const row of rows) await ensureWorkflow(row);
      return rows.length;
    },
  };
}

export type OrderService = ReturnType<typeof createOrderService>;
