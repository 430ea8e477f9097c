/**
 * Activities of PaymentWorkflow, built from their dependencies so tests can pass real or test ones.
 * They are the only code that talks to providers, PostgreSQL and merchants on behalf of a workflow.
 */
import { Context } from '@temporalio/activity';
import type { Db } from '../db/connection';
import { loadCredentials } from '../db/queries/channels';
import { findAppWithKeys } from '../db/queries/apps';
import * as orders from '../db/queries/orders';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';
import { formatShanghai, merchantResult, providerOutTradeNo, type NotifyStatus, type OrderStatus } from '../domain/order';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type PrepayResult, type TradeOutcome } from '../providers/types';
import type { SecretBox } from '../security/secret-box';
import { signRequestHeaders } from '../signature';
import type { ChannelRef, ChooseChannelRequest, NotifyAttemptRecord, ProviderVerdict } from '../workflows/messages';

export interface ActivityDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  /** Base URL providers call back and browsers return to. */
  publicBaseUrl: string;
  notifyTimeoutMs: number;
}

export interface NotificationState {
  status: OrderStatus;
  channel: Pick<ChannelRef, 'channelId' | 'channelType' | 'mchId'> | null;
  payTime: number | null;
  errorCode: string | null;
  errorMsg: string | null;
}

export type NotifyResult = Omit<NotifyAttemptRecord, 'attempt' | 'trigger' | 'scheduledAt'>;

/** Upper bound on what we read of a merchant's answer: enough for {"code":1000,...}, never a memory hazard. */
const MAX_MERCHANT_RESPONSE_BYTES = 16 * 1024;

export function callbackUrl(publicBaseUrl: string, channelType: string, configId: number): string {
  return `${publicBaseUrl}/api/cashier-desk/callbacks/${channelType}/${configId}`;
}

export function verdictOf(outcome: TradeOutcome): ProviderVerdict {
  switch (outcome.status) {
    case 'SUCCESS':
    case 'FINISH':
      return { status: outcome.status, amount: outcome.amountFen, providerTradeNo: outcome.providerTradeNo, payTime: outcome.payTime.getTime() };
    case 'FAIL':
      return { status: 'FAIL', errorCode: outcome.errorCode, errorMsg: outcome.errorMsg };
    default:
      return { status: outcome.status };
  }
}

function providerFailure(err: unknown, what: string): never {
  if (err instanceof ProviderError) {
    // Provider trouble is 5030 for the consumer; the message names the provider's code, never secrets.
    throw toApplicationFailure(new DomainError(ErrorCode.PROVIDER_UNAVAILABLE, `${what}: ${err.kind}${err.providerCode ? ` ${err.providerCode}` : ''}`));
  }
  throw err;
}

