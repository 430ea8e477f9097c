/**
 * Public types of the WeChat Pay APIv3 sandbox: its control surface (/__sim JSON API and the typed handle).
 */
import type { ChannelCredentials } from '../../providers/types';
import type { SandboxChaosSettings } from '../chaos';
import type { NotifyMode, SandboxHandle } from '../types';

export type WechatTradeType = 'MWEB' | 'NATIVE' | 'APP' | 'JSAPI';
export type WechatTradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

/** A trade as the sandbox stores it (snake_case like the wire format). */
export interface SimTrade {
  mchid: string;
  appid: string;
  out_trade_no: string;
  trade_type: WechatTradeType;
  trade_state: WechatTradeState;
  trade_state_desc: string;
  description: string;
  /** Integer fen. */
  amount_total: number;
  currency: string;
  notify_url: string;
  time_expire?: string;
  attach?: string;
  payer_client_ip?: string;
  /** JSAPI payer, or the simulated buyer once paid. */
  payer_openid?: string;
  prepay_id: string;
  /** Native only: the `pr` code inside code_url. */
  code?: string;
  transaction_id?: string;
  success_time?: string;
  created_at: string;
  /** Digest of the prepay parameters: the same out_trade_no with other parameters is INVALID_REQUEST. */
  request_digest: string;
}

/**
 * How the next notification for a paid trade is delivered:
 * - mode: 'normal' (default), 'lost' (never sent), 'duplicate' (delivered twice, same id), 'tampered'
 *   (signature does not match the body), 'delayed' (first attempt after delayMs);
 * - amountOverrideFen: the encrypted transaction claims this amount (validly signed: a merchant-side check);
 * - badSerial: Wechatpay-Serial names a certificate that does not exist;
 * - badCiphertext: the encrypted resource is corrupted (signature still valid: only decryption fails);
 * - timestampSkewSeconds: Wechatpay-Timestamp shifted by this many seconds (signed; e.g. -600 = stale).
 */
export interface WechatNotifyOptions {
  mode?: NotifyMode;
  delayMs?: number;
  amountOverrideFen?: number;
  badSerial?: boolean;
  badCiphertext?: boolean;
  timestampSkewSeconds?: number;
}

/**
 * Fault injection for the next `count` authenticated /v3 API calls (optionally of one merchant):
 * - 'http500' → 500 {"code":"SYSTEM_ERROR"} without processing the call;
 * - 'http500AfterProcessing' → the call is processed (a refund is created, an order placed…), then the answer
 *   is replaced by 500 SYSTEM_ERROR: the "lost answer" a caller must survive by retrying with the same number;
 * - 'badSignature' → correct answer with a broken Wechatpay-Signature;
 * - 'notEnough' → the next refund application (only those consume it) is refused with
 *   403 {"code":"NOT_ENOUGH","message":"基本账户余额不足，请充值后重新发起"} and nothing is created.
 */
export interface WechatFault {
  kind: 'http500' | 'http500AfterProcessing' | 'badSignature' | 'notEnough';
  count?: number;
  mchid?: string;
}

/** WeChat refund states (`status` in API answers, `refund_status` in notifications). */
export type WechatRefundStatus = 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL';
/** The final states a PROCESSING refund can move to; each sends a REFUND.<status> notification. */
export type WechatRefundOutcome = 'SUCCESS' | 'ABNORMAL' | 'CLOSED';

/** A refund as the sandbox stores it (the record tests count refunds by). */
export interface SimRefund {
  mchid: string;
  out_trade_no: string;
  transaction_id: string;
  out_refund_no: string;
  refund_id: string;
  reason?: string;
  /** Absent when the application named none (WeChat would then use the 商户平台 setting; the sandbox sends nothing). */
  notify_url?: string;
  funds_account: string;
  /** Integer fen. */
  amount_refund: number;
  /** The trade's total, integer fen. */
  amount_total: number;
  currency: string;
  status: WechatRefundStatus;
  user_received_account: string;
  /** RFC 3339 +08:00, like the wire format. */
  create_time: string;
  success_time?: string;
  /** An automatic completion still to come (kept in stateFile, re-armed after a restart). */
  pending?: { at: string; status: WechatRefundOutcome; notify?: WechatNotifyOptions };
}

/**
 * What happens to new refunds by themselves (WeChat refunds are asynchronous: they start PROCESSING).
 * Applies to refunds created after it is set; completeRefund() completes any PROCESSING refund at once.
 */
