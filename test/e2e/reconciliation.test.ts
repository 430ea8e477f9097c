/**
 * Reconciliation end to end on the dev server with the Alipay sandbox's real bills (zip of GBK CSV, through the
 * real alipay-sdk): an administrator reconciles yesterday; a clean payment and its refund match; a payment whose
 * notification was lost is healed by the provider query; a payment of a closed order becomes a payment
 * exception and is refunded at the sandbox; a trade nobody knows stays UNKNOWN_TRADE; a rerun replaces the day.
 * Then the daily Schedule: created idempotently, triggered, it reconciles every config for the previous day.
 */
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../domain/order';
import { previousShanghaiDay, shanghaiDayRange } from '../../domain/reconciliation';
import { providerOutRefundNo } from '../../domain/refund';
import { createTemporalGateway } from '../../temporal/client';
import { AdminClient } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';
import type { ChannelCredentials } from '../../providers/types';

let sys: TestSystem;
let app: SeededApp;
let ali: ChannelCredentials;
let wx: ChannelCredentials;
let merchant: SdkMerchant;
let admin: AdminClient;
const day = previousShanghaiDay(Date.now());
const yesterdayAt = (h: number) => new Date(shanghaiDayRange(day).start.getTime() + h * 3600_000);

beforeAll(async () => {
  sys = await startTestSystem();
  ali = await sys.alipay.createMerchant();
  wx = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: ali }, { channelType: 'wx-pay', sceneCode: 'native', creds: wx }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
  admin = new AdminClient(sys.apiUrl);
  await admin.login(TEST_ADMIN.username, TEST_ADMIN.password);
}, 120_000);

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

