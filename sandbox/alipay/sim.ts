/**
 * The control side of the sandbox: the loopback-only JSON API under /__sim/ and the typed handle methods
 * that drive the same operations (merchants, buyer transitions, app pay, faults, the refund record, the
 * notification log, bill anomalies and seeded bill lines, backdating payments and refunds into a billed day,
 * transfer balances, payee accounts, DEALING transfers and the transfer record).
 */
import type http from 'node:http';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { ChannelCredentials } from '../../providers/types';
import { ChaosError, type SandboxChaosSettings } from '../chaos';
import type { NotifyMode } from '../types';
import { addBillAnomaly, backdateRefund, BILL_DOWNLOAD_FAULT_METHOD, clearBillAdjustments, listBillAdjustments, parseInstant, seedBillRows } from './bills';
import { appPayFromOrderString } from './cashier';
import type { AlipayContext } from './context';
import { AlipayFailure, SimError } from './errors';
import { sendJson } from './http';
import * as wire from './protocol';
import { publicView, type TradeRecord } from './state';
import { buyerFail, buyerPay, closeUnpaid, findTrade, finishPaid, markCreated } from './trades';
import {
  addPayee,
  balance,
  bounceTransfer,
  completeTransfer,
  listPayees,
  listTransfers,
  setBalance,
  setTransferMode,
  TRANSFER_METHOD,
  TRANSFER_QUERY_METHOD,
} from './transfers';
import type {
  AlipaySandboxHandle,
  SimBillAnomaly,
  SimBillSeed,
  SimFault,
  SimFaultKind,
  SimNotificationDelivery,
  SimRefund,
  SimTrade,
  SimTransferMode,
  SimTransitionOptions,
} from './types';

/** The handle's methods; index.ts adds url, localUrl, alipayPublicKey and close. */
export type SimHandleMethods = Omit<AlipaySandboxHandle, 'url' | 'localUrl' | 'alipayPublicKey' | 'close'>;

async function createMerchant(
  ctx: AlipayContext,
  o: { mchId?: string; providerAppId?: string; appPublicKey?: string } = {},
): Promise<ChannelCredentials> {
  const { state } = ctx;
  const appId = o.providerAppId ?? o.mchId ?? wire.newAppId();
  let appPublicKey: string;
  let appPrivateKey: string | undefined;
  if (o.appPublicKey) {
    try {
      appPublicKey = String(createPublicKey(o.appPublicKey).export({ type: 'spki', format: 'pem' })).trim();
    } catch {
      throw new SimError(400, 'appPublicKey is not a PEM public key');
    }
  } else {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    appPublicKey = String(pair.publicKey.export({ type: 'spki', format: 'pem' })).trim();
    // PKCS#1, what Alipay's key tool hands to non-Java developers.
    appPrivateKey = String(pair.privateKey.export({ type: 'pkcs1', format: 'pem' })).trim();
  }
  const previous = state.merchants.get(appId);
  state.merchants.set(appId, {
    appId,
    sellerId: previous?.sellerId ?? wire.newPartnerId(),
    appPublicKey,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
  });
  state.saveNow();
  const secrets: Record<string, string> = { alipayPublicKey: state.alipayPublicKey };
  if (appPrivateKey) secrets.appPrivateKey = appPrivateKey;
  return { channelType: 'ali-pay', mchId: appId, providerAppId: appId, gatewayUrl: ctx.baseUrl, secrets };
}

const FAULT_KINDS: readonly SimFaultKind[] = [
  'http502',
  'badSignature',
  'drop',
  'http502AfterProcessing',
  'dropAfterProcessing',
  'sellerBalanceNotEnough',
  'systemError',
];

