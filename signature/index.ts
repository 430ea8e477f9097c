/**
 * Signature v1 of the cashier desk ("GM-TOOLS" signing rule) — the single implementation shared by the
 * server (http/signed.ts, the notification activity) and the merchant SDK. Pure Node `crypto`, no other deps.
 *
 * Rule:
 * - shared secret: the app's `appKey` (UTF-8 bytes); algorithms `HMAC-SHA256` (default) and `HMAC-SM3`;
 *   the signature is the HMAC as lowercase hex.
 * - every HTTP message carries the headers `X-Cashier-App-Id`, `X-Cashier-Timestamp` (epoch ms),
 *   `X-Cashier-Nonce` (16–64 of [A-Za-z0-9]), `X-Cashier-Sign-Type`, `X-Cashier-Signature`.
 * - string to sign, fields joined with `\n`, body = the exact raw bytes sent (empty for GET, so the
 *   string then ends with `\n`):
 *   - request (merchant → cashier desk) and notification (cashier desk → merchant):
 *     `METHOD\npathWithQuery\nappId\ntimestamp\nnonce\nbody`
 *   - response of the cashier desk to a signed request:
 *     `RESPONSE\npathWithQuery-of-the-request\nappId\ntimestamp\nnonce\nbody`
 *   - the `signature` block of the unified-order response:
 *     `ORDER\nappId\noutTradeNo\ntoken\ntimestamp\nnonce`
 * - verification: constant-time compare, `|now − timestamp| ≤ 300 s`, a nonce is accepted once per app
 *   within 10 minutes (needs a {@link NonceStore}; claim it only AFTER the signature verified, so forged
 *   messages cannot burn nonces).
 *
 * `pathWithQuery` is the request-target exactly as it appears on the wire (percent-encoding kept, no
 * normalisation) — on the server use Express's `req.originalUrl`, never a decoded/rewritten path.
 */
import { createHmac, randomInt, timingSafeEqual } from 'crypto';

/** Supported algorithms, the value of the `X-Cashier-Sign-Type` header. */
export const SIGN_TYPES = ['HMAC-SHA256', 'HMAC-SM3'] as const;
export type SignType = (typeof SIGN_TYPES)[number];
/** The default algorithm. */
export const DEFAULT_SIGN_TYPE: SignType = 'HMAC-SHA256';

/**
 * Header names, lower-case (how Node's `req.headers` and fetch's `Headers` expose them; HTTP header names
 * are case-insensitive). Canonical casing for documentation and logs: {@link CANONICAL_HEADER}.
 */
export const HEADER = {
  appId: 'x-cashier-app-id',
  timestamp: 'x-cashier-timestamp',
  nonce: 'x-cashier-nonce',
  signType: 'x-cashier-sign-type',
  signature: 'x-cashier-signature',
} as const;

/** Canonical casing of the headers: `X-Cashier-App-Id`, `X-Cashier-Timestamp`, `X-Cashier-Nonce`, `X-Cashier-Sign-Type`, `X-Cashier-Signature`. */
export const CANONICAL_HEADER = {
  appId: 'X-Cashier-App-Id',
  timestamp: 'X-Cashier-Timestamp',
  nonce: 'X-Cashier-Nonce',
  signType: 'X-Cashier-Sign-Type',
  signature: 'X-Cashier-Signature',
} as const;

/** Maximum allowed |now − timestamp|, in ms (300 s). */
export const TIMESTAMP_TOLERANCE_MS = 300_000;
/** How long a nonce stays claimed, in ms (10 min, longer than the ±5 min timestamp window). */
export const NONCE_TTL_MS = 600_000;
export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 64;

/** Raw body bytes; strings are encoded as UTF-8. `undefined`/`null` mean an empty body. */
export type Body = Buffer | Uint8Array | string | null | undefined;

const NONCE_RE = /^[A-Za-z0-9]{16,64}$/;
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TIMESTAMP_RE = /^[0-9]{1,16}$/;
const HEX_RE = /^[0-9a-fA-F]*$/;
const METHOD_RE = /^[A-Z]+$/;

export function isSignType(value: unknown): value is SignType {
  return typeof value === 'string' && (SIGN_TYPES as readonly string[]).includes(value);
}

/** True when `nonce` is 16–64 characters of [A-Za-z0-9]. */
export function isValidNonce(nonce: unknown): nonce is string {
  return typeof nonce === 'string' && NONCE_RE.test(nonce);
}

