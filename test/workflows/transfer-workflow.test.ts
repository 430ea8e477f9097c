/**
 * TransferWorkflow under the time-skipping server with the real use-cases and PostgreSQL and a scripted provider:
 * approval above the threshold, rejection, the 24 h approval timeout, payee confirmation ending by a verified
 * notification, outages retried with one request number, the TRANSFER_RESULT notification, and the daily limit
 * held by PostgreSQL under twenty concurrent requests through three connection pools.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { UseCases } from '../../app';
import { createDb } from '../../db/connection';
import { findAppWithKeys, type AppWithKeys } from '../../db/queries/apps';
import { dailyReserved } from '../../db/queries/transfers';
import { shanghaiDay } from '../../domain/reconciliation';
import { providerOutBizNo } from '../../domain/transfer';
import { createProviderRegistry } from '../../providers/registry';
import { verifySignedHeaders } from '../../signature';
import { WorkflowIds } from '../../temporal/workflow-ids';
import { createPaymentWorker } from '../../worker/create-worker';
import { transferCallbackSignal, transferStateQuery, type TransferState } from '../../workflows/messages';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, type SeededApp } from '../support/fixtures';
import { ACK, startMerchantServer, type MerchantServer } from '../support/merchant-server';
import { maybeCaptureHistory } from '../support/history';
import { ScriptedProvider } from '../support/scripted-provider';
import { testUseCases, workerActivities } from '../support/system';
import { startTimeSkipping } from '../support/time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let t: TestDb;
let merchant: MerchantServer;
let app: SeededApp;
let keys: AppWithKeys;
const scripted = new ScriptedProvider('ali-pay');
const providers = createProviderRegistry([scripted]);
const admin = { username: 'admin', ip: '127.0.0.1' };

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
  t = await createTestDb();
  merchant = await startMerchantServer(() => env.currentTimeMs());
  app = await seedApp(t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native' }] });
  await t.db('apps').where({ app_id: app.appId }).update({ notify_url: merchant.url });
  keys = (await findAppWithKeys(t.db, t.box, app.appId))!;
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
  scripted.transferAnswers = [];
  scripted.transferQueryAnswers = [];
});

async function withWorker<T>(fn: (useCases: UseCases) => Promise<T>): Promise<T> {
  const taskQueue = `tq-${randomBytes(4).toString('hex')}`;
  const useCases = testUseCases({ t, client: env.client, taskQueue, providers });
  await useCases.transfers.saveSettings(admin, app.appId, { enabled: true, maxPerTransfer: 100_000, dailyLimit: 10_000_000, approvalThreshold: 50_000 });
  const worker = await createPaymentWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities: workerActivities({ t, providers, useCases }), workflowBundle: bundle });
  return worker.runUntil(fn(useCases));
}

const transfer = (uc: UseCases, amount: number, outBizNo = `T${randomBytes(4).toString('hex')}`) =>
  uc.transfers.merchantTransfer(keys, { outBizNo, channelType: 'ali-pay', amount, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: '奖励' });
const result = (outBizNo: string) => env.client.workflow.getHandle(WorkflowIds.transfer(app.appId, outBizNo)).result() as Promise<TransferState>;

test('below the threshold: paid at once, recorded, notified as a signed TRANSFER_RESULT', async () => {
  const state = await withWorker(async (uc) => {
    const v = await transfer(uc, 1000, 'T-direct');
    expect(v.status).toBe('PROCESSING');
    return result('T-direct');
  });
  expect(state.status).toBe('SUCCESS');
  expect(scripted.calls.filter((c) => c.op === 'transfer').map((c) => c.outTradeNo)).toEqual([providerOutBizNo(state.transferId)]);
  expect(await t.db('transfers').where({ id: state.transferId }).first()).toMatchObject({ status: 'SUCCESS', notify_status: 'ACKED' });
  const n = merchant.received[0];
  expect(n.body).toMatchObject({ eventType: 'TRANSFER_RESULT', eventId: `TRANSFER_RESULT-${state.transferId}`, outBizNo: 'T-direct', amount: 1000, resultCode: 'SUCCESS', attempt: 1 });
  expect(verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: '/notify', headers: n.headers, body: n.rawBody, keys: [app.appKey], now: Date.now() }).ok).toBe(true);
  expect(await t.db('notification_attempts').where({ transfer_id: state.transferId })).toHaveLength(1);
});

test('above the threshold: waits for an administrator; approved, it is paid', async () => {
  const state = await withWorker(async (uc) => {
    const v = await transfer(uc, 60_000, 'T-approve');
    expect(v.status).toBe('PENDING_APPROVAL');
    await env.sleep('2 hours');
    expect(scripted.calls.filter((c) => c.op === 'transfer')).toHaveLength(0);
    await uc.transfers.decide(admin, v.transferId, true, '核实无误');
    const s = await result('T-approve');
    await maybeCaptureHistory(env.client.workflow.getHandle(WorkflowIds.transfer(app.appId, 'T-approve')), 'transfer-approved');
    return s;
  });
  expect(state).toMatchObject({ status: 'SUCCESS', decidedBy: 'admin', decisionNote: '核实无误' });
  expect(await t.db('transfers').where({ id: state.transferId }).first()).toMatchObject({ decided_by: 'admin', status: 'SUCCESS' });
  expect(await t.db('admin_audit_log').where({ action: 'transfer.approve', target_id: String(state.transferId) })).toHaveLength(1);
});

test('rejected, or undecided for 24 hours: CANCELLED, nothing paid, the amount back in the day, the merchant told', async () => {
  const [rejected, timedOut] = await withWorker(async (uc) => {
    const before = await dailyReserved(t.db, app.appId, shanghaiDay(Date.now()));
    const r = await transfer(uc, 70_000, 'T-reject');
    await uc.transfers.decide(admin, r.transferId, false, '收款人可疑');
    const rejected = await result('T-reject');
    await transfer(uc, 80_000, 'T-timeout');
    const timedOut = await result('T-timeout');
    expect(await dailyReserved(t.db, app.appId, shanghaiDay(Date.now()))).toBe(before);
    return [rejected, timedOut];
  });
  expect(rejected).toMatchObject({ status: 'CANCELLED', errorCode: 'APPROVAL_REJECTED', decidedBy: 'admin' });
  expect(timedOut).toMatchObject({ status: 'CANCELLED', errorCode: 'APPROVAL_TIMEOUT', decidedBy: null });
  expect(scripted.calls.filter((c) => c.op === 'transfer')).toHaveLength(0);
  expect(merchant.received.map((r) => [r.body.outBizNo, r.body.resultCode, r.body.resultErrorCode])).toEqual([
    ['T-reject', 'CANCELLED', 'APPROVAL_REJECTED'],
    ['T-timeout', 'CANCELLED', 'APPROVAL_TIMEOUT'],
  ]);
});

test('a payee confirmation ends with the verified notification; an outage is retried with one request number', async () => {
  scripted.transferAnswers = ['UNAVAILABLE', { status: 'WAIT_USER_CONFIRM', providerTransferId: 'WX-1', confirm: { mchId: 'm', appId: 'a', package: 'pkg' } }];
  // WeChat's query answers without the package: what the payee's client needs must survive the polling.
  scripted.transferQueryAnswers = [{ status: 'WAIT_USER_CONFIRM', providerTransferId: 'WX-1', confirm: { mchId: 'm', appId: 'a' } }];
  const state = await withWorker(async (uc) => {
    await transfer(uc, 2000, 'T-confirm');
    const h = env.client.workflow.getHandle(WorkflowIds.transfer(app.appId, 'T-confirm'));
    let s = await h.query(transferStateQuery);
    // The first call fails (outage) and is retried after its backoff: let the server's clock move.
    for (let i = 0; s.status !== 'WAIT_USER_CONFIRM' && i < 20; i++) {
      await env.sleep('2s');
      s = await h.query(transferStateQuery);
    }
    expect(s.confirm).toEqual({ mchId: 'm', appId: 'a', package: 'pkg' });
    await env.sleep('3 minutes'); // a few polls
    expect(scripted.calls.filter((c) => c.op === 'queryTransfer').length).toBeGreaterThan(0);
    s = await h.query(transferStateQuery);
    expect(s.confirm).toEqual({ mchId: 'm', appId: 'a', package: 'pkg' });
    const row = await t.db('transfers').where({ out_biz_no: 'T-confirm' }).first();
    expect(row).toMatchObject({ status: 'WAIT_USER_CONFIRM', confirm: { package: 'pkg' } });
    expect((await uc.transfers.merchantTransferView(keys, 'T-confirm')).confirm).toEqual({ mchId: 'm', appId: 'a', package: 'pkg' });
    await h.signal(transferCallbackSignal, { eventId: 'EV-1', verdict: { status: 'SUCCESS', providerTransferId: 'WX-1', transferTime: Date.UTC(2026, 11, 1) } });
    return result('T-confirm');
  });
  expect(state.status).toBe('SUCCESS');
  const calls = scripted.calls.filter((c) => c.op === 'transfer');
  expect(calls).toHaveLength(2);
  expect(new Set(calls.map((c) => c.outTradeNo)).size).toBe(1);
});

test('settings refuse before anything is written; the daily limit holds under twenty concurrent requests through three pools', async () => {
  await withWorker(async (uc) => {
    await uc.transfers.saveSettings(admin, app.appId, { enabled: true, maxPerTransfer: 40_000, dailyLimit: 100_000, approvalThreshold: 40_000 });
    const count = async () => Number((await t.db('transfers').count({ n: '*' }).first())!.n);
    const before = await count();
    await expect(transfer(uc, 40_001)).rejects.toMatchObject({ code: 4090 });
    await uc.transfers.saveSettings(admin, app.appId, { enabled: false, maxPerTransfer: 40_000, dailyLimit: 100_000, approvalThreshold: 40_000 });
    await expect(transfer(uc, 1)).rejects.toMatchObject({ code: 4030 });
    expect(await count()).toBe(before);

    // A fresh day budget: another app, 100,000 fen a day, twenty requests of 15,000 → at most six.
    const other = await seedApp(t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native' }] });
    const otherKeys = (await findAppWithKeys(t.db, t.box, other.appId))!;
    await uc.transfers.saveSettings(admin, other.appId, { enabled: true, maxPerTransfer: 40_000, dailyLimit: 100_000, approvalThreshold: 40_000 });
    const pools = [0, 1, 2].map(() => createDb(t.url, 5));
    try {
      const services = pools.map((db) => testUseCases({ t: { ...t, db }, client: env.client, taskQueue: 'unused', providers }).transfers);
      const answers = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          services[i % 3].merchantTransfer(otherKeys, { outBizNo: `C-${i}`, channelType: 'ali-pay', amount: 15_000, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'p@example.com', remark: 'r' }),
        ),
      );
      const ok = answers.filter((a) => a.status === 'fulfilled');
      const refused = answers.filter((a) => a.status === 'rejected') as PromiseRejectedResult[];
      expect(ok).toHaveLength(6);
      expect(refused.map((r) => (r.reason as { code: number }).code)).toEqual(Array(14).fill(4090));
      expect(await dailyReserved(t.db, other.appId, shanghaiDay(Date.now()))).toBe(90_000);
      expect(Number((await t.db('transfers').where({ app_id: other.appId }).count({ n: '*' }).first())!.n)).toBe(6);
    } finally {
      await Promise.all(pools.map((p) => p.destroy()));
    }
  });
});
