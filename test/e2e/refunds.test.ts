/**
 * Refunds end to end on the dev server, through the signed merchant API and the real SDK adapters against the
 * sandboxes: full, partial and repeated refunds, the invariant under twenty concurrent requests through three
 * API processes (each its own pool), idempotency, refusals that change nothing, a provider 5xx during the
 * refund (exactly one refund at the sandbox), and payment exceptions (late and duplicate payments) that end
 * with the buyer refunded at the sandbox while the order's own result stays as it was.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createDb } from '../../db/connection';
import { providerOutTradeNo } from '../../domain/order';
import { createDefaultProviders } from '../../providers';
import { CashierDeskError, type RefundNotification } from '../../sdk';
import { signedCall } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { buildHttpApp, startTestSystem, testConfig, waitFor, type TestSystem } from '../support/system';
import { createLogger } from '../../observability/logger';

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;

beforeAll(async () => {
  sys = await startTestSystem({ pollIntervalSeconds: 1 });
  const ali = await sys.alipay.createMerchant();
  const ali2 = await sys.alipay.createMerchant();
  const wx = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, {
    channels: [
      { channelType: 'ali-pay', sceneCode: 'native', creds: ali },
      { channelType: 'wx-pay', sceneCode: 'native', creds: wx },
      { channelType: 'ali-pay', sceneCode: 'native', creds: ali2 },
    ],
  });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
}, 120_000);

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

afterEach(() => {
  sys.alipay.clearFaults();
});

async function prepay(channelType: string, token: string, channelId?: number) {
  const res = await fetch(`${sys.gateway}/${channelType}/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, channelId }) });
  const body = (await res.json()) as { code: number; msg: string };
  if (body.code !== 1000) throw new Error(`prepay failed: ${body.code} ${body.msg}`);
}

/** An order paid through the app's channel `index` at its sandbox, SUCCESS in PostgreSQL. */
async function paidOrder(index: number, amount = 1000) {
  const ch = app.channels[index];
  const outTradeNo = `RF${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  await prepay(ch.channelType, order.token, ch.channelId);
  const tradeNo = providerOutTradeNo(Number(order.orderId), ch.channelId);
  if (ch.channelType === 'ali-pay') await sys.alipay.pay(tradeNo);
  else await sys.wechat.pay(tradeNo);
  await waitFor('order SUCCESS', async () => (await sys.t.db('orders').where({ id: Number(order.orderId) }).first()).status === 'SUCCESS');
  return { outTradeNo, orderId: Number(order.orderId), tradeNo };
}

const refundRow = (outRefundNo: string) => sys.t.db('refunds').where({ app_id: app.appId, out_refund_no: outRefundNo }).first();
const finalRefund = (outRefundNo: string) => waitFor(`refund ${outRefundNo} final`, async () => {
  const r = await refundRow(outRefundNo);
  return r && r.status !== 'PROCESSING' ? r : null;
});
const refundNotification = (outRefundNo: string) =>
  waitFor<RefundNotification>(`REFUND_RESULT of ${outRefundNo}`, async () => merchant.refundNotifications.find((n) => n.outRefundNo === outRefundNo));
const countRefunds = async () => Number((await sys.t.db('refunds').count({ n: '*' }).first())!.n);

test('Alipay: a full refund reaches the sandbox once, is notified (verified by the SDK) and shows in query-pay-result', async () => {
  const { outTradeNo, tradeNo } = await paidOrder(0, 1999);
  const r = await merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-FULL-1', amount: 1999, reason: '七天无理由' });
  expect(r).toMatchObject({ outRefundNo: 'ALI-FULL-1', outTradeNo, amount: 1999 });
  expect(['PROCESSING', 'SUCCESS']).toContain(r.status);
  const n = await refundNotification('ALI-FULL-1');
  expect(n).toMatchObject({ eventType: 'REFUND_RESULT', eventId: `REFUND_RESULT-${r.refundId}`, refundId: r.refundId, outTradeNo, amount: 1999, resultCode: 'SUCCESS', attempt: 1 });
  expect(n.refundTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  const q = await merchant.sdk.queryRefund('ALI-FULL-1');
  expect(q).toMatchObject({ refundId: r.refundId, status: 'SUCCESS', amount: 1999, channelType: 'ali-pay', refundTime: n.refundTime, resultErrorCode: null });
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', refundedAmount: 1999 });
  const atSandbox = sys.alipay.refunds(tradeNo);
  expect(atSandbox.map((x) => x.refundAmountFen)).toEqual([1999]);
  // Fully refunded: nothing is left, whatever the amount.
  await expect(merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-FULL-2', amount: 1 })).rejects.toMatchObject({ code: 4090 });
  // Found in the Web UI by OutRefundNo.
  const ids = await waitFor('visibility', async () => {
    const found: string[] = [];
    for await (const wf of sys.client.workflow.list({ query: `OutRefundNo = "ALI-FULL-1" AND RefundStatus = "SUCCESS"` })) found.push(wf.workflowId);
    return found.length ? found : null;
  });
  expect(ids).toEqual([`refund:${app.appId}:ALI-FULL-1`]);
});

test('Alipay: partial refunds add up; over-refund, unpaid, unknown and foreign orders are refused and change nothing; same request → same refund', async () => {
  const { outTradeNo, tradeNo } = await paidOrder(0, 1000);
  const first = await merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-P-1', amount: 300 });
  const second = await merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-P-2', amount: 500 });
  expect(second.refundId).not.toBe(first.refundId);
  // Same request again: the same refund; same number with other content: 4090.
  expect((await merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-P-1', amount: 300 })).refundId).toBe(first.refundId);
  await expect(merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-P-1', amount: 301 })).rejects.toMatchObject({ code: 4090 });
  const before = await countRefunds();
  // 200 are left: 201 is too much.
  await expect(merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-P-3', amount: 201 })).rejects.toMatchObject({ code: 4090, msg: expect.stringContaining('200') });
  await expect(merchant.sdk.refund({ outTradeNo: 'NO-SUCH-ORDER', outRefundNo: 'ALI-P-4', amount: 1 })).rejects.toMatchObject({ code: 4040 });
  const unpaidNo = `UP${randomBytes(4).toString('hex')}`;
  await merchant.sdk.unifiedOrder({ amount: 100, goodsDesc: 'g', orderTitle: 't', outTradeNo: unpaidNo, thirdPartyUser: 'u' });
  await expect(merchant.sdk.refund({ outTradeNo: unpaidNo, outRefundNo: 'ALI-P-5', amount: 1 })).rejects.toMatchObject({ code: 4090, msg: expect.stringContaining('未支付') });
  const other = await seedApp(sys.t, { channels: [] });
  const foreign = await signedCall(sys.apiUrl, other, 'POST', '/api/cashier-desk/refunds', { outTradeNo, outRefundNo: 'X-1', amount: 1 });
  expect(foreign.body.code).toBe(4040);
  expect((await signedCall(sys.apiUrl, other, 'GET', '/api/cashier-desk/refunds/ALI-P-1')).body.code).toBe(4040);
  expect(await countRefunds()).toBe(before);
  await finalRefund('ALI-P-1');
  await finalRefund('ALI-P-2');
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', refundedAmount: 800 });
  expect(sys.alipay.refunds(tradeNo).map((x) => x.refundAmountFen).sort()).toEqual([300, 500]);
});

test('bad refund requests are refused with 4000 and write nothing', async () => {
  const { outTradeNo } = await paidOrder(0, 100);
  const before = await countRefunds();
  const bad: Array<Record<string, unknown>> = [
    { outTradeNo, outRefundNo: 'B-1', amount: 0 },
    { outTradeNo, outRefundNo: 'B-2', amount: 1.5 },
    { outTradeNo, outRefundNo: 'B-3', amount: '100' },
    { outTradeNo, outRefundNo: 'has space', amount: 1 },
    { outTradeNo, outRefundNo: 'x'.repeat(65), amount: 1 },
    { outTradeNo, outRefundNo: 'B-4', amount: 1, reason: 'r'.repeat(129) },
    { outTradeNo, outRefundNo: 'B-5', amount: 1, refundId: 7 },
    { outTradeNo, outRefundNo: 'B-6', amount: 1, surprise: true },
    { outTradeNo, outRefundNo: 'B-7', amount: 1, notifyUrl: 'ftp://example.com/x' },
    { outRefundNo: 'B-8', amount: 1 },
  ];
  for (const body of bad) {
    const res = await signedCall(sys.apiUrl, app, 'POST', '/api/cashier-desk/refunds', body);
    expect([res.status, res.body.code]).toEqual([400, 4000]);
  }
  expect((await signedCall(sys.apiUrl, app, 'GET', '/api/cashier-desk/refunds/has%20space')).body.code).toBe(4000);
  expect(await countRefunds()).toBe(before);
});

test('twenty concurrent refunds of one order through three API processes: never more than paid', async () => {
  const { outTradeNo, tradeNo } = await paidOrder(0, 1000);
  // Three API processes as far as PostgreSQL can tell: each its own HTTP server and connection pool.
  const apis: Array<{ url: string; close(): Promise<void> }> = [];
  for (let i = 0; i < 3; i++) {
    const db = createDb(sys.t.url, 5);
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = testConfig({ PUBLIC_BASE_URL: sys.apiUrl, PROVIDER_POLL_INTERVAL_SECONDS: '1' });
    const { app: httpApp } = buildHttpApp({ t: { ...sys.t, db }, client: sys.client, taskQueue: sys.taskQueue, providers: createDefaultProviders(), log: createLogger({ level: 'error', write: () => {} }) }, config);
    server.on('request', httpApp);
    apis.push({ url, close: async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); await db.destroy(); } });
  }
  try {
    // 20 × 150 fen against 1000 paid: at most 6 can be accepted.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signedCall(apis[i % 3].url, app, 'POST', '/api/cashier-desk/refunds', { outTradeNo, outRefundNo: `C-${i}`, amount: 150 })),
    );
    const accepted = answers.filter((a) => a.body.code === 1000);
    const refused = answers.filter((a) => a.body.code === 4090);
    expect(accepted).toHaveLength(6);
    expect(refused).toHaveLength(14);
    const order = await sys.t.db('orders').where({ out_trade_no: outTradeNo }).first();
    expect(order.refund_reserved).toBe(900);
    for (const a of accepted) await finalRefund(String((a.body.data as { outRefundNo: string }).outRefundNo));
    expect(sys.alipay.refunds(tradeNo)).toHaveLength(6);
    expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ refundedAmount: 900 });
  } finally {
    for (const a of apis) await a.close();
  }
});

test('Alipay answers 502 after applying the refund: retried with the same number, exactly one refund at the sandbox', async () => {
  const { outTradeNo, tradeNo } = await paidOrder(0, 800);
  sys.alipay.injectFault({ kind: 'http502AfterProcessing', method: 'alipay.trade.refund', count: 2 });
  await merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-502', amount: 800 });
  const row = await finalRefund('ALI-502');
  expect(row.status).toBe('SUCCESS');
  expect(sys.alipay.refunds(tradeNo).map((x) => x.refundAmountFen)).toEqual([800]);
  const state = await sys.client.workflow.getHandle(row.workflow_id).result();
  expect((state as { providerCalls: number }).providerCalls).toBe(1); // one workflow call; the activity retried inside it
});

test('an order in FINISH refuses refunds (4090); TRADE_FINISHED reaches PostgreSQL while the workflow still notifies', async () => {
  merchant.failNext = 100; // the payment workflow stays in its notification loop
  try {
    const { outTradeNo, orderId, tradeNo } = await paidOrder(0, 500);
    await sys.alipay.finish(tradeNo);
    await waitFor('FINISH recorded', async () => (await sys.t.db('orders').where({ id: orderId }).first()).status === 'FINISH');
    const wf = await sys.client.workflow.getHandle(`payment:${app.appId}:${outTradeNo}`).describe();
    expect(wf.status.name).toBe('RUNNING');
    const err = await merchant.sdk.refund({ outTradeNo, outRefundNo: 'ALI-FIN', amount: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CashierDeskError);
    expect(err).toMatchObject({ code: 4090, msg: expect.stringContaining('FINISH') });
    expect(await refundRow('ALI-FIN')).toBeUndefined();
  } finally {
    merchant.failNext = 0;
  }
});

test('a duplicate payment through a second channel is refunded in full at its sandbox; the order keeps its result', async () => {
  const outTradeNo = `DUP${randomBytes(4).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 700, goodsDesc: 'g', orderTitle: 't', outTradeNo, thirdPartyUser: 'u' });
  const [a, , b] = app.channels;
  await prepay('ali-pay', order.token, a.channelId);
  await prepay('ali-pay', order.token, b.channelId);
  // The second trade cannot be closed (the provider is down for closes), so the buyer can still pay it.
  sys.alipay.injectFault({ kind: 'http502', method: 'alipay.trade.close', count: 10 });
  const tradeA = providerOutTradeNo(Number(order.orderId), a.channelId);
  const tradeB = providerOutTradeNo(Number(order.orderId), b.channelId);
  await sys.alipay.pay(tradeA);
  await waitFor('paid through A', async () => (await sys.t.db('orders').where({ id: Number(order.orderId) }).first()).status === 'SUCCESS');
  await sys.alipay.pay(tradeB);
  const exception = await waitFor('exception', async () => sys.t.db('payment_exceptions').where({ order_id: Number(order.orderId) }).first());
  expect(exception).toMatchObject({ kind: 'DUPLICATE_PAYMENT', channel_id: b.channelId, amount: 700 });
  await waitFor('exception refunded', async () => (await sys.t.db('payment_exceptions').where({ id: exception.id }).first()).status === 'REFUNDED');
  expect(sys.alipay.refunds(tradeB).map((x) => x.refundAmountFen)).toEqual([700]);
  expect(sys.alipay.refunds(tradeA)).toEqual([]);
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', channelId: a.channelId, refundedAmount: 0 });
});

