/**
 * Cashier Desk (收银台) merchant SDK for Node.js ≥ 20. No runtime dependency beyond Node (global
 * `fetch`, `crypto`). Every request is signed with Signature v1 (see ./signature.ts and README.md);
 * every successful response must carry a valid RESPONSE signature or the SDK throws.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import {
  DEFAULT_SIGN_TYPE,
  HeadersLike,
  MemoryNonceStore,
  NONCE_TTL_MS,
  NonceStore,
  OrderSignatureBlock,
  SignType,
  VerifyFailureReason,
  VerifyResult,
  isSignType,
  signRequestHeaders,
  signResponseHeaders,
  verifyOrder,
  verifySignedHeaders,
  verifySignedMessage,
} from '../signature';

export * from '../signature';

// ───────────────────────────── types of the merchant API ─────────────────────────────

/** Success code of every envelope. */
export const SUCCESS_CODE = 1000;
export const SUCCESS_MSG = '操作成功';

export type ChannelType = 'ali-pay' | 'wx-pay';
export type SceneCode = 'h5' | 'native' | 'app' | 'jsapi';
/** SUCCESS paid · FINISH complete, no more refunds · FAIL failed · NULL no result yet (do nothing). */
export type ResultCode = 'SUCCESS' | 'FINISH' | 'FAIL' | 'NULL';

/** Every JSON response of the cashier desk. */
export interface ResponseEnvelope<T = unknown> {
  code: number;
  msg: string;
  data?: T;
  /** epoch ms */
  responseTime: number;
}

/** Body of `POST /unified/orders`. */
export interface UnifiedOrderRequest {
  /** Integer amount in fen (分), > 0. */
  amount: number;
  goodsDesc: string;
  orderTitle: string;
  /** The merchant's order number; `(appId, outTradeNo)` identifies the order (idempotent). */
  outTradeNo: string;
  /** The merchant's identifier of the paying user. */
  thirdPartyUser: string;
  /** Where payment results are POSTed (default: the app's registered notify URL, or the SDK's `notifyUrl`). */
  notifyUrl?: string;
  /** Where the consumer is sent after paying (absent: no redirect). */
  returnUrl?: string;
  /** Order lifetime in seconds. */
  expireSeconds?: number;
}

/** A payment channel bound to the app. */
export interface Channel {
  id: number;
  /** The seed shows a number here and a string elsewhere; compare with `String(appId)`. */
  appId: string | number;
  appName: string;
  channelId: number;
  channelType: ChannelType;
  channelName: string;
  sceneName: string;
  sceneCode: SceneCode;
  configId: number;
  mchId: string;
  url: string;
  method: 'POST';
  enctype: 'json';
  sort: number;
}

/** `data` of the unified-order response. */
export interface UnifiedOrderData {
  token: string;
  /** Opaque order identifier of the cashier desk. */
  orderId: number | string;
  /** Proof for the merchant front end that `token` came from the cashier desk (ORDER string). */
  signature: OrderSignatureBlock;
  channels: Channel[];
}

/** `data` of `POST /payment/list`. */
export interface PaymentListData {
  /** The cashier page, `…/cashier-desk-web/payment?token=…`: send the consumer's browser there. */
  url: string;
}

/** `data` of `GET /out-trade-no/query-pay-result/{outTradeNo}`. */
export interface QueryPayResultData {
  channelId: number | null;
  channelType: ChannelType | null;
  mchId: string | null;
  /** `yyyy-MM-dd HH:mm:ss`, Asia/Shanghai; null until paid. */
  payTime: string | null;
  resultCode: ResultCode;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
  /** fen refunded successfully so far (partial refunds add up). */
  refundedAmount: number;
}

/** `POST /refunds`: refund (part of) a paid order. */
export interface RefundRequest {
  outTradeNo: string;
  /** Your refund number, unique per app: 1-64 of `[A-Za-z0-9_-|*.]`. Sending the same request again returns the same refund. */
  outRefundNo: string;
  /** fen, ≥ 1, at most what is still refundable. */
  amount: number;
  /** ≤ 128 characters. */
  reason?: string;
  /** Where REFUND_RESULT notifications go; default the order's notify URL. */
  notifyUrl?: string;
}

export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

/** `data` of `POST /refunds`. */
export interface RefundData {
  refundId: number;
  outRefundNo: string;
  outTradeNo: string;
  amount: number;
  status: RefundStatus;
}

