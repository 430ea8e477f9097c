/**
 * Alipay refunds: alipay.trade.refund and alipay.trade.fastpay.refund.query (OpenAPI v2, via alipay-sdk with
 * verified answers). Alipay refunds synchronously and at most once per (trade, out_request_no), so the caller's
 * stable outRefundNo is the whole idempotency story: after any doubt (network error, 5xx, SYSTEM_ERROR) the
 * same request is sent again and Alipay answers with the refund it already has.
 *
 * The pure mappings (answer → RefundOutcome) are exported for unit tests.
 */
import { ProviderError, type ChannelCredentials, type RefundOutcome, type RefundRequest } from '../types';
import { alipayClient } from './client';
import { alipayAmountToFen, fenToAlipayAmount, parseAlipayTime, toAlipayTime } from './format';
import { answerDetail, ensureSameTrade, ensureSuccess, gatewayCall, isTradeNotExist, str, type GatewayResult } from './gateway';

const REFUND = 'alipay.trade.refund';
const REFUND_QUERY = 'alipay.trade.fastpay.refund.query';
/** Alipay's field limits (characters). */
const MAX_REQUEST_NO = 64;
const MAX_REASON = 256;
/**
 * Refund sub_codes that mean "try again with the same parameters" rather than a final refusal. Besides
 * ACQ.SYSTEM_ERROR (after which, per Alipay, the refund may or may not have happened), Alipay's error tables
 * list AQC.SYSTEM_ERROR (sic) with the same advice, and ACQ.REFUND_CHARGE_ERROR with "retry later". Treating
 * them as FAIL would abandon a refund Alipay expects to complete on retry.
 */
const RETRYABLE_SUB_CODES = new Set(['ACQ.SYSTEM_ERROR', 'AQC.SYSTEM_ERROR', 'ACQ.REFUND_CHARGE_ERROR']);

function throwIfRetryable(method: string, res: GatewayResult): void {
  if (res.sub_code && RETRYABLE_SUB_CODES.has(res.sub_code)) throw new ProviderError('UNAVAILABLE', answerDetail(method, res), res.sub_code);
}

type FailOutcome = Extract<RefundOutcome, { status: 'FAIL' }>;

/** Integer fen → refund_amount; an amount Alipay cannot take is our bug, refused before any call. */
export function toRefundAmount(amountFen: number): string {
  try {
    return fenToAlipayAmount(amountFen);
  } catch (err) {
    throw new ProviderError('REJECTED', (err as Error).message, 'INVALID_AMOUNT');
  }
}

/**
 * A business refusal of this refund (40004 with a sub_code, e.g. ACQ.REFUND_AMT_NOT_EQUAL_TOTAL,
 * ACQ.TRADE_HAS_FINISHED, ACQ.DISCORDANT_REPEAT_REQUEST, ACQ.TRADE_NOT_EXIST) as a FAIL outcome; undefined for
 * anything else. Retryable answers are not refusals, nor are gateway-level errors (40001/40002/40006/20001:
 * bad signature, missing parameter, no permission), which say nothing about the refund and are thrown by
 * ensureSuccess as REJECTED: fixing the channel config lets the very same refund through.
 */
export function refundFailure(res: GatewayResult): FailOutcome | undefined {
  if (res.code !== '40004' || !res.sub_code || RETRYABLE_SUB_CODES.has(res.sub_code)) return undefined;
  return { status: 'FAIL', errorCode: res.sub_code, errorMsg: str(res.sub_msg) ?? str(res.msg) ?? '', raw: res };
}

/** Parses an Alipay time of an authentic answer; absent → now (the money moved, the instant is secondary). */
function refundTimeOf(method: string, text: string | undefined): Date {
  if (!text) return new Date();
  try {
    return parseAlipayTime(text);
  } catch {
    throw new ProviderError('BAD_RESPONSE', `${method}: invalid gmt_refund_pay ${JSON.stringify(text)}`);
  }
}

/** A 10000 answer of alipay.trade.refund with fund_change=Y: this request moved `amountFen` back to the buyer. */
export function refundSuccessOf(res: GatewayResult, amountFen: number): RefundOutcome {
  return {
    status: 'SUCCESS',
    amountFen,
    // Alipay has no refund id of its own in v2; the trade number is what support asks for.
    providerRefundNo: str(res.trade_no) ?? null,
    refundTime: refundTimeOf(REFUND, str(res.gmt_refund_pay)),
    raw: res,
  };
}

/**
 * A 10000 answer of alipay.trade.fastpay.refund.query. Alipay: "code 10000 only means the query worked; if it
 * returns refund data the refund succeeded, if not it did not (retry the refund with the same number)".
 */
