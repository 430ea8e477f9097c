/**
 * Alipay (支付宝) adapter on the official alipay-sdk 4.x, OpenAPI v2 (gateway.do) protocol, RSA2 keys
 * (public-key mode). Amounts cross the PaymentProvider interface as integer fen; yuan strings exist only here.
 *
 * Scenes: h5 → alipay.trade.wap.pay (signed GET URL), native → alipay.trade.precreate (QR code),
 * app → alipay.trade.app.pay (order string for the Alipay client SDK). Refunds: refund.ts; transfers to Alipay
 * accounts (alipay.fund.trans.uni.transfer / common.query): transfer.ts; trade bills
 * (downloaded, verified and parsed as streams): bill.ts; gateway plumbing shared by all server calls: gateway.ts.
 */
import type { AlipaySdk, IRequestParams } from 'alipay-sdk';
import {
  ProviderError,
  type CallbackAck,
  type ChannelCredentials,
  type PaymentProvider,
  type PrepayRequest,
  type PrepayResult,
  type RawCallback,
  type ReturnedTrade,
  type SceneCode,
  type TradeOutcome,
  type VerifiedNotification,
} from '../types';
import { downloadBill } from './bill';
import { alipayClient } from './client';
import { alipayAmountToFen, fenToAlipayAmount, toAlipayTime, toTradeOutcome } from './format';
import { ensureSameTrade, ensureSuccess, gatewayCall, isTradeNotExist, str, SUCCESS_CODE } from './gateway';
import { queryRefund, refund } from './refund';
import { queryTransfer, transfer } from './transfer';

export { clearAlipayClientCache } from './client';
export { mapSdkError } from './gateway';
export { toAlipayTime, parseAlipayTime, mapTradeStatus, fenToAlipayAmount, alipayAmountToFen } from './format';

const SCENES: readonly SceneCode[] = ['h5', 'native', 'app'];
/** Exact acknowledgement Alipay expects; anything else (even with whitespace) makes it redeliver. */
const ACK_SUCCESS = 'success';
const ACK_FAIL = 'fail';
/** Alipay's documented limits for subject / body (characters). */
const MAX_SUBJECT = 256;
const MAX_BODY = 128;

export function createAlipayProvider(): PaymentProvider {
  return {
    channelType: 'ali-pay',
    scenes: SCENES,
    prepay,
    query,
    close,
    verifyCallback,
    callbackAck,
    verifyReturn,
    refund,
    queryRefund,
    transfer,
    queryTransfer,
    downloadBill,
  };
}

/** The trade and amount a genuine sync return vouches for (total_amount parsed to fen here, at the edge). */
function verifyReturn(creds: ChannelCredentials, params: Record<string, string>): ReturnedTrade | null {
  if (!alipaySyncReturnVerify(creds, params)) return null;
  try {
    return { outTradeNo: params.out_trade_no, amountFen: alipayAmountToFen(params.total_amount ?? '') };
  } catch {
    return null;
  }
}

/**
 * The parameters Alipay itself appends to return_url (alipay.trade.wap.pay.return). Only these are signed:
 * anything else in the query string is the merchant's own (return_url may carry e.g. `?token=…`).
 */
const SYNC_RETURN_FIELDS = [
  'app_id',
  'auth_app_id',
  'charset',
  'method',
  'out_trade_no',
  'seller_id',
  'sign',
  'sign_type',
  'timestamp',
  'total_amount',
  'trade_no',
  'version',
] as const;

/**
 * Verifies the query string Alipay appends to return_url after an H5 payment (同步返回). The sync return only
 * tells the cashier page which order to show; it is never proof of payment (that is the notification or a
 * query), but a forged one must not be able to show another merchant's order. When this returns true, the
 * Alipay fields (out_trade_no, total_amount, trade_no, app_id, …) are authentic; the caller's own query
 * parameters from return_url are not covered by the signature.
 */
export function alipaySyncReturnVerify(creds: ChannelCredentials, query: Record<string, string>): boolean {
  if (!query.sign || query.app_id !== creds.providerAppId || !query.out_trade_no) return false;
  if (query.sign_type && query.sign_type !== 'RSA2') return false;
  let sdk: AlipaySdk;
  try {
    sdk = alipayClient(creds);
  } catch {
    return false;
  }
  const check = (params: Record<string, string>): boolean => {
    try {
      return sdk.checkNotifySignV2(params);
    } catch {
      // Malformed base64 or key errors inside node:crypto: an unverifiable signature is a failed one.
      return false;
    }
  };
  if (check({ ...query })) return true;
  // return_url had query parameters of its own: verify over Alipay's fields only.
  const alipayOnly: Record<string, string> = {};
  for (const k of SYNC_RETURN_FIELDS) if (query[k] !== undefined) alipayOnly[k] = query[k];
  return check(alipayOnly);
}