function injectFault(ctx: AlipayContext, f: SimFault): void {
  if (!FAULT_KINDS.includes(f.kind)) throw new SimError(400, `unknown fault kind ${String(f.kind)}`);
  const count = f.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new SimError(400, 'count must be a positive integer');
  let method = f.method;
  if (f.kind === 'sellerBalanceNotEnough') {
    // A balance refusal only exists for refunds; bound to the method so no other call can use it up.
    if (method && method !== 'alipay.trade.refund') throw new SimError(400, 'sellerBalanceNotEnough applies to alipay.trade.refund only');
    method = 'alipay.trade.refund';
  }
  if (f.kind === 'systemError') {
    // Only the fund APIs answer a bare SYSTEM_ERROR (trade APIs say ACQ.SYSTEM_ERROR); bound to a method so no
    // other call can use it up.
    if (method && method !== TRANSFER_METHOD && method !== TRANSFER_QUERY_METHOD) {
      throw new SimError(400, `systemError applies to ${TRANSFER_METHOD} and ${TRANSFER_QUERY_METHOD} only`);
    }
    method = method ?? TRANSFER_METHOD;
  }
  // The bill file download is no gateway call: only a refused or dropped connection makes sense there.
  if (method === BILL_DOWNLOAD_FAULT_METHOD && f.kind !== 'http502' && f.kind !== 'drop') {
    throw new SimError(400, `${f.kind} does not apply to ${BILL_DOWNLOAD_FAULT_METHOD} (http502 or drop)`);
  }
  ctx.faults.add({ kind: f.kind, count, method });
}

function refunds(ctx: AlipayContext, outTradeNo: string, appId?: string): SimRefund[] {
  return structuredClone(ctx.state.refunds.filter((r) => r.outTradeNo === outTradeNo && (!appId || r.appId === appId)));
}

function notifications(ctx: AlipayContext, filter: { outTradeNo?: string; appId?: string } = {}): SimNotificationDelivery[] {
  return structuredClone(
    ctx.state.deliveries.filter((d) => (!filter.outTradeNo || d.outTradeNo === filter.outTradeNo) && (!filter.appId || d.appId === filter.appId)),
  );
}

function transitionOptions(v: Record<string, unknown>): SimTransitionOptions {
  const o: SimTransitionOptions = {};
  const appId = v.appId ?? v.app_id;
  if (typeof appId === 'string') o.appId = appId;
  if (v.notify !== undefined) {
    if (!['normal', 'lost', 'duplicate', 'tampered', 'delayed'].includes(String(v.notify))) throw new SimError(400, `unknown notify mode ${String(v.notify)}`);
    o.notify = v.notify as NotifyMode;
  }
  if (v.delayMs !== undefined) {
    if (typeof v.delayMs !== 'number' || v.delayMs < 0) throw new SimError(400, 'delayMs must be a non-negative number');
    o.delayMs = v.delayMs;
  }
  if (v.amountOverrideFen !== undefined) {
    if (typeof v.amountOverrideFen !== 'number' || !Number.isSafeInteger(v.amountOverrideFen) || v.amountOverrideFen < 0) {
      throw new SimError(400, 'amountOverrideFen must be a non-negative integer');
    }
    o.amountOverrideFen = v.amountOverrideFen;
  }
  if (v.paidAt !== undefined) o.paidAt = parseInstant(v.paidAt, 'paidAt');
  return o;
}

/** Runs a buyer-side transition, turning protocol failures into control-API errors. */
function control(ctx: AlipayContext, outTradeNo: string, o: SimTransitionOptions | undefined, fn: (t: TradeRecord) => void): SimTrade {
  const t = findTrade(ctx.state, outTradeNo, o?.appId);
  try {
    fn(t);
  } catch (err) {
    if (err instanceof AlipayFailure) throw new SimError(409, `${err.subCode}: ${err.subMsg}`);
    throw err;
  }
  return publicView(t);
}

const scan = async (ctx: AlipayContext, no: string, o?: { appId?: string }) =>
  control(ctx, no, o, (t) => {
    if (t.status === 'NOT_SCANNED') markCreated(t);
    ctx.state.save();
  });
