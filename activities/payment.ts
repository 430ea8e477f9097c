/**
 * PaymentWorkflow's provider and order-state activities. With the notification activities they are the only
 * writers of an order's state in PostgreSQL (the read model every reader uses).
 */
import type { Db } from '../db/connection';
import { loadCredentials } from '../db/queries/channel-configs';
import * as orders from '../db/queries/orders';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';
import { providerOutTradeNo, type NotifyStatus } from '../domain/order';
import type { ChannelRef, ChooseChannelRequest, PaymentResult, ProviderVerdict } from '../domain/payment';
import type { DetectedPaymentException } from '../domain/refund';
import type { Metrics } from '../observability/metrics';
import { cashierPagePath, providerCallbackPath } from '../domain/urls';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type PrepayResult } from '../providers/types';
import { verdictOf } from '../providers/verdict';
import type { SecretBox } from '../security/secret-box';
import { mustFindOrder } from './orders';

/** Records money that arrived where no payment was wanted and applies the refund policy (app/payment-exceptions.ts). */
export interface PaymentExceptionRecorder {
  record(d: DetectedPaymentException): Promise<unknown>;
}

export interface PaymentActivityDeps {
  exceptions: PaymentExceptionRecorder;
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  /** Base URL providers call back and browsers return to. */
  publicBaseUrl: string;
  /** The worker's metrics (order, notification, refund and transfer results); absent: not counted. */
  metrics?: Metrics;
}

function providerFailure(err: unknown, what: string): never {
  if (err instanceof ProviderError) {
    // Provider trouble is 5030 for the consumer; the message names the provider's code, never secrets.
    throw toApplicationFailure(new DomainError(ErrorCode.PROVIDER_UNAVAILABLE, `${what}: ${err.kind}${err.providerCode ? ` ${err.providerCode}` : ''}`));
  }
  throw err;
}

export function createPaymentActivities(deps: PaymentActivityDeps) {
  const { db, secretBox, providers } = deps;

  async function credentialsFor(channel: ChannelRef) {
    const creds = await loadCredentials(db, secretBox, channel.configId);
    if (!creds) throw toApplicationFailure(new DomainError(ErrorCode.FORBIDDEN, `channel config ${channel.configId} is not active`));
    return creds;
  }

  return {
    async prepay(args: { orderId: number; channel: ChooseChannelRequest; clientIp?: string; openid?: string }): Promise<PrepayResult> {
      // Independent reads, together: the consumer is waiting on this update.
      const [order, creds] = await Promise.all([mustFindOrder(db, args.orderId), credentialsFor(args.channel)]);
      let result: PrepayResult;
      try {
        result = await providers.get(args.channel.channelType).prepay(creds, {
          sceneCode: args.channel.sceneCode,
          outTradeNo: providerOutTradeNo(order.id, args.channel.channelId),
          amountFen: order.amount,
          subject: order.order_title,
          description: order.goods_desc,
          notifyUrl: deps.publicBaseUrl + providerCallbackPath(args.channel.channelType, args.channel.configId),
          returnUrl: deps.publicBaseUrl + cashierPagePath('alipay-return', order.token),
          expireAt: order.expire_at,
          clientIp: args.clientIp,
          openid: args.openid,
        });
      } catch (err) {
        providerFailure(err, 'prepay failed');
      }
      // The QR payload is kept so the cashier's qr.svg draws this order's own code and nothing else.
      await orders.markPaying(db, order.id, args.channel, result.kind === 'qr' ? result.codeUrl : null);
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

    /** The result, and with it (one write) the notify status the schedule starts in. */
    async recordPaymentResult(r: PaymentResult & { notifyStatus?: NotifyStatus }): Promise<void> {
      await orders.recordPaymentResult(db, r);
      deps.metrics?.orderResults.inc({ status: r.status });
    },

    /** Idempotent per provider trade and kind, so the store retry policy may run it again. */
    async recordPaymentException(d: DetectedPaymentException): Promise<void> {
      await deps.exceptions.record(d);
    },
  };
}