// ---------------------------------------------------------------------------------------------------------
// prepay

async function prepay(creds: ChannelCredentials, req: PrepayRequest): Promise<PrepayResult> {
  if (!SCENES.includes(req.sceneCode)) {
    throw new ProviderError('REJECTED', `Alipay does not support scene ${req.sceneCode}`, 'UNSUPPORTED_SCENE');
  }
  const sdk = alipayClient(creds);
  const bizContent = tradeBizContent(req);
  // Empty values must never be sent: the SDK signs them but Alipay drops them before verifying (40002).
  const common: IRequestParams = { notifyUrl: req.notifyUrl, timestamp: toAlipayTime(new Date()) };

  switch (req.sceneCode) {
    case 'h5': {
      // No quit_url: on cancel the buyer just goes back; sending them to the sync-return page unsigned would make
      // that page treat a normal cancel as a forged return.
      const params: IRequestParams = { ...common, bizContent: { ...bizContent, product_code: 'QUICK_WAP_WAY' } };
      if (req.returnUrl) params.returnUrl = req.returnUrl;
      const url = signLocally(() => sdk.pageExec('alipay.trade.wap.pay', 'GET', params));
      return { kind: 'redirect', url };
    }
    case 'native': {
      const res = await gatewayCall(sdk, 'alipay.trade.precreate', { ...common, bizContent });
      ensureSuccess('alipay.trade.precreate', res);
      if (typeof res.qr_code !== 'string' || !res.qr_code) {
        throw new ProviderError('BAD_RESPONSE', 'alipay.trade.precreate succeeded without qr_code');
      }
      ensureSameTrade('alipay.trade.precreate', res, req.outTradeNo);
      return { kind: 'qr', codeUrl: res.qr_code };
    }
    case 'app': {
      const orderString = signLocally(() =>
        sdk.sdkExec('alipay.trade.app.pay', { ...common, bizContent: { ...bizContent, product_code: 'QUICK_MSECURITY_PAY' } }),
      );
      return { kind: 'app', orderString };
    }
    default:
      throw new ProviderError('REJECTED', `Alipay does not support scene ${String(req.sceneCode)}`, 'UNSUPPORTED_SCENE');
  }
}

function tradeBizContent(req: PrepayRequest): Record<string, string> {
  let totalAmount: string;
  try {
    totalAmount = fenToAlipayAmount(req.amountFen);
  } catch (err) {
    throw new ProviderError('REJECTED', (err as Error).message, 'INVALID_AMOUNT');
  }
  if (!req.subject) throw new ProviderError('REJECTED', 'subject is required by Alipay', 'INVALID_SUBJECT');
  if ([...req.subject].length > MAX_SUBJECT) {
    throw new ProviderError('REJECTED', `subject longer than ${MAX_SUBJECT} characters`, 'INVALID_SUBJECT');
  }
  if (!(req.expireAt instanceof Date) || Number.isNaN(req.expireAt.getTime())) {
    throw new ProviderError('REJECTED', 'expireAt is not a valid date', 'INVALID_EXPIRE_AT');
  }
  // An order already expired on our side must not become payable at Alipay (money taken after we closed it).
  if (req.expireAt.getTime() <= Date.now()) {
    throw new ProviderError('REJECTED', 'order already expired', 'ORDER_EXPIRED');
  }
  const biz: Record<string, string> = {
    out_trade_no: req.outTradeNo,
    total_amount: totalAmount,
    subject: req.subject,
    // Absolute expiry, so Alipay itself refuses payment after the order's deadline (no late captures).
    time_expire: toAlipayTime(req.expireAt),
  };
  const body = req.description ? [...req.description].slice(0, MAX_BODY).join('') : '';
  if (body) biz.body = body;
  return biz;
}

/** pageExec/sdkExec only sign locally; a throw there is a key/config problem, never a network one. */
function signLocally(fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    throw new ProviderError('REJECTED', `failed to sign Alipay request: ${(err as Error).name}`, 'SIGN_FAILED');
  }
}

// ---------------------------------------------------------------------------------------------------------
// query / close

async function query(creds: ChannelCredentials, outTradeNo: string): Promise<TradeOutcome> {
  const sdk = alipayClient(creds);
  const res = await gatewayCall(sdk, 'alipay.trade.query', {
    timestamp: toAlipayTime(new Date()),
    bizContent: { out_trade_no: outTradeNo },
  });
  // Native: precreate creates no trade until the buyer scans; H5: none until the cashier opens.
  if (isTradeNotExist(res)) return { status: 'NOT_FOUND', raw: res };
  ensureSuccess('alipay.trade.query', res);
  ensureSameTrade('alipay.trade.query', res, outTradeNo);
  return toTradeOutcome(
    {
      trade_status: str(res.trade_status),
      total_amount: str(res.total_amount),
      trade_no: str(res.trade_no),
      pay_time: str(res.send_pay_date),
    },
    'BAD_RESPONSE',
    res,
  );
}

