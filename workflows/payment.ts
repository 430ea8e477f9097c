/**
 * PaymentWorkflow: one per order. Deterministic code only: no Node built-ins, no I/O, no clock
 * but the workflow's own. Everything that touches the world is an activity.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DomainError, ErrorCode, failureType, toApplicationFailure } from '../domain/errors';
import { fenToYuanString } from '../domain/money';
import { canTransition, isFinal, isPaid, type OrderStatus } from '../domain/order';
import { paidAmountMismatch, type ChannelRef, type ChooseChannelRequest, type ProviderVerdict } from '../domain/payment';
import type { DetectedPaymentException } from '../domain/refund';
import { LOCAL_ACTIVITIES_PATCH, localStore, runNotifySchedule, store, type NotifyRequests } from './notify-attempt';
import { nextPaymentPollInterval } from './provider-calls';
import { SA } from './search-attributes';
import {
  chooseChannelUpdate,
  providerCallbackSignal,
  RENOTIFY_LOOP_ENDED,
  renotifySignal,
  renotifyUpdate,
  stateQuery,
  stopNotifySignal,
  type PaymentState,
  type PaymentWorkflowInput,
  type ProviderCallback,
  type RenotifyAccepted,
} from './messages';

/** Provider calls: a few quick retries; the workflow itself re-queries later anyway. */
const provider = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
});
/** The same provider calls as local activities (LOCAL_ACTIVITIES_PATCH): no activity-queue round trip per call. */
const localProvider = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
});
/** Prepay answers a waiting consumer: fail fast and let them try again instead of hanging the page. */
const PREPAY_OPTIONS = {
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 2, initialInterval: '500ms', nonRetryableErrorTypes: [ErrorCode.VALIDATION, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND, ErrorCode.CONFLICT].map(failureType) },
} as const;
const prepayActivity = proxyActivities<Activities>(PREPAY_OPTIONS).prepay;
/** Prepay inside the update's own workflow task: the consumer's channel choice costs one task, not three. */
const localPrepay = proxyLocalActivities<Activities>(PREPAY_OPTIONS).prepay;

/**
 * Patch: payment exceptions (late, duplicate, mismatched payments) are recorded through an activity, which
 * refunds them under the exception policy. Histories from before only logged them.
 */
const PAYMENT_EXCEPTIONS_PATCH = 'payment-exceptions-v1';

/**
 * Patch: ops renotify is an update that completes only once the notification loop has taken it, and is refused
 * once the loop has ended, so the caller knows to make the attempt elsewhere. A renotify signal that lands after
 * the loop's last look was silently lost. The workflow also waits for its handlers before it completes.
 */
export const RENOTIFY_UPDATE_PATCH = 'renotify-update-v1';

/** Where a run's code path depends on when it started: the patches above, and the channel choice's upsert. */
interface CodePath {
  localActivities(): boolean;
  renotifyByUpdate(): boolean;
  paymentExceptions(): boolean;
  /** The channel choice sets ChannelType and PaymentStatus in one upsert: one history event and visibility write. */
  oneUpsertPerChoice: boolean;
}

/** paymentWorkflow: each choice by its patch marker, so a run started on older code keeps its old path. */
const PATCHED: CodePath = {
  localActivities: () => patched(LOCAL_ACTIVITIES_PATCH),
  renotifyByUpdate: () => patched(RENOTIFY_UPDATE_PATCH),
  paymentExceptions: () => patched(PAYMENT_EXCEPTIONS_PATCH),
  oneUpsertPerChoice: false,
};

/**
 * paymentWorkflowV2: the current path, with no markers. Every patched() a new run answers records a marker event and
 * a TemporalChangeVersion upsert (a visibility write) in every order's history; no run of this type is older than
 * the patches, so it needs none.
 */
const CURRENT: CodePath = { localActivities: () => true, renotifyByUpdate: () => true, paymentExceptions: () => true, oneUpsertPerChoice: true };

/** Started for orders created before paymentWorkflowV2 (and replayed for them); new orders start paymentWorkflowV2. */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentState> {
  return runPayment(input, PATCHED);
}

/** One per order: waits for the payment (callbacks, provider queries) until expiry, records it, notifies the merchant. */
export async function paymentWorkflowV2(input: PaymentWorkflowInput): Promise<PaymentState> {
  return runPayment(input, CURRENT);
}

type SearchAttributePairs = Extract<Parameters<typeof upsertSearchAttributes>[0], unknown[]>;