/** A cryptographically random nonce of `len` (16–64, default 32) characters of [A-Za-z0-9]. */
export function generateNonce(len = 32): string {
  if (!Number.isInteger(len) || len < NONCE_MIN_LENGTH || len > NONCE_MAX_LENGTH) {
    throw new RangeError(`nonce length must be an integer in [${NONCE_MIN_LENGTH}, ${NONCE_MAX_LENGTH}]`);
  }
  let out = '';
  for (let i = 0; i < len; i++) out += NONCE_ALPHABET[randomInt(NONCE_ALPHABET.length)];
  return out;
}

function bodyBytes(body: Body): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function field(name: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  if (/[\r\n]/.test(value)) throw new TypeError(`${name} must not contain CR or LF`);
  return value;
}

function timestampField(ts: number | string): string {
  if (typeof ts === 'number') {
    if (!Number.isSafeInteger(ts) || ts < 0) throw new TypeError('timestamp must be a non-negative integer (epoch ms)');
    return String(ts);
  }
  if (typeof ts !== 'string' || !TIMESTAMP_RE.test(ts)) throw new TypeError('timestamp must be decimal digits (epoch ms)');
  return ts;
}

function pathField(pathWithQuery: string): string {
  field('pathWithQuery', pathWithQuery);
  if (!pathWithQuery.startsWith('/')) throw new TypeError('pathWithQuery must start with "/"');
  return pathWithQuery;
}

/** Header fields joined with `\n`, then `\n` and the raw body bytes. */
function withBody(fields: string[], body: Body): Buffer {
  return Buffer.concat([Buffer.from(fields.join('\n') + '\n', 'utf8'), bodyBytes(body)]);
}

export interface RequestSignInput {
  method: string;
  pathWithQuery: string;
  appId: string;
  timestamp: number | string;
  nonce: string;
  body?: Body;
}

/** `METHOD\npathWithQuery\nappId\ntimestamp\nnonce\nbody` (METHOD upper-cased; body raw bytes, empty for GET). */
export function requestStringToSign(input: RequestSignInput): Buffer {
  const method = field('method', input.method).toUpperCase();
  if (!METHOD_RE.test(method)) throw new TypeError('method must be an HTTP method token');
  return withBody(
    [method, pathField(input.pathWithQuery), field('appId', input.appId), timestampField(input.timestamp), field('nonce', input.nonce)],
    input.body,
  );
}

export interface ResponseSignInput {
  /** The pathWithQuery of the request this response answers. */
  pathWithQuery: string;
  appId: string;
  timestamp: number | string;
  nonce: string;
  body?: Body;
}

/** `RESPONSE\npathWithQuery-of-the-request\nappId\ntimestamp\nnonce\nbody`. */
export function responseStringToSign(input: ResponseSignInput): Buffer {
  return withBody(
    ['RESPONSE', pathField(input.pathWithQuery), field('appId', input.appId), timestampField(input.timestamp), field('nonce', input.nonce)],
    input.body,
  );
}

export interface OrderSignInput {
  appId: string;
  outTradeNo: string;
  token: string;
  timestamp: number | string;
  nonce: string;
}

/** `ORDER\nappId\noutTradeNo\ntoken\ntimestamp\nnonce` (no trailing newline: there is no body). */
export function orderStringToSign(input: OrderSignInput): Buffer {
  const fields = [
    'ORDER',
    field('appId', input.appId),
    field('outTradeNo', input.outTradeNo),
    field('token', input.token),
    timestampField(input.timestamp),
    field('nonce', input.nonce),
  ];
  return Buffer.from(fields.join('\n'), 'utf8');
}

/** Lowercase hex HMAC of `data` with `key` (UTF-8) using `signType`. */
export function sign(signType: SignType, key: string, data: Buffer | Uint8Array | string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a non-empty string');
  let algorithm: string;
  switch (signType) {
    case 'HMAC-SHA256':
      algorithm = 'sha256';
      break;
    case 'HMAC-SM3':
      algorithm = 'sm3';
      break;
    default:
      throw new TypeError(`unsupported sign type: ${String(signType)}`);
  }
  return createHmac(algorithm, Buffer.from(key, 'utf8'))
    .update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
    .digest('hex');
}

/**
 * Constant-time comparison of two hex signatures (compares the decoded bytes, so hex case does not
 * matter). False when either is not a string of hex digits, has odd length, or the lengths differ;
 * the byte comparison itself never exits early.
 */