/** `data` of `GET /refunds/{outRefundNo}`. */
export interface RefundQueryData extends RefundData {
  /** `yyyy-MM-dd HH:mm:ss`, Asia/Shanghai; null until refunded. */
  refundTime: string | null;
  channelType: ChannelType;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
}

/** The JSON body of a payment-result notification POSTed to the merchant's notify URL. */
export interface PaymentNotification {
  /** Stable per event: use it to deduplicate (retries carry the same eventId, a new nonce). */
  eventId: string;
  eventType: 'PAYMENT_RESULT';
  appId: string;
  orderId: number | string;
  outTradeNo: string;
  /** fen */
  amount: number;
  channelId: number | null;
  channelType: ChannelType | null;
  mchId: string | null;
  payTime: string | null;
  resultCode: ResultCode;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
  /** 1-based delivery attempt. */
  attempt: number;
}

/** The JSON body of a refund-result notification (same signature, same schedule, same acknowledgement). */
export interface RefundNotification {
  /** `REFUND_RESULT-{refundId}`: stable per refund, use it to deduplicate. */
  eventId: string;
  eventType: 'REFUND_RESULT';
  appId: string;
  refundId: number;
  outRefundNo: string;
  outTradeNo: string;
  orderId: number | string;
  /** fen */
  amount: number;
  refundTime: string | null;
  resultCode: 'SUCCESS' | 'FAIL';
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
  attempt: number;
}

/** One row of a daily statement (amounts in fen, times `yyyy-MM-dd HH:mm:ss` Asia/Shanghai). */
export interface StatementRow {
  type: 'PAYMENT' | 'REFUND';
  orderId: number;
  outTradeNo: string;
  refundId: number | null;
  outRefundNo: string | null;
  channelType: string | null;
  providerTradeNo: string | null;
  amount: number;
  time: string;
}

export interface Statement {
  /** The verified CSV as received. */
  csv: string;
  rows: StatementRow[];
  totals: { paymentCount: number; paymentAmount: number; refundCount: number; refundAmount: number; netAmount: number };
}

/** `POST /transfers`: pay out to an Alipay account or a WeChat user (the app's transfers must be enabled). */
export interface TransferRequest {
  /** Your transfer number, unique per app: 1-64 of `[A-Za-z0-9_-|*.]`. The same request again returns the same transfer. */
  outBizNo: string;
  channelType: ChannelType;
  /** fen */
  amount: number;
  payeeType: 'ALIPAY_LOGON_ID' | 'ALIPAY_USER_ID' | 'WX_OPENID';
  payeeAccount: string;
  /** The payee's real name: Alipay checks it against the account. */
  payeeName?: string;
  remark: string;
  notifyUrl?: string;
}

export type TransferStatus = 'PENDING_APPROVAL' | 'PROCESSING' | 'WAIT_USER_CONFIRM' | 'SUCCESS' | 'FAIL' | 'CANCELLED';

/** `data` of `POST /transfers` and `GET /transfers/{outBizNo}`. */
export interface TransferData {
  transferId: number;
  outBizNo: string;
  channelType: ChannelType;
  amount: number;
  payeeType: string;
  payeeAccount: string;
  status: TransferStatus;
  transferTime: string | null;
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
  /** While WAIT_USER_CONFIRM (WeChat): what the payee's client passes to WeChat to confirm, e.g. {mchId, appId, package}. */
  confirm: Record<string, string> | null;
}

/** The JSON body of a transfer-result notification (same signature, schedule and acknowledgement). */
export interface TransferNotification {
  eventId: string;
  eventType: 'TRANSFER_RESULT';
  appId: string;
  transferId: number;
  outBizNo: string;
  channelType: ChannelType;
  amount: number;
  payeeType: string;
  payeeAccount: string;
  transferTime: string | null;
  resultCode: 'SUCCESS' | 'FAIL' | 'CANCELLED';
  resultErrorCode: string | null;
  resultErrorMsg: string | null;
  attempt: number;
}

/** Every notification the cashier desk sends; narrow on `eventType`. */
export type CashierDeskNotification = PaymentNotification | RefundNotification | TransferNotification;

// ───────────────────────────── errors ─────────────────────────────

/** The cashier desk answered with an error envelope (`code !== 1000`). */
export class CashierDeskError extends Error {
  override readonly name = 'CashierDeskError';
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly httpStatus: number,
  ) {
    super(`cashier desk error ${code}: ${msg} (HTTP ${httpStatus})`);
  }
}

export type SignatureFailureReason = VerifyFailureReason | 'REPLAYED_NONCE' | 'BAD_ORDER_SIGNATURE';

