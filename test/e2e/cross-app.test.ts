/**
 * Cross-app access on every merchant route: app B, correctly signed with its own key, names app A's order,
 * refund, transfer, cashier token and statement day. Every such request is 4040 (or answers only B's own data),
 * and A's rows are unchanged to the byte.
 */
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../domain/order';
import { signRequestHeaders } from '../../signature';
import type { ChannelCredentials } from '../../providers/types';
import { signedCall } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let ali: ChannelCredentials;
let appA: SeededApp;
let appB: SeededApp;
let merchantA: SdkMerchant;
const admin = { username: 'admin', ip: '127.0.0.1' };

/** What A has, created through the real flow (sandbox payment, refund, transfer). */
const a = { outTradeNo: `XA${randomBytes(5).toString('hex')}`, token: '', orderId: 0, outRefundNo: `XAR${randomBytes(4).toString('hex')}`, outBizNo: `XAT${randomBytes(4).toString('hex')}`, day: '' };

beforeAll(async () => {
  sys = await startTestSystem({ pollIntervalSeconds: 1 });
  ali = await sys.alipay.createMerchant();
  appA = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: ali }] });
  appB = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchantA = await startSdkMerchant(sys.gateway, appA.appId, appA.appKey);
  for (const app of [appA, appB]) await sys.useCases.transfers.saveSettings(admin, app.appId, { enabled: true, maxPerTransfer: 100_000, dailyLimit: 1_000_000, approvalThreshold: 100_000 });

  const order = await merchantA.sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡', orderTitle: '会员', outTradeNo: a.outTradeNo, thirdPartyUser: 'u-1' });
  a.token = order.token;
  a.orderId = Number(order.orderId);
  const ch = appA.channels[0];
  const prepay = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token, channelId: ch.channelId }) });
  expect(((await prepay.json()) as { code: number }).code).toBe(1000);
  await sys.alipay.pay(providerOutTradeNo(a.orderId, ch.channelId));
  await waitFor('A paid', async () => (await sys.t.db('orders').where({ id: a.orderId }).first()).status === 'SUCCESS');
  await merchantA.sdk.refund({ outTradeNo: a.outTradeNo, outRefundNo: a.outRefundNo, amount: 500 });
  await waitFor('A refunded', async () => (await sys.t.db('refunds').where({ app_id: appA.appId, out_refund_no: a.outRefundNo }).first())?.status === 'SUCCESS');
  await merchantA.sdk.transfer({ outBizNo: a.outBizNo, channelType: 'ali-pay', amount: 100, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: 'r' });
  await waitFor('A transferred', async () => (await sys.t.db('transfers').where({ app_id: appA.appId, out_biz_no: a.outBizNo }).first())?.status === 'SUCCESS');
  // The payment and the refund moved to yesterday (Asia/Shanghai), so A has a statement B could ask for.
  const yesterday = new Date(Date.now() - 86_400_000);
  await sys.t.db('orders').where({ id: a.orderId }).update({ pay_time: yesterday });
  await sys.t.db('refunds').where({ app_id: appA.appId, out_refund_no: a.outRefundNo }).update({ refund_time: yesterday });
  a.day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(yesterday);
}, 180_000);

afterAll(async () => {
  await merchantA?.close();
  await sys?.stop();
});

/** A's rows in every table B could reach through the merchant API. */
async function aRows() {
  const [orders, refunds, transfers, attempts] = await Promise.all([
    sys.t.db('orders').where({ app_id: appA.appId }).orderBy('id'),
    sys.t.db('refunds').where({ app_id: appA.appId }).orderBy('id'),
    sys.t.db('transfers').where({ app_id: appA.appId }).orderBy('id'),
    sys.t.db('notification_attempts').where({ order_id: a.orderId }).orderBy('id'),
  ]);
  return JSON.parse(JSON.stringify({ orders, refunds, transfers, attempts })) as unknown;
}