export function signaturesEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const okA = a.length > 0 && a.length % 2 === 0 && HEX_RE.test(a);
  const okB = b.length > 0 && b.length % 2 === 0 && HEX_RE.test(b);
  const bufA = Buffer.from(okA ? a : '', 'hex');
  const bufB = Buffer.from(okB ? b : '', 'hex');
  if (bufA.length !== bufB.length) {
    // keep the amount of work independent of where the inputs differ
    timingSafeEqual(bufA, bufA);
    return false;
  }
  return timingSafeEqual(bufA, bufB) && okA && okB;
}

function nowMs(now?: number | Date): number {
  if (now === undefined) return Date.now();
  return typeof now === 'number' ? now : now.getTime();
}

/** Headers produced by {@link signRequestHeaders} / {@link signResponseHeaders}, keyed by the lower-case names of {@link HEADER}. */
export type SignedHeaders = Record<string, string>;

export interface SignHeadersCommon {
  pathWithQuery: string;
  appId: string;
  appKey: string;
  signType?: SignType;
  body?: Body;
  /** Clock for the timestamp (default `Date.now()`). */
  now?: number | Date;
  /** Nonce to use (default: a fresh {@link generateNonce}()). Never reuse one. */
  nonce?: string;
}

function buildHeaders(
  appId: string,
  signType: SignType,
  timestamp: string,
  nonce: string,
  signature: string,
): SignedHeaders {
  return {
    [HEADER.appId]: appId,
    [HEADER.timestamp]: timestamp,
    [HEADER.nonce]: nonce,
    [HEADER.signType]: signType,
    [HEADER.signature]: signature,
  };
}

function prepare(input: { signType?: SignType; now?: number | Date; nonce?: string }): { signType: SignType; timestamp: string; nonce: string } {
  const signType = input.signType ?? DEFAULT_SIGN_TYPE;
  if (!isSignType(signType)) throw new TypeError(`unsupported sign type: ${String(signType)}`);
  const nonce = input.nonce ?? generateNonce();
  if (!isValidNonce(nonce)) throw new TypeError('nonce must be 16–64 characters of [A-Za-z0-9]');
  return { signType, timestamp: timestampField(Math.trunc(nowMs(input.now))), nonce };
}

/** Signature headers for a request (merchant → cashier desk) or a notification (cashier desk → merchant). */
export function signRequestHeaders(input: SignHeadersCommon & { method: string }): SignedHeaders {
  const { signType, timestamp, nonce } = prepare(input);
  const data = requestStringToSign({ method: input.method, pathWithQuery: input.pathWithQuery, appId: input.appId, timestamp, nonce, body: input.body });
  return buildHeaders(input.appId, signType, timestamp, nonce, sign(signType, input.appKey, data));
}

/** Signature headers for the cashier desk's response to a signed request (`pathWithQuery` = the request's). */
export function signResponseHeaders(input: SignHeadersCommon): SignedHeaders {
  const { signType, timestamp, nonce } = prepare(input);
  const data = responseStringToSign({ pathWithQuery: input.pathWithQuery, appId: input.appId, timestamp, nonce, body: input.body });
  return buildHeaders(input.appId, signType, timestamp, nonce, sign(signType, input.appKey, data));
}

/** The `signature` block of the unified-order response. */
export interface OrderSignatureBlock {
  appId: string;
  nonce: string;
  /** epoch ms */
  timestamp: number;
  outTradeNo: string;
  signature: string;
}

/** Builds the unified-order `signature` block (server side). Sign with the request's sign type and the key it was verified with. */
export function signOrder(input: {
  appId: string;
  appKey: string;
  outTradeNo: string;
  token: string;
  signType?: SignType;
  now?: number | Date;
  nonce?: string;
}): OrderSignatureBlock {
  const { signType, timestamp, nonce } = prepare(input);
  const data = orderStringToSign({ appId: input.appId, outTradeNo: input.outTradeNo, token: input.token, timestamp, nonce });
  return { appId: input.appId, nonce, timestamp: Number(timestamp), outTradeNo: input.outTradeNo, signature: sign(signType, input.appKey, data) };
}

/**
 * Checks a unified-order `signature` block against the order's `token`, with every key in `keys`
 * (constant time, no early exit). Does not check freshness: the block may be verified long after the
 * order was created.
 */
