/**
 * Ops renotify against PaymentWorkflow under the time-skipping server, through the same gateway the console
 * uses (temporal/client.ts): a renotify that reaches the workflow while the merchant is acknowledging the
 * attempt that ends the loop still makes exactly one attempt, and one during the loop's wait is taken by the
 * loop itself.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { nextNotifyAttemptNumber } from '../../db/queries/notification-attempts';
import { createProviderRegistry } from '../../providers/registry';
import { createTemporalGateway } from '../../temporal/client';
import { createPaymentWorker } from '../../worker/create-worker';
import { providerCallbackSignal, stopNotifySignal, type PaymentWorkflowInput } from '../../workflows/messages';
import { paymentWorkflowV2 } from '../../workflows/payment';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { maybeCaptureHistory } from '../support/history';
import { ACK, FAIL, startMerchantServer, type MerchantServer } from '../support/merchant-server';
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

beforeEach(() => {
  merchant.received.length = 0;
  merchant.respond = () => ACK;
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `tq-${randomBytes(4).toString('hex')}`;
  const providers = createProviderRegistry([scripted]);
  const activities = workerActivities({ t, providers, useCases: testUseCases({ t, client: env.client, taskQueue, providers }) });
  const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities, workflowBundle: bundle });
  return worker.runUntil(fn(taskQueue));
}

async function startPaidOrder(taskQueue: string) {
  const now = await env.currentTimeMs();
  const order = await seedOrder(t, { appId: app.appId, amount: 1999, notifyUrl: merchant.url, expireAt: new Date(now + 30 * 60_000) });
  const input: PaymentWorkflowInput = {
    orderId: order.id,
    appId: app.appId,
    outTradeNo: order.out_trade_no,
    amount: order.amount,
    orderTitle: order.order_title,
    notifyUrl: order.notify_url,
    expireAt: now + 30 * 60_000,
    pollIntervalMs: 60_000,
  };
  const handle = await env.client.workflow.start(paymentWorkflowV2, { args: [input], workflowId: order.workflow_id, taskQueue });
  const renotify = () =>
    createTemporalGateway({ client: env.client, taskQueue }).renotify({ orderId: order.id, appId: app.appId, outTradeNo: order.out_trade_no }, () =>
      nextNotifyAttemptNumber(t.db, { orderId: order.id }),
    );
  await handle.signal(providerCallbackSignal, {
    appId: app.appId,
    channel: app.channels[0],
    eventId: `evt-${randomBytes(3).toString('hex')}`,
    verdict: { status: 'SUCCESS', amount: 1999, providerTradeNo: '2026112522001', payTime: Date.UTC(2026, 10, 25, 4, 0, 0) },
  });
  return { handle, order, renotify };
}

/** Resolves once the workflow's history holds the renotify request (a signal, or an accepted update). */
async function renotifyRecorded(handle: WorkflowHandle): Promise<void> {
  await waitFor('the renotify request in the history', async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    return events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'renotify' || e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'renotify');
  });
}

const attemptRows = async (orderId: number) =>
  (await t.db('notification_attempts').where({ order_id: orderId }).orderBy('attempt')).map((r) => [r.attempt, r.trigger, r.acknowledged]);

test('a renotify that reaches the workflow while the merchant acknowledges the last attempt makes exactly one attempt', async () => {
  const { orderId, outcome } = await withWorker(async (tq) => {
    const { handle, order, renotify } = await startPaidOrder(tq);
    let renotified: ReturnType<typeof renotify> | undefined;
    // Attempt 1 is in flight when ops press renotify; the merchant acknowledges it only once the request is in
    // the workflow's history, so the acknowledgement ends the loop with the request already delivered.
    merchant.respond = async (n) => {
      if (n === 1) {
        renotified = renotify();
        renotified.catch(() => {});
        await renotifyRecorded(handle);
      }
      return ACK;
    };
    const state = await handle.result();
    expect(state.notifyStatus).toBe('ACKED');
    const outcome = await renotified!;
    // Whatever ran the extra attempt has finished, and a day later nothing else arrived.
    if (!outcome.signalled) await env.client.workflow.getHandle(outcome.workflowId).result();
    await env.sleep('1 day');
    await maybeCaptureHistory(handle, 'v2-renotify-update-loop-ended');
    return { orderId: order.id, outcome };
  });
  expect(merchant.received.map((r) => r.body.attempt)).toEqual([1, 2]);
  expect(await attemptRows(orderId)).toEqual([
    [1, 'SCHEDULE', true],
    [2, 'RENOTIFY', true],
  ]);
  // The loop had ended: the extra attempt is the one-shot workflow's, numbered after the loop's attempts.
  expect(outcome).toEqual({ signalled: false, workflowId: expect.stringMatching(/^renotify:.*:2$/) });
});

test('a renotify during the wait between attempts is taken by the loop: one attempt at once, the schedule unchanged', async () => {
  merchant.respond = () => FAIL;
  const { orderId, state, outcome } = await withWorker(async (tq) => {
    const { handle, order, renotify } = await startPaidOrder(tq);
    await waitFor('attempt 1', async () => merchant.received.length === 1);
    // The update completes only once the loop has taken the request.
    const outcome = await renotify();
    expect(merchant.received.length).toBeGreaterThanOrEqual(1);
    await waitFor('the renotify attempt', async () => merchant.received.length === 2);
    await handle.signal(stopNotifySignal);
    const state = await handle.result();
    await maybeCaptureHistory(handle, 'v2-renotify-update-taken');
    return { orderId: order.id, state, outcome };
  });
  expect(outcome).toEqual({ signalled: true, workflowId: expect.stringMatching(/^payment:/) });
  expect(state.notifyStatus).toBe('STOPPED');
  expect(state.notifyAttempts.map((a) => a.trigger)).toEqual(['SCHEDULE', 'RENOTIFY']);
  expect(await attemptRows(orderId)).toEqual([
    [1, 'SCHEDULE', false],
    [2, 'RENOTIFY', false],
  ]);
});

test('after the workflow has completed, renotify starts the one-shot workflow', async () => {
  const { orderId, outcome } = await withWorker(async (tq) => {
    const { handle, order, renotify } = await startPaidOrder(tq);
    await handle.result();
    const outcome = await renotify();
    await env.client.workflow.getHandle(outcome.workflowId).result();
    return { orderId: order.id, outcome };
  });
  expect(outcome).toEqual({ signalled: false, workflowId: expect.stringMatching(/^renotify:.*:2$/) });
  expect(await attemptRows(orderId)).toEqual([
    [1, 'SCHEDULE', true],
    [2, 'RENOTIFY', true],
  ]);
});
