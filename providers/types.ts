/**
 * The one interface every payment provider (wallet) implements. Adding a wallet means adding one folder
 * under providers/ with an adapter implementing PaymentProvider and registering it in providers/registry.ts.
 *
 * All amounts crossing this interface are integer fen. Conversions to a provider's wire format (Alipay's
 * yuan strings, WeChat's integer fen) happen only inside the adapter.
 */

import type { ChannelType, SceneCode } from '../domain/channel';

export type { ChannelType, SceneCode };

/** Decrypted channel configuration (商户信息) as the adapter needs it. Never logged, never returned by the API. */
export interface ChannelCredentials {
  channelType: ChannelType;
  /** Alipay: the Alipay app id (also the merchant id shown to merchants). WeChat: the mchid. */
  mchId: string;
  /** WeChat: the appid bound to the mchid. Alipay: same as mchId. */
  providerAppId: string;
  /** Base URL of the provider gateway; the sandbox in development and tests. */
  gatewayUrl: string;
  /** Provider-specific secret material (PEM keys, APIv3 key, certificate serials...). */
  secrets: Record<string, string>;
}

export interface PrepayRequest {
  sceneCode: SceneCode;
  outTradeNo: string;
  amountFen: number;
  subject: string;
  description: string;
  /** Where the provider must POST its asynchronous notification (carries the channel config id). */
  notifyUrl: string;
  /** Browser return URL after H5 payment (Alipay sync-return page), if any. */
  returnUrl?: string;
  /** Absolute expiry of the order; providers close the trade after it. */
  expireAt: Date;
  clientIp?: string;
  /** WeChat JSAPI payer openid. */
  openid?: string;
}

/** What the cashier page needs to continue with the chosen channel. */
export type PrepayResult =
  | { kind: 'redirect'; url: string } // H5: send the browser to this URL
  | { kind: 'form'; html: string } // H5 alternative: an auto-submitting form
  | { kind: 'qr'; codeUrl: string } // Native: encode as a QR code on our side
  | { kind: 'app'; orderString?: string; params?: Record<string, string> } // App SDK payload
  | { kind: 'jsapi'; params: Record<string, string> }; // WeixinJSBridge parameters

/** Normalized trade outcome of a query or a verified notification. */
export type TradeOutcome =
  | { status: 'SUCCESS' | 'FINISH'; amountFen: number; providerTradeNo: string; payTime: Date; raw?: unknown }
  | { status: 'FAIL'; errorCode: string; errorMsg: string; raw?: unknown }
  | { status: 'CLOSED'; raw?: unknown }
  | { status: 'WAITING'; raw?: unknown } // trade exists, buyer has not paid yet
  | { status: 'NOT_FOUND'; raw?: unknown }; // provider knows no such trade (e.g. precreate not scanned)

/** A provider notification after its signature was verified and its body parsed/decrypted. */
export interface VerifiedNotification {
  outTradeNo: string;
  /** Provider-side event id, for deduplication (Alipay notify_id, WeChat event id). */
  eventId: string;
  /** The provider app/merchant the notification was issued for; checked against the channel config. */
  providerAppId: string;
  mchId: string;
  outcome: TradeOutcome;
}

/** A refund at the provider of (part of) a paid trade. */
export interface RefundRequest {
  /** The paid trade's out_trade_no at the provider. */
  outTradeNo: string;
  /**
   * Our stable request number for this refund (Alipay `out_request_no`, WeChat `out_refund_no`). Sending the
   * same number again never refunds twice: the provider answers with the refund it already has.
   */
  outRefundNo: string;
  amountFen: number;
  /** The trade's paid total (WeChat requires it with every refund). */
  totalFen: number;
  reason?: string;
  /** Where the provider reports the refund's result (WeChat's REFUND.* notifications). */
  notifyUrl: string;
}

/** Normalized state of one refund at the provider. */
export type RefundOutcome =
  | { status: 'SUCCESS'; amountFen: number; providerRefundNo: string | null; refundTime: Date; raw?: unknown }
  | { status: 'PROCESSING'; providerRefundNo: string | null; raw?: unknown }
  /** Final refusal or failure (provider's own code, e.g. ACQ.REFUND_AMT_NOT_EQUAL_TOTAL, NOT_ENOUGH, ABNORMAL, CLOSED). */
  | { status: 'FAIL'; errorCode: string; errorMsg: string; raw?: unknown }
  /** The provider knows no refund with this request number (never arrived, or not applied). */
  | { status: 'NOT_FOUND'; raw?: unknown };