async function close(creds: ChannelCredentials, outTradeNo: string): Promise<void> {
  const sdk = alipayClient(creds);
  const res = await gatewayCall(sdk, 'alipay.trade.close', {
    timestamp: toAlipayTime(new Date()),
    bizContent: { out_trade_no: outTradeNo },
  });
  // Never created (unscanned QR, unopened H5 page): nothing can be paid, which is what "closed" must guarantee.
  if (isTradeNotExist(res)) return;
  if (res.code === SUCCESS_CODE) return;
  if (res.sub_code === 'ACQ.TRADE_STATUS_ERROR') {
    // Alipay answers the same code for "already closed" (fine: close is idempotent for us) and "already paid"
    // (must surface: the workflow has to record the payment, not a close). Only a query can tell them apart.
    const state = await query(creds, outTradeNo);
    if (state.status === 'CLOSED' || state.status === 'NOT_FOUND') return;
  }
  ensureSuccess('alipay.trade.close', res);
}

// ---------------------------------------------------------------------------------------------------------
// notifications

async function verifyCallback(creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedNotification> {
  let params: Record<string, string>;
  try {
    // Verify over the decoded form values exactly as received (checkNotifySignV2 does not decode again,
    // unlike checkNotifySign, which throws on a '%' in the subject and silently alters '+'/'%xx').
    params = Object.fromEntries(new URLSearchParams(cb.rawBody.toString('utf8')));
  } catch {
    throw new ProviderError('BAD_CALLBACK', 'Alipay notification body is not form-urlencoded');
  }
  if (!params.sign) throw new ProviderError('BAD_CALLBACK', 'Alipay notification without sign');
  if (params.sign_type && params.sign_type !== 'RSA2') {
    // Downgrade guard: the SDK would happily verify with RSA-SHA1 if the message claims sign_type=RSA.
    throw new ProviderError('BAD_CALLBACK', `unexpected Alipay notification sign_type ${params.sign_type}`);
  }

  let sdk: AlipaySdk;
  try {
    sdk = alipayClient(creds);
  } catch (err) {
    throw new ProviderError('BAD_CALLBACK', `cannot verify Alipay notification: ${(err as Error).message}`);
  }
  let verified = false;
  try {
    verified = sdk.checkNotifySignV2(params);
  } catch {
    verified = false;
  }
  if (!verified) throw new ProviderError('BAD_CALLBACK', 'Alipay notification signature invalid');

  // Authentic, but possibly for another app signed by the same Alipay key (all apps share Alipay's key):
  // a notification is only trusted for the channel config whose app it names.
  if (params.app_id !== creds.providerAppId) {
    throw new ProviderError('BAD_CALLBACK', `Alipay notification for app_id ${params.app_id ?? '(none)'} received on channel for ${creds.providerAppId}`);
  }
  // The seller (the merchant's 2088… PID) when the channel config names it: money must land in our account.
  const sellerId = creds.secrets.sellerId;
  if (sellerId && params.seller_id !== sellerId) {
    throw new ProviderError('BAD_CALLBACK', `Alipay notification for seller ${params.seller_id ?? '(none)'} received on channel for seller ${sellerId}`);
  }
  if (!params.notify_id) throw new ProviderError('BAD_CALLBACK', 'Alipay notification without notify_id');
  if (!params.out_trade_no) throw new ProviderError('BAD_CALLBACK', 'Alipay notification without out_trade_no');

  const outcome = toTradeOutcome(
    {
      trade_status: params.trade_status,
      total_amount: params.total_amount,
      trade_no: params.trade_no,
      pay_time: params.gmt_payment,
    },
    'BAD_CALLBACK',
    withoutSignature(params),
  );
  return {
    outTradeNo: params.out_trade_no,
    eventId: params.notify_id,
    providerAppId: params.app_id,
    mchId: creds.mchId,
    outcome,
  };
}

function callbackAck(ok: boolean): CallbackAck {
  // Alipay looks only at the body: exactly `success` stops redelivery, anything else schedules a retry.
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: ok ? ACK_SUCCESS : ACK_FAIL };
}

function withoutSignature(params: Record<string, string>): Record<string, string> {
  const { sign: _sign, ...rest } = params;
  void _sign;
  return rest;
}
