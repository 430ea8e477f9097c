/** Merchant API (DESIGN.md §3), every route signed both ways. */
import { Router } from 'express';
import { signOrder } from '../signature';
import { envelope, route } from './envelope';
import type { Payments } from '../app/orders';
import { sendSigned, signedContext, signedRoutes } from './signed';
import { parse, paymentListSchema, unifiedOrderSchema } from './validation';
import type { Db } from '../db/connection';
import type { SecretBox } from '../security/secret-box';

export function merchantRouter(deps: { db: Db; secretBox: SecretBox; payments: Payments; maxBodyBytes: number; allowPrivateNotifyUrls: boolean }): Router {
  const r = Router();
  const signed = signedRoutes(deps);
  const orderSchema = unifiedOrderSchema(deps.allowPrivateNotifyUrls);

  r.post(
    '/unified/orders',
    ...signed,
    route(async (_req, res) => {
      const ctx = signedContext(res);
      const body = parse(orderSchema, ctx.body);
      const { row, channels } = await deps.payments.unifiedOrder(ctx.app, body);
      const signature = signOrder({ appId: ctx.app.appId, appKey: ctx.app.keys[ctx.keyIndex], signType: ctx.signType, outTradeNo: row.out_trade_no, token: row.token });
      sendSigned(res, envelope({ token: row.token, orderId: row.id, signature, channels }));
    }),
  );

  r.post(
    '/payment/list',
    ...signed,
    route(async (_req, res) => {
      const ctx = signedContext(res);
      const body = parse(paymentListSchema, ctx.body);
      sendSigned(res, envelope({ url: await deps.payments.choosePaymentList(ctx.app, body.token, body.channelIds) }));
    }),
  );

  r.get(
    '/out-trade-no/query-pay-result/:outTradeNo',
    ...signed,
    route(async (req, res) => {
      const ctx = signedContext(res);
      sendSigned(res, envelope(await deps.payments.payResult(ctx.app, String(req.params.outTradeNo))));
    }),
  );
  return r;
}
