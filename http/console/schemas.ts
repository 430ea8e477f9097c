/** Request schemas of the operator side (zod, strict: unknown fields are rejected). */
import { z } from 'zod';
import { httpUrl } from '../validation';
import { APP_STATUSES } from '../../domain/app';
import { BINDING_STATUSES, SCENE_CODES } from '../../domain/channel';
import { MAX_AMOUNT_FEN, MIN_AMOUNT_FEN } from '../../domain/money';
import { ORDER_STATUSES } from '../../domain/order';
import { DISCREPANCY_KINDS, isDay, RECONCILIATION_RUN_STATUSES } from '../../domain/reconciliation';
import { TRANSFER_STATUSES } from '../../domain/transfer';
import { PAYMENT_EXCEPTION_KINDS, PAYMENT_EXCEPTION_STATUSES, REFUND_SOURCES, REFUND_STATUSES } from '../../domain/refund';
import { SIGN_TYPES } from '../../signature';

const text = (max: number) => z.string().trim().min(1).max(max);

export function registerSchema(allowPrivateUrls: boolean) {
  return z.strictObject({
    name: text(64),
    notifyUrl: httpUrl(allowPrivateUrls),
    returnUrl: httpUrl(true).nullable().optional(),
    contact: text(128),
    signType: z.enum(SIGN_TYPES).optional(),
  });
}

const channelId = z.number().int().positive().max(2_147_483_647);

export const applyBindingSchema = z
  .strictObject({
    channelIds: z.array(channelId).min(1).max(20).optional(),
    channelId: channelId.optional(),
  })
  .refine((b) => (b.channelIds === undefined) !== (b.channelId === undefined), 'give either channelIds (an array) or channelId, not both');

/** A numeric id in a path: plain digits, 1…2^31−1 (anything else is answered like an unknown id, 4040). */
export const idPathParam = z
  .string()
  .regex(/^\d{1,10}$/)
  .refine((v) => Number(v) >= 1 && Number(v) <= 2_147_483_647, 'must be an id 1…2147483647');

/** An appId in a path (anything else is answered like an unknown app, 4040). */
export const appIdPathParam = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);

export const loginSchema = z.strictObject({
  username: z.string().max(64),
  password: z.string().max(256),
});

export const noteSchema = z.strictObject({ note: z.string().trim().max(256).optional() });

export function appPatchSchema(allowPrivateUrls: boolean) {
  return z
    .strictObject({
      name: text(64).optional(),
      contact: text(128).nullable().optional(),
      notifyUrl: httpUrl(allowPrivateUrls).nullable().optional(),
      returnUrl: httpUrl(true).nullable().optional(),
    })
    .refine((b) => Object.keys(b).length > 0, 'nothing to change');
}

export const rotateKeySchema = z.strictObject({
  /** Override of KEY_ROTATION_GRACE_SECONDS for this rotation; 0 revokes the old key at once (leaked key). */
  graceSeconds: z.number().int().min(0).max(30 * 86_400).optional(),
});


/** Provider secrets: flat string fields (PEM keys, APIv3 key, serials…), at most 64 KiB together. */
const secrets = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'secret field names are identifiers'), z.string().max(16_384))
  .refine((o) => Object.keys(o).length <= 32, 'at most 32 secret fields')
  .refine((o) => JSON.stringify(o).length <= 65_536, 'secrets too large');

/** `channelTypes`: the wallets the provider registry knows. */
export function channelConfigCreateSchema(channelTypes: readonly string[]) {
  return z.strictObject({
    channelType: z.enum(channelTypes as [string, ...string[]]),
    name: text(64),
    mchId: text(64),
    providerAppId: text(64),
    gatewayUrl: httpUrl(true),
    secrets,
  });
}

