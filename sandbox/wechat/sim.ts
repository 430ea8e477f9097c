/**
 * WeChat Pay APIv3 behaviour of the sandbox: merchants, request authentication, the transaction API,
 * state transitions and signed, encrypted notifications (AES-256-GCM resource, Wechatpay-* signature headers).
 */
import http from 'node:http';
import https from 'node:https';
import { createHash, randomUUID } from 'node:crypto';
import type { ChannelCredentials } from '../../providers/types';
import { createTestCa, issueCertificate, randomSerialHex } from '../certs';
import type { SandboxChaos } from '../chaos';
import type { NotifyMode } from '../types';
import {
  compactCst,
  encryptResource,
  randomAlnum,
  randomDigits,
  randomNonce,
  rfc3339Cst,
  RFC3339_PATTERN,
  signSha256WithRsa,
  verifySha256WithRsa,
} from './crypto';
import { refundKey, SandboxState, tradeKey, transferKey, type KeyedCertificate, type MerchantRecord, type StoredEvent } from './state';
import type {
  CompleteRefundOptions,
  NotificationAttempt,
  NotificationFilter,
  PayResult,
  RefundCompletion,
  SimRefund,
  SimTrade,
  WechatFault,
  WechatNotifyOptions,
  WechatRefundBehaviour,
  WechatRefundOutcome,
  WechatTradeType,
} from './types';

/** A JSON API answer before signing. `body` undefined → empty body (204). */
export interface ApiAnswer {
  status: number;
  body?: unknown;
}

/** Thrown by control operations; the control API turns it into {error:{code,message}}. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const wxError = (status: number, code: string, message: string): ApiAnswer => ({ status, body: { code, message } });

const SANDBOX_ROOT = { C: 'CN', ST: 'Guangdong', L: 'Shenzhen', O: 'Tenpay.com', OU: 'Tenpay.com CA Center', CN: 'Tenpay.com Root CA (sandbox)' };

export async function createInitialPki(): Promise<{ ca: KeyedCertificate; platform: KeyedCertificate }> {
  const ca = await createTestCa(SANDBOX_ROOT);
  const caKeyed = keyed(ca);
  return { ca: caKeyed, platform: await issuePlatformCertificate(caKeyed) };
}

function keyed(c: { serialNumber: string; certificatePem: string; privateKeyPem: string; notBefore: Date; notAfter: Date }): KeyedCertificate {
  return {
    serial: c.serialNumber,
    certificatePem: c.certificatePem,
    privateKeyPem: c.privateKeyPem,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
  };
}

async function issuePlatformCertificate(ca: KeyedCertificate): Promise<KeyedCertificate> {
  const cert = await issueCertificate({
    subject: { C: 'CN', ST: 'Guangdong', L: 'Shenzhen', O: 'Tenpay.com', OU: 'Tenpay.com CA Center', CN: 'Tenpay.com sign' },
    issuer: ca,
  });
  return keyed(cert);
}

interface AuthInfo {
  mchid: string;
  serial: string;
}

/** Parses `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`. */
export function parseAuthorization(header: string | undefined): Record<string, string> | undefined {
  if (!header) return undefined;
  const m = /^WECHATPAY2-SHA256-RSA2048\s+(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const part of m[1].matchAll(/([a-z_]+)="([^"]*)"/g)) fields[part[1]] = part[2];
  return fields;
}

/** The prepay request fields the sandbox reads; everything is unknown until checked. */
interface PrepayBody {
  appid?: unknown;
  mchid?: unknown;
  description?: unknown;
  out_trade_no?: unknown;
  notify_url?: unknown;
  time_expire?: unknown;
  attach?: unknown;
  amount?: { total?: unknown; currency?: unknown };
  scene_info?: { payer_client_ip?: unknown; h5_info?: { type?: unknown } };
  payer?: { openid?: unknown };
}

/** The refund application fields the sandbox reads; everything is unknown until checked. */
interface RefundBody {
  transaction_id?: unknown;
  out_trade_no?: unknown;
  out_refund_no?: unknown;
  reason?: unknown;
  notify_url?: unknown;
  funds_account?: unknown;
  amount?: { refund?: unknown; total?: unknown; currency?: unknown };
}

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
/** WeChat: 商户退款单号, 1-64 of digits, letters and _-|*@. */
const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
const TRADE_TYPE_BY_PATH: Record<string, WechatTradeType> = { h5: 'MWEB', native: 'NATIVE', app: 'APP', jsapi: 'JSAPI' };
const FAULT_KINDS: WechatFault['kind'][] = ['http500', 'http500AfterProcessing', 'badSignature', 'notEnough'];
const REFUND_OUTCOMES: WechatRefundOutcome[] = ['SUCCESS', 'ABNORMAL', 'CLOSED'];
/** Envelope event_type and summary of each refund notification. */
const REFUND_EVENT: Record<WechatRefundOutcome, { eventType: string; summary: string }> = {
  SUCCESS: { eventType: 'REFUND.SUCCESS', summary: '退款成功' },
  ABNORMAL: { eventType: 'REFUND.ABNORMAL', summary: '退款异常' },
  CLOSED: { eventType: 'REFUND.CLOSED', summary: '退款关闭' },
};

export interface SimOptions {
  notifyRetryDelaysMs: number[];
  notifyTimeoutMs: number;
  /** Initial automatic refund completion delay; null = manual completion only. */
  refundDelayMs: number | null;
  /** Drops a share of payment notifications when a test asks for it. */
  chaos?: SandboxChaos;
}

export class WechatSim {
  private faults: { kind: WechatFault['kind']; count: number; mchid?: string }[] = [];
  private refundBehaviour: WechatRefundBehaviour;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<http.ClientRequest>();
  private pendingDeliveries = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Set once listening; pages and h5_url are built from it. */
  url = '';

  constructor(
    readonly state: SandboxState,
    private readonly opts: SimOptions,
  ) {
    this.refundBehaviour = { autoCompleteAfterMs: opts.refundDelayMs, outcome: 'SUCCESS' };
  }

  // ───────────────────────── merchants ─────────────────────────