const pay = async (ctx: AlipayContext, no: string, o: SimTransitionOptions = {}) => {
  let paidAt: Date | undefined;
  if (o.paidAt !== undefined) {
    paidAt = parseInstant(o.paidAt, 'paidAt');
    if (paidAt.getTime() > Date.now()) throw new SimError(400, 'paidAt must not be in the future');
  }
  return control(ctx, no, o, (t) => buyerPay(ctx, t, o, paidAt));
};
const fail = async (ctx: AlipayContext, no: string, o: SimTransitionOptions = {}) => control(ctx, no, o, (t) => buyerFail(ctx, t));
const closeTrade = async (ctx: AlipayContext, no: string, o: SimTransitionOptions = {}) => control(ctx, no, o, (t) => closeUnpaid(ctx, t, o));
const finish = async (ctx: AlipayContext, no: string, o: SimTransitionOptions = {}) => control(ctx, no, o, (t) => finishPaid(ctx, t, o));
const appPay = async (ctx: AlipayContext, orderString: string) => {
  try {
    return publicView(appPayFromOrderString(ctx, orderString));
  } catch (err) {
    if (err instanceof AlipayFailure) throw new SimError(err.httpStatus, `${err.subCode}: ${err.subMsg}`);
    throw err;
  }
};

/** Requests under /__sim/ (the caller has already checked that they come from loopback). */
export async function handleControl(ctx: AlipayContext, res: http.ServerResponse, method: string, url: URL, raw: Buffer): Promise<void> {
  const p = url.pathname;
  const json = (): Record<string, unknown> => {
    if (!raw.length) return {};
    try {
      const v: unknown = JSON.parse(raw.toString('utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw new SimError(400, 'body must be a JSON object');
  };
  let m: RegExpExecArray | null;

  if (method === 'POST' && p === '/__sim/merchants') {
    const b = json();
    const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
    return sendJson(res, 201, await createMerchant(ctx, { providerAppId: str('appId') ?? str('providerAppId'), mchId: str('mchId'), appPublicKey: str('appPublicKey') }));
  }
  if (method === 'GET' && p === '/__sim/alipay-public-key') return sendJson(res, 200, { alipayPublicKey: ctx.state.alipayPublicKey });
  if (method === 'POST' && p === '/__sim/app-pay') {
    // Body: the sdkExec order string as produced for the app (text/plain or form-urlencoded alike).
    try {
      const t = appPayFromOrderString(ctx, raw.toString('utf8'));
      return sendJson(res, 200, { code: '10000', msg: 'Success', trade_no: t.tradeNo, out_trade_no: t.outTradeNo, pay_url: t.payUrl });
    } catch (err) {
      if (err instanceof AlipayFailure) return sendJson(res, err.httpStatus, err.payload());
      throw err;
    }
  }
  if (method === 'GET' && (m = /^\/__sim\/trades\/([^/]+)$/.exec(p))) {
    const appId = url.searchParams.get('app_id') ?? url.searchParams.get('appId') ?? undefined;
    return sendJson(res, 200, publicView(findTrade(ctx.state, decodeURIComponent(m[1]), appId)));
  }
  if (method === 'GET' && (m = /^\/__sim\/trades\/([^/]+)\/refunds$/.exec(p))) {
    const appId = url.searchParams.get('app_id') ?? url.searchParams.get('appId') ?? undefined;
    // 404 for an unknown trade (as /__sim/trades/{no}), [] for a trade without refunds.
    const t = findTrade(ctx.state, decodeURIComponent(m[1]), appId);
    return sendJson(res, 200, refunds(ctx, t.outTradeNo, t.appId));
  }
  if (method === 'POST' && (m = /^\/__sim\/trades\/([^/]+)\/(scan|pay|fail|close|finish)$/.exec(p))) {
    const o = transitionOptions({ ...json(), ...(url.searchParams.get('app_id') ? { appId: url.searchParams.get('app_id') } : {}) });
    const no = decodeURIComponent(m[1]);
    const action = m[2];
    const result =
      action === 'scan'
        ? await scan(ctx, no, o)
        : action === 'pay'
          ? await pay(ctx, no, o)
          : action === 'fail'
            ? await fail(ctx, no, o)
            : action === 'close'
              ? await closeTrade(ctx, no, o)
              : await finish(ctx, no, o);
    return sendJson(res, 200, result);
  }
  if (method === 'POST' && (m = /^\/__sim\/trades\/([^/]+)\/refunds\/([^/]+)\/backdate$/.exec(p))) {
    const b = json();
    const appId = url.searchParams.get('app_id') ?? (typeof b.appId === 'string' ? b.appId : undefined);
    return sendJson(res, 200, backdateRefund(ctx, { outTradeNo: decodeURIComponent(m[1]), outRequestNo: decodeURIComponent(m[2]), at: b.at as string, appId }));
  }
  if (method === 'POST' && p === '/__sim/bills/anomalies') return sendJson(res, 201, addBillAnomaly(ctx, json() as unknown as SimBillAnomaly));
  if (method === 'POST' && p === '/__sim/bills/seed') return sendJson(res, 201, seedBillRows(ctx, json() as unknown as SimBillSeed));
  if ((method === 'GET' || method === 'DELETE') && p === '/__sim/bills/adjustments') {
    const filter = { appId: url.searchParams.get('app_id') ?? undefined, day: url.searchParams.get('day') ?? undefined };
    if (method === 'DELETE') clearBillAdjustments(ctx, filter);
    return sendJson(res, 200, listBillAdjustments(ctx, method === 'DELETE' ? {} : filter));
  }
  if ((m = /^\/__sim\/merchants\/([^/]+)\/balance$/.exec(p)) && (method === 'GET' || method === 'POST')) {
    const appId = decodeURIComponent(m[1]);
    if (method === 'POST') setBalance(ctx, appId, json().fen as number);
    return sendJson(res, 200, { appId, fen: balance(ctx, appId) });
  }
  if (method === 'POST' && (m = /^\/__sim\/merchants\/([^/]+)\/transfer-mode$/.exec(p))) {
    const appId = decodeURIComponent(m[1]);
    const mode = json().mode as SimTransferMode;
    setTransferMode(ctx, appId, mode);
    return sendJson(res, 200, { appId, mode });
  }
  if (method === 'POST' && p === '/__sim/payees') return sendJson(res, 201, addPayee(ctx, json()));
  if (method === 'GET' && p === '/__sim/payees') return sendJson(res, 200, listPayees(ctx));
  if (method === 'GET' && p === '/__sim/transfers') {
    return sendJson(res, 200, listTransfers(ctx, url.searchParams.get('app_id') ?? url.searchParams.get('appId') ?? undefined));
  }
  if (method === 'POST' && (m = /^\/__sim\/transfers\/([^/]+)\/(complete|bounce)$/.exec(p))) {
    const b = json();
    const appId = url.searchParams.get('app_id') ?? (typeof b.appId === 'string' ? b.appId : undefined);
    const no = decodeURIComponent(m[1]);
    if (m[2] === 'complete') {
      if (b.fail !== undefined && (typeof b.fail !== 'object' || b.fail === null || Array.isArray(b.fail))) throw new SimError(400, 'fail must be an object');
      const fail = b.fail as { errorCode?: string; reason?: string } | undefined;
      return sendJson(res, 200, completeTransfer(ctx, no, { appId, fail }));
    }
    return sendJson(res, 200, bounceTransfer(ctx, no, { appId, errorCode: b.errorCode as string | undefined, reason: b.reason as string | undefined }));
  }
  if (method === 'POST' && p === '/__sim/faults') {
    const b = json();
    injectFault(ctx, { kind: b.kind as SimFaultKind, count: typeof b.count === 'number' ? b.count : undefined, method: typeof b.method === 'string' ? b.method : undefined });
    return sendJson(res, 201, { faults: ctx.faults.list });
  }
  if (p === '/__sim/chaos' && (method === 'GET' || method === 'POST')) {
    if (method === 'GET') return sendJson(res, 200, ctx.chaos.get());
    try {
      ctx.chaos.set(json() as Partial<SandboxChaosSettings>);
    } catch (err) {
      if (err instanceof ChaosError) throw new SimError(400, err.message);
      throw err;
    }
    return sendJson(res, 200, ctx.chaos.get());
  }
  if (method === 'DELETE' && p === '/__sim/faults') {
    ctx.faults.clear();
    return sendJson(res, 200, { faults: ctx.faults.list });
  }
  if (method === 'GET' && p === '/__sim/notifications') {
    return sendJson(
      res,
      200,
      notifications(ctx, { outTradeNo: url.searchParams.get('out_trade_no') ?? undefined, appId: url.searchParams.get('app_id') ?? undefined }),
    );
  }
  throw new SimError(404, `no control route ${method} ${p}`);
}

/** The typed handle's control methods, bound to `ctx`. */
export function simHandleMethods(ctx: AlipayContext): SimHandleMethods {
  const { state, notifier } = ctx;
  return {
    createMerchant: (o) => createMerchant(ctx, o),
    merchant: (appId) => {
      const m = state.merchants.get(appId);
      return m ? { ...m } : undefined;
    },
    trade: (outTradeNo, appId) => {
      try {
        return publicView(findTrade(state, outTradeNo, appId));
      } catch (err) {
        if (err instanceof SimError && err.status === 404) return undefined;
        throw err;
      }
    },
    trades: () => [...state.trades.values()].map(publicView),
    scan: (no, o) => scan(ctx, no, o),
    appPay: (orderString) => appPay(ctx, orderString),
    pay: (no, o) => pay(ctx, no, o),
    fail: (no, o) => fail(ctx, no, o),
    closeTrade: (no, o) => closeTrade(ctx, no, o),
    finish: (no, o) => finish(ctx, no, o),
    refunds: (no, appId) => refunds(ctx, no, appId),
    setBalance: (appId, fen) => setBalance(ctx, appId, fen),
    balance: (appId) => balance(ctx, appId),
    addPayee: (payee) => addPayee(ctx, payee),
    payees: () => listPayees(ctx),
    setTransferMode: (appId, mode) => setTransferMode(ctx, appId, mode),
    completeTransfer: async (no, o) => completeTransfer(ctx, no, o),
    bounceTransfer: async (no, o) => bounceTransfer(ctx, no, o),
    transfers: (appId) => listTransfers(ctx, appId),
    backdateRefund: async (o) => backdateRefund(ctx, o),
    addBillAnomaly: (a) => addBillAnomaly(ctx, a),
    seedBillRows: (seed) => seedBillRows(ctx, seed),
    billAdjustments: (filter) => listBillAdjustments(ctx, filter),
    clearBillAdjustments: (filter) => clearBillAdjustments(ctx, filter),
    injectFault: (f) => injectFault(ctx, f),
    clearFaults: () => ctx.faults.clear(),
    setChaos: (c) => {
      ctx.chaos.set(c);
      return ctx.chaos.get();
    },
    notifications: (filter) => notifications(ctx, filter),
    waitForNotifications: (predicate, o = {}) => {
      const count = o.count ?? 1;
      const timeoutMs = o.timeoutMs ?? 15000;
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const matched = state.deliveries.filter(predicate);
          if (matched.length < count) return false;
          cleanup();
          resolve(structuredClone(matched));
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`waitForNotifications: fewer than ${count} matching deliveries within ${timeoutMs} ms (log has ${state.deliveries.length})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          notifier.events.off('delivery', check);
        };
        if (!check()) notifier.events.on('delivery', check);
      });
    },
    idle: () =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (notifier.isIdle()) {
            notifier.events.off('change', check);
            resolve();
          }
        };
        notifier.events.on('change', check);
        check();
      }),
  };
}
