/** Public types of the Alipay sandbox: its handle, start options, and the trade / delivery views it exposes. */
import type { ChannelCredentials } from '../../providers/types';
import type { SandboxChaosSettings } from '../chaos';
import type { NotifyMode, SandboxHandle } from '../types';

export type SimTradeStatus = 'NOT_SCANNED' | 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED';
export type SimProductCode = 'QUICK_WAP_WAY' | 'FACE_TO_FACE_PAYMENT' | 'QUICK_MSECURITY_PAY';

export interface SimTrade {
  appId: string;
  outTradeNo: string;
  tradeNo: string;
  productCode: SimProductCode;
  /** NOT_SCANNED = precreated QR nobody scanned yet: the real gateway does not know this trade yet. */
  status: SimTradeStatus;
  totalAmountFen: number;
  totalAmount: string;
  subject: string;
  body?: string;
  notifyUrl?: string;
  returnUrl?: string;
  quitUrl?: string;
  /** Alipay `time_expire` (yyyy-MM-dd HH:mm:ss, Asia/Shanghai) if the merchant sent one. */
  timeExpire?: string;
  /** Native: the code to render as a QR image; GET it to "scan". */
  qrCode?: string;
  /** The buyer's cashier page for this trade. */
  payUrl: string;
  gmtCreate?: string;
  gmtPayment?: string;
  gmtClose?: string;
  buyerId?: string;
  buyerLogonId?: string;
  /** Failed buyer payment attempts (Alipay keeps the trade WAIT_BUYER_PAY and sends no notification). */
  failedPayments: number;
  /** Sum of the trade's successful refunds; reaching totalAmountFen closes the trade (TRADE_CLOSED). */
  refundedFen: number;
}

/** One successful alipay.trade.refund, as the sandbox recorded it (a repeated request adds no record). */
export interface SimRefund {
  appId: string;
  outTradeNo: string;
  tradeNo: string;
  /** The request number the merchant sent, or the out_trade_no when it sent none (Alipay's rule). */
  outRequestNo: string;
  refundAmountFen: number;
  /** The same amount as Alipay's yuan string. */
  refundAmount: string;
  /** yyyy-MM-dd HH:mm:ss (Asia/Shanghai). */
  gmtRefundPay: string;
  reason?: string;
}

/**
 * Where a transfer (alipay.fund.trans.uni.transfer, 单笔无密转账到支付宝账户) stands. DEALING: accepted, the
 * money left the merchant's balance but has not reached the payee yet (the sandbox's `dealing` mode, until
 * completeTransfer). FAIL: it did not reach the payee and went back to the merchant. REFUND (退票): it reached
 * the payee and bounced back later (bounceTransfer).
 */
export type SimTransferStatus = 'DEALING' | 'SUCCESS' | 'FAIL' | 'REFUND';

/**
 * How an app's new transfers behave: `instant` (default) pays at once (status SUCCESS in the answer), `dealing`
 * answers DEALING and waits for completeTransfer(), as Alipay does when its risk or channel checks take time.
 */
export type SimTransferMode = 'instant' | 'dealing';

/** An Alipay account that can receive transfers: its 2088… user id, its logon id (email or phone), its real name. */
export interface SimPayee {
  userId: string;
  /** Several accounts may share one phone number (PAYEE_ACC_OCUPIED unless the name picks one). */
  logonId?: string;
  /** The verified real name (person) or company name the name check compares payee_info.name with. */
  name: string;
}

/** One accepted alipay.fund.trans.uni.transfer, as the sandbox recorded it (a repeated request adds no record). */
export interface SimTransfer {
  appId: string;
  outBizNo: string;
  /** Alipay's transfer order number (order_id). */
  orderId: string;
  /** Alipay's fund flow number (pay_fund_order_id); only once the money reached the payee. */
  payFundOrderId?: string;
  amountFen: number;
  /** The same amount as Alipay's yuan string. */
  transAmount: string;
  identityType: 'ALIPAY_LOGON_ID' | 'ALIPAY_USER_ID';
  /** payee_info.identity exactly as sent. */
  identity: string;
  /** payee_info.name as sent (absent when none was sent). */
  name?: string;
  /** The account that was paid (resolved from the identity). */
  payeeUserId: string;
  orderTitle?: string;
  remark?: string;
  status: SimTransferStatus;
  /** When Alipay accepted the transfer (trans_date of the answer), yyyy-MM-dd HH:mm:ss (Asia/Shanghai). */
  transDate: string;
  /** When the money reached the payee (pay_date of the query); absent while DEALING and for FAIL. */
  payDate?: string;
  /** FAIL / REFUND: Alipay's error_code and fail_reason. */
  errorCode?: string;
  failReason?: string;
}

export interface SimMerchant {
  appId: string;
  sellerId: string;
  appPublicKey: string;
  createdAt: string;
}

export type SimDeliveryKind = 'genuine' | 'duplicate' | 'tampered' | 'lost';