export interface WechatRefundBehaviour {
  /** Delay after the application until the refund completes by itself; null = only completeRefund() completes it. */
  autoCompleteAfterMs: number | null;
  /** Final status of automatic completions. Default 'SUCCESS'. */
  outcome: WechatRefundOutcome;
  /** How automatic completions deliver their REFUND.* notification. Default normal delivery. */
  notify?: WechatNotifyOptions;
}

export interface CompleteRefundOptions {
  mchid?: string;
  /** Default 'SUCCESS'. */
  status?: WechatRefundOutcome;
  notify?: WechatNotifyOptions;
  /**
   * SUCCESS only: when the refund succeeded (success_time), default now; never in the future. A refund's
   * success day decides which trade bill lists it. create_time moves back with it when it would otherwise be
   * later than the success.
   */
  successTime?: Date | string;
}

export interface RefundCompletion {
  refund: SimRefund;
  /** The REFUND.* notification's event id; absent when the refund has no notify_url. */
  eventId?: string;
}

export interface NotificationAttempt {
  eventId: string;
  mchid: string;
  /** '' for transfer notifications (a transfer bill belongs to no trade). */
  outTradeNo: string;
  /**
   * 'TRANSACTION.SUCCESS', 'REFUND.SUCCESS|ABNORMAL|CLOSED' or 'MCHTRANSFER.BILL.FINISHED' (absent in logs written
   * before refunds existed).
   */
  eventType?: string;
  /** Refund notifications only. */
  outRefundNo?: string;
  /** Transfer notifications only. */
  outBillNo?: string;
  /** 1 for the first delivery of this copy; retries count up. */
  attempt: number;
  /** 1, or 2 for the second copy of a 'duplicate' delivery. */
  copy: number;
  mode: NotifyMode;
  url: string;
  at: string;
  ok: boolean;
  status?: number;
  error?: string;
  /** First 500 characters of the merchant's answer. */
  responseBody?: string;
  /** The signed headers and exact body of this delivery (replayable); for a lost one, what would have been sent. */
  sent?: { headers: Record<string, string>; body: string };
}

export interface PayOptions {
  mchid?: string;
  /** Buyer openid for non-JSAPI trades (JSAPI uses the prepay payer). */
  openid?: string;
  notify?: WechatNotifyOptions;
  /**
   * When the payment succeeded (success_time), default now. Lets tests put a payment on a past day for the
   * trade bills; never in the future. The trade's created_at is left as it is (a backdated payment may
   * precede the order's creation: only success_time decides the bill day).
   */
  successTime?: Date | string;
}

export interface PayResult {
  trade: SimTrade;
  eventId: string;
}

/** bill_type of 申请交易账单 (GET /v3/bill/tradebill). */
export type WechatBillType = 'ALL' | 'SUCCESS' | 'REFUND';

/**
 * A deliberate difference between a merchant's trade bill of `day` (yyyy-MM-dd, Asia/Shanghai) and the trades
 * the sandbox actually has — what reconciliation exists to find. Kept until clearBillAdjustments():
 * - UNKNOWN_TRADE: a paid trade the merchant never created (outTradeNo generated when absent);
 * - WRONG_AMOUNT: the existing paid trade `outTradeNo` is listed with amountFen instead of its amount (and
 *   added to that day's bill if it was paid on another day);
 * - MISSING_TRADE: the existing trade `outTradeNo`, paid that day, is left out of the bill;
 * - WRONG_TOTALS: the totals section states 应结订单总金额/订单总金额 off by deltaFen (WeChat's own file is
 *   inconsistent; its hash still matches, so only the merchant's rows-vs-totals check can notice).
 */
export type WechatBillAnomaly =
  | { mchid: string; day: string; kind: 'UNKNOWN_TRADE'; outTradeNo?: string; amountFen: number; /** Generated when added. */ transactionId?: string }
  | { mchid: string; day: string; kind: 'WRONG_AMOUNT'; outTradeNo: string; amountFen: number }
  | { mchid: string; day: string; kind: 'MISSING_TRADE'; outTradeNo: string }
  | { mchid: string; day: string; kind: 'WRONG_TOTALS'; deltaFen: number };

