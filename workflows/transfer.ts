/**
 * TransferWorkflow: one per transfer (the row and its day's reservation exist before it starts). Above the app's
 * approval threshold it first waits for an administrator (cancelled after 24 h without a decision); then it
 * asks the provider with the transfer's stable request number, follows the transfer until final (WeChat asks the
 * payee to confirm; its notification ends the wait early), records the result and notifies the merchant on the
 * same schedule as payments. Deterministic code only.
 */
import { condition, log, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { fenToYuanString } from '../domain/money';
import { APPROVAL_TIMEOUT_MS, isFinalTransfer, type TransferResult, type TransferStatus, type TransferVerdict } from '../domain/transfer';
import {
  approveTransferSignal,
  rejectTransferSignal,
  renotifySignal,
  stopNotifySignal,
  transferCallbackSignal,
  transferStateQuery,
  type TransferDecision,
  type TransferState,
  type TransferWorkflowInput,
} from './messages';
import { runNotifySchedule, store, type NotifyRequests } from './notify-attempt';
import { MAX_POLL_INTERVAL_MS, moneyMovingCalls } from './provider-calls';
import { SA } from './search-attributes';

export async function transferWorkflow(input: TransferWorkflowInput): Promise<TransferState> {
  const state: TransferState = {
    transferId: input.transferId,
    outBizNo: input.outBizNo,
    amount: input.amount,
    status: input.needsApproval ? 'PENDING_APPROVAL' : 'PROCESSING',
    decidedBy: null,
    decisionNote: null,
    providerTransferId: null,
    confirm: null,
    transferTime: null,
    errorCode: null,
    errorMsg: null,
    providerCalls: 0,
    notifyStatus: 'NONE',
    notifyAttempts: [],
    nextNotifyAt: null,
  };
  const notifyRequests: NotifyRequests = { renotify: false, stop: false };
  /** The first administrator decision (later ones are ignored). */
  const approval: { decision: { approved: boolean; d: TransferDecision } | null } = { decision: null };
  const describe = () =>
    setCurrentDetails(
      `**${state.status}** · transfer ¥${fenToYuanString(input.amount)} · ${input.outBizNo} · ${input.channelType}` +
        (state.decidedBy ? `\n\ndecided by ${state.decidedBy}${state.decisionNote ? `: ${state.decisionNote}` : ''}` : '') +
        (state.errorCode ? `\n\n${state.errorCode}: ${state.errorMsg ?? ''}` : '') +
        (state.notifyStatus !== 'NONE' ? `\n\nnotify: ${state.notifyStatus}, ${state.notifyAttempts.length} attempt(s)` : ''),
    );
  const setStatus = (s: TransferStatus) => {
    if (s === state.status) return;
    state.status = s;
    upsertSearchAttributes([{ key: SA.TransferStatus, value: s }]);
    describe();
  };

  /** Applies a provider answer; nothing after the first final one changes anything. */
  const apply = (v: TransferVerdict): void => {
    if (isFinalTransfer(state.status)) return;
    switch (v.status) {
      case 'SUCCESS':
        state.transferTime = v.transferTime;
        state.providerTransferId = v.providerTransferId ?? state.providerTransferId;
        state.confirm = null;
        return setStatus('SUCCESS');
      case 'FAIL':
        state.errorCode = v.errorCode;
        state.errorMsg = v.errorMsg;
        state.confirm = null;
        return setStatus('FAIL');
      case 'CANCELLED':
        state.errorCode = 'CANCELLED';
        state.errorMsg = v.reason;
        state.confirm = null;
        return setStatus('CANCELLED');
      case 'WAIT_USER_CONFIRM':
        state.providerTransferId = v.providerTransferId ?? state.providerTransferId;
        // WeChat returns the payee's package only when the bill is created, never on a query: keep it.
        state.confirm = v.confirm.package || !state.confirm?.package ? v.confirm : { ...v.confirm, package: state.confirm.package };
        return setStatus('WAIT_USER_CONFIRM');
      case 'PROCESSING':
        state.providerTransferId = v.providerTransferId ?? state.providerTransferId;
        return setStatus('PROCESSING');
    }
  };

  setHandler(transferStateQuery, () => state, { description: 'Transfer status, decision, provider calls and notification attempts' });
  setHandler(approveTransferSignal, (d) => void (approval.decision ??= { approved: true, d }), { description: 'An administrator approves the transfer' });
  setHandler(rejectTransferSignal, (d) => void (approval.decision ??= { approved: false, d }), { description: 'An administrator rejects the transfer' });
  setHandler(transferCallbackSignal, (cb) => apply(cb.verdict), { description: 'A transfer notification whose signature the API verified' });
  setHandler(renotifySignal, () => void (notifyRequests.renotify = true), { description: 'Ops: notify the merchant now' });
  setHandler(stopNotifySignal, () => void (notifyRequests.stop = true), { description: 'Ops: stop notifying the merchant' });
  describe();

  if (input.needsApproval) {
    const decided = await condition(() => approval.decision !== null, APPROVAL_TIMEOUT_MS);
    const decision = approval.decision;
    if (!decided || !decision) {
      state.errorCode = 'APPROVAL_TIMEOUT';
      state.errorMsg = '24 小时内无人审批，转账已取消';
      setStatus('CANCELLED');
    } else {
      const { approved, d } = decision;
      state.decidedBy = d.by;
      state.decisionNote = d.note;
      await store.recordTransferDecision({ transferId: input.transferId, approved, by: d.by, note: d.note });
      if (approved) setStatus('PROCESSING');
      else {
        state.errorCode = 'APPROVAL_REJECTED';
        state.errorMsg = d.note ?? '管理员驳回';
        setStatus('CANCELLED');
      }
    }
  }

  if (!isFinalTransfer(state.status)) {
    const request = async (): Promise<TransferVerdict> => {
      state.providerCalls++;
      return moneyMovingCalls.requestTransfer({ transferId: input.transferId });
    };
    const progress = async (before: TransferStatus) => {
      if ((state.status === 'PROCESSING' || state.status === 'WAIT_USER_CONFIRM') && state.status !== before) {
        await store.recordTransferProgress({ transferId: input.transferId, status: state.status, providerTransferId: state.providerTransferId, confirm: state.confirm });
      }
    };
    try {
      apply(await request());
    } catch (err) {
      // Only a non-retryable failure gets here (the transfer or its channel config is gone): nothing reached the provider.
      apply({ status: 'FAIL', errorCode: 'TRANSFER_NOT_POSSIBLE', errorMsg: (err as Error).message.slice(0, 256) });
    }
    await progress('PENDING_APPROVAL');
    let pollMs = input.pollIntervalMs;
    while (!isFinalTransfer(state.status)) {
      const before = state.status;
      if (!(await condition(() => isFinalTransfer(state.status) || state.status !== before, pollMs))) {
        pollMs = Math.min(pollMs * 2, MAX_POLL_INTERVAL_MS);
        try {
          state.providerCalls++;
          let v = await moneyMovingCalls.queryTransfer({ transferId: input.transferId });
          // Unknown at the provider: the request never arrived. Resending the same request number is safe.
          if (v.status === 'NOT_FOUND') v = await request();
          apply(v);
        } catch (err) {
          log.warn('transfer query failed; polling on', { outBizNo: input.outBizNo, error: (err as Error).message });
        }
      }
      await progress(before);
    }
  }

  await store.recordTransferResult({ transferId: input.transferId, result: result() });
  describe();
  if (input.notify) {
    await runNotifySchedule({ event: () => ({ transferId: input.transferId, transfer: result() }), progress: state, requests: notifyRequests, describe });
  }
  return state;

  function result(): TransferResult {
    return { status: state.status, transferTime: state.transferTime, providerTransferId: state.providerTransferId, errorCode: state.errorCode, errorMsg: state.errorMsg };
  }
}