export interface SimNotificationDelivery {
  seq: number;
  notifyId: string;
  appId: string;
  outTradeNo: string;
  tradeStatus: string;
  kind: SimDeliveryKind;
  /** 1-based attempt number of the genuine notification (0 for lost, tampered). */
  attempt: number;
  url: string;
  sentAt: string;
  /** The exact form-urlencoded body sent (replayable). */
  body: string;
  params: Record<string, string>;
  httpStatus?: number;
  /** The merchant's answer (first 4 KiB). */
  responseBody?: string;
  accepted: boolean;
  error?: string;
  latencyMs?: number;
}

export type SimFaultKind =
  | 'http502'
  | 'badSignature'
  | 'drop'
  | 'http502AfterProcessing'
  | 'dropAfterProcessing'
  | 'sellerBalanceNotEnough'
  | 'systemError';
export interface SimFault {
  /**
   * http502: answer HTTP 502 without processing; badSignature: process, sign wrong bytes; drop: destroy the
   * socket without processing. http502AfterProcessing / dropAfterProcessing: process the call (a refund is
   * applied) and then lose the answer (HTTP 502 / destroyed socket), as when a proxy or the network fails on
   * the way back. sellerBalanceNotEnough: only alipay.trade.refund (its default method); the next refund call
   * answers ACQ.SELLER_BALANCE_NOT_ENOUGH and refunds nothing, unless it repeats a refund already applied
   * (Alipay answers those with the refund it has). systemError: only the transfer methods
   * (alipay.fund.trans.uni.transfer, its default method, or alipay.fund.trans.common.query); the call is
   * processed (a transfer is applied) and answered `40004 SYSTEM_ERROR 系统繁忙`, Alipay's "may or may not have
   * happened, retry with the same out_biz_no".
   */
  kind: SimFaultKind;
  /** How many matching gateway calls are affected (default 1). */
  count?: number;
  /**
   * Only calls of this API method (e.g. 'alipay.trade.query'); default any server API call. 'bill.download' (only
   * when named, with http502 / drop) targets the download of a bill file from a bill_download_url instead.
   */
  method?: string;
}

export interface SimTransitionOptions {
  /** Needed only if several merchants used the same out_trade_no. */
  appId?: string;
  notify?: NotifyMode;
  /** For notify 'delayed' (default 2000 ms). */
  delayMs?: number;
  /** Send a correctly signed notification carrying this amount instead of the trade's (mismatch testing). */
  amountOverrideFen?: number;
  /**
   * pay only: the instant the buyer paid (default now), so tests can produce a finished day's bill: Alipay issues
   * bills for past days only. Must not be in the future; the trade's gmt_create moves back with it if needed.
   */
  paidAt?: Date | string;
}

/**
 * Changes to what a day's trade bill (对账单) says, beyond the sandbox's own trades and refunds. UNKNOWN_TRADE: the
 * bill lists `count` (default 1) paid trades of `amountFen` the merchant never created (out_trade_no `outTradeNo`,
 * `outTradeNo_1`… when count > 1, or generated `UNKNOWN…` numbers). WRONG_AMOUNT: the payment line of an existing paid trade states
 * `amountFen` (added to that day's bill if the trade was paid on another day). TAMPERED_SUMMARY: the summary file
 * (业务明细(汇总)) states `amountFen` (default 1) fen more than its lines add up to, as a corrupted or altered file
 * would. Every line is counted in the detail file's own footer, so only TAMPERED_SUMMARY makes the files disagree.
 */
export type SimBillAnomaly =
  | { kind: 'UNKNOWN_TRADE'; appId: string; day: string; amountFen: number; outTradeNo?: string; count?: number; subject?: string }
  | { kind: 'WRONG_AMOUNT'; appId: string; day: string; outTradeNo: string; amountFen: number }
  | { kind: 'TAMPERED_SUMMARY'; appId: string; day: string; amountFen?: number };

/**
 * `count` synthetic paid trades of `amountFen` (default 100) on `day`, generated line by line when the bill is
 * downloaded (nothing per line is stored): a bill of any size without creating that many trades.
 */
export interface SimBillSeed {
  appId: string;
  day: string;
  count: number;
  amountFen?: number;
  subject?: string;
}

/** A bill adjustment as stored: an anomaly or a seed, with the random base its generated trade numbers use. */
export type SimBillAdjustment = (SimBillAnomaly | ({ kind: 'SEEDED' } & SimBillSeed)) & { id: string };

export interface AlipaySandboxOptions {
  port?: number;
  /** JSON file keeping keys, merchants, trades and pending notifications across restarts (keep it under .data/). */
  stateFile?: string;
  /** Base URL as seen by browsers (QR codes, cashier pages, gatewayUrl); default the listen URL. */
  publicUrl?: string;
  /** Delays between notification attempts; attempts = length + 1. Default 1s,2s,4s,…,64s (8 attempts). */
  notifyRetryDelaysMs?: number[];
  notifyTimeoutMs?: number;
  /** Server API calls whose timestamp differs more than this from now are refused (isv.invalid-timestamp). */
  maxTimestampSkewMs?: number;
  /** How long a bill_download_url stays valid (Alipay: 30 s). */
  billUrlTtlMs?: number;
}

