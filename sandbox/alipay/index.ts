/**
 * Protocol-faithful local Alipay (OpenAPI v2, RSA2 public-key mode) for development and integration tests.
 *
 * Browser/app side: wap.pay cashier page (GET/POST /gateway.do), QR "scan" page (/qr/<code>), app pay
 * (/__sim/app-pay with the sdkExec order string), buyer pay/cancel buttons (/cashier/<token>/…).
 * Server side: POST /gateway.do with alipay.trade.precreate / query / close, verifying the app's signature and
 * signing every answer with the sandbox's own "Alipay" key. Outbound: real signed trade_status_sync
 * notifications with retries. Control API: /__sim/* (loopback only, JSON) and the typed handle.
 *
 * Deliberately modelled traps of the real gateway: a precreate trade does not exist until the QR is scanned
 * (query/close → ACQ.TRADE_NOT_EXIST); empty parameter values are dropped before verifying the signature;
 * responses escape `/`; notifications need the exact body `success`.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fenToYuanString, MAX_AMOUNT_FEN, MIN_AMOUNT_FEN, yuanStringToFen } from '../../domain/money';
import type { ChannelCredentials } from '../../providers/types';
import type { NotifyMode, SandboxHandle } from '../types';
import { errorPage, payPage, resultPage } from './pages';
import * as wire from './protocol';

// ---------------------------------------------------------------------------------------------------------
// public types

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

export type SimFaultKind = 'http502' | 'badSignature' | 'drop';
export interface SimFault {
  /** http502: answer HTTP 502 without processing; badSignature: process, sign wrong bytes; drop: destroy the socket. */
  kind: SimFaultKind;
  /** How many matching gateway calls are affected (default 1). */
  count?: number;
  /** Only calls of this API method (e.g. 'alipay.trade.query'); default any server API call. */
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
}

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
  injectFault(fault: SimFault): void;
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

// ---------------------------------------------------------------------------------------------------------
// internals

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000, 32000, 64000];
const DEFAULT_NOTIFY_TIMEOUT_MS = 5000;
/** Alipay refuses requests whose timestamp is too far from its clock (roughly ±15 minutes). */
const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOGGED_DELIVERIES = 5000;
const SWEEP_INTERVAL_MS = 1000;
const SUPPORTED_API = new Set(['alipay.trade.precreate', 'alipay.trade.query', 'alipay.trade.close']);

interface TradeRecord extends SimTrade {
  payToken: string;
  qrToken?: string;
}

interface NotifyJob {
  id: string;
  notifyId: string;
  appId: string;
  outTradeNo: string;
  tradeStatus: string;
  url: string;
  body: string;
  attempts: number;
  duplicateAfterSuccess: boolean;
  tamperedBody?: string;
}

interface PersistedState {
  version: 1;
  alipayPrivateKey: string;
  alipayPublicKey: string;
  merchants: SimMerchant[];
  trades: TradeRecord[];
  deliveries: SimNotificationDelivery[];
  jobs: NotifyJob[];
  seq: number;
}

type ApiPayload = Record<string, string>;

/** An Alipay-style failure: gateway code + sub_code. Thrown by the trade logic, rendered per channel. */
class AlipayFailure extends Error {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly subCode: string,
    readonly subMsg: string,
    readonly httpStatus = 400,
  ) {
    super(`${subCode}: ${subMsg}`);
  }
  payload(): ApiPayload {
    return { code: this.code, msg: this.msg, sub_code: this.subCode, sub_msg: this.subMsg };
  }
}

const missing = (sub: string, m: string) => new AlipayFailure('40001', 'Missing Required Arguments', sub, m);
const invalid = (sub: string, m: string) => new AlipayFailure('40002', 'Invalid Arguments', sub, m);
const business = (sub: string, m: string, httpStatus = 409) => new AlipayFailure('40004', 'Business Failed', sub, m, httpStatus);

/** Control-API error (not an Alipay protocol answer). */
class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function tradeKey(appId: string, outTradeNo: string): string {
  return `${appId}\u0000${outTradeNo}`;
}

