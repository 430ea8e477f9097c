/**
 * WeChat Pay APIv3 refunds: 申请退款 (POST /v3/refund/domestic/refunds, SDK `refunds`), 查询单笔退款
 * (GET /v3/refund/domestic/refunds/{out_refund_no}, SDK `find_refunds`) and 退款结果通知 (REFUND.*).
 *
 * WeChat refunds are asynchronous: the application answer only says the refund was accepted (usually
 * PROCESSING); the outcome arrives later as a REFUND.* notification or through the query. Every retry of a
 * refund must carry the same out_refund_no: WeChat then answers with the refund it already has instead of
 * refunding twice — which is what makes "throw UNAVAILABLE, caller retries" safe after a lost answer.
 */
import type { Output } from 'wechatpay-node-v3/dist/define';
import {
  ProviderError,
  type ChannelCredentials,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type VerifiedRefundNotification,
} from '../types';
import type { WechatClient } from './client';
import { isSignedError } from './http';
import {
  assertFen,
  assertNotifyUrl,
  assertOutRefundNo,
  assertOutTradeNo,
  errorForStatus,
  parseErrorBody,
  parseRfc3339,
  readFen,
  truncateCodePoints,
} from './mapping';
import { openNotification } from './notification';

/** Refund states of the API answers (`status`) and notifications (`refund_status`). */
export type WechatRefundStatus = 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL';

/** The fields of a WeChat refund (API answer or decrypted REFUND.* resource) that we read. */
export interface WechatRefund {
  mchid?: string;
  refund_id?: string;
  out_refund_no?: string;
  transaction_id?: string;
  out_trade_no?: string;
  /** API answers. */
  status?: string;
  /** Notifications call the same field refund_status. */
  refund_status?: string;
  success_time?: string;
  create_time?: string;
  user_received_account?: string;
  amount?: { total?: unknown; refund?: unknown; payer_total?: unknown; payer_refund?: unknown; currency?: string };
}

/** The only event types a refund notification may carry, and the refund_status each one implies. */
const REFUND_EVENT_STATUS = new Map<string, WechatRefundStatus>([
  ['REFUND.SUCCESS', 'SUCCESS'],
  ['REFUND.ABNORMAL', 'ABNORMAL'],
  ['REFUND.CLOSED', 'CLOSED'],
]);

/** WeChat limits reason (退款原因, shown to the payer) to 80 characters. */
const MAX_REASON = 80;

/**
 * refund status → normalized outcome:
 * SUCCESS → SUCCESS (amount.refund, success_time, refund_id); PROCESSING → PROCESSING;
 * ABNORMAL → FAIL 'ABNORMAL' (the money could not reach the payer, e.g. a cancelled card: it needs a person,
 * via 商户平台 or the abnormal-refund API, so for us the refund has failed); CLOSED → FAIL 'CLOSED'.
 * Anything unknown is thrown as `kind`: guessing could report money returned that was not, or vice versa.
 */
export function mapRefund(status: unknown, r: WechatRefund, kind: 'BAD_RESPONSE' | 'BAD_CALLBACK' = 'BAD_RESPONSE'): RefundOutcome {
  const providerRefundNo = typeof r.refund_id === 'string' && r.refund_id.length > 0 ? r.refund_id : null;
  switch (status) {
    case 'SUCCESS': {
      const amountFen = readFen(r.amount?.refund);
      if (amountFen === undefined) throw new ProviderError(kind, 'successful refund without an integer amount.refund');
      const refundTime = parseRfc3339(r.success_time);
      if (!refundTime) throw new ProviderError(kind, 'successful refund without a valid success_time');
      return { status: 'SUCCESS', amountFen, providerRefundNo, refundTime, raw: r };
    }
    case 'PROCESSING':
      return { status: 'PROCESSING', providerRefundNo, raw: r };
    case 'ABNORMAL':
      return { status: 'FAIL', errorCode: 'ABNORMAL', errorMsg: '退款异常（原路退回失败，需在商户平台处理）', raw: r };
    case 'CLOSED':
      return { status: 'FAIL', errorCode: 'CLOSED', errorMsg: '退款关闭', raw: r };
    default:
      throw new ProviderError(kind, `unknown refund status ${JSON.stringify(String(status)).slice(0, 40)}`);
  }
}

/**
 * A non-200 answer to a refund application: either a business refusal (resolved as FAIL with WeChat's code)
 * or an error (thrown). Only a signed 4xx is a refusal: an unsigned one could come from a proxy, and
 * recording "refund refused" on its word could leave a payer without money WeChat would have returned.
 */
function refusalOrThrow(operation: string, out: Output): RefundOutcome {
  const err = errorForStatus(operation, out.status, out.error);
  // No answer, 5xx, 429, SYSTEM_ERROR, FREQUENCY_LIMITED…: the refund may or may not exist; the caller retries
  // with the same out_refund_no, which WeChat deduplicates.
  if (err.kind !== 'REJECTED') throw err;
  if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', `${operation}: unsigned HTTP ${out.status} answer`, err.providerCode);
  const body = parseErrorBody(out.error);
  if (!body.code) throw new ProviderError('BAD_RESPONSE', `${operation}: HTTP ${out.status} answer without an error code`);
  // 401 SIGN_ERROR is about our credentials, not about the refund: fixing the config and retrying would
  // succeed, so it must not become the refund's final FAIL.
  if (out.status === 401) throw err;
  return { status: 'FAIL', errorCode: body.code, errorMsg: body.message ?? body.code, raw: body };
}

