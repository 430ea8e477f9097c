/**
 * Order use-cases behind the merchant and cashier routes: creating an order together with its workflow,
 * listing channels, choosing one, and reading results. Route handlers stay thin; queries live in db/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/connection';
import type { AppWithKeys } from '../db/queries/apps';
import { listApprovedAppChannels, type AppChannel } from '../db/queries/channels';
import * as orders from '../db/queries/orders';
import { DomainError, ErrorCode, fromTemporalFailure } from '../domain/errors';
import { formatShanghai, isFinal, merchantResult, type OrderStatus } from '../domain/order';
import type { Logger } from '../observability/logger';
import type { PrepayResult, SceneCode } from '../providers/types';
import { ensurePaymentWorkflow } from '../temporal/client';
import { chooseChannelUpdate, paymentWorkflowId, stateQuery, type PaymentState } from '../workflows/messages';
import type { UnifiedOrderRequest } from '../http/validation';

export interface PaymentsDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  publicBaseUrl: string;
  orderDefaultExpireSeconds: number;
  providerPollIntervalSeconds: number;
  log: Logger;
}

export interface ChannelView extends Omit<AppChannel, 'sort'> {
  url: string;
  method: 'POST';
  enctype: 'json';
  sort: number;
}

export function requestHash(body: UnifiedOrderRequest, notifyUrl: string | null, returnUrl: string | null): string {
  // Canonical: fixed key order, defaults resolved, so a retry with the same meaning hashes the same.
  const canonical = JSON.stringify([body.amount, body.goodsDesc, body.orderTitle, body.outTradeNo, body.thirdPartyUser, notifyUrl, returnUrl, body.expireSeconds ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function createPayments(deps: PaymentsDeps) {
  const { db, temporal } = deps;

  function channelView(ch: AppChannel): ChannelView {
    return { ...ch, url: `${deps.publicBaseUrl}/api/cashier-desk/${ch.channelType}/${ch.sceneCode}`, method: 'POST', enctype: 'json' };
  }

  const ensureWorkflow = (row: orders.OrderRow) =>
    ensurePaymentWorkflow({ db, temporal, taskQueue: deps.taskQueue, pollIntervalMs: deps.providerPollIntervalSeconds * 1000 }, row);

  return {
    ensureWorkflow,

    async unifiedOrder(app: AppWithKeys, body: UnifiedOrderRequest) {
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
        expire_at: new Date(Date.now() + (body.expireSeconds ?? deps.orderDefaultExpireSeconds) * 1000),
        workflow_id: paymentWorkflowId(app.appId, body.outTradeNo),
      });
      if (!created && row.request_hash !== hash) throw new DomainError(ErrorCode.CONFLICT, `outTradeNo ${body.outTradeNo} 已用于内容不同的订单`);
      await ensureWorkflow(row);
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
      return `${deps.publicBaseUrl}/cashier-desk-web/payment?token=${token}`;
    },

    /** Live state from the workflow while it runs; PostgreSQL once it has closed (or is unreachable). */
    async payResult(app: AppWithKeys, outTradeNo: string) {
      const row = await orders.findOrderByOutTradeNo(db, app.appId, outTradeNo);
      // Another app's order is simply not found: 4040, never 4030, so order numbers do not leak across apps.
      if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在');
      let status: OrderStatus = row.status;
      let channelId = row.channel_id;
      let channelType = row.channel_type;
      let mchId = row.mch_id;
      let payTime = row.pay_time?.getTime() ?? null;
      let errorCode = row.result_error_code;
      let errorMsg = row.result_error_msg;
      if (!isFinal(row.status)) {
        const live = await liveState(row.workflow_id);
        if (live) {
          status = live.status;
          channelId = live.channel?.channelId ?? null;
          channelType = live.channel?.channelType ?? null;
          mchId = live.channel?.mchId ?? null;
          payTime = live.payTime;
          errorCode = live.errorCode;
          errorMsg = live.errorMsg;
        }
      }
      const result = merchantResult(status, errorCode, errorMsg);
      return { channelId, channelType, mchId, payTime: payTime === null ? null : formatShanghai(payTime), ...result };
    },

    liveState,

    /** Resolves which of the order's channels the consumer picked and runs the workflow's channel update. */
    async payWithChannel(args: { token: string; channelType: string; sceneCode: string; channelId?: number; openid?: string; clientIp?: string }): Promise<{ order: orders.OrderRow; payload: PrepayResult }> {
      const row = await orders.findOrderByToken(db, args.token);
      if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在或链接无效');
      if (isFinal(row.status)) throw new DomainError(ErrorCode.CONFLICT, '订单已结束');
      if (row.expire_at.getTime() <= Date.now()) throw new DomainError(ErrorCode.CONFLICT, '订单已过期');
      const channels = await listApprovedAppChannels(db, row.app_id);
      const allowed = row.allowed_channel_ids ? channels.filter((c) => row.allowed_channel_ids!.includes(c.channelId)) : channels;
      const ch = allowed.find((c) => c.channelType === args.channelType && c.sceneCode === args.sceneCode && (args.channelId === undefined || c.channelId === args.channelId));
      if (!ch) throw new DomainError(ErrorCode.FORBIDDEN, '该支付方式不可用于此订单');
      if (ch.sceneCode === 'jsapi' && !args.openid) throw new DomainError(ErrorCode.VALIDATION, 'JSAPI 支付需要 openid');
      try {
        const payload = await temporal.workflow.getHandle(row.workflow_id).executeUpdate(chooseChannelUpdate, {
          args: [{ channelId: ch.channelId, channelType: ch.channelType, sceneCode: ch.sceneCode as SceneCode, configId: ch.configId, mchId: ch.mchId, clientIp: args.clientIp, openid: args.openid }],
        });
        return { order: row, payload };
      } catch (err) {
        throw fromTemporalFailure(err) ?? err;
      }
    },
  };

  async function liveState(workflowId: string): Promise<PaymentState | null> {
    try {
      return await temporal.workflow.getHandle(workflowId).query(stateQuery);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) deps.log.warn('workflow query failed; answering from the database', { workflowId, error: (err as Error).message });
      return null;
    }
  }
}

export type Payments = ReturnType<typeof createPayments>;