function publicView(t: TradeRecord): SimTrade {
  const { payToken: _p, qrToken: _q, ...view } = t;
  void _p;
  void _q;
  return structuredClone(view);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimError(413, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const sendHtml = (res: http.ServerResponse, status: number, html: string) => send(res, status, 'text/html; charset=utf-8', html);
const sendJson = (res: http.ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

function bizString(biz: Record<string, unknown>, key: string): string | undefined {
  const v = biz[key];
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

// ---------------------------------------------------------------------------------------------------------

export async function startAlipaySandbox(opts: AlipaySandboxOptions = {}): Promise<AlipaySandboxHandle> {
  const retryDelays = opts.notifyRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxAttempts = retryDelays.length + 1;
  const notifyTimeoutMs = opts.notifyTimeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  const maxSkewMs = opts.maxTimestampSkewMs ?? DEFAULT_MAX_SKEW_MS;

  // ---- state -------------------------------------------------------------------------------------------
  let alipayPrivateKey: string;
  let alipayPublicKey: string;
  const merchants = new Map<string, SimMerchant>();
  const trades = new Map<string, TradeRecord>();
  let deliveries: SimNotificationDelivery[] = [];
  let jobs: NotifyJob[] = [];
  let seq = 0;

  const loaded = opts.stateFile ? loadState(opts.stateFile) : undefined;
  if (loaded) {
    // Reusing the persisted key matters: channel configs stored elsewhere hold its public half.
    alipayPrivateKey = loaded.alipayPrivateKey;
    alipayPublicKey = loaded.alipayPublicKey;
    for (const m of loaded.merchants) merchants.set(m.appId, m);
    for (const t of loaded.trades) trades.set(tradeKey(t.appId, t.outTradeNo), t);
    deliveries = loaded.deliveries;
    jobs = loaded.jobs;
    seq = loaded.seq;
  } else {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    alipayPrivateKey = String(pair.privateKey.export({ type: 'pkcs8', format: 'pem' })).trim();
    alipayPublicKey = String(pair.publicKey.export({ type: 'spki', format: 'pem' })).trim();
  }

  const events = new EventEmitter();
  events.setMaxListeners(0);
  const timers = new Set<NodeJS.Timeout>();
  const inflight = new Set<http.ClientRequest>();
  let faults: Array<Required<Omit<SimFault, 'method'>> & { method?: string }> = [];
  let closed = false;
  let saveTimer: NodeJS.Timeout | undefined;

  function snapshot(): PersistedState {
    return {
      version: 1,
      alipayPrivateKey,
      alipayPublicKey,
      merchants: [...merchants.values()],
      trades: [...trades.values()],
      deliveries: deliveries.slice(-MAX_LOGGED_DELIVERIES),
      jobs,
      seq,
    };
  }

  function saveNow(): void {
    if (!opts.stateFile) return;
    if (saveTimer) {
      clearTimeout(saveTimer);
      saveTimer = undefined;
    }
    fs.mkdirSync(path.dirname(opts.stateFile), { recursive: true });
    // Write-then-rename so a crash mid-write never leaves a truncated state file behind.
    const tmp = `${opts.stateFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(snapshot()), { mode: 0o600 });
    fs.renameSync(tmp, opts.stateFile);
  }

  function save(): void {
    if (!opts.stateFile || saveTimer || closed) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      try {
        saveNow();
      } catch (err) {
        console.error(`[alipay-sandbox] cannot write state file: ${(err as Error).message}`);
      }
    }, 25);
  }

  // ---- server ------------------------------------------------------------------------------------------
  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof SimError) sendJson(res, err.status, { error: err.message });
      else {
        console.error('[alipay-sandbox] internal error', err);
        sendJson(res, 500, { error: 'internal sandbox error' });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const localUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const baseUrl = (opts.publicUrl ?? localUrl).replace(/\/+$/, '');

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', localUrl);
    const method = req.method ?? 'GET';
    const p = url.pathname;

    if (p === '/gateway.do') {
      const body = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      return handleGateway(req, res, url, body);
    }
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/qr\/([A-Za-z0-9_-]+)$/.exec(p))) return handleScanPage(res, m[1]);
    if (method === 'GET' && (m = /^\/cashier\/([A-Za-z0-9_-]+)$/.exec(p))) return handleCashierPage(res, m[1]);
    if (method === 'POST' && (m = /^\/cashier\/([A-Za-z0-9_-]+)\/(pay|cancel)$/.exec(p))) {
      await readBody(req);
      return handleCashierAction(res, m[1], m[2] as 'pay' | 'cancel');
    }
    if (p.startsWith('/__sim/')) {
      // The control API can pay any trade: never reachable from anywhere but this machine.
      if (!isLoopback(req.socket.remoteAddress)) throw new SimError(403, 'control API is loopback only');
      const body = method === 'POST' || method === 'DELETE' ? await readBody(req) : Buffer.alloc(0);
      return handleControl(res, method, url, body);
    }
    sendJson(res, 404, { error: `no route ${method} ${p}` });
  }

  // ---- authentication of signed requests (server API, wap.pay URL, app order string) --------------------
  function authenticate(params: Record<string, string>, checkSkew: boolean): SimMerchant {
    if (!params.app_id) throw missing('isv.missing-app-id', '缺少AppID参数');
    const merchant = merchants.get(params.app_id);
    if (!merchant) throw invalid('isv.invalid-app-id', '无效的AppID参数');
    if (params.format && params.format.toUpperCase() !== 'JSON') throw invalid('isv.invalid-format', '无效的数据格式');
    if ((params.charset ?? '').toLowerCase() !== 'utf-8') throw invalid('isv.invalid-charset', '字符集错误');
    if (!params.version) throw missing('isv.missing-version', '缺少版本参数');
    if (params.version !== '1.0') throw invalid('isv.invalid-parameter', '版本号错误');
    if (!params.sign_type) throw missing('isv.missing-signature-type', '缺少签名类型参数');
    if (params.sign_type !== 'RSA2') throw invalid('isv.invalid-signature-type', '无效的签名类型参数');
    if (!params.timestamp) throw missing('isv.missing-timestamp', '缺少时间戳参数');
    const ts = wire.parseShanghaiTime(params.timestamp);
    if (!ts) throw invalid('isv.invalid-timestamp', '非法的时间戳参数');
    // Alipay reads timestamp as Beijing time: a client formatting it in UTC is 8 h off and gets refused.
    if (checkSkew && Math.abs(ts.getTime() - Date.now()) > maxSkewMs) {
      throw invalid('isv.invalid-timestamp', '非法的时间戳参数（与支付宝服务器时间相差过大）');
    }
    if (!params.sign) throw missing('isv.missing-signature', '缺少签名参数');
    const content = wire.requestSignContent(params);
    if (!wire.rsa2Verify(content, params.sign, merchant.appPublicKey)) {
      throw invalid('isv.invalid-signature', `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content}`);
    }
    return merchant;
  }

  function parseBiz(params: Record<string, string>): Record<string, unknown> {
    if (!params.biz_content) throw missing('isv.missing-parameter', '缺少必选参数 biz_content');
    try {
      const v: unknown = JSON.parse(params.biz_content);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw invalid('isv.invalid-parameter', 'biz_content 不是合法的 JSON 对象');
  }

  // ---- trade logic -------------------------------------------------------------------------------------
  function isExpired(t: TradeRecord, now = Date.now()): boolean {
    const exp = wire.parseShanghaiTime(t.timeExpire);
    return !!exp && exp.getTime() <= now;
  }

  /** Lazily applies the merchant's time_expire: an unpaid trade past it closes (and notifies, like Alipay). */
  function expireIfDue(t: TradeRecord): void {
    if (t.status === 'WAIT_BUYER_PAY' && isExpired(t)) {
      t.status = 'TRADE_CLOSED';
      t.gmtClose = wire.shanghaiTime();
      enqueueNotification(t, {});
      save();
    }
  }

  function openTrade(
    merchant: SimMerchant,
    params: Record<string, string>,
    biz: Record<string, unknown>,
    productCode: SimProductCode,
    createNow: boolean,
  ): TradeRecord {
    const outTradeNo = bizString(biz, 'out_trade_no');
    if (!outTradeNo) throw missing('isv.missing-parameter', '缺少必选参数 out_trade_no');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(outTradeNo)) throw business('ACQ.INVALID_PARAMETER', 'out_trade_no 格式错误', 400);
    const subject = bizString(biz, 'subject');
    if (!subject) throw missing('isv.missing-parameter', '缺少必选参数 subject');
    if ([...subject].length > 256) throw business('ACQ.INVALID_PARAMETER', 'subject 超长', 400);
    const amountText = bizString(biz, 'total_amount');
    if (!amountText) throw missing('isv.missing-parameter', '缺少必选参数 total_amount');
    let fen: number;
    try {
      fen = yuanStringToFen(amountText);
    } catch {
      throw business('ACQ.INVALID_PARAMETER', `total_amount 格式错误：${amountText}`, 400);
    }
    if (fen < MIN_AMOUNT_FEN) throw business('ACQ.INVALID_PARAMETER', 'total_amount 必须大于 0', 400);
    if (fen > MAX_AMOUNT_FEN) throw business('ACQ.TOTAL_FEE_EXCEED', '订单金额超过限额', 400);
    const timeExpire = bizString(biz, 'time_expire');
    if (timeExpire && !wire.parseShanghaiTime(timeExpire)) throw business('ACQ.INVALID_PARAMETER', `time_expire 格式错误：${timeExpire}`, 400);

    const key = tradeKey(merchant.appId, outTradeNo);
    const existing = trades.get(key);
    if (existing) {
      expireIfDue(existing);
      if (existing.status === 'TRADE_SUCCESS' || existing.status === 'TRADE_FINISHED') throw business('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
      if (existing.status === 'TRADE_CLOSED') throw business('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
      // Same out_trade_no, different content: Alipay refuses rather than silently repricing the trade.
      if (existing.totalAmountFen !== fen || existing.subject !== subject) throw business('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
      if (params.notify_url) existing.notifyUrl = params.notify_url;
      if (params.return_url) existing.returnUrl = params.return_url;
      if (timeExpire) existing.timeExpire = timeExpire;
      existing.productCode = productCode;
      if (productCode === 'FACE_TO_FACE_PAYMENT' && !existing.qrToken) {
        existing.qrToken = wire.newToken();
        existing.qrCode = `${baseUrl}/qr/${existing.qrToken}`;
      }
      if (createNow && existing.status === 'NOT_SCANNED') markCreated(existing);
      save();
      return existing;
    }

    const payToken = wire.newToken();
    const t: TradeRecord = {
      appId: merchant.appId,
      outTradeNo,
      tradeNo: wire.newTradeNo(),
      productCode,
      status: 'NOT_SCANNED',
      totalAmountFen: fen,
      totalAmount: fenToYuanString(fen),
      subject,
      body: bizString(biz, 'body'),
      notifyUrl: params.notify_url || undefined,
      returnUrl: params.return_url || undefined,
      quitUrl: bizString(biz, 'quit_url'),
      timeExpire,
      payToken,
      payUrl: `${baseUrl}/cashier/${payToken}`,
      failedPayments: 0,
    };
    if (productCode === 'FACE_TO_FACE_PAYMENT') {
      t.qrToken = wire.newToken();
      t.qrCode = `${baseUrl}/qr/${t.qrToken}`;
    }
    if (createNow) markCreated(t);
    trades.set(key, t);
    save();
    return t;
  }

  /** The moment the trade exists at Alipay (wap page opened, QR scanned, app order submitted). */
  function markCreated(t: TradeRecord): void {
    if (isExpired(t)) throw business('ACQ.TRADE_HAS_CLOSE', '交易已经关闭（已超过 time_expire）');
    t.status = 'WAIT_BUYER_PAY';
    t.gmtCreate = wire.shanghaiTime();
    t.buyerId = wire.newPartnerId();
    t.buyerLogonId = `138****${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  }

  function findTrade(outTradeNo: string, appId?: string): TradeRecord {
    if (appId) {
      const t = trades.get(tradeKey(appId, outTradeNo));
      if (!t) throw new SimError(404, `no trade ${outTradeNo} for app ${appId}`);
      return t;
    }
    const found = [...trades.values()].filter((t) => t.outTradeNo === outTradeNo);
    if (found.length === 0) throw new SimError(404, `no trade ${outTradeNo}`);
    if (found.length > 1) throw new SimError(409, `out_trade_no ${outTradeNo} is used by several apps; pass appId`);
    return found[0];
  }

  function buyerPay(t: TradeRecord, o: SimTransitionOptions): void {
    expireIfDue(t);
    if (t.status === 'NOT_SCANNED') markCreated(t);
    if (t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED') throw business('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    if (t.status === 'TRADE_CLOSED') throw business('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    t.status = 'TRADE_SUCCESS';
    t.gmtPayment = wire.shanghaiTime();
    enqueueNotification(t, o);
    save();
  }

  function buyerFail(t: TradeRecord): void {
    expireIfDue(t);
    if (t.status === 'NOT_SCANNED') markCreated(t);
    if (t.status !== 'WAIT_BUYER_PAY') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    t.failedPayments += 1;
    save();
  }

  function closeUnpaid(t: TradeRecord, o: SimTransitionOptions | undefined): void {
    expireIfDue(t);
    if (t.status === 'NOT_SCANNED') markCreated(t);
    if (t.status !== 'WAIT_BUYER_PAY') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    t.status = 'TRADE_CLOSED';
    t.gmtClose = wire.shanghaiTime();
    if (o) enqueueNotification(t, o);
    save();
  }

  function finishPaid(t: TradeRecord, o: SimTransitionOptions): void {
    if (t.status !== 'TRADE_SUCCESS') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法（只有 TRADE_SUCCESS 可以结束）');
    t.status = 'TRADE_FINISHED';
    t.gmtClose = wire.shanghaiTime();
    enqueueNotification(t, o);
    save();
  }

  // ---- server API (POST /gateway.do) -----------------------------------------------------------------------
  function apiPrecreate(merchant: SimMerchant, params: Record<string, string>, biz: Record<string, unknown>): ApiPayload {
    // Not created until scanned: query/close in between answer ACQ.TRADE_NOT_EXIST, as the real gateway does.
    const t = openTrade(merchant, params, biz, 'FACE_TO_FACE_PAYMENT', false);
    return { code: '10000', msg: 'Success', out_trade_no: t.outTradeNo, qr_code: t.qrCode ?? '' };
  }

  function lookupForApi(merchant: SimMerchant, biz: Record<string, unknown>): TradeRecord {
    const outTradeNo = bizString(biz, 'out_trade_no');
    const tradeNo = bizString(biz, 'trade_no');
    if (!outTradeNo && !tradeNo) throw missing('isv.missing-parameter', 'out_trade_no 和 trade_no 不能同时为空');
    const t = outTradeNo
      ? trades.get(tradeKey(merchant.appId, outTradeNo))
      : [...trades.values()].find((x) => x.appId === merchant.appId && x.tradeNo === tradeNo);
    if (!t || t.status === 'NOT_SCANNED') throw business('ACQ.TRADE_NOT_EXIST', '交易不存在', 404);
    expireIfDue(t);
    return t;
  }

  function apiQuery(merchant: SimMerchant, biz: Record<string, unknown>): ApiPayload {
    const t = lookupForApi(merchant, biz);
    const out: ApiPayload = {
      code: '10000',
      msg: 'Success',
      trade_no: t.tradeNo,
      out_trade_no: t.outTradeNo,
      buyer_logon_id: t.buyerLogonId ?? '',
      trade_status: t.status,
      total_amount: t.totalAmount,
      buyer_user_id: t.buyerId ?? '',
    };
    if (t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED') {
      Object.assign(out, {
        buyer_pay_amount: t.totalAmount,
        invoice_amount: t.totalAmount,
        receipt_amount: t.totalAmount,
        point_amount: '0.00',
        send_pay_date: t.gmtPayment ?? '',
      });
    } else {
      Object.assign(out, { buyer_pay_amount: '0.00', invoice_amount: '0.00', receipt_amount: '0.00', point_amount: '0.00' });
    }
    for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
    return out;
  }

  function apiClose(merchant: SimMerchant, params: Record<string, string>, biz: Record<string, unknown>): ApiPayload {
    const t = lookupForApi(merchant, biz);
    if (t.status !== 'WAIT_BUYER_PAY') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    // alipay.trade.close takes its own notify_url: only then is a TRADE_CLOSED notification sent.
    if (params.notify_url) t.notifyUrl = params.notify_url;
    closeUnpaid(t, params.notify_url ? {} : undefined);
    return { code: '10000', msg: 'Success', trade_no: t.tradeNo, out_trade_no: t.outTradeNo };
  }

  function takeFault(method: string): SimFault | undefined {
    const i = faults.findIndex((f) => !f.method || f.method === method);
    if (i < 0) return undefined;
    const f = faults[i];
    f.count -= 1;
    if (f.count <= 0) faults.splice(i, 1);
    return f;
  }

  function mergedParams(url: URL, body: Buffer): Record<string, string> {
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (body.length) Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    return params;
  }

  function handleGateway(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): void {
    const params = mergedParams(url, body);
    const apiMethod = params.method ?? '';

    if (apiMethod === 'alipay.trade.wap.pay') return handleWapPay(res, params);
    if (req.method !== 'POST') {
      return sendHtml(res, 400, errorPage('isv.invalid-method', `不支持通过浏览器调用 ${apiMethod || '（缺少 method）'}`));
    }

    const fault = takeFault(apiMethod);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'http502') return sendHtml(res, 502, '<html><body><h1>502 Bad Gateway</h1></body></html>');

    const traceHeaders = { trace_id: wire.newTraceId() };
    const jsonType = 'application/json; charset=utf-8';
    if (!apiMethod) {
      return send(res, 200, jsonType, wire.errorEnvelope(missing('isv.missing-method', '缺少方法名参数').payload()), traceHeaders);
    }
    if (!SUPPORTED_API.has(apiMethod)) {
      return send(res, 200, jsonType, wire.errorEnvelope(invalid('isv.invalid-method', '不存在的方法名').payload()), traceHeaders);
    }

    let payload: ApiPayload;
    try {
      const merchant = authenticate(params, true);
      const biz = parseBiz(params);
      payload =
        apiMethod === 'alipay.trade.precreate'
          ? apiPrecreate(merchant, params, biz)
          : apiMethod === 'alipay.trade.query'
            ? apiQuery(merchant, biz)
            : apiClose(merchant, params, biz);
    } catch (err) {
      if (!(err instanceof AlipayFailure)) throw err;
      payload = err.payload();
    }
    // Like the real gateway: HTTP 200 for business answers, all signed with the Alipay key.
    send(res, 200, jsonType, wire.signedEnvelope(apiMethod, payload, alipayPrivateKey, fault?.kind === 'badSignature'), traceHeaders);
  }

  // ---- browser / app ----------------------------------------------------------------------------------------
  function cashierHtml(t: TradeRecord, notice?: string): { status: number; html: string } {
    expireIfDue(t);
    if (t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED') return { status: 200, html: resultPage('订单已支付', `订单 ${t.outTradeNo} 已支付成功。`) };
    if (t.status === 'TRADE_CLOSED') return { status: 200, html: resultPage('交易已关闭', `订单 ${t.outTradeNo} 已关闭，无法继续付款。`) };
    return {
      status: 200,
      html: payPage({
        subject: t.subject,
        amountYuan: t.totalAmount,
        outTradeNo: t.outTradeNo,
        sellerName: `商户 ${t.appId}`,
        payAction: `/cashier/${t.payToken}/pay`,
        cancelAction: `/cashier/${t.payToken}/cancel`,
        notice,
      }),
    };
  }

  function handleWapPay(res: http.ServerResponse, params: Record<string, string>): void {
    try {
      const merchant = authenticate(params, false);
      const biz = parseBiz(params);
      const product = bizString(biz, 'product_code');
      if (product && product !== 'QUICK_WAP_WAY') throw business('ACQ.INVALID_PARAMETER', `product_code 错误：${product}`, 400);
      const t = openTrade(merchant, params, biz, 'QUICK_WAP_WAY', true);
      const page = cashierHtml(t);
      sendHtml(res, page.status, page.html);
    } catch (err) {
      if (!(err instanceof AlipayFailure)) throw err;
      sendHtml(res, err.httpStatus, errorPage(err.subCode, err.subMsg));
    }
  }

  function byToken(kind: 'pay' | 'qr', token: string): TradeRecord | undefined {
    for (const t of trades.values()) if ((kind === 'pay' ? t.payToken : t.qrToken) === token) return t;
    return undefined;
  }

  function handleScanPage(res: http.ServerResponse, token: string): void {
    const t = byToken('qr', token);
    if (!t) return sendHtml(res, 404, errorPage('QR_CODE_INVALID', '二维码无效'));
    try {
      if (t.status === 'NOT_SCANNED') markCreated(t);
      save();
    } catch (err) {
      if (!(err instanceof AlipayFailure)) throw err;
      return sendHtml(res, 410, errorPage('QR_CODE_EXPIRED', '二维码已过期'));
    }
    const page = cashierHtml(t);
    sendHtml(res, page.status, page.html);
  }

  function handleCashierPage(res: http.ServerResponse, token: string): void {
    const t = byToken('pay', token);
    if (!t || t.status === 'NOT_SCANNED') return sendHtml(res, 404, errorPage('TRADE_NOT_EXIST', '交易不存在'));
    const page = cashierHtml(t);
    sendHtml(res, page.status, page.html);
  }

  function handleCashierAction(res: http.ServerResponse, token: string, action: 'pay' | 'cancel'): void {
    const t = byToken('pay', token);
    if (!t || t.status === 'NOT_SCANNED') return sendHtml(res, 404, errorPage('TRADE_NOT_EXIST', '交易不存在'));
    if (action === 'cancel') {
      // The trade stays payable (WAIT_BUYER_PAY) until the merchant closes it or it times out.
      if (t.quitUrl) return send(res, 302, 'text/plain; charset=utf-8', '', { location: t.quitUrl });
      return sendHtml(res, 200, resultPage('已取消支付', '您已取消付款，可返回商户重新发起支付。'));
    }
    try {
      buyerPay(t, {});
    } catch (err) {
      if (!(err instanceof AlipayFailure)) throw err;
      const page = cashierHtml(t, err.subMsg);
      return sendHtml(res, 409, page.html);
    }
    const target = t.productCode === 'QUICK_WAP_WAY' && t.returnUrl ? syncReturnUrl(t) : undefined;
    if (target) return send(res, 302, 'text/plain; charset=utf-8', '', { location: target });
    sendHtml(res, 200, resultPage('支付成功', `已向 商户 ${t.appId} 付款 ¥${t.totalAmount}`));
  }

  /** return_url + the signed sync-return parameters (same signing rule as notifications). */
  function syncReturnUrl(t: TradeRecord): string | undefined {
    let target: URL;
    try {
      target = new URL(t.returnUrl ?? '');
    } catch {
      return undefined;
    }
    const merchant = merchants.get(t.appId);
    const params: Record<string, string> = {
      charset: 'utf-8',
      out_trade_no: t.outTradeNo,
      method: 'alipay.trade.wap.pay.return',
      total_amount: t.totalAmount,
      trade_no: t.tradeNo,
      auth_app_id: t.appId,
      version: '1.0',
      app_id: t.appId,
      sign_type: 'RSA2',
      seller_id: merchant?.sellerId ?? '',
      timestamp: wire.shanghaiTime(),
    };
    params.sign = wire.rsa2Sign(wire.notifySignContent(params), alipayPrivateKey);
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    return target.toString();
  }

  function appPayFromOrderString(orderString: string): TradeRecord {
    const params = Object.fromEntries(new URLSearchParams(orderString.trim()));
    if (params.method !== 'alipay.trade.app.pay') throw invalid('isv.invalid-method', `不是 alipay.trade.app.pay 订单串：${params.method ?? '（缺少 method）'}`);
    const merchant = authenticate(params, false);
    const biz = parseBiz(params);
    const product = bizString(biz, 'product_code');
    if (product && product !== 'QUICK_MSECURITY_PAY') throw business('ACQ.INVALID_PARAMETER', `product_code 错误：${product}`, 400);
    return openTrade(merchant, params, biz, 'QUICK_MSECURITY_PAY', true);
  }

  // ---- notifications ---------------------------------------------------------------------------------------
  function notificationParams(t: TradeRecord, amountOverrideFen?: number): Record<string, string> {
    const amount = amountOverrideFen !== undefined ? fenToYuanString(amountOverrideFen) : t.totalAmount;
    const paid = t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED';
    const merchant = merchants.get(t.appId);
    const candidate: Record<string, string | undefined> = {
      notify_time: wire.shanghaiTime(),
      notify_type: 'trade_status_sync',
      notify_id: wire.newNotifyId(),
      app_id: t.appId,
      auth_app_id: t.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: t.tradeNo,
      out_trade_no: t.outTradeNo,
      buyer_id: t.buyerId,
      buyer_logon_id: t.buyerLogonId,
      seller_id: merchant?.sellerId,
      trade_status: t.status,
      total_amount: amount,
      receipt_amount: paid ? amount : undefined,
      invoice_amount: paid ? amount : undefined,
      buyer_pay_amount: paid ? amount : undefined,
      point_amount: paid ? '0.00' : undefined,
      subject: t.subject,
      body: t.body,
      gmt_create: t.gmtCreate,
      gmt_payment: t.gmtPayment,
      gmt_close: t.gmtClose,
      fund_bill_list: paid ? JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]) : undefined,
    };
    // Alipay omits absent fields entirely; an empty value would also change the sign string.
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(candidate)) if (v !== undefined && v !== '') params[k] = v;
    params.sign = wire.rsa2Sign(wire.notifySignContent(params), alipayPrivateKey);
    return params;
  }

  function record(d: Omit<SimNotificationDelivery, 'seq' | 'params'>): SimNotificationDelivery {
    const entry: SimNotificationDelivery = { ...d, seq: ++seq, params: Object.fromEntries(new URLSearchParams(d.body)) };
    deliveries.push(entry);
    if (deliveries.length > MAX_LOGGED_DELIVERIES * 2) deliveries = deliveries.slice(-MAX_LOGGED_DELIVERIES);
    save();
    events.emit('delivery', entry);
    events.emit('change');
    return entry;
  }

  function enqueueNotification(t: TradeRecord, o: SimTransitionOptions): void {
    // No notify_url in the request → Alipay has nowhere to send and sends nothing.
    if (!t.notifyUrl) return;
    const params = notificationParams(t, o.amountOverrideFen);
    const body = new URLSearchParams(params).toString();
    const mode: NotifyMode = o.notify ?? 'normal';
    const base = { notifyId: params.notify_id, appId: t.appId, outTradeNo: t.outTradeNo, tradeStatus: t.status, url: t.notifyUrl };
    if (mode === 'lost') {
      record({ ...base, kind: 'lost', attempt: 0, sentAt: new Date().toISOString(), body, accepted: false });
      return;
    }
    let tamperedBody: string | undefined;
    if (mode === 'tampered') {
      // Altered after signing, as a man in the middle would: the amount changes, the signature does not.
      const forged = { ...params, total_amount: params.total_amount === '0.01' ? '0.02' : '0.01' };
      tamperedBody = new URLSearchParams(forged).toString();
    }
    const job: NotifyJob = {
      id: wire.newToken(),
      ...base,
      body,
      attempts: 0,
      duplicateAfterSuccess: mode === 'duplicate',
      tamperedBody,
    };
    jobs.push(job);
    save();
    schedule(job, mode === 'delayed' ? (o.delayMs ?? 2000) : 0);
  }

  function schedule(job: NotifyJob, delayMs: number): void {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void runAttempt(job);
    }, delayMs);
    timers.add(timer);
  }

  async function runAttempt(job: NotifyJob): Promise<void> {
    if (closed) return;
    if (job.tamperedBody) {
      const forged = job.tamperedBody;
      job.tamperedBody = undefined; // once; the genuine notification follows right after
      await deliver(job, forged, 'tampered', 0);
      if (closed) return;
    }
    job.attempts += 1;
    const d = await deliver(job, job.body, 'genuine', job.attempts);
    if (closed) return;
    if (d.accepted) {
      if (job.duplicateAfterSuccess) await deliver(job, job.body, 'duplicate', job.attempts);
      finishJob(job);
    } else if (job.attempts >= maxAttempts) {
      finishJob(job);
    } else {
      // Same notify_id and body on every retry, so merchants can deduplicate.
      schedule(job, retryDelays[job.attempts - 1]);
      save();
    }
  }

  function finishJob(job: NotifyJob): void {
    jobs = jobs.filter((j) => j !== job);
    save();
    events.emit('change');
  }

  function deliver(job: NotifyJob, body: string, kind: SimDeliveryKind, attempt: number): Promise<SimNotificationDelivery> {
    const started = Date.now();
    const sentAt = new Date(started).toISOString();
    const base = { notifyId: job.notifyId, appId: job.appId, outTradeNo: job.outTradeNo, tradeStatus: job.tradeStatus, kind, attempt, url: job.url, sentAt, body };
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(job.url);
      } catch {
        resolve(record({ ...base, accepted: false, error: 'invalid notify_url' }));
        return;
      }
      const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!client) {
        resolve(record({ ...base, accepted: false, error: `unsupported notify_url scheme ${target.protocol}` }));
        return;
      }
      const payload = Buffer.from(body, 'utf8');
      let settled = false;
      const finish = (result: Pick<SimNotificationDelivery, 'accepted' | 'httpStatus' | 'responseBody' | 'error'>) => {
        if (settled) return;
        settled = true;
        inflight.delete(req);
        resolve(record({ ...base, ...result, latencyMs: Date.now() - started }));
      };
      const req = client.request(
        target,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'content-length': payload.length,
            'user-agent': 'Mozilla/4.0 (alipay-sandbox)',
          },
          timeout: notifyTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < 4096) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8').slice(0, 4096);
            // Exactly "success": not "SUCCESS", not "success\n", not a JSON {"code":"success"}.
            finish({ accepted: res.statusCode === 200 && text === 'success', httpStatus: res.statusCode, responseBody: text });
          });
          res.on('error', (err) => finish({ accepted: false, httpStatus: res.statusCode, error: err.message }));
        },
      );
      inflight.add(req);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${notifyTimeoutMs} ms`)));
      req.on('error', (err) => finish({ accepted: false, error: err.message }));
      req.end(payload);
    });
  }

  // Resume notifications that were pending when the previous process stopped.
  for (const job of jobs) schedule(job, retryDelays[0] ?? 1000);

  // Close unpaid trades whose time_expire passed, even when nobody looks at them.
  const sweeper = setInterval(() => {
    for (const t of trades.values()) expireIfDue(t);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  // ---- control API ----------------------------------------------------------------------------------------
  async function createMerchant(o: { mchId?: string; providerAppId?: string; appPublicKey?: string } = {}): Promise<ChannelCredentials> {
    const appId = o.providerAppId ?? o.mchId ?? wire.newAppId();
    let appPublicKey: string;
    let appPrivateKey: string | undefined;
    if (o.appPublicKey) {
      try {
        appPublicKey = String(createPublicKey(o.appPublicKey).export({ type: 'spki', format: 'pem' })).trim();
      } catch {
        throw new SimError(400, 'appPublicKey is not a PEM public key');
      }
    } else {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      appPublicKey = String(pair.publicKey.export({ type: 'spki', format: 'pem' })).trim();
      // PKCS#1, what Alipay's key tool hands to non-Java developers.
      appPrivateKey = String(pair.privateKey.export({ type: 'pkcs1', format: 'pem' })).trim();
    }
    const previous = merchants.get(appId);
    merchants.set(appId, {
      appId,
      sellerId: previous?.sellerId ?? wire.newPartnerId(),
      appPublicKey,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
    });
    saveNow();
    const secrets: Record<string, string> = { alipayPublicKey };
    if (appPrivateKey) secrets.appPrivateKey = appPrivateKey;
    return { channelType: 'ali-pay', mchId: appId, providerAppId: appId, gatewayUrl: baseUrl, secrets };
  }

  function injectFault(f: SimFault): void {
    if (!['http502', 'badSignature', 'drop'].includes(f.kind)) throw new SimError(400, `unknown fault kind ${String(f.kind)}`);
    const count = f.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new SimError(400, 'count must be a positive integer');
    faults.push({ kind: f.kind, count, method: f.method });
  }

  function notifications(filter: { outTradeNo?: string; appId?: string } = {}): SimNotificationDelivery[] {
    return structuredClone(
      deliveries.filter((d) => (!filter.outTradeNo || d.outTradeNo === filter.outTradeNo) && (!filter.appId || d.appId === filter.appId)),
    );
  }

  function transitionOptions(v: Record<string, unknown>): SimTransitionOptions {
    const o: SimTransitionOptions = {};
    const appId = v.appId ?? v.app_id;
    if (typeof appId === 'string') o.appId = appId;
    if (v.notify !== undefined) {
      if (!['normal', 'lost', 'duplicate', 'tampered', 'delayed'].includes(String(v.notify))) throw new SimError(400, `unknown notify mode ${String(v.notify)}`);
      o.notify = v.notify as NotifyMode;
    }
    if (v.delayMs !== undefined) {
      if (typeof v.delayMs !== 'number' || v.delayMs < 0) throw new SimError(400, 'delayMs must be a non-negative number');
      o.delayMs = v.delayMs;
    }
    if (v.amountOverrideFen !== undefined) {
      if (typeof v.amountOverrideFen !== 'number' || !Number.isSafeInteger(v.amountOverrideFen) || v.amountOverrideFen < 0) {
        throw new SimError(400, 'amountOverrideFen must be a non-negative integer');
      }
      o.amountOverrideFen = v.amountOverrideFen;
    }
    return o;
  }

  /** Runs a buyer-side transition, turning protocol failures into control-API errors. */
  function control(outTradeNo: string, o: SimTransitionOptions | undefined, fn: (t: TradeRecord) => void): SimTrade {
    const t = findTrade(outTradeNo, o?.appId);
    try {
      fn(t);
    } catch (err) {
      if (err instanceof AlipayFailure) throw new SimError(409, `${err.subCode}: ${err.subMsg}`);
      throw err;
    }
    return publicView(t);
  }

  const ops = {
    scan: async (no: string, o?: { appId?: string }) =>
      control(no, o, (t) => {
        if (t.status === 'NOT_SCANNED') markCreated(t);
        save();
      }),
    pay: async (no: string, o: SimTransitionOptions = {}) => control(no, o, (t) => buyerPay(t, o)),
    fail: async (no: string, o: SimTransitionOptions = {}) => control(no, o, (t) => buyerFail(t)),
    closeTrade: async (no: string, o: SimTransitionOptions = {}) => control(no, o, (t) => closeUnpaid(t, o)),
    finish: async (no: string, o: SimTransitionOptions = {}) => control(no, o, (t) => finishPaid(t, o)),
    appPay: async (orderString: string) => {
      try {
        return publicView(appPayFromOrderString(orderString));
      } catch (err) {
        if (err instanceof AlipayFailure) throw new SimError(err.httpStatus, `${err.subCode}: ${err.subMsg}`);
        throw err;
      }
    },
  };

  async function handleControl(res: http.ServerResponse, method: string, url: URL, raw: Buffer): Promise<void> {
    const p = url.pathname;
    const json = (): Record<string, unknown> => {
      if (!raw.length) return {};
      try {
        const v: unknown = JSON.parse(raw.toString('utf8'));
        if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        /* below */
      }
      throw new SimError(400, 'body must be a JSON object');
    };
    let m: RegExpExecArray | null;

    if (method === 'POST' && p === '/__sim/merchants') {
      const b = json();
      const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
      return sendJson(res, 201, await createMerchant({ providerAppId: str('appId') ?? str('providerAppId'), mchId: str('mchId'), appPublicKey: str('appPublicKey') }));
    }
    if (method === 'GET' && p === '/__sim/alipay-public-key') return sendJson(res, 200, { alipayPublicKey });
    if (method === 'POST' && p === '/__sim/app-pay') {
      // Body: the sdkExec order string as produced for the app (text/plain or form-urlencoded alike).
      try {
        const t = appPayFromOrderString(raw.toString('utf8'));
        return sendJson(res, 200, { code: '10000', msg: 'Success', trade_no: t.tradeNo, out_trade_no: t.outTradeNo, pay_url: t.payUrl });
      } catch (err) {
        if (err instanceof AlipayFailure) return sendJson(res, err.httpStatus, err.payload());
        throw err;
      }
    }
    if (method === 'GET' && (m = /^\/__sim\/trades\/([^/]+)$/.exec(p))) {
      const appId = url.searchParams.get('app_id') ?? url.searchParams.get('appId') ?? undefined;
      return sendJson(res, 200, publicView(findTrade(decodeURIComponent(m[1]), appId)));
    }
    if (method === 'POST' && (m = /^\/__sim\/trades\/([^/]+)\/(scan|pay|fail|close|finish)$/.exec(p))) {
      const o = transitionOptions({ ...json(), ...(url.searchParams.get('app_id') ? { appId: url.searchParams.get('app_id') } : {}) });
      const no = decodeURIComponent(m[1]);
      const action = m[2];
      const result =
        action === 'scan'
          ? await ops.scan(no, o)
          : action === 'pay'
            ? await ops.pay(no, o)
            : action === 'fail'
              ? await ops.fail(no, o)
              : action === 'close'
                ? await ops.closeTrade(no, o)
                : await ops.finish(no, o);
      return sendJson(res, 200, result);
    }
    if (method === 'POST' && p === '/__sim/faults') {
      const b = json();
      injectFault({ kind: b.kind as SimFaultKind, count: typeof b.count === 'number' ? b.count : undefined, method: typeof b.method === 'string' ? b.method : undefined });
      return sendJson(res, 201, { faults });
    }
    if (method === 'DELETE' && p === '/__sim/faults') {
      faults = [];
      return sendJson(res, 200, { faults });
    }
    if (method === 'GET' && p === '/__sim/notifications') {
      return sendJson(
        res,
        200,
        notifications({ outTradeNo: url.searchParams.get('out_trade_no') ?? undefined, appId: url.searchParams.get('app_id') ?? undefined }),
      );
    }
    throw new SimError(404, `no control route ${method} ${p}`);
  }

  // ---- handle ---------------------------------------------------------------------------------------------
  const handle: AlipaySandboxHandle = {
    url: baseUrl,
    localUrl,
    alipayPublicKey,
    createMerchant,
    merchant: (appId) => {
      const m = merchants.get(appId);
      return m ? { ...m } : undefined;
    },
    trade: (outTradeNo, appId) => {
      try {
        return publicView(findTrade(outTradeNo, appId));
      } catch (err) {
        if (err instanceof SimError && err.status === 404) return undefined;
        throw err;
      }
    },
    trades: () => [...trades.values()].map(publicView),
    scan: ops.scan,
    appPay: ops.appPay,
    pay: ops.pay,
    fail: ops.fail,
    closeTrade: ops.closeTrade,
    finish: ops.finish,
    injectFault,
    clearFaults: () => {
      faults = [];
    },
    notifications,
    waitForNotifications: (predicate, o = {}) => {
      const count = o.count ?? 1;
      const timeoutMs = o.timeoutMs ?? 15000;
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const matched = deliveries.filter(predicate);
          if (matched.length < count) return false;
          cleanup();
          resolve(structuredClone(matched));
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`waitForNotifications: fewer than ${count} matching deliveries within ${timeoutMs} ms (log has ${deliveries.length})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          events.off('delivery', check);
        };
        if (!check()) events.on('delivery', check);
      });
    },
    idle: () =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (jobs.length === 0 && inflight.size === 0) {
            events.off('change', check);
            resolve();
          }
        };
        events.on('change', check);
        check();
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const r of inflight) r.destroy(new Error('sandbox closed'));
      inflight.clear();
      try {
        saveNow();
      } catch (err) {
        console.error(`[alipay-sandbox] cannot write state file: ${(err as Error).message}`);
      }
      events.emit('change');
      // urllib keeps connections alive: without this, close() would wait for idle sockets to time out.
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
  return handle;
}

function loadState(file: string): PersistedState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as PersistedState;
  if (state.version !== 1 || !state.alipayPrivateKey || !state.alipayPublicKey) {
    throw new Error(`unsupported Alipay sandbox state file ${file}`);
  }
  return { ...state, deliveries: state.deliveries ?? [], jobs: state.jobs ?? [], merchants: state.merchants ?? [], trades: state.trades ?? [] };
}
