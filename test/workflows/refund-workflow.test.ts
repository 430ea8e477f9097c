/**
 * RefundWorkflow and the payment-exception path under the Java time-skipping test server, with the real
 * use-cases and PostgreSQL and a scripted provider: polling until final, retries that always carry the same
 * request number, the REFUND_RESULT schedule, reservations released on failure, and a duplicate payment that
 * ends refunded while the order's own result stays SUCCESS.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { UseCases } from '../../app';
import { findAppWithKeys } from '../../db/queries/apps';
import { NOTIFY_OFFSETS_MS } from '../../domain/notify-schedule';
import { providerOutRefundNo } from '../../domain/refund';
import { createProviderRegistry } from '../../providers/registry';
import { verifySignedHeaders } from '../../signature';
import { WorkflowIds } from '../../temporal/workflow-ids';
import { createPaymentWorker } from '../../worker/create-worker';
import { providerCallbackSignal, refundCallbackSignal, refundStateQuery, type PaymentWorkflowInput, type RefundState } from '../../workflows/messages';
import { paymentWorkflowV2 } from '../../workflows/payment';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { maybeCaptureHistory } from '../support/history';
import { ACK, FAIL, startMerchantServer, type MerchantServer } from '../support/merchant-server';
import { ScriptedProvider } from '../support/scripted-provider';
import { testUseCases, workerActivities } from '../support/system';
import { startTimeSkipping } from '../support/time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let t: TestDb;
let merchant: MerchantServer;
let app: SeededApp;
const scripted = new ScriptedProvider('ali-pay');
const providers = createProviderRegistry([scripted]);

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
  t = await createTestDb();
  merchant = await startMerchantServer(() => env.currentTimeMs());
  // Two channels of one wallet: a second one can take a duplicate payment.
  app = await seedApp(t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native' }, { channelType: 'ali-pay', sceneCode: 'h5' }] });
});

afterAll(async () => {
  await merchant?.close();
  await t?.destroy();
  await env?.teardown();
});

beforeEach(() => {
  merchant.received.length = 0;
  merchant.respond = () => ACK;
  scripted.calls.length = 0;
  scripted.refundAnswers = [];
  scripted.refundQueryAnswers = [];
  scripted.queryOutcome = { status: 'WAITING' };
});

/** A worker on its own task queue, and the use-cases starting workflows on it (PROVIDER_POLL_INTERVAL_SECONDS 60). */
async function withWorker<T>(fn: (useCases: UseCases, taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `tq-${randomBytes(4).toString('hex')}`;
  const useCases = testUseCases({ t, client: env.client, taskQueue, providers });
  const activities = workerActivities({ t, providers, useCases });
  const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities, workflowBundle: bundle });
  return worker.runUntil(fn(useCases, taskQueue));
}

/** An order paid through the app's first channel, as the PaymentWorkflow records it. */
async function paidOrder(amount = 1000) {
  const order = await seedOrder(t, { appId: app.appId, amount, notifyUrl: merchant.url, expireAt: new Date((await env.currentTimeMs()) + 30 * 60_000) });
  const ch = app.channels[0];
  await t.db('orders').where({ id: order.id }).update({ status: 'SUCCESS', channel_id: ch.channelId, channel_type: ch.channelType, mch_id: ch.mchId, provider_trade_no: 'P-1', pay_time: new Date() });
  return order;
}

async function refund(useCases: UseCases, outTradeNo: string, amount: number, outRefundNo = `R${randomBytes(4).toString('hex')}`) {
  const keys = await findAppWithKeys(t.db, t.box, app.appId);
  return useCases.refunds.merchantRefund(keys!, { outTradeNo, outRefundNo, amount, reason: '测试退款' });
}

const refundHandle = (outRefundNo: string) => env.client.workflow.getHandle(WorkflowIds.refund(app.appId, outRefundNo));
const refundResult = (outRefundNo: string) => refundHandle(outRefundNo).result() as Promise<RefundState>;

