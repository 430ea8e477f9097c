/**
 * Expiry against a real provider: the time-skipping server jumps the order past its expiry, and the real
 * WeChat Pay adapter (real SDK) queries and closes the trade at the sandbox before the order is CLOSED.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { providerOutTradeNo } from '../../domain/order';
import { createDefaultProviders } from '../../providers';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';
import { createPaymentWorker } from '../../worker/create-worker';
import { chooseChannelUpdate, type PaymentWorkflowInput } from '../../workflows/messages';
import { paymentWorkflowV2 } from '../../workflows/payment';
import { createTestDb, type TestDb } from '../support/db';
import { startTimeSkipping } from '../support/time-skipping';
import { seedApp, seedOrder } from '../support/fixtures';
import { testUseCases, workerActivities } from '../support/system';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let t: TestDb;
let wechat: WechatSandboxHandle;

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
  t = await createTestDb();
  wechat = await startWechatSandbox();
});

afterAll(async () => {
  await wechat?.close();
  await t?.destroy();
  await env?.teardown();
});

test('an unpaid WeChat Native order expires: closed at the provider, then CLOSED', async () => {
  const app = await seedApp(t, { channels: [{ channelType: 'wx-pay', sceneCode: 'native', creds: await wechat.createMerchant() }] });
  const expireAt = (await env.currentTimeMs()) + 10 * 60_000;
  const order = await seedOrder(t, { appId: app.appId, expireAt: new Date(expireAt), notifyUrl: null });
  const providers = createDefaultProviders();
  const worker = await createPaymentWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue: 'expiry',
    activities: workerActivities({ t, providers, useCases: testUseCases({ t, client: env.client, taskQueue: 'expiry', providers }) }),
    workflowBundle: bundle,
  });
  const input: PaymentWorkflowInput = { orderId: order.id, appId: app.appId, outTradeNo: order.out_trade_no, amount: order.amount, orderTitle: order.order_title, notifyUrl: null, expireAt, pollIntervalMs: 60_000 };
  const state = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(paymentWorkflowV2, { args: [input], workflowId: order.workflow_id, taskQueue: 'expiry' });
    const payload = await handle.executeUpdate(chooseChannelUpdate, { args: [{ ...app.channels[0] }] });
    expect(payload).toMatchObject({ kind: 'qr', codeUrl: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=/) });
    return handle.result();
  });
  expect(state.status).toBe('CLOSED');
  expect((await wechat.getTrade(providerOutTradeNo(order.id, app.channels[0].channelId)))?.trade_state).toBe('CLOSED');
  expect((await t.db('orders').where({ id: order.id }).first()).status).toBe('CLOSED');
});
