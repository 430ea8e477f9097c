/** Request schemas of the merchant API (zod). Unknown and server-owned fields are rejected, not ignored. */
import { z } from 'zod';
import { DomainError, ErrorCode } from '../domain/errors';
import { MAX_AMOUNT_FEN, MIN_AMOUNT_FEN } from '../domain/money';
import { isPrivateHost } from '../domain/network-address';
import { PAYEE_TYPES } from '../domain/transfer';

/**
 * An absolute http(s) URL without credentials; unless allowed, not on a loopback/private/link-local host.
 * Only the literal host can be judged here: the notify activity checks what a name resolves to at send time.
 */
export function httpUrl(allowPrivate: boolean) {
  return z
    .string()
    .trim()
    .max(512)
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
      } catch {
        return false;
      }
    }, 'must be an absolute http(s) URL without credentials')
    .refine((v) => allowPrivate || !isPrivateHost(new URL(v).hostname), 'must not point at a loopback, private or link-local address')
    // For the OpenAPI document: the refinements above have no JSON Schema form.
    .meta({ format: 'uri', description: allowPrivate ? 'absolute http(s) URL without credentials' : 'absolute http(s) URL without credentials, not on a loopback, private or link-local host' });
}

/** Fields the cashier desk owns: naming them gets a precise message instead of a generic "unknown field". */
const SERVER_OWNED = ['orderId', 'token', 'status', 'appId', 'payTime', 'channelId', 'channelType', 'mchId', 'resultCode', 'signature', 'channels', 'refundId', 'refundTime', 'transferId', 'transferTime'];

const merchantNo = (field: string) => z.string().regex(/^[A-Za-z0-9_\-|*.]{1,64}$/, `${field} must be 1-64 characters of [A-Za-z0-9_-|*.]`);

export function unifiedOrderSchema(allowPrivateUrls: boolean) {
  return z.strictObject({
    amount: z.number().int('amount must be an integer number of fen').min(MIN_AMOUNT_FEN).max(MAX_AMOUNT_FEN),
    goodsDesc: z.string().trim().min(1).max(256),
    orderTitle: z.string().trim().min(1).max(128),
    outTradeNo: merchantNo('outTradeNo'),
    thirdPartyUser: z.string().min(1).max(64),
    notifyUrl: httpUrl(allowPrivateUrls).optional(),
    returnUrl: httpUrl(true).nullable().optional(),
    expireSeconds: z.number().int().min(60).max(86_400).optional(),
  });
}
export type UnifiedOrderRequest = z.infer<ReturnType<typeof unifiedOrderSchema>>;

export function refundSchema(allowPrivateUrls: boolean) {
  return z.strictObject({
    outTradeNo: merchantNo('outTradeNo'),
    outRefundNo: merchantNo('outRefundNo'),
    amount: z.number().int('amount must be an integer number of fen').min(MIN_AMOUNT_FEN).max(MAX_AMOUNT_FEN),
    reason: z.string().trim().min(1).max(128).optional(),
    notifyUrl: httpUrl(allowPrivateUrls).optional(),
  });
}

export function transferSchema(allowPrivateUrls: boolean, channelTypes: readonly string[]) {
  return z.strictObject({
    outBizNo: merchantNo('outBizNo'),
    channelType: z
      .string()
      .refine((v) => channelTypes.includes(v), `channelType must be one of ${channelTypes.join(', ')}`)
      .meta({ enum: [...channelTypes] }),
    amount: z.number().int('amount must be an integer number of fen').min(MIN_AMOUNT_FEN).max(MAX_AMOUNT_FEN),
    payeeType: z.enum(PAYEE_TYPES),
    payeeAccount: z.string().trim().min(1).max(128),
    payeeName: z.string().trim().min(1).max(64).optional(),
    remark: z.string().trim().min(1).max(128),
    notifyUrl: httpUrl(allowPrivateUrls).optional(),
  });
}

/** The path parameter of GET /transfers/{outBizNo}. */
export const outBizNoParam = merchantNo('outBizNo');

/** The path parameter of GET /out-trade-no/query-pay-result/{outTradeNo}. */
export const outTradeNoParam = merchantNo('outTradeNo');

/** The path parameter of GET /refunds/{outRefundNo}. */
export const outRefundNoParam = merchantNo('outRefundNo');

export const paymentListSchema = z.strictObject({
  token: z.string().regex(/^[0-9A-F]{32}$/, 'token must be the 32-character token of the unified order'),
  channelIds: z.array(z.number().int().positive()).min(1).max(20),
});

export const payWithChannelSchema = z.strictObject({
  token: z.string().regex(/^[0-9A-F]{32}$/),
  channelId: z.number().int().positive().optional(),
  openid: z.string().min(1).max(128).optional(),
});

/** Parses or throws a 4000 whose message names every offending field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const messages = result.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      const owned = i.keys.filter((k) => SERVER_OWNED.includes(k));
      const unknown = i.keys.filter((k) => !SERVER_OWNED.includes(k));
      return [owned.length ? `server-owned fields may not be set: ${owned.join(', ')}` : '', unknown.length ? `unknown fields: ${unknown.join(', ')}` : ''].filter(Boolean).join('; ');
    }
    return `${i.path.join('.') || 'body'}: ${i.message}`;
  });
  throw new DomainError(ErrorCode.VALIDATION, `参数校验失败: ${messages.join('; ')}`);
}
