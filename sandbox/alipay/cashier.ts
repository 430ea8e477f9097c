/**
 * Browser and app side: the wap.pay cashier page, the QR "scan" page, the buyer's pay / cancel buttons with
 * the signed sync return to return_url, and what the Alipay app does with an sdkExec order string.
 */
import type http from 'node:http';
import type { AlipayContext } from './context';
import { AlipayFailure, business, invalid } from './errors';
import { send, sendHtml } from './http';
import { errorPage, payPage, resultPage } from './pages';
import * as wire from './protocol';
import { authenticate, bizString, parseBiz } from './request';
import type { TradeRecord } from './state';
import { buyerPay, expireIfDue, markCreated, openTrade } from './trades';

function cashierHtml(ctx: AlipayContext, t: TradeRecord, notice?: string): { status: number; html: string } {
  expireIfDue(ctx, t);
  if (t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED') return { status: 200, html: resultPage('订单已支付', `订单 ${t.outTradeNo} 已支付成功。`) };
  if (t.status === 'TRADE_CLOSED') return { status: 200, html: resultPage('交易已关闭', `订单 ${t.outTradeNo} 已关闭，无法继续付款。`) };
  return {
    status: 200,
    html: payPage({
      subject: t.subject,
      amountYuan: t.totalAmount,
      outTradeNo: t.outTradeNo,
      sellerName: `商户 ${t.appId}`,
      payAction: `/cashier/${t.payToken}/pay`,
      cancelAction: `/cashier/${t.payToken}/cancel`,
      notice,
    }),
  };
}

/** GET/POST /gateway.do with method=alipay.trade.wap.pay: the buyer's browser arrives with the signed order. */
export function handleWapPay(ctx: AlipayContext, res: http.ServerResponse, params: Record<string, string>): void {
  try {
    const merchant = authenticate(ctx, params, false);
    const biz = parseBiz(params);
    const product = bizString(biz, 'product_code');
    if (product && product !== 'QUICK_WAP_WAY') throw business('ACQ.INVALID_PARAMETER', `product_code 错误：${product}`, 400);
    const t = openTrade(ctx, merchant, params, biz, 'QUICK_WAP_WAY', true);
    const page = cashierHtml(ctx, t);
    sendHtml(res, page.status, page.html);
  } catch (err) {
    if (!(err instanceof AlipayFailure)) throw err;
    sendHtml(res, err.httpStatus, errorPage(err.subCode, err.subMsg));
  }
}

function byToken(ctx: AlipayContext, kind: 'pay' | 'qr', token: string): TradeRecord | undefined {
  for (const t of ctx.state.trades.values()) if ((kind === 'pay' ? t.payToken : t.qrToken) === token) return t;
  return undefined;
}

/** GET /qr/<token>: scanning the precreated QR code brings the trade into existence. */
export function handleScanPage(ctx: AlipayContext, res: http.ServerResponse, token: string): void {
  const t = byToken(ctx, 'qr', token);
  if (!t) return sendHtml(res, 404, errorPage('QR_CODE_INVALID', '二维码无效'));
  try {
    if (t.status === 'NOT_SCANNED') markCreated(t);
    ctx.state.save();
  } catch (err) {
    if (!(err instanceof AlipayFailure)) throw err;
    return sendHtml(res, 410, errorPage('QR_CODE_EXPIRED', '二维码已过期'));
  }
  const page = cashierHtml(ctx, t);
  sendHtml(res, page.status, page.html);
}

/** GET /cashier/<token>. */
export function handleCashierPage(ctx: AlipayContext, res: http.ServerResponse, token: string): void {
  const t = byToken(ctx, 'pay', token);
  if (!t || t.status === 'NOT_SCANNED') return sendHtml(res, 404, errorPage('TRADE_NOT_EXIST', '交易不存在'));
  const page = cashierHtml(ctx, t);
  sendHtml(res, page.status, page.html);
}

/** POST /cashier/<token>/pay | cancel. */
export function handleCashierAction(ctx: AlipayContext, res: http.ServerResponse, token: string, action: 'pay' | 'cancel'): void {
  const t = byToken(ctx, 'pay', token);
  if (!t || t.status === 'NOT_SCANNED') return sendHtml(res, 404, errorPage('TRADE_NOT_EXIST', '交易不存在'));
  if (action === 'cancel') {
    // The trade stays payable (WAIT_BUYER_PAY) until the merchant closes it or it times out.
    if (t.quitUrl) return send(res, 302, 'text/plain; charset=utf-8', '', { location: t.quitUrl });
    return sendHtml(res, 200, resultPage('已取消支付', '您已取消付款，可返回商户重新发起支付。'));
  }
  try {
    buyerPay(ctx, t, {});
  } catch (err) {
    if (!(err instanceof AlipayFailure)) throw err;
    const page = cashierHtml(ctx, t, err.subMsg);
    return sendHtml(res, 409, page.html);
  }
  const target = t.productCode === 'QUICK_WAP_WAY' && t.returnUrl ? syncReturnUrl(ctx, t) : undefined;
  if (target) return send(res, 302, 'text/plain; charset=utf-8', '', { location: target });
  sendHtml(res, 200, resultPage('支付成功', `已向 商户 ${t.appId} 付款 ¥${t.totalAmount}`));
}

/** return_url + the signed sync-return parameters (same signing rule as notifications). */
function syncReturnUrl(ctx: AlipayContext, t: TradeRecord): string | undefined {
  let target: URL;
  try {
    target = new URL(t.returnUrl ?? '');
  } catch {
    return undefined;
  }
  const merchant = ctx.state.merchants.get(t.appId);
  const params: Record<string, string> = {
    charset: 'utf-8',
    out_trade_no: t.outTradeNo,
    method: 'alipay.trade.wap.pay.return',
    total_amount: t.totalAmount,
    trade_no: t.tradeNo,
    auth_app_id: t.appId,
    version: '1.0',
    app_id: t.appId,
    sign_type: 'RSA2',
    seller_id: merchant?.sellerId ?? '',
    timestamp: wire.shanghaiTime(),
  };
  params.sign = wire.rsa2Sign(wire.notifySignContent(params), ctx.state.alipayPrivateKey);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

/** Verifies an alipay.trade.app.pay order string and creates its trade. */
export function appPayFromOrderString(ctx: AlipayContext, orderString: string): TradeRecord {
  const params = Object.fromEntries(new URLSearchParams(orderString.trim()));
  if (params.method !== 'alipay.trade.app.pay') throw invalid('isv.invalid-method', `不是 alipay.trade.app.pay 订单串：${params.method ?? '（缺少 method）'}`);
  const merchant = authenticate(ctx, params, false);
  const biz = parseBiz(params);
  const product = bizString(biz, 'product_code');
  if (product && product !== 'QUICK_MSECURITY_PAY') throw business('ACQ.INVALID_PARAMETER', `product_code 错误：${product}`, 400);
  return openTrade(ctx, merchant, params, biz, 'QUICK_MSECURITY_PAY', true);
}
