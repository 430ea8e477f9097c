/**
 * One request id from the merchant's HTTP request to the worker's log lines: the real worker process
 * (worker/main.ts, its pino runtime logger) logs the notification activity of an order with the id of the
 * request that created the order, and the prepay run by the channel choice with the id of that request; the
 * API echoes the ids; a signal's workflow `log` line names the request that sent it; the app key appears nowhere in
 * the worker's output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { providerOutTradeNo } from '../../domain/order';
import { withRequestId } from '../../observability/request-context';
import { providerCallbackSignal } from '../../workflows/messages';
import { PaySdk } from '../../sdk';
import { seedApp, type SeededApp } from '../support/fixtures';
import { maybeCaptureHistory } from '../support/history';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';
import { PAYMENT_WORKFLOW_TYPE } from '../../temporal/workflow-types';

const ROOT = path.resolve(__dirname, '..', '..');
let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;
let worker: ChildProcess | undefined;
let stdout = '';

beforeAll(async () => {
  sys = await startTestSystem();
  // The real worker process takes the task queue instead of the in-process one.
  await sys.stopWorker();
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
  worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: sys.t.url,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: sys.taskQueue,
      CASHIER_MASTER_KEY: sys.t.masterKey.toString('base64'),
      PUBLIC_BASE_URL: sys.apiUrl,
      RECONCILIATION_SCHEDULE: 'false',
      LOG_LEVEL: 'debug',
    },
  });
  worker.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  await waitFor('worker running', async () => stdout.includes('"worker running"'), 90_000);
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await merchant?.close();
  await sys?.stop();
});

const lines = () =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('the worker logs an order’s activities with the ids of the requests behind them', async () => {
  const createId = `req-create-${randomBytes(4).toString('hex')}`;
  const chooseId = `req-choose-${randomBytes(4).toString('hex')}`;
  const echoed: string[] = [];
  // The merchant's own request id on its unified-order call (the SDK takes a custom fetch).
  const sdk = new PaySdk({
    gateway: sys.gateway,
    appId: app.appId,
    appKey: app.appKey,
    notifyUrl: merchant.notifyUrl,
    fetch: async (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('X-Request-Id', createId);
      const res = await fetch(url, { ...init, headers });
      echoed.push(res.headers.get('x-request-id') ?? '');
      return res;
    },
  });
  const outTradeNo = `RID${randomBytes(5).toString('hex')}`;
  const order = await sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  expect(echoed).toEqual([createId]);

  const choose = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': chooseId }, body: JSON.stringify({ token: order.token }) });
  expect(choose.headers.get('x-request-id')).toBe(chooseId);
  expect(await choose.json()).toMatchObject({ code: 1000, data: { kind: 'qr' } });
  // Without a usable X-Request-Id the API makes one up.
  const bare = await fetch(`${sys.gateway}/cashier/${order.token}`, { headers: { 'x-request-id': 'bad id' } });
  expect(bare.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

  // A signal sent while serving another request: the workflow's own `log` line for it names that request.
  const signalId = `req-signal-${randomBytes(4).toString('hex')}`;
  const workflowId = `payment:${app.appId}:${outTradeNo}`;
  await withRequestId(signalId, () =>
    sys.client.workflow.getHandle(workflowId).signal(providerCallbackSignal, {
      appId: 'not-this-app',
      channel: app.channels[0],
      eventId: `evt-${randomBytes(3).toString('hex')}`,
      verdict: { status: 'SUCCESS' as const, amount: 1999, providerTradeNo: '2026120222009', payTime: Date.now() },
    }),
  );
  const ignored = await waitFor('the workflow log line', async () => lines().find((l) => l.msg === 'callback for another app; ignored' && l.workflowId === workflowId));
  expect(ignored).toMatchObject({ level: 'error', sdkComponent: 'workflow', workflowType: PAYMENT_WORKFLOW_TYPE, requestId: signalId, callbackApp: 'not-this-app' });

  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), app.channels[0].channelId));
  await waitFor('merchant notification', async () => merchant.notifications.find((n) => n.outTradeNo === outTradeNo));

  // The notification activity (scheduled by the workflow the create request started) logs through Context.log.
  const attempt = await waitFor('the notification attempt log line', async () => lines().find((l) => l.msg === 'merchant notification attempt' && l.workflowId === workflowId));
  expect(attempt).toMatchObject({ level: 'info', service: 'worker', sdkComponent: 'activity', activityType: 'notifyMerchant', requestId: createId, acknowledged: true, httpStatus: 200 });

  // The prepay ran as a local activity inside the chooseChannel update, for the choose request.
  const prepay = lines().filter((l) => l.workflowId === workflowId && l.requestId === chooseId);
  expect(prepay.length).toBeGreaterThan(0);
  expect(prepay.some((l) => typeof l.activityType === 'string' && l.isLocal === true)).toBe(true);

  // Every line written through an activity's logger (the project's and the SDK's "Activity completed") names one of
  // the two requests; the worker's own lines around an activity (polling, resolving) are not the activity's.
  const activityLines = lines().filter((x) => x.workflowId === workflowId && (x.sdkComponent === 'activity' || x.msg === 'Activity completed'));
  expect(activityLines.length).toBeGreaterThan(2);
  for (const l of activityLines) expect([l.msg, l.activityType, [createId, chooseId].includes(l.requestId as string)]).toEqual([l.msg, l.activityType, true]);
  expect(stdout).not.toContain(app.appKey);

  const handle = sys.client.workflow.getHandle(workflowId);
  await handle.result();
  await maybeCaptureHistory(handle, 'v2-paid-notified-request-id');
});
