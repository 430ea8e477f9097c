/**
 * ChannelBindingWorkflow under the Java time-skipping test server with real PostgreSQL activities: the
 * auto-approval timer (方式二) fires after days of workflow time in well under a second of real time; an
 * administrator's decision before it wins (方式一); the first decision is final; only a PENDING row changes.
 * Time advances only while `env.client` awaits `handle.result()` (the Java test server skips time only while a client waits on a result).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { createBindingActivities } from '../../activities/binding';
import { createApp } from '../../db/queries/apps';
import { createChannel } from '../../db/queries/channels';
import { createChannelConfig } from '../../db/queries/channel-configs';
import { openApplication } from '../../db/queries/app-channels';
import {
  AUTO_APPROVER,
  approveBindingSignal,
  bindingStateQuery,
  channelBindingWorkflow,
  rejectBindingSignal,
  type BindingState,
  type ChannelBindingInput,
} from '../../workflows/channel-binding';
import { WorkflowIds } from '../../temporal/workflow-ids';
import { createTestDb, type TestDb } from '../support/db';
import { startTimeSkipping } from '../support/time-skipping';

const DAY_MS = 86_400_000;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let t: TestDb;
let appId: string;

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
  t = await createTestDb();
  appId = (await createApp(t.db, t.box, { name: 'Binding merchant', status: 'APPROVED' })).appId;
});

afterAll(async () => {
  await t?.destroy();
  await env?.teardown();
});

/** A fresh channel with a PENDING application of the app, as the API records it before starting the workflow. */
async function application(): Promise<ChannelBindingInput & { workflowId: string }> {
  const configId = await createChannelConfig(t.db, t.box, { channelType: 'ali-pay', name: 'ali', mchId: 'm1', providerAppId: 'p1', gatewayUrl: 'http://127.0.0.1:9', secrets: {} });
  const channelId = await createChannel(t.db, { configId, channelType: 'ali-pay', channelName: '支付宝H5', sceneCode: 'h5' });
  const workflowId = WorkflowIds.binding(appId, channelId);
  await openApplication(t.db, { appId, channelId, workflowId, autoApproveAt: new Date(Date.now() + 3 * DAY_MS) });
  return { appId, channelId, autoApproveAfterMs: 3 * DAY_MS, channelName: '支付宝H5', workflowId };
}

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `bind-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: createBindingActivities({ db: t.db }),
  });
  return worker.runUntil(fn(taskQueue));
}

const row = (channelId: number) => t.db('app_channels').where({ app_id: appId, channel_id: channelId }).first();

/** Workflow-clock time from the start of the workflow to its decision. */
const decisionDelay = (r: BindingState) => r.decision!.decidedAt - (r.autoApproveAt - 3 * DAY_MS);

test('方式二: nobody decides → the timer approves after the waiting period (3 days of workflow time)', async () => {
  const input = await application();
  const result = await withWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start(channelBindingWorkflow, { args: [input], workflowId: input.workflowId, taskQueue });
    expect((await handle.query(bindingStateQuery)).status).toBe('PENDING');
    return handle.result(); // the test server skips time while we wait here
  });
  expect(result).toMatchObject({ status: 'APPROVED', recordedStatus: 'APPROVED', decision: { decidedBy: AUTO_APPROVER, auto: true } });
  // The timer fired after exactly the waiting period (plus the workflow task that handled it).
  expect(decisionDelay(result)).toBeGreaterThanOrEqual(3 * DAY_MS);
  expect(decisionDelay(result)).toBeLessThan(3 * DAY_MS + 60_000);
  expect(await row(input.channelId)).toMatchObject({ status: 'APPROVED', decided_by: AUTO_APPROVER });
  const audit = await t.db('admin_audit_log').where({ action: 'binding.auto_approve', target_id: `${appId}:${input.channelId}` });
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ actor: AUTO_APPROVER, target_type: 'binding' });
});

test('reject before the timer: REJECTED at once, the timer never approves', async () => {
  const input = await application();
  const result = await withWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start(channelBindingWorkflow, { args: [input], workflowId: input.workflowId, taskQueue });
    await handle.signal(rejectBindingSignal, { operator: 'ops-li', note: '资质不符' });
    return handle.result();
  });
  expect(result).toMatchObject({ status: 'REJECTED', recordedStatus: 'REJECTED', decision: { decidedBy: 'ops-li', note: '资质不符', auto: false } });
  expect(decisionDelay(result)).toBeLessThan(60_000);
  expect(await row(input.channelId)).toMatchObject({ status: 'REJECTED', decided_by: 'ops-li', decision_note: '资质不符' });
  expect(await t.db('admin_audit_log').where({ action: 'binding.auto_approve', target_id: `${appId}:${input.channelId}` })).toHaveLength(0);
});

test('方式一: an administrator approves a day into the waiting period', async () => {
  const input = await application();
  const result = await withWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start(channelBindingWorkflow, { args: [input], workflowId: input.workflowId, taskQueue });
    await env.sleep('1 day');
    expect((await handle.query(bindingStateQuery)).status).toBe('PENDING');
    await handle.signal(approveBindingSignal, { operator: 'ops-wang' });
    return handle.result();
  });
  expect(result).toMatchObject({ status: 'APPROVED', decision: { decidedBy: 'ops-wang', auto: false, note: null } });
  expect(decisionDelay(result)).toBeGreaterThanOrEqual(DAY_MS);
  expect(decisionDelay(result)).toBeLessThan(3 * DAY_MS);
  expect(await row(input.channelId)).toMatchObject({ status: 'APPROVED', decided_by: 'ops-wang' });
});

test.each([
  ['reject', 'approve', 'REJECTED', 'ops-a'],
  ['approve', 'reject', 'APPROVED', 'ops-a'],
] as const)('the first decision wins (%s, then %s, both before the workflow first ran)', async (first, second, expected, by) => {
  const input = await application();
  const taskQueue = `bind-${randomBytes(4).toString('hex')}`;
  // No worker yet: both signals reach the workflow in its first activation, where the SDK buffers them.
  const handle = await env.client.workflow.start(channelBindingWorkflow, { args: [input], workflowId: input.workflowId, taskQueue });
  const signal = (which: 'approve' | 'reject', operator: string) => handle.signal(which === 'approve' ? approveBindingSignal : rejectBindingSignal, { operator, note: which });
  await signal(first, 'ops-a');
  await signal(second, 'ops-b');
  const worker = await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue, workflowBundle: bundle, activities: createBindingActivities({ db: t.db }) });
  const result = await worker.runUntil(handle.result());
  expect(result).toMatchObject({ status: expected, recordedStatus: expected, decision: { decidedBy: by } });
  expect((await row(input.channelId)).status).toBe(expected);
});

test('a later decision changes nothing once one was made', async () => {
  const input = await application();
  const result = await withWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start(channelBindingWorkflow, { args: [input], workflowId: input.workflowId, taskQueue });
    await handle.signal(rejectBindingSignal, { operator: 'ops-a', note: 'no' });
    await handle.signal(approveBindingSignal, { operator: 'ops-b' });
    return handle.result();
  });
  expect(result).toMatchObject({ status: 'REJECTED', decision: { decidedBy: 'ops-a' } });
  expect((await row(input.channelId)).status).toBe('REJECTED');
});

test('the activity only changes a PENDING row: a decision recorded elsewhere is kept', async () => {
  const input = await application();
  await t.db('app_channels').where({ app_id: appId, channel_id: input.channelId }).update({ status: 'REJECTED', decided_by: 'earlier' });
  const result = await withWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start(channelBindingWorkflow, { args: [{ ...input, autoApproveAfterMs: 60_000 }], workflowId: input.workflowId, taskQueue });
    return handle.result();
  });
  expect(result).toMatchObject({ status: 'APPROVED', recordedStatus: 'REJECTED' });
  expect(await row(input.channelId)).toMatchObject({ status: 'REJECTED', decided_by: 'earlier' });
});