test('WeChat: refunds are asynchronous — PROCESSING, then REFUND.SUCCESS verified on its own route; a partial refund and a second one', async () => {
  const { outTradeNo, tradeNo } = await paidOrder(1, 1000);
  const first = await merchant.sdk.refund({ outTradeNo, outRefundNo: 'WX-P-1', amount: 400 });
  expect(first.status).toBe('PROCESSING');
  const n = await refundNotification('WX-P-1');
  expect(n).toMatchObject({ resultCode: 'SUCCESS', amount: 400, outTradeNo });
  // The provider's REFUND.SUCCESS reached our refund callback route, verified and accepted.
  const evidence = await sys.t.db('provider_callbacks').where({ kind: 'REFUND', out_refund_no: `CDR${first.refundId.toString().padStart(10, '0')}` });
  expect(evidence.map((e) => [e.result, e.outcome])).toContainEqual(['ACCEPTED', 'SUCCESS']);
  await merchant.sdk.refund({ outTradeNo, outRefundNo: 'WX-P-2', amount: 600 });
  expect((await refundNotification('WX-P-2')).resultCode).toBe('SUCCESS');
  await expect(merchant.sdk.refund({ outTradeNo, outRefundNo: 'WX-P-3', amount: 1 })).rejects.toMatchObject({ code: 4090 });
  const atSandbox = await sys.wechat.refunds(tradeNo);
  expect(atSandbox.map((r) => [r.amount_refund, r.status]).sort()).toEqual([[400, 'SUCCESS'], [600, 'SUCCESS']]);
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', refundedAmount: 1000 });
});