test('a PROCESSING refund is polled until SUCCESS, recorded, and notified as a signed REFUND_RESULT', async () => {
  scripted.refundAnswers = [{ status: 'PROCESSING', providerRefundNo: 'WX-R-1' }];
  scripted.refundQueryAnswers = [{ status: 'PROCESSING', providerRefundNo: 'WX-R-1' }, { status: 'SUCCESS', amountFen: 300, providerRefundNo: 'WX-R-1', refundTime: new Date('2026-11-25T04:00:00Z') }];
  merchant.respond = (n) => (n >= 2 ? ACK : FAIL);
  const order = await paidOrder();
  const state = await withWorker(async (uc) => {
    const r = await refund(uc, order.out_trade_no, 300, 'R-poll');
    expect(r.status).toBe('PROCESSING');
    const s = await refundResult('R-poll');
    await maybeCaptureHistory(refundHandle('R-poll'), 'refund-polled-success');
    await maybeCaptureHistory(refundHandle('R-poll'), 'refund-polled-success-local-activities');
    return s;
  });
  expect(state.status).toBe('SUCCESS');
  expect(state.notifyStatus).toBe('ACKED');
  // One refund request, then queries until final; every call named the same provider request number.
  const calls = scripted.calls.filter((c) => c.op === 'refund' || c.op === 'queryRefund');
  expect(calls.map((c) => c.op)).toEqual(['refund', 'queryRefund', 'queryRefund']);
  expect(new Set(calls.map((c) => c.outRefundNo))).toEqual(new Set([providerOutRefundNo(state.refundId)]));
  const row = await t.db('refunds').where({ id: state.refundId }).first();
  expect(row).toMatchObject({ status: 'SUCCESS', provider_refund_id: 'WX-R-1', notify_status: 'ACKED' });
  expect(row.refund_time.toISOString()).toBe('2026-11-25T04:00:00.000Z');
  expect(merchant.received).toHaveLength(2);
  const n = merchant.received[1];
  expect(n.body).toEqual({
    eventId: `REFUND_RESULT-${state.refundId}`,
    eventType: 'REFUND_RESULT',
    appId: app.appId,
    refundId: state.refundId,
    outRefundNo: 'R-poll',
    outTradeNo: order.out_trade_no,
    orderId: order.id,
    amount: 300,
    refundTime: '2026-11-25 12:00:00',
    resultCode: 'SUCCESS',
    resultErrorCode: null,
    resultErrorMsg: null,
    attempt: 2,
  });
  expect(verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: '/notify', headers: n.headers, body: n.rawBody, keys: [app.appKey], now: Date.now() }).ok).toBe(true);
  expect(verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: '/notify', headers: n.headers, body: n.rawBody, keys: ['wrong'], now: Date.now() }).ok).toBe(false);
  const attempts = await t.db('notification_attempts').where({ refund_id: state.refundId }).orderBy('attempt');
  expect(attempts.map((a) => [a.attempt, a.acknowledged])).toEqual([[1, false], [2, true]]);
  // The order's own attempts are numbered apart from its refund's.
  expect(await t.db('notification_attempts').where({ order_id: order.id }).whereNull('refund_id')).toHaveLength(0);
});

test('a merchant refusing every REFUND_RESULT gets exactly 16 attempts at the anchored offsets', async () => {
  merchant.respond = () => FAIL;
  const order = await paidOrder();
  const state = await withWorker(async (uc) => {
    await refund(uc, order.out_trade_no, 1000, 'R-exhaust');
    return refundResult('R-exhaust');
  });
  expect(state.status).toBe('SUCCESS');
  expect(state.notifyStatus).toBe('NOTIFY_EXHAUSTED');
  const anchor = state.notifyAttempts[0].scheduledAt;
  expect(state.notifyAttempts.map((a) => a.scheduledAt - anchor)).toEqual(NOTIFY_OFFSETS_MS);
  expect(merchant.received.map((r) => r.body.eventType)).toEqual(Array(16).fill('REFUND_RESULT'));
  expect((await t.db('refunds').where({ id: state.refundId }).first()).notify_status).toBe('NOTIFY_EXHAUSTED');
});

test('a provider outage is retried with the same request number until the provider answers', async () => {
  scripted.refundAnswers = ['UNAVAILABLE', 'UNAVAILABLE', { status: 'SUCCESS', amountFen: 500, providerRefundNo: null, refundTime: new Date() }];
  const order = await paidOrder();
  const state = await withWorker(async (uc) => {
    await refund(uc, order.out_trade_no, 500, 'R-outage');
    return refundResult('R-outage');
  });
  expect(state.status).toBe('SUCCESS');
  const refunds = scripted.calls.filter((c) => c.op === 'refund');
  expect(refunds).toHaveLength(3);
  expect(new Set(refunds.map((c) => c.outRefundNo)).size).toBe(1);
});

