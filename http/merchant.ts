/** Merchant API: unified order, payment list, query pay result, refunds, transfers, daily statements. Every route is signed both ways. */
import { Router, type RequestHandler } from 'express';
import type { OrderService } from '../app/orders';
import type { RefundService } from '../app/refunds';
import type { StatementService } from '../app/statements';
import type { TransferService } from '../app/transfers';
import { signOrder } from '../signature';
import { envelope, route } from './envelope';
import { sendSigned, sendSignedBytes, signedContext } from './signed';
import { outBizNoParam, outRefundNoParam, outTradeNoParam, parse, paymentListSchema, refundSchema, transferSchema, unifiedOrderSchema } from './validation';

export function merchantRouter(deps: {
  orders: OrderService;
  refunds: RefundService;
  transfers: TransferService;
  statements: StatementService;
  /** The wallets a transfer may go through (the provider registry's channel types). */
  channelTypes: readonly string[];
  signed: RequestHandler[];
  allowPrivateNotifyUrls: boolean;
}): Router {
  const r = Router();
  const { signed } = deps;
  const orderSchema = unifiedOrderSchema(deps.allowPrivateNotifyUrls);
  const refundBody = refundSchema(deps.allowPrivateNotifyUrls);
  const transferBody = transferSchema(deps.allowPrivateNotifyUrls, deps.channelTypes);

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
      sendSigned(res, envelope(await deps.orders.payResult(ctx.app, parse(outTradeNoParam, String(req.params.outTradeNo)))));
    }),
  );
  r.post(
    '/refunds',
    ...signed,
    route(async (_req, res) => {
      const ctx = signedContext(res);
      const { refundId, outRefundNo, outTradeNo, amount, status } = await deps.refunds.merchantRefund(ctx.app, parse(refundBody, ctx.body));
      sendSigned(res, envelope({ refundId, outRefundNo, outTradeNo, amount, status }));
    }),
  );

  r.get(
    '/refunds/:outRefundNo',
    ...signed,
    route(async (req, res) => {
      const ctx = signedContext(res);
      sendSigned(res, envelope(await deps.refunds.merchantRefundView(ctx.app, parse(outRefundNoParam, String(req.params.outRefundNo)))));
    }),
  );
  r.post(
    '/transfers',
    ...signed,
    route(async (_req, res) => {
      const ctx = signedContext(res);
      sendSigned(res, envelope(await deps.transfers.merchantTransfer(ctx.app, parse(transferBody, ctx.body))));
    }),
  );

  r.get(
    '/transfers/:outBizNo',
    ...signed,
    route(async (req, res) => {
      const ctx = signedContext(res);
      sendSigned(res, envelope(await deps.transfers.merchantTransferView(ctx.app, parse(outBizNoParam, String(req.params.outBizNo)))));
    }),
  );

  r.get(
    '/bills/:day',
    ...signed,
    route(async (req, res) => {
      const ctx = signedContext(res);
      sendSignedBytes(res, await deps.statements.statement(ctx.app.appId, String(req.params.day)), 'text/csv; charset=utf-8');
    }),
  );
  return r;
}