/** A message from the cashier desk (response, notification, order block) failed Signature v1 checks. */
export class SignatureVerificationError extends Error {
  override readonly name = 'SignatureVerificationError';
  constructor(
    readonly reason: SignatureFailureReason,
    readonly httpStatus?: number,
  ) {
    super(`signature verification failed: ${reason}`);
  }
}

/** The cashier desk answered something that is not a valid envelope / notification. */
export class CashierDeskProtocolError extends Error {
  override readonly name = 'CashierDeskProtocolError';
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** The request did not complete (connection error, timeout, redirect). Safe to retry: orders are idempotent per outTradeNo. */
export class CashierDeskNetworkError extends Error {
  override readonly name = 'CashierDeskNetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// ───────────────────────────── SDK ─────────────────────────────

export interface PaySdkOptions {
  /** Gateway base URL, e.g. `http://127.0.0.1:8080/api/cashier-desk`. */
  gateway: string;
  appId: string | number;
  appKey: string;
  /** Default `HMAC-SHA256`. */
  signType?: SignType;
  /** Per request, default 10000. */
  timeoutMs?: number;
  /** Custom fetch (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Default notify URL: sent with every order that has none, and its path is what
   * {@link PaySdk.verifyNotification} verifies against when no `path` option is given.
   */
  notifyUrl?: string;
  /** Other keys accepted when verifying notifications while a key rotation is in progress. */
  rotationKeys?: string[];
  /** Remembers notification nonces (default: a {@link MemoryNonceStore}; use a shared store with several instances). */
  nonceStore?: NonceStore;
  /** Clock in epoch ms (tests). */
  now?: () => number;
}

export interface VerifyNotificationOptions {
  /**
   * The pathWithQuery the cashier desk signed: the path (and query) of the notify URL, e.g.
   * `/pay/notify` or the full notify URL. Default: the path of the SDK's `notifyUrl`; one of the two
   * is required.
   */
  path?: string;
  /** Default: the SDK's nonce store. */
  nonceStore?: NonceStore;
  /** Clock in epoch ms (default: the SDK's). */
  now?: number;
}

export interface NotificationHandlerOptions extends VerifyNotificationOptions {
  /** Largest accepted body, default 1 MiB. */
  maxBodyBytes?: number;
  /** Called with errors thrown by `onNotification` or unexpected failures (for logging). */
  onError?: (err: unknown) => void;
}

/** Request as seen by {@link PaySdk.notificationHandler}: a Node `IncomingMessage`, optionally with Express extras. */
type NotifyRequest = IncomingMessage & { originalUrl?: string; body?: unknown; rawBody?: unknown };

class BodyTooLargeError extends Error {}
class RawBodyUnavailableError extends Error {}

function toPathWithQuery(pathOrUrl: string): string {
  if (/^https?:\/\//i.test(pathOrUrl)) {
    const u = new URL(pathOrUrl);
    return u.pathname + u.search;
  }
  return pathOrUrl;
}

function requireText(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The merchant SDK.
 *
 * ```ts
 * const sdk = new PaySdk({ gateway: 'https://pay.example.com/api/cashier-desk', appId: '10123', appKey: process.env.APP_KEY! });
 * const order = await sdk.unifiedOrder({ amount: 100, goodsDesc: '会员', orderTitle: '月卡', outTradeNo: 'A1', thirdPartyUser: 'u1' });
 * const url = await sdk.getPaymentListUrl(order);   // send the browser here
 * ```
 */
export class PaySdk {
  readonly gateway: string;
  readonly appId: string;
  readonly signType: SignType;
  readonly timeoutMs: number;
  private readonly appKey: string;
  private readonly fetchImpl: typeof fetch;
  private readonly notifyUrl?: string;
  private readonly rotationKeys: string[];
  private readonly nonceStore: NonceStore;
  private readonly responseNonces: MemoryNonceStore;
  private readonly clock: () => number;

  constructor(opts: PaySdkOptions) {
    const gateway = requireText('gateway', opts.gateway).replace(/\/+$/, '');
    const parsed = new URL(gateway); // throws on an invalid URL
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('gateway must be an http(s) URL');
    if (parsed.search || parsed.hash) throw new TypeError('gateway must not have a query or fragment');
    this.gateway = gateway;
    this.appId = requireText('appId', typeof opts.appId === 'number' ? String(opts.appId) : opts.appId);
    this.appKey = requireText('appKey', opts.appKey);
    this.signType = opts.signType ?? DEFAULT_SIGN_TYPE;
    if (!isSignType(this.signType)) throw new TypeError(`unsupported signType: ${String(this.signType)}`);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new TypeError('timeoutMs must be > 0');
    const f = opts.fetch ?? (globalThis.fetch as typeof fetch | undefined);
    if (!f) throw new TypeError('no fetch available: use Node ≥ 18 or pass opts.fetch');
    this.fetchImpl = f;
    this.notifyUrl = opts.notifyUrl;
    this.rotationKeys = (opts.rotationKeys ?? []).filter((k) => typeof k === 'string' && k.length > 0);
    this.clock = opts.now ?? Date.now;
    this.nonceStore = opts.nonceStore ?? new MemoryNonceStore({ now: this.clock });
    this.responseNonces = new MemoryNonceStore({ now: this.clock });
  }

  /**
   * 下单: `POST /unified/orders`. Idempotent per `outTradeNo` (the same request returns the same order
   * and token; a different amount/content for the same `outTradeNo` is error 4090), so it is safe to
   * retry after a {@link CashierDeskNetworkError}. Verifies the response signature and the order's
   * `signature` block.
   *
   * @throws TypeError on invalid input (e.g. `amount` not a positive safe integer of fen)
   * @throws {@link CashierDeskError} on an error envelope; {@link SignatureVerificationError} on a bad signature
   */
  async unifiedOrder(req: UnifiedOrderRequest): Promise<UnifiedOrderData> {
    if (!isObject(req)) throw new TypeError('request must be an object');
    if (typeof req.amount !== 'number' || !Number.isSafeInteger(req.amount) || req.amount <= 0) {
      throw new TypeError('amount must be a positive safe integer (fen, 分)');
    }
    const body: Record<string, unknown> = {
      amount: req.amount,
      goodsDesc: requireText('goodsDesc', req.goodsDesc),
      orderTitle: requireText('orderTitle', req.orderTitle),
      outTradeNo: requireText('outTradeNo', req.outTradeNo),
      thirdPartyUser: requireText('thirdPartyUser', req.thirdPartyUser),
    };
    const notifyUrl = req.notifyUrl ?? this.notifyUrl;
    if (notifyUrl !== undefined) body.notifyUrl = requireText('notifyUrl', notifyUrl);
    if (req.returnUrl !== undefined) body.returnUrl = requireText('returnUrl', req.returnUrl);
    if (req.expireSeconds !== undefined) {
      if (!Number.isSafeInteger(req.expireSeconds) || req.expireSeconds <= 0) throw new TypeError('expireSeconds must be a positive integer');
      body.expireSeconds = req.expireSeconds;
    }
    const data = await this.call<UnifiedOrderData>('POST', '/unified/orders', body);
    if (!isObject(data) || typeof data.token !== 'string' || !Array.isArray(data.channels)) {
      throw new CashierDeskProtocolError('unified order response has no token/channels');
    }
    if (!this.verifyOrderSignature(data) || data.signature.outTradeNo !== req.outTradeNo) {
      throw new SignatureVerificationError('BAD_ORDER_SIGNATURE');
    }
    return data;
  }

  /**
   * 选择支付方式: `POST /payment/list {token, channelIds}` → the cashier page URL to send the consumer to.
   * The list must hold at most one channel per channelType. Default `channelIds`: for each channelType,
   * the channel with the lowest `sort` (then lowest `id`) among `order.channels`.
   */
  async getPaymentListUrl(order: UnifiedOrderData, channelIds?: number[]): Promise<string> {
    if (!isObject(order) || typeof order.token !== 'string') throw new TypeError('order must be a unified order response');
    const ids = channelIds ?? PaySdk.defaultChannelIds(order.channels ?? []);
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isSafeInteger(id))) {
      throw new TypeError('channelIds must be a non-empty array of integers');
    }
    const data = await this.call<PaymentListData>('POST', '/payment/list', { token: order.token, channelIds: ids });
    if (!isObject(data) || typeof data.url !== 'string') throw new CashierDeskProtocolError('payment list response has no url');
    return data.url;
  }

