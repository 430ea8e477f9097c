/**
 * alipay.fund.trans.uni.transfer (单笔无密转账到支付宝账户, product TRANS_ACCOUNT_NO_PWD, scene DIRECT_TRANSFER) and
 * alipay.fund.trans.common.query as the real gateway behaves: a transfer is paid from the app's balance to an
 * Alipay account named by logon id or 2088… user id, checking the real name when one is given; it is idempotent
 * per (app, out_biz_no), and the same number with other content is refused rather than paid again.
 *
 * Error codes are Alipay's own (uni.transfer / common.query error tables): PAYEE_NOT_EXIST, PAYEE_USER_INFO_ERROR
 * (name mismatch), PAYEE_ACC_OCUPIED (one phone number, several accounts), PAYER_BALANCE_NOT_ENOUGH,
 * PAYMENT_INFO_INCONSISTENCY, EXCEED_LIMIT_SM_MIN_AMOUNT / EXCEED_LIMIT_SM_AMOUNT, PRODUCT_NOT_SIGN,
 * PAYER_PAYEE_CANNOT_SAME, INVALID_PARAMETER, and ORDER_NOT_EXIST for the query. A refused transfer (40004)
 * creates no transfer order, as at Alipay: nothing is paid, the query does not know the number, and the same
 * out_biz_no may be sent again once the cause is fixed (Alipay's advice for PAYER_BALANCE_NOT_ENOUGH is exactly
 * "top up, then retry the original request").
 */
import { fenToYuanString, MAX_AMOUNT_FEN, yuanStringToFen } from '../../domain/money';
import type { AlipayContext } from './context';
import { business, missing, SimError, type ApiPayload } from './errors';
import * as wire from './protocol';
import { bizString } from './request';
import type { AlipayState } from './state';
import type { SimMerchant, SimPayee, SimTransfer, SimTransferMode } from './types';

export const TRANSFER_METHOD = 'alipay.fund.trans.uni.transfer';
export const TRANSFER_QUERY_METHOD = 'alipay.fund.trans.common.query';

/** The only transfer product simulated: 单笔无密转账到支付宝账户. */
const TRANSFER_PRODUCT = 'TRANS_ACCOUNT_NO_PWD';
/** Real products of uni.transfer the sandbox's apps have not signed (red packets, transfers to bank cards). */
const UNSIGNED_PRODUCTS = new Set(['STD_RED_PACKET', 'TRANS_BANKCARD_NO_PWD']);
const BIZ_SCENE = 'DIRECT_TRANSFER';
const IDENTITY_TYPES = new Set(['ALIPAY_LOGON_ID', 'ALIPAY_USER_ID']);
/** "只支持半角英文、数字，及“-”、“_”", at most 64 characters. */
const OUT_BIZ_NO = /^[A-Za-z0-9_-]{1,64}$/;
const USER_ID = /^2088\d{12}$/;
/** TRANS_ACCOUNT_NO_PWD takes trans_amount in [0.1, 100000000] yuan. */
const MIN_TRANSFER_FEN = 10;
const MAX_TRANSFER_FEN = MAX_AMOUNT_FEN;
/** Field lengths of uni.transfer (characters). */
const MAX_TITLE = 128;
const MAX_REMARK = 200;
const DEFAULT_DEALING_FAIL = { errorCode: 'PAYEE_ACCOUNT_STATUS_ERROR', reason: '收款方账号异常' };
const DEFAULT_BOUNCE = { errorCode: 'PAYEE_ACCOUNT_STATUS_ERROR', reason: '收款账户状态异常，资金已退回' };