async function openOrder(amount: number) {
  const outTradeNo = `RC${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount, goodsDesc: '月卡', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u' });
  const res = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(((await res.json()) as { code: number }).code).toBe(1000);
  return { outTradeNo, orderId: Number(order.orderId), tradeNo: providerOutTradeNo(Number(order.orderId), app.channels[0].channelId) };
}
const orderRow = (id: number) => sys.t.db('orders').where({ id }).first();

async function reconcile(): Promise<{ id: number; status: string; discrepancy_count: number; attempt: number }> {
  const before = await sys.t.db('reconciliation_runs').where({ day, config_id: app.channels[0].configId }).first();
  const started = await admin.post<{ workflowId: string }>('/reconciliations', { day, configId: app.channels[0].configId });
  expect(started.body.code).toBe(1000);
  await sys.client.workflow.getHandle(started.body.data!.workflowId).result();
  const run = await sys.t.db('reconciliation_runs').where({ day, config_id: app.channels[0].configId }).first();
  expect(run.attempt).toBe((before?.attempt ?? 0) + 1);
  return run;
}

const discrepancies = async () =>
  (await admin.get<{ items: Array<{ kind: string; recordKind: string; providerOutTradeNo: string; resolution: string | null; providerAmount: number }> }>(`/reconciliations/discrepancies?day=${day}&pageSize=100`)).body.data!.items;

test('an administrator reconciles yesterday: matches, a healed payment, an exception refunded, an unknown trade; a rerun replaces the day', async () => {
  // A: paid yesterday and partly refunded (the refund settled yesterday too, as far as Alipay's bill says).
  const a = await openOrder(1000);
  await sys.alipay.pay(a.tradeNo, { paidAt: yesterdayAt(10) });
  await waitFor('A paid', async () => (await orderRow(a.orderId)).status === 'SUCCESS');
  const r = await merchant.sdk.refund({ outTradeNo: a.outTradeNo, outRefundNo: `RC-R-${randomBytes(3).toString('hex')}`, amount: 300 });
  await waitFor('refund SUCCESS', async () => (await sys.t.db('refunds').where({ id: r.refundId }).first()).status === 'SUCCESS');
  await sys.alipay.backdateRefund({ outTradeNo: a.tradeNo, outRequestNo: providerOutRefundNo(r.refundId), at: yesterdayAt(11) });
  // B: paid yesterday, but its notification was lost and the workflow has not queried yet: still PAYING here.
  const b = await openOrder(500);
  await sys.alipay.pay(b.tradeNo, { paidAt: yesterdayAt(12), notify: 'lost' });
  // C: paid yesterday while its notification was lost, and the order closed meanwhile (its workflow is gone).
  const c = await openOrder(700);
  await sys.alipay.pay(c.tradeNo, { paidAt: yesterdayAt(13), notify: 'lost' });
  await sys.client.workflow.getHandle(`payment:${app.appId}:${c.outTradeNo}`).terminate('test: the order closed before its payment was known');
  await sys.t.db('orders').where({ id: c.orderId }).update({ status: 'CLOSED', result_error_code: 'ORDER_CLOSED' });
  // D: a trade in the bill that no order of ours has.
  sys.alipay.addBillAnomaly({ kind: 'UNKNOWN_TRADE', appId: ali.providerAppId, day, amountFen: 777 });

  const run = await reconcile();
  expect(run).toMatchObject({ status: 'DONE', provider_payment_count: 4, provider_refund_count: 1, local_payment_count: 1, local_payment_amount: 1000 });
  const first = await discrepancies();
  const bySeen = (items: typeof first) => items.map((d) => [d.kind, d.recordKind, d.providerOutTradeNo.startsWith('CD') ? d.providerOutTradeNo : 'unknown', d.resolution]).sort();
  expect(bySeen(first)).toEqual(
    [
      ['MISSING_LOCAL', 'PAYMENT', b.tradeNo, 'HEALED'],
      ['MISSING_LOCAL', 'PAYMENT', c.tradeNo, 'EXCEPTION'],
      ['MISSING_LOCAL', 'PAYMENT', 'unknown', 'UNKNOWN_TRADE'],
    ].sort(),
  );
  // B was healed through its workflow; C's money goes back to the buyer; C stays CLOSED.
  await waitFor('B healed', async () => (await orderRow(b.orderId)).status === 'SUCCESS');
  const exception = await waitFor('C exception', async () => sys.t.db('payment_exceptions').where({ order_id: c.orderId }).first());
  expect(exception).toMatchObject({ kind: 'LATE_PAYMENT', amount: 700 });
  await waitFor('C refunded', async () => sys.alipay.refunds(c.tradeNo).length === 1);
  expect((await orderRow(c.orderId)).status).toBe('CLOSED');

  // The provider's bill now disagrees about A's amount; the rerun replaces the day's results.
  sys.alipay.addBillAnomaly({ kind: 'WRONG_AMOUNT', appId: ali.providerAppId, day, outTradeNo: a.tradeNo, amountFen: 999 });
  const rerun = await reconcile();
  expect(rerun.status).toBe('DONE');
  const second = await discrepancies();
  expect(bySeen(second)).toEqual(
    [
      ['AMOUNT_MISMATCH', 'PAYMENT', a.tradeNo, null],
      ['MISSING_LOCAL', 'PAYMENT', 'unknown', 'UNKNOWN_TRADE'],
    ].sort(),
  );
  expect(Number((await sys.t.db('reconciliation_runs').where({ day }).count({ n: '*' }).first())!.n)).toBe(1);
  // Today is not over: no bill yet.
  const today = await admin.post('/reconciliations', { day: previousShanghaiDay(Date.now() + 86_400_000), configId: app.channels[0].configId });
  expect(today.body.code).toBe(4000);

  // The merchant's own statement of yesterday, verified by the SDK over its exact bytes: A and the healed B.
  const statement = await merchant.sdk.downloadBill(day);
  expect(statement.rows.map((x) => [x.type, x.outTradeNo, x.amount]).sort()).toEqual([['PAYMENT', a.outTradeNo, 1000], ['PAYMENT', b.outTradeNo, 500]].sort());
  expect(statement.totals).toEqual({ paymentCount: 2, paymentAmount: 1500, refundCount: 0, refundAmount: 0, netAmount: 1500 });
  expect(statement.csv.endsWith('2,1500,0,0,1500\r\n')).toBe(true);
  await expect(merchant.sdk.downloadBill('2026-13-01')).rejects.toMatchObject({ code: 4000 });
  await expect(merchant.sdk.downloadBill(previousShanghaiDay(Date.now() + 86_400_000))).rejects.toMatchObject({ code: 4040 });
}, 180_000);

test("WeChat Pay: yesterday's gzip bill (SHA-1 checked) matches the payment and shows a trade nobody knows", async () => {
  const ch = app.channels[1];
  const outTradeNo = `RW${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 880, goodsDesc: '月卡', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u' });
  const res = await fetch(`${sys.gateway}/wx-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(((await res.json()) as { code: number }).code).toBe(1000);
  const tradeNo = providerOutTradeNo(Number(order.orderId), ch.channelId);
  await sys.wechat.pay(tradeNo, { successTime: yesterdayAt(9) });
  await waitFor('paid', async () => (await orderRow(Number(order.orderId))).status === 'SUCCESS');
  await sys.wechat.addBillAnomaly({ mchid: wx.mchId, day, kind: 'UNKNOWN_TRADE', amountFen: 123 });
  const started = await admin.post<{ workflowId: string }>('/reconciliations', { day, configId: ch.configId });
  expect(started.body.code).toBe(1000);
  await sys.client.workflow.getHandle(started.body.data!.workflowId).result();
  const run = await sys.t.db('reconciliation_runs').where({ day, config_id: ch.configId }).first();
  expect(run).toMatchObject({ status: 'DONE', provider_payment_count: 2, provider_payment_amount: 1003, local_payment_count: 1, local_payment_amount: 880, discrepancy_count: 1 });
  const items = (await admin.get<{ items: Array<{ kind: string; resolution: string | null; providerAmount: number }> }>(`/reconciliations/discrepancies?day=${day}&configId=${ch.configId}`)).body.data!.items;
  expect(items.map((d) => [d.kind, d.resolution, d.providerAmount])).toEqual([['MISSING_LOCAL', 'UNKNOWN_TRADE', 123]]);
});

test('the daily Schedule is created idempotently and, triggered, reconciles every config for the previous day', async () => {
  const temporal = createTemporalGateway({ client: sys.client, taskQueue: sys.taskQueue });
  await temporal.ensureReconciliationSchedule({ hour: 10, minute: 0 });
  await temporal.ensureReconciliationSchedule({ hour: 10, minute: 30 }); // a changed time updates it
  const schedule = await temporal.describeReconciliationSchedule();
  expect(schedule?.spec.timezone).toBe('Asia/Shanghai');
  expect(schedule?.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 10, end: 10, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });
  expect(schedule?.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 86_400_000 });
  const runsBefore = (await sys.t.db('reconciliation_runs').where({ day }).first())?.attempt ?? 0;
  await temporal.triggerReconciliationSchedule();
  const run = await waitFor('scheduled run', async () => {
    const row = await sys.t.db('reconciliation_runs').where({ day, config_id: app.channels[0].configId }).first();
    return row && row.attempt > runsBefore && row.status !== 'RUNNING' ? row : null;
  }, 60_000);
  expect(run).toMatchObject({ trigger: 'SCHEDULE', status: 'DONE' });
  const described = await temporal.describeReconciliationSchedule();
  expect(described?.info.recentActions.length).toBeGreaterThanOrEqual(1);
  await sys.client.schedule.getHandle(temporal.reconciliationScheduleId).delete();
});
