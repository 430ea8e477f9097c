/**
 * The shapes a payment's life is told in, shared by the workflows, their activities, the database and the
 * API: a channel as the workflow sees it, a provider's verdict on a trade, a notification attempt. Pure.
 */
import type { ChannelType, SceneCode } from './channel';
import type { OrderStatus } from './order';

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

/**
 * The amount a paid verdict reports when it differs from the order's, else null. A mismatch is never
 * applied: the API records the callback as MISMATCH and the workflow ignores it.
 */
export function paidAmountMismatch(verdict: ProviderVerdict, orderAmount: number): number | null {
  if (verdict.status !== 'SUCCESS' && verdict.status !== 'FINISH') return null;
  return verdict.amount === orderAmount ? null : verdict.amount;
}

export interface NotifyAttemptRecord {
  attempt: number;
  trigger: 'SCHEDULE' | 'RENOTIFY';
  scheduledAt: number;
  httpStatus: number | null;
  latencyMs: number;
  acknowledged: boolean;
  error: string | null;
  /** When the POST began (worker clock); absent in attempts recorded before it was reported. */
  startedAt?: number;
}

/** What one notification attempt reports; the workflow adds attempt number, trigger and schedule. */
export type NotifyResult = Omit<NotifyAttemptRecord, 'attempt' | 'trigger' | 'scheduledAt'>;

/** An order's result as the notification and the read model carry it. */
export interface PaymentResult {
  orderId: number;
  status: OrderStatus;
  channel: ChannelRef | null;
  providerTradeNo: string | null;
  payTime: number | null;
  errorCode: string | null;
  errorMsg: string | null;
}

/** What a payment-result notification says (a PaymentResult without the ids the order row supplies). */
export interface NotificationState {
  status: OrderStatus;
  channel: Pick<ChannelRef, 'channelId' | 'channelType' | 'mchId'> | null;
  payTime: number | null;
  errorCode: string | null;
  errorMsg: string | null;
}

