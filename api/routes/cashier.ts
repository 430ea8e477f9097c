/**
 * Endpoints the hosted cashier page calls with the order token (no merchant signature: the token is the
 * capability, opaque, random and expiring with the order).
 */
import express, { Router } from 'express';
import { DomainError, ErrorCode } from '../../domain/errors';
import type { Db } from '../../db/connection';
import { findOrderByToken } from '../../db/queries/orders';
import { listApprovedAppChannels } from '../../db/queries/channels';
import { merchantResult } from '../../domain/order';
import { envelope, route } from '../http';
import type { Payments } from '../payments';
import { parse, payWithChannelSchema } from '../validation';

const CHANNEL_TYPES = new Set(['ali-pay', 'wx-pay']);
const SCENES = new Set(['h5', 'native', 'app', 'jsapi']);

export function cashierRouter(deps: { db: Db; payments: Payments }): Router {
  const r = Router();
  const json = express.json({ limit: '4kb', strict: true });

  /** Order summary for the cashier page: never includes secrets, keys or other orders' data. */
  r.get(
    '/cashier/:token',
    route(async (req, res) => {
      const row = await findOrderByToken(deps.db, String(req.params.token));
      if (!row) throw new DomainError(ErrorCode.NOT_FOUND, '订单不存在或链接无效');
      const live = await deps.payments.liveState(row.workflow_id);
      const status = live?.status ?? row.status;
      const all = await listApprovedAppChannels(deps.db, row.app_id);
      const channels = (row.allowed_channel_ids ? all.filter((c) => row.allowed_channel_ids!.includes(c.channelId)) : all).map((c) => ({
        channelId: c.channelId,
        channelType: c.channelType,
        channelName: c.channelName,
        sceneCode: c.sceneCode,
        sceneName: c.sceneName,
      }));
      res.json(
        envelope({
          orderTitle: row.order_title,
          goodsDesc: row.goods_desc,
          amount: row.amount,
          expireAt: row.expire_at.getTime(),
          status,
          resultCode: merchantResult(status).resultCode,
          returnUrl: row.return_url,
          channels,
        }),
      );
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