export const channelConfigPatchSchema = z
  .strictObject({
    name: text(64).optional(),
    mchId: text(64).optional(),
    providerAppId: text(64).optional(),
    gatewayUrl: httpUrl(true).optional(),
    /** Replaces every secret when given; absent keeps the stored ones. */
    secrets: secrets.optional(),
    status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

export const channelCreateSchema = z.strictObject({
  sceneCode: z.enum(SCENE_CODES),
  channelName: text(64),
  sort: z.number().int().min(1).max(999).optional(),
});

export const channelPatchSchema = z
  .strictObject({
    channelName: text(64).optional(),
    sort: z.number().int().min(1).max(999).optional(),
    status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

const page = z.coerce.number().int().min(1).max(100_000).default(1);
const pageSize = z.coerce.number().int().min(1).max(100).default(20);
const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

export const appListQuery = z.object({
  status: z.preprocess(emptyToUndefined, z.enum(APP_STATUSES).optional()),
  q: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
  page,
  pageSize,
});

export const bindingListQuery = z.object({
  status: z.preprocess(emptyToUndefined, z.enum(BINDING_STATUSES).optional()),
  appId: z.preprocess(emptyToUndefined, z.string().max(32).optional()),
  page,
  pageSize,
});

const isoDate = z.preprocess(emptyToUndefined, z.coerce.date().optional());

export const orderSearchQuery = z
  .object({
    outTradeNo: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
    status: z.preprocess(emptyToUndefined, z.enum(ORDER_STATUSES).optional()),
    appId: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
    createdFrom: isoDate,
    createdTo: isoDate,
    page,
    pageSize,
  })
  .refine((f) => !f.createdFrom || !f.createdTo || f.createdFrom <= f.createdTo, 'createdFrom must not be after createdTo');

export const auditListQuery = z.object({
  action: z.preprocess(emptyToUndefined, z.string().trim().max(48).optional()),
  actor: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
  targetType: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
  targetId: z.preprocess(emptyToUndefined, z.string().trim().max(128).optional()),
  page,
  pageSize,
});

export const refundListQuery = z.object({
  outRefundNo: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
  outTradeNo: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
  status: z.preprocess(emptyToUndefined, z.enum(REFUND_STATUSES).optional()),
  source: z.preprocess(emptyToUndefined, z.enum(REFUND_SOURCES).optional()),
  appId: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
  page,
  pageSize,
});

export const exceptionListQuery = z.object({
  kind: z.preprocess(emptyToUndefined, z.enum(PAYMENT_EXCEPTION_KINDS).optional()),
  status: z.preprocess(emptyToUndefined, z.enum(PAYMENT_EXCEPTION_STATUSES).optional()),
  appId: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
  outTradeNo: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
  page,
  pageSize,
});

/** An administrator's refund of an order: amount in fen, a reason for the audit log, and the form's request id. */
export const adminRefundSchema = z.strictObject({
  amount: z.number().int('amount must be an integer number of fen').min(MIN_AMOUNT_FEN).max(MAX_AMOUNT_FEN),
  reason: z.string().trim().min(1).max(128),
  requestId: z.string().regex(/^[A-Za-z0-9_-]{8,40}$/, 'requestId must be 8-40 characters of [A-Za-z0-9_-]').optional(),
});

const day = z.string().refine(isDay, 'must be a date yyyy-MM-dd');
const optionalId = z.preprocess(emptyToUndefined, z.coerce.number().int().positive().max(2_147_483_647).optional());

export const reconciliationRunQuery = z.object({
  day: z.preprocess(emptyToUndefined, day.optional()),
  configId: optionalId,
  status: z.preprocess(emptyToUndefined, z.enum(RECONCILIATION_RUN_STATUSES).optional()),
  page,
  pageSize,
});

export const discrepancyQuery = z.object({
  runId: optionalId,
  day: z.preprocess(emptyToUndefined, day.optional()),
  configId: optionalId,
  kind: z.preprocess(emptyToUndefined, z.enum(DISCREPANCY_KINDS).optional()),
  recordKind: z.preprocess(emptyToUndefined, z.enum(['PAYMENT', 'REFUND']).optional()),
  page,
  pageSize,
});

export const reconciliationRunSchema = z.strictObject({ day, configId: z.number().int().positive().max(2_147_483_647) });

/** A day range in Asia/Shanghai (inclusive days); the statistics default to the last 30 days. */
export const statisticsQuery = z
  .object({
    from: z.preprocess(emptyToUndefined, day.optional()),
    to: z.preprocess(emptyToUndefined, day.optional()),
    appId: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
    channelType: z.preprocess(emptyToUndefined, z.string().trim().max(16).optional()),
    sceneCode: z.preprocess(emptyToUndefined, z.enum(SCENE_CODES).optional()),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, 'from must not be after to');

export const exportQuery = z
  .object({
    from: day,
    to: day,
    appId: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
  })
  .refine((f) => f.from <= f.to, 'from must not be after to');

export const transferListQuery = z.object({
  outBizNo: z.preprocess(emptyToUndefined, z.string().trim().max(64).optional()),
  status: z.preprocess(emptyToUndefined, z.enum(TRANSFER_STATUSES).optional()),
  appId: z.preprocess(emptyToUndefined, z.string().trim().max(32).optional()),
  page,
  pageSize,
});

const fen = z.number().int().min(0).max(MAX_AMOUNT_FEN);

/** An app's transfer settings (fen). Enabled settings need a maximum and a daily total at least that large. */
export const transferSettingsSchema = z
  .strictObject({ enabled: z.boolean(), maxPerTransfer: fen, dailyLimit: fen, approvalThreshold: fen })
  .refine((s) => !s.enabled || (s.maxPerTransfer > 0 && s.dailyLimit >= s.maxPerTransfer), { message: '开通转账时单笔上限须大于 0，且每日限额不小于单笔上限', path: ['dailyLimit'] });

export const transferDecisionSchema = z.strictObject({ note: z.string().trim().max(256).optional() });