/** A provider refund notification after its signature was verified and its body decrypted. */
export interface VerifiedRefundNotification {
  outTradeNo: string;
  outRefundNo: string;
  eventId: string;
  mchId: string;
  outcome: RefundOutcome;
}

/**
 * One line of a provider's trade bill (对账单) of one day, amounts in fen. `outTradeNo` is the trade number we
 * sent (CD…C…), `outRefundNo` the refund request number we sent (CDR…); the provider's own numbers beside them.
 */
export type BillRecord =
  | { kind: 'PAYMENT'; outTradeNo: string; providerTradeNo: string; amountFen: number; time: Date; status: string }
  | {
      kind: 'REFUND';
      outTradeNo: string;
      providerTradeNo: string;
      outRefundNo: string;
      providerRefundNo: string | null;
      amountFen: number;
      time: Date;
      status: string;
    };

/** The totals a bill states about itself (Alipay's summary file, WeChat's totals section). Last entry of a bill. */
export interface BillTotals {
  kind: 'TOTALS';
  paymentCount: number;
  paymentAmountFen: number;
  refundCount: number;
  refundAmountFen: number;
}

export type BillEntry = BillRecord | BillTotals;

/** Who receives a transfer: an Alipay account (logon id or 2088… user id) or a WeChat user of the app (openid). */
export type PayeeType = 'ALIPAY_LOGON_ID' | 'ALIPAY_USER_ID' | 'WX_OPENID';

/** A payout (转账) from the merchant's balance to a person. */
export interface TransferRequest {
  /**
   * Our stable request number (Alipay `out_biz_no`, WeChat `out_bill_no`): sending it again never pays twice,
   * the provider answers with the transfer it already has.
   */
  outBizNo: string;
  amountFen: number;
  payeeType: PayeeType;
  payeeAccount: string;
  /** The payee's real name; Alipay checks it against the account when given, WeChat requires it above 2,000 yuan. */
  payeeName?: string;
  /** Shown to the payee (Alipay order_title / remark, WeChat transfer_remark). */
  remark: string;
  /** Where the provider reports the result (WeChat's transfer-bill notification). */
  notifyUrl: string;
}

/** Normalized state of one transfer at the provider. */
export type TransferOutcome =
  | { status: 'SUCCESS'; providerTransferId: string | null; transferTime: Date; raw?: unknown }
  | { status: 'PROCESSING'; providerTransferId: string | null; raw?: unknown }
  /**
   * WeChat 商家转账: the payee must confirm in WeChat. `confirm` is what the merchant's client passes to WeChat's
   * confirmation API (e.g. `mchId`, `appId`, `package`).
   */
  | { status: 'WAIT_USER_CONFIRM'; providerTransferId: string | null; confirm: Record<string, string>; raw?: unknown }
  /** Final refusal or failure with the provider's own code (e.g. PAYEE_NOT_EXIST, PAYEE_USER_NAME_ERROR, NOT_ENOUGH). */
  | { status: 'FAIL'; errorCode: string; errorMsg: string; raw?: unknown }
  /** Cancelled before payment (WeChat: the payee did not confirm in time, or the merchant cancelled). */
  | { status: 'CANCELLED'; reason: string; raw?: unknown }
  | { status: 'NOT_FOUND'; raw?: unknown };

/** A provider's transfer notification after its signature was verified and its body decrypted. */
export interface VerifiedTransferNotification {
  outBizNo: string;
  eventId: string;
  mchId: string;
  outcome: TransferOutcome;
}