test('WeChat: a refund whose notification is lost is completed by polling', async () => {
  await sys.wechat.setRefundBehaviour({ autoCompleteAfterMs: 300, outcome: 'SUCCESS', notify: { mode: 'lost' } });
  try {
    const { outTradeNo, tradeNo } = await paidOrder(1, 900);
    const r = await merchant.sdk.refund({ outTradeNo, outRefundNo: 'WX-LOST', amount: 900 });
    const row = await finalRefund('WX-LOST');
    expect(row.status).toBe('SUCCESS');
    const evidence = await sys.t.db('provider_callbacks').where({ kind: 'REFUND', out_refund_no: `CDR${r.refundId.toString().padStart(10, '0')}` });
    expect(evidence).toHaveLength(0); // nothing arrived: the query found it
    expect((await sys.wechat.refunds(tradeNo)).map((x) => x.status)).toEqual(['SUCCESS']);
  } finally {
    await sys.wechat.setRefundBehaviour({ autoCompleteAfterMs: 1000, outcome: 'SUCCESS', notify: { mode: 'normal' } });
  }
});

test('WeChat: an ABNORMAL refund ends FAIL with the provider reason and gives its amount back', async () => {
  await sys.wechat.setRefundBehaviour({ autoCompleteAfterMs: 200, outcome: 'ABNORMAL' });
  try {
    const { outTradeNo, orderId } = await paidOrder(1, 500);
    await merchant.sdk.refund({ outTradeNo, outRefundNo: 'WX-ABN', amount: 500 });
    const n = await refundNotification('WX-ABN');
    expect(n).toMatchObject({ resultCode: 'FAIL', resultErrorCode: 'ABNORMAL' });
    expect(await merchant.sdk.queryRefund('WX-ABN')).toMatchObject({ status: 'FAIL', resultErrorCode: 'ABNORMAL' });
    expect((await sys.t.db('orders').where({ id: orderId }).first()).refund_reserved).toBe(0);
  } finally {
    await sys.wechat.setRefundBehaviour({ autoCompleteAfterMs: 1000, outcome: 'SUCCESS' });
  }
});

