/**
 * Merchant notification activities: one signed POST of a payment or refund result per attempt, and the
 * bookkeeping of attempts and notify status. Shared by PaymentWorkflow's and RefundWorkflow's schedules and
 * renotifyWorkflow; the event type only decides the body and the notify URL.
 */
import { Context, log } from '@temporalio/activity';
import type { Db } from '../db/connection';
import { findAppWithKeys, notificationKey } from '../db/queries/apps';
import { firstAttemptScheduledAt, nextNotifyAttemptNumber, recordNotifyAttempt } from '../db/queries/notification-attempts';
import * as orders from '../db/queries/orders';
import { findRefundById, setRefundNotifyStatus } from '../db/queries/refunds';
import { findTransferById, setTransferNotifyStatus } from '../db/queries/transfers';
import { DomainError, ErrorCode, toApplicationFailure } from '../domain/errors';
import { formatShanghai, merchantResult, type NotifyStatus } from '../domain/order';
import type { NotificationState, NotifyAttemptRecord, NotifyResult } from '../domain/payment';
import type { RefundResult } from '../domain/refund';
import type { TransferResult } from '../domain/transfer';
import type { Metrics, NotifyOutcome } from '../observability/metrics';
import { withClientSpan } from '../observability/tracing';
import type { SecretBox } from '../security/secret-box';
import { signRequestHeaders, type SignedHeaders, type SignType } from '../signature';
import { postToCheckedAddress, systemResolveHost, type DestinationPolicy, type ResolveHost } from './notify-transport';
import { mustFindOrder } from './orders';

export interface NotifyActivityDeps {
  db: Db;
  secretBox: SecretBox;
  notifyTimeoutMs: number;
  /**
   * ALLOW_PRIVATE_NOTIFY_URLS (true outside production): whether a notification may go to a loopback, private or
   * link-local address. When false, what a notify URL's host resolves to is checked at send time.
   */
  allowPrivateNotifyUrls: boolean;
  /** The one DNS lookup of an attempt; the system resolver unless a test injects one. */
  resolveHost?: ResolveHost;
  metrics?: Metrics;
}

/** Upper bound on what we read of a merchant's answer: enough for {"code":1000,...}, never a memory hazard. */
const MAX_MERCHANT_RESPONSE_BYTES = 16 * 1024;