  async createMerchant(req: { mchId?: string; providerAppId?: string } = {}): Promise<ChannelCredentials> {
    if (req.mchId !== undefined && !/^\d{6,32}$/.test(req.mchId)) throw new SimError(400, 'PARAM_ERROR', 'mchId must be digits');
    if (req.providerAppId !== undefined && !/^wx[0-9a-zA-Z]{6,32}$/.test(req.providerAppId)) {
      throw new SimError(400, 'PARAM_ERROR', 'providerAppId must look like wx…');
    }
    let merchant = req.mchId ? this.state.merchants.get(req.mchId) : undefined;
    if (!merchant) {
      let mchid = req.mchId;
      while (!mchid || this.state.merchants.has(mchid)) mchid = `19${randomDigits(8)}`;
      merchant = { mchid, name: `沙箱商户${mchid}`, appids: [], apiV3Key: randomAlnum(32), certificates: [] };
    }
    const appid = req.providerAppId ?? merchant.appids[0] ?? `wx${randomAlnum(16).toLowerCase()}`;
    if (!merchant.appids.includes(appid)) merchant.appids.push(appid);

    // Like 商户平台 → API安全 → 申请API证书: a fresh key pair and certificate for the merchant, issued by the CA.
    const cert = await issueCertificate({
      subject: { C: 'CN', ST: 'Guangdong', L: 'Shenzhen', O: '微信商户系统', OU: merchant.name, CN: merchant.mchid },
      issuer: this.state.ca,
    });
    merchant.certificates.push({ serial: cert.serialNumber, certificatePem: cert.certificatePem });
    this.state.merchants.set(merchant.mchid, merchant);
    this.state.save();
    const platform = this.state.signingPlatform;
    return {
      channelType: 'wx-pay',
      mchId: merchant.mchid,
      providerAppId: appid,
      gatewayUrl: this.url,
      secrets: {
        merchantPrivateKey: cert.privateKeyPem,
        merchantCertSerial: cert.serialNumber,
        merchantCertificate: cert.certificatePem,
        apiV3Key: merchant.apiV3Key,
        platformCertificate: platform.certificatePem,
        platformCertSerial: platform.serial,
      },
    };
  }

  /**
   * WeChat's platform certificate update guide (平台证书更新指引, 平滑切换): the new certificate is generated about ten
   * days before the old one expires and is listed by /v3/certificates at once, while answers and notifications are
   * still signed with the old one; only from five days before the old one's expiry does WeChat sign with the new one.
   * So by default the new certificate is only listed (a merchant that downloads periodically, as wechatpay-java does
   * every 60 minutes, has it before it is used); `activate` (or activatePlatformCertificate later) moves signing to
   * it, which is what a merchant sees when a Wechatpay-Serial it has never downloaded arrives.
   */
  async rotatePlatformCertificate(o: { activate?: boolean } = {}): Promise<{ serial: string; signing: boolean }> {
    const signing = this.state.signingPlatform.serial;
    const next = await issuePlatformCertificate(this.state.ca);
    this.state.platforms.push(next);
    this.state.signingSerial = o.activate ? next.serial : signing;
    this.state.save();
    return { serial: next.serial, signing: Boolean(o.activate) };
  }

  /** Moves signing to a listed, unexpired platform certificate (the end of a rotation's overlap). */
  activatePlatformCertificate(serial: string): { serial: string } {
    const p = this.state.platforms.find((x) => x.serial.toUpperCase() === serial.toUpperCase());
    if (!p || Date.parse(p.notAfter) <= Date.now()) throw new SimError(404, 'NOT_FOUND', `no valid platform certificate ${serial}`);
    this.state.signingSerial = p.serial;
    this.state.save();
    return { serial: p.serial };
  }

  // ───────────────────────── faults ─────────────────────────

  injectFault(f: WechatFault): void {
    if (!FAULT_KINDS.includes(f.kind)) throw new SimError(400, 'PARAM_ERROR', `kind must be one of ${FAULT_KINDS.join(', ')}`);
    const count = f.count ?? 1;
    if (!Number.isSafeInteger(count) || count < 1) throw new SimError(400, 'PARAM_ERROR', 'count must be a positive integer');
    this.faults.push({ kind: f.kind, count, mchid: f.mchid });
  }

  clearFaults(): void {
    this.faults = [];
  }

  listFaults(): WechatFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /**
   * Consumes one matching fault for an authenticated API call of `mchid`. 'notEnough' only matches refund
   * applications: a query or certificate download in between must not use it up.
   */
  takeFault(mchid: string, call: { refundApplication: boolean; unsignedAnswer?: boolean }): WechatFault['kind'] | undefined {
    // 'badSignature' skips calls whose success answer is unsigned anyway (the bill file download): it would
    // be used up without any effect.
    const f = this.faults.find(
      (x) =>
        (!x.mchid || x.mchid === mchid) &&
        (x.kind !== 'notEnough' || call.refundApplication) &&
        (x.kind !== 'badSignature' || !call.unsignedAnswer),
    );
    if (!f) return undefined;
    f.count -= 1;
    if (f.count <= 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f.kind;
  }

  // ───────────────────────── authentication ─────────────────────────

  /**
   * Verifies the APIv3 Authorization header over `${METHOD}\n${path+query}\n${ts}\n${nonce}\n${body}\n`.
   * The merchant key is found by serial_no case-insensitively (the SDK sends lower-case hex).
   */
  authenticate(method: string, pathWithQuery: string, rawBody: string, header: string | undefined): AuthInfo | ApiAnswer {
    const fields = parseAuthorization(header);
    if (!fields) return wxError(401, 'SIGN_ERROR', 'Authorization 缺失或认证类型不是 WECHATPAY2-SHA256-RSA2048');
    const { mchid, nonce_str: nonce, timestamp, serial_no: serial, signature } = fields;
    if (!mchid || !nonce || !timestamp || !serial || !signature) return wxError(401, 'SIGN_ERROR', 'Authorization 参数不完整');
    const merchant = this.state.merchants.get(mchid);
    const cert = merchant?.certificates.find((c) => c.serial.toUpperCase() === serial.toUpperCase());
    if (!merchant || !cert) return wxError(401, 'SIGN_ERROR', '商户证书序列号有误。请使用签名私钥匹配的证书序列号');
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) {
      return wxError(401, 'SIGN_ERROR', '请求时间戳与系统时间相差超过5分钟');
    }
    const message = `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${rawBody}\n`;
    if (!verifySha256WithRsa(message, signature, this.state.publicKeyOfCert(cert.certificatePem))) {
      return wxError(401, 'SIGN_ERROR', '签名错误，请检查后再试');
    }
    return { mchid, serial: cert.serial };
  }

  // ───────────────────────── /v3 API ─────────────────────────

