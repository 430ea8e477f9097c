/**
 * Pure translations between WeChat Pay APIv3 wire values and Cashier Desk's provider types.
 */
import { ProviderError, type TradeOutcome } from '../types';

/** WeChat trade_state values (交易状态) of the query API and notifications. */
export type WechatTradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

/** WeChat out_trade_no rule: 6-32 of digits, letters, _ - | * (anything else could also break the URL path). */
export const OUT_TRADE_NO_PATTERN = /^[0-9A-Za-z_\-|*]{6,32}$/;

export function assertOutTradeNo(outTradeNo: string): void {
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO_PATTERN.test(outTradeNo)) {
    // The SDK pastes out_trade_no into the URL unencoded: '/', '?' or '#' would address another resource.
    throw new ProviderError('REJECTED', 'out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]', 'PARAM_ERROR');
  }
}

/** WeChat out_refund_no rule: 1-64 of digits, letters, _ - | * @ (like out_trade_no, it goes into the URL path). */
export const OUT_REFUND_NO_PATTERN = /^[0-9A-Za-z_\-|*@]{1,64}$/;

export function assertOutRefundNo(outRefundNo: string): void {
  if (typeof outRefundNo !== 'string' || !OUT_REFUND_NO_PATTERN.test(outRefundNo)) {
    // find_refunds pastes it into the URL unencoded: '/', '?' or '#' would address another resource.
    throw new ProviderError('REJECTED', 'out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]', 'PARAM_ERROR');
  }
}

/** WeChat: notify_url must be reachable, http(s), at most 255 characters and carry no query parameters. */
export function assertNotifyUrl(notifyUrl: string): void {
  let url: URL;
  try {
    url = new URL(notifyUrl);
  } catch {
    throw new ProviderError('REJECTED', 'notify_url is not an absolute URL', 'PARAM_ERROR');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || notifyUrl.length > 255) {
    throw new ProviderError('REJECTED', 'notify_url must be an http(s) URL without query string, at most 255 characters', 'PARAM_ERROR');
  }
}

/**
 * WeChat amount.total is integer fen. Refuse anything else before it goes on the wire: a float such as
 * 0.1+0.2 or a string would otherwise be rejected at best and charged wrongly at worst.
 */
export function assertFen(value: unknown, field = 'amount.total'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ProviderError('REJECTED', `${field} must be a positive safe integer of fen`, 'PARAM_ERROR');
  }
  return value;
}

/** Same check for amounts the provider sends us; a bad one makes the whole message untrustworthy. */
export function readFen(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * RFC 3339 in China Standard Time, as WeChat documents time_expire ("2018-06-08T10:34:56+08:00").
 * Built by shifting the epoch instead of using the process TZ, so the result does not depend on the host.
 */
export function formatRfc3339Shanghai(date: Date): string {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new RangeError('invalid date');
  const shifted = new Date(t + 8 * 3600_000);
  const p = (n: number) => n.toString().padStart(2, '0');
  return (
    `${shifted.getUTCFullYear()}-${p(shifted.getUTCMonth() + 1)}-${p(shifted.getUTCDate())}` +
    `T${p(shifted.getUTCHours())}:${p(shifted.getUTCMinutes())}:${p(shifted.getUTCSeconds())}+08:00`
  );
}

/** Parses WeChat's RFC 3339 timestamps (success_time); undefined when absent or unparsable. */
export function parseRfc3339(value: unknown): Date | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Truncates to at most `max` Unicode code points (WeChat's description is limited to 127 characters). */
export function truncateCodePoints(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/** The fields of a WeChat transaction object (query answer or decrypted notification) that we read. */
export interface WechatTransaction {
  mchid?: string;
  appid?: string;
  out_trade_no?: string;
  transaction_id?: string;
  trade_type?: string;
  trade_state?: string;
  trade_state_desc?: string;
  success_time?: string;
  amount?: { total?: unknown; payer_total?: unknown; currency?: string };
  payer?: { openid?: string };
}

/**
 * trade_state → normalized outcome:
 * SUCCESS → SUCCESS; REFUND (paid, then (partly) refunded) → SUCCESS; NOTPAY/USERPAYING → WAITING;
 * CLOSED/REVOKED → CLOSED; PAYERROR → FAIL. Anything unknown is a BAD_RESPONSE: guessing could mark an
 * unpaid order paid or a paid one failed.
 * `kind` selects the error thrown when the transaction is malformed (a response vs a callback).
 */
export function mapTransaction(tx: WechatTransaction, kind: 'BAD_RESPONSE' | 'BAD_CALLBACK' = 'BAD_RESPONSE'): TradeOutcome {
  const state = tx.trade_state;
  switch (state) {
    case 'SUCCESS':
    case 'REFUND': {
      const amountFen = readFen(tx.amount?.total);
      if (amountFen === undefined) throw new ProviderError(kind, `paid transaction without an integer amount.total`);
      if (typeof tx.transaction_id !== 'string' || tx.transaction_id.length === 0) {
        throw new ProviderError(kind, 'paid transaction without transaction_id');
      }
      const payTime = parseRfc3339(tx.success_time);
      if (!payTime) throw new ProviderError(kind, 'paid transaction without a valid success_time');
      return { status: 'SUCCESS', amountFen, providerTradeNo: tx.transaction_id, payTime, raw: tx };
    }
    case 'NOTPAY':
    case 'USERPAYING':
      return { status: 'WAITING', raw: tx };
    case 'CLOSED':
    case 'REVOKED':
      return { status: 'CLOSED', raw: tx };
    case 'PAYERROR':
      return { status: 'FAIL', errorCode: 'PAYERROR', errorMsg: tx.trade_state_desc || '支付失败', raw: tx };
    default:
      throw new ProviderError(kind, `unknown trade_state ${JSON.stringify(String(state)).slice(0, 40)}`);
  }
}

/** WeChat business error codes that mean "try again later" even though they come with a 4xx status. */
const RETRYABLE_CODES = new Set(['SYSTEM_ERROR', 'SYSTEMERROR', 'FREQUENCY_LIMITED', 'BANKERROR', 'BANK_ERROR']);

/** Parses a WeChat error body `{"code":"…","message":"…"}`; tolerant of non-JSON bodies (proxies, HTML). */
export function parseErrorBody(text: unknown): { code?: string; message?: string } {
  if (typeof text !== 'string' || text.length === 0) return {};
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
    return {
      code: typeof parsed.code === 'string' ? parsed.code : undefined,
      message: typeof parsed.message === 'string' ? parsed.message.slice(0, 200) : undefined,
    };
  } catch {
    return {};
  }
}

/** Maps a non-success HTTP answer to the stable error kinds (see providers/types.ts). */
export function errorForStatus(operation: string, status: number | undefined, errorText: unknown): ProviderError {
  const { code, message } = parseErrorBody(errorText);
  const detail = `${operation}: WeChat Pay HTTP ${status ?? 'no status'}${code ? ` ${code}` : ''}${message ? ` ${message}` : ''}`;
  if (status === undefined || status === 0 || status >= 500 || status === 429 || (code && RETRYABLE_CODES.has(code))) {
    return new ProviderError('UNAVAILABLE', detail, code);
  }
  if (status >= 400) return new ProviderError('REJECTED', detail, code);
  // 1xx/3xx/unexpected 2xx: the gateway never answers so; do not guess what it meant.
  return new ProviderError('BAD_RESPONSE', detail, code);
}