  /** The default channel choice of {@link getPaymentListUrl}: the first channel of each channelType by `sort`, as `channelId`s. */
  static defaultChannelIds(channels: readonly Channel[]): number[] {
    const best = new Map<string, Channel>();
    for (const c of channels) {
      const cur = best.get(c.channelType);
      if (!cur || c.sort < cur.sort || (c.sort === cur.sort && c.id < cur.id)) best.set(c.channelType, c);
    }
    return [...best.values()].map((c) => c.channelId);
  }

  /** 查询支付结果: `GET /out-trade-no/query-pay-result/{outTradeNo}`. */
  async queryOrder(outTradeNo: string): Promise<QueryPayResultData> {
    requireText('outTradeNo', outTradeNo);
    if (outTradeNo === '.' || outTradeNo === '..') throw new TypeError('outTradeNo cannot be "." or ".."');
    const data = await this.call<QueryPayResultData>('GET', `/out-trade-no/query-pay-result/${encodeURIComponent(outTradeNo)}`);
    if (!isObject(data) || typeof data.resultCode !== 'string') throw new CashierDeskProtocolError('query response has no resultCode');
    return data;
  }

  /**
   * 退款: `POST /refunds`. Partial and repeated refunds are allowed up to the paid amount; the answer is
   * usually PROCESSING, the result arrives as a REFUND_RESULT notification (or query it with {@link queryRefund}).
   * @throws {@link CashierDeskError} 4090 for an unpaid / FINISH order, an amount above what is refundable, or
   *   an outRefundNo already used for a different request; 4040 for an unknown order.
   */
  async refund(req: RefundRequest): Promise<RefundData> {
    requireText('outTradeNo', req.outTradeNo);
    requireText('outRefundNo', req.outRefundNo);
    if (!Number.isSafeInteger(req.amount) || req.amount < 1) throw new TypeError('amount must be a positive integer number of fen');
    const data = await this.call<RefundData>('POST', '/refunds', req);
    if (!isObject(data) || typeof data.refundId !== 'number') throw new CashierDeskProtocolError('refund response has no refundId');
    return data;
  }