export function createActivities(deps: ActivityDeps) {
  const { db, secretBox, providers } = deps;

  async function credentialsFor(channel: ChannelRef) {
    const creds = await loadCredentials(db, secretBox, channel.configId);
    if (!creds) throw toApplicationFailure(new DomainError(ErrorCode.FORBIDDEN, `channel config ${channel.configId} is not active`));
    return creds;
  }

  async function mustFindOrder(orderId: number) {
    const order = await orders.findOrderById(db, orderId);
    if (!order) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `order ${orderId} not found`));
    return order;
  }

  return {
    async prepay(args: { orderId: number; channel: ChooseChannelRequest; clientIp?: string; openid?: string }): Promise<PrepayResult> {
      const order = await mustFindOrder(args.orderId);
      const creds = await credentialsFor(args.channel);
      let result: PrepayResult;
      try {
        result = await providers.get(args.channel.channelType).prepay(creds, {
          sceneCode: args.channel.sceneCode,
          outTradeNo: providerOutTradeNo(order.id, args.channel.channelId),
          amountFen: order.amount,
          subject: order.order_title,
          description: order.goods_desc,
          notifyUrl: callbackUrl(deps.publicBaseUrl, args.channel.channelType, args.channel.configId),
          returnUrl: `${deps.publicBaseUrl}/cashier-desk-web/alipay-return?token=${encodeURIComponent(order.token)}`,
          expireAt: order.expire_at,
          clientIp: args.clientIp,
          openid: args.openid,
        });
      } catch (err) {
        providerFailure(err, 'prepay failed');
      }
      await orders.markPaying(db, order.id, args.channel);
      return result;
    },

    async queryProvider(args: { orderId: number; channel: ChannelRef }): Promise<ProviderVerdict> {
      const creds = await credentialsFor(args.channel);
      try {
        return verdictOf(await providers.get(args.channel.channelType).query(creds, providerOutTradeNo(args.orderId, args.channel.channelId)));
      } catch (err) {
        providerFailure(err, 'query failed');
      }
    },

    async closeAtProvider(args: { orderId: number; channel: ChannelRef }): Promise<void> {
      const creds = await credentialsFor(args.channel);
      try {
        await providers.get(args.channel.channelType).close(creds, providerOutTradeNo(args.orderId, args.channel.channelId));
      } catch (err) {
        providerFailure(err, 'close failed');
      }
    },

    async recordPaymentResult(r: orders.PaymentResult): Promise<void> {
      await orders.recordPaymentResult(db, r);
    },

    async recordNotifyStatus(args: { orderId: number; notifyStatus: NotifyStatus }): Promise<void> {
      await orders.setNotifyStatus(db, args.orderId, args.notifyStatus);
    },

    /** The order's final result and the next attempt number, for a renotify after the workflow ended. */
    async loadNotificationState(args: { orderId: number }): Promise<{ state: NotificationState; nextAttempt: number }> {
      const order = await mustFindOrder(args.orderId);
      const last = await db('notification_attempts').where({ order_id: order.id }).max({ n: 'attempt' }).first();
      const channel: NotificationState['channel'] =
        order.channel_id && order.channel_type ? { channelId: order.channel_id, channelType: order.channel_type as ChannelRef['channelType'], mchId: order.mch_id ?? '' } : null;
      return {
        state: { status: order.status, channel, payTime: order.pay_time?.getTime() ?? null, errorCode: order.result_error_code, errorMsg: order.result_error_msg },
        nextAttempt: Number(last?.n ?? 0) + 1,
      };
    },

    async recordNotifyAttempt(args: { orderId: number; record: NotifyAttemptRecord }): Promise<void> {
      await orders.recordNotifyAttempt(db, args.orderId, args.record);
    },

    /**
     * One signed POST of the payment result to the merchant. Never throws for the merchant's failures: they
     * are the attempt's result. Redirects are not followed (a redirect is not an acknowledgement, and
     * following it could reach hosts the notify URL validation never saw).
     */
    async notifyMerchant(args: { orderId: number; attempt: number; scheduledAt: number; state: NotificationState }): Promise<NotifyResult> {
      const order = await mustFindOrder(args.orderId);
      if (!order.notify_url) return { httpStatus: null, latencyMs: 0, acknowledged: false, error: 'order has no notify URL' };
      const app = await findAppWithKeys(db, secretBox, order.app_id);
      if (!app) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `app ${order.app_id} not found`));
      const s = args.state;
      const result = merchantResult(s.status, s.errorCode, s.errorMsg);
      const body = JSON.stringify({
        eventId: `PAYMENT_RESULT-${order.id}`,
        eventType: 'PAYMENT_RESULT',
        appId: order.app_id,
        orderId: order.id,
        outTradeNo: order.out_trade_no,
        amount: order.amount,
        channelId: s.channel?.channelId ?? null,
        channelType: s.channel?.channelType ?? null,
        mchId: s.channel?.mchId ?? null,
        payTime: s.payTime === null ? null : formatShanghai(s.payTime),
        resultCode: result.resultCode,
        resultErrorCode: result.resultErrorCode,
        resultErrorMsg: result.resultErrorMsg,
        attempt: args.attempt,
      });
      const url = new URL(order.notify_url);
      const headers = signRequestHeaders({
        method: 'POST',
        pathWithQuery: url.pathname + url.search,
        appId: app.appId,
        appKey: app.keys[0],
        signType: app.signType,
        body,
      });
      const started = Date.now();
      const signal = AbortSignal.any([AbortSignal.timeout(deps.notifyTimeoutMs), Context.current().cancellationSignal]);
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'user-agent': 'CashierDesk-Notify/1' },
          body,
          redirect: 'manual',
          signal,
        });
        const text = await readLimited(res, MAX_MERCHANT_RESPONSE_BYTES);
        const latencyMs = Date.now() - started;
        if (res.status !== 200) return { httpStatus: res.status, latencyMs, acknowledged: false, error: `HTTP ${res.status}` };
        let code: unknown;
        try {
          code = (JSON.parse(text) as { code?: unknown }).code;
        } catch {
          return { httpStatus: 200, latencyMs, acknowledged: false, error: 'response is not JSON' };
        }
        const acknowledged = code === 1000 || code === '1000';
        return { httpStatus: 200, latencyMs, acknowledged, error: acknowledged ? null : `response code ${JSON.stringify(code)?.slice(0, 40)}` };
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        return { httpStatus: null, latencyMs: Date.now() - started, acknowledged: false, error: (e.cause?.code ?? e.name ?? 'error') + `: ${e.message}`.slice(0, 300) };
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

async function readLimited(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