/** Drops empty values: Alipay omits absent fields rather than sending "". */
function compact(payload: Record<string, string | undefined>): ApiPayload {
  const out: ApiPayload = {};
  for (const [k, v] of Object.entries(payload)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

const invalidParameter = (detail: string) => business('INVALID_PARAMETER', `参数有误：${detail}`, 400);

function transferAnswer(r: SimTransfer): ApiPayload {
  return compact({
    code: '10000',
    msg: 'Success',
    out_biz_no: r.outBizNo,
    order_id: r.orderId,
    // Only once the money reached the payee; a DEALING or failed order has no fund flow yet.
    pay_fund_order_id: r.payFundOrderId,
    status: r.status,
    trans_date: r.transDate,
  });
}

function parseAmount(biz: Record<string, unknown>): number {
  const text = bizString(biz, 'trans_amount');
  if (!text) throw missing('isv.missing-parameter', '缺少必选参数 trans_amount');
  let fen: number;
  try {
    fen = yuanStringToFen(text);
  } catch {
    throw invalidParameter(`trans_amount 格式错误：${text}`);
  }
  if (fen < MIN_TRANSFER_FEN) throw business('EXCEED_LIMIT_SM_MIN_AMOUNT', '请求金额低于单笔最小转账金额');
  if (fen > MAX_TRANSFER_FEN) throw business('EXCEED_LIMIT_SM_AMOUNT', '单笔额度超限');
  return fen;
}

interface PayeeInfo {
  identityType: 'ALIPAY_LOGON_ID' | 'ALIPAY_USER_ID';
  identity: string;
  name?: string;
}

function parsePayee(biz: Record<string, unknown>): PayeeInfo {
  const v = biz.payee_info;
  if (v === undefined || v === null) throw missing('isv.missing-parameter', '缺少必选参数 payee_info');
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('payee_info 格式错误');
  const p = v as Record<string, unknown>;
  const identity = bizString(p, 'identity');
  if (!identity) throw invalidParameter('payee_info.identity 不能为空');
  const identityType = bizString(p, 'identity_type');
  // BANKCARD_ACCOUNT belongs to TRANS_BANKCARD_NO_PWD; with TRANS_ACCOUNT_NO_PWD it is a wrong parameter.
  if (!identityType || !IDENTITY_TYPES.has(identityType)) throw invalidParameter(`payee_info.identity_type 不支持：${identityType ?? '(空)'}`);
  const name = bizString(p, 'name');
  // "当identity_type=ALIPAY_LOGON_ID时，本字段必填": a logon id alone (a phone number may be reused) does not
  // identify the person safely enough to pay them.
  if (identityType === 'ALIPAY_LOGON_ID' && name === undefined) throw invalidParameter('identity_type 为 ALIPAY_LOGON_ID 时 payee_info.name 必填');
  return { identityType: identityType as PayeeInfo['identityType'], identity, name };
}

/** The account a payee_info names, or Alipay's refusal. */
function resolvePayee(state: AlipayState, p: PayeeInfo): SimPayee {
  if (p.identityType === 'ALIPAY_USER_ID') {
    const account = state.payees.find((x) => x.userId === p.identity);
    if (!account) throw business('PAYEE_NOT_EXIST', '收款账号不存在');
    if (p.name !== undefined && p.name !== account.name) throw business('PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配，请确认姓名是否正确');
    return account;
  }
  const accounts = state.payees.filter((x) => x.logonId === p.identity);
  if (accounts.length === 0) throw business('PAYEE_NOT_EXIST', '收款账号不存在');
  // A phone number can belong to several accounts; the name picks one, and must match one.
  const named = accounts.filter((x) => x.name === p.name);
  if (named.length === 0) throw business('PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配，请确认姓名是否正确');
  if (named.length > 1) throw business('PAYEE_ACC_OCUPIED', '收款方登录号有多个支付宝账号，无法确认唯一收款账号');
  return named[0];
}

/** What makes a repeat "the same request": the money and who gets it. Titles and remarks are not compared. */
function sameTransfer(r: SimTransfer, fen: number, p: PayeeInfo): boolean {
  return r.amountFen === fen && r.identityType === p.identityType && r.identity === p.identity && r.name === p.name;
}

/**
 * alipay.fund.trans.uni.transfer. Order of checks matters: a repeat of an accepted out_biz_no is answered before
 * the payee or the balance is looked at (the first transfer may itself have emptied the balance, and a caller
 * retrying after a lost answer must still learn that it was paid).
 */
export function apiTransfer(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): ApiPayload {
  const { state } = ctx;
  const outBizNo = bizString(biz, 'out_biz_no');
  if (!outBizNo) throw missing('isv.missing-parameter', '缺少必选参数 out_biz_no');
  if (!OUT_BIZ_NO.test(outBizNo)) throw invalidParameter('out_biz_no 只支持半角英文、数字及“-”、“_”，最长 64 位');
  const product = bizString(biz, 'product_code');
  if (!product) throw missing('isv.missing-parameter', '缺少必选参数 product_code');
  if (UNSIGNED_PRODUCTS.has(product)) throw business('PRODUCT_NOT_SIGN', '产品未签约');
  if (product !== TRANSFER_PRODUCT) throw invalidParameter(`product_code 不支持：${product}`);
  // Documented as optional, refused in practice without it (Alipay support: biz_scene 必传).
  const scene = bizString(biz, 'biz_scene');
  if (scene !== BIZ_SCENE) throw invalidParameter(`biz_scene 必须为 ${BIZ_SCENE}`);
  const fen = parseAmount(biz);
  const payee = parsePayee(biz);
  const orderTitle = bizString(biz, 'order_title');
  if (orderTitle !== undefined && [...orderTitle].length > MAX_TITLE) throw invalidParameter('order_title 超长');
  const remark = bizString(biz, 'remark');
  if (remark !== undefined && [...remark].length > MAX_REMARK) throw invalidParameter('remark 超长');

  const previous = state.transferOf(merchant.appId, outBizNo);
  if (previous) {
    // Alipay pays an out_biz_no at most once; the same number with another amount or payee is a client bug.
    if (!sameTransfer(previous, fen, payee)) throw business('PAYMENT_INFO_INCONSISTENCY', '两次请求商户单号一样，但是参数不一致');
    return transferAnswer(previous);
  }

  const account = resolvePayee(state, payee);
  if (account.userId === merchant.sellerId) throw business('PAYER_PAYEE_CANNOT_SAME', '收付款方不能相同');
  const balance = state.balanceOf(merchant.appId);
  if (balance < fen) throw business('PAYER_BALANCE_NOT_ENOUGH', '付款方余额不足');

  const now = new Date();
  const dealing = (state.transferModes.get(merchant.appId) ?? 'instant') === 'dealing';
  const record: SimTransfer = {
    appId: merchant.appId,
    outBizNo,
    orderId: wire.newTransferOrderId(now),
    amountFen: fen,
    transAmount: fenToYuanString(fen),
    identityType: payee.identityType,
    identity: payee.identity,
    payeeUserId: account.userId,
    status: dealing ? 'DEALING' : 'SUCCESS',
    transDate: wire.shanghaiTime(now),
  };
  if (payee.name !== undefined) record.name = payee.name;
  if (orderTitle !== undefined) record.orderTitle = orderTitle;
  if (remark !== undefined) record.remark = remark;
  if (!dealing) {
    record.payFundOrderId = wire.newPayFundOrderId(now);
    record.payDate = record.transDate;
  }
  // The money leaves the balance on acceptance, DEALING included: it is on its way and not spendable again.
  state.balances.set(merchant.appId, balance - fen);
  state.transfers.push(record);
  state.save();
  return transferAnswer(record);
}

/**
 * alipay.fund.trans.common.query. Looks up by pay_fund_order_id, else order_id, else out_biz_no (which needs
 * product_code and biz_scene, the order's key together with it); an unknown order is ORDER_NOT_EXIST.
 */
export function apiTransferQuery(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): ApiPayload {
  const own = ctx.state.transfers.filter((t) => t.appId === merchant.appId);
  const payFundOrderId = bizString(biz, 'pay_fund_order_id');
  const orderId = bizString(biz, 'order_id');
  const outBizNo = bizString(biz, 'out_biz_no');
  let r: SimTransfer | undefined;
  if (payFundOrderId) r = own.find((t) => t.payFundOrderId === payFundOrderId);
  else if (orderId) r = own.find((t) => t.orderId === orderId);
  else if (outBizNo) {
    const product = bizString(biz, 'product_code');
    const scene = bizString(biz, 'biz_scene');
    if (!product || !scene) throw invalidParameter('按 out_biz_no 查询时 product_code 和 biz_scene 必填');
    if (product === TRANSFER_PRODUCT && scene === BIZ_SCENE) r = own.find((t) => t.outBizNo === outBizNo);
  } else {
    throw invalidParameter('out_biz_no、order_id、pay_fund_order_id 不能同时为空');
  }
  if (!r) throw business('ORDER_NOT_EXIST', '转账订单不存在', 404);
  const failed = r.status === 'FAIL' || r.status === 'REFUND';
  return compact({
    code: '10000',
    msg: 'Success',
    order_id: r.orderId,
    pay_fund_order_id: r.payFundOrderId,
    out_biz_no: r.outBizNo,
    // "订单状态为SUCCESS才返回".
    trans_amount: r.status === 'SUCCESS' ? r.transAmount : undefined,
    status: r.status,
    // "转账失败不返回"; a bounced transfer was paid first.
    pay_date: r.status === 'FAIL' ? undefined : r.payDate,
    // "查询到的订单状态为FAIL失败或REFUND退票时，返回错误代码 / 具体的原因".
    error_code: failed ? r.errorCode : undefined,
    fail_reason: failed ? r.failReason : undefined,
  });
}

// --- control side ------------------------------------------------------------------------------------------

function knownApp(state: AlipayState, appId: unknown): string {
  if (typeof appId !== 'string' || !state.merchants.has(appId)) throw new SimError(404, `no merchant ${String(appId)}`);
  return appId;
}

/** Control-side lookup by out_biz_no; appId is needed only when several apps used the same number. */
export function findTransfer(state: AlipayState, outBizNo: string, appId?: string): SimTransfer {
  const found = state.transfers.filter((t) => t.outBizNo === outBizNo && (!appId || t.appId === appId));
  if (found.length === 0) throw new SimError(404, `no transfer ${outBizNo}${appId ? ` for app ${appId}` : ''}`);
  if (found.length > 1) throw new SimError(409, `out_biz_no ${outBizNo} is used by several apps; pass appId`);
  return found[0];
}

export function setBalance(ctx: AlipayContext, appId: string, fen: number): void {
  knownApp(ctx.state, appId);
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen) || fen < 0) throw new SimError(400, 'balance must be a non-negative integer fen');
  ctx.state.balances.set(appId, fen);
  ctx.state.save();
}