/**
 * Synthetic bill lines for one merchant and day, generated while the bill is served (never stored as rows):
 * `count` paid trades (out_trade_no `${prefix}` + 7-digit index, spread over the day), the first `refunds` of
 * them also fully refunded the same day. Amounts: amountFen for every trade, or a deterministic spread of
 * 1.00–9.99 yuan when absent. For bills too large to create trade by trade (e.g. 200,000 lines).
 */
export interface WechatBillSeed {
  mchid: string;
  day: string;
  count: number;
  refunds?: number;
  amountFen?: number;
  /** Default `SYN${yyyyMMdd}${n}N` (n numbers the seeds of that day); at most 25 characters. */
  outTradeNoPrefix?: string;
}

/** What a seed adds to the bill (so tests can state the expected totals without re-deriving them). */
export interface WechatBillSeedSummary {
  mchid: string;
  day: string;
  outTradeNoPrefix: string;
  paymentCount: number;
  paymentAmountFen: number;
  refundCount: number;
  refundAmountFen: number;
}

/**
 * How the next bill download (of one merchant, when given) is spoiled:
 * - 'ALTERED' (default): one byte of a non-amount field of the first line changes, so the file no longer
 *   matches hash_value while every row still parses and the totals still agree — only the hash check notices;
 * - 'TRUNCATED': the file stops after about half of its bytes (the connection ends normally);
 * - 'RESET': the connection breaks after about half of the file (an outage, not a bad file).
 */
export interface WechatBillCorruption {
  mchid?: string;
  kind?: 'ALTERED' | 'TRUNCATED' | 'RESET';
}

