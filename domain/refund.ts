/** Refunds and payment exceptions: their states, sources and provider request numbers. Pure. */
import type { ChannelRef } from './payment';

export const REFUND_STATUSES = ['PROCESSING', 'SUCCESS', 'FAIL'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Who asked for a refund: the merchant API, an administrator in the console, or the exception policy. */
export const REFUND_SOURCES = ['MERCHANT', 'ADMIN', 'EXCEPTION'] as const;
export type RefundSource = (typeof REFUND_SOURCES)[number];

/**
 * Money that arrived where no payment was wanted. LATE_PAYMENT: paid after the order was CLOSED/FAIL;
 * DUPLICATE_PAYMENT: a second channel paid an already paid order; AMOUNT_MISMATCH: the provider reports a
 * paid amount other than the order's.
 */
export const PAYMENT_EXCEPTION_KINDS = ['LATE_PAYMENT', 'DUPLICATE_PAYMENT', 'AMOUNT_MISMATCH'] as const;
export type PaymentExceptionKind = (typeof PAYMENT_EXCEPTION_KINDS)[number];

export const PAYMENT_EXCEPTION_STATUSES = ['OPEN', 'REFUNDING', 'REFUNDED', 'REFUND_FAILED'] as const;
export type PaymentExceptionStatus = (typeof PAYMENT_EXCEPTION_STATUSES)[number];

/** Kinds the exception policy refunds in full by itself (an amount mismatch needs a person to look first). */
export function isAutoRefundable(kind: PaymentExceptionKind): boolean {
  return kind === 'LATE_PAYMENT' || kind === 'DUPLICATE_PAYMENT';
}

export function isFinalRefund(status: RefundStatus): boolean {
  return status !== 'PROCESSING';
}

/**
 * The refund request number we send to providers (Alipay out_request_no, WeChat out_refund_no): derived from
 * the refund's id, so every retry of the same refund carries the same number and the provider refunds once.
 */
export function providerOutRefundNo(refundId: number): string {
  return `CDR${refundId.toString().padStart(10, '0')}`;
}

export function parseProviderOutRefundNo(value: string): number | null {
  const m = /^CDR(\d{1,16})$/.exec(value);
  return m ? Number(m[1]) : null;
}

/** The merchant's refund number of an automatic exception refund; `:` keeps it out of the merchants' namespace. */
export function exceptionOutRefundNo(exceptionId: number): string {
  return `exception:${exceptionId}`;
}

/** A refund's result as the workflow records it and the notification carries it. refundTime is epoch ms. */
export interface RefundResult {
  status: RefundStatus;
  refundTime: number | null;
  providerRefundId: string | null;
  errorCode: string | null;
  errorMsg: string | null;
}

/** The provider's view of a refund, as the refund activities hand it to the workflow (times in epoch ms). */
export type RefundVerdict =
  | { status: 'SUCCESS'; amount: number; providerRefundId: string | null; refundTime: number }
  | { status: 'PROCESSING'; providerRefundId: string | null }
  | { status: 'FAIL'; errorCode: string; errorMsg: string }
  | { status: 'NOT_FOUND' };

/** Money found where no payment was wanted, as the workflow or the callback handler detects it. */
export interface DetectedPaymentException {
  orderId: number;
  kind: PaymentExceptionKind;
  /** The channel whose trade took the money. */
  channel: ChannelRef;
  providerTradeNo: string | null;
  /** Fen the provider reports paid. */
  amount: number;
  /** The order's status when the money arrived. */
  orderStatus: string;
  /** `callback <event id>` or `query <channel type>`. */
  detectedBy: string;
}
