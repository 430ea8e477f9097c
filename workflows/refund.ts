/**
 * RefundWorkflow: one per refund (the refund row and its reservation exist before it starts). It asks the
 * provider with the refund's stable request number, polls until the provider's answer is final (WeChat refunds
 * are asynchronous; its REFUND.* notifications end the wait early), records the result and notifies the
 * merchant on the same schedule as payments. Deterministic code only.
 */
import { condition, log, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { fenToYuanString } from '../domain/money';
import { isFinalRefund, type RefundResult, type RefundVerdict } from '../domain/refund';
import { refundCallbackSignal, refundStateQuery, renotifySignal, stopNotifySignal, type RefundState, type RefundWorkflowInput } from './messages';
import { runNotifySchedule, store, type NotifyRequests } from './notify-attempt';
import { MAX_POLL_INTERVAL_MS, moneyMovingCalls } from './provider-calls';
import { SA } from './search-attributes';

export async function refundWorkflow(input: RefundWorkflowInput): Promise<RefundState> {
  const state: RefundState = {
    refundId: input.refundId,
    outRefundNo: input.outRefundNo,
    amount: input.amount,
    status: 'PROCESSING',
    refundTime: null,
    providerRefundId: null,
    errorCode: null,
    errorMsg: null,
    providerCalls: 0,
    notifyStatus: 'NONE',
    notifyAttempts: [],
    nextNotifyAt: null,
  };
  const notifyRequests: NotifyRequests = { renotify: false, stop: false };
  const describe = () =>
    setCurrentDetails(
      `**${state.status}** · refund ¥${fenToYuanString(input.amount)} · ${input.outRefundNo} · order ${input.outTradeNo}` +
        (state.errorCode ? `\n\n${state.errorCode}: ${state.errorMsg ?? ''}` : '') +
        (state.notifyStatus !== 'NONE' ? `\n\nnotify: ${state.notifyStatus}, ${state.notifyAttempts.length} attempt(s)` : ''),
    );

  /** Applies a provider answer; anything after the first final one changes nothing. */
  const apply = (verdict: RefundVerdict, source: string): void => {
    if (isFinalRefund(state.status)) return;
    if (verdict.status === 'SUCCESS') {
      if (verdict.amount !== input.amount) {
        // Never record money we did not ask for: keep polling and let ops look (the summary shows it).
        log.error('provider reports a refunded amount other than requested; ignored', { source, outRefundNo: input.outRefundNo, expected: input.amount, reported: verdict.amount });
        state.errorCode = 'AMOUNT_MISMATCH';
        state.errorMsg = `provider reports ${verdict.amount} fen`;
        describe();
        return;
      }
      state.status = 'SUCCESS';
      state.refundTime = verdict.refundTime;
      state.providerRefundId = verdict.providerRefundId ?? state.providerRefundId;
      state.errorCode = null;
      state.errorMsg = null;
    } else if (verdict.status === 'FAIL') {
      state.status = 'FAIL';
      state.errorCode = verdict.errorCode;
      state.errorMsg = verdict.errorMsg;
    } else if (verdict.status === 'PROCESSING') {
      state.providerRefundId = verdict.providerRefundId ?? state.providerRefundId;
    }
  };

  setHandler(refundStateQuery, () => state, { description: 'Refund status, provider calls and every notification attempt' });
  setHandler(refundCallbackSignal, (cb) => apply(cb.verdict, `callback ${cb.eventId}`), { description: 'A refund notification whose signature the API verified' });
  setHandler(renotifySignal, () => void (notifyRequests.renotify = true), { description: 'Ops: notify the merchant now' });
  setHandler(stopNotifySignal, () => void (notifyRequests.stop = true), { description: 'Ops: stop notifying the merchant' });
  describe();

  const requestRefund = async (): Promise<RefundVerdict> => {
    state.providerCalls++;
    return moneyMovingCalls.requestRefund({ refundId: input.refundId });
  };

  try {
    apply(await requestRefund(), 'refund');
  } catch (err) {
    // Only a non-retryable failure gets here (the refund or its channel config is gone): nothing reached the provider.
    apply({ status: 'FAIL', errorCode: 'REFUND_NOT_POSSIBLE', errorMsg: (err as Error).message.slice(0, 256) }, 'refund');
  }
  let pollMs = input.pollIntervalMs;
  while (!isFinalRefund(state.status)) {
    describe();
    if (await condition(() => isFinalRefund(state.status), pollMs)) break;
    pollMs = Math.min(pollMs * 2, MAX_POLL_INTERVAL_MS);
    try {
      state.providerCalls++;
      let verdict = await moneyMovingCalls.queryRefund({ refundId: input.refundId });
      // Unknown at the provider: the request never arrived or was not applied. Resending the same request number
      // is safe (the provider refunds it at most once).
      if (verdict.status === 'NOT_FOUND') verdict = await requestRefund();
      apply(verdict, 'query');
    } catch (err) {
      log.warn('refund query failed; polling on', { outRefundNo: input.outRefundNo, error: (err as Error).message });
    }
  }

  await store.recordRefundResult({ refundId: input.refundId, result: result() });
  upsertSearchAttributes([{ key: SA.RefundStatus, value: state.status }]);
  describe();

  if (input.notify) {
    await runNotifySchedule({
      event: () => ({ orderId: input.orderId, refundId: input.refundId, refund: result() }),
      progress: state,
      requests: notifyRequests,
      describe,
    });
  }
  return state;

  function result(): RefundResult {
    return { status: state.status, refundTime: state.refundTime, providerRefundId: state.providerRefundId, errorCode: state.errorCode, errorMsg: state.errorMsg };
  }
}
