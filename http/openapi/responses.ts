/**
 * Response schemas (zod) of the JSON APIs: the `data` of each success envelope, the envelope itself and the error
 * envelope. The OpenAPI document is generated from them, and `ResponseConformance` below makes tsc compare each with
 * the type its handler actually returns (same keys, assignable values), so a field added to a view without a
 * schema change fails `npm run lint`; the e2e test of the document validates recorded answers against them too.
 */
import { z } from 'zod';
import type { OrderService } from '../../app/orders';
import type { RefundView } from '../../app/refunds';
import type { RegistrationService } from '../../app/registration';
import type { TransferView } from '../../app/transfers';
import type { OperatorService } from '../../app/operator';
import { APP_STATUSES } from '../../domain/app';
import { BINDING_STATUSES, SCENE_CODES } from '../../domain/channel';
import { DEFAULT_MESSAGES, ErrorCode, type ErrorCodeValue } from '../../domain/errors';
import { ORDER_STATUSES } from '../../domain/order';
import { DISCREPANCY_KINDS, RECONCILIATION_RUN_STATUSES } from '../../domain/reconciliation';
import { PAYMENT_EXCEPTION_KINDS, PAYMENT_EXCEPTION_STATUSES, REFUND_SOURCES, REFUND_STATUSES } from '../../domain/refund';
import { TRANSFER_STATUSES } from '../../domain/transfer';
import { SIGN_TYPES } from '../../signature';
import type { cashierSummary } from '../cashier';
import type * as views from '../console/views';

// ---- building blocks ----------------------------------------------------------------------------------------

const fen = z.number().int().min(0).describe('integer fen (分)');
const id = z.number().int().positive();
/** `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai, the merchant API's time format. */
const shanghaiTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
  .describe('yyyy-MM-dd HH:mm:ss, Asia/Shanghai');
/** ISO 8601 instants of the administrator API. */
const isoTime = z.iso.datetime();
const nullableIso = isoTime.nullable();
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .describe('yyyy-MM-dd, Asia/Shanghai');
const orderStatus = z.enum(ORDER_STATUSES);
const notifyStatus = z.string().describe('NONE | PENDING | ACKED | NOTIFY_EXHAUSTED | STOPPED');
const sceneCode = z.enum(SCENE_CODES);
const stringMap = z.record(z.string(), z.string());

export const OK_CODE = ErrorCode.OK;

/** The success envelope around `data` (absent when the call returns nothing). */
export function envelopeSchema(data?: z.ZodType) {
  return z.strictObject({
    code: z.literal(ErrorCode.OK),
    msg: z.string(),
    ...(data ? { data } : {}),
    responseTime: z.number().int().describe('epoch ms'),
  });
}

/** The error envelope of one code: its HTTP status is httpStatusFor(code) (domain/errors.ts). */
export function errorEnvelopeSchema(code: ErrorCodeValue) {
  return z.strictObject({ code: z.literal(code), msg: z.string().describe(`e.g. ${DEFAULT_MESSAGES[code]}`), responseTime: z.number().int() }).meta({
    example: { code, msg: DEFAULT_MESSAGES[code], responseTime: 1764669600000 },
  });
}

// ---- merchant API -------------------------------------------------------------------------------------------

export const merchantChannel = z.strictObject({
  id: id.describe('the binding (app ↔ channel) id'),
  appId: z.string(),
  appName: z.string(),
  channelId: id,
  channelType: z.string().describe('ali-pay | wx-pay'),
  channelName: z.string(),
  sceneName: z.string(),
  sceneCode,
  configId: id,
  mchId: z.string(),
  url: z.string().describe('where the cashier page posts {token, channelId} to pay with this channel'),
  method: z.literal('POST'),
  enctype: z.literal('json'),
  sort: z.number().int(),
});

export const orderSignatureBlock = z.strictObject({
  appId: z.string(),
  nonce: z.string(),
  timestamp: z.number().int(),
  outTradeNo: z.string(),
  signature: z.string().describe('ORDER string signed with the appKey (Signature v1)'),
});

