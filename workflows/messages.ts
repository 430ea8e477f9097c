/**
 * Messages of PaymentWorkflow, shared by the workflow and its clients (api/, tests). Pure definitions only.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { NotifyStatus, OrderStatus } from '../domain/order';
import type { ChannelType, PrepayResult, SceneCode } from '../providers/types';

export const TASK_QUEUE = 'cashier-desk';

export const SA = {
  OutTradeNo: defineSearchAttributeKey('OutTradeNo', 'KEYWORD'),
  AppId: defineSearchAttributeKey('AppId', 'KEYWORD'),
  PaymentStatus: defineSearchAttributeKey('PaymentStatus', 'KEYWORD'),
  ChannelType: defineSearchAttributeKey('ChannelType', 'KEYWORD'),
  NotifyAttempts: defineSearchAttributeKey('NotifyAttempts', 'INT'),
} as const;

/** For registering the keys on a server (CLI flag syntax Name=Type). */
export const SEARCH_ATTRIBUTE_DEFINITIONS: ReadonlyArray<{ name: string; type: 'Keyword' | 'Int' }> = [
  { name: 'OutTradeNo', type: 'Keyword' },
  { name: 'AppId', type: 'Keyword' },
  { name: 'PaymentStatus', type: 'Keyword' },
  { name: 'ChannelType', type: 'Keyword' },
  { name: 'NotifyAttempts', type: 'Int' },
];

export function paymentWorkflowId(appId: string, outTradeNo: string): string {
  return `payment:${appId}:${outTradeNo}`;
}

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

/** A channel as the workflow needs it (resolved and authorized by the API before the update). */
export interface ChannelRef {
  channelId: number;
  channelType: ChannelType;
  sceneCode: SceneCode;
  configId: number;
  mchId: string;
}

export interface ChooseChannelRequest extends ChannelRef {
  clientIp?: string;
  openid?: string;
}

/** A provider's verdict on the trade, from a verified callback or an active query. payTime is epoch ms. */
export type ProviderVerdict =
  | { status: 'SUCCESS' | 'FINISH'; amount: number; providerTradeNo: string; payTime: number }
  | { status: 'FAIL'; errorCode: string; errorMsg: string }
  | { status: 'CLOSED' | 'WAITING' | 'NOT_FOUND' };

export interface ProviderCallback {
  /** The order's app as resolved by the API from the provider trade number. */
  appId: string;
  channel: ChannelRef;
  eventId: string;
  verdict: ProviderVerdict;
}

export interface NotifyAttemptRecord {
  attempt: number;
  trigger: 'SCHEDULE' | 'RENOTIFY';
  scheduledAt: number;
  httpStatus: number | null;
  latencyMs: number;
  acknowledged: boolean;
  error: string | null;
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
