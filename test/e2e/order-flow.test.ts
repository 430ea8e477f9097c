/**
 * End to end on the dev server: a merchant (the SDK) creates an order through the signed API, the consumer
 * pays at the Alipay sandbox, the real signed callback reaches the API, the workflow records SUCCESS and
 * notifies the merchant, the query answers SUCCESS, and ops find the workflow by OutTradeNo.
 */
import { randomBytes } from 'node:crypto';
import { CashierDeskError } from '../../sdk';
import { providerOutTradeNo } from '../../domain/order';
import { stateQuery } from '../../workflows/messages';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';
import { maybeCaptureHistory } from '../support/history';

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;

beforeAll(async () => {
  sys = await startTestSystem();
  const ali = await sys.alipay.createMerchant();
  const wx = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, {
    channels: [
      { channelType: 'ali-pay', sceneCode: 'native', creds: ali },
      { channelType: 'ali-pay', sceneCode: 'h5', creds: ali },
      { channelType: 'wx-pay', sceneCode: 'native', creds: wx },
    ],
  });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

async function pay(channelType: string, sceneCode: string, token: string) {
  const res = await fetch(`${sys.gateway}/${channelType}/${sceneCode}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  return { status: res.status, body: (await res.json()) as { code: number; msg: string; data?: Record<string, unknown> } };
}

test('seed flow: order → payment list → Alipay Native → signed callback → SUCCESS → merchant notified → query → found by OutTradeNo', async () => {
  const outTradeNo = `E2E${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  expect(order.token).toMatch(/^[0-9A-F]{32}$/);
  expect(merchant.sdk.verifyOrderSignature(order)).toBe(true);
  expect(order.channels.map((c) => `${c.channelType}/${c.sceneCode}`)).toEqual(['ali-pay/native', 'ali-pay/h5', 'wx-pay/native']);

  // Idempotent: the same request again returns the same order and token; other content is a conflict.
  const again = await merchant.sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  expect([again.orderId, again.token]).toEqual([order.orderId, order.token]);
  await expect(merchant.sdk.unifiedOrder({ amount: 2000, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' })).rejects.toMatchObject({ code: 4090, httpStatus: 409 });

  const url = await merchant.sdk.getPaymentListUrl(order);
  expect(url).toBe(`${sys.apiUrl}/cashier-desk-web/payment?token=${order.token}`);
  // getPaymentListUrl kept one channel per type: ali-pay/native and wx-pay/native; h5 is no longer offered.
  expect((await pay('ali-pay', 'h5', order.token)).body.code).toBe(4030);

  const before = await merchant.sdk.queryOrder(outTradeNo);
  expect(before.resultCode).toBe('NULL');

  const prepay = await pay('ali-pay', 'native', order.token);
  expect(prepay.body).toMatchObject({ code: 1000, data: { kind: 'qr' } });
  const handle = sys.client.workflow.getHandle(`payment:${app.appId}:${outTradeNo}`);
  expect((await handle.query(stateQuery)).status).toBe('PAYING');

  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), app.channels[0].channelId));
  const notification = await waitFor('merchant notification', async () => merchant.notifications.find((n) => n.outTradeNo === outTradeNo));
  expect(notification).toMatchObject({ eventType: 'PAYMENT_RESULT', appId: app.appId, amount: 1999, resultCode: 'SUCCESS', channelType: 'ali-pay', attempt: 1 });
  expect(notification.payTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  const result = await merchant.sdk.queryOrder(outTradeNo);
  expect(result).toMatchObject({ resultCode: 'SUCCESS', channelType: 'ali-pay', channelId: app.channels[0].channelId, mchId: app.channels[0].mchId });
  expect(result.payTime).toBe(notification.payTime);

  const found = await waitFor('visibility', async () => {
    const ids: string[] = [];
    for await (const wf of sys.client.workflow.list({ query: `OutTradeNo = "${outTradeNo}"` })) ids.push(wf.workflowId);
    return ids.length ? ids : null;
  });
  expect(found).toEqual([`payment:${app.appId}:${outTradeNo}`]);
  // The workflow records the acknowledgement right after the merchant's answer.
  const row = await waitFor('notify status', async () => {
    const r = await sys.t.db('orders').where({ out_trade_no: outTradeNo }).first();
    return r.notify_status === 'ACKED' ? r : null;
  });
  expect(row).toMatchObject({ status: 'SUCCESS', amount: 1999 });
  await handle.result();
  await maybeCaptureHistory(handle, 'v2-paid-notified');
  const attempts = await sys.t.db('notification_attempts').where({ order_id: row.id });
  expect(attempts).toHaveLength(1);
  expect(attempts[0]).toMatchObject({ attempt: 1, http_status: 200, acknowledged: true });
});

test('another app cannot see the order (4040, not 4030)', async () => {
  const other = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  const outTradeNo = `X${randomBytes(5).toString('hex')}`;
  await merchant.sdk.unifiedOrder({ amount: 1, goodsDesc: 'g', orderTitle: 't', outTradeNo, thirdPartyUser: 'u' });
  const otherMerchant = await startSdkMerchant(sys.gateway, other.appId, other.appKey);
  try {
    const err = await otherMerchant.sdk.queryOrder(outTradeNo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CashierDeskError);
    expect(err).toMatchObject({ code: 4040, httpStatus: 404 });
  } finally {
    await otherMerchant.close();
  }
});