export const unifiedOrderData = z.strictObject({
  token: z.string().regex(/^[0-9A-F]{32}$/),
  orderId: id,
  signature: orderSignatureBlock,
  channels: z.array(merchantChannel),
});

export const paymentListData = z.strictObject({ url: z.string().describe('the hosted cashier page of the order') });

export const payResultData = z.strictObject({
  channelId: id.nullable(),
  channelType: z.string().nullable(),
  mchId: z.string().nullable(),
  payTime: shanghaiTime.nullable(),
  resultCode: z.enum(['SUCCESS', 'FINISH', 'FAIL', 'NULL']),
  resultErrorCode: z.string().nullable(),
  resultErrorMsg: z.string().nullable(),
  refundedAmount: fen,
});

export const merchantRefundCreated = z.strictObject({
  refundId: id,
  outRefundNo: z.string(),
  outTradeNo: z.string(),
  amount: fen,
  status: z.enum(REFUND_STATUSES),
});

export const merchantRefundData = z.strictObject({
  refundId: id,
  outRefundNo: z.string(),
  outTradeNo: z.string(),
  amount: fen,
  status: z.enum(REFUND_STATUSES),
  refundTime: shanghaiTime.nullable(),
  channelType: z.string(),
  resultErrorCode: z.string().nullable(),
  resultErrorMsg: z.string().nullable(),
});

export const merchantTransferData = z.strictObject({
  transferId: id,
  outBizNo: z.string(),
  channelType: z.string(),
  amount: fen,
  payeeType: z.string(),
  payeeAccount: z.string(),
  status: z.enum(TRANSFER_STATUSES),
  transferTime: shanghaiTime.nullable(),
  resultErrorCode: z.string().nullable(),
  resultErrorMsg: z.string().nullable(),
  confirm: stringMap.nullable().describe('while WAIT_USER_CONFIRM: what the payee client passes to WeChat requestMerchantTransfer'),
});

// ---- cashier page endpoints -----------------------------------------------------------------------------------

export const cashierSummaryData = z.strictObject({
  orderTitle: z.string(),
  goodsDesc: z.string(),
  amount: fen,
  expireAt: z.number().int().describe('epoch ms'),
  status: orderStatus,
  resultCode: z.enum(['SUCCESS', 'FINISH', 'FAIL', 'NULL']),
  returnUrl: z.string().nullable(),
  channels: z.array(z.strictObject({ channelId: id, channelType: z.string(), channelName: z.string(), sceneCode, sceneName: z.string() })),
  appName: z.string().nullable(),
  outTradeNo: z.string(),
  serverTime: z.number().int().describe('epoch ms, for countdowns'),
});

export const prepayData = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('redirect'), url: z.string() }),
  z.strictObject({ kind: z.literal('form'), html: z.string() }),
  z.strictObject({ kind: z.literal('qr'), codeUrl: z.string() }),
  z.strictObject({ kind: z.literal('app'), orderString: z.string().optional(), params: stringMap.optional() }),
  z.strictObject({ kind: z.literal('jsapi'), params: stringMap }),
]);

// ---- registration and binding -----------------------------------------------------------------------------------

export const registerData = z.strictObject({
  appId: z.string(),
  appKey: z.string().describe('shown once: store it; it signs every request'),
  status: z.literal('PENDING'),
  signType: z.enum(SIGN_TYPES),
  notice: z.string(),
});

export const applyBindingData = z.strictObject({
  applications: z.array(
    z.strictObject({
      channelId: id,
      status: z.enum(BINDING_STATUSES),
      autoApproveAt: shanghaiTime.nullable().describe('when 方式二 approves it, while PENDING'),
    }),
  ),
});

// ---- administrator API ------------------------------------------------------------------------------------------