export function createNotifyActivities(deps: NotifyActivityDeps) {
  const { db, secretBox } = deps;
  const policy: DestinationPolicy = { allowPrivate: deps.allowPrivateNotifyUrls, resolveHost: deps.resolveHost ?? systemResolveHost };
  /** What one attempt posts, where, and for which app: the event type decides the body, nothing else. */
  async function notificationOf(args: PaymentNotifyArgs | RefundNotifyArgs | TransferNotifyArgs): Promise<{ subject: string; appId: string; notifyUrl: string | null; body: Record<string, unknown> }> {
    const missing = (what: string, id: number) => toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `${what} ${id} not found`));
    if ('transferId' in args) {
      const transfer = await findTransferById(db, args.transferId);
      if (!transfer) throw missing('transfer', args.transferId);
      const r = args.transfer;
      return {
        subject: 'transfer',
        appId: transfer.app_id,
        notifyUrl: transfer.notify_url,
        body: {
          eventId: `TRANSFER_RESULT-${transfer.id}`,
          eventType: 'TRANSFER_RESULT',
          appId: transfer.app_id,
          transferId: transfer.id,
          outBizNo: transfer.out_biz_no,
          channelType: transfer.channel_type,
          amount: transfer.amount,
          payeeType: transfer.payee_type,
          payeeAccount: transfer.payee_account,
          transferTime: r.transferTime === null ? null : formatShanghai(r.transferTime),
          resultCode: r.status === 'SUCCESS' ? 'SUCCESS' : r.status === 'CANCELLED' ? 'CANCELLED' : 'FAIL',
          resultErrorCode: r.status === 'SUCCESS' ? null : r.errorCode,
          resultErrorMsg: r.status === 'SUCCESS' ? null : r.errorMsg,
          attempt: args.attempt,
        },
      };
    }
    const order = await mustFindOrder(db, args.orderId);
    if ('refundId' in args) {
      const refund = await findRefundById(db, args.refundId);
      if (!refund) throw missing('refund', args.refundId);
      const r = args.refund;
      return {
        subject: 'refund',
        appId: refund.app_id,
        notifyUrl: refund.notify_url,
        body: {
          eventId: `REFUND_RESULT-${refund.id}`,
          eventType: 'REFUND_RESULT',
          appId: refund.app_id,
          refundId: refund.id,
          outRefundNo: refund.out_refund_no,
          outTradeNo: order.out_trade_no,
          orderId: order.id,
          amount: refund.amount,
          refundTime: r.refundTime === null ? null : formatShanghai(r.refundTime),
          resultCode: r.status === 'SUCCESS' ? 'SUCCESS' : 'FAIL',
          resultErrorCode: r.status === 'SUCCESS' ? null : r.errorCode,
          resultErrorMsg: r.status === 'SUCCESS' ? null : r.errorMsg,
          attempt: args.attempt,
        },
      };
    }
    const s = args.state;
    const result = merchantResult(s.status, s.errorCode, s.errorMsg);
    return {
      subject: 'order',
      appId: order.app_id,
      notifyUrl: order.notify_url,
      body: {
        eventId: `PAYMENT_RESULT-${order.id}`,
        eventType: 'PAYMENT_RESULT',
        appId: order.app_id,
        orderId: order.id,
        outTradeNo: order.out_trade_no,
        amount: order.amount,
        channelId: s.channel?.channelId ?? null,
        channelType: s.channel?.channelType ?? null,
        mchId: s.channel?.mchId ?? null,
        payTime: s.payTime === null ? null : formatShanghai(s.payTime),
        resultCode: result.resultCode,
        resultErrorCode: result.resultErrorCode,
        resultErrorMsg: result.resultErrorMsg,
        attempt: args.attempt,
      },
    };
  }

  /** The notify status of the subject: a transfer, a refund, or else the order. */
  async function recordNotifyStatus(args: { orderId: number | null; refundId?: number; transferId?: number; notifyStatus: NotifyStatus }): Promise<void> {
    if (args.transferId !== undefined) await setTransferNotifyStatus(db, args.transferId, args.notifyStatus);
    else if (args.refundId !== undefined) await setRefundNotifyStatus(db, args.refundId, args.notifyStatus);
    else if (args.orderId !== null) await orders.setNotifyStatus(db, args.orderId, args.notifyStatus);
  }

  /**
   * Counted where every attempt is recorded (scheduled, renotify, and attempts whose activity failed). Time to
   * acknowledgement runs from the subject's first scheduled attempt to the end of the acknowledged POST.
   */
  async function countAttempt(metrics: Metrics, subject: { orderId: number | null; refundId?: number; transferId?: number }, r: NotifyAttemptRecord): Promise<void> {
    const eventType = subject.transferId !== undefined ? 'transfer' : subject.refundId !== undefined ? 'refund' : 'payment';
    const outcome: NotifyOutcome = r.acknowledged ? 'acknowledged' : r.httpStatus !== null ? 'rejected' : 'failed';
    metrics.notifyAttempts.inc({ event_type: eventType, outcome });
    if (!r.acknowledged) return;
    const anchor = r.attempt === 1 ? r.scheduledAt : ((await firstAttemptScheduledAt(db, subject)) ?? r.scheduledAt);
    const ackedAt = (r.startedAt ?? Date.now() - r.latencyMs) + r.latencyMs;
    metrics.notifyTimeToAck.observe({ event_type: eventType }, Math.max(0, ackedAt - anchor) / 1000);
  }

  return {
    recordNotifyStatus,

    /** The order's final result and the next attempt number, for a renotify after the workflow ended. */
    async loadNotificationState(args: { orderId: number }): Promise<{ state: NotificationState; nextAttempt: number }> {
      const order = await mustFindOrder(db, args.orderId);
      const channel: NotificationState['channel'] = order.channel_id && order.channel_type ? { channelId: order.channel_id, channelType: order.channel_type, mchId: order.mch_id ?? '' } : null;
      return {
        state: { status: order.status, channel, payTime: order.pay_time?.getTime() ?? null, errorCode: order.result_error_code, errorMsg: order.result_error_msg },
        nextAttempt: await nextNotifyAttemptNumber(db, { orderId: order.id }),
      };
    },

    /** The attempt, and (when given) the notify status it leads to: for an order in the same statement. */
    async recordNotifyAttempt(args: { orderId: number | null; refundId?: number; transferId?: number; record: NotifyAttemptRecord; notifyStatus?: NotifyStatus }): Promise<void> {
      const subject = { orderId: args.orderId, refundId: args.refundId, transferId: args.transferId };
      const orderStatusWritten = await recordNotifyAttempt(db, subject, args.record, args.notifyStatus);
      if (args.notifyStatus && !orderStatusWritten) await recordNotifyStatus({ ...subject, notifyStatus: args.notifyStatus });
      if (deps.metrics) await countAttempt(deps.metrics, subject, args.record);
    },

    /**
     * One signed POST of the payment result to the merchant. Never throws for the merchant's failures: they
     * are the attempt's result. Redirects are not followed (a redirect is not an acknowledgement, and
     * following it could reach hosts the notify URL validation never saw). Outside development the host's
     * addresses are checked at send time and the connection goes to a checked one (notify-transport.ts).
     */
    async notifyMerchant(args: PaymentNotifyArgs | RefundNotifyArgs | TransferNotifyArgs): Promise<NotifyResult> {
      const n = await notificationOf(args);
      if (!n.notifyUrl) return { httpStatus: null, latencyMs: 0, acknowledged: false, error: `${n.subject} has no notify URL` };
      const app = await findAppWithKeys(db, secretBox, n.appId);
      if (!app) throw toApplicationFailure(new DomainError(ErrorCode.NOT_FOUND, `app ${n.appId} not found`));
      const result = await postSigned(n.notifyUrl, JSON.stringify(n.body), { appId: app.appId, appKey: notificationKey(app), signType: app.signType }, deps.notifyTimeoutMs, policy);
      // Through the worker's runtime logger: the line names the workflow, the activity and the request id.
      log.info('merchant notification attempt', { subject: n.subject, httpStatus: result.httpStatus, acknowledged: result.acknowledged, latencyMs: result.latencyMs, error: result.error });
      return result;
    },
  };
}