  /**
   * 转账: `POST /transfers`. Above the app's approval threshold the answer is PENDING_APPROVAL; WeChat transfers
   * wait for the payee (WAIT_USER_CONFIRM, with `confirm` for the payee's client); the result arrives as a
   * TRANSFER_RESULT notification. @throws {@link CashierDeskError} 4030 when transfers are off for the app,
   * 4090 above the per-transfer maximum or the daily limit, or for an outBizNo used with other content.
   */
  async transfer(req: TransferRequest): Promise<TransferData> {
    requireText('outBizNo', req.outBizNo);
    if (!Number.isSafeInteger(req.amount) || req.amount < 1) throw new TypeError('amount must be a positive integer number of fen');
    const data = await this.call<TransferData>('POST', '/transfers', req);
    if (!isObject(data) || typeof data.transferId !== 'number') throw new CashierDeskProtocolError('transfer response has no transferId');
    return data;
  }

  /** 转账查询: `GET /transfers/{outBizNo}`. */
  async queryTransfer(outBizNo: string): Promise<TransferData> {
    requireText('outBizNo', outBizNo);
    if (outBizNo === '.' || outBizNo === '..') throw new TypeError('outBizNo cannot be "." or ".."');
    return this.call<TransferData>('GET', `/transfers/${encodeURIComponent(outBizNo)}`);
  }

  /** 退款查询: `GET /refunds/{outRefundNo}`. */
  async queryRefund(outRefundNo: string): Promise<RefundQueryData> {
    requireText('outRefundNo', outRefundNo);
    if (outRefundNo === '.' || outRefundNo === '..') throw new TypeError('outRefundNo cannot be "." or ".."');
    const data = await this.call<RefundQueryData>('GET', `/refunds/${encodeURIComponent(outRefundNo)}`);
    if (!isObject(data) || typeof data.status !== 'string') throw new CashierDeskProtocolError('refund query response has no status');
    return data;
  }

  /**
   * 对账单: `GET /bills/{yyyy-MM-dd}`, the app's payments and refunds of one finished day (Asia/Shanghai). The CSV
   * is verified (RESPONSE signature over its exact bytes) before it is parsed; `csv` is those bytes as text.
   * @throws {@link CashierDeskError} 4000 for a malformed date, 4040 for a day that is not over yet.
   */
  async downloadBill(day: string): Promise<Statement> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new TypeError('day must be yyyy-MM-dd');
    const { res, raw, pathWithQuery } = await this.send('GET', `/bills/${day}`, undefined, 'text/csv, application/json');
    if (!/^text\/csv/i.test(res.headers.get('content-type') ?? '')) {
      const envelope = this.envelopeOf('GET', pathWithQuery, res, raw);
      throw envelope.code === SUCCESS_CODE ? new CashierDeskProtocolError('statement answer is not CSV', res.status) : new CashierDeskError(envelope.code, envelope.msg, res.status);
    }
    await this.verifyResponseOf(res, raw, pathWithQuery);
    return parseStatement(raw.toString('utf8'));
  }