export function verifyOrder(input: {
  block: { appId?: unknown; nonce?: unknown; timestamp?: unknown; outTradeNo?: unknown; signature?: unknown } | null | undefined;
  token: string;
  keys: readonly string[];
  signType?: SignType;
  expectedAppId?: string;
  expectedOutTradeNo?: string;
}): boolean {
  const b = input.block;
  if (!b || typeof b !== 'object') return false;
  const appId = typeof b.appId === 'number' ? String(b.appId) : b.appId;
  const timestamp = typeof b.timestamp === 'number' ? String(b.timestamp) : b.timestamp;
  if (typeof appId !== 'string' || typeof b.nonce !== 'string' || typeof b.outTradeNo !== 'string') return false;
  if (typeof timestamp !== 'string' || !TIMESTAMP_RE.test(timestamp) || typeof b.signature !== 'string') return false;
  if (input.expectedAppId !== undefined && appId !== input.expectedAppId) return false;
  if (input.expectedOutTradeNo !== undefined && b.outTradeNo !== input.expectedOutTradeNo) return false;
  let data: Buffer;
  try {
    data = orderStringToSign({ appId, outTradeNo: b.outTradeNo, token: input.token, timestamp, nonce: b.nonce });
  } catch {
    return false;
  }
  return matchAnyKey(input.signType ?? DEFAULT_SIGN_TYPE, input.keys, data, b.signature) >= 0;
}

/** Index of the first key whose HMAC matches `signature`, or -1. Compares against every key (no early exit). */
function matchAnyKey(signType: SignType, keys: readonly string[], data: Buffer, signature: string): number {
  let matched = -1;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key !== 'string' || key.length === 0) continue; // an unset key never verifies anything
    const ok = signaturesEqual(sign(signType, key, data), signature);
    if (ok && matched < 0) matched = i;
  }
  return matched;
}

/** Anything header-shaped: Node's `IncomingHttpHeaders`, a plain object (any key casing), or a fetch `Headers`. */
export type HeadersLike =
  | { get(name: string): string | null }
  | Record<string, string | string[] | number | undefined>;

/** Reads one header case-insensitively; absent, empty or repeated (array of ≠ 1) → undefined. */
export function getHeader(headers: HeadersLike, name: string): string | undefined {
  const lower = name.toLowerCase();
  let value: unknown;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    value = (headers as { get(name: string): string | null }).get(lower);
  } else {
    const rec = headers as Record<string, unknown>;
    value = rec[lower];
    if (value === undefined) {
      for (const k of Object.keys(rec)) {
        if (k.toLowerCase() === lower) {
          value = rec[k];
          break;
        }
      }
    }
  }
  if (Array.isArray(value)) value = value.length === 1 ? value[0] : undefined;
  if (typeof value === 'number') value = String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed.length > 0 ? trimmed : undefined;
}

export type VerifyFailureReason =
  | 'MISSING_HEADER'
  | 'BAD_SIGN_TYPE'
  | 'BAD_NONCE'
  | 'BAD_TIMESTAMP'
  | 'STALE_TIMESTAMP'
  | 'BAD_SIGNATURE'
  | 'APP_MISMATCH';

export type VerifyResult =
  | {
      ok: true;
      appId: string;
      /** epoch ms */
      timestamp: number;
      nonce: string;
      signType: SignType;
      /** Index in `keys` of the key that verified (the server signs its response with that key). */
      keyIndex: number;
    }
  | { ok: false; reason: VerifyFailureReason };

export interface VerifyInput {
  /** `request` (also used for notifications) or `response`. */
  kind: 'request' | 'response';
  /** Required for `request`. */
  method?: string;
  /** The request's pathWithQuery as on the wire (for a response: of the request it answers). */
  pathWithQuery: string;
  headers: HeadersLike;
  /** The exact raw body bytes received. */
  body?: Body;
  /** Keys to try: 1, or 2 while a key rotation is in progress. Empty keys are ignored. */
  keys: readonly string[];
  /** Clock (default `Date.now()`). */
  now?: number | Date;
  /** When set, the `X-Cashier-App-Id` header must equal it. */
  expectedAppId?: string;
}

/**
 * Verifies the signature headers of a message: presence, sign type, nonce format, timestamp format and
 * window (±{@link TIMESTAMP_TOLERANCE_MS}), app id, then the HMAC against every key in constant time.
 * Does NOT check nonce replay — do that with a {@link NonceStore} after `ok` (see {@link verifySignedMessage}).
 */