export interface WechatSandboxHandle extends SandboxHandle {
  /** Serial of the platform certificate currently signing answers and notifications. */
  readonly platformCertificateSerial: string;
  /**
   * New merchant (or, for an existing mchId, an additional API certificate and possibly another bound appid).
   * Returns ChannelCredentials with gatewayUrl = sandbox url and secrets
   * {merchantPrivateKey, merchantCertSerial, merchantCertificate, apiV3Key, platformCertificate, platformCertSerial}.
   */
  createMerchant(opts?: { mchId?: string; providerAppId?: string }): Promise<ChannelCredentials>;
  getTrade(outTradeNo: string, mchid?: string): Promise<SimTrade | undefined>;
  listTrades(mchid?: string): Promise<SimTrade[]>;
  /** The buyer pays: SUCCESS + signed, encrypted notification to notify_url. */
  pay(outTradeNo: string, opts?: PayOptions): Promise<PayResult>;
  /** The payment fails (PAYERROR); WeChat sends no notification for that. */
  failTrade(outTradeNo: string, opts?: { mchid?: string; reason?: string }): Promise<SimTrade>;
  closeTrade(outTradeNo: string, opts?: { mchid?: string }): Promise<SimTrade>;
  /** The buyer is entering the password (USERPAYING). */
  setUserPaying(outTradeNo: string, opts?: { mchid?: string }): Promise<SimTrade>;
  injectFault(fault: WechatFault): Promise<void>;
  /** Random faults for load tests (off by default): a share of /v3 calls answered 500 SYSTEM_ERROR, a share of payment notifications lost. */
  setChaos(c: Partial<SandboxChaosSettings>): Promise<SandboxChaosSettings & { counts: { http5xx: number; callbacksDropped: number } }>;
  clearFaults(): Promise<void>;
  notifications(filter?: NotificationFilter): Promise<NotificationAttempt[]>;
  /** Sends an already issued notification again (same id), e.g. a late duplicate. */
  resendNotification(eventId: string, notify?: WechatNotifyOptions): Promise<void>;
  /**
   * Issues a new platform certificate and lists it in /v3/certificates. As WeChat does during a rotation's overlap,
   * the current certificate keeps signing until the new one is activated: at once with `activate: true`, or later
   * with activatePlatformCertificate(). The old one stays listed until it expires.
   */
  rotatePlatformCertificate(opts?: { activate?: boolean }): Promise<{ serial: string; signing: boolean }>;
  /** Signs answers and notifications with this listed platform certificate from now on. */
  activatePlatformCertificate(serial: string): Promise<{ serial: string }>;
  /**
   * Resolves once no notification delivery or retry is pending. Refunds still waiting for their automatic
   * completion are not waited for: complete them with completeRefund() (or poll refunds()).
   */
  whenNotificationsIdle(): Promise<void>;
  /** The sandbox's record of refunds, oldest first (of one trade when outTradeNo is given). Snapshots, not live. */
  refunds(outTradeNo?: string, opts?: { mchid?: string }): Promise<SimRefund[]>;
  getRefund(outRefundNo: string, mchid?: string): Promise<SimRefund | undefined>;
  /**
   * Completes a PROCESSING refund now (default SUCCESS) and sends its REFUND.* notification to the refund's
   * notify_url with the given delivery mode. Rejects (409) for a refund that is already final.
   */
  completeRefund(outRefundNo: string, opts?: CompleteRefundOptions): Promise<RefundCompletion>;
  /** Changes the automatic completion of refunds created from now on; returns the resulting behaviour. */
  setRefundBehaviour(b: Partial<WechatRefundBehaviour>): Promise<WechatRefundBehaviour>;
  /**
   * Adds a difference to a merchant's trade bill of a day (see WechatBillAnomaly); returns it as stored
   * (UNKNOWN_TRADE with its generated outTradeNo). WRONG_AMOUNT/MISSING_TRADE reject (404) for an unknown trade.
   */
  addBillAnomaly(a: WechatBillAnomaly): Promise<WechatBillAnomaly>;
  /** Adds synthetic lines to a merchant's trade bill of a day (see WechatBillSeed). */
  seedBillRows(seed: WechatBillSeed): Promise<WechatBillSeedSummary>;
  /**
   * 商家转账: sets a merchant's available balance (运营账户可用余额, fen). Amounts locked by bills awaiting their payee
   * are apart from it. Merchants start with a large balance (WechatSandboxOptions.transferBalanceFen).
   */
  setBalance(mchid: string, fen: number): Promise<WechatTransferBalance>;
  getBalance(mchid: string): Promise<WechatTransferBalance>;
  /**
   * A WeChat user who can receive transfers: openid (of `appid` when given, else of any app) and the real name
   * WeChat knows (checked against a user_name the merchant sends). Without a name the user has not completed
   * 实名认证; `abnormal` makes the account unable to receive. Adding an existing openid replaces it.
   */
  addPayee(payee: SimPayee): Promise<SimPayee>;
  /** The sandbox's record of transfer bills (of one merchant), oldest first; payouts are those in SUCCESS. Snapshots. */
  transfers(mchid?: string): Promise<SimTransferBill[]>;
  getTransfer(outBillNo: string, mchid?: string): Promise<SimTransferBill | undefined>;
  /**
   * The payee presses 确认收款 (what POST /transfer/confirm does): WAIT_USER_CONFIRM → SUCCESS (locked funds paid
   * out) or FAIL (REAL_NAME_CHECK_FAIL / PAYEE_ACCOUNT_ABNORMAL / NAME_NOT_CORRECT, funds back), then the
   * MCHTRANSFER.BILL.FINISHED notification. Rejects (409) for a bill not waiting for its payee.
   */
  confirmTransfer(outBillNo: string, opts?: { mchid?: string; notify?: WechatNotifyOptions }): Promise<TransferCompletion>;
  /**
   * The payee closes the confirmation page (取消). As at WeChat this changes nothing: only the merchant can cancel
   * (撤销转账); the bill keeps waiting until confirmed or closed after the confirmation timeout.
   */
  declineTransfer(outBillNo: string, opts?: { mchid?: string }): Promise<SimTransferBill>;
  /** Changes confirmation timeout / cancel delay / notification delivery for transfers from now on. */
  setTransferBehaviour(b: Partial<WechatTransferBehaviour>): Promise<WechatTransferBehaviour>;
  /** Spoils the next bill file download (see WechatBillCorruption); consumed by that download. */
  corruptNextBillDownload(c?: WechatBillCorruption): Promise<void>;
  /** Removes anomalies, seeds and pending corruptions (of one merchant and/or day when given). */
  clearBillAdjustments(filter?: { mchid?: string; day?: string }): Promise<void>;
}

export interface NotificationFilter {
  outTradeNo?: string;
  mchid?: string;
  eventId?: string;
  outRefundNo?: string;
  outBillNo?: string;
}