test('A\'s own statement of that day lists its payment and refund (the baseline B must not see)', async () => {
  const res = await fetch(`${sys.gateway}/bills/${a.day}`, { headers: signRequestHeaders({ method: 'GET', pathWithQuery: `/api/cashier-desk/bills/${a.day}`, appId: appA.appId, appKey: appA.appKey, body: '' }) });
  const csv = await res.text();
  expect(csv).toContain(a.outTradeNo);
  expect(csv).toContain(a.outRefundNo);
});

test.each([
  ['query A\'s order', 'GET', () => `/api/cashier-desk/out-trade-no/query-pay-result/${a.outTradeNo}`, undefined],
  ['refund A\'s order', 'POST', () => '/api/cashier-desk/refunds', () => ({ outTradeNo: a.outTradeNo, outRefundNo: `XB${randomBytes(4).toString('hex')}`, amount: 1 })],
  ['repeat A\'s exact refund request', 'POST', () => '/api/cashier-desk/refunds', () => ({ outTradeNo: a.outTradeNo, outRefundNo: a.outRefundNo, amount: 500 })],
  ['query A\'s refund', 'GET', () => `/api/cashier-desk/refunds/${a.outRefundNo}`, undefined],
  ['query A\'s transfer', 'GET', () => `/api/cashier-desk/transfers/${a.outBizNo}`, undefined],
  ['choose channels for A\'s order (its token)', 'POST', () => '/api/cashier-desk/payment/list', () => ({ token: a.token, channelIds: [appB.channels[0].channelId] })],
])('B tries to %s: 4040, A unchanged', async (_name, method, path, body) => {
  const before = await aRows();
  const res = await signedCall(sys.apiUrl, appB, method, path(), body?.());
  expect([res.status, res.body.code]).toEqual([404, 4040]);
  expect(JSON.stringify(res.body)).not.toContain(a.outTradeNo);
  expect(await aRows()).toEqual(before);
});

test('B\'s statement of the same day lists none of A\'s payments or refunds', async () => {
  const before = await aRows();
  const pathWithQuery = `/api/cashier-desk/bills/${a.day}`;
  const res = await fetch(`${sys.apiUrl}${pathWithQuery}`, { headers: signRequestHeaders({ method: 'GET', pathWithQuery, appId: appB.appId, appKey: appB.appKey, body: '' }) });
  expect(res.status).toBe(200);
  const csv = await res.text();
  expect(csv).not.toContain(a.outTradeNo);
  expect(csv).not.toContain(a.outRefundNo);
  expect(csv.trim().split('\n').at(-1)).toBe('0,0,0,0,0');
  expect(await aRows()).toEqual(before);
});

test('B using A\'s numbers for its own order and transfer gets its own, separate objects; A unchanged', async () => {
  const before = await aRows();
  const order = await signedCall<{ orderId: number }>(sys.apiUrl, appB, 'POST', '/api/cashier-desk/unified/orders', { amount: 1, goodsDesc: 'g', orderTitle: 't', outTradeNo: a.outTradeNo, thirdPartyUser: 'u' });
  expect(order.body.code).toBe(1000);
  expect(order.body.data!.orderId).not.toBe(a.orderId);
  const q = await signedCall<{ resultCode: string }>(sys.apiUrl, appB, 'GET', `/api/cashier-desk/out-trade-no/query-pay-result/${a.outTradeNo}`);
  expect(q.body.data!.resultCode).toBe('NULL'); // B's own unpaid order, not A's paid one
  expect(await aRows()).toEqual(before);
});

test('A\'s app id in the headers with B\'s key is 4010; nothing changes', async () => {
  const before = await aRows();
  const res = await signedCall(sys.apiUrl, { appId: appA.appId, appKey: appB.appKey }, 'POST', '/api/cashier-desk/refunds', { outTradeNo: a.outTradeNo, outRefundNo: `XC${randomBytes(4).toString('hex')}`, amount: 1 });
  expect([res.status, res.body.code]).toEqual([401, 4010]);
  expect(await aRows()).toEqual(before);
});
