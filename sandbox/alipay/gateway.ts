/**
 * POST /gateway.do, the server API: alipay.trade.precreate / query / close. Requests are authenticated by
 * the app's signature and every answer is signed with the sandbox's "Alipay" key; injected faults apply
 * here. alipay.trade.wap.pay on the same endpoint is the browser's cashier entry (see cashier.ts).
 */
import type http from 'node:http';
import { handleWapPay } from './cashier';
import type { AlipayContext } from './context';
import { AlipayFailure, business, invalid, missing, type ApiPayload } from './errors';
import { send, sendHtml } from './http';
import { errorPage } from './pages';
import * as wire from './protocol';
import { authenticate, bizString, mergedParams, parseBiz } from './request';
import { tradeKey, type TradeRecord } from './state';
import { closeUnpaid, expireIfDue, openTrade } from './trades';
import type { SimMerchant } from './types';

const SUPPORTED_API = new Set(['alipay.trade.precreate', 'alipay.trade.query', 'alipay.trade.close']);

function apiPrecreate(ctx: AlipayContext, merchant: SimMerchant, params: Record<string, string>, biz: Record<string, unknown>): ApiPayload {
  // Not created until scanned: query/close in between answer ACQ.TRADE_NOT_EXIST, as the real gateway does.
  const t = openTrade(ctx, merchant, params, biz, 'FACE_TO_FACE_PAYMENT', false);
  return { code: '10000', msg: 'Success', out_trade_no: t.outTradeNo, qr_code: t.qrCode ?? '' };
}

function lookupForApi(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): TradeRecord {
  const trades = ctx.state.trades;
  const outTradeNo = bizString(biz, 'out_trade_no');
  const tradeNo = bizString(biz, 'trade_no');
  if (!outTradeNo && !tradeNo) throw missing('isv.missing-parameter', 'out_trade_no 和 trade_no 不能同时为空');
  const t = outTradeNo
    ? trades.get(tradeKey(merchant.appId, outTradeNo))
    : [...trades.values()].find((x) => x.appId === merchant.appId && x.tradeNo === tradeNo);
  if (!t || t.status === 'NOT_SCANNED') throw business('ACQ.TRADE_NOT_EXIST', '交易不存在', 404);
  expireIfDue(ctx, t);
  return t;
}

function apiQuery(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): ApiPayload {
  const t = lookupForApi(ctx, merchant, biz);
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

function apiClose(ctx: AlipayContext, merchant: SimMerchant, params: Record<string, string>, biz: Record<string, unknown>): ApiPayload {
  const t = lookupForApi(ctx, merchant, biz);
  if (t.status !== 'WAIT_BUYER_PAY') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  // alipay.trade.close takes its own notify_url: only then is a TRADE_CLOSED notification sent.
  if (params.notify_url) t.notifyUrl = params.notify_url;
  closeUnpaid(ctx, t, params.notify_url ? {} : undefined);
  return { code: '10000', msg: 'Success', trade_no: t.tradeNo, out_trade_no: t.outTradeNo };
}

export function handleGateway(ctx: AlipayContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): void {
  const params = mergedParams(url, body);
  const apiMethod = params.method ?? '';

  if (apiMethod === 'alipay.trade.wap.pay') return handleWapPay(ctx, res, params);
  if (req.method !== 'POST') {
    return sendHtml(res, 400, errorPage('isv.invalid-method', `不支持通过浏览器调用 ${apiMethod || '（缺少 method）'}`));
  }

  const fault = ctx.faults.take(apiMethod);
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
    const merchant = authenticate(ctx, params, true);
    const biz = parseBiz(params);
    payload =
      apiMethod === 'alipay.trade.precreate'
        ? apiPrecreate(ctx, merchant, params, biz)
        : apiMethod === 'alipay.trade.query'
          ? apiQuery(ctx, merchant, biz)
          : apiClose(ctx, merchant, params, biz);
  } catch (err) {
    if (!(err instanceof AlipayFailure)) throw err;
    payload = err.payload();
  }
  // Like the real gateway: HTTP 200 for business answers, all signed with the Alipay key.
  send(res, 200, jsonType, wire.signedEnvelope(apiMethod, payload, ctx.state.alipayPrivateKey, fault?.kind === 'badSignature'), traceHeaders);
}
