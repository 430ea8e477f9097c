/**
 * Trade lifecycle: opening a trade from a signed request, the moment it comes into existence at Alipay,
 * lazy expiry by time_expire, and the buyer / merchant transitions that change its status and notify.
 */
import { fenToYuanString, MAX_AMOUNT_FEN, MIN_AMOUNT_FEN, yuanStringToFen } from '../../domain/money';
import type { AlipayContext } from './context';
import { business, missing, SimError } from './errors';
import * as wire from './protocol';
import { bizString } from './request';
import { tradeKey, type AlipayState, type TradeRecord } from './state';
import type { SimMerchant, SimProductCode, SimTransitionOptions } from './types';

function isExpired(t: TradeRecord, now = Date.now()): boolean {
  const exp = wire.parseShanghaiTime(t.timeExpire);
  return !!exp && exp.getTime() <= now;
}

/** Lazily applies the merchant's time_expire: an unpaid trade past it closes (and notifies, like Alipay). */
export function expireIfDue(ctx: AlipayContext, t: TradeRecord): void {
  if (t.status === 'WAIT_BUYER_PAY' && isExpired(t)) {
    t.status = 'TRADE_CLOSED';
    t.gmtClose = wire.shanghaiTime();
    ctx.notifier.enqueue(t, {});
    ctx.state.save();
  }
}

/**
 * Validates the order fields of biz_content and opens the trade, or updates the existing one with the same
 * out_trade_no. `createNow` makes it exist at once (wap / app pay) instead of waiting for a QR scan.
 */