test('a late payment after the order closed is refunded in full at the sandbox; the order stays CLOSED', async () => {
  const outTradeNo = `LATE${randomBytes(4).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 300, goodsDesc: 'g', orderTitle: 't', outTradeNo, thirdPartyUser: 'u', expireSeconds: 60 });
  const ch = app.channels[1];
  await prepay('wx-pay', order.token, ch.channelId);
  const tradeNo = providerOutTradeNo(Number(order.orderId), ch.channelId);
  // WeChat is down for queries and closes while the order expires, and the buyer's payment notification is
  // lost: the workflow cannot learn of the payment and closes the order.
  await sys.wechat.injectFault({ kind: 'http500', count: 10_000 });
  const { eventId } = await sys.wechat.pay(tradeNo, { notify: { mode: 'lost' } });
  const closed = await waitFor('order CLOSED', async () => {
    const o = await sys.t.db('orders').where({ id: Number(order.orderId) }).first();
    return o.status === 'CLOSED' ? o : null;
  }, 120_000);
  expect(closed.status).toBe('CLOSED');
  await sys.wechat.clearFaults();
  // WeChat redelivers the payment notification: money the order no longer wants.
  await sys.wechat.resendNotification(eventId, { mode: 'normal' });
  const exception = await waitFor('exception', async () => sys.t.db('payment_exceptions').where({ order_id: Number(order.orderId) }).first());
  expect(exception).toMatchObject({ kind: 'LATE_PAYMENT', order_status: 'CLOSED', amount: 300 });
  await waitFor('refunded at WeChat', async () => (await sys.t.db('payment_exceptions').where({ id: exception.id }).first()).status === 'REFUNDED', 60_000);
  expect((await sys.wechat.refunds(tradeNo)).map((r) => [r.amount_refund, r.status])).toEqual([[300, 'SUCCESS']]);
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'FAIL', resultErrorCode: 'ORDER_CLOSED', refundedAmount: 0 });
  const audit = await sys.t.db('admin_audit_log').where({ target_type: 'payment_exception', target_id: String(exception.id), action: 'exception.refund' });
  expect(audit).toHaveLength(1);
}, 180_000);