  /**
   * Checks the `signature` block of a unified-order response (ORDER string, this SDK's appId, key and
   * sign type). Does not check the block's age. The merchant back end may hand the block to its front end
   * as proof that the token came from the cashier desk.
   */
  verifyOrderSignature(order: UnifiedOrderData): boolean {
    if (!isObject(order) || typeof order.token !== 'string' || order.token.length === 0) return false;
    return verifyOrder({
      block: order.signature,
      token: order.token,
      keys: [this.appKey],
      signType: this.signType,
      expectedAppId: this.appId,
    });
  }

  /**
   * Verifies the RESPONSE signature of a cashier-desk response (for callers using their own HTTP client):
   * `pathWithQuery` of the request, the response headers and exact raw body. Does not track nonces.
   */
  verifyResponse(input: { pathWithQuery: string; headers: HeadersLike; body: Buffer | string; now?: number }): VerifyResult {
    return verifySignedHeaders({
      kind: 'response',
      pathWithQuery: input.pathWithQuery,
      headers: input.headers,
      body: input.body,
      keys: [this.appKey],
      now: input.now ?? this.clock(),
      expectedAppId: this.appId,
    });
  }

  /**
   * Verifies a payment-result notification and returns its JSON: signature over
   * `POST\n{path}\nappId\ntimestamp\nnonce\n{rawBody}` with this app's key (or a rotation key), the
   * ±300 s timestamp window, the app id, and that the nonce was not seen before (nonce store). The nonce
   * is claimed only after the signature verified.
   *
   * `path` (option, or the path of the SDK's `notifyUrl`) must be the path+query of the notify URL the
   * cashier desk POSTs to — not a path rewritten by a proxy. `rawBody` must be the exact bytes received
   * (do not re-serialize parsed JSON).
   *
   * @throws {@link SignatureVerificationError} (reason: MISSING_HEADER, BAD_SIGNATURE, STALE_TIMESTAMP, REPLAYED_NONCE, …)
   * @throws {@link CashierDeskProtocolError} when the verified body is not a notification of this app
   */
  async verifyNotification(headers: HeadersLike, rawBody: Buffer | string, opts: VerifyNotificationOptions = {}): Promise<CashierDeskNotification> {
    const path = opts.path ?? this.notifyUrl;
    if (path === undefined) throw new TypeError('verifyNotification needs opts.path (the notify URL path) or the notifyUrl SDK option');
    const result = await verifySignedMessage({
      kind: 'request',
      method: 'POST',
      pathWithQuery: toPathWithQuery(path),
      headers,
      body: rawBody,
      keys: [this.appKey, ...this.rotationKeys],
      now: opts.now ?? this.clock(),
      expectedAppId: this.appId,
      nonceStore: opts.nonceStore ?? this.nonceStore,
    });
    if (!result.ok) throw new SignatureVerificationError(result.reason);
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'));
    } catch {
      throw new CashierDeskProtocolError('notification body is not JSON');
    }
    // Payment results predate eventType on some deployments; refund and transfer results always name themselves.
    if (!isObject(parsed)) throw new CashierDeskProtocolError('notification body is not a payment, refund or transfer result');
    const eventType = parsed.eventType ?? 'PAYMENT_RESULT';
    const shaped =
      typeof parsed.resultCode === 'string' &&
      (eventType === 'TRANSFER_RESULT'
        ? typeof parsed.outBizNo === 'string'
        : typeof parsed.outTradeNo === 'string' && (eventType === 'REFUND_RESULT' ? typeof parsed.outRefundNo === 'string' : eventType === 'PAYMENT_RESULT'));
    if (!shaped) throw new CashierDeskProtocolError('notification body is not a payment, refund or transfer result');
    if (parsed.appId !== undefined && String(parsed.appId) !== this.appId) {
      throw new CashierDeskProtocolError('notification is for another app');
    }
    return parsed as unknown as CashierDeskNotification;
  }

  /**
   * A request handler for the notify URL, compatible with Node `http` and Express (no Express import).
   * Reads the raw body from the stream, or uses `req.rawBody` / `req.body` when it is a Buffer or string
   * (e.g. `express.raw({ type: '*\/*' })`); a body already parsed by `express.json()` cannot be verified
   * (answers 500 and reports via `onError`). Then {@link verifyNotification} and `onNotification`:
   *
   * - verified and handled → HTTP 200 `{"code":1000,"msg":"操作成功"}`
   * - bad / stale / replayed signature → 401 `{"code":4010,…}`; malformed notification → 400 `{"code":4000,…}`
   * - `onNotification` throws → 500 `{"code":5000,…}`, so the cashier desk retries later
   *
   * Default `path`: the path the request arrived at (`req.originalUrl ?? req.url`); pass `opts.path`
   * when a proxy rewrites it. Make `onNotification` idempotent (deduplicate on `eventId`/`outTradeNo`).
   */
  notificationHandler(
    onNotification: (notification: CashierDeskNotification) => Promise<void> | void,
    opts: NotificationHandlerOptions = {},
  ): (req: IncomingMessage, res: ServerResponse) => void {
    const maxBytes = opts.maxBodyBytes ?? 1024 * 1024;
    const report = (err: unknown): void => {
      try {
        opts.onError?.(err);
      } catch {
        /* a logging hook must not break the answer */
      }
    };
    const handle = async (req: NotifyRequest, res: ServerResponse): Promise<void> => {
      const path = opts.path ?? req.originalUrl ?? req.url ?? '/';
      const answer = (status: number, code: number, msg: string): void => this.answer(res, path, status, code, msg);
      if ((req.method ?? '').toUpperCase() !== 'POST') return answer(405, 4000, '仅支持 POST');
      let raw: Buffer;
      try {
        raw = await readRawBody(req, maxBytes);
      } catch (err) {
        if (err instanceof BodyTooLargeError) return answer(413, 4130, '请求体过大');
        report(err);
        return answer(500, 5000, '无法读取原始请求体');
      }
      let notification: CashierDeskNotification;
      try {
        notification = await this.verifyNotification(req.headers, raw, { ...opts, path });
      } catch (err) {
        if (err instanceof SignatureVerificationError) return answer(401, 4010, `签名验证失败: ${err.reason}`);
        if (err instanceof CashierDeskProtocolError) return answer(400, 4000, '通知格式错误');
        report(err);
        return answer(500, 5000, '商户系统内部错误');
      }
      try {
        await onNotification(notification);
      } catch (err) {
        report(err);
        return answer(500, 5000, '商户处理失败');
      }
      answer(200, SUCCESS_CODE, SUCCESS_MSG);
    };
    return (req, res) => {
      handle(req as NotifyRequest, res).catch((err: unknown) => {
        report(err);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        }
      });
    };
  }

  /** Writes `{code,msg}` as JSON, signed with a RESPONSE signature over the notify path (the cashier desk may ignore it). */
  private answer(res: ServerResponse, path: string, status: number, code: number, msg: string): void {
    if (res.headersSent) return;
    const body = Buffer.from(JSON.stringify({ code, msg }), 'utf8');
    let signed: Record<string, string> = {};
    try {
      signed = signResponseHeaders({ pathWithQuery: path, appId: this.appId, appKey: this.appKey, signType: this.signType, body, now: this.clock() });
    } catch {
      /* an unusual path cannot be signed; the answer stays unsigned */
    }
    res.statusCode = status;
    for (const [k, v] of Object.entries(signed)) res.setHeader(k, v);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', body.length);
    res.end(body);
  }

  /** Signs and sends one request; returns `data` of a verified success envelope. */
  /** Signs and sends one request; returns `data` of a verified success envelope. */
  private async call<T>(method: 'GET' | 'POST', path: string, payload?: unknown): Promise<T> {
    const { res, raw, pathWithQuery } = await this.send(method, path, payload, 'application/json');
    const envelope = this.envelopeOf(method, pathWithQuery, res, raw);
    if (envelope.code !== SUCCESS_CODE) throw new CashierDeskError(envelope.code, envelope.msg, res.status);
    await this.verifyResponseOf(res, raw, pathWithQuery);
    return envelope.data as T;
  }

  private async send(method: 'GET' | 'POST', path: string, payload: unknown, accept: string): Promise<{ res: Response; raw: Buffer; pathWithQuery: string }> {
    const url = new URL(this.gateway + path);
    const pathWithQuery = url.pathname + url.search; // exactly what goes on the wire
    const body = method === 'GET' ? undefined : Buffer.from(JSON.stringify(payload), 'utf8');
    const headers: Record<string, string> = {
      ...signRequestHeaders({ method, pathWithQuery, appId: this.appId, appKey: this.appKey, signType: this.signType, body, now: this.clock() }),
      accept,
    };
    if (body) headers['content-type'] = 'application/json; charset=utf-8';
    try {
      const res = await this.fetchImpl(url, {
        method,
        headers,
        body: body ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : undefined,
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { res, raw: Buffer.from(await res.arrayBuffer()), pathWithQuery };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new CashierDeskNetworkError(
        timedOut ? `${method} ${pathWithQuery} timed out after ${this.timeoutMs} ms` : `${method} ${pathWithQuery} failed: ${String((err as Error)?.message ?? err)}`,
        { cause: err },
      );
    }
  }

  private envelopeOf(method: string, pathWithQuery: string, res: Response, raw: Buffer): ResponseEnvelope {
    let envelope: unknown;
    try {
      envelope = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new CashierDeskProtocolError(`${method} ${pathWithQuery}: response is not JSON (HTTP ${res.status})`, res.status);
    }
    if (!isObject(envelope) || typeof envelope.code !== 'number' || typeof envelope.msg !== 'string') {
      throw new CashierDeskProtocolError(`${method} ${pathWithQuery}: response is not a {code,msg} envelope (HTTP ${res.status})`, res.status);
    }
    return envelope as unknown as ResponseEnvelope;
  }

  /** The RESPONSE signature over the exact bytes, and a nonce never seen before. */
  private async verifyResponseOf(res: Response, raw: Buffer, pathWithQuery: string): Promise<void> {
    const now = this.clock();
    const verified = verifySignedHeaders({
      kind: 'response',
      pathWithQuery,
      headers: res.headers,
      body: raw,
      keys: [this.appKey],
      now,
      expectedAppId: this.appId,
    });
    if (!verified.ok) throw new SignatureVerificationError(verified.reason, res.status);
    if (!(await this.responseNonces.claim(verified.appId, verified.nonce, new Date(now + NONCE_TTL_MS)))) {
      throw new SignatureVerificationError('REPLAYED_NONCE', res.status);
    }
  }
}

/** The raw body of a notification request: a pre-read Buffer/string, else the stream (bounded). */
function readRawBody(req: NotifyRequest, maxBytes: number): Promise<Buffer> {
  for (const pre of [req.rawBody, req.body]) {
    if (Buffer.isBuffer(pre)) return pre.length > maxBytes ? Promise.reject(new BodyTooLargeError()) : Promise.resolve(pre);
    if (typeof pre === 'string') return Promise.resolve(Buffer.from(pre, 'utf8'));
  }
  // a body parser consumed the stream (body-parser marks `_body`; Express 4 may leave `{}` unparsed, which is fine)
  if (req.readableEnded || (req as { _body?: unknown })._body === true) {
    return Promise.reject(new RawBodyUnavailableError('request body already consumed: mount express.raw() (not express.json()) on the notify route'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (err) {
        req.resume(); // drain the rest so the socket can answer
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      size += buf.length;
      if (size > maxBytes) return finish(new BodyTooLargeError());
      chunks.push(buf);
    };
    const onEnd = (): void => finish(null);
    const onError = (err: Error): void => finish(err);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Splits one CSV line (RFC 4180 quoting; statements never put line breaks inside cells). */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/** Parses a daily statement: the header, one row per payment or refund, then the totals header and row. */
export function parseStatement(csv: string): Statement {
  const lines = csv.split(/\r?\n/).filter((l) => l.length > 0);
  const totalsAt = lines.findIndex((l) => l.startsWith('totalPaymentCount,'));
  if (!lines[0]?.startsWith('type,') || totalsAt < 1 || totalsAt !== lines.length - 2) throw new CashierDeskProtocolError('statement is not in the expected layout');
  const num = (v: string) => (v === '' ? null : Number(v));
  const rows = lines.slice(1, totalsAt).map((l): StatementRow => {
    const c = csvCells(l);
    if (c[0] !== 'PAYMENT' && c[0] !== 'REFUND') throw new CashierDeskProtocolError(`statement row of unknown type ${c[0]}`);
    return { type: c[0], orderId: Number(c[1]), outTradeNo: c[2], refundId: num(c[3]), outRefundNo: c[4] || null, channelType: c[5] || null, providerTradeNo: c[6] || null, amount: Number(c[7]), time: c[8] };
  });
  const t = csvCells(lines[totalsAt + 1]).map(Number);
  return { csv, rows, totals: { paymentCount: t[0], paymentAmount: t[1], refundCount: t[2], refundAmount: t[3], netAmount: t[4] } };
}