/** Raw HTTP callback as received: the exact body bytes and the lower-cased headers. */
export interface RawCallback {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

/** How the API must answer the provider once the callback was handled. */
export interface CallbackAck {
  status: number;
  contentType: string;
  body: string;
}

export interface PaymentProvider {
  readonly channelType: ChannelType;
  readonly scenes: readonly SceneCode[];
  prepay(creds: ChannelCredentials, req: PrepayRequest): Promise<PrepayResult>;
  query(creds: ChannelCredentials, outTradeNo: string): Promise<TradeOutcome>;
  /** Closes an unpaid trade. Resolves when closed or when the provider never created it. */
  close(creds: ChannelCredentials, outTradeNo: string): Promise<void>;
  /** Verifies signature (and decrypts) a provider callback; throws ProviderError('BAD_CALLBACK') if invalid. */
  verifyCallback(creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedNotification>;
  /** The provider-specific answer for an accepted (ok=true) or rejected callback. */
  callbackAck(ok: boolean, message?: string): CallbackAck;
  /**
   * Refunds (part of) a paid trade. A business refusal resolves as a FAIL outcome carrying the provider's code;
   * a network error, 5xx or "system busy" throws ProviderError UNAVAILABLE (retry with the same outRefundNo);
   * an unverifiable answer throws BAD_RESPONSE.
   */
  refund(creds: ChannelCredentials, req: RefundRequest): Promise<RefundOutcome>;
  /** The refund's current state at the provider (NOT_FOUND when it never arrived). Throws like refund(). */
  queryRefund(creds: ChannelCredentials, q: { outTradeNo: string; outRefundNo: string }): Promise<RefundOutcome>;
  /**
   * Verifies (and decrypts) an asynchronous refund notification; throws ProviderError('BAD_CALLBACK') if invalid.
   * Providers that report refunds synchronously only (Alipay) leave this out.
   */
  verifyRefundCallback?(creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedRefundNotification>;
  /**
   * Pays `req.amountFen` to the payee. A business refusal resolves as FAIL with the provider's code; network
   * errors, 5xx and "system busy" throw UNAVAILABLE (retry with the same outBizNo); unverifiable answers BAD_RESPONSE.
   */
  transfer?(creds: ChannelCredentials, req: TransferRequest): Promise<TransferOutcome>;
  /** The transfer's current state (NOT_FOUND when it never arrived). Throws like transfer(). */
  queryTransfer?(creds: ChannelCredentials, outBizNo: string): Promise<TransferOutcome>;
  /** Cancels a transfer still waiting for the payee (WeChat); resolves with the resulting state. */
  cancelTransfer?(creds: ChannelCredentials, outBizNo: string): Promise<TransferOutcome>;
  /** Verifies (and decrypts) an asynchronous transfer notification (WeChat); throws ProviderError('BAD_CALLBACK') if invalid. */
  verifyTransferCallback?(creds: ChannelCredentials, cb: RawCallback): Promise<VerifiedTransferNotification>;
  /**
   * Streams the provider's trade bill of `day` (yyyy-MM-dd, Asia/Shanghai): every payment and refund line, then
   * exactly one TOTALS entry. Downloaded, verified (hash / signature as the provider specifies) and parsed as a
   * stream: a bill of any size is never held whole in memory. A day without a bill yields zero TOTALS only.
   * Throws ProviderError UNAVAILABLE (retry later) or BAD_RESPONSE (verification failed, totals disagree).
   */
  downloadBill?(creds: ChannelCredentials, day: string): AsyncIterable<BillEntry>;
  /**
   * Verifies the parameters a provider appends when it sends the browser back to our return page (Alipay's
   * sync return). Returns the trade and amount they vouch for, or null when they are not genuine. Providers
   * that return without parameters (WeChat H5) leave this out.
   */
  verifyReturn?(creds: ChannelCredentials, params: Record<string, string>): ReturnedTrade | null;
}

/** What a verified return page vouches for. */
export interface ReturnedTrade {
  outTradeNo: string;
  amountFen: number;
}

/** Stable provider error kinds; mapped to HTTP 5030 / Temporal failures in one place (domain/errors.ts). */
export type ProviderErrorKind =
  | 'UNAVAILABLE' // network error, 5xx, timeout: retryable
  | 'REJECTED' // business error answer (bad params, trade state): not retryable
  | 'BAD_RESPONSE' // response signature invalid or unparsable: retryable, alarming
  | 'BAD_CALLBACK'; // callback signature/decryption invalid

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly providerCode?: string,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
