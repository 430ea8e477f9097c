/**
 * The worker process (worker/main.ts, the real composition root) is SIGKILLed between two notification
 * attempts and started again: nothing is lost and the schedule resumes at its anchored offsets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { providerOutTradeNo } from '../../domain/order';
import { providerOutBizNo } from '../../domain/transfer';
import { WorkflowIds } from '../../temporal/workflow-ids';
import { stopNotifySignal } from '../../workflows/messages';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

const ROOT = path.resolve(__dirname, '..', '..');
let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  await sys.stopWorker(); // the worker under test is a separate process
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await merchant?.close();
  await sys?.stop();
});

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: sys.t.url,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: sys.taskQueue,
      CASHIER_MASTER_KEY: sys.t.masterKey.toString('base64'),
      PUBLIC_BASE_URL: sys.apiUrl,
      LOG_LEVEL: 'error',
    },
  });
  children.push(child);
  return child;
}

const attempts = (orderId: number) => sys.t.db('notification_attempts').where({ order_id: orderId }).orderBy('attempt');

test('SIGKILL between attempts 1 and 2: attempts 2 and 3 still run at +15 s and +30 s from attempt 1', async () => {
  let worker = startWorkerProcess();
  merchant.failNext = 100; // the merchant keeps failing, so the schedule runs
  const order = await merchant.sdk.unifiedOrder({ amount: 500, goodsDesc: 'g', orderTitle: 't', outTradeNo: `K${Date.now()}`, thirdPartyUser: 'u' });
  const prepay = await waitFor('prepay (worker started)', async () => {
    const res = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
    return (await res.json()) as { code: number };
  }, 60_000);
  expect(prepay.code).toBe(1000);
  // The worker created its daily reconciliation Schedule at start: 10:00 Asia/Shanghai, overlaps skipped.
  const schedule = await sys.client.schedule.getHandle(WorkflowIds.reconciliationSchedule(sys.taskQueue)).describe();
  expect(schedule.spec.timezone).toBe('Asia/Shanghai');
  expect(schedule.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 10, end: 10, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
  expect(schedule.policies.overlap).toBe('SKIP');
  expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'dailyReconciliationWorkflow', taskQueue: sys.taskQueue });
  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), app.channels[0].channelId));
  const orderId = Number(order.orderId);
  await waitFor('attempt 1 recorded', async () => (await attempts(orderId)).length === 1, 60_000);

  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
  worker = startWorkerProcess();

  const rows = await waitFor('attempts 2 and 3', async () => {
    const r = await attempts(orderId);
    return r.length >= 3 ? r : null;
  }, 90_000);
  const t0 = rows[0].scheduled_at.getTime();
  expect(rows.slice(0, 3).map((r) => r.scheduled_at.getTime() - t0)).toEqual([0, 15_000, 30_000]);
  // Each attempt actually started at (not before) its offset; the kill only delayed nothing past it.
  for (const [i, r] of rows.slice(0, 3).entries()) expect(r.started_at.getTime() - t0).toBeGreaterThanOrEqual([0, 15_000, 30_000][i] - 1000);
  expect(rows.slice(0, 3).map((r) => r.acknowledged)).toEqual([false, false, false]);
  expect(rows.slice(0, 3).map((r) => r.http_status)).toEqual([500, 500, 500]);

  await sys.client.workflow.getHandle(`payment:${app.appId}:${order.signature.outTradeNo}`).signal(stopNotifySignal);
  await waitFor('STOPPED recorded', async () => (await sys.t.db('orders').where({ id: orderId }).first()).notify_status === 'STOPPED');
  const stopped = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGTERM'); // graceful this time
  expect(await stopped).toBe(0);
});

test('SIGKILL mid-refund, after Alipay applied it but before the answer arrived: exactly one refund at the sandbox', async () => {
  let worker = startWorkerProcess();
  const outTradeNo = `KR${Date.now()}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 600, goodsDesc: 'g', orderTitle: 't', outTradeNo, thirdPartyUser: 'u' });
  const prepay = await waitFor('prepay (worker started)', async () => {
    const res = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
    return (await res.json()) as { code: number };
  }, 60_000);
  expect(prepay.code).toBe(1000);
  const tradeNo = providerOutTradeNo(Number(order.orderId), app.channels[0].channelId);
  await sys.alipay.pay(tradeNo);
  await waitFor('paid', async () => (await sys.t.db('orders').where({ id: Number(order.orderId) }).first()).status === 'SUCCESS', 60_000);

  // Alipay applies the refund and then answers 502, again and again: the activity keeps retrying.
  sys.alipay.injectFault({ kind: 'http502AfterProcessing', method: 'alipay.trade.refund', count: 1000 });
  await merchant.sdk.refund({ outTradeNo, outRefundNo: 'KILL-1', amount: 600 });
  await waitFor('refund applied at the sandbox', async () => sys.alipay.refunds(tradeNo).length === 1, 60_000);
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
  sys.alipay.clearFaults();
  worker = startWorkerProcess();

  const row = await waitFor('refund recorded', async () => {
    const r = await sys.t.db('refunds').where({ app_id: app.appId, out_refund_no: 'KILL-1' }).first();
    return r?.status === 'SUCCESS' ? r : null;
  }, 120_000);
  expect(row.amount).toBe(600);
  expect(sys.alipay.refunds(tradeNo).map((r) => r.refundAmountFen)).toEqual([600]);
  expect(await merchant.sdk.queryOrder(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', refundedAmount: 600 });
  const stopped = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGTERM');
  expect(await stopped).toBe(0);
}, 240_000);

test('SIGKILL mid-transfer, after Alipay paid but before the answer arrived: exactly one payout', async () => {
  let worker = startWorkerProcess();
  await sys.useCases.transfers.saveSettings({ username: 'admin', ip: null }, app.appId, { enabled: true, maxPerTransfer: 100_000, dailyLimit: 1_000_000, approvalThreshold: 100_000 });
  // Alipay pays and then answers 502, again and again: the activity keeps retrying until the worker dies.
  sys.alipay.injectFault({ kind: 'http502AfterProcessing', method: 'alipay.fund.trans.uni.transfer', count: 1000 });
  const outBizNo = `KT${Date.now()}`;
  const t = await merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount: 900, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: 'r' });
  const payouts = () => sys.alipay.transfers().filter((p) => p.outBizNo === providerOutBizNo(t.transferId));
  await waitFor('paid at the sandbox', async () => payouts().length === 1, 60_000);
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
  sys.alipay.clearFaults();
  worker = startWorkerProcess();
  const row = await waitFor('transfer recorded', async () => {
    const r = await sys.t.db('transfers').where({ app_id: app.appId, out_biz_no: outBizNo }).first();
    return r?.status === 'SUCCESS' ? r : null;
  }, 120_000);
  expect(row.amount).toBe(900);
  expect(payouts().map((p) => [p.amountFen, p.status])).toEqual([[900, 'SUCCESS']]);
  const stopped = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGTERM');
  expect(await stopped).toBe(0);
}, 240_000);