export function verifySignedHeaders(input: VerifyInput): VerifyResult {
  if (input.kind === 'request' && (typeof input.method !== 'string' || input.method.length === 0)) {
    throw new TypeError('method is required to verify a request');
  }
  const appId = getHeader(input.headers, HEADER.appId);
  const timestamp = getHeader(input.headers, HEADER.timestamp);
  const nonce = getHeader(input.headers, HEADER.nonce);
  const signType = getHeader(input.headers, HEADER.signType);
  const signature = getHeader(input.headers, HEADER.signature);
  if (!appId || !timestamp || !nonce || !signType || !signature) return { ok: false, reason: 'MISSING_HEADER' };
  if (!isSignType(signType)) return { ok: false, reason: 'BAD_SIGN_TYPE' };
  if (!isValidNonce(nonce)) return { ok: false, reason: 'BAD_NONCE' };
  if (!TIMESTAMP_RE.test(timestamp)) return { ok: false, reason: 'BAD_TIMESTAMP' };
  const ts = Number(timestamp);
  if (!Number.isSafeInteger(ts)) return { ok: false, reason: 'BAD_TIMESTAMP' };
  if (Math.abs(nowMs(input.now) - ts) > TIMESTAMP_TOLERANCE_MS) return { ok: false, reason: 'STALE_TIMESTAMP' };
  if (input.expectedAppId !== undefined && appId !== input.expectedAppId) return { ok: false, reason: 'APP_MISMATCH' };
  let data: Buffer;
  try {
    data =
      input.kind === 'request'
        ? requestStringToSign({ method: input.method as string, pathWithQuery: input.pathWithQuery, appId, timestamp, nonce, body: input.body })
        : responseStringToSign({ pathWithQuery: input.pathWithQuery, appId, timestamp, nonce, body: input.body });
  } catch {
    return { ok: false, reason: 'BAD_SIGNATURE' }; // e.g. an app id with a newline cannot have been signed
  }
  const keyIndex = matchAnyKey(signType, input.keys, data, signature);
  if (keyIndex < 0) return { ok: false, reason: 'BAD_SIGNATURE' };
  return { ok: true, appId, timestamp: ts, nonce, signType, keyIndex };
}

/**
 * Remembers nonces so that each is accepted once per app. `claim` returns true when the nonce was not
 * seen (and records it until `expiresAt`), false when it is a replay. Must be atomic (the server's
 * PostgreSQL store uses `INSERT … ON CONFLICT DO NOTHING`).
 */
export interface NonceStore {
  claim(appId: string, nonce: string, expiresAt: Date): Promise<boolean>;
}

/**
 * In-memory {@link NonceStore} with expiry, for a single merchant process. Expired entries are swept
 * lazily. Not shared between processes: with several instances behind a load balancer use a shared
 * store (Redis `SET NX PX`, a database unique key).
 */
export class MemoryNonceStore implements NonceStore {
  private readonly entries = new Map<string, number>();
  private nextSweep = 0;
  private readonly clock: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.clock = opts.now ?? Date.now;
  }

  async claim(appId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    const now = this.clock();
    if (now >= this.nextSweep || this.entries.size > 100_000) this.sweep(now);
    const key = `${appId}\n${nonce}`;
    const existing = this.entries.get(key);
    if (existing !== undefined && existing > now) return false;
    this.entries.set(key, expiresAt.getTime());
    return true;
  }

  /** Number of remembered (possibly expired, not yet swept) nonces. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [k, exp] of this.entries) if (exp <= now) this.entries.delete(k);
    this.nextSweep = now + 60_000;
  }
}

export type VerifyMessageResult = VerifyResult | { ok: false; reason: 'REPLAYED_NONCE' };

/**
 * {@link verifySignedHeaders}, then (only when the signature is valid) claims the nonce in `nonceStore`
 * for {@link NONCE_TTL_MS}; a nonce already claimed for the app → `REPLAYED_NONCE`.
 */
export async function verifySignedMessage(input: VerifyInput & { nonceStore: NonceStore }): Promise<VerifyMessageResult> {
  const result = verifySignedHeaders(input);
  if (!result.ok) return result;
  const claimed = await input.nonceStore.claim(result.appId, result.nonce, new Date(nowMs(input.now) + NONCE_TTL_MS));
  return claimed ? result : { ok: false, reason: 'REPLAYED_NONCE' };
}