async function runPayment(input: PaymentWorkflowInput, path: CodePath): Promise<PaymentState> {
  const state: PaymentState = {
    orderId: input.orderId,
    appId: input.appId,
    outTradeNo: input.outTradeNo,
    amount: input.amount,
    status: 'CREATED',
    expireAt: input.expireAt,
    channel: null,
    providerTradeNo: null,
    payTime: null,
    errorCode: null,
    errorMsg: null,
    notifyStatus: 'NONE',
    notifyAttempts: [],
    nextNotifyAt: null,
  };
  /** Channels at which a trade may exist (prepay started or done): queried while waiting, closed at the end. */
  const openChannels = new Map<number, ChannelRef>();
  const notifyRequests: NotifyRequests = { renotify: false, stop: false };
  /** Exception records in flight; the workflow does not end before they are stored. */
  const exceptionReports: Array<Promise<void>> = [];

  /** `alsoSet`: search attributes changed in the same step, written in the same upsert. */
  const setStatus = (next: OrderStatus, alsoSet: SearchAttributePairs = []) => {
    if (next === state.status) {
      if (alsoSet.length) upsertSearchAttributes(alsoSet);
      return;
    }
    state.status = next;
    upsertSearchAttributes([...alsoSet, { key: SA.PaymentStatus, value: next }]);
    describe();
  };
  const describe = () =>
    setCurrentDetails(
      `**${state.status}** · ¥${fenToYuanString(state.amount)} · ${state.outTradeNo}` +
        (state.channel ? ` · ${state.channel.channelType}/${state.channel.sceneCode}` : '') +
        (state.notifyStatus !== 'NONE' ? `\n\nnotify: ${state.notifyStatus}, ${state.notifyAttempts.length} attempt(s)` : ''),
    );

  /** Applies a provider verdict. Mismatches and anything arriving after a final result change nothing. */
  const apply = (channel: ChannelRef, verdict: ProviderVerdict, source: string): void => {
    if (verdict.status === 'SUCCESS' || verdict.status === 'FINISH') {
      const reported = paidAmountMismatch(verdict, state.amount);
      if (reported !== null) {
        log.error('provider reported a paid amount that does not match the order; ignored', {
          source, outTradeNo: state.outTradeNo, expected: state.amount, reported, channelId: channel.channelId,
        });
        reportException('AMOUNT_MISMATCH', channel, verdict, source);
        return;
      }
      if (isPaid(state.status)) {
        if (state.channel && state.channel.channelId !== channel.channelId) {
          // Paid twice through two channels: keep the first, surface the second for a refund.
          log.error('order paid again through a second channel; needs a refund', { outTradeNo: state.outTradeNo, channelId: channel.channelId });
          reportException('DUPLICATE_PAYMENT', channel, verdict, source);
          return;
        }
        if (verdict.status === 'FINISH' && state.status === 'SUCCESS') setStatus('FINISH');
        return;
      }
      if (!canTransition(state.status, 'SUCCESS')) {
        // The provider took money after we declared the order FAIL/CLOSED: never flip a final result, flag it.
        log.error('payment reported for an order that is already final; needs a refund', { outTradeNo: state.outTradeNo, status: state.status, channelId: channel.channelId });
        reportException('LATE_PAYMENT', channel, verdict, source);
        return;
      }
      state.channel = channel;
      state.providerTradeNo = verdict.providerTradeNo;
      state.payTime = verdict.payTime;
      state.errorCode = null;
      state.errorMsg = null;
      setStatus('SUCCESS');
      if (verdict.status === 'FINISH') setStatus('FINISH');
      return;
    }
    if (verdict.status === 'FAIL' && !isFinal(state.status)) {
      // A failed attempt is not final while the order is open: the consumer may try again or pick another channel.
      state.errorCode = verdict.errorCode;
      state.errorMsg = verdict.errorMsg;
    }
    // WAITING / NOT_FOUND / CLOSED at one channel say nothing final about the order.
  };

  const onCallback = (cb: ProviderCallback) => {
    if (cb.appId !== input.appId) {
      log.error('callback for another app; ignored', { outTradeNo: state.outTradeNo, expectedApp: input.appId, callbackApp: cb.appId });
      return;
    }
    if (!openChannels.has(cb.channel.channelId)) openChannels.set(cb.channel.channelId, cb.channel);
    apply(cb.channel, cb.verdict, `callback ${cb.eventId}`);
  };

  setHandler(stateQuery, () => state, { description: 'Order status, channel, payment and every notification attempt' });
  // Applied at once, so an update or query handled in the same activation already sees the result.
  setHandler(providerCallbackSignal, onCallback, { description: 'A provider callback whose signature the API verified' });
  setHandler(renotifySignal, () => void (notifyRequests.renotify = true), { description: 'Ops: notify the merchant now' });
  setHandler(stopNotifySignal, () => void (notifyRequests.stop = true), { description: 'Ops: stop notifying the merchant' });
  const renotifyByUpdate = path.renotifyByUpdate();
  if (renotifyByUpdate) {
    setHandler(
      renotifyUpdate,
      async (): Promise<RenotifyAccepted> => {
        assertRenotifiable();
        // A request already pending is joined, not doubled: a double click makes one attempt.
        const ticket = notifyRequests.taken ?? 0;
        notifyRequests.renotify = true;
        await condition(() => (notifyRequests.taken ?? 0) > ticket || notifyRequests.closed === true);
        if ((notifyRequests.taken ?? 0) > ticket) return { attempt: notifyRequests.takenAttempt ?? 0 };
        // Accepted, but the loop ended (acknowledged, stopped, exhausted) before it looked again.
        notifyRequests.renotify = false;
        throw ApplicationFailure.create({ message: 'the notification loop ended before it took the renotify request', type: RENOTIFY_LOOP_ENDED, nonRetryable: true });
      },
      { description: 'Ops: one extra notification attempt now; completes once the loop has taken it', validator: () => assertRenotifiable() },
    );
  }
  setHandler(
    chooseChannelUpdate,
    async (req) => {
      // Re-checked here: a server may skip validators (the Java test server does when replaying acceptance).
      assertChoosable(req);
      openChannels.set(req.channelId, { channelId: req.channelId, channelType: req.channelType, sceneCode: req.sceneCode, configId: req.configId, mchId: req.mchId });
      const prepay = path.localActivities() ? localPrepay : prepayActivity;
      const result = await prepay({ orderId: input.orderId, channel: req, clientIp: req.clientIp, openid: req.openid });
      if (!isFinal(state.status)) {
        state.channel = { channelId: req.channelId, channelType: req.channelType, sceneCode: req.sceneCode, configId: req.configId, mchId: req.mchId };
        const channelType = { key: SA.ChannelType, value: req.channelType };
        if (path.oneUpsertPerChoice) setStatus('PAYING', [channelType]);
        else {
          upsertSearchAttributes([channelType]);
          setStatus('PAYING');
        }
      }
      return result;
    },
    {
      description: 'Consumer chose a channel: prepay at the provider and return the client payload',
      validator: (req) => assertChoosable(req),
    },
  );
  describe();

  function assertRenotifiable(): void {
    if (!input.notifyUrl) throw toApplicationFailure(new DomainError(ErrorCode.CONFLICT, '订单没有通知地址'));
    if (!isFinal(state.status)) throw toApplicationFailure(new DomainError(ErrorCode.CONFLICT, '订单尚无支付结果，无需通知'));
    if (notifyRequests.closed) throw ApplicationFailure.create({ message: 'the notification loop has ended', type: RENOTIFY_LOOP_ENDED, nonRetryable: true });
  }

  function assertChoosable(req: ChooseChannelRequest): void {
    if (isFinal(state.status)) throw toApplicationFailure(new DomainError(ErrorCode.CONFLICT, `order is already ${state.status}`));
    if (Date.now() >= input.expireAt) throw toApplicationFailure(new DomainError(ErrorCode.CONFLICT, 'order has expired'));
    if (!Number.isSafeInteger(req.channelId)) throw toApplicationFailure(new DomainError(ErrorCode.VALIDATION, 'bad channel'));
  }

  // Phase 1: wait for the provider's verdict until the order expires, querying actively so a lost
  // callback cannot strand a payment.
  // Polling backs off (LOCAL_ACTIVITIES_PATCH) while nothing happens, and starts over when a channel is chosen:
  // thousands of open orders must not query the providers at a fixed rate for half an hour each.
  let pollMs = input.pollIntervalMs;
  while (!isFinal(state.status) && Date.now() < input.expireAt) {
    const untilExpiry = input.expireAt - Date.now();
    const waitMs = openChannels.size > 0 ? Math.min(untilExpiry, pollMs) : untilExpiry;
    // Also wake when a channel is chosen, so active queries start then instead of at the next timeout.
    const channelsBefore = openChannels.size;
    const woke = await condition(() => isFinal(state.status) || openChannels.size !== channelsBefore, waitMs);
    if (woke) pollMs = input.pollIntervalMs;
    else if (Date.now() < input.expireAt && (await queryOpenChannels())) pollMs = nextPaymentPollInterval(pollMs, input.pollIntervalMs);
  }
  if (!isFinal(state.status)) {
    // Expired: one last query (the buyer may have paid a second ago), then close at every provider.
    await queryOpenChannels();
    if (!isFinal(state.status)) {
      for (const ch of openChannels.values()) await closeQuietly(ch);
      // A payment that raced the close shows up in one more query.
      await queryOpenChannels();
    }
    if (!isFinal(state.status)) setStatus(state.errorCode ? 'FAIL' : 'CLOSED');
  } else if (isPaid(state.status)) {
    // Paid: close the trades opened at other channels so the consumer cannot pay twice.
    for (const ch of openChannels.values()) {
      if (ch.channelId !== state.channel?.channelId) await closeQuietly(ch);
    }
  }

  // On the local path the result and "notification pending" are one write, made in the same workflow task.
  const local = path.localActivities();
  if (local) await localStore.recordPaymentResult({ ...resultRecord(), notifyStatus: input.notifyUrl ? 'PENDING' : undefined });
  else await store.recordPaymentResult(resultRecord());

  // Phase 2: notify the merchant on the anchored schedule.
  if (input.notifyUrl) {
    await runNotifySchedule({
      event: () => ({ orderId: input.orderId, state: notificationState() }),
      progress: state,
      requests: notifyRequests,
      describe,
      pendingRecorded: local,
      localActivities: local,
    });
  }
  // A FINISH that arrived while notifying must reach the database too.
  if (state.status === 'FINISH') await (local ? localStore : store).recordPaymentResult(resultRecord());
  while (exceptionReports.length > 0) await exceptionReports.shift();
  // A renotify update refused by the loop's end gets its answer before the workflow completes.
  if (renotifyByUpdate) await condition(allHandlersFinished);
  return state;

  /** Records money that must go back to the buyer (the order's own result stays as it is). */
  function reportException(kind: DetectedPaymentException['kind'], channel: ChannelRef, verdict: ProviderVerdict & { status: 'SUCCESS' | 'FINISH' }, source: string): void {
    if (!path.paymentExceptions()) return;
    exceptionReports.push(
      store.recordPaymentException({
        orderId: input.orderId,
        kind,
        channel,
        providerTradeNo: verdict.providerTradeNo,
        amount: verdict.amount,
        orderStatus: state.status,
        detectedBy: source,
      }),
    );
  }

  /** Queries every open channel; true when it ran on the local path (whose polling backs off). */
  async function queryOpenChannels(): Promise<boolean> {
    const local = path.localActivities();
    const calls = local ? localProvider : provider;
    for (const ch of openChannels.values()) {
      if (isFinal(state.status)) return local;
      try {
        apply(ch, await calls.queryProvider({ orderId: input.orderId, channel: ch }), `query ${ch.channelType}`);
      } catch (err) {
        // The provider being down must not fail the order: the callback or the next query decides.
        log.warn('provider query failed', { outTradeNo: state.outTradeNo, channelId: ch.channelId, error: (err as Error).message });
      }
    }
    return local;
  }

  async function closeQuietly(ch: ChannelRef): Promise<void> {
    try {
      await (path.localActivities() ? localProvider : provider).closeAtProvider({ orderId: input.orderId, channel: ch });
    } catch (err) {
      // Left open at the provider: a later payment arrives as a callback on a final order and is flagged for refund.
      log.error('closing the trade at the provider failed', { outTradeNo: state.outTradeNo, channelId: ch.channelId, error: (err as Error).message });
    }
  }

  function resultRecord() {
    return {
      orderId: input.orderId,
      status: state.status,
      channel: state.channel,
      providerTradeNo: state.providerTradeNo,
      payTime: state.payTime,
      errorCode: state.errorCode,
      errorMsg: state.errorMsg,
    };
  }

  function notificationState() {
    return { status: state.status, channel: state.channel, payTime: state.payTime, errorCode: state.errorCode, errorMsg: state.errorMsg };
  }
}
