/**
 * A key rotation in the middle of a notification schedule (time-skipping server, real activities and PostgreSQL):
 * notifications stay signed with the previous key, which the merchant still verifies with, until the app has
 * authenticated a request with the new key through the real Signature v1 middleware; from then on, the new key.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import express from 'express';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { rotateAppKey } from '../../db/queries/apps';
import { errorMiddleware, envelope } from '../../http/envelope';
import { sendSigned, signedRoutes } from '../../http/signed';
import { createLogger } from '../../observability/logger';
import { createProviderRegistry } from '../../providers/registry';
import { signRequestHeaders, verifySignedHeaders } from '../../signature';
import { createPaymentWorker } from '../../worker/create-worker';
import { providerCallbackSignal, type PaymentWorkflowInput } from '../../workflows/messages';
import { paymentWorkflowV2 } from '../../workflows/payment';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { startMerchantServer, type MerchantServer, type ReceivedNotification } from '../support/merchant-server';
import { ScriptedProvider } from '../support/scripted-provider';
import { testUseCases, waitFor, workerActivities } from '../support/system';
import { startTimeSkipping } from '../support/time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let t: TestDb;
let merchant: MerchantServer;
let app: SeededApp;
const scripted = new ScriptedProvider('ali-pay');

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
  t = await createTestDb();
  merchant = await startMerchantServer(() => env.currentTimeMs());
  app = await seedApp(t);
});

afterAll(async () => {
  await merchant?.close();
  await t?.destroy();
  await env?.teardown();
});

const verifiesWith = (r: ReceivedNotification, key: string) =>
  verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: '/notify', headers: r.headers, body: r.rawBody, keys: [key], now: Date.now() }).ok;

/** A merchant that verifies with exactly one key: acknowledges what that key verifies, 401 otherwise (attempt 1 fails regardless). */
function merchantVerifyingWith(key: () => string, failFirst = false) {
  merchant.respond = (n) => {
    if (failFirst && n === 1) return { status: 500, body: JSON.stringify({ code: 5000, msg: 'busy' }) };
    return verifiesWith(merchant.received[n - 1], key()) ? { status: 200, body: JSON.stringify({ code: 1000, msg: '操作成功' }) } : { status: 401, body: JSON.stringify({ code: 4010, msg: 'bad signature' }) };
  };
}

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `tq-${randomBytes(4).toString('hex')}`;
  const providers = createProviderRegistry([scripted]);
  const activities = workerActivities({ t, providers, useCases: testUseCases({ t, client: env.client, taskQueue, providers }) });
  const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities, workflowBundle: bundle });
  return worker.runUntil(fn(taskQueue));
}

async function startPaidOrder(taskQueue: string) {
  const expireAt = (await env.currentTimeMs()) + 30 * 60_000;
  const order = await seedOrder(t, { appId: app.appId, notifyUrl: merchant.url, expireAt: new Date(expireAt) });
  const input: PaymentWorkflowInput = { orderId: order.id, appId: app.appId, outTradeNo: order.out_trade_no, amount: order.amount, orderTitle: order.order_title, notifyUrl: order.notify_url, expireAt, pollIntervalMs: 60_000 };
  const handle = await env.client.workflow.start(paymentWorkflowV2, { args: [input], workflowId: order.workflow_id, taskQueue });
  await handle.signal(providerCallbackSignal, {
    appId: app.appId,
    channel: app.channels[0],
    eventId: `evt-${randomBytes(3).toString('hex')}`,
    verdict: { status: 'SUCCESS' as const, amount: order.amount, providerTradeNo: '2026120222001', payTime: Date.UTC(2026, 11, 2, 4, 0, 0) },
  });
  return handle;
}

/** One merchant API request through the real Signature v1 middleware, signed with `appKey`. */
async function signedRequest(appKey: string): Promise<number> {
  const http = express();
  http.get('/ping', ...signedRoutes({ db: t.db, secretBox: t.box, maxBodyBytes: 65_536 }), (_req, res) => sendSigned(res, envelope({ pong: true })));
  http.use(errorMiddleware(createLogger({ write: () => {} })));
  const server = http.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const headers = signRequestHeaders({ method: 'GET', pathWithQuery: '/ping', appId: app.appId, appKey, signType: 'HMAC-SHA256', body: '' });
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`, { headers: { ...headers } });
    return ((await res.json()) as { code: number }).code;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('rotation mid-schedule: the merchant still on the old key acknowledges; once it has used the new key, notifications use it', async () => {
  const oldKey = app.appKey;
  let newKey = '';

  // Attempt 1 fails (merchant busy), the key is rotated before attempt 2; the merchant has not deployed the new key.
  merchantVerifyingWith(() => oldKey, true);
  const first = await withWorker(async (tq) => {
    const handle = await startPaidOrder(tq);
    await waitFor('attempt 1', async () => merchant.received.length >= 1);
    newKey = (await rotateAppKey(t.db, t.box, app.appId, new Date(Date.now() + 86_400_000)))!.appKey;
    return handle.result();
  });
  expect(first.notifyStatus).toBe('ACKED');
  expect(first.notifyAttempts.map((a) => a.acknowledged)).toEqual([false, true]);
  expect(verifiesWith(merchant.received[1], oldKey)).toBe(true);
  expect(verifiesWith(merchant.received[1], newKey)).toBe(false);

  // A request with the old key proves nothing about the new one: still signed with the old key.
  expect(await signedRequest(oldKey)).toBe(1000);
  merchant.received.length = 0;
  const second = await withWorker(async (tq) => (await startPaidOrder(tq)).result());
  expect(second.notifyStatus).toBe('ACKED');
  expect(verifiesWith(merchant.received[0], oldKey)).toBe(true);

  // The merchant deploys the new key and calls the API with it: notifications switch to the new key.
  expect(await signedRequest(newKey)).toBe(1000);
  expect((await t.db('apps').where({ app_id: app.appId }).first()).new_key_first_used_at).not.toBeNull();
  merchantVerifyingWith(() => newKey);
  merchant.received.length = 0;
  const third = await withWorker(async (tq) => (await startPaidOrder(tq)).result());
  expect(third.notifyStatus).toBe('ACKED');
  expect(third.notifyAttempts).toHaveLength(1);
  expect(verifiesWith(merchant.received[0], newKey)).toBe(true);

  // The next rotation starts over: the key the merchant holds now is the one notifications use.
  const newest = (await rotateAppKey(t.db, t.box, app.appId, new Date(Date.now() + 86_400_000)))!.appKey;
  merchant.received.length = 0;
  const fourth = await withWorker(async (tq) => (await startPaidOrder(tq)).result());
  expect(fourth.notifyStatus).toBe('ACKED');
  expect(verifiesWith(merchant.received[0], newKey)).toBe(true);
  expect(verifiesWith(merchant.received[0], newest)).toBe(false);
});