export interface WechatSandboxOptions {
  /** Default 0 (any free port). Reuse the port with stateFile so a restart keeps the URL. */
  port?: number;
  /** JSON file that keeps keys, merchants, trades and the notification log across restarts. */
  stateFile?: string;
  /** Gaps between notification attempts (ms); attempts = length + 1. Default 1s,2s,4s…64s (8 attempts). */
  notifyRetryDelaysMs?: number[];
  /** How long the merchant may take to answer a notification (WeChat: 5 s). */
  notifyTimeoutMs?: number;
  /**
   * Delay until a new refund completes as SUCCESS by itself (and its REFUND.SUCCESS notification is sent).
   * Default 1000 ms; null = refunds stay PROCESSING until completeRefund(). See setRefundBehaviour().
   */
  refundDelayMs?: number | null;
  /**
   * Hour (0-23, Asia/Shanghai) on the day after bill_date from which its trade bill exists; before it, a day
   * with activity answers 400 STATEMENT_CREATING as WeChat does (it generates bills from about 10:00 on T+1).
   * Default 0: yesterday's bill is ready at once, so tests about "yesterday" do not depend on the hour they run;
   * 24: yesterday's bill is never ready (STATEMENT_CREATING whatever the hour).
   */
  billReadyHourCst?: number;
  /**
   * 商家转账: how long a bill waits for its payee before WeChat closes it (FAIL, fail_reason OVERDUE_CLOSE, funds
   * back, notification). WeChat: 24 hours (the default).
   */
  transferConfirmTimeoutMs?: number;
  /** 撤销转账: how long a bill stays CANCELING before it is CANCELLED (and notified). Default 1000 ms. */
  transferCancelDelayMs?: number;
  /** Available balance of a merchant that never had setBalance. Default 1,000,000,000 fen (ten million yuan). */
  transferBalanceFen?: number;
}

// ───────────────────────── 商家转账 (transfer bills) ─────────────────────────

/** 单据状态 of a transfer bill. The sandbox moves bills through WAIT_USER_CONFIRM, TRANSFERING and CANCELING. */
export type WechatTransferState =
  | 'ACCEPTED'
  | 'PROCESSING'
  | 'WAIT_USER_CONFIRM'
  | 'TRANSFERING'
  | 'SUCCESS'
  | 'FAIL'
  | 'CANCELING'
  | 'CANCELLED';

/** A transfer bill as the sandbox stores it (snake_case like the wire format); the record tests count payouts by. */
export interface SimTransferBill {
  mchid: string;
  appid: string;
  out_bill_no: string;
  transfer_bill_no: string;
  transfer_scene_id: string;
  openid: string;
  /** The payee name the merchant sent, as WeChat decrypted it (absent when none was sent). */
  user_name?: string;
  /** Integer fen. */
  transfer_amount: number;
  transfer_remark: string;
  notify_url?: string;
  user_recv_perception?: string;
  transfer_scene_report_infos: { info_type: string; info_content: string }[];
  state: WechatTransferState;
  fail_reason?: string;
  /** What the merchant's client hands to requestMerchantTransfer; the payee page is /transfer/confirm?package=… */
  package_info: string;
  /** RFC 3339 +08:00, like the wire format. */
  create_time: string;
  update_time: string;
  /** When an unconfirmed bill closes by itself (ISO). */
  expire_at: string;
  /** A CANCELING bill's completion still to come (ISO); kept in stateFile and re-armed after a restart. */
  cancel_at?: string;
  /** Fen locked in the merchant's account for this bill: the amount until it ends, then 0. */
  locked_fen: number;
  /** Digest of the request content (with the decrypted name): the same out_bill_no with other content is refused. */
  request_digest: string;
}

export interface SimPayee {
  openid: string;
  /** Real name (实名); absent = not real-name verified (REAL_NAME_CHECK_FAIL on confirmation). */
  name?: string;
  /** The app the openid belongs to; absent = valid under any appid of any merchant. */
  appid?: string;
  /** The account cannot receive money (PAYEE_ACCOUNT_ABNORMAL on confirmation). */
  abnormal?: boolean;
}

export interface WechatTransferBalance {
  mchid: string;
  /** Available to new transfers. */
  availableFen: number;
  /** Locked by bills waiting for their payee. */
  lockedFen: number;
  /** Paid out by successful transfers so far. */
  paidOutFen: number;
}

export interface WechatTransferBehaviour {
  /** Applies to bills created from now on. */
  confirmTimeoutMs: number;
  /** Applies to cancellations from now on. */
  cancelDelayMs: number;
  /** Delivery of the notifications of timeouts and cancellations. Default normal. */
  notify?: WechatNotifyOptions;
}

export interface TransferCompletion {
  bill: SimTransferBill;
  /** The MCHTRANSFER.BILL.FINISHED event id; absent when the bill has no notify_url. */
  eventId?: string;
}