export function openTrade(
  ctx: AlipayContext,
  merchant: SimMerchant,
  params: Record<string, string>,
  biz: Record<string, unknown>,
  productCode: SimProductCode,
  createNow: boolean,
): TradeRecord {
  const { state, baseUrl } = ctx;
  const outTradeNo = bizString(biz, 'out_trade_no');
  if (!outTradeNo) throw missing('isv.missing-parameter', '缺少必选参数 out_trade_no');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(outTradeNo)) throw business('ACQ.INVALID_PARAMETER', 'out_trade_no 格式错误', 400);
  const subject = bizString(biz, 'subject');
  if (!subject) throw missing('isv.missing-parameter', '缺少必选参数 subject');
  if ([...subject].length > 256) throw business('ACQ.INVALID_PARAMETER', 'subject 超长', 400);
  const amountText = bizString(biz, 'total_amount');
  if (!amountText) throw missing('isv.missing-parameter', '缺少必选参数 total_amount');
  let fen: number;
  try {
    fen = yuanStringToFen(amountText);
  } catch {
    throw business('ACQ.INVALID_PARAMETER', `total_amount 格式错误：${amountText}`, 400);
  }
  if (fen < MIN_AMOUNT_FEN) throw business('ACQ.INVALID_PARAMETER', 'total_amount 必须大于 0', 400);
  if (fen > MAX_AMOUNT_FEN) throw business('ACQ.TOTAL_FEE_EXCEED', '订单金额超过限额', 400);
  const timeExpire = bizString(biz, 'time_expire');
  if (timeExpire && !wire.parseShanghaiTime(timeExpire)) throw business('ACQ.INVALID_PARAMETER', `time_expire 格式错误：${timeExpire}`, 400);

  const key = tradeKey(merchant.appId, outTradeNo);
  const existing = state.trades.get(key);
  if (existing) {
    expireIfDue(ctx, existing);
    if (existing.status === 'TRADE_SUCCESS' || existing.status === 'TRADE_FINISHED') throw business('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    if (existing.status === 'TRADE_CLOSED') throw business('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    // Same out_trade_no, different content: Alipay refuses rather than silently repricing the trade.
    if (existing.totalAmountFen !== fen || existing.subject !== subject) throw business('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
    if (params.notify_url) existing.notifyUrl = params.notify_url;
    if (params.return_url) existing.returnUrl = params.return_url;
    if (timeExpire) existing.timeExpire = timeExpire;
    existing.productCode = productCode;
    if (productCode === 'FACE_TO_FACE_PAYMENT' && !existing.qrToken) {
      existing.qrToken = wire.newToken();
      existing.qrCode = `${baseUrl}/qr/${existing.qrToken}`;
    }
    if (createNow && existing.status === 'NOT_SCANNED') markCreated(existing);
    state.save();
    return existing;
  }

  const payToken = wire.newToken();
  const t: TradeRecord = {
    appId: merchant.appId,
    outTradeNo,
    tradeNo: wire.newTradeNo(),
    productCode,
    status: 'NOT_SCANNED',
    totalAmountFen: fen,
    totalAmount: fenToYuanString(fen),
    subject,
    body: bizString(biz, 'body'),
    notifyUrl: params.notify_url || undefined,
    returnUrl: params.return_url || undefined,
    quitUrl: bizString(biz, 'quit_url'),
    timeExpire,
    payToken,
    payUrl: `${baseUrl}/cashier/${payToken}`,
    failedPayments: 0,
    refundedFen: 0,
  };
  if (productCode === 'FACE_TO_FACE_PAYMENT') {
    t.qrToken = wire.newToken();
    t.qrCode = `${baseUrl}/qr/${t.qrToken}`;
  }
  if (createNow) markCreated(t);
  state.trades.set(key, t);
  state.save();
  return t;
}

/** The moment the trade exists at Alipay (wap page opened, QR scanned, app order submitted). */
export function markCreated(t: TradeRecord): void {
  if (isExpired(t)) throw business('ACQ.TRADE_HAS_CLOSE', '交易已经关闭（已超过 time_expire）');
  t.status = 'WAIT_BUYER_PAY';
  t.gmtCreate = wire.shanghaiTime();
  t.buyerId = wire.newPartnerId();
  t.buyerLogonId = `138****${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
}

/**
 * Server-API lookup by out_trade_no or trade_no within the calling app. A trade Alipay does not know yet
 * (precreated, never scanned) is as absent as an unknown one.
 */
export function lookupForApi(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): TradeRecord {
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

/** Control-side lookup by out_trade_no; appId is needed only when several apps used the same number. */
export function findTrade(state: AlipayState, outTradeNo: string, appId?: string): TradeRecord {
  if (appId) {
    const t = state.trades.get(tradeKey(appId, outTradeNo));
    if (!t) throw new SimError(404, `no trade ${outTradeNo} for app ${appId}`);
    return t;
  }
  const found = [...state.trades.values()].filter((t) => t.outTradeNo === outTradeNo);
  if (found.length === 0) throw new SimError(404, `no trade ${outTradeNo}`);
  if (found.length > 1) throw new SimError(409, `out_trade_no ${outTradeNo} is used by several apps; pass appId`);
  return found[0];
}

/** The buyer pays. `paidAt` (control side only) backdates the payment, e.g. into a day whose bill can be fetched. */
export function buyerPay(ctx: AlipayContext, t: TradeRecord, o: SimTransitionOptions, paidAt?: Date): void {
  expireIfDue(ctx, t);
  if (t.status === 'NOT_SCANNED') markCreated(t);
  if (t.status === 'TRADE_SUCCESS' || t.status === 'TRADE_FINISHED') throw business('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
  if (t.status === 'TRADE_CLOSED') throw business('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
  t.status = 'TRADE_SUCCESS';
  t.gmtPayment = wire.shanghaiTime(paidAt);
  // A trade cannot be paid before it existed: a backdated payment takes its creation along.
  if (t.gmtCreate && t.gmtCreate > t.gmtPayment) t.gmtCreate = t.gmtPayment;
  ctx.notifier.enqueue(t, o);
  ctx.state.save();
}

export function buyerFail(ctx: AlipayContext, t: TradeRecord): void {
  expireIfDue(ctx, t);
  if (t.status === 'NOT_SCANNED') markCreated(t);
  if (t.status !== 'WAIT_BUYER_PAY') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  t.failedPayments += 1;
  ctx.state.save();
}

/** Closes an unpaid trade; notifies only when `o` is given. */
export function closeUnpaid(ctx: AlipayContext, t: TradeRecord, o: SimTransitionOptions | undefined): void {
  expireIfDue(ctx, t);
  if (t.status === 'NOT_SCANNED') markCreated(t);
  if (t.status !== 'WAIT_BUYER_PAY') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  t.status = 'TRADE_CLOSED';
  t.gmtClose = wire.shanghaiTime();
  if (o) ctx.notifier.enqueue(t, o);
  ctx.state.save();
}

export function finishPaid(ctx: AlipayContext, t: TradeRecord, o: SimTransitionOptions): void {
  if (t.status !== 'TRADE_SUCCESS') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态不合法（只有 TRADE_SUCCESS 可以结束）');
  t.status = 'TRADE_FINISHED';
  t.gmtClose = wire.shanghaiTime();
  ctx.notifier.enqueue(t, o);
  ctx.state.save();
}
