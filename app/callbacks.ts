/**
 * A provider's asynchronous payment notification: verified with the keys of the channel config its URL
 * names, matched to our order and channel, and handed to the order's workflow as a signal. The provider is
 * acknowledged only when the result is safe with us (signal accepted, or nothing left to apply); anything
 * else answers "retry". Every verified or rejected callback is recorded as evidence. Money that arrives where
 * no payment is wanted becomes a payment exception (app/payment-exceptions.ts).
 */
import type { Db } from '../db/connection';
import type { OrderStatus } from '../domain/order';
import { loadCredentials } from '../db/queries/channel-configs';
import { findAppChannelInConfig } from '../db/queries/channels';
import { findOrderById, recordFinish, type OrderRow } from '../db/queries/orders';
import { recordProviderCallback } from '../db/queries/provider-callbacks';
import { findRefundById } from '../db/queries/refunds';
import { findTransferById } from '../db/queries/transfers';
import { isPaid, parseProviderOutTradeNo } from '../domain/order';
import { paidAmountMismatch, type ChannelRef, type ProviderVerdict } from '../domain/payment';
import { parseProviderOutRefundNo, type DetectedPaymentException } from '../domain/refund';
import { parseProviderOutBizNo } from '../domain/transfer';
import type { Logger } from '../observability/logger';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type CallbackAck, type ChannelCredentials, type RawCallback } from '../providers/types';
import { refundVerdictOf, transferVerdictOf, verdictOf } from '../providers/verdict';
import type { SecretBox } from '../security/secret-box';
import type { TemporalGateway } from '../temporal/client';

export interface CallbackServiceDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  temporal: TemporalGateway;
  exceptions: { record(d: DetectedPaymentException): Promise<unknown> };
  log: Logger;
}

