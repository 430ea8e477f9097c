/**
 * Provider callbacks, `POST /callbacks/{channelType}/{configId}` (payments), `…/{configId}/refunds` (refund
 * results) and `…/{configId}/transfers` (transfer results): the raw body goes to the callback use-case (app/callbacks.ts), whose answer is sent exactly as the
 * provider expects it.
 */
import express, { Router } from 'express';
import type { CallbackService } from '../app/callbacks';
import { route } from './envelope';

export function callbackRouter(deps: { callbacks: CallbackService }): Router {
  const r = Router();
  const raw = express.raw({ type: () => true, limit: '64kb' });
  for (const [path, handler] of [
    ['/callbacks/:channelType/:configId', deps.callbacks.handle],
    ['/callbacks/:channelType/:configId/refunds', deps.callbacks.handleRefund],
    ['/callbacks/:channelType/:configId/transfers', deps.callbacks.handleTransfer],
  ] as const) {
    r.post(
      path,
      raw,
      route(async (req, res) => {
        const ack = await handler(String(req.params.channelType), String(req.params.configId), {
          headers: req.headers as Record<string, string | undefined>,
          rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        });
        if (!ack) return void res.status(404).type('text/plain').send('unknown channel type');
        res.status(ack.status).type(ack.contentType).send(ack.body);
      }),
    );
  }
  return r;
}