export function balance(ctx: AlipayContext, appId: string): number {
  return ctx.state.balanceOf(knownApp(ctx.state, appId));
}

export function addPayee(ctx: AlipayContext, p: { logonId?: unknown; userId?: unknown; name?: unknown }): SimPayee {
  const { state } = ctx;
  if (typeof p.name !== 'string' || !p.name.trim()) throw new SimError(400, 'name is required');
  if (p.logonId !== undefined && (typeof p.logonId !== 'string' || !p.logonId)) throw new SimError(400, 'logonId must be a non-empty string');
  if (p.userId !== undefined && (typeof p.userId !== 'string' || !USER_ID.test(p.userId))) {
    throw new SimError(400, 'userId must be 2088 followed by 12 digits');
  }
  let userId = p.userId as string | undefined;
  if (userId === undefined) {
    // A generated id must not silently replace an existing account.
    do userId = wire.newPartnerId();
    while (state.payees.some((x) => x.userId === userId));
  }
  const payee: SimPayee = { userId, name: p.name };
  if (p.logonId !== undefined) payee.logonId = p.logonId as string;
  // The same user id again replaces the account (e.g. a changed name or a new phone number).
  state.payees = [...state.payees.filter((x) => x.userId !== userId), payee];
  state.save();
  return { ...payee };
}