export const sessionData = z.strictObject({
  username: z.string(),
  csrfToken: z.string().describe('send as X-CSRF-Token on every state-changing request'),
  expiresAt: nullableIso,
  idleTimeoutSeconds: z.number().int(),
  temporalUiUrl: z.string(),
  keyRotationGraceSeconds: z.number().int(),
  bindingAutoApproveSeconds: z.number().int(),
});

export const overviewData = z.strictObject({ pendingApps: z.number().int(), pendingBindings: z.number().int(), ordersToday: z.number().int(), notifyProblems: z.number().int() });

export const appData = z.strictObject({
  appId: z.string(),
  name: z.string(),
  status: z.string().describe(APP_STATUSES.join(' | ')),
  contact: z.string().nullable(),
  notifyUrl: z.string().nullable(),
  returnUrl: z.string().nullable(),
  signType: z.string(),
  previousKeyValidUntil: nullableIso,
  keyRotatedAt: nullableIso,
  statusChangedAt: nullableIso,
  createdAt: nullableIso,
  updatedAt: nullableIso,
  bindingsApproved: z.number().int(),
  bindingsPending: z.number().int(),
});

export const bindingData = z.strictObject({
  id,
  appId: z.string(),
  appName: z.string(),
  appStatus: z.string(),
  channelId: id,
  channelType: z.string(),
  channelName: z.string(),
  sceneCode: z.string(),
  sceneName: z.string(),
  configId: id,
  configName: z.string(),
  mchId: z.string(),
  status: z.enum(BINDING_STATUSES),
  appliedAt: nullableIso,
  autoApproveAt: nullableIso,
  decidedAt: nullableIso,
  decidedBy: z.string().nullable(),
  decisionNote: z.string().nullable(),
  workflowId: z.string().nullable(),
  workflowUrl: z.string().nullable(),
});

export const appDetailData = appData.extend({ bindings: z.array(bindingData) });

export const rotateKeyData = z.strictObject({
  appId: z.string(),
  appKey: z.string().describe('the new key, shown once'),
  previousKeyValidUntil: isoTime,
  graceSeconds: z.number().int(),
  notice: z.string(),
});

export const channelData = z.strictObject({ id, configId: id, channelType: z.string(), channelName: z.string(), sceneCode: z.string(), sceneName: z.string(), sort: z.number().int(), status: z.string() });

export const channelConfigData = z.strictObject({
  id,
  channelType: z.string(),
  name: z.string(),
  mchId: z.string(),
  providerAppId: z.string(),
  gatewayUrl: z.string(),
  status: z.string(),
  createdAt: nullableIso,
  updatedAt: nullableIso,
  secretFields: z.array(z.string()).describe('names of the stored secrets; values never leave the database'),
  channels: z.array(channelData),
});

export const bindingDecisionData = z.strictObject({ id, appId: z.string(), channelId: id, status: z.enum(BINDING_STATUSES), workflowId: z.string().nullable() });

const notifyAttempt = z.strictObject({
  attempt: z.number().int(),
  trigger: z.string(),
  scheduledAt: nullableIso,
  startedAt: nullableIso,
  httpStatus: z.number().int().nullable(),
  latencyMs: z.number().int(),
  acknowledged: z.boolean(),
  error: z.string().nullable(),
});

export const orderListItemData = z.strictObject({
  id,
  appId: z.string(),
  appName: z.string().nullable(),
  outTradeNo: z.string(),
  amount: fen,
  orderTitle: z.string(),
  status: z.string().describe(ORDER_STATUSES.join(' | ')),
  channelType: z.string().nullable(),
  notifyStatus,
  payTime: nullableIso,
  createdAt: nullableIso,
  workflowId: z.string(),
  workflowUrl: z.string(),
});