export interface AlipaySandboxHandle extends SandboxHandle {
  /** The address the server listens on (always 127.0.0.1). */
  readonly localUrl: string;
  /** SPKI PEM of the sandbox's "Alipay" key: the channel config's secrets.alipayPublicKey. */
  readonly alipayPublicKey: string;
  /**
   * Registers an app. Without appPublicKey, generates the app key pair (returned as secrets.appPrivateKey,
   * PKCS#1 PEM); with an existing app id, replaces its key (key rotation).
   */
  createMerchant(opts?: { mchId?: string; providerAppId?: string; appPublicKey?: string }): Promise<ChannelCredentials>;
  merchant(appId: string): SimMerchant | undefined;
  trade(outTradeNo: string, appId?: string): SimTrade | undefined;
  trades(): SimTrade[];
  /** The buyer scans a precreated QR code: the trade comes into existence as WAIT_BUYER_PAY. */
  scan(outTradeNo: string, opts?: { appId?: string }): Promise<SimTrade>;
  /** What the Alipay app does with an sdkExec order string: verify it and create the trade. */
  appPay(orderString: string): Promise<SimTrade>;
  /** The buyer pays (scanning first if needed): TRADE_SUCCESS + notification. */
  pay(outTradeNo: string, opts?: SimTransitionOptions): Promise<SimTrade>;
  /** A failed payment attempt (e.g. insufficient balance): trade stays WAIT_BUYER_PAY, no notification. */
  fail(outTradeNo: string, opts?: SimTransitionOptions): Promise<SimTrade>;
  /** Closes an unpaid trade as on timeout: TRADE_CLOSED + notification. */
  closeTrade(outTradeNo: string, opts?: SimTransitionOptions): Promise<SimTrade>;
  /** Ends the refund period of a paid trade: TRADE_FINISHED + notification. */
  finish(outTradeNo: string, opts?: SimTransitionOptions): Promise<SimTrade>;
  /**
   * Sets an app's balance available for transfers (fen; default 1,000,000 yuan). Only transfers move it: a
   * transfer takes its amount when accepted, a FAIL or REFUND gives it back.
   */
  setBalance(appId: string, fen: number): void;
  /** An app's balance available for transfers (fen). */
  balance(appId: string): number;
  /**
   * Registers an Alipay account that can receive transfers (a user id is generated when absent); the same user id
   * again replaces the account. Known from the start: payee@example.com / 2088102100000001 张三,
   * 13800138000 / 2088102100000002 李四, company@example.com / 2088102100000003 杭州示例科技有限公司.
   */
  addPayee(payee: { logonId?: string; userId?: string; name: string }): SimPayee;
  payees(): SimPayee[];
  /** How an app's next transfers behave (default instant). */
  setTransferMode(appId: string, mode: SimTransferMode): void;
  /**
   * Settles a DEALING transfer: SUCCESS (the payee is paid), or FAIL with `fail` (the amount goes back to the
   * merchant; default error PAYEE_ACCOUNT_STATUS_ERROR).
   */
  completeTransfer(outBizNo: string, opts?: { appId?: string; fail?: { errorCode?: string; reason?: string } }): Promise<SimTransfer>;
  /** A paid transfer bounces back (退票): status REFUND with the reason, the amount goes back to the merchant. */
  bounceTransfer(outBizNo: string, opts?: { appId?: string; errorCode?: string; reason?: string }): Promise<SimTransfer>;
  /** Every transfer the sandbox accepted (of one app, if given), oldest first: its record of payouts. */
  transfers(appId?: string): SimTransfer[];
  /** Every refund the sandbox applied to the trade, oldest first ([] for an unknown trade). */
  refunds(outTradeNo: string, appId?: string): SimRefund[];
  /**
   * Moves a refund's time (gmt_refund_pay) into the past, so a finished day's bill can carry it. Not before the
   * trade's payment, not in the future.
   */
  backdateRefund(o: { outTradeNo: string; outRequestNo: string; at: Date | string; appId?: string }): Promise<SimRefund>;
  addBillAnomaly(anomaly: SimBillAnomaly): SimBillAdjustment;
  seedBillRows(seed: SimBillSeed): SimBillAdjustment;
  /** The stored bill adjustments (anomalies and seeds), optionally of one app and/or day. */
  billAdjustments(filter?: { appId?: string; day?: string }): SimBillAdjustment[];
  clearBillAdjustments(filter?: { appId?: string; day?: string }): void;
  injectFault(fault: SimFault): void;
  /** Random faults for load tests (off by default): a share of API calls answered 502, a share of payment notifications lost. */
  setChaos(c: Partial<SandboxChaosSettings>): SandboxChaosSettings & { counts: { http5xx: number; callbacksDropped: number } };
  clearFaults(): void;
  notifications(filter?: { outTradeNo?: string; appId?: string }): SimNotificationDelivery[];
  /** Resolves once at least `count` (default 1) deliveries match; rejects after timeoutMs (default 15 s). */
  waitForNotifications(
    predicate: (d: SimNotificationDelivery) => boolean,
    opts?: { count?: number; timeoutMs?: number },
  ): Promise<SimNotificationDelivery[]>;
  /** Resolves when no notification is scheduled or in flight. */
  idle(): Promise<void>;
}
