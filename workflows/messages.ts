/**
 * Messages of PaymentWorkflow, RefundWorkflow and TransferWorkflow, shared by the workflow and its clients (temporal/client.ts, tests). Pure definitions only.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { NotifyStatus, OrderStatus } from '../domain/order';
import type { ChannelRef, ChooseChannelRequest, NotifyAttemptRecord, ProviderVerdict } from '../domain/payment';
import type { RefundStatus, RefundVerdict } from '../domain/refund';
import type { TransferStatus, TransferVerdict } from '../domain/transfer';
import type { PrepayResult } from '../providers/types';

export interface PaymentWorkflowInput {
  orderId: number;
  appId: string;
  outTradeNo: string;
  amount: number; // fen
  orderTitle: string;
  notifyUrl: string | null;
  /** Epoch ms at which an unpaid order closes. */
  expireAt: number;
  /** How often to query the provider while waiting for its callback. */
  pollIntervalMs: number;
}

export interface ProviderCallback {
  /** The order's app as resolved by the API from the provider trade number. */
  appId: string;
  channel: ChannelRef;
  eventId: string;
  verdict: ProviderVerdict;
}

export interface PaymentState {
  orderId: number;
  appId: string;
  outTradeNo: string;
  amount: number;
  status: OrderStatus;
  expireAt: number;
  channel: ChannelRef | null;
  providerTradeNo: string | null;
  payTime: number | null;
  errorCode: string | null;
  errorMsg: string | null;
  notifyStatus: NotifyStatus;
  notifyAttempts: NotifyAttemptRecord[];
  nextNotifyAt: number | null;
}

export const providerCallbackSignal = defineSignal<[ProviderCallback]>('providerCallback');
/** Kept for workflows started before the renotify update (and the CLI): a signal that lands after the loop is lost. */
export const renotifySignal = defineSignal('renotify');
/** What an accepted renotify update answers: the attempt number the notification loop gives the extra attempt. */
export interface RenotifyAccepted {
  attempt: number;
}
/**
 * Failure type of a renotify update the workflow can no longer serve (its notification loop has ended, or ends
 * before taking the request): no attempt was made here, so the caller makes it elsewhere (renotifyWorkflow).
 */
export const RENOTIFY_LOOP_ENDED = 'RenotifyLoopEnded';
/** Ops renotify: completes once the notification loop has taken the request (exactly one extra attempt). */
export const renotifyUpdate = defineUpdate<RenotifyAccepted, []>('renotify');
export const stopNotifySignal = defineSignal('stopNotify');
export const stateQuery = defineQuery<PaymentState>('state');
export const chooseChannelUpdate = defineUpdate<PrepayResult, [ChooseChannelRequest]>('chooseChannel');

/** RefundWorkflow's input: the refund row (created with its reservation) carries everything else. */
export interface RefundWorkflowInput {
  refundId: number;
  orderId: number;
  appId: string;
  outRefundNo: string;
  outTradeNo: string;
  amount: number; // fen
  /** Whether the merchant gets REFUND_RESULT notifications (the refund has a notify URL). */
  notify: boolean;
  /** First gap between refund queries while the provider reports PROCESSING; it doubles up to an hour. */
  pollIntervalMs: number;
}

export interface RefundState {
  refundId: number;
  outRefundNo: string;
  amount: number;
  status: RefundStatus;
  refundTime: number | null;
  providerRefundId: string | null;
  errorCode: string | null;
  errorMsg: string | null;
  /** Provider refund requests and queries made (each refund request reuses the same request number). */
  providerCalls: number;
  notifyStatus: NotifyStatus;
  notifyAttempts: NotifyAttemptRecord[];
  nextNotifyAt: number | null;
}

/** A refund notification the API verified (WeChat REFUND.*): a final verdict ends the polling at once. */
export const refundCallbackSignal = defineSignal<[{ eventId: string; verdict: RefundVerdict }]>('refundCallback');
export const refundStateQuery = defineQuery<RefundState>('refundState');

/** TransferWorkflow's input: the transfer row (created with its day's reservation) carries the rest. */
export interface TransferWorkflowInput {
  transferId: number;
  appId: string;
  outBizNo: string;
  channelType: string;
  amount: number; // fen
  /** Above the app's approval threshold: an administrator decides first (cancelled after 24 h without). */
  needsApproval: boolean;
  notify: boolean;
  pollIntervalMs: number;
}

export interface TransferDecision {
  by: string;
  note: string | null;
}

export interface TransferState {
  transferId: number;
  outBizNo: string;
  amount: number;
  status: TransferStatus;
  decidedBy: string | null;
  decisionNote: string | null;
  providerTransferId: string | null;
  /** What the payee's client needs while WAIT_USER_CONFIRM. */
  confirm: Record<string, string> | null;
  transferTime: number | null;
  errorCode: string | null;
  errorMsg: string | null;
  providerCalls: number;
  notifyStatus: NotifyStatus;
  notifyAttempts: NotifyAttemptRecord[];
  nextNotifyAt: number | null;
}

export const approveTransferSignal = defineSignal<[TransferDecision]>('approveTransfer');
export const rejectTransferSignal = defineSignal<[TransferDecision]>('rejectTransfer');
/** A transfer notification the API verified (WeChat MCHTRANSFER.BILL.FINISHED). */
export const transferCallbackSignal = defineSignal<[{ eventId: string; verdict: TransferVerdict }]>('transferCallback');
export const transferStateQuery = defineQuery<TransferState>('transferState');
