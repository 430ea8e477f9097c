/**
 * The route table of the OpenAPI document: every JSON route of the HTTP app, with the very zod schemas its handler
 * parses (http/validation.ts, http/console/schemas.ts) and the response schemas of ./responses.ts. The document
 * test walks the Express routers and fails when a mounted route is missing here or a route here is not mounted.
 */
import { z } from 'zod';
import { SCENE_CODES } from '../../domain/channel';
import { ErrorCode, type ErrorCodeValue } from '../../domain/errors';
import { ADMIN_API_BASE, MERCHANT_API_BASE, REGISTRATION_API_BASE } from '../../domain/urls';
import * as admin from '../console/schemas';
import { outBizNoParam, outRefundNoParam, paymentListSchema, payWithChannelSchema, refundSchema, transferSchema, unifiedOrderSchema } from '../validation';
import * as r from './responses';

export type Tag = 'merchant' | 'cashier' | 'registration' | 'admin' | 'callbacks' | 'operations';

/**
 * Who may call a route: Signature v1 (merchant app), an administrator session (cookie, plus X-CSRF-Token on state
 * changes), the order token (cashier page), the wallet's own signature (provider callbacks), or anyone.
 */
export type Auth = 'signed' | 'admin' | 'admin-login' | 'none' | 'provider';

export interface RouteDoc {
  operationId: string;
  method: 'get' | 'post' | 'put' | 'patch';
  /** OpenAPI form, `{param}`. */
  path: string;
  tag: Tag;
  summary: string;
  description?: string;
  auth: Auth;
  params?: Record<string, { schema: z.ZodType; description?: string }>;
  query?: z.ZodType;
  body?: z.ZodType;
  bodyExample?: unknown;
  /** JSON `data` of the success envelope; null: an envelope without data. */
  data?: z.ZodType | null;
  dataExample?: unknown;
  /** A non-envelope answer: a CSV file, a provider acknowledgement, the document itself, the health check. */
  raw?: 'csv' | 'provider-ack' | 'openapi' | 'health';
  csvExample?: string;
  /** Error codes this route answers besides the ones every route of its kind may answer. */
  errors?: ErrorCodeValue[];
}

/** Codes every route of a kind may answer (rate limits, body size, authentication, internal errors). */
export const COMMON_ERRORS: Record<Auth, ErrorCodeValue[]> = {
  signed: [ErrorCode.VALIDATION, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.TOO_LARGE, ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL],
  admin: [ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL],
  'admin-login': [ErrorCode.VALIDATION, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL],
  none: [ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL],
  provider: [],
};

const { VALIDATION, FORBIDDEN, NOT_FOUND, CONFLICT, TOO_LARGE, PROVIDER_UNAVAILABLE } = ErrorCode;

const M = MERCHANT_API_BASE;
const SA = REGISTRATION_API_BASE;
const A = ADMIN_API_BASE;

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .describe('yyyy-MM-dd (Asia/Shanghai)');
const idParam = { id: { schema: admin.idPathParam } };
const appIdParam = { appId: { schema: admin.appIdPathParam } };

