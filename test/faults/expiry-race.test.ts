/**
 * A payment meeting the order's expiry at the same instant, on both wallets, under the time-skipping test server:
 * the real provider adapters against the sandboxes, the real HTTP callback endpoint (so callbacks take the API's
 * path: verify, signal, acknowledge), and the worker's real activities. Whatever the interleaving, an order is never
 * CLOSED while its trade is paid, a paid order is notified as paid once, and nothing is refunded.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { providerOutTradeNo } from '../../domain/order';
import type { ChannelRef } from '../../domain/payment';
import { createLogger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';
import { createPaymentWorker } from '../../worker/create-worker';
import { chooseChannelUpdate, stateQuery, type PaymentWorkflowInput } from '../../workflows/messages';
import { paymentWorkflowV2 } from '../../workflows/payment';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { buildHttpApp, testConfig, workerActivities } from '../support/system';
import { registerSearchAttributes } from '../../temporal/search-attributes';
import { startTimeSkipping } from '../support/time-skipping';
import { findViolations, reconcile } from './reconcile';
import { startFaultMerchant, type FaultMerchant } from './support/merchant';
import { waitFor } from './support/orders';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let t: TestDb;
let alipay: AlipaySandboxHandle;
let wechat: WechatSandboxHandle;
let app: SeededApp;
let merchant: FaultMerchant;
let server: http.Server;
let apiUrl: string;
let httpApp: ReturnType<typeof buildHttpApp>['app'];
const TASK_QUEUE = 'expiry-race';
/** Why the sandbox refused a buyer (a closed trade), for failure messages. */
const refusals: string[] = [];
const providers = createDefaultProviders();

beforeAll(async () => {
  // The bundle once (each test starts a test server of its own).
  const first = await startTimeSkipping();
  bundle = first.bundle;
  await first.env.teardown();
  t = await createTestDb();
  alipay = await startAlipaySandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  wechat = await startWechatSandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  app = await seedApp(t, {
    channels: [
      { channelType: 'ali-pay', sceneCode: 'native', creds: await alipay.createMerchant() },
      { channelType: 'wx-pay', sceneCode: 'native', creds: await wechat.createMerchant() },
    ],
  });
  server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('request', (req, res) => httpApp(req, res));
  merchant = await startFaultMerchant(`${apiUrl}/api/cashier-desk`, app.appId, app.appKey);
}, 120_000);

afterAll(async () => {
  await merchant?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await alipay?.close();
  await wechat?.close();
  await t?.destroy();
});

// A test server of its own per test: a clock another test's workflows skipped ahead would decide this one's timing.
beforeEach(async () => {
  const path = process.env.TEMPORAL_TEST_SERVER_PATH!;
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  await registerSearchAttributes(env.connection.operatorService, 'default');
  httpApp = buildHttpApp({ t, client: env.client, taskQueue: TASK_QUEUE, providers, log: createLogger({ level: 'error', write: () => {} }) }, testConfig({ PUBLIC_BASE_URL: apiUrl })).app;
}, 60_000);

afterEach(async () => {
  await env?.teardown();
});

const EXPIRE_IN_MS = 10 * 60_000;

async function startPaying(channel: ChannelRef) {
  const expireAt = (await env.currentTimeMs()) + EXPIRE_IN_MS;
  const order = await seedOrder(t, { appId: app.appId, expireAt: new Date(expireAt), notifyUrl: merchant.notifyUrl });
  const input: PaymentWorkflowInput = { orderId: order.id, appId: app.appId, outTradeNo: order.out_trade_no, amount: order.amount, orderTitle: order.order_title, notifyUrl: merchant.notifyUrl, expireAt, pollIntervalMs: 60_000 };
  const handle = await env.client.workflow.start(paymentWorkflowV2, { args: [input], workflowId: order.workflow_id, taskQueue: TASK_QUEUE });
  await handle.executeUpdate(chooseChannelUpdate, { args: [{ ...channel }] });
  return { order, handle, tradeNo: providerOutTradeNo(order.id, channel.channelId), expireAt };
}

/** Skips the test server's clock to `at` (its clock also runs in real time while the prepay and polls run). */
async function sleepUntil(at: number): Promise<void> {
  await env.sleep(Math.max(0, at - (await env.currentTimeMs())));
}

/** The buyer pays at the sandbox; false when the sandbox refuses because the trade is already closed. */
async function buyerPays(channel: ChannelRef, tradeNo: string, notify: 'normal' | 'lost' = 'normal'): Promise<boolean> {
  try {
    if (channel.channelType === 'ali-pay') await alipay.pay(tradeNo, { appId: channel.mchId, notify });
    else await wechat.pay(tradeNo, { mchid: channel.mchId, notify: { mode: notify } });
    return true;
  } catch (err) {
    refusals.push(`${channel.channelType} ${tradeNo}: ${(err as Error).message}`);
    return false;
  }
}

