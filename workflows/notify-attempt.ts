/**
 * Merchant notifications as workflow steps, shared by PaymentWorkflow, RefundWorkflow, TransferWorkflow and the
 * one-shot renotifyWorkflow: one attempt, and the whole anchored 16-attempt schedule with ops' renotify/stop. The
 * event (payment, refund or transfer result) only decides what the activity posts. Deterministic code only.
 */
import { condition, patched, proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PaymentNotifyArgs, RefundNotifyArgs, TransferNotifyArgs } from '../activities/notify';
import { MAX_SCHEDULED_NOTIFY_ATTEMPTS, scheduledAttemptAt } from '../domain/notify-schedule';
import type { NotifyStatus } from '../domain/order';
import type { NotifyAttemptRecord } from '../domain/payment';
import { SA } from './search-attributes';

/** Database writes must land: retry until they do (every store activity is idempotent). */
export const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/**
 * Patch: database writes and provider calls run as local activities (in the workflow task, no round trip through
 * the server's activity queue), and a result and its notify status are one write. Workflows that started before
 * keep their regular activities for their whole life (patched() answers the same all through one execution).
 */
export const LOCAL_ACTIVITIES_PATCH = 'local-activities-v1';

/** The same writes as `store`, as local activities (used once LOCAL_ACTIVITIES_PATCH applies). */
export const localStore = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** One notification attempt is one HTTP POST; the workflow owns the retry schedule, so no activity retries. */
const notify = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 1 },
});

/** The notification an attempt sends, without its attempt number and schedule. */
export type NotifyEvent =
  | Omit<PaymentNotifyArgs, 'attempt' | 'scheduledAt'>
  | Omit<RefundNotifyArgs, 'attempt' | 'scheduledAt'>
  | Omit<TransferNotifyArgs, 'attempt' | 'scheduledAt'>;

/**
 * Runs attempt `attempt` and returns its record. Never throws: an activity failure (worker lost, timeout) is
 * a failed attempt like a merchant's 500, so the schedule goes on.
 */
export async function notifyAttempt(args: NotifyEvent & { attempt: number; trigger: NotifyAttemptRecord['trigger']; scheduledAt: number }): Promise<NotifyAttemptRecord> {
  const { trigger, ...call } = args;
  const { attempt, scheduledAt } = args;
  try {
    const r = await notify.notifyMerchant(call);
    return { attempt, trigger, scheduledAt, ...r };
  } catch (err) {
    return { attempt, trigger, scheduledAt, httpStatus: null, latencyMs: 0, acknowledged: false, error: `activity failed: ${(err as Error).message}`.slice(0, 500) };
  }
}

/** The notification progress a workflow exposes in its state query. */
export interface NotifyProgress {
  notifyStatus: NotifyStatus;
  notifyAttempts: NotifyAttemptRecord[];
  nextNotifyAt: number | null;
}

/** Ops' requests, set by the workflow's renotify / stop signal (and renotify update) handlers. */
export interface NotifyRequests {
  renotify: boolean;
  stop: boolean;
  /** How many renotify requests the loop has taken, and the attempt number it gave the last one. */
  taken?: number;
  takenAttempt?: number;
  /** Set the moment the loop stops taking requests: a renotify request after this gets no attempt here. */
  closed?: boolean;
}

/**
 * Notifies on the anchored schedule (offsets from the first attempt, so a slow merchant does not push the
 * schedule back) until the merchant acknowledges, ops stop it, or every scheduled attempt was made. A renotify
 * request makes an extra attempt at once; the schedule keeps its offsets. Returns the final notify status.
 */
export async function runNotifySchedule(args: {
  event: () => NotifyEvent;
  progress: NotifyProgress;
  requests: NotifyRequests;
  /** Called after every change a Web UI summary shows. */
  describe: () => void;
  /** The caller already wrote notify status PENDING together with its result (LOCAL_ACTIVITIES_PATCH). */
  pendingRecorded?: boolean;
  /** The caller's answer for LOCAL_ACTIVITIES_PATCH (a workflow type without patches has one without a marker). */
  localActivities?: boolean;
}): Promise<NotifyStatus> {
  const { progress, requests } = args;
  const subject = subjectOf(args.event());
  const local = args.localActivities ?? patched(LOCAL_ACTIVITIES_PATCH);
  const writes = local ? localStore : store;
  progress.notifyStatus = 'PENDING';
  if (!(local && args.pendingRecorded)) await writes.recordNotifyStatus({ ...subject, notifyStatus: 'PENDING' });
  const anchor = Date.now();
  let scheduled = 0;
  while (scheduled < MAX_SCHEDULED_NOTIFY_ATTEMPTS && progress.notifyStatus === 'PENDING') {
    const at = scheduledAttemptAt(anchor, scheduled)!;
    progress.nextNotifyAt = at;
    const wait = at - Date.now();
    if (wait > 0) await condition(() => requests.renotify || requests.stop, wait);
    if (requests.stop) break;
    if (requests.renotify) {
      requests.renotify = false;
      requests.taken = (requests.taken ?? 0) + 1;
      requests.takenAttempt = progress.notifyAttempts.length + 1;
      await attempt('RENOTIFY', Date.now());
      continue; // an extra attempt; the schedule keeps its anchored offsets
    }
    await attempt('SCHEDULE', at);
    scheduled++;
  }
  // Synchronously with the loop's last check: a renotify request accepted before this line is taken above or
  // sees `closed` and is refused, never left pending in a loop that will not look again.
  requests.closed = true;
  progress.nextNotifyAt = null;
  // On the local path an acknowledgement was written with its attempt; only the other endings need a write.
  const acknowledgedAndRecorded = local && (progress.notifyStatus as NotifyStatus) === 'ACKED';
  if (progress.notifyStatus === 'PENDING') progress.notifyStatus = requests.stop ? 'STOPPED' : 'NOTIFY_EXHAUSTED';
  if (!acknowledgedAndRecorded) await writes.recordNotifyStatus({ ...subject, notifyStatus: progress.notifyStatus });
  args.describe();
  return progress.notifyStatus;

  async function attempt(trigger: NotifyAttemptRecord['trigger'], scheduledAt: number): Promise<void> {
    const record = await notifyAttempt({ ...args.event(), attempt: progress.notifyAttempts.length + 1, trigger, scheduledAt });
    progress.notifyAttempts.push(record);
    upsertSearchAttributes([{ key: SA.NotifyAttempts, value: progress.notifyAttempts.length }]);
    if (local) await localStore.recordNotifyAttempt({ ...subject, record, notifyStatus: record.acknowledged ? 'ACKED' : undefined });
    else await store.recordNotifyAttempt({ ...subject, record });
    if (record.acknowledged) progress.notifyStatus = 'ACKED';
    args.describe();
  }
}

function subjectOf(event: NotifyEvent): { orderId: number | null; refundId?: number; transferId?: number } {
  if ('transferId' in event) return { orderId: null, transferId: event.transferId };
  return 'refundId' in event ? { orderId: event.orderId, refundId: event.refundId } : { orderId: event.orderId };
}
