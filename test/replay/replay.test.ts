/**
 * Replays histories captured from real runs (dev server and time-skipping server) against the current
 * workflow code. A change to the command sequence that is not guarded by patched() fails here before it
 * can break the 24-hour workflows already running in production.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../../worker/create-worker';
import { REQUEST_ID_HEADER } from '../../workflows/request-id';
import { quietLogger } from '../support/quiet-logger';

const dir = path.join(__dirname, 'histories');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f, history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))) }));

async function* histories() {
  for (const f of fixtures) yield { workflowId: f.name, history: f.history };
}

test('the committed histories cover success, expiry, notification exhaustion, a refund, a payment exception, an approved transfer and the renotify update', () => {
  expect(fixtures.map((f) => f.name)).toEqual([
    'duplicate-payment-exception.json',
    'expired-closed-local-activities.json',
    'expired-closed.json',
    'notify-exhausted-local-activities.json',
    'notify-exhausted.json',
    'paid-notified-dev-server.json',
    'paid-notified-local-activities.json',
    'paid-notified-request-id-local-activities.json',
    'refund-polled-success-local-activities.json',
    'refund-polled-success.json',
    'renotify-update-loop-ended-local-activities.json',
    'renotify-update-taken-local-activities.json',
    'transfer-approved.json',
    'v2-duplicate-payment-exception.json',
    'v2-expired-closed.json',
    'v2-notify-exhausted.json',
    'v2-paid-notified-request-id.json',
    'v2-paid-notified.json',
    'v2-renotify-update-loop-ended.json',
    'v2-renotify-update-taken.json',
  ]);
});

test('the v2 histories are paymentWorkflowV2 runs: no patch markers or TemporalChangeVersion, local activities, one upsert for the channel choice', () => {
  const v2 = fixtures.filter((f) => f.name.startsWith('v2-'));
  for (const f of v2) {
    const events = f.history.events ?? [];
    const upserted = events.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).sort().join('+') || []);
    expect([f.name, events[0].workflowExecutionStartedEventAttributes?.workflowType?.name]).toEqual([f.name, 'paymentWorkflowV2']);
    expect([f.name, events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length]).toEqual([f.name, 0]);
    expect([f.name, upserted.filter((k) => k.includes('TemporalChangeVersion'))]).toEqual([f.name, []]);
    expect([f.name, events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')]).toEqual([f.name, true]);
    // The consumer's one channel choice set both attributes in one event.
    if (f.name.startsWith('v2-paid-notified')) expect([f.name, upserted.filter((k) => k.includes('ChannelType'))]).toEqual([f.name, ['ChannelType+PaymentStatus']]);
  }
});

test('the local-activities histories took the patched path, the older ones did not', () => {
  const patchesOf = (f: (typeof fixtures)[number]) =>
    (f.history.events ?? [])
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!['patch-data'].payloads![0].data!).toString()).id as string);
  const localActivityMarkers = (f: (typeof fixtures)[number]) => (f.history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
  for (const f of fixtures) {
    const patched = f.name.includes('local-activities');
    expect([f.name, patchesOf(f).includes('local-activities-v1')]).toEqual([f.name, patched]);
    if (patched) expect(localActivityMarkers(f)).toBeGreaterThan(0);
  }
});

test('the renotify-update histories took the renotify update path: one taken by the loop, one refused by its end', () => {
  const updates = (f: (typeof fixtures)[number]) =>
    (f.history.events ?? []).flatMap((e) => {
      if (e.workflowExecutionUpdateAcceptedEventAttributes) return [`accepted ${e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name}`];
      const done = e.workflowExecutionUpdateCompletedEventAttributes?.outcome;
      if (done) return [done.failure ? `failed ${done.failure.applicationFailureInfo?.type}` : 'completed'];
      return [];
    });
  const byName = Object.fromEntries(fixtures.filter((f) => f.name.startsWith('renotify-update')).map((f) => [f.name, updates(f)]));
  expect(byName).toEqual({
    'renotify-update-loop-ended-local-activities.json': ['accepted renotify', 'failed RenotifyLoopEnded'],
    'renotify-update-taken-local-activities.json': ['accepted renotify', 'completed'],
  });
  for (const f of fixtures) {
    const markers = (f.history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').map((e) => Buffer.from(e.markerRecordedEventAttributes!.details!['patch-data'].payloads![0].data!).toString());
    expect([f.name, markers.some((m) => m.includes('renotify-update-v1'))]).toEqual([f.name, f.name.startsWith('renotify-update')]);
  }
});

test('the request-id history carries the header on the start, the signal and the scheduled activity', () => {
  const f = fixtures.find((x) => x.name === 'paid-notified-request-id-local-activities.json')!;
  const withHeader = (f.history.events ?? []).filter((e) =>
    [e.workflowExecutionStartedEventAttributes, e.workflowExecutionSignaledEventAttributes, e.activityTaskScheduledEventAttributes].some((a) => a?.header?.fields?.[REQUEST_ID_HEADER]),
  );
  expect(withHeader.map((e) => (e.workflowExecutionStartedEventAttributes ? 'start' : e.workflowExecutionSignaledEventAttributes ? 'signal' : 'activity'))).toEqual(['start', 'signal', 'activity']);
});

test('every captured history replays against the current workflow code', async () => {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: quietLogger });
  const results: Array<{ workflowId: string; error?: unknown }> = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle, replayName: 'current' }, histories())) results.push(r);
  expect(results.map((r) => [r.workflowId, r.error ?? null])).toEqual(fixtures.map((f) => [f.name, null]));
});

test('a deliberately non-deterministic change fails the replay', async () => {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./nondeterministic'), logger: quietLogger });
  const results: Array<{ workflowId: string; error?: unknown }> = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle, replayName: 'nondeterministic' }, histories())) results.push(r);
  expect(results).toHaveLength(fixtures.length);
  for (const r of results) expect(r.error).toBeInstanceOf(DeterminismViolationError);
});