async function deliverStoredCallback(channel: ChannelRef, tradeNo: string): Promise<void> {
  if (channel.channelType === 'ali-pay') {
    const d = alipay.notifications({ outTradeNo: tradeNo }).find((n) => n.kind === 'lost')!;
    await fetch(d.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: d.body });
  } else {
    const d = (await wechat.notifications({ outTradeNo: tradeNo })).find((n) => n.mode === 'lost')!;
    await fetch(d.url, { method: 'POST', headers: { ...d.sent!.headers, 'content-type': 'application/json' }, body: d.sent!.body });
  }
}

/** The workflow's result; past 60 s, fails with what it is waiting for (pending activities, its state). */
async function settled(handle: Awaited<ReturnType<typeof startPaying>>['handle']) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      try {
        const d = await handle.describe();
        const pending = d.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt} ${a.lastFailure?.message ?? ''}`);
        reject(new Error(`workflow not done after 60 s: ${d.status.name}; pending ${JSON.stringify(pending)}; state ${JSON.stringify(await handle.query(stateQuery).catch((e: Error) => e.message))}`));
      } catch (err) {
        reject(err as Error);
      }
    }, 60_000);
  });
  // Cleared once settled: a timer left behind would fire during a later test file, on a closed connection.
  try {
    return await Promise.race([handle.result(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const target = () => ({ db: t.db, alipay, wechat, app, deliveries: merchant.deliveries });

describe.each(['ali-pay', 'wx-pay'] as const)('%s', (channelType) => {
  const channel = () => app.channels.find((c) => c.channelType === channelType)!;

  test('paid a second before expiry, callback arriving as the expiry timer fires: SUCCESS, notified once', async () => {
    const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: TASK_QUEUE, activities: workerActivities({ t, providers, useCases: testUseCases(), publicBaseUrl: apiUrl }), workflowBundle: bundle });
    await worker.runUntil(async () => {
      const { order, handle, tradeNo, expireAt } = await startPaying(channel());
      await sleepUntil(expireAt - 1000);
      const paidNow = await buyerPays(channel(), tradeNo, 'lost');
      expect({ paid: paidNow, refusals }).toEqual({ paid: true, refusals: [] });
      await Promise.all([env.sleep(1000), deliverStoredCallback(channel(), tradeNo)]);
      const state = await settled(handle);
      expect(state.status).toBe('SUCCESS');
      expect(merchant.deliveries.filter((d) => d.outTradeNo === order.out_trade_no).map((d) => d.acknowledged)).toEqual([true]);
    });
    await reconcile(target(), { timeoutMs: 30_000 });
  });

  test('paid at the instant of expiry, and just after: SUCCESS, or CLOSED with the payment refused or refunded in full', async () => {
    const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: TASK_QUEUE, activities: workerActivities({ t, providers, useCases: testUseCases(), publicBaseUrl: apiUrl }), workflowBundle: bundle });
    const outcomes: string[] = [];
    const late: number[] = [];
    await worker.runUntil(async () => {
      // The buyer pays just before the timer's time is reached (-1), or this many real milliseconds after it fired:
      // racing the final query, the close and the query after it, or after all of them.
      for (const delayMs of [-1, 0, 0, 100, 300, 1000, 3000]) {
        const { handle, tradeNo, expireAt } = await startPaying(channel());
        await sleepUntil(expireAt - 50);
        const pay = () => buyerPays(channel(), tradeNo);
        let paid: boolean;
        if (delayMs < 0) [paid] = await Promise.all([pay(), env.sleep(50)]);
        else {
          await env.sleep(50);
          await new Promise((r) => setTimeout(r, delayMs));
          paid = await pay();
        }
        const state = await settled(handle);
        outcomes.push(`${paid ? 'paid' : 'refused'}→${state.status}`);
        if (!paid) expect(state.status).toBe('CLOSED');
        else if (state.status !== 'SUCCESS') {
          // Paid after the final query. Only Alipay allows it: a precreate trade exists only once its QR code is scanned,
          // so the close at expiry had nothing to close (the sandbox enforces time_expire on the real clock, which here
          // is minutes behind the test server's). The money is a late payment: recorded and refunded in full.
          expect({ channelType, status: state.status }).toEqual({ channelType: 'ali-pay', status: 'CLOSED' });
          late.push(state.orderId);
        }
      }
      for (const orderId of late) {
        await waitFor(`late payment of order ${orderId} refunded`, async () => {
          const e = await t.db('payment_exceptions').where({ order_id: orderId }).first();
          return e?.kind === 'LATE_PAYMENT' && e.status === 'REFUNDED';
        }, 60_000);
      }
    });
    expect(outcomes).toHaveLength(7);
    if (process.env.FAULTS_VERBOSE) process.stderr.write(`[faults] ${channelType} payment vs expiry: ${outcomes.join(', ')}\n`);
    const { violations } = await findViolations(target());
    expect(violations).toEqual([]);
    await reconcile(target(), { timeoutMs: 30_000 });
  });
});

function testUseCases() {
  // The worker's use-cases (exception refunds start workflows on the same server and queue).
  return buildHttpApp({ t, client: env.client, taskQueue: TASK_QUEUE, providers, log: createLogger({ level: 'error', write: () => {} }) }, testConfig({ PUBLIC_BASE_URL: apiUrl })).useCases;
}