export function refundQueryOutcomeOf(res: GatewayResult, outRefundNo: string): RefundOutcome {
  const echoed = str(res.out_request_no);
  if (echoed !== undefined && echoed !== outRefundNo) {
    throw new ProviderError('BAD_RESPONSE', `${REFUND_QUERY}: response is for out_request_no ${echoed}, expected ${outRefundNo}`);
  }
  const refundAmount = str(res.refund_amount);
  if (!refundAmount) return { status: 'NOT_FOUND', raw: res };
  const refundStatus = str(res.refund_status) ?? '';
  if (refundStatus !== '' && refundStatus !== 'REFUND_SUCCESS') {
    // Refund data with a status other than success: Alipay holds the request but does not vouch for it. Not
    // NOT_FOUND (a re-send could not refund twice anyway, but the refund may still complete), not SUCCESS.
    return { status: 'PROCESSING', providerRefundNo: str(res.trade_no) ?? null, raw: res };
  }
  let amountFen: number;
  try {
    amountFen = alipayAmountToFen(refundAmount);
  } catch {
    throw new ProviderError('BAD_RESPONSE', `${REFUND_QUERY}: invalid refund_amount ${JSON.stringify(refundAmount)}`);
  }
  return {
    status: 'SUCCESS',
    amountFen,
    providerRefundNo: str(res.trade_no) ?? null,
    refundTime: refundTimeOf(REFUND_QUERY, str(res.gmt_refund_pay)),
    raw: res,
  };
}

export async function refund(creds: ChannelCredentials, req: RefundRequest): Promise<RefundOutcome> {
  const refundAmount = toRefundAmount(req.amountFen);
  if (!req.outRefundNo || req.outRefundNo.length > MAX_REQUEST_NO) {
    throw new ProviderError('REJECTED', `outRefundNo must be 1-${MAX_REQUEST_NO} characters`, 'INVALID_REFUND_NO');
  }
  const sdk = alipayClient(creds);
  // out_request_no always, even for a full refund: it is what makes a re-send idempotent and what the refund
  // query looks up (without it Alipay would key the refund on out_trade_no, not on our outRefundNo).
  const bizContent: Record<string, string> = { out_trade_no: req.outTradeNo, refund_amount: refundAmount, out_request_no: req.outRefundNo };
  // Never an empty value (signed by the SDK, dropped by Alipay → invalid signature).
  const reason = req.reason ? [...req.reason].slice(0, MAX_REASON).join('') : '';
  if (reason) bizContent.refund_reason = reason;
  const res = await gatewayCall(sdk, REFUND, { timestamp: toAlipayTime(new Date()), bizContent });

  throwIfRetryable(REFUND, res);
  const failure = refundFailure(res);
  if (failure) return failure;
  ensureSuccess(REFUND, res); // throws UNAVAILABLE for 20000, REJECTED for gateway-level errors
  ensureSameTrade(REFUND, res, req.outTradeNo);
  if (res.fund_change === 'Y') return refundSuccessOf(res, req.amountFen);

  // fund_change N (or absent): this call moved no money, typically because the request number was already
  // refunded (our retry after a lost answer). Alipay's docs make the refund query the judge.
  const confirmed = await queryRefund(creds, { outTradeNo: req.outTradeNo, outRefundNo: req.outRefundNo });
  if (confirmed.status === 'NOT_FOUND') {
    // Accepted but not (yet) visible: not a refusal. The caller retries with the same number, which Alipay
    // applies at most once.
    throw new ProviderError('UNAVAILABLE', `${REFUND}: fund_change=${String(res.fund_change ?? '(absent)')} and the refund query finds no refund yet`);
  }
  return confirmed;
}

export async function queryRefund(creds: ChannelCredentials, q: { outTradeNo: string; outRefundNo: string }): Promise<RefundOutcome> {
  const sdk = alipayClient(creds);
  const res = await gatewayCall(sdk, REFUND_QUERY, {
    timestamp: toAlipayTime(new Date()),
    // gmt_refund_pay only comes back when asked for; it is the refund's time of record.
    bizContent: { out_trade_no: q.outTradeNo, out_request_no: q.outRefundNo, query_options: ['gmt_refund_pay'] },
  });
  // No trade (never created or never paid) → certainly no refund under it.
  if (isTradeNotExist(res)) return { status: 'NOT_FOUND', raw: res };
  throwIfRetryable(REFUND_QUERY, res);
  ensureSuccess(REFUND_QUERY, res);
  ensureSameTrade(REFUND_QUERY, res, q.outTradeNo);
  return refundQueryOutcomeOf(res, q.outRefundNo);
}
