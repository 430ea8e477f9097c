/**
 * Alipay transfers (单笔无密转账到支付宝账户): alipay.fund.trans.uni.transfer with product TRANS_ACCOUNT_NO_PWD and
 * scene DIRECT_TRANSFER, and alipay.fund.trans.common.query (OpenAPI v2, via alipay-sdk with verified answers).
 *
 * Idempotency is the caller's stable outBizNo: Alipay pays an out_biz_no at most once and answers a repeat with
 * the transfer it already has, so after any doubt (network error, 5xx, SYSTEM_ERROR) the same request is sent
 * again. "The same request" must be byte-for-byte the same money and payee: a repeat whose content differs is
 * refused with PAYMENT_INFO_INCONSISTENCY. Everything sent is therefore derived deterministically from the
 * TransferRequest (amount formatted by integer arithmetic, titles cut the same way every time).
 *
 * Alipay has no notify_url for this API (results are pushed, if subscribed, as alipay.fund.trans.order.changed
 * messages): TransferRequest.notifyUrl is not sent, and PROCESSING transfers are settled by queryTransfer.
 *
 * The pure mappings (answer → TransferOutcome) are exported for unit tests.
 */
import { ProviderError, type ChannelCredentials, type TransferOutcome, type TransferRequest } from '../types';
import { alipayClient } from './client';
import { fenToAlipayAmount, parseAlipayTime, toAlipayTime } from './format';
import { answerDetail, ensureSuccess, gatewayCall, str, type GatewayResult } from './gateway';

const TRANSFER = 'alipay.fund.trans.uni.transfer';
const TRANSFER_QUERY = 'alipay.fund.trans.common.query';
/** 单笔无密转账到支付宝账户 and its scene; the query needs both to find an order by out_biz_no. */
const PRODUCT_CODE = 'TRANS_ACCOUNT_NO_PWD';
const BIZ_SCENE = 'DIRECT_TRANSFER';
/** "只支持半角英文、数字，及“-”、“_”", at most 64 characters. */
const OUT_BIZ_NO = /^[A-Za-z0-9_-]{1,64}$/;
/** Field limits of uni.transfer (characters). */
const MAX_TITLE = 128;
const MAX_REMARK = 200;
/** The query's answer for an out_biz_no Alipay has no order for (never arrived, or refused without an order). */
const ORDER_NOT_EXIST = 'ORDER_NOT_EXIST';
/**
 * Sub_codes that mean "try again with the same out_biz_no" rather than a final refusal. SYSTEM_ERROR (系统繁忙):
 * the transfer may or may not have happened, and only a re-send (answered with the existing transfer) or a query
 * can tell; ACQ.SYSTEM_ERROR is the trade APIs' spelling of it; RESOURCE_LIMIT_EXCEED (请求超过资源限制, "lower
 * your concurrency"): nothing was done. Reporting any of these as FAIL would invite a new transfer under a new
 * number — paying twice if the first one went through.
 */
const RETRYABLE_SUB_CODES = new Set(['SYSTEM_ERROR', 'ACQ.SYSTEM_ERROR', 'RESOURCE_LIMIT_EXCEED']);
/** Known but not final statuses: DEALING (处理中), INIT (等待处理), WAIT_PAY, UNKNOWN (状态未知: never assume failed). */
const PENDING_STATUSES = new Set(['DEALING', 'INIT', 'WAIT_PAY', 'UNKNOWN']);

type FailOutcome = Extract<TransferOutcome, { status: 'FAIL' }>;

function throwIfRetryable(method: string, res: GatewayResult): void {
  if (res.sub_code && RETRYABLE_SUB_CODES.has(res.sub_code)) throw new ProviderError('UNAVAILABLE', answerDetail(method, res), res.sub_code);
}

/** Integer fen → trans_amount; an amount Alipay cannot take is our bug, refused before any call. */
export function toTransferAmount(amountFen: number): string {
  try {
    return fenToAlipayAmount(amountFen);
  } catch (err) {
    throw new ProviderError('REJECTED', (err as Error).message, 'INVALID_AMOUNT');
  }
}

/** The first `max` characters (code points), so a cut never splits a character and is the same on every retry. */
function clip(text: string, max: number): string {
  return [...text].slice(0, max).join('');
}

/**
 * The biz_content of alipay.fund.trans.uni.transfer, or a REJECTED ProviderError for a request Alipay cannot take
 * (checked here so a programming error never turns into a business FAIL that looks like the payee's fault).
 */
export function transferBizContent(req: TransferRequest): Record<string, unknown> {
  if (req.payeeType !== 'ALIPAY_LOGON_ID' && req.payeeType !== 'ALIPAY_USER_ID') {
    // A WeChat openid is no Alipay account: nothing Alipay could pay.
    throw new ProviderError('REJECTED', `Alipay cannot pay a ${String(req.payeeType)} payee`, 'UNSUPPORTED_PAYEE_TYPE');
  }
  const transAmount = toTransferAmount(req.amountFen);
  if (!OUT_BIZ_NO.test(req.outBizNo ?? '')) {
    throw new ProviderError('REJECTED', 'outBizNo must be 1-64 characters of A-Z a-z 0-9 - _', 'INVALID_BIZ_NO');
  }
  if (!req.payeeAccount) throw new ProviderError('REJECTED', 'payeeAccount is required', 'INVALID_PAYEE');
  // Alipay: "当identity_type=ALIPAY_LOGON_ID时，本字段必填" — a logon id (a phone number may have changed hands)
  // is only paid together with the name it must belong to.
  if (req.payeeType === 'ALIPAY_LOGON_ID' && !req.payeeName) {
    throw new ProviderError('REJECTED', 'Alipay requires the payee name for an ALIPAY_LOGON_ID payee', 'PAYEE_NAME_REQUIRED');
  }
  const payeeInfo: Record<string, string> = { identity: req.payeeAccount, identity_type: req.payeeType };
  // Never an empty value (signed by the SDK, dropped by Alipay → invalid signature).
  if (req.payeeName) payeeInfo.name = req.payeeName;
  const biz: Record<string, unknown> = {
    out_biz_no: req.outBizNo,
    trans_amount: transAmount,
    product_code: PRODUCT_CODE,
    biz_scene: BIZ_SCENE,
    payee_info: payeeInfo,
  };
  // order_title is what the payee sees in their Alipay bill; the remark doubles as it (the interface has one text).
  if (req.remark) {
    biz.order_title = clip(req.remark, MAX_TITLE);
    biz.remark = clip(req.remark, MAX_REMARK);
  }
  return biz;
}

