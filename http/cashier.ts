/**
 * Endpoints the hosted cashier page calls with the order token (no merchant signature: the token is the
 * capability, opaque, random and expiring with the order).
 */
import express, { Router } from 'express';
import type { CashierOrderView, OrderService } from '../app/orders';
import { SCENE_CODES } from '../domain/channel';
import { DomainError, ErrorCode } from '../domain/errors';
import { merchantResult } from '../domain/order';
import type { ProviderRegistry } from '../providers/registry';
import type { Logger } from '../observability/logger';
import { clientIp, envelope, route } from './envelope';
import { rateLimit, type RateLimiter } from './rate-limit';
import { storableTextReviver } from './strict-json';
import { parse, payWithChannelSchema } from './validation';

/** The JSON summary the cashier page polls. Never includes secrets, keys, merchant ids or other orders' data. */
export function cashierSummary(view: CashierOrderView) {
  const { row, status } = view;
  return {
    orderTitle: row.order_title,
    goodsDesc: row.goods_desc,
    amount: row.amount,
    expireAt: row.expire_at.getTime(),
    status,
    resultCode: merchantResult(status).resultCode,
    returnUrl: row.return_url,
    channels: view.channels.map((c) => ({
      channelId: c.channelId,
      channelType: c.channelType,
      channelName: c.channelName,
      sceneCode: c.sceneCode,
      sceneName: c.sceneName,
    })),
    // For the hosted pages: who is paid, the merchant's order number, and the server clock for countdowns.
    appName: view.appName,
    outTradeNo: row.out_trade_no,
    serverTime: Date.now(),
  };
}

/**
 * GET /cashier/:token, the summary the cashier page polls every few seconds per open order. Mounted before the
 * PostgreSQL-counted per-IP limit with a per-process one of the same size (`pollLimiter`): the shared counter's
 * write cost more than the poll it guarded.
 */
export function cashierSummaryRouter(deps: { orders: OrderService; pollLimiter: RateLimiter; log?: Logger }): Router {
  const r = Router();
  r.get(
    '/cashier/:token',
    rateLimit({ limiter: deps.pollLimiter, key: (req) => clientIp(req), log: deps.log }),
    route(async (req, res) => {
      const view = await deps.orders.cashierOrder(String(req.params.token));
      if (!view) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在或链接无效');
      res.json(envelope(cashierSummary(view)));
    }),
  );
  return r;
}

/** POST /:channelType/:sceneCode: the consumer chose a channel (the workflow's update runs the prepay). */
export function cashierRouter(deps: { orders: OrderService; providers: ProviderRegistry }): Router {
  const r = Router();
  const json = express.json({ limit: '4kb', strict: true, reviver: storableTextReviver });
  r.post(
    '/:channelType/:sceneCode',
    json,
    route(async (req, res) => {
      const { channelType, sceneCode } = req.params as { channelType: string; sceneCode: string };
      if (!deps.providers.has(channelType) || !(SCENE_CODES as string[]).includes(sceneCode)) throw new DomainError(ErrorCode.NOT_FOUND, '不支持的支付方式');
      const body = parse(payWithChannelSchema, req.body ?? {});
      res.json(envelope(await deps.orders.payWithChannel({ ...body, channelType, sceneCode, clientIp: req.ip })));
    }),
  );
  return r;
}
