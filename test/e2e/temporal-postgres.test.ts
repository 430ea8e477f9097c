/**
 * End to end on the compose stack's kind of Temporal: temporal-server 1.29.1 with its history and visibility in
 * PostgreSQL (scripts/lib/temporal-cluster.ts), instead of the dev server's SQLite. An order is paid at the Alipay
 * sandbox and the merchant notified; ops find it by the search attributes the workflow sets (visibility in
 * PostgreSQL maps them to its own columns); the history the server recorded replays against the current code.
 * The first run builds the server from the Go module proxy (minutes, cached outside the clone).
 */
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { providerOutTradeNo } from '../../domain/order';
import { startTemporalCluster, type TemporalCluster } from '../../scripts/lib/temporal-cluster';
import { ensureTemporalServer } from '../../scripts/toolchain';
import { PAYMENT_WORKFLOW_TYPE, PAYMENT_WORKFLOWS_QUERY } from '../../temporal/workflow-types';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../../worker/create-worker';
import { stateQuery } from '../../workflows/messages';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { quietLogger } from '../support/quiet-logger';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

let dir: string;
let cluster: TemporalCluster;
let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;

beforeAll(async () => {
  const log = (l: string) => process.stderr.write(`[temporal-postgres] ${l}\n`);
  dir = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-temporal-pg-'));
  cluster = await startTemporalCluster({ build: await ensureTemporalServer(log), dir, log });
  sys = await startTestSystem({ temporalAddress: cluster.address });
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
}, 30 * 60_000); // a first run builds temporal-server

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function visible(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of sys.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

test('an order is paid, notified, found by its search attributes, and its history replays', async () => {
  const outTradeNo = `PG${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 2599, goodsDesc: '季卡', orderTitle: '会员', outTradeNo, thirdPartyUser: 'u-pg' });
  const res = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(((await res.json()) as { code: number }).code).toBe(1000);
  const workflowId = `payment:${app.appId}:${outTradeNo}`;
  const handle = sys.client.workflow.getHandle(workflowId);
  expect((await handle.query(stateQuery)).status).toBe('PAYING');
  // Visibility in PostgreSQL is written asynchronously: what ops search by shows up within moments.
  await waitFor('PAYING in visibility', async () => (await visible(`${PAYMENT_WORKFLOWS_QUERY} AND PaymentStatus="PAYING" AND ChannelType="ali-pay" AND AppId="${app.appId}"`)).length === 1);

  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), app.channels[0].channelId));
  const notification = await waitFor('merchant notification', async () => merchant.notifications.find((n) => n.outTradeNo === outTradeNo));
  expect(notification).toMatchObject({ resultCode: 'SUCCESS', amount: 2599, attempt: 1 });
  const state = await handle.result();
  expect(state).toMatchObject({ status: 'SUCCESS', notifyStatus: 'ACKED' });
  expect((await merchant.sdk.queryOrder(outTradeNo)).resultCode).toBe('SUCCESS');

  const found = await waitFor('SUCCESS in visibility', async () => {
    const ids = await visible(`${PAYMENT_WORKFLOWS_QUERY} AND OutTradeNo="${outTradeNo}" AND PaymentStatus="SUCCESS" AND NotifyAttempts=1 AND ExecutionStatus="Completed"`);
    return ids.length ? ids : null;
  });
  expect(found).toEqual([workflowId]);
  expect((await handle.describe()).type).toBe(PAYMENT_WORKFLOW_TYPE);

  // The history as this server recorded it replays against the code the worker runs.
  const history = await handle.fetchHistory();
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: quietLogger });
  await expect(Worker.runReplayHistory({ workflowBundle, replayName: 'temporal-postgres' }, history, workflowId)).resolves.toBeUndefined();
});