export const adminRefundData = z.strictObject({
  id,
  appId: z.string(),
  outRefundNo: z.string(),
  orderId: id,
  paymentExceptionId: id.nullable(),
  source: z.enum(REFUND_SOURCES),
  createdBy: z.string().nullable(),
  amount: fen,
  reason: z.string().nullable(),
  status: z.enum(REFUND_STATUSES),
  channelType: z.string(),
  providerOutTradeNo: z.string(),
  providerRefundId: z.string().nullable(),
  refundTime: nullableIso,
  resultErrorCode: z.string().nullable(),
  resultErrorMsg: z.string().nullable(),
  notifyUrl: z.string().nullable(),
  notifyStatus,
  createdAt: nullableIso,
  workflowId: z.string(),
  workflowUrl: z.string(),
});

export const paymentExceptionData = z.strictObject({
  id,
  kind: z.enum(PAYMENT_EXCEPTION_KINDS),
  status: z.enum(PAYMENT_EXCEPTION_STATUSES),
  orderId: id,
  outTradeNo: z.string().nullable(),
  appId: z.string(),
  appName: z.string().nullable(),
  channelId: id,
  channelType: z.string(),
  providerOutTradeNo: z.string(),
  providerTradeNo: z.string().nullable(),
  amount: fen,
  orderStatus: z.string(),
  detectedBy: z.string(),
  refundReserved: fen,
  createdAt: nullableIso,
  canRefund: z.boolean(),
});

const workflowLink = {
  id: z.string(),
  url: z.string(),
  status: z.string().nullable(),
  startTime: nullableIso,
  closeTime: nullableIso,
};

export const orderDetailData = z.strictObject({
  id,
  appId: z.string(),
  appName: z.string().nullable(),
  outTradeNo: z.string(),
  amount: fen,
  orderTitle: z.string(),
  goodsDesc: z.string(),
  thirdPartyUser: z.string(),
  status: orderStatus,
  channelId: id.nullable(),
  channelType: z.string().nullable(),
  mchId: z.string().nullable(),
  providerTradeNo: z.string().nullable(),
  payTime: nullableIso,
  resultErrorCode: z.string().nullable(),
  resultErrorMsg: z.string().nullable(),
  notifyUrl: z.string().nullable(),
  returnUrl: z.string().nullable(),
  notifyStatus,
  expireAt: nullableIso,
  createdAt: nullableIso,
  updatedAt: nullableIso,
  attempts: z.array(notifyAttempt),
  workflow: z.strictObject({ ...workflowLink, nextNotifyAt: nullableIso, notifyStatus: z.string().nullable() }),
  canRenotify: z.boolean(),
  refundedAmount: fen,
  refundable: fen,
  refunds: z.array(adminRefundData),
  exceptions: z.array(paymentExceptionData),
});

export const renotifyData = z.strictObject({ id, workflowId: z.string(), signalled: z.boolean() });

export const refundListItemData = z.strictObject({
  id,
  appId: z.string(),
  appName: z.string().nullable(),
  outRefundNo: z.string(),
  orderId: id,
  outTradeNo: z.string(),
  source: z.enum(REFUND_SOURCES),
  amount: fen,
  status: z.enum(REFUND_STATUSES),
  channelType: z.string(),
  refundTime: nullableIso,
  resultErrorCode: z.string().nullable(),
  notifyStatus,
  createdAt: nullableIso,
  workflowId: z.string(),
  workflowUrl: z.string(),
});

export const refundDetailData = adminRefundData.extend({
  outTradeNo: z.string(),
  attempts: z.array(notifyAttempt),
  workflow: z.strictObject({ ...workflowLink, providerCalls: z.number().int().nullable(), nextNotifyAt: nullableIso }),
});

export const adminTransferData = z.strictObject({
  id,
  appId: z.string(),
  outBizNo: z.string(),
  channelType: z.string(),
  amount: fen,
  payeeType: z.string(),
  payeeAccount: z.string(),
  payeeName: z.string().nullable(),
  remark: z.string(),
  notifyUrl: z.string().nullable(),
  day,
  needsApproval: z.boolean(),
  status: z.enum(TRANSFER_STATUSES),
  decidedBy: z.string().nullable(),
  decidedAt: nullableIso,
  decisionNote: z.string().nullable(),
  providerTransferId: z.string().nullable(),
  transferTime: nullableIso,
  resultErrorCode: z.string().nullable(),
  resultErrorMsg: z.string().nullable(),
  notifyStatus,
  createdAt: nullableIso,
  workflowId: z.string(),
  workflowUrl: z.string(),
  canDecide: z.boolean(),
});

