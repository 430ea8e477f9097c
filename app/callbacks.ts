/**
 * A provider's asynchronous payment notification: verified with the keys of the channel config its URL
 * names, matched to our order and channel, and handed to the order's workflow as a signal. The provider is
 * acknowledged only when the result is safe with us (signal accepted, or nothing left to apply); anything
 * else answers "retry". Every verified or rejected callback is recorded as evidence.
 */
import type { Db } from '../db/connection';
import { loadCredentials } from '../db/queries/channel-configs';
import { findAppChannelInConfig } from '../db/queries/channels';
import { findOrderById, recordFinishAfterWorkflowEnded } from '../db/queries/orders';
import { recordProviderCallback } from '../db/queries/provider-callbacks';
import { parseProviderOutTradeNo } from '../domain/order';
import { paidAmountMismatch } from '../domain/payment';
import type { Logger } from '../observability/logger';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type CallbackAck, type RawCallback } from '../providers/types';
import { verdictOf } from '../providers/verdict';
import type { SecretBox } from '../security/secret-box';
import type { TemporalGateway } from '../temporal/client';

export interface CallbackServiceDeps {
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  temporal: TemporalGateway;
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
        await recordProviderCallback(db, { orderId: null, configId, channelType, eventId: null, outTradeNo: null, outcome: null, result: 'REJECTED', detail: err.message });
        log.warn('callback rejected', { reason: err.message });
        return provider.callbackAck(false, 'verification failed');
      }
      const ids = parseProviderOutTradeNo(n.outTradeNo);
      const order = ids ? await findOrderById(db, ids.orderId) : null;
      const channel = ids && order ? await findAppChannelInConfig(db, { channelId: ids.channelId, configId, appId: order.app_id }) : null;
      const verdict = verdictOf(n.outcome);
      const record = (result: 'ACCEPTED' | 'MISMATCH', detail?: string) =>
        recordProviderCallback(db, { orderId: order?.id ?? null, configId, channelType, eventId: n.eventId, outTradeNo: n.outTradeNo, outcome: n.outcome.status, result, detail });
      if (!order || !channel) {
        // Genuine (signed) but not ours to apply: acknowledge so the provider stops, and keep the evidence.
        await record('MISMATCH', 'unknown order or channel');
        log.error('verified callback for an unknown order or channel', { outTradeNo: n.outTradeNo, eventId: n.eventId });
        return provider.callbackAck(true);
      }
      const reported = paidAmountMismatch(verdict, order.amount);
      if (reported !== null) {
        await record('MISMATCH', `amount ${reported} != order ${order.amount}`);
        log.error('callback amount does not match the order; ignored', { orderId: order.id, expected: order.amount, reported });
        return provider.callbackAck(true);
      }
      const channelRef = { channelId: channel.id, channelType, sceneCode: channel.scene_code, configId, mchId: creds.mchId };
      const delivered = await deps.temporal.signalProviderCallback(order.workflow_id, { appId: order.app_id, eventId: n.eventId, verdict, channel: channelRef });
      if (!delivered) {
        // The workflow has finished (e.g. Alipay's TRADE_FINISHED weeks after the payment).
        if (verdict.status === 'FINISH' && order.status === 'SUCCESS') {
          await recordFinishAfterWorkflowEnded(db, order.id);
        } else if (verdict.status === 'SUCCESS' && order.status !== 'SUCCESS' && order.status !== 'FINISH') {
          log.error('payment reported for a closed order; needs a refund', { orderId: order.id, status: order.status });
        }
      }
      await record('ACCEPTED');
      return provider.callbackAck(true);
    } catch (err) {
      log.error('callback handling failed; provider will retry', { error: (err as Error).message });
      return provider.callbackAck(false, 'temporary failure');
    }
  }

  return { handle };
}

export type CallbackService = ReturnType<typeof createCallbackService>;
