/** What a consumer and the merchant do in the fault scenarios: create an order, choose a channel, pay at the sandbox. */
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../../domain/order';
import type { ChannelRef } from '../../../domain/payment';
import type { NotifyMode } from '../../../sandbox/types';
import type { FaultSystem } from './system';

export interface OpenOrder {
  outTradeNo: string;
  orderId: number;
  token: string;
  channel: ChannelRef;
  /** The trade number at the provider (ours, per order and channel). */
  tradeNo: string;
}

let seq = 0;
export const uniqueNo = (prefix: string) => `${prefix}${Date.now().toString(36)}${randomBytes(2).toString('hex')}${seq++}`;

export function channelOf(sys: FaultSystem, channelType: 'ali-pay' | 'wx-pay'): ChannelRef {
  const ch = sys.app.channels.find((c) => c.channelType === channelType);
  if (!ch) throw new Error(`no ${channelType} channel`);
  return ch;
}

/** POST /unified/orders through the merchant SDK (signed), with the merchant's notify URL. */
export async function createOrder(sys: FaultSystem, o: { outTradeNo?: string; amount?: number; expireSeconds?: number; notifyUrl?: string } = {}) {
  const outTradeNo = o.outTradeNo ?? uniqueNo('F');
  const order = await sys.merchant.sdk.unifiedOrder({
    amount: o.amount ?? 1999,
    goodsDesc: '故障测试商品',
    orderTitle: '故障测试',
    outTradeNo,
    thirdPartyUser: 'fault-user',
    ...(o.expireSeconds ? { expireSeconds: o.expireSeconds } : {}),
    ...(o.notifyUrl ? { notifyUrl: o.notifyUrl } : {}),
  });
  return { outTradeNo, orderId: Number(order.orderId), token: order.token };
}

/** The consumer picks a channel on the cashier page: the workflow update runs the prepay. Returns the envelope. */
export async function chooseChannel(sys: FaultSystem, token: string, channel: ChannelRef): Promise<{ code: number; msg: string }> {
  const res = await fetch(`${sys.gateway}/${channel.channelType}/${channel.sceneCode}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return (await res.json()) as { code: number; msg: string };
}

/** Create and choose, retrying the choice (not the order) while the system recovers from a fault. */
export async function openOrder(sys: FaultSystem, channelType: 'ali-pay' | 'wx-pay', o: Parameters<typeof createOrder>[1] = {}): Promise<OpenOrder> {
  const created = await createOrder(sys, o);
  const channel = channelOf(sys, channelType);
  const answer = await chooseChannel(sys, created.token, channel);
  if (answer.code !== 1000) throw new Error(`choose ${channelType}: ${answer.code} ${answer.msg}`);
  return { ...created, channel, tradeNo: providerOutTradeNo(created.orderId, channel.channelId) };
}

/** The buyer pays at the sandbox; `notify` 'lost' keeps the provider's callback from ever being sent. */
export async function pay(sys: FaultSystem, order: Pick<OpenOrder, 'channel' | 'tradeNo'>, notify: NotifyMode = 'normal'): Promise<void> {
  if (order.channel.channelType === 'ali-pay') await sys.alipay.pay(order.tradeNo, { appId: order.channel.mchId, notify });
  else await sys.wechat.pay(order.tradeNo, { mchid: order.channel.mchId, notify: { mode: notify } });
}

export async function orderRow(sys: FaultSystem, orderId: number) {
  return sys.db('orders').where({ id: orderId }).first();
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