export const transferListItemData = adminTransferData.extend({ appName: z.string().nullable() });

export const transferDetailData = adminTransferData.extend({
  dailyReserved: fen,
  attempts: z.array(notifyAttempt),
  workflow: z.strictObject(workflowLink),
});

export const transferSettingsData = z.strictObject({ enabled: z.boolean(), maxPerTransfer: fen, dailyLimit: fen, approvalThreshold: fen });

const counts = z.strictObject({ paymentCount: z.number().int().nullable(), paymentAmount: fen.nullable(), refundCount: z.number().int().nullable(), refundAmount: fen.nullable() });

export const reconciliationRunData = z.strictObject({
  id,
  day,
  configId: id,
  channelType: z.string(),
  status: z.enum(RECONCILIATION_RUN_STATUSES),
  trigger: z.enum(['SCHEDULE', 'ADMIN']),
  requestedBy: z.string().nullable(),
  attempt: z.number().int(),
  provider: counts,
  local: counts,
  discrepancyCount: z.number().int().nullable(),
  error: z.string().nullable(),
  startedAt: nullableIso,
  finishedAt: nullableIso,
  workflowId: z.string(),
  workflowUrl: z.string(),
});

export const discrepancyData = z.strictObject({
  id,
  runId: id,
  day,
  configId: id,
  kind: z.enum(DISCREPANCY_KINDS),
  recordKind: z.enum(['PAYMENT', 'REFUND']),
  providerOutTradeNo: z.string().nullable(),
  providerTradeNo: z.string().nullable(),
  outRefundNo: z.string().nullable(),
  orderId: id.nullable(),
  refundId: id.nullable(),
  providerAmount: fen.nullable(),
  localAmount: fen.nullable(),
  localStatus: z.string().nullable(),
  resolution: z.enum(['HEALED', 'EXCEPTION', 'UNKNOWN_TRADE', 'NOT_PAID']).nullable(),
  detail: z.string().nullable(),
  createdAt: nullableIso,
});

export const reconciliationStartedData = z.strictObject({ workflowId: z.string(), workflowUrl: z.string() });

const rate = z.number().min(0).max(1).nullable();
export const statisticsData = z.strictObject({
  days: z.array(
    z.strictObject({
      day,
      created: z.number().int(),
      paidCount: z.number().int(),
      paidAmount: fen,
      refundCount: z.number().int(),
      refundAmount: fen,
      notified: z.number().int(),
      firstAttemptAcked: z.number().int(),
      exhausted: z.number().int(),
      p95AckMs: z.number().nullable(),
      successRate: rate,
      firstAttemptAckRate: rate,
    }),
  ),
  totals: z.strictObject({
    created: z.number().int(),
    paidCount: z.number().int(),
    paidAmount: fen,
    refundCount: z.number().int(),
    refundAmount: fen,
    exhausted: z.number().int(),
    successRate: rate,
    firstAttemptAckRate: rate,
  }),
});

