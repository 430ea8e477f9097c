/**
 * PaymentWorkflow under the Java time-skipping test server: the notification schedule (24 h of timers in
 * seconds of real time), expiry, active queries, mismatched callbacks and the ops signals.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { ResolveHost } from '../../activities/notify-transport';
import { fromTemporalFailure } from '../../domain/errors';
import { NOTIFY_OFFSETS_MS } from '../../domain/notify-schedule';
import { createProviderRegistry } from '../../providers/registry';
import { verifySignedHeaders } from '../../signature';
import { createPaymentWorker } from '../../worker/create-worker';
import { chooseChannelUpdate, providerCallbackSignal, renotifySignal, stateQuery, stopNotifySignal, type PaymentWorkflowInput } from '../../workflows/messages';
import { paymentWorkflowV2 } from '../../workflows/payment';
import { createTestDb, type TestDb } from '../support/db';
import { startTimeSkipping } from '../support/time-skipping';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { ACK, FAIL, startMerchantServer, type MerchantServer } from '../support/merchant-server';
import { ScriptedProvider } from '../support/scripted-provider';
import { maybeCaptureHistory } from '../support/history';
import { testUseCases, workerActivities } from '../support/system';

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

beforeEach(() => {
  merchant.received.length = 0;
  merchant.respond = () => ACK;
  scripted.calls.length = 0;
  scripted.queryOutcome = { status: 'WAITING' };
});


async function withWorker<T>(fn: (taskQueue: string) => Promise<T>, notify: { allowPrivateNotifyUrls?: boolean; resolveHost?: ResolveHost } = {}): Promise<T> {
  const taskQueue = `tq-${randomBytes(4).toString('hex')}`;
  const providers = createProviderRegistry([scripted]);
  const activities = workerActivities({ t, providers, useCases: testUseCases({ t, client: env.client, taskQueue, providers }), ...notify });
  const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities, workflowBundle: bundle });
  return worker.runUntil(fn(taskQueue));
}

async function startOrder(taskQueue: string, opts: { notify?: boolean; notifyUrl?: string; expireInMs?: number; amount?: number } = {}) {
  const now = await env.currentTimeMs();
  const expireAt = now + (opts.expireInMs ?? 30 * 60_000);
  const order = await seedOrder(t, { appId: app.appId, amount: opts.amount ?? 1999, notifyUrl: opts.notify === false ? null : (opts.notifyUrl ?? merchant.url), expireAt: new Date(expireAt) });
  const input: PaymentWorkflowInput = {
    orderId: order.id,
    appId: app.appId,
    outTradeNo: order.out_trade_no,
    amount: order.amount,
    orderTitle: order.order_title,
    notifyUrl: order.notify_url,
    expireAt,
    pollIntervalMs: 60_000,
  };
  const handle = await env.client.workflow.start(paymentWorkflowV2, { args: [input], workflowId: order.workflow_id, taskQueue });
  return { handle, order };
}

const paid = (amount = 1999) => ({
  appId: app.appId,
  channel: app.channels[0],
  eventId: `evt-${randomBytes(3).toString('hex')}`,
  verdict: { status: 'SUCCESS' as const, amount, providerTradeNo: '2026112522001', payTime: Date.UTC(2026, 10, 25, 4, 0, 0) },
});

test('merchant failing every attempt gets exactly 16 attempts at the anchored offsets, then NOTIFY_EXHAUSTED', async () => {
  merchant.respond = () => FAIL;
  const state = await withWorker(async (tq) => {
    const { handle } = await startOrder(tq);
    await handle.signal(providerCallbackSignal, paid());
    const result = await handle.result();
    await maybeCaptureHistory(handle, 'v2-notify-exhausted');
    return result;
  });
  expect(state.status).toBe('SUCCESS');
  expect(state.notifyStatus).toBe('NOTIFY_EXHAUSTED');
  expect(state.notifyAttempts).toHaveLength(16);
  const anchor = state.notifyAttempts[0].scheduledAt;
  // The schedule the workflow kept: exactly the offsets 0, 15s, 30s, 1m, 4m, …, 1444m (24h4m).
  expect(state.notifyAttempts.map((a) => a.scheduledAt - anchor)).toEqual(NOTIFY_OFFSETS_MS);
  expect(NOTIFY_OFFSETS_MS.map((ms) => ms / 60_000)).toEqual([0, 0.25, 0.5, 1, 4, 14, 34, 64, 94, 124, 184, 364, 544, 724, 1084, 1444]);
  // What the merchant saw, on the test server's clock: 16 requests, each at its offset (plus dispatch latency).
  expect(merchant.received).toHaveLength(16);
  const first = merchant.received[0].at;
  merchant.received.forEach((r, i) => {
    expect(r.at - first).toBeGreaterThanOrEqual(NOTIFY_OFFSETS_MS[i] - 1000);
    expect(r.at - first).toBeLessThan(NOTIFY_OFFSETS_MS[i] + 5000);
    expect(r.body.attempt).toBe(i + 1);
  });
  const rows = await t.db('notification_attempts').where({ order_id: state.orderId }).orderBy('attempt');
  expect(rows.map((r) => [r.attempt, r.http_status, r.acknowledged])).toEqual(Array.from({ length: 16 }, (_, i) => [i + 1, 500, false]));
  expect((await t.db('orders').where({ id: state.orderId }).first()).notify_status).toBe('NOTIFY_EXHAUSTED');
  // Nothing after the last attempt.
  await env.sleep('2 days');
  expect(merchant.received).toHaveLength(16);
});

test('production policy: a notify host that resolves to loopback is refused on every attempt, the schedule runs to NOTIFY_EXHAUSTED', async () => {
  // The name passes the merchant API's literal-host validation; only what it resolves to gives it away.
  const lookups: string[] = [];
  const resolveHost: ResolveHost = async (hostname) => {
    lookups.push(hostname);
    return [{ address: '127.0.0.1', family: 4 }];
  };
  const notifyUrl = `http://merchant.example.test:${new URL(merchant.url).port}/notify`;
  const state = await withWorker(
    async (tq) => {
      const { handle } = await startOrder(tq, { notifyUrl });
      await handle.signal(providerCallbackSignal, paid());
      return handle.result();
    },
    { allowPrivateNotifyUrls: false, resolveHost },
  );
  expect(state.status).toBe('SUCCESS');
  expect(state.notifyStatus).toBe('NOTIFY_EXHAUSTED');
  expect(state.notifyAttempts).toHaveLength(16);
  const anchor = state.notifyAttempts[0].scheduledAt;
  expect(state.notifyAttempts.map((a) => a.scheduledAt - anchor)).toEqual(NOTIFY_OFFSETS_MS);
  for (const a of state.notifyAttempts) {
    expect(a).toMatchObject({ httpStatus: null, acknowledged: false });
    expect(a.error).toBe('DESTINATION_REFUSED: notify host merchant.example.test resolves to 127.0.0.1: loopback (127.0.0.0/8); notify URLs must reach a public address');
  }
  expect(lookups).toHaveLength(16); // resolved afresh at every attempt, once each
  expect(merchant.received).toHaveLength(0);
  const rows = await t.db('notification_attempts').where({ order_id: state.orderId }).orderBy('attempt');
  expect(rows.map((r) => [r.attempt, r.http_status, r.acknowledged, r.error])).toEqual(Array.from({ length: 16 }, (_, i) => [i + 1, null, false, state.notifyAttempts[0].error]));
});

test('merchant acknowledging attempt 3 gets exactly 3 signed attempts', async () => {
  merchant.respond = (n) => (n >= 3 ? ACK : FAIL);
  const state = await withWorker(async (tq) => {
    const { handle } = await startOrder(tq);
    await handle.signal(providerCallbackSignal, paid());
    return handle.result();
  });
  expect(state.notifyStatus).toBe('ACKED');
  expect(state.notifyAttempts.map((a) => a.acknowledged)).toEqual([false, false, true]);
  expect(merchant.received).toHaveLength(3);
  const n = merchant.received[2];
  expect(n.body).toMatchObject({ eventType: 'PAYMENT_RESULT', appId: app.appId, amount: 1999, resultCode: 'SUCCESS', payTime: '2026-11-25 12:00:00', attempt: 3 });
  const verified = verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: '/notify', headers: n.headers, body: n.rawBody, keys: [app.appKey], now: Date.now() });
  expect(verified.ok).toBe(true);
  const forged = verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: '/notify', headers: n.headers, body: n.rawBody, keys: ['wrong-key'], now: Date.now() });
  expect(forged.ok).toBe(false);
  expect((await t.db('orders').where({ id: state.orderId }).first()).status).toBe('SUCCESS');
});

test('an unpaid order expires: queried once more, closed at the provider, CLOSED and notified as FAIL', async () => {
  const state = await withWorker(async (tq) => {
    const { handle } = await startOrder(tq, { expireInMs: 10 * 60_000 });
    await handle.executeUpdate(chooseChannelUpdate, { args: [{ ...app.channels[0] }] });
    const result = await handle.result();
    await maybeCaptureHistory(handle, 'v2-expired-closed');
    return result;
  });
  expect(state.status).toBe('CLOSED');
  const ops = scripted.calls.map((c) => c.op);
  expect(ops[0]).toBe('prepay');
  expect(ops).toContain('close');
  expect(ops.lastIndexOf('query')).toBeGreaterThan(ops.indexOf('close')); // re-checked after closing
  expect(merchant.received[0].body).toMatchObject({ resultCode: 'FAIL', resultErrorCode: 'ORDER_CLOSED' });
  expect((await t.db('orders').where({ id: state.orderId }).first()).status).toBe('CLOSED');
});

test('a lost callback is recovered by the active query within one poll interval', async () => {
  let chosenAt = 0;
  const state = await withWorker(async (tq) => {
    const { handle } = await startOrder(tq);
    await handle.executeUpdate(chooseChannelUpdate, { args: [{ ...app.channels[0] }] });
    chosenAt = await env.currentTimeMs();
    expect((await handle.query(stateQuery)).status).toBe('PAYING');
    scripted.queryOutcome = { status: 'SUCCESS', amountFen: 1999, providerTradeNo: 'Q-1', payTime: new Date('2026-11-25T04:00:00Z') };
    return handle.result();
  });
  expect(state.status).toBe('SUCCESS');
  expect(state.providerTradeNo).toBe('Q-1');
  expect(merchant.received).toHaveLength(1);
  // Queried one poll interval (60 s) after the channel was chosen, not at the order's expiry (30 min).
  expect(state.notifyAttempts[0].scheduledAt - chosenAt).toBeLessThan(60_000 + 10_000);
});

test('a callback with the wrong amount or app changes nothing; the right one still pays', async () => {
  const state = await withWorker(async (tq) => {
    const { handle } = await startOrder(tq);
    await handle.signal(providerCallbackSignal, paid(1));
    await handle.signal(providerCallbackSignal, { ...paid(), appId: 'another-app' });
    const s = await handle.query(stateQuery);
    expect(s.status).toBe('CREATED');
    await handle.signal(providerCallbackSignal, paid());
    return handle.result();
  });
  expect(state.status).toBe('SUCCESS');
});

test('a callback that arrives before the channel update pays the order; the late update is refused', async () => {
  await withWorker(async (tq) => {
    const { handle } = await startOrder(tq);
    await handle.signal(providerCallbackSignal, paid());
    const err = await handle.executeUpdate(chooseChannelUpdate, { args: [{ ...app.channels[0] }] }).then(() => null, (e: unknown) => e);
    const domain = fromTemporalFailure(err);
    expect(domain?.code).toBe(4090);
    expect(domain?.message).toMatch(/already SUCCESS/);
    const s = await handle.result();
    expect(s.status).toBe('SUCCESS');
    expect(s.channel?.channelId).toBe(app.channels[0].channelId);
  });
});

test('stopNotify ends the loop; renotify tries at once without moving the schedule', async () => {
  const state = await withWorker(async (tq) => {
    const { handle } = await startOrder(tq);
    // The merchant's answers drive the ops signals: after attempt 2 ops press renotify, after the
    // next scheduled attempt they stop the loop.
    merchant.respond = (n) => {
      if (n === 2) void handle.signal(renotifySignal);
      if (n === 4) void handle.signal(stopNotifySignal);
      return FAIL;
    };
    await handle.signal(providerCallbackSignal, paid());
    return handle.result();
  });
  expect(state.notifyStatus).toBe('STOPPED');
  expect(state.notifyAttempts.map((a) => a.trigger)).toEqual(['SCHEDULE', 'SCHEDULE', 'RENOTIFY', 'SCHEDULE']);
  const anchor = state.notifyAttempts[0].scheduledAt;
  const scheduled = state.notifyAttempts.filter((a) => a.trigger === 'SCHEDULE').map((a) => a.scheduledAt - anchor);
  expect(scheduled).toEqual([0, 15_000, 30_000]);
  // The renotify attempt ran right after attempt 2, long before attempt 3's anchored 30 s.
  expect(state.notifyAttempts[2].scheduledAt - anchor).toBeLessThan(30_000);
  expect(merchant.received).toHaveLength(4);
  expect((await t.db('orders').where({ id: state.orderId }).first()).notify_status).toBe('STOPPED');
});