/**
 * A business refusal of this transfer (40004 with a sub_code, e.g. PAYEE_NOT_EXIST, PAYEE_USER_INFO_ERROR,
 * PAYER_BALANCE_NOT_ENOUGH / BALANCE_IS_NOT_ENOUGH, PAYMENT_INFO_INCONSISTENCY, EXCEED_LIMIT_SM_AMOUNT,
 * INVALID_PARAMETER) as a FAIL outcome; undefined for anything else. Retryable answers are not refusals, nor are
 * gateway-level errors (40001/40002/40006/20001: signature, missing parameter, no permission), which say nothing
 * about the payee and are thrown by ensureSuccess as REJECTED: fixing the channel config lets the very same
 * transfer through.
 */
export function transferFailure(res: GatewayResult): FailOutcome | undefined {
  if (res.code !== '40004' || !res.sub_code || RETRYABLE_SUB_CODES.has(res.sub_code)) return undefined;
  return { status: 'FAIL', errorCode: res.sub_code, errorMsg: str(res.sub_msg) ?? str(res.msg) ?? '', raw: res };
}

function timeOf(method: string, field: string, text: string | undefined): Date {
  // Absent on an authentic success: the money moved, the exact instant is secondary (as for refunds).
  if (!text) return new Date();
  try {
    return parseAlipayTime(text);
  } catch {
    throw new ProviderError('BAD_RESPONSE', `${method}: invalid ${field} ${JSON.stringify(text)}`);
  }
}

/**
 * A 10000 answer of uni.transfer (time of record: trans_date) or common.query (pay_date) → TransferOutcome.
 * SUCCESS carries Alipay's order_id (what Alipay support asks for). REFUND (退票: paid, then returned to the
 * merchant) is final and not paid, hence FAIL with Alipay's error_code / fail_reason.
 */
export function transferOutcomeOf(method: string, res: GatewayResult, outBizNo: string): TransferOutcome {
  const echoed = str(res.out_biz_no);
  // A signed answer about another transfer (proxy/cache mix-up) must not settle this one.
  if (echoed !== undefined && echoed !== outBizNo) {
    throw new ProviderError('BAD_RESPONSE', `${method}: response is for out_biz_no ${echoed}, expected ${outBizNo}`);
  }
  const providerTransferId = str(res.order_id) ?? null;
  const status = str(res.status);
  if (status === 'SUCCESS') {
    const time = method === TRANSFER ? str(res.trans_date) : str(res.pay_date);
    return { status: 'SUCCESS', providerTransferId, transferTime: timeOf(method, method === TRANSFER ? 'trans_date' : 'pay_date', time), raw: res };
  }
  if (status !== undefined && PENDING_STATUSES.has(status)) return { status: 'PROCESSING', providerTransferId, raw: res };
  if (status === 'FAIL' || status === 'REFUND' || status === 'CLOSED') {
    return {
      status: 'FAIL',
      errorCode: str(res.error_code) ?? status,
      errorMsg: str(res.fail_reason) ?? (status === 'REFUND' ? '退票' : ''),
      raw: res,
    };
  }
  // Authentic but unrecognized (or missing): alarming, and safe to retry — a re-send cannot pay twice.
  throw new ProviderError('BAD_RESPONSE', `${method}: unknown transfer status ${JSON.stringify(status ?? null)}`);
}

export async function transfer(creds: ChannelCredentials, req: TransferRequest): Promise<TransferOutcome> {
  const bizContent = transferBizContent(req);
  const sdk = alipayClient(creds);
  const res = await gatewayCall(sdk, TRANSFER, { timestamp: toAlipayTime(new Date()), bizContent });
  throwIfRetryable(TRANSFER, res);
  const failure = transferFailure(res);
  if (failure) return failure;
  ensureSuccess(TRANSFER, res); // throws UNAVAILABLE for 20000, REJECTED for gateway-level errors
  return transferOutcomeOf(TRANSFER, res, req.outBizNo);
}

export async function queryTransfer(creds: ChannelCredentials, outBizNo: string): Promise<TransferOutcome> {
  const sdk = alipayClient(creds);
  const res = await gatewayCall(sdk, TRANSFER_QUERY, {
    timestamp: toAlipayTime(new Date()),
    // product_code and biz_scene are required whenever out_biz_no is the key.
    bizContent: { out_biz_no: outBizNo, product_code: PRODUCT_CODE, biz_scene: BIZ_SCENE },
  });
  // No order: the transfer never arrived, or was refused without creating one (nothing was paid either way).
  if (res.code === '40004' && res.sub_code === ORDER_NOT_EXIST) return { status: 'NOT_FOUND', raw: res };
  throwIfRetryable(TRANSFER_QUERY, res);
  // Any other refusal of a query (INVALID_PARAMETER…) is our bug, not news about the transfer: REJECTED.
  ensureSuccess(TRANSFER_QUERY, res);
  return transferOutcomeOf(TRANSFER_QUERY, res, outBizNo);
}
