/**
 * Wire-level rules of Alipay OpenAPI v2 as the gateway applies them: parameter signing (RSA2), response
 * envelopes, Asia/Shanghai timestamps and identifier shapes. Written independently of providers/alipay so that
 * a mistake in the adapter is not mirrored (and hidden) by the sandbox.
 */
import { createSign, createVerify, randomBytes, randomInt } from 'node:crypto';

/** The v2 sign string: keys sorted, empty values and `sign` dropped, raw (unencoded) values, `k=v` joined by `&`. */
export function requestSignContent(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== '' && params[k] !== undefined)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

/** The notification / sync-return sign string: like the request's, but `sign_type` is excluded as well. */
export function notifySignContent(params: Record<string, string>): string {
  const rest = { ...params };
  delete rest.sign_type;
  return requestSignContent(rest);
}

export function rsa2Sign(content: string, privateKeyPem: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKeyPem, 'base64');
}

export function rsa2Verify(content: string, signature: string, publicKeyPem: string): boolean {
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKeyPem, signature, 'base64');
  } catch {
    return false;
  }
}

/**
 * A v2 API response: `{"<method>_response":<inner>,"sign":"<RSA2 over the exact inner bytes>"}`.
 * Alipay escapes `/` as `\/` in its JSON; doing the same keeps clients honest about verifying the raw text
 * rather than a re-serialization. `breakSignature` signs different bytes (fault injection).
 */
export function signedEnvelope(method: string, payload: Record<string, unknown>, privateKeyPem: string, breakSignature = false): string {
  const key = `${method.replaceAll('.', '_')}_response`;
  const inner = JSON.stringify(payload).replace(/\//g, '\\/');
  const sign = rsa2Sign(breakSignature ? `${inner} ` : inner, privateKeyPem);
  return `{"${key}":${inner},"sign":"${sign}"}`;
}

/** Response for requests whose method is missing or unknown (Alipay leaves these unsigned). */
export function errorEnvelope(payload: Record<string, unknown>): string {
  return JSON.stringify({ error_response: payload });
}

// --- time -------------------------------------------------------------------------------------------------

const shanghaiParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai. */
export function shanghaiTime(date: Date = new Date()): string {
  const p = Object.fromEntries(shanghaiParts.formatToParts(date).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** `yyyy-MM-dd HH:mm:ss.SSS` in Asia/Shanghai: the millisecond form Alipay uses for gmt_refund in notifications. */
export function shanghaiTimeMillis(date: Date = new Date()): string {
  return `${shanghaiTime(date)}.${String(date.getUTCMilliseconds()).padStart(3, '0')}`;
}

/** Parses `yyyy-MM-dd HH:mm:ss` as Asia/Shanghai; undefined if malformed or impossible (e.g. 02-30). */
export function parseShanghaiTime(text: string | undefined): Date | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  const date = new Date(`${text.replace(' ', 'T')}+08:00`);
  if (Number.isNaN(date.getTime()) || shanghaiTime(date) !== text) return undefined;
  return date;
}

// --- identifiers ------------------------------------------------------------------------------------------

function digits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(randomInt(10));
  return s;
}

/** 16-digit app id like Alipay's `2021004123456789`. */
export function newAppId(): string {
  return `2021${digits(12)}`;
}

/** 16-digit partner / user id starting 2088. */
export function newPartnerId(): string {
  return `2088${digits(12)}`;
}

/** 28-character trade number: date (Shanghai) + channel digits + sequence, like `2024011522001412345678901234`. */
export function newTradeNo(now: Date = new Date()): string {
  return `${shanghaiTime(now).slice(0, 10).replaceAll('-', '')}22${digits(18)}`;
}

/**
 * 32-digit transfer order number (order_id): date (Shanghai) + `11007000` + sequence, the shape of Alipay's
 * `20190801110070000006380000250621`.
 */
export function newTransferOrderId(now: Date = new Date()): string {
  return `${shanghaiTime(now).slice(0, 10).replaceAll('-', '')}11007000${digits(16)}`;
}

/** 32-digit fund flow number (pay_fund_order_id), like Alipay's `20190801110070001506380000251556`. */
export function newPayFundOrderId(now: Date = new Date()): string {
  return `${shanghaiTime(now).slice(0, 10).replaceAll('-', '')}110070001${digits(15)}`;
}

export function newNotifyId(): string {
  return randomBytes(17).toString('hex').slice(0, 34);
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

export function newToken(): string {
  return randomBytes(18).toString('base64url');
}
