/**
 * Endpoints the hosted cashier page calls with the order token (no merchant signature: the token is the
 * capability, opaque, random and expiring with the order).
 */
import express, { Router } from 'express';
import { DomainError, ErrorCode } from '../domain/errors';
import type { Db } from '../db/connection';
import { findOrderByToken, type OrderRow } from '../db/queries/orders';
import { listApprovedAppChannels, type AppChannel } from '../db/queries/channels';
import { merchantResult, type OrderStatus } from '../domain/order';
import type { PaymentState } from '../workflows/messages';
import { envelope, route } from './envelope';
import type { Payments } from '../app/orders';
import { parse, payWithChannelSchema } from './validation';

const CHANNEL_TYPES = new Set(['ali-pay', 'wx-pay']);
const SCENES = new Set(['h5', 'native', 'app', 'jsapi']);

/** What the hosted pages and the summary endpoint know about an order reached by its token (read-only). */
export interface CashierOrderView {
  row: OrderRow;
  /** Live status from the workflow while it runs, else the stored one. */
  status: OrderStatus;
  live: PaymentState | null;
  /** The channels the consumer may choose: the merchant's filtered list, else every approved channel. */
  channels: AppChannel[];
  /** The app's display name (收款方). */
  appName: string | null;
}

/** Loads an order by its token (null when unknown), with live status and the choosable channels. */
export async function loadCashierOrder(deps: { db: Db; payments: Payments }, token: string): Promise<CashierOrderView | null> {
  const row = await findOrderByToken(deps.db, token);
  if (!row) return null;
  const [live, all] = await Promise.all([deps.payments.liveState(row.workflow_id), listApprovedAppChannels(deps.db, row.app_id)]);
  const channels = row.allowed_channel_ids ? all.filter((c) => row.allowed_channel_ids!.includes(c.channelId)) : all;
  return { row, status: live?.status ?? row.status, live, channels, appName: all[0]?.appName ?? null };
}

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
    // Added for the hosted pages: who is paid, the merchant's order number, and the server clock for countdowns.
    appName: view.appName,
    outTradeNo: row.out_trade_no,
    serverTime: Date.now(),
  };
}

export function cashierRouter(deps: { db: Db; payments: Payments }): Router {
  const r = Router();
  const json = express.json({ limit: '4kb', strict: true });

  /** Order summary for the cashier page: never includes secrets, keys or other orders' data. */
  r.get(
    '/cashier/:token',
    route(async (req, res) => {
      const view = await loadCashierOrder(deps, String(req.params.token));
      if (!view) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在或链接无效');
      res.json(envelope(cashierSummary(view)));
    }),
  );

  r.post(
    '/:channelType/:sceneCode',
    json,
    route(async (req, res) => {
      const { channelType, sceneCode } = req.params as { channelType: string; sceneCode: string };
      if (!CHANNEL_TYPES.has(channelType) || !SCENES.has(sceneCode)) throw new DomainError(ErrorCode.NOT_FOUND, '不支持的支付方式');
      const body = parse(payWithChannelSchema, req.body ?? {});
      const { payload } = await deps.payments.payWithChannel({ ...body, channelType, sceneCode, clientIp: req.ip });
      res.json(envelope(payload));
    }),
  );
  return r;
}