export function createCallbackService(deps: CallbackServiceDeps) {
  const { db } = deps;

  /** Handles one callback; returns the exact answer the provider expects, or null for an unknown channel type. */
  async function handle(channelType: string, configIdParam: string, cb: RawCallback): Promise<CallbackAck | null> {
    if (!deps.providers.has(channelType)) return null;
    const provider = deps.providers.get(channelType);
    const configId = Number(configIdParam);
    const log = deps.log.child({ channelType, configId });
    try {
      const creds = Number.isSafeInteger(configId) ? await loadCredentials(db, deps.secretBox, configId) : null;
      if (!creds || creds.channelType !== channelType) {
        log.warn('callback for an unknown channel config');
        return provider.callbackAck(false, 'unknown channel config');
      }
      let n;
      try {
        n = await provider.verifyCallback(creds, cb);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        await recordProviderCallback(db, { orderId: null, configId, channelType, kind: 'PAYMENT', eventId: null, outTradeNo: null, outcome: null, result: 'REJECTED', detail: err.message });
        log.warn('callback rejected', { reason: err.message });
        return provider.callbackAck(false, 'verification failed');
      }
      const ids = parseProviderOutTradeNo(n.outTradeNo);
      const order = ids ? await findOrderById(db, ids.orderId) : null;
      const channel = ids && order ? await findAppChannelInConfig(db, { channelId: ids.channelId, configId, appId: order.app_id }) : null;
      const verdict = verdictOf(n.outcome);
      const record = (result: 'ACCEPTED' | 'MISMATCH', detail?: string) =>
        recordProviderCallback(db, { orderId: order?.id ?? null, configId, channelType, kind: 'PAYMENT', eventId: n.eventId, outTradeNo: n.outTradeNo, outcome: n.outcome.status, result, detail });
      if (!order || !channel) {
        // Genuine (signed) but not ours to apply: acknowledge so the provider stops, and keep the evidence.
        await record('MISMATCH', 'unknown order or channel');
        log.error('verified callback for an unknown order or channel', { outTradeNo: n.outTradeNo, eventId: n.eventId });
        return provider.callbackAck(true);
      }
      const channelRef: ChannelRef = { channelId: channel.id, channelType, sceneCode: channel.scene_code, configId, mchId: creds.mchId };
      const outcome = await applyVerdict(order, channelRef, verdict, { eventId: n.eventId, detectedBy: `callback ${n.eventId}` });
      if (outcome === 'AMOUNT_MISMATCH') {
        await record('MISMATCH', `amount ${(verdict as { amount: number }).amount} != order ${order.amount}`);
        log.error('callback amount does not match the order; ignored', { orderId: order.id, expected: order.amount });
        return provider.callbackAck(true);
      }
      await record('ACCEPTED');
      return provider.callbackAck(true);
    } catch (err) {
      log.error('callback handling failed; provider will retry', { error: (err as Error).message });
      return provider.callbackAck(false, 'temporary failure');
    }
  }

  /**
   * Applies a verified verdict about one of an order's trades (from a callback, or a reconciliation's provider
   * query): a wrong amount becomes an exception and nothing else; TRADE_FINISHED is written at once; the verdict
   * goes to the running workflow, or, once it has ended, late and duplicate payments become exceptions here.
   */
  async function applyVerdict(
    order: OrderRow,
    channel: ChannelRef,
    verdict: ProviderVerdict,
    source: { eventId: string; detectedBy: string },
  ): Promise<'AMOUNT_MISMATCH' | 'DELIVERED' | 'JUDGED'> {
    const reported = paidAmountMismatch(verdict, order.amount);
    if (reported !== null && (verdict.status === 'SUCCESS' || verdict.status === 'FINISH')) {
      // Never applied to the order; recorded as an exception for a person to look at.
      await deps.exceptions.record({ orderId: order.id, kind: 'AMOUNT_MISMATCH', channel, providerTradeNo: verdict.providerTradeNo, amount: reported, orderStatus: order.status, detectedBy: source.detectedBy });
      return 'AMOUNT_MISMATCH';
    }
    // TRADE_FINISHED (no more refunds) is written at once, also while the workflow is still notifying: a refund
    // accepted in between would be refused by the provider.
    if (verdict.status === 'FINISH' && order.status === 'SUCCESS' && order.channel_id === channel.channelId) await recordFinish(db, order.id);
    const delivered = await deps.temporal.signalProviderCallback(order.workflow_id, { appId: order.app_id, eventId: source.eventId, verdict, channel });
    if (delivered) return 'DELIVERED';
    // A running workflow judges late and duplicate payments itself; once it has ended, this is the only judge.
    await judgeAfterWorkflowEnded(order, channel, verdict, source.detectedBy);
    return 'JUDGED';
  }

  /** Money that arrived after the workflow ended: a late payment (order not paid) or a second channel's. */
  async function judgeAfterWorkflowEnded(order: { id: number; status: OrderStatus; channel_id: number | null }, channel: ChannelRef, verdict: ProviderVerdict, detectedBy: string): Promise<void> {
    if (verdict.status !== 'SUCCESS' && verdict.status !== 'FINISH') return;
    const kind = !isPaid(order.status) ? 'LATE_PAYMENT' : order.channel_id !== channel.channelId ? 'DUPLICATE_PAYMENT' : null;
    if (!kind) return;
    await deps.exceptions.record({ orderId: order.id, kind, channel, providerTradeNo: verdict.providerTradeNo, amount: verdict.amount, orderStatus: order.status, detectedBy });
  }

  /**
   * A provider notification about one of our refunds or transfers (WeChat REFUND.*, MCHTRANSFER.BILL.FINISHED):
   * verified with the channel config's keys, matched to our row by the request number we sent and the config,
   * handed to its workflow, and acknowledged once safe with us, like payments. Every one is kept as evidence.
   */
  async function handleSubjectCallback<N extends { eventId: string; outcome: { status: string } }>(
    channelType: string,
    configIdParam: string,
    cb: RawCallback,
    kind: 'REFUND' | 'TRANSFER',
    verify: ((creds: ChannelCredentials, cb: RawCallback) => Promise<N>) | undefined,
    /** Our row the notification names, its order, and the signal that delivers it; null when it is not ours. */
    match: (n: N, configId: number) => Promise<{ orderId: number | null; outTradeNo: string | null; number: string; deliver: () => Promise<unknown> } | null>,
  ): Promise<CallbackAck | null> {
    if (!deps.providers.has(channelType)) return null;
    const provider = deps.providers.get(channelType);
    if (!verify) return null;
    const configId = Number(configIdParam);
    const log = deps.log.child({ channelType, configId, kind });
    try {
      const creds = Number.isSafeInteger(configId) ? await loadCredentials(db, deps.secretBox, configId, { anyStatus: true }) : null;
      if (!creds || creds.channelType !== channelType) {
        log.warn('callback for an unknown channel config');
        return provider.callbackAck(false, 'unknown channel config');
      }
      let n: N;
      try {
        n = await verify(creds, cb);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        await recordProviderCallback(db, { orderId: null, configId, channelType, kind, eventId: null, outTradeNo: null, outcome: null, result: 'REJECTED', detail: err.message });
        log.warn('callback rejected', { reason: err.message });
        return provider.callbackAck(false, 'verification failed');
      }
      const m = await match(n, configId);
      const evidence = (result: 'ACCEPTED' | 'MISMATCH', detail?: string) =>
        recordProviderCallback(db, { orderId: m?.orderId ?? null, configId, channelType, kind, eventId: n.eventId, outTradeNo: m?.outTradeNo ?? null, outRefundNo: m?.number ?? null, outcome: n.outcome.status, result, detail });
      if (!m) {
        await evidence('MISMATCH', `unknown ${kind.toLowerCase()}, or another config`);
        log.error('verified callback for something that is not ours', { eventId: n.eventId });
        return provider.callbackAck(true);
      }
      // Delivered or not (an ended workflow already has its final result), the notification is safe with us.
      await m.deliver();
      await evidence('ACCEPTED');
      return provider.callbackAck(true);
    } catch (err) {
      log.error('callback handling failed; provider will retry', { error: (err as Error).message });
      return provider.callbackAck(false, 'temporary failure');
    }
  }

  const handleRefund = (channelType: string, configIdParam: string, cb: RawCallback) => {
    const provider = deps.providers.has(channelType) ? deps.providers.get(channelType) : null;
    return handleSubjectCallback(channelType, configIdParam, cb, 'REFUND', provider?.verifyRefundCallback?.bind(provider), async (n, configId) => {
      const refundId = parseProviderOutRefundNo(n.outRefundNo);
      const refund = refundId === null ? null : await findRefundById(db, refundId);
      if (!refund || refund.config_id !== configId || refund.provider_out_trade_no !== n.outTradeNo) return null;
      return {
        orderId: refund.order_id,
        outTradeNo: n.outTradeNo,
        number: n.outRefundNo,
        deliver: () => deps.temporal.signalRefundCallback(refund.workflow_id, { eventId: n.eventId, verdict: refundVerdictOf(n.outcome) }),
      };
    });
  };

  const handleTransfer = (channelType: string, configIdParam: string, cb: RawCallback) => {
    const provider = deps.providers.has(channelType) ? deps.providers.get(channelType) : null;
    return handleSubjectCallback(channelType, configIdParam, cb, 'TRANSFER', provider?.verifyTransferCallback?.bind(provider), async (n, configId) => {
      const transferId = parseProviderOutBizNo(n.outBizNo);
      const transfer = transferId === null ? null : await findTransferById(db, transferId);
      if (!transfer || transfer.config_id !== configId) return null;
      return {
        orderId: null,
        outTradeNo: null,
        number: n.outBizNo,
        deliver: () => deps.temporal.signalTransferCallback(transfer.workflow_id, { eventId: n.eventId, verdict: transferVerdictOf(n.outcome) }),
      };
    });
  };

  return { handle, handleRefund, handleTransfer, applyVerdict };
}

export type CallbackService = ReturnType<typeof createCallbackService>;