export function listPayees(ctx: AlipayContext): SimPayee[] {
  return structuredClone(ctx.state.payees);
}

export function setTransferMode(ctx: AlipayContext, appId: string, mode: SimTransferMode): void {
  knownApp(ctx.state, appId);
  if (mode !== 'instant' && mode !== 'dealing') throw new SimError(400, `unknown transfer mode ${String(mode)} (instant or dealing)`);
  ctx.state.transferModes.set(appId, mode);
  ctx.state.save();
}

function optionalText(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !v) throw new SimError(400, `${what} must be a non-empty string`);
  return v;
}

/** DEALING → SUCCESS (paid now), or → FAIL with the amount back on the merchant's balance. */
export function completeTransfer(
  ctx: AlipayContext,
  outBizNo: string,
  o: { appId?: string; fail?: { errorCode?: string; reason?: string } } = {},
): SimTransfer {
  const { state } = ctx;
  const r = findTransfer(state, outBizNo, o.appId);
  if (r.status !== 'DEALING') throw new SimError(409, `transfer ${outBizNo} is ${r.status}, not DEALING`);
  const now = new Date();
  if (o.fail) {
    r.status = 'FAIL';
    r.errorCode = optionalText(o.fail.errorCode, 'fail.errorCode') ?? DEFAULT_DEALING_FAIL.errorCode;
    r.failReason = optionalText(o.fail.reason, 'fail.reason') ?? DEFAULT_DEALING_FAIL.reason;
    state.balances.set(r.appId, state.balanceOf(r.appId) + r.amountFen);
  } else {
    r.status = 'SUCCESS';
    r.payFundOrderId = wire.newPayFundOrderId(now);
    r.payDate = wire.shanghaiTime(now);
  }
  state.save();
  return structuredClone(r);
}

/**
 * SUCCESS → REFUND (退票): the payee's side sent the money back. Alipay documents this for transfers to bank
 * cards; it is simulated for Alipay accounts too so a client's handling of a paid-then-returned payout is testable.
 */
export function bounceTransfer(ctx: AlipayContext, outBizNo: string, o: { appId?: string; errorCode?: string; reason?: string } = {}): SimTransfer {
  const { state } = ctx;
  const r = findTransfer(state, outBizNo, o.appId);
  if (r.status !== 'SUCCESS') throw new SimError(409, `transfer ${outBizNo} is ${r.status}, not SUCCESS`);
  r.status = 'REFUND';
  r.errorCode = optionalText(o.errorCode, 'errorCode') ?? DEFAULT_BOUNCE.errorCode;
  r.failReason = optionalText(o.reason, 'reason') ?? DEFAULT_BOUNCE.reason;
  state.balances.set(r.appId, state.balanceOf(r.appId) + r.amountFen);
  state.save();
  return structuredClone(r);
}

export function listTransfers(ctx: AlipayContext, appId?: string): SimTransfer[] {
  return structuredClone(ctx.state.transfers.filter((t) => !appId || t.appId === appId));
}
