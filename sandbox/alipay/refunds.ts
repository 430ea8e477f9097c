/**
 * alipay.trade.refund and alipay.trade.fastpay.refund.query as the real gateway behaves: refunds are
 * synchronous, idempotent per (trade, out_request_no), cumulative up to the paid total, and each one sends the
 * trade's notify_url a trade_status_sync carrying refund_fee / gmt_refund / out_biz_no.
 */
import { fenToYuanString, yuanStringToFen } from '../../domain/money';
import type { AlipayContext } from './context';
import { business, missing, type ApiPayload } from './errors';
import * as wire from './protocol';
import { bizString } from './request';
import type { TradeRecord } from './state';
import { lookupForApi } from './trades';
import type { SimMerchant, SimRefund } from './types';

/** Alipay's field limits (characters). */
const MAX_REQUEST_NO = 64;
const MAX_REASON = 256;

function queryOptions(biz: Record<string, unknown>): string[] {
  const v = biz.query_options;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Drops empty values: Alipay omits absent fields rather than sending "". */
function compact(payload: Record<string, string | undefined>): ApiPayload {
  const out: ApiPayload = {};
  for (const [k, v] of Object.entries(payload)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

function refundAnswer(t: TradeRecord, r: SimRefund, fundChange: 'Y' | 'N', options: string[]): ApiPayload {
  return compact({
    code: '10000',
    msg: 'Success',
    trade_no: t.tradeNo,
    out_trade_no: t.outTradeNo,
    buyer_logon_id: t.buyerLogonId,
    buyer_user_id: t.buyerId,
    // N = this call moved no money (a repeat of a refund already applied); the docs tell callers to confirm
    // such answers with alipay.trade.fastpay.refund.query.
    fund_change: fundChange,
    // Cumulative over the trade, not this request's amount.
    refund_fee: fenToYuanString(t.refundedFen),
    gmt_refund_pay: r.gmtRefundPay,
    // "本次商户实际退回金额", filled only when asked for with refund_detail_item_list (real answers without it
    // carry "0.00" even for fund_change Y); nothing moves on a repeat.
    send_back_fee: fundChange === 'Y' && options.includes('refund_detail_item_list') ? r.refundAmount : '0.00',
  });
}

/**
 * alipay.trade.refund. `sellerBalanceNotEnough` (an injected fault) refuses a refund that would move money.
 * Order of checks matters: a repeat of an applied request is answered before the trade's state is looked
 * at, because the first refund may itself have closed the trade (full refund) and the caller retrying after
 * a lost answer must still learn that its refund succeeded.
 */
export function apiRefund(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>, o: { sellerBalanceNotEnough: boolean }): ApiPayload {
  const { state } = ctx;
  const t = lookupForApi(ctx, merchant, biz);
  const options = queryOptions(biz);

  const amountText = bizString(biz, 'refund_amount');
  if (!amountText) throw missing('isv.missing-parameter', '缺少必选参数 refund_amount');
  let fen: number;
  try {
    fen = yuanStringToFen(amountText);
  } catch {
    throw business('ACQ.INVALID_PARAMETER', `refund_amount 格式错误：${amountText}`, 400);
  }
  if (fen <= 0) throw business('ACQ.INVALID_PARAMETER', 'refund_amount 必须大于 0', 400);
  const explicitNo = bizString(biz, 'out_request_no');
  if (explicitNo !== undefined && explicitNo.length > MAX_REQUEST_NO) throw business('ACQ.INVALID_PARAMETER', 'out_request_no 超长', 400);
  const reason = bizString(biz, 'refund_reason');
  if (reason !== undefined && [...reason].length > MAX_REASON) throw business('ACQ.INVALID_PARAMETER', 'refund_reason 超长', 400);
  // Without out_request_no Alipay takes the out_trade_no as the request number, so only one (full) refund
  // can be made that way.
  const outRequestNo = explicitNo ?? t.outTradeNo;

  const previous = state.refundOf(t, outRequestNo);
  if (previous) {
    // Alipay refunds a request number at most once; the same number with another amount is a client bug.
    if (previous.refundAmountFen !== fen) throw business('ACQ.DISCORDANT_REPEAT_REQUEST', '请求信息不一致');
    return refundAnswer(t, previous, 'N', options);
  }

  if (t.status === 'TRADE_FINISHED') throw business('ACQ.TRADE_HAS_FINISHED', '交易已完结');
  // Unpaid-and-closed and fully refunded alike.
  if (t.status === 'TRADE_CLOSED') throw business('ACQ.TRADE_HAS_CLOSE', '交易已关闭');
  if (t.status !== 'TRADE_SUCCESS') throw business('ACQ.TRADE_STATUS_ERROR', '交易状态非法');
  if (explicitNo === undefined && fen !== t.totalAmountFen) {
    throw business('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限（部分退款必须传入 out_request_no）');
  }
  if (t.refundedFen + fen > t.totalAmountFen) throw business('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
  if (o.sellerBalanceNotEnough) throw business('ACQ.SELLER_BALANCE_NOT_ENOUGH', '卖家余额不足');

  const now = new Date();
  const record: SimRefund = {
    appId: t.appId,
    outTradeNo: t.outTradeNo,
    tradeNo: t.tradeNo,
    outRequestNo,
    refundAmountFen: fen,
    refundAmount: fenToYuanString(fen),
    gmtRefundPay: wire.shanghaiTime(now),
  };
  if (reason !== undefined) record.reason = reason;
  state.refunds.push(record);
  t.refundedFen += fen;
  if (t.refundedFen === t.totalAmountFen) {
    // Fully refunded: Alipay closes the trade (and says so in the notification below).
    t.status = 'TRADE_CLOSED';
    t.gmtClose = wire.shanghaiTime(now);
  }
  ctx.notifier.enqueue(t, {}, {
    refund_fee: fenToYuanString(t.refundedFen),
    // Alipay sends gmt_refund with milliseconds (yyyy-MM-dd HH:mm:ss.S), unlike its other times.
    gmt_refund: wire.shanghaiTimeMillis(now),
    out_biz_no: outRequestNo,
  });
  state.save();
  return refundAnswer(t, record, 'Y', options);
}

/**
 * alipay.trade.fastpay.refund.query. Code 10000 only means the query worked: an unknown request number
 * answers 10000 without refund data ("not refunded; retry the refund with the same number").
 */
export function apiRefundQuery(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): ApiPayload {
  const t = lookupForApi(ctx, merchant, biz);
  const outRequestNo = bizString(biz, 'out_request_no');
  if (!outRequestNo) throw missing('isv.missing-parameter', '缺少必选参数 out_request_no');
  const base = { code: '10000', msg: 'Success', trade_no: t.tradeNo, out_trade_no: t.outTradeNo, out_request_no: outRequestNo };
  const r = ctx.state.refundOf(t, outRequestNo);
  if (!r) return base;
  return compact({
    ...base,
    total_amount: t.totalAmount,
    refund_amount: r.refundAmount,
    refund_status: 'REFUND_SUCCESS',
    refund_reason: r.reason,
    // Only on request, as the real gateway does.
    gmt_refund_pay: queryOptions(biz).includes('gmt_refund_pay') ? r.gmtRefundPay : undefined,
  });
}
