import { randomBytes } from 'node:crypto';
import { createApp } from '../../db/queries/apps';
import { bindChannel } from '../../db/queries/app-channels';
import { createChannel } from '../../db/queries/channels';
import { createChannelConfig } from '../../db/queries/channel-configs';
import { insertOrFindOrder, type OrderRow } from '../../db/queries/orders';
import type { ChannelCredentials, ChannelType, SceneCode } from '../../providers/types';
import type { ChannelRef } from '../../domain/payment';
import { WorkflowIds } from '../../temporal/workflow-ids';
import type { TestDb } from './db';

export interface SeededApp {
  appId: string;
  appKey: string;
  channels: ChannelRef[];
}

/** An approved app with approved channels; without credentials the channel config holds placeholders. */
export async function seedApp(
  t: TestDb,
  opts: { channels?: Array<{ channelType: ChannelType; sceneCode: SceneCode; creds?: ChannelCredentials }>; signType?: 'HMAC-SHA256' | 'HMAC-SM3' } = {},
): Promise<SeededApp> {
  const { appId, appKey } = await createApp(t.db, t.box, { name: 'Test merchant', status: 'APPROVED', signType: opts.signType });
  const channels: ChannelRef[] = [];
  const configIds = new Map<string, number>();
  for (const [i, ch] of (opts.channels ?? [{ channelType: 'ali-pay' as const, sceneCode: 'native' as const }]).entries()) {
    const creds = ch.creds ?? { channelType: ch.channelType, mchId: `mch-${ch.channelType}`, providerAppId: `app-${ch.channelType}`, gatewayUrl: 'http://127.0.0.1:9', secrets: {} };
    const key = `${ch.channelType}:${creds.mchId}`;
    let configId = configIds.get(key);
    if (configId === undefined) {
      configId = await createChannelConfig(t.db, t.box, { ...creds, channelType: ch.channelType, name: `${ch.channelType} test` });
      configIds.set(key, configId);
    }
    const channelId = await createChannel(t.db, { configId, channelType: ch.channelType, channelName: `${ch.channelType} ${ch.sceneCode}`, sceneCode: ch.sceneCode, sort: i + 1 });
    await bindChannel(t.db, appId, channelId, 'APPROVED', i + 1);
    channels.push({ channelId, channelType: ch.channelType, sceneCode: ch.sceneCode, configId, mchId: creds.mchId });
  }
  return { appId, appKey, channels };
}

export async function seedOrder(t: TestDb, opts: { appId: string; amount?: number; notifyUrl?: string | null; expireAt: Date; outTradeNo?: string }): Promise<OrderRow> {
  const outTradeNo = opts.outTradeNo ?? `T${randomBytes(6).toString('hex')}`;
  const { row } = await insertOrFindOrder(t.db, {
    app_id: opts.appId,
    out_trade_no: outTradeNo,
    amount: opts.amount ?? 1999,
    order_title: '测试订单',
    goods_desc: '测试商品',
    third_party_user: 'user-1',
    notify_url: opts.notifyUrl ?? null,
    return_url: null,
    request_hash: 'x'.repeat(64),
    token: randomBytes(16).toString('hex').toUpperCase(),
    expire_at: opts.expireAt,
    workflow_id: WorkflowIds.payment(opts.appId, outTradeNo),
  });
  return row;
}
