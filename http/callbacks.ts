/**
 * Provider callbacks. The URL carries the channel config id, so the right keys verify each callback. The
 * provider is acknowledged only after the workflow accepted the signal (or the result is already final);
 * anything else gets the provider's failure answer so it retries.
 */
import express, { Router } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { verdictOf } from '../activities';
import type { Db } from '../db/connection';
import { recordProviderCallback } from '../db/queries/callbacks';
import { loadCredentials } from '../db/queries/channels';
import { findOrderById, recordPaymentResult } from '../db/queries/orders';
import { parseProviderOutTradeNo } from '../domain/order';
import type { Logger } from '../observability/logger';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderError, type ChannelType, type SceneCode } from '../providers/types';
import type { SecretBox } from '../security/secret-box';
import { providerCallbackSignal } from '../workflows/messages';

export function callbackRouter(deps: { db: Db; secretBox: SecretBox; providers: ProviderRegistry; temporal: Client; log: Logger }): Router {
  const r = Router();
  const raw = express.raw({ type: () => true, limit: '64kb' });

  r.post('/callbacks/:channelType/:configId', raw, async (req, res) => {
    const channelType = String(req.params.channelType) as ChannelType;
    const configId = Number(req.params.configId);
    let provider;
    try {
      provider = deps.providers.get(channelType);
    } catch {
      res.status(404).type('text/plain').send('unknown channel type');
      return;
    }
    const answer = (ok: boolean, message?: string) => {
      const ack = provider.callbackAck(ok, message);
      res.status(ack.status).type(ack.contentType).send(ack.body);
    };
    const log = deps.log.child({ channelType, configId });
    try {
      const creds = Number.isSafeInteger(configId) ? await loadCredentials(deps.db, deps.secretBox, configId) : null;
      if (!creds || creds.channelType !== channelType) {
        log.warn('callback for an unknown channel config');
        return answer(false, 'unknown channel config');
      }
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let n;
      try {
        n = await provider.verifyCallback(creds, { headers: req.headers as Record<string, string | undefined>, rawBody });
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        await recordProviderCallback(deps.db, { orderId: null, configId, channelType, eventId: null, outTradeNo: null, outcome: null, result: 'REJECTED', detail: err.message });
        log.warn('callback rejected', { reason: err.message });
        return answer(false, 'verification failed');
      }
      const ids = parseProviderOutTradeNo(n.outTradeNo);
      const order = ids ? await findOrderById(deps.db, ids.orderId) : null;
      const channel = ids
        ? await deps.db('channels as c').join('app_channels as ac', 'ac.channel_id', 'c.id').where({ 'c.id': ids.channelId, 'c.config_id': configId, 'ac.app_id': order?.app_id ?? '' }).first('c.*')
        : null;
      const verdict = verdictOf(n.outcome);
      const record = (result: 'ACCEPTED' | 'MISMATCH', detail?: string) =>
        recordProviderCallback(deps.db, { orderId: order?.id ?? null, configId, channelType, eventId: n.eventId, outTradeNo: n.outTradeNo, outcome: n.outcome.status, result, detail });
      if (!order || !channel) {
        // Genuine (signed) but not ours to apply: acknowledge so the provider stops, and keep the evidence.
        await record('MISMATCH', 'unknown order or channel');
        log.error('verified callback for an unknown order or channel', { outTradeNo: n.outTradeNo, eventId: n.eventId });
        return answer(true);
      }
      if ((verdict.status === 'SUCCESS' || verdict.status === 'FINISH') && verdict.amount !== order.amount) {
        await record('MISMATCH', `amount ${verdict.amount} != order ${order.amount}`);
        log.error('callback amount does not match the order; ignored', { orderId: order.id, expected: order.amount, reported: verdict.amount });
        return answer(true);
      }
      try {
        await deps.temporal.workflow.getHandle(order.workflow_id).signal(providerCallbackSignal, {
          appId: order.app_id,
          eventId: n.eventId,
          verdict,
          channel: { channelId: channel.id, channelType, sceneCode: channel.scene_code as SceneCode, configId, mchId: creds.mchId },
        });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // The workflow has finished (e.g. TRADE_FINISHED weeks later): apply what may still change, directly.
        if (verdict.status === 'FINISH' && order.status === 'SUCCESS') {
          await recordPaymentResult(deps.db, {
            orderId: order.id,
            status: 'FINISH',
            channel: { channelId: channel.id, channelType, sceneCode: channel.scene_code, configId, mchId: creds.mchId },
            providerTradeNo: verdict.providerTradeNo,
            payTime: order.pay_time?.getTime() ?? verdict.payTime,
            errorCode: null,
            errorMsg: null,
          });
        } else if (verdict.status === 'SUCCESS' && order.status !== 'SUCCESS' && order.status !== 'FINISH') {
          log.error('payment reported for a closed order; needs a refund', { orderId: order.id, status: order.status });
        }
      }
      await record('ACCEPTED');
      return answer(true);
    } catch (err) {
      log.error('callback handling failed; provider will retry', { error: (err as Error).message });
      return answer(false, 'temporary failure');
    }
  });
  return r;
}
