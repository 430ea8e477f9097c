/** Merchant API: unified order, payment list, query pay result. Every route is signed both ways. */
import { Router, type RequestHandler } from 'express';
import type { OrderService } from '../app/orders';
import { signOrder } from '../signature';
import { envelope, route } from './envelope';
import { sendSigned, signedContext } from './signed';
import { parse, paymentListSchema, unifiedOrderSchema } from './validation';

export function merchantRouter(deps: { orders: OrderService; signed: RequestHandler[]; allowPrivateNotifyUrls: boolean }): Router {
  const r = Router();
  const { signed } = deps;
  const orderSchema = unifiedOrderSchema(deps.allowPrivateNotifyUrls);

  r.post(
    '/unified/orders',
    ...signed,
    route(async (_req, res) => {
      const ctx = signedContext(res);
      const body = parse(orderSchema, ctx.body);
      const { row, channels } = await deps.orders.unifiedOrder(ctx.app, body);
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
      sendSigned(res, envelope({ url: await deps.orders.choosePaymentList(ctx.app, body.token, body.channelIds) }));
    }),
  );

  r.get(
    '/out-trade-no/query-pay-result/:outTradeNo',
    ...signed,
    route(async (req, res) => {
      const ctx = signedContext(res);
      sendSigned(res, envelope(await deps.orders.payResult(ctx.app, String(req.params.outTradeNo))));
    }),
  );
  return r;
}
