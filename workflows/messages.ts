/**
 * Messages of PaymentWorkflow, shared by the workflow and its clients (temporal/client.ts, tests). Pure definitions only.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { NotifyStatus, OrderStatus } from '../domain/order';
import type { ChannelRef, ChooseChannelRequest, NotifyAttemptRecord, ProviderVerdict } from '../domain/payment';
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
export const renotifySignal = defineSignal('renotify');
export const stopNotifySignal = defineSignal('stopNotify');
export const stateQuery = defineQuery<PaymentState>('state');
export const chooseChannelUpdate = defineUpdate<PrepayResult, [ChooseChannelRequest]>('chooseChannel');