test('a refund the provider never received is sent again with the same number; a FAIL gives its amount back', async () => {
  scripted.refundAnswers = [{ status: 'PROCESSING', providerRefundNo: null }, { status: 'FAIL', errorCode: 'ACQ.SELLER_BALANCE_NOT_ENOUGH', errorMsg: '卖家余额不足' }];
  scripted.refundQueryAnswers = [{ status: 'NOT_FOUND' }];
  const order = await paidOrder(1000);
  await withWorker(async (uc) => {
    await refund(uc, order.out_trade_no, 1000, 'R-fail');
    const failed = await refundResult('R-fail');
    expect(failed).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.SELLER_BALANCE_NOT_ENOUGH' });
    expect(scripted.calls.filter((c) => c.op === 'refund').map((c) => c.outRefundNo)).toEqual([providerOutRefundNo(failed.refundId), providerOutRefundNo(failed.refundId)]);
    // The failed refund no longer holds the order's money: the full amount is refundable again.
    expect((await t.db('orders').where({ id: order.id }).first()).refund_reserved).toBe(0);
    scripted.refundAnswers = [];
    const again = await refund(uc, order.out_trade_no, 1000, 'R-fail-2');
    expect((await refundResult('R-fail-2')).status).toBe('SUCCESS');
    expect(again.amount).toBe(1000);
  });
  expect((await t.db('orders').where({ id: order.id }).first()).refund_reserved).toBe(1000);
  expect(merchant.received.map((r) => [r.body.outRefundNo, r.body.resultCode, r.body.resultErrorCode])).toEqual([
    ['R-fail', 'FAIL', 'ACQ.SELLER_BALANCE_NOT_ENOUGH'],
    ['R-fail-2', 'SUCCESS', null],
  ]);
});

test("a provider's refund notification ends the wait without another query", async () => {
  scripted.refundAnswers = [{ status: 'PROCESSING', providerRefundNo: 'WX-R-2' }];
  const order = await paidOrder();
  const state = await withWorker(async (uc) => {
    await refund(uc, order.out_trade_no, 100, 'R-callback');
    const h = refundHandle('R-callback');
    await h.query(refundStateQuery); // the workflow is waiting
    await h.signal(refundCallbackSignal, { eventId: 'EV-1', verdict: { status: 'SUCCESS', amount: 100, providerRefundId: 'WX-R-2', refundTime: Date.UTC(2026, 10, 25) } });
    return refundResult('R-callback');
  });
  expect(state.status).toBe('SUCCESS');
  expect(scripted.calls.filter((c) => c.op === 'queryRefund')).toHaveLength(0);
});

test('a second channel paying a paid order becomes a DUPLICATE_PAYMENT exception, refunded in full; the order stays SUCCESS', async () => {
  const order = await seedOrder(t, { appId: app.appId, amount: 1999, notifyUrl: null, expireAt: new Date((await env.currentTimeMs()) + 30 * 60_000) });
  const input: PaymentWorkflowInput = { orderId: order.id, appId: app.appId, outTradeNo: order.out_trade_no, amount: 1999, orderTitle: order.order_title, notifyUrl: null, expireAt: order.expire_at.getTime(), pollIntervalMs: 60_000 };
  const [first, second] = app.channels;
  const paidThrough = (channel: typeof first, tradeNo: string) => ({
    appId: app.appId,
    channel,
    eventId: `evt-${tradeNo}`,
    verdict: { status: 'SUCCESS' as const, amount: 1999, providerTradeNo: tradeNo, payTime: Date.UTC(2026, 10, 25) },
  });
  const { payment, exception, refundState } = await withWorker(async (_uc, taskQueue) => {
    const handle = await env.client.workflow.start(paymentWorkflowV2, { args: [input], workflowId: order.workflow_id, taskQueue });
    await handle.signal(providerCallbackSignal, paidThrough(first, 'T-FIRST'));
    await handle.signal(providerCallbackSignal, paidThrough(second, 'T-SECOND'));
    const payment = await handle.result();
    await maybeCaptureHistory(handle, 'v2-duplicate-payment-exception');
    const exception = await t.db('payment_exceptions').where({ order_id: order.id }).first();
    const refundRow = await t.db('refunds').where({ payment_exception_id: exception.id }).first();
    return { payment, exception, refundState: await env.client.workflow.getHandle(refundRow.workflow_id).result() as RefundState };
  });
  expect(payment.status).toBe('SUCCESS');
  expect(payment.channel?.channelId).toBe(first.channelId);
  expect(exception).toMatchObject({ kind: 'DUPLICATE_PAYMENT', channel_id: second.channelId, provider_trade_no: 'T-SECOND', amount: 1999, order_status: 'SUCCESS' });
  expect(refundState.status).toBe('SUCCESS');
  // The refund went to the second channel's trade, in full, and the exception follows it.
  const refundCall = scripted.calls.find((c) => c.op === 'refund')!;
  expect(refundCall.outTradeNo).toBe(`CD${order.id.toString().padStart(10, '0')}C${second.channelId}`);
  expect(await t.db('payment_exceptions').where({ id: exception.id }).first()).toMatchObject({ status: 'REFUNDED', refund_reserved: 1999 });
  const order2 = await t.db('orders').where({ id: order.id }).first();
  expect(order2).toMatchObject({ status: 'SUCCESS', refund_reserved: 0 });
  const audits = await t.db('admin_audit_log').where({ target_type: 'payment_exception', target_id: String(exception.id) }).orderBy('id');
  expect(audits.map((a) => [a.actor, a.action])).toEqual([['system', 'exception.record'], ['system', 'exception.refund']]);
});