export const auditData = z.strictObject({
  id,
  at: nullableIso,
  actor: z.string(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  outcome: z.string(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});

/** A page of a list: `items` plus the paging the request asked for. */
export function pageOf(item: z.ZodType) {
  return z.strictObject({ items: z.array(item), total: z.number().int().min(0), page: z.number().int().min(1), pageSize: z.number().int().min(1) });
}

export const channelConfigListData = z.strictObject({ items: z.array(channelConfigData) });

// ---- compile-time conformance with what the handlers return ---------------------------------------------------------

/** true when A and B have the same keys and A's values fit B's (top level; nested shapes are checked at run time by the e2e test). */
type Conforms<A, B> = [A] extends [B] ? ([Exclude<keyof A, keyof B>] extends [never] ? ([Exclude<keyof B, keyof A>] extends [never] ? true : ['missing in handler', Exclude<keyof B, keyof A>]) : ['missing in schema', Exclude<keyof A, keyof B>]) : ['not assignable', A, B];
type Check<A, S extends z.ZodType> = Conforms<A, z.output<S>>;
type Returned<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;
type Item<T> = T extends ReadonlyArray<infer I> ? I : never;
type Assert<T extends true> = T;

/** Each entry fails to compile when a handler's answer and its documented schema part ways. */
export type ResponseConformance = [
  Assert<Check<Item<Returned<OrderService['unifiedOrder']>['channels']>, typeof merchantChannel>>,
  Assert<Check<Returned<OrderService['payResult']>, typeof payResultData>>,
  Assert<Check<Returned<OrderService['payWithChannel']>, typeof prepayData>>,
  Assert<Check<Pick<RefundView, 'refundId' | 'outRefundNo' | 'outTradeNo' | 'amount' | 'status'>, typeof merchantRefundCreated>>,
  Assert<Check<RefundView, typeof merchantRefundData>>,
  Assert<Check<TransferView, typeof merchantTransferData>>,
  Assert<Check<ReturnType<typeof cashierSummary>, typeof cashierSummaryData>>,
  Assert<Check<Item<Returned<RegistrationService['applyForChannels']>>, (typeof applyBindingData)['shape']['applications']['element']>>,
  Assert<Check<ReturnType<typeof views.sessionView>, typeof sessionData>>,
  Assert<Check<Returned<OperatorService['overview']>, typeof overviewData>>,
  Assert<Check<ReturnType<typeof views.appView>, typeof appData>>,
  Assert<Check<ReturnType<typeof views.bindingView>, typeof bindingData>>,
  Assert<Check<ReturnType<typeof views.channelView>, typeof channelData>>,
  Assert<Check<ReturnType<typeof views.channelConfigView>, typeof channelConfigData>>,
  Assert<Check<ReturnType<typeof views.orderListView>, typeof orderListItemData>>,
  Assert<Check<ReturnType<typeof views.orderDetailView>, typeof orderDetailData>>,
  Assert<Check<Returned<OperatorService['renotify']>, typeof renotifyData>>,
  Assert<Check<ReturnType<typeof views.refundView>, typeof adminRefundData>>,
  Assert<Check<ReturnType<typeof views.refundListView>, typeof refundListItemData>>,
  Assert<Check<ReturnType<typeof views.refundDetailView>, typeof refundDetailData>>,
  Assert<Check<ReturnType<typeof views.paymentExceptionView>, typeof paymentExceptionData>>,
  Assert<Check<ReturnType<typeof views.transferView>, typeof adminTransferData>>,
  Assert<Check<ReturnType<typeof views.transferDetailView>, typeof transferDetailData>>,
  Assert<Check<Returned<OperatorService['transferSettings']>, typeof transferSettingsData>>,
  Assert<Check<ReturnType<typeof views.reconciliationRunView>, typeof reconciliationRunData>>,
  Assert<Check<ReturnType<typeof views.discrepancyView>, typeof discrepancyData>>,
  Assert<Check<ReturnType<typeof views.statisticsView>, typeof statisticsData>>,
  Assert<Check<ReturnType<typeof views.auditView>, typeof auditData>>,
  Assert<Check<Returned<OperatorService['refundOrder']>, typeof merchantRefundData>>,
  Assert<Check<Returned<OperatorService['refundPaymentException']>, typeof merchantRefundData>>,
  Assert<Check<Returned<OperatorService['decideTransfer']>, typeof merchantTransferData>>,
  Assert<Check<Returned<RegistrationService['register']>['signType'], (typeof registerData)['shape']['signType']>>,
];

/** GET /healthz. */
export const healthData = z.strictObject({ status: z.literal('ok') });
