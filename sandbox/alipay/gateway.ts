/**
 * /gateway.do. Page methods (alipay.trade.wap.pay; alipay.trade.page.pay is not simulated) are the browser's
 * cashier entry and render pages (see cashier.ts). Every other method is the server API: alipay.trade.precreate
 * / query / close / refund / fastpay.refund.query, alipay.data.dataservice.bill.downloadurl.query (bills.ts) and
 * alipay.fund.trans.uni.transfer / common.query (transfers.ts), served over GET (query string) and POST (query +
 * form) alike, as the real gateway does. API requests are authenticated by the app's signature and every answer is signed
 * with the sandbox's "Alipay" key; injected faults apply here.
 */
import type http from 'node:http';
import { apiBillDownloadUrl } from './bills';
import { handleWapPay } from './cashier';
import type { AlipayContext } from './context';
import { AlipayFailure, business, invalid, missing, type ApiPayload } from './errors';
import { send, sendHtml } from './http';
import { errorPage } from './pages';
import * as wire from './protocol';
import { apiRefund, apiRefundQuery } from './refunds';
import { authenticate, mergedParams, parseBiz } from './request';
import { closeUnpaid, lookupForApi, openTrade } from './trades';
import { apiTransfer, apiTransferQuery } from './transfers';
import type { SimFault, SimMerchant } from './types';

/** Methods whose answer is a page for the buyer's browser rather than signed JSON for a server. */
const PAGE_METHODS = new Set(['alipay.trade.wap.pay', 'alipay.trade.page.pay']);
const SUPPORTED_API = new Set([
  'alipay.trade.precreate',
  'alipay.trade.query',
  'alipay.trade.close',
  'alipay.trade.refund',
  'alipay.trade.fastpay.refund.query',
  'alipay.data.dataservice.bill.downloadurl.query',
  'alipay.fund.trans.uni.transfer',
  'alipay.fund.trans.common.query',
]);
const BAD_GATEWAY_HTML = '<html><body><h1>502 Bad Gateway</h1></body></html>';

function apiPrecreate(ctx: AlipayContext, merchant: SimMerchant, params: Record<string, string>, biz: Record<string, unknown>): ApiPayload {
  // Not created until scanned: query/close in between answer ACQ.TRADE_NOT_EXIST, as the real gateway does.
  const t = openTrade(ctx, merchant, params, biz, 'FACE_TO_FACE_PAYMENT', false);
  return { code: '10000', msg: 'Success', out_trade_no: t.outTradeNo, qr_code: t.qrCode ?? '' };
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

function dispatch(ctx: AlipayContext, apiMethod: string, params: Record<string, string>, fault: SimFault | undefined): ApiPayload {
  try {
    const merchant = authenticate(ctx, params, true);
    const biz = parseBiz(params);
    switch (apiMethod) {
      case 'alipay.trade.precreate':
        return apiPrecreate(ctx, merchant, params, biz);
      case 'alipay.trade.query':
        return apiQuery(ctx, merchant, biz);
      case 'alipay.trade.close':
        return apiClose(ctx, merchant, params, biz);
      case 'alipay.trade.refund':
        return apiRefund(ctx, merchant, biz, { sellerBalanceNotEnough: fault?.kind === 'sellerBalanceNotEnough' });
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return apiBillDownloadUrl(ctx, merchant, biz);
      case 'alipay.fund.trans.uni.transfer':
      case 'alipay.fund.trans.common.query': {
        const run = () => (apiMethod === 'alipay.fund.trans.uni.transfer' ? apiTransfer(ctx, merchant, biz) : apiTransferQuery(ctx, merchant, biz));
        if (fault?.kind !== 'systemError') return run();
        // Processed, then answered "system busy" whatever the outcome: Alipay's docs say the transfer may or may
        // not have happened and to retry with the same out_biz_no, which the sandbox then answers with the
        // transfer it made (or refuses again).
        try {
          run();
        } catch (err) {
          if (!(err instanceof AlipayFailure)) throw err;
        }
        throw business('SYSTEM_ERROR', '系统繁忙');
      }
      default:
        return apiRefundQuery(ctx, merchant, biz);
    }
  } catch (err) {
    if (!(err instanceof AlipayFailure)) throw err;
    return err.payload();
  }
}

export function handleGateway(ctx: AlipayContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): void {
  const params = mergedParams(url, body);
  const apiMethod = params.method ?? '';

  // Dispatch by method, not by HTTP verb: a browser may POST a page form and a server may GET an API method.
  if (apiMethod === 'alipay.trade.wap.pay') return handleWapPay(ctx, res, params);
  if (PAGE_METHODS.has(apiMethod)) return sendHtml(res, 400, errorPage('isv.invalid-method', `本地沙箱不支持 ${apiMethod}`));

  // Chaos answers like a failing front proxy, before the call is authenticated or processed.
  if (SUPPORTED_API.has(apiMethod) && ctx.chaos.fail5xx()) return sendHtml(res, 502, BAD_GATEWAY_HTML);
  const fault = ctx.faults.take(apiMethod);
  if (fault?.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (fault?.kind === 'http502') return sendHtml(res, 502, BAD_GATEWAY_HTML);

  const traceHeaders = { trace_id: wire.newTraceId() };
  const jsonType = 'application/json; charset=utf-8';
  if (!apiMethod) {
    return send(res, 200, jsonType, wire.errorEnvelope(missing('isv.missing-method', '缺少方法名参数').payload()), traceHeaders);
  }
  if (!SUPPORTED_API.has(apiMethod)) {
    return send(res, 200, jsonType, wire.errorEnvelope(invalid('isv.invalid-method', '不存在的方法名').payload()), traceHeaders);
  }

  const payload = dispatch(ctx, apiMethod, params, fault);
  // The call took effect (a refund or transfer is applied); only its answer is lost on the way back. This is what makes a
  // client retry with the same out_request_no necessary, and what must never refund twice.
  if (fault?.kind === 'http502AfterProcessing') return sendHtml(res, 502, BAD_GATEWAY_HTML);
  if (fault?.kind === 'dropAfterProcessing') {
    req.socket.destroy();
    return;
  }
  // Like the real gateway: HTTP 200 for business answers, all signed with the Alipay key.
  send(res, 200, jsonType, wire.signedEnvelope(apiMethod, payload, ctx.state.alipayPrivateKey, fault?.kind === 'badSignature'), traceHeaders);
}
