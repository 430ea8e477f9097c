/**
 * Every scene of both providers end to end through the real SDKs and the sandboxes: order, prepay, pay at
 * the sandbox, the provider's signed callback, workflow SUCCESS, merchant notified, query SUCCESS. Plus the
 * provider failure paths: a lost callback recovered by the active query, provider 5xx during prepay.
 */
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../domain/order';
import type { ChannelType, SceneCode } from '../../providers/types';
import { stateQuery } from '../../workflows/messages';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;
const SCENES: Array<[ChannelType, SceneCode]> = [
  ['ali-pay', 'h5'],
  ['ali-pay', 'native'],
  ['ali-pay', 'app'],
  ['wx-pay', 'h5'],
  ['wx-pay', 'native'],
  ['wx-pay', 'app'],
  ['wx-pay', 'jsapi'],
];

beforeAll(async () => {
  sys = await startTestSystem({ pollIntervalSeconds: 2 });
  const ali = await sys.alipay.createMerchant();
  const wx = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, { channels: SCENES.map(([channelType, sceneCode]) => ({ channelType, sceneCode, creds: channelType === 'ali-pay' ? ali : wx })) });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

function channelOf(type: ChannelType, scene: SceneCode) {
  return app.channels.find((c) => c.channelType === type && c.sceneCode === scene)!;
}

async function newOrder(type: ChannelType, scene: SceneCode, amount = 1999) {
  const outTradeNo = `P${randomBytes(6).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount, goodsDesc: '商品%描述', orderTitle: '测试订单', outTradeNo, thirdPartyUser: 'u-1' });
  await merchant.sdk.getPaymentListUrl(order, [channelOf(type, scene).channelId]);
  return { order, outTradeNo, tradeNo: providerOutTradeNo(Number(order.orderId), channelOf(type, scene).channelId) };
}

async function choose(type: ChannelType, scene: SceneCode, token: string) {
  const res = await fetch(`${sys.gateway}/${type}/${scene}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(scene === 'jsapi' ? { token, openid: 'o-buyer-1' } : { token }),
  });
  return { status: res.status, body: (await res.json()) as { code: number; msg: string; data?: Record<string, unknown> } };
}

test.each(SCENES)('%s/%s: prepay → pay at the sandbox → callback → SUCCESS → merchant notified → query', async (type, scene) => {
  const { order, outTradeNo, tradeNo } = await newOrder(type, scene);
  const prepay = await choose(type, scene, order.token);
  expect(prepay.body.code).toBe(1000);
  const payload = prepay.body.data!;
  expect(payload.kind).toBe({ h5: 'redirect', native: 'qr', app: 'app', jsapi: 'jsapi' }[scene]);

  if (type === 'ali-pay') {
    if (scene === 'h5') expect((await fetch(String(payload.url))).status).toBe(200); // the browser opens the wap cashier
    if (scene === 'app') await sys.alipay.appPay(String(payload.orderString));
    await sys.alipay.pay(tradeNo);
  } else {
    await sys.wechat.pay(tradeNo);
  }
  const n = await waitFor('merchant notification', async () => merchant.notifications.find((x) => x.outTradeNo === outTradeNo));
  expect(n).toMatchObject({ resultCode: 'SUCCESS', amount: 1999, channelType: type, channelId: channelOf(type, scene).channelId });
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', channelType: type, mchId: channelOf(type, scene).mchId });
});

test('Alipay TRADE_FINISHED after the workflow has finished moves the order to FINISH', async () => {
  const { order, outTradeNo, tradeNo } = await newOrder('ali-pay', 'native');
  expect((await choose('ali-pay', 'native', order.token)).body.code).toBe(1000);
  await sys.alipay.pay(tradeNo);
  await sys.client.workflow.getHandle(`payment:${app.appId}:${outTradeNo}`).result(); // paid, notified, done
  expect((await merchant.sdk.queryOrder(outTradeNo)).resultCode).toBe('SUCCESS');
  await sys.alipay.finish(tradeNo);
  await waitFor('FINISH', async () => (await merchant.sdk.queryOrder(outTradeNo)).resultCode === 'FINISH');
});

test('a lost provider callback is recovered by the workflow’s active query', async () => {
  const { order, outTradeNo, tradeNo } = await newOrder('wx-pay', 'native');
  expect((await choose('wx-pay', 'native', order.token)).body.code).toBe(1000);
  await sys.wechat.pay(tradeNo, { notify: { mode: 'lost' } });
  const n = await waitFor('merchant notification via active query', async () => merchant.notifications.find((x) => x.outTradeNo === outTradeNo));
  expect(n.resultCode).toBe('SUCCESS');
  expect(await sys.t.db('provider_callbacks').where({ order_id: Number(order.orderId) })).toHaveLength(0); // no callback ever arrived
});

test('provider 5xx during prepay answers 5030 and writes nothing', async () => {
  const { order, outTradeNo } = await newOrder('wx-pay', 'native');
  await sys.wechat.injectFault({ kind: 'http500', count: 10 });
  try {
    const res = await choose('wx-pay', 'native', order.token);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe(5030);
  } finally {
    await sys.wechat.clearFaults();
  }
  const row = await sys.t.db('orders').where({ id: Number(order.orderId) }).first();
  expect(row).toMatchObject({ status: 'CREATED', channel_id: null, channel_type: null });
  const state = await sys.client.workflow.getHandle(`payment:${app.appId}:${outTradeNo}`).query(stateQuery);
  expect(state.status).toBe('CREATED');
  expect(state.channel).toBeNull();
  // The consumer can simply try again once the provider is back.
  expect((await choose('wx-pay', 'native', order.token)).body.code).toBe(1000);
});

test('a broken provider response signature during prepay is 5030, not a payment page', async () => {
  const { order } = await newOrder('ali-pay', 'native');
  sys.alipay.injectFault({ kind: 'badSignature', count: 10 });
  try {
    const res = await choose('ali-pay', 'native', order.token);
    expect(res.body.code).toBe(5030);
  } finally {
    sys.alipay.clearFaults();
  }
});