  certificatesAnswer(mchid: string): ApiAnswer {
    const merchant = this.state.merchants.get(mchid)!;
    const now = Date.now();
    const data = this.state.platforms
      .filter((p) => Date.parse(p.notAfter) > now)
      .map((p) => ({
        serial_no: p.serial,
        effective_time: rfc3339Cst(new Date(p.notBefore)),
        expire_time: rfc3339Cst(new Date(p.notAfter)),
        encrypt_certificate: encryptResource(p.certificatePem, merchant.apiV3Key, 'certificate'),
      }));
    return { status: 200, body: { data } };
  }

  createTransaction(kind: string, mchid: string, rawBody: string): ApiAnswer {
    const tradeType = TRADE_TYPE_BY_PATH[kind];
    let body: PrepayBody;
    try {
      body = JSON.parse(rawBody) as PrepayBody;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return wxError(400, 'PARAM_ERROR', '请求体不是合法的JSON');
    }
    const merchant = this.state.merchants.get(mchid)!;
    if (body.mchid !== mchid) return wxError(400, 'PARAM_ERROR', 'mchid与请求签名中的商户号不一致');
    const { appid, description, out_trade_no: outTradeNo, notify_url: notifyUrl, time_expire: timeExpire } = body;
    if (typeof appid !== 'string' || !appid) return wxError(400, 'PARAM_ERROR', '缺少参数appid');
    if (!merchant.appids.includes(appid)) return wxError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
    if (typeof description !== 'string' || !description || Array.from(description).length > 127) {
      return wxError(400, 'PARAM_ERROR', 'description 长度须为1-127');
    }
    if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo)) {
      return wxError(400, 'PARAM_ERROR', 'out_trade_no 须为6-32位数字、大小写字母或_-|*');
    }
    if (typeof notifyUrl !== 'string') return wxError(400, 'PARAM_ERROR', '缺少参数notify_url');
    const notifyError = checkNotifyUrl(notifyUrl);
    if (notifyError) return wxError(400, 'PARAM_ERROR', notifyError);
    const total = body.amount?.total;
    // amount.total is integer fen: 0.01 yuan sent as 0.01 (or "1") is the classic integration bug.
    if (typeof total !== 'number' || !Number.isSafeInteger(total) || total <= 0) {
      return wxError(400, 'PARAM_ERROR', '输入源"/body/amount/total"映射到值字段"总金额"字符串规则校验失败，值必须为正整数（单位：分）');
    }
    const currency = body.amount?.currency ?? 'CNY';
    if (currency !== 'CNY') return wxError(400, 'PARAM_ERROR', '仅支持 CNY');
    if (timeExpire !== undefined && (typeof timeExpire !== 'string' || !RFC3339_PATTERN.test(timeExpire))) {
      return wxError(400, 'PARAM_ERROR', 'time_expire 须为 RFC3339 格式，例如 2018-06-08T10:34:56+08:00');
    }
    const clientIp = body.scene_info?.payer_client_ip;
    if (tradeType === 'MWEB' && (typeof clientIp !== 'string' || typeof body.scene_info?.h5_info?.type !== 'string')) {
      return wxError(400, 'PARAM_ERROR', 'H5支付须提供 scene_info.payer_client_ip 和 scene_info.h5_info.type');
    }
    const openid = body.payer?.openid;
    if (tradeType === 'JSAPI' && (typeof openid !== 'string' || !openid)) {
      return wxError(400, 'PARAM_ERROR', 'JSAPI支付须提供 payer.openid');
    }
    const attach = typeof body.attach === 'string' ? body.attach : undefined;

    const digest = createHash('sha256')
      .update(JSON.stringify([tradeType, appid, description, total, currency, notifyUrl, openid ?? null, attach ?? null]))
      .digest('hex');
    const key = tradeKey(mchid, outTradeNo);
    const existing = this.state.trades.get(key);
    if (existing) {
      if (existing.trade_state === 'SUCCESS' || existing.trade_state === 'REFUND') return wxError(400, 'ORDERPAID', '该订单已支付');
      if (existing.trade_state === 'CLOSED' || existing.trade_state === 'REVOKED') return wxError(400, 'ORDER_CLOSED', '订单已关闭');
      if (existing.request_digest !== digest) return wxError(400, 'INVALID_REQUEST', '商户订单号重复，且请求参数与原订单不一致');
      // Same parameters again: WeChat hands back the same prepay session.
      return { status: 200, body: this.prepayBody(existing) };
    }
    const now = new Date();
    const trade: SimTrade = {
      mchid,
      appid,
      out_trade_no: outTradeNo,
      trade_type: tradeType,
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
      description,
      amount_total: total,
      currency,
      notify_url: notifyUrl,
      time_expire: typeof timeExpire === 'string' ? timeExpire : undefined,
      attach,
      payer_client_ip: typeof clientIp === 'string' ? clientIp : undefined,
      payer_openid: tradeType === 'JSAPI' && typeof openid === 'string' ? openid : undefined,
      prepay_id: `wx${compactCst(now)}${randomAlnum(20).toLowerCase()}`,
      code: tradeType === 'NATIVE' ? randomAlnum(10) : undefined,
      created_at: now.toISOString(),
      request_digest: digest,
    };
    this.state.trades.set(key, trade);
    this.state.save();
    return { status: 200, body: this.prepayBody(trade) };
  }

  private prepayBody(t: SimTrade): Record<string, string> {
    switch (t.trade_type) {
      case 'MWEB':
        return { h5_url: `${this.url}/pay/h5/${t.prepay_id}` };
      case 'NATIVE':
        return { code_url: `weixin://wxpay/bizpayurl?pr=${t.code}` };
      default:
        return { prepay_id: t.prepay_id };
    }
  }

  queryAnswer(mchid: string, queryMchid: string | null, by: 'out-trade-no' | 'id', id: string): ApiAnswer {
    if (queryMchid !== mchid) return wxError(400, 'PARAM_ERROR', 'mchid与请求签名中的商户号不一致');
    const trade =
      by === 'out-trade-no'
        ? this.state.trades.get(tradeKey(mchid, id))
        : [...this.state.trades.values()].find((t) => t.mchid === mchid && t.transaction_id === id);
    if (!trade) return wxError(404, 'ORDER_NOT_EXIST', '订单不存在');
    return { status: 200, body: transactionView(trade) };
  }

  closeAnswer(mchid: string, outTradeNo: string, rawBody: string): ApiAnswer {
    let body: { mchid?: unknown };
    try {
      body = JSON.parse(rawBody);
    } catch {
      return wxError(400, 'PARAM_ERROR', '请求体不是合法的JSON');
    }
    if (body?.mchid !== mchid) return wxError(400, 'PARAM_ERROR', 'mchid与请求签名中的商户号不一致');
    const trade = this.state.trades.get(tradeKey(mchid, outTradeNo));
    if (!trade) return wxError(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (trade.trade_state === 'SUCCESS' || trade.trade_state === 'REFUND') return wxError(400, 'ORDERPAID', '订单已支付，不能关闭');
    this.transition(trade, 'CLOSED');
    return { status: 204 };
  }

  // ───────────────────────── refunds (/v3/refund/domestic) ─────────────────────────

  /**
   * 申请退款. Checks in WeChat's order: the request's format (400 PARAM_ERROR), the order (404
   * RESOURCE_NOT_EXISTS), then out_refund_no idempotency (the same number answers the refund it already
   * made, never a second one), then the business rules (400 INVALID_REQUEST).
   */
  createRefund(mchid: string, rawBody: string): ApiAnswer {
    let body: RefundBody;
    try {
      body = JSON.parse(rawBody) as RefundBody;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return wxError(400, 'PARAM_ERROR', '请求体不是合法的JSON');
    }
    const { transaction_id: transactionId, out_trade_no: outTradeNo, out_refund_no: outRefundNo, reason, notify_url: notifyUrl } = body;
    if (typeof outRefundNo !== 'string' || !OUT_REFUND_NO.test(outRefundNo)) {
      return wxError(400, 'PARAM_ERROR', 'out_refund_no 须为1-64位数字、大小写字母或_-|*@');
    }
    if (transactionId === undefined && outTradeNo === undefined) return wxError(400, 'PARAM_ERROR', 'transaction_id 和 out_trade_no 必须二选一');
    if (transactionId !== undefined && (typeof transactionId !== 'string' || !transactionId)) return wxError(400, 'PARAM_ERROR', 'transaction_id 格式错误');
    if (outTradeNo !== undefined && (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo))) {
      return wxError(400, 'PARAM_ERROR', 'out_trade_no 须为6-32位数字、大小写字母或_-|*');
    }
    const refund = body.amount?.refund;
    const total = body.amount?.total;
    // Integer fen, like amount.total of a payment: 0.5 or "50" is the classic integration bug.
    if (typeof refund !== 'number' || !Number.isSafeInteger(refund) || refund < 1) {
      return wxError(400, 'PARAM_ERROR', '输入源"/body/amount/refund"映射到值字段"退款金额"字符串规则校验失败，值必须为正整数（单位：分）');
    }
    if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 1) {
      return wxError(400, 'PARAM_ERROR', '输入源"/body/amount/total"映射到值字段"原订单金额"字符串规则校验失败，值必须为正整数（单位：分）');
    }
    if (body.amount?.currency !== 'CNY') return wxError(400, 'PARAM_ERROR', 'amount.currency 必填，目前只支持人民币：CNY');
    if (reason !== undefined && (typeof reason !== 'string' || Array.from(reason).length > 80)) {
      return wxError(400, 'PARAM_ERROR', 'reason 长度不能超过80个字符');
    }
    if (notifyUrl !== undefined) {
      const notifyError = checkNotifyUrl(notifyUrl);
      if (notifyError) return wxError(400, 'PARAM_ERROR', notifyError);
    }
    if (body.funds_account !== undefined && body.funds_account !== 'AVAILABLE') return wxError(400, 'PARAM_ERROR', 'funds_account 仅支持 AVAILABLE');

    // transaction_id wins when both are given (WeChat's documented priority).
    const trade =
      typeof transactionId === 'string'
        ? [...this.state.trades.values()].find((t) => t.mchid === mchid && t.transaction_id === transactionId)
        : this.state.trades.get(tradeKey(mchid, outTradeNo as string));
    if (!trade) return wxError(404, 'RESOURCE_NOT_EXISTS', '订单不存在');

    const key = refundKey(mchid, outRefundNo);
    const existing = this.state.refunds.get(key);
    if (existing) {
      if (existing.out_trade_no !== trade.out_trade_no) return wxError(400, 'INVALID_REQUEST', '商户退款单号重复，且与原退款单不是同一笔订单');
      if (existing.amount_refund !== refund || existing.amount_total !== total) {
        return wxError(400, 'INVALID_REQUEST', '订单金额或退款金额与之前请求不一致，请核实后再试');
      }
      // A retry (e.g. after a lost answer): the refund as it stands now, not a second one.
      return { status: 200, body: refundView(existing) };
    }

    if ((trade.trade_state !== 'SUCCESS' && trade.trade_state !== 'REFUND') || !trade.transaction_id) {
      return wxError(400, 'INVALID_REQUEST', '订单未支付，不能申请退款');
    }
    if (total !== trade.amount_total) return wxError(400, 'INVALID_REQUEST', '订单金额与原订单金额不一致，请核实后再试');
    // CLOSED refunds gave their amount back; PROCESSING and ABNORMAL ones still hold it (the money has left
    // or is stuck on the way), so they count against what is left to refund.
    const committed = [...this.state.refunds.values()]
      .filter((r) => r.mchid === mchid && r.out_trade_no === trade.out_trade_no && r.status !== 'CLOSED')
      .reduce((sum, r) => sum + r.amount_refund, 0);
    if (committed + refund > trade.amount_total) return wxError(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');

    const record: SimRefund = {
      mchid,
      out_trade_no: trade.out_trade_no,
      transaction_id: trade.transaction_id,
      out_refund_no: outRefundNo,
      refund_id: `50${randomDigits(27)}`,
      reason: typeof reason === 'string' ? reason : undefined,
      notify_url: typeof notifyUrl === 'string' ? notifyUrl : undefined,
      funds_account: 'AVAILABLE',
      amount_refund: refund,
      amount_total: trade.amount_total,
      currency: 'CNY',
      status: 'PROCESSING',
      user_received_account: '支付用户零钱',
      create_time: rfc3339Cst(new Date()),
    };
    const b = this.refundBehaviour;
    if (b.autoCompleteAfterMs !== null) {
      record.pending = { at: new Date(Date.now() + b.autoCompleteAfterMs).toISOString(), status: b.outcome, notify: b.notify };
    }
    this.state.refunds.set(key, record);
    // WeChat moves the trade to REFUND (转入退款) as soon as a refund is accepted.
    this.transition(trade, 'REFUND');
    this.armCompletion(record);
    return { status: 200, body: refundView(record) };
  }

  /** 查询单笔退款（通过商户退款单号）. */
  queryRefundAnswer(mchid: string, outRefundNo: string): ApiAnswer {
    const r = this.state.refunds.get(refundKey(mchid, outRefundNo));
    if (!r) return wxError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    return { status: 200, body: refundView(r) };
  }

  // ───────────────────────── refunds (control side) ─────────────────────────

  listRefunds(filter: { outTradeNo?: string; mchid?: string } = {}): SimRefund[] {
    return [...this.state.refunds.values()]
      .filter((r) => (!filter.outTradeNo || r.out_trade_no === filter.outTradeNo) && (!filter.mchid || r.mchid === filter.mchid))
      .map(snapshotRefund);
  }

  findRefund(outRefundNo: string, mchid?: string): SimRefund | undefined {
    if (mchid) return this.state.refunds.get(refundKey(mchid, outRefundNo));
    const all = [...this.state.refunds.values()].filter((r) => r.out_refund_no === outRefundNo);
    if (all.length > 1) throw new SimError(409, 'AMBIGUOUS', `out_refund_no ${outRefundNo} exists for several merchants: pass mchid`);
    return all[0];
  }

  completeRefund(outRefundNo: string, opts: CompleteRefundOptions = {}): RefundCompletion {
    const refund = this.findRefund(outRefundNo, opts.mchid);
    if (!refund) throw new SimError(404, 'RESOURCE_NOT_EXISTS', `no refund ${outRefundNo}`);
    const status = opts.status ?? 'SUCCESS';
    if (!REFUND_OUTCOMES.includes(status)) throw new SimError(400, 'PARAM_ERROR', `status must be one of ${REFUND_OUTCOMES.join(', ')}`);
    validateNotifyOptions(opts.notify);
    const successAt = pastInstant(opts.successTime, 'successTime');
    if (successAt && status !== 'SUCCESS') throw new SimError(400, 'PARAM_ERROR', 'successTime is only for status SUCCESS');
    if (refund.status !== 'PROCESSING') throw new SimError(409, 'REFUND_STATE_ERROR', `refund ${outRefundNo} is already ${refund.status}`);
    return this.finishRefund(refund, status, opts.notify ?? {}, successAt);
  }

  getRefundBehaviour(): WechatRefundBehaviour {
    return { ...this.refundBehaviour };
  }

  setRefundBehaviour(b: Partial<WechatRefundBehaviour>): WechatRefundBehaviour {
    if (b.autoCompleteAfterMs !== undefined && b.autoCompleteAfterMs !== null && (!Number.isFinite(b.autoCompleteAfterMs) || b.autoCompleteAfterMs < 0)) {
      throw new SimError(400, 'PARAM_ERROR', 'autoCompleteAfterMs must be null or a number >= 0');
    }
    if (b.outcome !== undefined && !REFUND_OUTCOMES.includes(b.outcome)) {
      throw new SimError(400, 'PARAM_ERROR', `outcome must be one of ${REFUND_OUTCOMES.join(', ')}`);
    }
    validateNotifyOptions(b.notify);
    this.refundBehaviour = {
      autoCompleteAfterMs: b.autoCompleteAfterMs !== undefined ? b.autoCompleteAfterMs : this.refundBehaviour.autoCompleteAfterMs,
      outcome: b.outcome ?? this.refundBehaviour.outcome,
      notify: 'notify' in b ? b.notify : this.refundBehaviour.notify,
    };
    return this.getRefundBehaviour();
  }

  /** Re-arms automatic completions that were pending when a persisted sandbox stopped (overdue ones run now). */
  resumePendingRefunds(): void {
    for (const r of this.state.refunds.values()) if (r.status === 'PROCESSING' && r.pending) this.armCompletion(r);
  }

  private armCompletion(refund: SimRefund): void {
    const pending = refund.pending;
    if (!pending) return;
    this.later(Math.max(0, Date.parse(pending.at) - Date.now()), () => {
      // completeRefund() may have got there first; it clears `pending`.
      if (refund.status === 'PROCESSING' && refund.pending === pending) this.finishRefund(refund, pending.status, pending.notify ?? {});
    });
  }

  /** PROCESSING → final state, then the REFUND.* notification (when the refund named a notify_url). */
  private finishRefund(refund: SimRefund, status: WechatRefundOutcome, notify: WechatNotifyOptions, successAt?: Date): RefundCompletion {
    const now = new Date();
    refund.status = status;
    if (status === 'SUCCESS') {
      const at = successAt ?? now;
      refund.success_time = rfc3339Cst(at);
      // A backdated success must not precede the application (the REFUND bill prints both).
      if (Date.parse(refund.create_time) > at.getTime()) refund.create_time = rfc3339Cst(at);
    }
    delete refund.pending;
    this.state.save();
    if (!refund.notify_url) return { refund: snapshotRefund(refund) };
    const { eventType, summary } = REFUND_EVENT[status];
    const event: StoredEvent = {
      id: randomUUID(),
      mchid: refund.mchid,
      outTradeNo: refund.out_trade_no,
      createTime: rfc3339Cst(now),
      refund: { outRefundNo: refund.out_refund_no, eventType, summary, resource: refundNotificationResource(refund) },
    };
    this.state.events.set(event.id, event);
    this.state.save();
    this.deliver(event, notify);
    return { refund: snapshotRefund(refund), eventId: event.id };
  }

  // ───────────────────────── trades (control side) ─────────────────────────

  findTrade(outTradeNo: string, mchid?: string): SimTrade | undefined {
    if (mchid) return this.state.trades.get(tradeKey(mchid, outTradeNo));
    const all = [...this.state.trades.values()].filter((t) => t.out_trade_no === outTradeNo);
    if (all.length > 1) throw new SimError(409, 'AMBIGUOUS', `out_trade_no ${outTradeNo} exists for several merchants: pass mchid`);
    return all[0];
  }

  requireTrade(outTradeNo: string, mchid?: string): SimTrade {
    const t = this.findTrade(outTradeNo, mchid);
    if (!t) throw new SimError(404, 'ORDER_NOT_EXIST', `no trade ${outTradeNo}`);
    return t;
  }

  tradeByPrepayId(prepayId: string): SimTrade | undefined {
    return [...this.state.trades.values()].find((t) => t.prepay_id === prepayId);
  }

  tradeByCode(code: string): SimTrade | undefined {
    return [...this.state.trades.values()].find((t) => t.trade_type === 'NATIVE' && t.code === code);
  }

  listTrades(mchid?: string): SimTrade[] {
    return [...this.state.trades.values()].filter((t) => !mchid || t.mchid === mchid);
  }

  /** Why the buyer cannot pay this trade right now, or undefined. */
  unpayableReason(t: SimTrade): string | undefined {
    if (t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND') return '订单已支付';
    if (t.trade_state === 'CLOSED' || t.trade_state === 'REVOKED') return '订单已关闭';
    if (t.trade_state === 'PAYERROR') return '订单支付失败，请重新下单';
    if (t.time_expire && Date.parse(t.time_expire) < Date.now()) return '订单已过期';
    return undefined;
  }

  pay(outTradeNo: string, opts: { mchid?: string; openid?: string; notify?: WechatNotifyOptions; successTime?: Date | string } = {}): PayResult {
    const trade = this.requireTrade(outTradeNo, opts.mchid);
    const reason = this.unpayableReason(trade);
    if (reason) throw new SimError(409, 'TRADE_STATE_ERROR', reason);
    validateNotifyOptions(opts.notify);
    const now = new Date();
    const paidAt = pastInstant(opts.successTime, 'successTime') ?? now;
    trade.payer_openid = trade.payer_openid ?? opts.openid ?? `o${randomAlnum(27)}`;
    trade.transaction_id = `4200${randomDigits(24)}`;
    trade.success_time = rfc3339Cst(paidAt);
    this.transition(trade, 'SUCCESS');
    const event: StoredEvent = {
      id: randomUUID(),
      mchid: trade.mchid,
      outTradeNo: trade.out_trade_no,
      createTime: rfc3339Cst(now),
      transaction: transactionView(trade),
    };
    this.state.events.set(event.id, event);
    this.state.save();
    this.deliver(event, opts.notify ?? {});
    return { trade, eventId: event.id };
  }

  fail(outTradeNo: string, opts: { mchid?: string; reason?: string } = {}): SimTrade {
    const trade = this.requireTrade(outTradeNo, opts.mchid);
    if (trade.trade_state !== 'NOTPAY' && trade.trade_state !== 'USERPAYING') {
      throw new SimError(409, 'TRADE_STATE_ERROR', `cannot fail a ${trade.trade_state} trade`);
    }
    this.transition(trade, 'PAYERROR', opts.reason);
    return trade;
  }

  close(outTradeNo: string, opts: { mchid?: string } = {}): SimTrade {
    const trade = this.requireTrade(outTradeNo, opts.mchid);
    if (trade.trade_state === 'SUCCESS' || trade.trade_state === 'REFUND') throw new SimError(409, 'ORDERPAID', '订单已支付，不能关闭');
    this.transition(trade, 'CLOSED');
    return trade;
  }

  setUserPaying(outTradeNo: string, opts: { mchid?: string } = {}): SimTrade {
    const trade = this.requireTrade(outTradeNo, opts.mchid);
    if (trade.trade_state !== 'NOTPAY') throw new SimError(409, 'TRADE_STATE_ERROR', `cannot move a ${trade.trade_state} trade to USERPAYING`);
    this.transition(trade, 'USERPAYING');
    return trade;
  }

  private transition(trade: SimTrade, state: SimTrade['trade_state'], desc?: string): void {
    const descs: Record<SimTrade['trade_state'], string> = {
      SUCCESS: '支付成功',
      REFUND: '转入退款',
      NOTPAY: '订单未支付',
      CLOSED: '订单已关闭',
      REVOKED: '已撤销',
      USERPAYING: '用户支付中，需输入密码',
      PAYERROR: '支付失败，请重新下单支付',
    };
    trade.trade_state = state;
    trade.trade_state_desc = desc ?? descs[state];
    this.state.save();
  }

  // ───────────────────────── response signing ─────────────────────────

  /** Wechatpay-* headers for a body, signed with the current platform key (or deliberately broken). */
  signHeaders(body: string, opts: { broken?: boolean; badSerial?: boolean; timestampSkewSeconds?: number } = {}): Record<string, string> {
    const platform = this.state.signingPlatform;
    const timestamp = String(Math.floor(Date.now() / 1000) + (opts.timestampSkewSeconds ?? 0));
    const nonce = randomNonce();
    const message = `${timestamp}\n${nonce}\n${body}\n`;
    const signature = signSha256WithRsa(opts.broken ? `${message}tampered` : message, this.state.privateKey(platform.privateKeyPem));
    return {
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Serial': opts.badSerial ? randomSerialHex() : platform.serial,
      'Wechatpay-Signature': signature,
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
    };
  }

  // ───────────────────────── notifications ─────────────────────────

  resend(eventId: string, notify: WechatNotifyOptions = {}): void {
    const event = this.state.events.get(eventId);
    if (!event) throw new SimError(404, 'NOT_FOUND', `no notification event ${eventId}`);
    validateNotifyOptions(notify);
    this.deliver(event, notify);
  }

  notificationLog(filter: NotificationFilter = {}): NotificationAttempt[] {
    return this.state.notifications.filter(
      (n) =>
        (!filter.outTradeNo || n.outTradeNo === filter.outTradeNo) &&
        (!filter.mchid || n.mchid === filter.mchid) &&
        (!filter.eventId || n.eventId === filter.eventId) &&
        (!filter.outRefundNo || n.outRefundNo === filter.outRefundNo) &&
        (!filter.outBillNo || n.outBillNo === filter.outBillNo),
    );
  }

  whenIdle(): Promise<void> {
    if (this.pendingDeliveries === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Issues a new notification event (stored for resends) and delivers it; for event kinds that live outside this
   * class (商家转账 in transfers.ts). Delivery, retries, modes and the log are the same as for payments.
   */
  publish(event: StoredEvent, notify: WechatNotifyOptions = {}): void {
    validateNotifyOptions(notify);
    this.state.events.set(event.id, event);
    this.state.save();
    this.deliver(event, notify);
  }

  /** Runs `fn` after `ms` unless the sandbox shuts down first (its timers are cleared then). */
  schedule(ms: number, fn: () => void): void {
    this.later(ms, fn);
  }

  /** Where an event goes: the trade's notify_url for payments, the refund's or transfer bill's own otherwise. */
  private notifyUrlOf(event: StoredEvent): string | undefined {
    if (event.refund) return this.state.refunds.get(refundKey(event.mchid, event.refund.outRefundNo))?.notify_url;
    if (event.transfer) return this.state.transferBills.get(transferKey(event.mchid, event.transfer.outBillNo))?.notify_url;
    return this.state.trades.get(tradeKey(event.mchid, event.outTradeNo))?.notify_url;
  }

  private deliver(event: StoredEvent, notify: WechatNotifyOptions): void {
    const url = this.notifyUrlOf(event);
    const merchant = this.state.merchants.get(event.mchid);
    if (!url || !merchant) return;
    let mode: NotifyMode = notify.mode ?? 'normal';
    // Only payment results are dropped: lost payment callbacks are what the desk's provider polling heals.
    if (mode === 'normal' && !event.refund && !event.transfer && this.opts.chaos?.dropCallback()) mode = 'lost';
    const body = buildNotificationBody(event, merchant, notify);
    if (mode === 'lost') {
      // The notification "got lost on the way": the merchant must find out by querying. What would have been sent is
      // kept, so a test can deliver it later (or many times) itself.
      this.state.addNotification({
        ...attemptIdentity(event), attempt: 1, copy: 1, mode,
        url, at: new Date().toISOString(), ok: false, error: 'lost (deliberately not sent)',
        sent: { headers: this.signHeaders(body, { badSerial: notify.badSerial, timestampSkewSeconds: notify.timestampSkewSeconds }), body },
      });
      return;
    }
    const copies = mode === 'duplicate' ? 2 : 1;
    this.pendingDeliveries += 1;
    const runCopy = (copy: number) => {
      this.attempt(event, url, body, notify, mode, copy, 1, () => {
        if (copy < copies) runCopy(copy + 1);
        else this.deliveryDone();
      });
    };
    this.later(mode === 'delayed' ? Math.max(0, notify.delayMs ?? 3000) : 0, () => runCopy(1));
  }

  private deliveryDone(): void {
    this.pendingDeliveries -= 1;
    if (this.pendingDeliveries === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  private attempt(
    event: StoredEvent, url: string, body: string, notify: WechatNotifyOptions, mode: NotifyMode,
    copy: number, attempt: number, done: () => void,
  ): void {
    // Re-signed per attempt (fresh timestamp and nonce), same body and id: like WeChat's retries.
    // 'tampered': the body changes after signing (summary is outside the encrypted resource, so only the
    // signature check can notice).
    const sent = mode === 'tampered' ? body.replace('"summary":"', '"summary":"!') : body;
    const headers = this.signHeaders(body, { badSerial: notify.badSerial, timestampSkewSeconds: notify.timestampSkewSeconds });
    const at = new Date().toISOString();
    this.post(url, sent, headers).then((r) => {
      const ok = r.status === 200 || r.status === 204;
      this.state.addNotification({
        ...attemptIdentity(event), attempt, copy, mode, url, at, ok,
        status: r.status, error: r.error, responseBody: r.body, sent: { headers, body: sent },
      });
      const delays = this.opts.notifyRetryDelaysMs;
      if (ok || attempt > delays.length || this.closed) return done();
      this.later(delays[attempt - 1], () => this.attempt(event, url, body, notify, mode, copy, attempt + 1, done));
    });
  }

  private post(url: string, body: string, headers: Record<string, string>): Promise<{ status?: number; error?: string; body?: string }> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return resolve({ error: 'invalid notify_url' });
      }
      const payload = Buffer.from(body, 'utf8');
      const lib = target.protocol === 'https:' ? https : http;
      const req = lib.request(
        target,
        {
          method: 'POST',
          // No keep-alive: sockets to the merchant must not outlive the sandbox.
          agent: false,
          headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(payload.length), 'User-Agent': 'Mozilla/4.0', 'Request-ID': randomUUID() },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
          res.on('end', () => {
            this.inflight.delete(req);
            resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8').slice(0, 500) });
          });
          res.on('error', (e) => {
            this.inflight.delete(req);
            resolve({ status: res.statusCode, error: e.message });
          });
        },
      );
      this.inflight.add(req);
      req.setTimeout(this.opts.notifyTimeoutMs, () => req.destroy(new Error(`no answer within ${this.opts.notifyTimeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        this.inflight.delete(req);
        resolve({ error: e.code ?? e.message });
      });
      req.end(payload);
    });
  }

  /** Stops every timer and in-flight notification; pending deliveries count as done. */
  shutdown(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.inflight) r.destroy();
    this.inflight.clear();
    this.pendingDeliveries = 0;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  merchant(mchid: string): MerchantRecord | undefined {
    return this.state.merchants.get(mchid);
  }

  /** Verifies a client-side (App `sign` / JSAPI `paySign`) signature with any of the merchant's certificates. */
  verifyClientSignature(mchid: string, message: string, signature: string): boolean {
    const m = this.state.merchants.get(mchid);
    return Boolean(m?.certificates.some((c) => verifySha256WithRsa(message, signature, this.state.publicKeyOfCert(c.certificatePem))));
  }
}

/**
 * An explicit success time of a payment or refund (tests put them on past days for the trade bills): a Date or an
 * RFC 3339 string, not in the future — WeChat never reports a success that has not happened yet.
 */
function pastInstant(value: Date | string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = typeof value === 'string' && RFC3339_PATTERN.test(value) ? new Date(value) : value instanceof Date ? new Date(value.getTime()) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new SimError(400, 'PARAM_ERROR', `${what} must be a Date or an RFC 3339 time`);
  if (d.getTime() > Date.now() + 1000) throw new SimError(400, 'PARAM_ERROR', `${what} must not be in the future`);
  // Whole seconds: success_time has no fraction, and the bill prints seconds.
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export function validateNotifyOptions(n: WechatNotifyOptions | undefined): void {
  if (!n) return;
  const modes: NotifyMode[] = ['normal', 'lost', 'duplicate', 'tampered', 'delayed'];
  if (n.mode !== undefined && !modes.includes(n.mode)) throw new SimError(400, 'PARAM_ERROR', `mode must be one of ${modes.join(', ')}`);
  if (n.amountOverrideFen !== undefined && !Number.isSafeInteger(n.amountOverrideFen)) {
    throw new SimError(400, 'PARAM_ERROR', 'amountOverrideFen must be an integer');
  }
  if (n.delayMs !== undefined && (!Number.isFinite(n.delayMs) || n.delayMs < 0)) throw new SimError(400, 'PARAM_ERROR', 'delayMs must be >= 0');
  if (n.timestampSkewSeconds !== undefined && !Number.isFinite(n.timestampSkewSeconds)) {
    throw new SimError(400, 'PARAM_ERROR', 'timestampSkewSeconds must be a number');
  }
}

export function checkNotifyUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return '缺少参数notify_url';
  if (value.length > 255) return 'notify_url 长度不能超过255';
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'notify_url 格式错误';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'notify_url 须为 http(s) 地址';
  // WeChat: "通知URL必须为直接可访问的URL，不允许携带查询串".
  if (u.search || u.hash) return 'notify_url 不能携带参数';
  return undefined;
}

/** The transaction object of the query API and of the notification resource. */
export function transactionView(t: SimTrade): Record<string, unknown> {
  const paid = t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND';
  return {
    appid: t.appid,
    mchid: t.mchid,
    out_trade_no: t.out_trade_no,
    ...(t.transaction_id ? { transaction_id: t.transaction_id } : {}),
    ...(paid ? { trade_type: t.trade_type, bank_type: 'OTHERS' } : {}),
    trade_state: t.trade_state,
    trade_state_desc: t.trade_state_desc,
    attach: t.attach ?? '',
    ...(t.success_time ? { success_time: t.success_time } : {}),
    ...(t.payer_openid ? { payer: { openid: t.payer_openid } } : {}),
    amount: paid
      ? { total: t.amount_total, payer_total: t.amount_total, currency: t.currency, payer_currency: t.currency }
      : { total: t.amount_total, currency: t.currency, payer_currency: t.currency },
  };
}

/** The refund object of the API answers (申请退款 and 查询单笔退款 answer the same shape). */
export function refundView(r: SimRefund): Record<string, unknown> {
  return {
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    transaction_id: r.transaction_id,
    out_trade_no: r.out_trade_no,
    channel: 'ORIGINAL',
    user_received_account: r.user_received_account,
    ...(r.success_time ? { success_time: r.success_time } : {}),
    create_time: r.create_time,
    status: r.status,
    funds_account: r.funds_account,
    amount: {
      total: r.amount_total,
      refund: r.amount_refund,
      from: [],
      payer_total: r.amount_total,
      payer_refund: r.amount_refund,
      settlement_refund: r.amount_refund,
      settlement_total: r.amount_total,
      discount_refund: 0,
      currency: r.currency,
      refund_fee: 0,
    },
    promotion_detail: [],
  };
}

/** The decrypted `refund` resource of a REFUND.* notification (fewer fields than the API answer, refund_status). */
function refundNotificationResource(r: SimRefund): Record<string, unknown> {
  return {
    mchid: r.mchid,
    out_trade_no: r.out_trade_no,
    transaction_id: r.transaction_id,
    out_refund_no: r.out_refund_no,
    refund_id: r.refund_id,
    refund_status: r.status,
    ...(r.success_time ? { success_time: r.success_time } : {}),
    user_received_account: r.user_received_account,
    amount: { total: r.amount_total, refund: r.amount_refund, payer_total: r.amount_total, payer_refund: r.amount_refund },
  };
}

/** Handle and control answers are copies: a test holding one must not see it change later. */
function snapshotRefund(r: SimRefund): SimRefund {
  return structuredClone(r);
}

/** 商家转账: the one event type (final states only), its summary and resource original_type / associated_data. */
export const TRANSFER_EVENT = { eventType: 'MCHTRANSFER.BILL.FINISHED', summary: '商家转账单据终态通知', originalType: 'mch_payment' } as const;

function eventTypeOf(event: StoredEvent): string {
  if (event.transfer) return TRANSFER_EVENT.eventType;
  return event.refund?.eventType ?? 'TRANSACTION.SUCCESS';
}

function attemptIdentity(event: StoredEvent): Pick<NotificationAttempt, 'eventId' | 'mchid' | 'outTradeNo' | 'eventType' | 'outRefundNo' | 'outBillNo'> {
  return {
    eventId: event.id,
    mchid: event.mchid,
    outTradeNo: event.outTradeNo,
    eventType: eventTypeOf(event),
    ...(event.refund ? { outRefundNo: event.refund.outRefundNo } : {}),
    ...(event.transfer ? { outBillNo: event.transfer.outBillNo } : {}),
  };
}

function buildNotificationBody(event: StoredEvent, merchant: MerchantRecord, notify: WechatNotifyOptions): string {
  if (event.transfer) return buildTransferNotificationBody(event, event.transfer.resource, merchant, notify);
  const originalType = event.refund ? 'refund' : 'transaction';
  const plain = { ...(event.refund ? event.refund.resource : event.transaction) };
  if (notify.amountOverrideFen !== undefined) {
    // Validly signed and encrypted, but claiming another amount: a check only the merchant side can make.
    const amount = { ...(plain.amount as Record<string, unknown>) };
    if (event.refund) {
      amount.refund = notify.amountOverrideFen;
      amount.payer_refund = notify.amountOverrideFen;
    } else {
      amount.total = notify.amountOverrideFen;
      amount.payer_total = notify.amountOverrideFen;
    }
    plain.amount = amount;
  }
  const resource = encryptedResource(plain, merchant, originalType, notify);
  return JSON.stringify({
    id: event.id,
    create_time: event.createTime,
    resource_type: 'encrypt-resource',
    event_type: event.refund?.eventType ?? 'TRANSACTION.SUCCESS',
    summary: event.refund?.summary ?? '支付成功',
    resource,
  });
}

/** resource of an encrypt-resource envelope: AEAD_AES_256_GCM with the merchant's APIv3 key, maybe corrupted. */
function encryptedResource(plain: Record<string, unknown>, merchant: MerchantRecord, originalType: string, notify: WechatNotifyOptions) {
  const resource = { original_type: originalType, ...encryptResource(JSON.stringify(plain), merchant.apiV3Key, originalType) };
  if (notify.badCiphertext) {
    // Flip one bit of the ciphertext proper (not the tag): only an AEAD check notices.
    const buf = Buffer.from(resource.ciphertext, 'base64');
    buf[0] ^= 0x01;
    resource.ciphertext = buf.toString('base64');
  }
  return resource;
}

/** MCHTRANSFER.BILL.FINISHED: the `mch_payment` resource (associated_data mch_payment, like WeChat's). */
function buildTransferNotificationBody(event: StoredEvent, bill: Record<string, unknown>, merchant: MerchantRecord, notify: WechatNotifyOptions): string {
  const plain = { ...bill };
  // Validly signed and encrypted, but claiming another amount: a check only the merchant side can make.
  if (notify.amountOverrideFen !== undefined) plain.transfer_amount = notify.amountOverrideFen;
  return JSON.stringify({
    id: event.id,
    create_time: event.createTime,
    resource_type: 'encrypt-resource',
    event_type: TRANSFER_EVENT.eventType,
    summary: TRANSFER_EVENT.summary,
    resource: encryptedResource(plain, merchant, TRANSFER_EVENT.originalType, notify),
  });
}
