/**
 * The real worker process (worker/main.ts) stopped while a notification POST is in flight, with the two signals
 * Ctrl-C under `npm start` delivers (the terminal's SIGINT and the watchdog's SIGTERM): the POST completes and
 * its result reaches Temporal, then the process closes its pools and exits 0.
 */
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { providerCallbackSignal, type PaymentWorkflowInput } from '../../workflows/messages';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { waitFor } from '../support/system';
import { PAYMENT_WORKFLOW_TYPE } from '../../temporal/workflow-types';

const ROOT = path.resolve(__dirname, '..', '..');
let t: TestDb;
let app: SeededApp;
let connection: Connection;
let client: Client;
let worker: ChildProcess | undefined;
let merchant: http.Server;
let merchantUrl: string;
let arrived = 0;
let answered = 0;
const HOLD_MS = 3000;

beforeAll(async () => {
  t = await createTestDb();
  app = await seedApp(t);
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  client = new Client({ connection });
  // A merchant that takes its time to acknowledge.
  merchant = http.createServer((req, res) => {
    arrived++;
    req.resume();
    setTimeout(() => {
      answered++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 1000, msg: '操作成功' }));
    }, HOLD_MS);
  });
  await new Promise<void>((r) => merchant.listen(0, '127.0.0.1', r));
  merchantUrl = `http://127.0.0.1:${(merchant.address() as AddressInfo).port}/notify`;
});

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  merchant?.closeAllConnections();
  merchant?.close();
  await connection?.close();
  await t?.destroy();
});

test('SIGTERM and SIGINT while a notification is in flight: it completes, then the worker exits 0', async () => {
  const taskQueue = `shutdown-${randomBytes(4).toString('hex')}`;
  let stdout = '';
  worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: t.url,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: taskQueue,
      CASHIER_MASTER_KEY: t.masterKey.toString('base64'),
      PUBLIC_BASE_URL: 'http://127.0.0.1:1',
      RECONCILIATION_SCHEDULE: 'false',
      LOG_LEVEL: 'info',
    },
  });
  worker.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => worker!.once('exit', (code, signal) => r({ code, signal })));
  await waitFor('worker running', async () => stdout.includes('"worker running"'), 90_000);

  const expireAt = Date.now() + 30 * 60_000;
  const order = await seedOrder(t, { appId: app.appId, notifyUrl: merchantUrl, expireAt: new Date(expireAt) });
  const input: PaymentWorkflowInput = { orderId: order.id, appId: app.appId, outTradeNo: order.out_trade_no, amount: order.amount, orderTitle: order.order_title, notifyUrl: order.notify_url, expireAt, pollIntervalMs: 600_000 };
  const handle = await client.workflow.start(PAYMENT_WORKFLOW_TYPE, { args: [input], workflowId: order.workflow_id, taskQueue });
  await handle.signal(providerCallbackSignal, {
    appId: app.appId,
    channel: app.channels[0],
    eventId: `evt-${randomBytes(3).toString('hex')}`,
    verdict: { status: 'SUCCESS' as const, amount: order.amount, providerTradeNo: '2026120222002', payTime: Date.now() },
  });
  await waitFor('notification in flight', async () => arrived === 1, 60_000);

  worker.kill('SIGTERM');
  await waitFor('draining', async () => stdout.includes('"worker draining"'));
  worker.kill('SIGINT'); // the second signal must not kill it mid-drain
  const { code, signal } = await exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(answered).toBe(1);
  expect(stdout).toContain('"worker stopped"');

  // The attempt's result reached Temporal before the worker left: the activity completed, acknowledged.
  const history = await handle.fetchHistory();
  const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notifyMerchant');
  expect(scheduled).toHaveLength(1);
  const completed = history.events!.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled[0].eventId));
  expect(completed).toBeTruthy();
  await handle.terminate('test done');
});