/** Checks a refund object answered by WeChat is the one asked about (signed is not the same as relevant). */
function assertSameRefund(r: WechatRefund | undefined, outTradeNo: string, outRefundNo: string, operation: string): WechatRefund {
  if (!r || typeof r !== 'object' || r.out_refund_no !== outRefundNo || r.out_trade_no !== outTradeNo) {
    throw new ProviderError('BAD_RESPONSE', `${operation} answer is for another out_refund_no/out_trade_no`);
  }
  return r;
}

export async function applyRefund(client: WechatClient, req: RefundRequest): Promise<RefundOutcome> {
  assertOutTradeNo(req.outTradeNo);
  assertOutRefundNo(req.outRefundNo);
  const refund = assertFen(req.amountFen, 'amount.refund');
  const total = assertFen(req.totalFen, 'amount.total');
  // Without a valid notify_url WeChat falls back to the 商户平台 setting, which knows nothing of our channels.
  assertNotifyUrl(req.notifyUrl);
  const reason = truncateCodePoints((req.reason ?? '').trim(), MAX_REASON);
  const out = await client.pay.refunds({
    out_trade_no: req.outTradeNo,
    out_refund_no: req.outRefundNo,
    ...(reason ? { reason } : {}),
    notify_url: req.notifyUrl,
    amount: { refund, total, currency: 'CNY' },
  });
  if (out.status === 200) {
    const r = assertSameRefund(out.data as WechatRefund | undefined, req.outTradeNo, req.outRefundNo, 'refunds');
    // A replayed out_refund_no answers the refund WeChat already has: it must be the amount we asked for,
    // or the caller would book an amount that was never (or differently) refunded.
    if (readFen(r.amount?.refund) !== refund) throw new ProviderError('BAD_RESPONSE', 'refunds answer reports another refund amount');
    return mapRefund(r.status, r, 'BAD_RESPONSE');
  }
  return refusalOrThrow('refunds', out);
}

export async function findRefund(client: WechatClient, q: { outTradeNo: string; outRefundNo: string }): Promise<RefundOutcome> {
  assertOutTradeNo(q.outTradeNo);
  assertOutRefundNo(q.outRefundNo);
  const out = await client.pay.find_refunds(q.outRefundNo);
  if (out.status === 200) {
    const r = assertSameRefund(out.data as WechatRefund | undefined, q.outTradeNo, q.outRefundNo, 'find_refunds');
    return mapRefund(r.status, r, 'BAD_RESPONSE');
  }
  const body = parseErrorBody(out.error);
  if (out.status === 404 && body.code === 'RESOURCE_NOT_EXISTS') {
    // "Never arrived" lets the caller apply again; only a signed answer may say so.
    if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', 'unsigned RESOURCE_NOT_EXISTS answer');
    return { status: 'NOT_FOUND', raw: body };
  }
  const err = errorForStatus('find_refunds', out.status, out.error);
  if (err.kind === 'REJECTED' && !isSignedError(out)) throw new ProviderError('BAD_RESPONSE', `find_refunds: unsigned HTTP ${out.status} answer`, err.providerCode);
  // A refused query (PARAM_ERROR, SIGN_ERROR…) says nothing about the refund itself: thrown, never a FAIL outcome.
  throw err;
}

/**
 * Verifies a REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED notification (same envelope checks as payment
 * notifications) and maps it. Payment events are refused here, as refund events are by verifyCallback.
 */
export async function verifyRefundNotification(client: WechatClient, creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedRefundNotification> {
  const opened = await openNotification(client, cb, { acceptsEventType: (t) => REFUND_EVENT_STATUS.has(t), originalType: 'refund' });
  const r = opened.resource as WechatRefund;
  // It must be about this channel's merchant (a shared APIv3 key must not mix merchants). Refund resources
  // carry no appid, so the mchid is all there is to check.
  if (r.mchid !== creds.mchId) throw new ProviderError('BAD_CALLBACK', 'callback mchid does not match the channel config');
  if (typeof r.out_trade_no !== 'string' || !r.out_trade_no) throw new ProviderError('BAD_CALLBACK', 'callback lacks out_trade_no');
  if (typeof r.out_refund_no !== 'string' || !r.out_refund_no) throw new ProviderError('BAD_CALLBACK', 'callback lacks out_refund_no');
  // event_type and refund_status must agree: a contradictory message (REFUND.SUCCESS carrying CLOSED) is not
  // something to pick a side of, and the outcome is taken from the decrypted refund_status.
  if (r.refund_status !== REFUND_EVENT_STATUS.get(opened.eventType)) {
    throw new ProviderError('BAD_CALLBACK', `refund_status ${String(r.refund_status).slice(0, 20)} does not match ${opened.eventType}`);
  }
  return {
    outTradeNo: r.out_trade_no,
    outRefundNo: r.out_refund_no,
    eventId: opened.eventId,
    mchId: r.mchid,
    outcome: mapRefund(r.refund_status, r, 'BAD_CALLBACK'),
  };
}