/** One attempt of an order's PAYMENT_RESULT notification. */
export interface PaymentNotifyArgs {
  orderId: number;
  attempt: number;
  scheduledAt: number;
  state: NotificationState;
}

/** One attempt of a transfer's TRANSFER_RESULT notification. */
export interface TransferNotifyArgs {
  transferId: number;
  attempt: number;
  scheduledAt: number;
  transfer: TransferResult;
}

/** One attempt of a refund's REFUND_RESULT notification. */
export interface RefundNotifyArgs {
  orderId: number;
  refundId: number;
  attempt: number;
  scheduledAt: number;
  refund: RefundResult;
}

/** POSTs a signed JSON notification; the merchant acknowledges with HTTP 200 and JSON `code` 1000. */
async function postSigned(notifyUrl: string, body: string, signer: { appId: string; appKey: string; signType: SignType }, timeoutMs: number, policy: DestinationPolicy): Promise<NotifyResult> {
  const url = new URL(notifyUrl);
  const headers = signRequestHeaders({ method: 'POST', pathWithQuery: url.pathname + url.search, ...signer, body });
  return withClientSpan('notify POST', { 'http.request.method': 'POST', 'server.address': url.hostname, 'cashier.notify.app_id': signer.appId }, async (span) => {
    const r = await attemptPost(url, body, headers, timeoutMs, policy);
    if (r.httpStatus !== null) span.setAttribute('http.response.status_code', r.httpStatus);
    span.setAttribute('cashier.notify.acknowledged', r.acknowledged);
    if (r.error) span.setAttribute('cashier.notify.error', r.error.slice(0, 120));
    return r;
  });
}

async function attemptPost(url: URL, body: string, headers: SignedHeaders, timeoutMs: number, policy: DestinationPolicy): Promise<NotifyResult> {
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([timeout, Context.current().cancellationSignal]);
  try {
    const res = await postToCheckedAddress(url, {
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'user-agent': 'CashierDesk-Notify/1' },
      body,
      signal,
      maxResponseBytes: MAX_MERCHANT_RESPONSE_BYTES,
      policy,
    });
    const latencyMs = Date.now() - started;
    if (res.status !== 200) return { httpStatus: res.status, latencyMs, acknowledged: false, error: `HTTP ${res.status}`, startedAt: started };
    let code: unknown;
    try {
      code = (JSON.parse(res.text) as { code?: unknown }).code;
    } catch {
      return { httpStatus: 200, latencyMs, acknowledged: false, error: 'response is not JSON', startedAt: started };
    }
    const acknowledged = code === 1000 || code === '1000';
    return { httpStatus: 200, latencyMs, acknowledged, error: acknowledged ? null : `response code ${JSON.stringify(code)?.slice(0, 40)}`, startedAt: started };
  } catch (err) {
    // Every failure to deliver — refused destination, DNS, connection, timeout — is this attempt's result, never a crash.
    const e = err as Error & { code?: string };
    const error = timeout.aborted ? `TimeoutError: no answer within ${timeoutMs} ms` : `${e.code ?? e.name ?? 'Error'}: ${e.message}`;
    return { httpStatus: null, latencyMs: Date.now() - started, acknowledged: false, error: error.slice(0, 300), startedAt: started };
  }
}
