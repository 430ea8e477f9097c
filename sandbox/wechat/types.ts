/**
 * Public types of the WeChat Pay APIv3 sandbox: its control surface (/__sim JSON API and the typed handle).
 */
import type { ChannelCredentials } from '../../providers/types';
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

/** Fault injection for the next `count` authenticated /v3 API calls (optionally of one merchant). */
export interface WechatFault {
  /** 'http500' → 500 {"code":"SYSTEM_ERROR"}; 'badSignature' → correct answer with a broken Wechatpay-Signature. */
  kind: 'http500' | 'badSignature';
  count?: number;
  mchid?: string;
}

export interface NotificationAttempt {
  eventId: string;
  mchid: string;
  outTradeNo: string;
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
}

export interface PayOptions {
  mchid?: string;
  /** Buyer openid for non-JSAPI trades (JSAPI uses the prepay payer). */
  openid?: string;
  notify?: WechatNotifyOptions;
}

export interface PayResult {
  trade: SimTrade;
  eventId: string;
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
  clearFaults(): Promise<void>;
  notifications(filter?: { outTradeNo?: string; mchid?: string; eventId?: string }): Promise<NotificationAttempt[]>;
  /** Sends an already issued notification again (same id), e.g. a late duplicate. */
  resendNotification(eventId: string, notify?: WechatNotifyOptions): Promise<void>;
  /** Issues a new platform certificate and signs with it from now on (the old one stays listed). */
  rotatePlatformCertificate(): Promise<{ serial: string }>;
  /** Resolves once no notification delivery or retry is pending. */
  whenNotificationsIdle(): Promise<void>;
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
}