export function routeTable(opts: { allowPrivateNotifyUrls: boolean; channelTypes: readonly string[] }): RouteDoc[] {
  const order = unifiedOrderSchema(opts.allowPrivateNotifyUrls);
  const channelType = z.enum(opts.channelTypes as [string, ...string[]]);
  const callback = (suffix: string, what: string): RouteDoc => ({
    operationId: `providerCallback${suffix ? suffix[1].toUpperCase() + suffix.slice(2) : 'Payment'}`,
    method: 'post',
    path: `${M}/callbacks/{channelType}/{configId}${suffix}`,
    tag: 'callbacks',
    summary: `Provider callback: ${what}`,
    description:
      'Called by Alipay or WeChat Pay, not by merchants. The raw body is verified with the keys of the channel config `configId` (Alipay RSA2 form parameters, WeChat Pay APIv3 signature headers and AES-GCM resource), and the answer is exactly what the provider expects (`success` / `{"code":"SUCCESS"}`, or a failure that makes it retry).',
    auth: 'provider',
    params: { channelType: { schema: channelType }, configId: { schema: z.string().regex(/^\d+$/), description: 'the channel config whose keys verify the callback' } },
    raw: 'provider-ack',
  });

  return [
    // ---- merchant API (Signature v1) -------------------------------------------------------------------------
    {
      operationId: 'unifiedOrder',
      method: 'post',
      path: `${M}/unified/orders`,
      tag: 'merchant',
      summary: '下单 Unified order',
      description:
        'Creates the order (idempotent per `outTradeNo`: the same request again returns the same order and token; other content with the same `outTradeNo` is 4090) and starts its PaymentWorkflow. Unknown and server-owned fields are 4000.',
      auth: 'signed',
      body: order,
      bodyExample: { amount: 1999, goodsDesc: '收银台测试商品', orderTitle: '测试订单', outTradeNo: '110', thirdPartyUser: 'user-1', notifyUrl: 'https://shop.example.com/pay/notify', expireSeconds: 900 },
      data: r.unifiedOrderData,
      dataExample: {
        token: '8FD92320C51048D1B69264E5899B6DBF',
        orderId: 160,
        signature: { appId: '10123', nonce: 'a1B2c3D4e5F6g7H8', timestamp: 1617096420811, outTradeNo: '110', signature: '58018786e6c19d37e319df1297f2ff796d0c7f6ecafa9f08486f43976001e0ee' },
        channels: [
          { id: 1, appId: '10123', appName: '商户A', channelId: 1, channelType: 'ali-pay', channelName: '支付宝', sceneName: 'H5支付', sceneCode: 'h5', configId: 1, mchId: '2021000117617568', url: 'https://pay.example.com/api/cashier-desk/ali-pay/h5', method: 'POST', enctype: 'json', sort: 1 },
        ],
      },
      errors: [CONFLICT],
    },
    {
      operationId: 'paymentList',
      method: 'post',
      path: `${M}/payment/list`,
      tag: 'merchant',
      summary: '选择支付方式 Choose the channels offered',
      description: 'Restricts the cashier page to these channels (at most one per channel type, each bound and approved for the app) and returns its URL.',
      auth: 'signed',
      body: paymentListSchema,
      bodyExample: { token: '8FD92320C51048D1B69264E5899B6DBF', channelIds: [1, 3] },
      data: r.paymentListData,
      dataExample: { url: 'https://pay.example.com/cashier-desk-web/payment?token=8FD92320C51048D1B69264E5899B6DBF' },
      errors: [NOT_FOUND, CONFLICT],
    },
    {
      operationId: 'queryPayResult',
      method: 'get',
      path: `${M}/out-trade-no/query-pay-result/{outTradeNo}`,
      tag: 'merchant',
      summary: '查询支付结果 Query the payment result',
      description: 'Another app’s order is 4040, never 4030.',
      auth: 'signed',
      params: { outTradeNo: { schema: order.shape.outTradeNo } },
      data: r.payResultData,
      dataExample: { channelId: 1, channelType: 'ali-pay', mchId: '2021000117617568', payTime: '2026-11-25 12:00:00', resultCode: 'SUCCESS', resultErrorCode: null, resultErrorMsg: null, refundedAmount: 500 },
      errors: [NOT_FOUND],
    },
    {
      operationId: 'refund',
      method: 'post',
      path: `${M}/refunds`,
      tag: 'merchant',
      summary: '退款 Refund',
      description: 'Idempotent per `outRefundNo`; an order that is not paid, is FINISH, or has less left to refund is 4090.',
      auth: 'signed',
      body: refundSchema(opts.allowPrivateNotifyUrls),
      bodyExample: { outTradeNo: '110', outRefundNo: 'R110-1', amount: 500, reason: '七天无理由' },
      data: r.merchantRefundCreated,
      dataExample: { refundId: 7, outRefundNo: 'R110-1', outTradeNo: '110', amount: 500, status: 'PROCESSING' },
      errors: [NOT_FOUND, CONFLICT, PROVIDER_UNAVAILABLE],
    },
    {
      operationId: 'queryRefund',
      method: 'get',
      path: `${M}/refunds/{outRefundNo}`,
      tag: 'merchant',
      summary: '退款查询 Query a refund',
      auth: 'signed',
      params: { outRefundNo: { schema: outRefundNoParam } },
      data: r.merchantRefundData,
      dataExample: { refundId: 7, outRefundNo: 'R110-1', outTradeNo: '110', amount: 500, status: 'SUCCESS', refundTime: '2026-11-25 12:03:10', channelType: 'ali-pay', resultErrorCode: null, resultErrorMsg: null },
      errors: [NOT_FOUND],
    },
    {
      operationId: 'transfer',
      method: 'post',
      path: `${M}/transfers`,
      tag: 'merchant',
      summary: '转账 Transfer',
      description: 'Off unless an administrator enabled transfers for the app (4030). Above the per-transfer maximum or the day’s remaining total: 4090. Idempotent per `outBizNo`.',
      auth: 'signed',
      body: transferSchema(opts.allowPrivateNotifyUrls, opts.channelTypes),
      bodyExample: { outBizNo: 'W-1001', channelType: 'ali-pay', amount: 5000, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: '推广奖励' },
      data: r.merchantTransferData,
      dataExample: { transferId: 3, outBizNo: 'W-1001', channelType: 'ali-pay', amount: 5000, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', status: 'PROCESSING', transferTime: null, resultErrorCode: null, resultErrorMsg: null, confirm: null },
      errors: [CONFLICT],
    },
    {
      operationId: 'queryTransfer',
      method: 'get',
      path: `${M}/transfers/{outBizNo}`,
      tag: 'merchant',
      summary: '转账查询 Query a transfer',
      auth: 'signed',
      params: { outBizNo: { schema: outBizNoParam } },
      data: r.merchantTransferData,
      errors: [NOT_FOUND],
    },
    {
      operationId: 'statement',
      method: 'get',
      path: `${M}/bills/{day}`,
      tag: 'merchant',
      summary: '对账单 Daily statement (CSV)',
      description: 'The app’s payments and successful refunds of that Asia/Shanghai day, then the totals; signed over its exact bytes. A day that is not over yet is 4040.',
      auth: 'signed',
      params: { day: { schema: day } },
      raw: 'csv',
      csvExample:
        'type,orderId,outTradeNo,refundId,outRefundNo,channelType,providerTradeNo,amount,time\nPAYMENT,160,110,,,ali-pay,2026112522001,1999,2026-11-25 12:00:00\nREFUND,160,110,7,R110-1,ali-pay,2026112522001,500,2026-11-25 12:03:10\ntotalPaymentCount,totalPaymentAmount,totalRefundCount,totalRefundAmount,netAmount\n1,1999,1,500,1499\n',
      errors: [NOT_FOUND],
    },

    // ---- cashier page endpoints (the order token is the capability) ----------------------------------------------
    {
      operationId: 'cashierOrder',
      method: 'get',
      path: `${M}/cashier/{token}`,
      tag: 'cashier',
      summary: 'Order summary for the cashier page',
      description: 'Polled by the hosted cashier page. Never includes secrets, keys or other orders’ data.',
      auth: 'none',
      params: { token: { schema: paymentListSchema.shape.token } },
      data: r.cashierSummaryData,
      errors: [NOT_FOUND],
    },
    {
      operationId: 'payWithChannel',
      method: 'post',
      path: `${M}/{channelType}/{sceneCode}`,
      tag: 'cashier',
      summary: 'Pay with a channel (cashier page)',
      description: 'Runs the order workflow’s `chooseChannel` update, which asks the provider to prepay, and returns what the page needs.',
      auth: 'none',
      params: { channelType: { schema: channelType }, sceneCode: { schema: z.enum(SCENE_CODES) } },
      body: payWithChannelSchema,
      bodyExample: { token: '8FD92320C51048D1B69264E5899B6DBF', channelId: 1 },
      data: r.prepayData,
      dataExample: { kind: 'qr', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc123' },
      errors: [VALIDATION, FORBIDDEN, NOT_FOUND, CONFLICT, PROVIDER_UNAVAILABLE],
    },

    // ---- provider callbacks ----------------------------------------------------------------------------------------
    callback('', 'payment result'),
    callback('/refunds', 'refund result (WeChat Pay REFUND.*)'),
    callback('/transfers', 'transfer result (WeChat Pay MCHTRANSFER.BILL.FINISHED)'),

    // ---- registration and binding -------------------------------------------------------------------------------------
    {
      operationId: 'register',
      method: 'post',
      path: `${SA}/register`,
      tag: 'registration',
      summary: '注册应用 Register an app',
      description: 'Anonymous, rate-limited per client IP. Creates a PENDING app; `appKey` is shown only in this answer. Every merchant endpoint answers 4030 until an administrator approves the app.',
      auth: 'none',
      body: admin.registerSchema(opts.allowPrivateNotifyUrls),
      bodyExample: { name: '商户A', notifyUrl: 'https://shop.example.com/pay/notify', returnUrl: 'https://shop.example.com/pay/return', contact: 'ops@shop.example.com', signType: 'HMAC-SHA256' },
      data: r.registerData,
      errors: [VALIDATION, TOO_LARGE],
    },
    {
      operationId: 'applyBindingChannel',
      method: 'post',
      path: `${SA}/apply/binding-channel`,
      tag: 'registration',
      summary: '申请绑定渠道 Apply for channels',
      description: 'Give either `channelIds` (an array) or `channelId`, not both. Each application is a ChannelBindingWorkflow: an administrator approves or rejects it, or it is approved automatically after BINDING_AUTO_APPROVE_SECONDS. Repeating it is harmless.',
      auth: 'signed',
      body: admin.applyBindingSchema,
      bodyExample: { channelIds: [1, 3] },
      data: r.applyBindingData,
      dataExample: { applications: [{ channelId: 1, status: 'PENDING', autoApproveAt: '2026-12-05 12:00:00' }] },
      errors: [NOT_FOUND],
    },

    // ---- administrator API ------------------------------------------------------------------------------------------------
    {
      operationId: 'adminLogin',
      method: 'post',
      path: `${A}/login`,
      tag: 'admin',
      summary: 'Log in',
      description: 'Sets the session cookie and returns the CSRF token. Throttled per username and per IP (4290 with Retry-After).',
      auth: 'admin-login',
      body: admin.loginSchema,
      data: r.sessionData,
    },
    { operationId: 'adminSession', method: 'get', path: `${A}/session`, tag: 'admin', summary: 'The current session', auth: 'admin', data: r.sessionData },
    { operationId: 'adminLogout', method: 'post', path: `${A}/logout`, tag: 'admin', summary: 'Log out', auth: 'admin', data: null },
    { operationId: 'adminOverview', method: 'get', path: `${A}/overview`, tag: 'admin', summary: 'Counts for the console’s start page', auth: 'admin', data: r.overviewData },
    { operationId: 'adminListApps', method: 'get', path: `${A}/apps`, tag: 'admin', summary: 'List apps', auth: 'admin', query: admin.appListQuery, data: r.pageOf(r.appData), errors: [VALIDATION] },
    { operationId: 'adminGetApp', method: 'get', path: `${A}/apps/{appId}`, tag: 'admin', summary: 'An app and its channel bindings', auth: 'admin', params: appIdParam, data: r.appDetailData, errors: [NOT_FOUND] },
    { operationId: 'adminApproveApp', method: 'post', path: `${A}/apps/{appId}/approve`, tag: 'admin', summary: 'Approve an app', auth: 'admin', params: appIdParam, data: r.appData, errors: [NOT_FOUND, CONFLICT] },
    { operationId: 'adminDisableApp', method: 'post', path: `${A}/apps/{appId}/disable`, tag: 'admin', summary: 'Disable an app', auth: 'admin', params: appIdParam, data: r.appData, errors: [NOT_FOUND, CONFLICT] },
    { operationId: 'adminUpdateApp', method: 'patch', path: `${A}/apps/{appId}`, tag: 'admin', summary: 'Edit an app’s name, contact and URLs', auth: 'admin', params: appIdParam, body: admin.appPatchSchema(opts.allowPrivateNotifyUrls), data: r.appData, errors: [VALIDATION, NOT_FOUND] },
    {
      operationId: 'adminRotateAppKey',
      method: 'post',
      path: `${A}/apps/{appId}/rotate-key`,
      tag: 'admin',
      summary: 'Rotate an app’s key',
      description: 'The new key is shown once; the previous key stays valid for the grace period (0 revokes it at once).',
      auth: 'admin',
      params: appIdParam,
      body: admin.rotateKeySchema,
      data: r.rotateKeyData,
      errors: [VALIDATION, NOT_FOUND],
    },
    { operationId: 'adminListChannelConfigs', method: 'get', path: `${A}/channel-configs`, tag: 'admin', summary: 'List channel configs and their channels', auth: 'admin', data: r.channelConfigListData },
    { operationId: 'adminGetChannelConfig', method: 'get', path: `${A}/channel-configs/{id}`, tag: 'admin', summary: 'A channel config', auth: 'admin', params: idParam, data: r.channelConfigData, errors: [NOT_FOUND] },
    {
      operationId: 'adminCreateChannelConfig',
      method: 'post',
      path: `${A}/channel-configs`,
      tag: 'admin',
      summary: 'Create a channel config',
      description: 'Secrets are encrypted at rest and never shown back (only their field names).',
      auth: 'admin',
      body: admin.channelConfigCreateSchema(opts.channelTypes),
      data: r.channelConfigData,
      errors: [VALIDATION],
    },
    { operationId: 'adminUpdateChannelConfig', method: 'patch', path: `${A}/channel-configs/{id}`, tag: 'admin', summary: 'Edit a channel config', auth: 'admin', params: idParam, body: admin.channelConfigPatchSchema, data: r.channelConfigData, errors: [VALIDATION, NOT_FOUND] },
    { operationId: 'adminCreateChannel', method: 'post', path: `${A}/channel-configs/{id}/channels`, tag: 'admin', summary: 'Add a scene (channel) to a channel config', auth: 'admin', params: idParam, body: admin.channelCreateSchema, data: r.channelData, errors: [VALIDATION, NOT_FOUND, CONFLICT] },
    { operationId: 'adminUpdateChannel', method: 'patch', path: `${A}/channels/{id}`, tag: 'admin', summary: 'Edit a channel', auth: 'admin', params: idParam, body: admin.channelPatchSchema, data: r.channelData, errors: [VALIDATION, NOT_FOUND] },
    { operationId: 'adminListBindings', method: 'get', path: `${A}/bindings`, tag: 'admin', summary: 'List binding applications', auth: 'admin', query: admin.bindingListQuery, data: r.pageOf(r.bindingData), errors: [VALIDATION] },
    { operationId: 'adminApproveBinding', method: 'post', path: `${A}/bindings/{id}/approve`, tag: 'admin', summary: 'Approve a binding application (signal approveBinding)', auth: 'admin', params: idParam, body: admin.noteSchema, data: r.bindingDecisionData, errors: [VALIDATION, NOT_FOUND, CONFLICT] },
    { operationId: 'adminRejectBinding', method: 'post', path: `${A}/bindings/{id}/reject`, tag: 'admin', summary: 'Reject a binding application (signal rejectBinding)', auth: 'admin', params: idParam, body: admin.noteSchema, data: r.bindingDecisionData, errors: [VALIDATION, NOT_FOUND, CONFLICT] },
    { operationId: 'adminSearchOrders', method: 'get', path: `${A}/orders`, tag: 'admin', summary: 'Search orders', auth: 'admin', query: admin.orderSearchQuery, data: r.pageOf(r.orderListItemData), errors: [VALIDATION] },
    { operationId: 'adminGetOrder', method: 'get', path: `${A}/orders/{id}`, tag: 'admin', summary: 'An order with its notification attempts, workflow, refunds and exceptions', auth: 'admin', params: idParam, data: r.orderDetailData, errors: [NOT_FOUND] },
    { operationId: 'adminRenotify', method: 'post', path: `${A}/orders/{id}/renotify`, tag: 'admin', summary: 'Notify the merchant again now (signal renotify)', auth: 'admin', params: idParam, data: r.renotifyData, errors: [NOT_FOUND, CONFLICT] },
    { operationId: 'adminRefundOrder', method: 'post', path: `${A}/orders/{id}/refunds`, tag: 'admin', summary: 'Refund an order', auth: 'admin', params: idParam, body: admin.adminRefundSchema, data: r.merchantRefundData, errors: [VALIDATION, NOT_FOUND, CONFLICT, PROVIDER_UNAVAILABLE] },
    { operationId: 'adminListRefunds', method: 'get', path: `${A}/refunds`, tag: 'admin', summary: 'List refunds', auth: 'admin', query: admin.refundListQuery, data: r.pageOf(r.refundListItemData), errors: [VALIDATION] },
    { operationId: 'adminGetRefund', method: 'get', path: `${A}/refunds/{id}`, tag: 'admin', summary: 'A refund with its notification attempts and workflow', auth: 'admin', params: idParam, data: r.refundDetailData, errors: [NOT_FOUND] },
    { operationId: 'adminListPaymentExceptions', method: 'get', path: `${A}/payment-exceptions`, tag: 'admin', summary: 'List payment exceptions (异常支付)', auth: 'admin', query: admin.exceptionListQuery, data: r.pageOf(r.paymentExceptionData), errors: [VALIDATION] },
    { operationId: 'adminRefundPaymentException', method: 'post', path: `${A}/payment-exceptions/{id}/refund`, tag: 'admin', summary: 'Refund a payment exception in full', auth: 'admin', params: idParam, data: r.merchantRefundData, errors: [NOT_FOUND, CONFLICT, PROVIDER_UNAVAILABLE] },
    { operationId: 'adminListTransfers', method: 'get', path: `${A}/transfers`, tag: 'admin', summary: 'List transfers', auth: 'admin', query: admin.transferListQuery, data: r.pageOf(r.transferListItemData), errors: [VALIDATION] },
    { operationId: 'adminGetTransfer', method: 'get', path: `${A}/transfers/{id}`, tag: 'admin', summary: 'A transfer with its notification attempts and workflow', auth: 'admin', params: idParam, data: r.transferDetailData, errors: [NOT_FOUND] },
    { operationId: 'adminApproveTransfer', method: 'post', path: `${A}/transfers/{id}/approve`, tag: 'admin', summary: 'Approve a transfer waiting for approval', auth: 'admin', params: idParam, body: admin.transferDecisionSchema, data: r.merchantTransferData, errors: [VALIDATION, NOT_FOUND, CONFLICT] },
    { operationId: 'adminRejectTransfer', method: 'post', path: `${A}/transfers/{id}/reject`, tag: 'admin', summary: 'Reject a transfer waiting for approval', auth: 'admin', params: idParam, body: admin.transferDecisionSchema, data: r.merchantTransferData, errors: [VALIDATION, NOT_FOUND, CONFLICT] },
    { operationId: 'adminGetTransferSettings', method: 'get', path: `${A}/apps/{appId}/transfer-settings`, tag: 'admin', summary: 'An app’s transfer settings', auth: 'admin', params: appIdParam, data: r.transferSettingsData, errors: [NOT_FOUND] },
    {
      operationId: 'adminSaveTransferSettings',
      method: 'put',
      path: `${A}/apps/{appId}/transfer-settings`,
      tag: 'admin',
      summary: 'Save an app’s transfer settings (fen)',
      description: 'Enabled settings need a maximum above 0 and a daily total at least that large.',
      auth: 'admin',
      params: appIdParam,
      body: admin.transferSettingsSchema,
      bodyExample: { enabled: true, maxPerTransfer: 100000, dailyLimit: 1000000, approvalThreshold: 50000 },
      data: r.transferSettingsData,
      errors: [VALIDATION, NOT_FOUND],
    },
    { operationId: 'adminListReconciliations', method: 'get', path: `${A}/reconciliations`, tag: 'admin', summary: 'List reconciliation runs', auth: 'admin', query: admin.reconciliationRunQuery, data: r.pageOf(r.reconciliationRunData), errors: [VALIDATION] },
    { operationId: 'adminListDiscrepancies', method: 'get', path: `${A}/reconciliations/discrepancies`, tag: 'admin', summary: 'List reconciliation discrepancies', auth: 'admin', query: admin.discrepancyQuery, data: r.pageOf(r.discrepancyData), errors: [VALIDATION] },
    { operationId: 'adminRunReconciliation', method: 'post', path: `${A}/reconciliations`, tag: 'admin', summary: 'Reconcile a past day for a channel config', description: '4090 while that day is already running.', auth: 'admin', body: admin.reconciliationRunSchema, bodyExample: { day: '2026-11-25', configId: 1 }, data: r.reconciliationStartedData, errors: [VALIDATION, NOT_FOUND, CONFLICT] },
    { operationId: 'adminStatistics', method: 'get', path: `${A}/statistics`, tag: 'admin', summary: 'Daily statistics (default: the last 30 days)', auth: 'admin', query: admin.statisticsQuery, data: r.statisticsData, errors: [VALIDATION] },
    { operationId: 'adminExportOrders', method: 'get', path: `${A}/exports/orders.csv`, tag: 'admin', summary: 'Export orders (CSV, streamed)', auth: 'admin', query: admin.exportQuery, raw: 'csv', errors: [VALIDATION] },
    { operationId: 'adminExportRefunds', method: 'get', path: `${A}/exports/refunds.csv`, tag: 'admin', summary: 'Export refunds (CSV, streamed)', auth: 'admin', query: admin.exportQuery, raw: 'csv', errors: [VALIDATION] },
    { operationId: 'adminAuditLog', method: 'get', path: `${A}/audit`, tag: 'admin', summary: 'The audit log of administrator actions', auth: 'admin', query: admin.auditListQuery, data: r.pageOf(r.auditData), errors: [VALIDATION] },

    // ---- operations ----------------------------------------------------------------------------------------------------------
    { operationId: 'health', method: 'get', path: '/healthz', tag: 'operations', summary: 'Health check (PostgreSQL reachable)', auth: 'none', raw: 'health' },
    { operationId: 'openapi', method: 'get', path: `${M}/openapi.json`, tag: 'operations', summary: 'This document', auth: 'none', raw: 'openapi' },
  ];
}
