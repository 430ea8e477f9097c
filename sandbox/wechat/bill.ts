/**
 * WeChat Pay APIv3 bills of the sandbox: 申请交易账单 (GET /v3/bill/tradebill), 申请资金账单 (GET /v3/bill/fundflowbill)
 * and 下载账单 (GET download_url), with the bill files WeChat serves.
 *
 * The file, as WeChat documents and real bills show it: UTF-8 with a BOM; a header row whose columns depend on
 * bill_type; one line per paid trade (交易状态 SUCCESS) and per successful refund (交易状态 REFUND) of the day,
 * every field prefixed with a backquote so Excel keeps long numbers as text; amounts in yuan with 2 decimals
 * (手续费 with 5); then the totals header (总交易单数,…) and one backquoted totals row. hash_value is the SHA1 of
 * that uncompressed file ("原始账单（gzip需要解压缩）的摘要值"); tar_type=GZIP serves it gzip-compressed.
 * The apply answer is signed like every API answer; the file is not (WeChat: the download answer carries no
 * Wechatpay-Signature, the hash from the signed apply answer is what vouches for it).
 *
 * Content, per merchant and day (Asia/Shanghai): trades whose success_time falls on the day, refunds whose
 * success_time falls on the day (in the ALL bill with the refund time as 交易时间, in the REFUND bill with the
 * payment time as 交易时间 and 退款申请时间/退款成功时间 beside it), plus the adjustments tests add (anomalies,
 * synthetic seeds). Bills are built when applied for, so a payment backdated later shows in the next
 * application; the file behind one download_url never changes (its hash was already handed out).
 *
 * The fund flow bill (资金账单) lists the money movements of one account of the day, each line backquoted like the
 * trade bill's: BASIC (基本账户, the default account_type) gets each payment as 收入 net of the fee and each refund
 * as 支出 net of the fee given back, OPERATION (运营账户) each successful 商家转账 as 支出; 账户结余 runs from a
 * fixed opening balance of the day (the sandbox keeps no account ledger); then 资金流水总笔数,收入笔数,收入金额,支出笔数,
 * 支出金额 and its row. FEES (手续费账户) has no lines in the sandbox (NO_STATEMENT_EXIST).
 *
 * Large bills never exist in memory: synthetic lines are generated while hashing and again while serving, in
 * 64 KiB chunks, with the HTTP response's backpressure.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { randomAlnum, randomDigits, rfc3339Cst } from './crypto';
import { SimError, type ApiAnswer } from './sim';
import { tradeKey, type SandboxState, type StoredBillSeed } from './state';
import type {
  WechatBillAnomaly,
  WechatBillCorruption,
  WechatBillSeed,
  WechatBillSeedSummary,
  WechatBillType,
} from './types';

/** A bill file answer: served unsigned, as a byte stream. */
export interface FileAnswer {
  status: 200;
  contentType: string;
  gzip: boolean;
  body: () => Readable;
  /** 'RESET' corruption: the connection is cut when `body` ends instead of the response being finished. */
  breakConnection?: boolean;
}

export function isFileAnswer(a: ApiAnswer | FileAnswer): a is FileAnswer {
  return typeof a.body === 'function';
}

const wxError = (status: number, code: string, message: string): ApiAnswer => ({ status, body: { code, message } });

const BOM = '\uFEFF';
const EOL = '\r\n';
const CHUNK_BYTES = 64 * 1024;
/** WeChat: "账单文件的下载地址的有效时间为 30s". */
const DOWNLOAD_URL_TTL_MS = 30_000;
const BILL_TYPES: WechatBillType[] = ['ALL', 'SUCCESS', 'REFUND'];
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const MAX_SEED_LINES = 2_000_000;
const MAX_FEN = 10_000_000_000;

const HEADERS: Record<WechatBillType, string> = {
  ALL:
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,' +
    '微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
  SUCCESS:
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,' +
    '商品名称,商户数据包,手续费,费率,订单金额,费率备注',
  REFUND:
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,' +
    '退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
};
const TOTALS_HEADER = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
/** The sandbox's fee rate (费率) 0.60%: fee = amount × 6/1000, rounded to the fen. */
const RATE = '0.60%';

/** One line of a bill before formatting. */
interface BillLine {
  kind: 'PAYMENT' | 'REFUND';
  /** Payment: its success time. Refund: the refund's success time. */
  time: Date;
  /** The trade's success time (the REFUND bill's 交易时间). */
  paymentTime: Date;
  appid: string;
  mchid: string;
  transactionId: string;
  outTradeNo: string;
  openid: string;
  tradeType: string;
  description: string;
  attach: string;
  /** Payment lines: the amount listed (订单金额 = 应结订单金额: the sandbox has no coupons). */
  amountFen: number;
  refundId?: string;
  outRefundNo?: string;
  refundFen?: number;
  refundCreateTime?: Date;
}

/** Everything a bill file is made of, frozen when applied for. */
interface BillSnapshot {
  mchid: string;
  day: string;
  billType: WechatBillType;
  lines: BillLine[];
  seeds: StoredBillSeed[];
  appid: string;
  totalsDeltaFen: number;
}

interface IssuedBill {
  mchid: string;
  /** The file's chunks; `alter` is the 'ALTERED' corruption. */
  render: (alter: boolean) => Generator<Buffer>;
  gzip: boolean;
  byteLength: number;
  expiresAt: number;
}

// ───────────────────────── formatting (written independently of the adapter's parser) ─────────────────────────

const pad = (n: number, width: number) => n.toString().padStart(width, '0');

function yuan(fen: number): string {
  const abs = Math.abs(fen);
  return `${fen < 0 ? '-' : ''}${Math.floor(abs / 100)}.${pad(abs % 100, 2)}`;
}

/** 手续费 is printed with 5 decimals ("0.04000"); WeChat rounds the fee itself to the fen. */
function fee5(fen: number): string {
  return fen === 0 ? '0.00000' : `${yuan(fen)}000`;
}

const feeOf = (fen: number) => Math.round((fen * 6) / 1000);

/** yyyy-MM-dd HH:mm:ss in China Standard Time. */
function cstDateTime(d: Date): string {
  return rfc3339Cst(d).slice(0, 19).replace('T', ' ');
}

export function cstDay(d: Date): string {
  return rfc3339Cst(d).slice(0, 10);
}

/** Start of a yyyy-MM-dd day in Asia/Shanghai, as epoch ms. */
function dayStartMs(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y, m - 1, d) - 8 * 3600_000;
}

function isValidDay(day: unknown): day is string {
  if (typeof day !== 'string' || !DAY_PATTERN.test(day)) return false;
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** Text fields must not break the line structure; WeChat's own escaping of commas is undocumented, so none. */
const clean = (s: string) => s.replace(/[\r\n]+/g, ' ');

const row = (fields: string[]) => `\`${fields.join(',`')}`;

function formatLine(l: BillLine, billType: WechatBillType, alter: boolean): string {
  // 'ALTERED' corruption: one byte of 用户标识 differs, nothing a parser or the totals would notice.
  const openid = alter ? `${l.openid.slice(0, -1)}${l.openid.endsWith('x') ? 'y' : 'x'}` : l.openid;
  const common = [cstDateTime(billType === 'REFUND' ? l.paymentTime : l.time), l.appid, l.mchid, '0', '', l.transactionId, l.outTradeNo, openid, l.tradeType];
  const description = clean(l.description);
  const attach = clean(l.attach);
  if (l.kind === 'PAYMENT') {
    const amount = yuan(l.amountFen);
    const fee = fee5(feeOf(l.amountFen));
    if (billType === 'SUCCESS') return row([...common, 'SUCCESS', 'OTHERS', 'CNY', amount, '0.00', description, attach, fee, RATE, amount, '']);
    return row([...common, 'SUCCESS', 'OTHERS', 'CNY', amount, '0.00', '0', '0', '0.00', '0.00', '', '', description, attach, fee, RATE, amount, '0.00', '']);
  }
  const refund = yuan(l.refundFen!);
  // A refund gives the fee back: WeChat lists it negative on the refund line.
  const fee = fee5(-feeOf(l.refundFen!));
  if (billType === 'REFUND') {
    return row([
      ...common, 'REFUND', 'OTHERS', 'CNY', '0.00', '0.00', cstDateTime(l.refundCreateTime!), cstDateTime(l.time),
      l.refundId!, l.outRefundNo!, refund, '0.00', 'ORIGINAL', 'SUCCESS', description, attach, fee, RATE, '0.00', refund, '',
    ]);
  }
  return row([...common, 'REFUND', 'OTHERS', 'CNY', '0.00', '0.00', l.refundId!, l.outRefundNo!, refund, '0.00', 'ORIGINAL', 'SUCCESS', description, attach, fee, RATE, '0.00', refund, '']);
}

// ───────────────────────── synthetic lines ─────────────────────────

function seedAmount(seed: StoredBillSeed, i: number): number {
  return seed.amountFen ?? 100 + ((i * 7919) % 900);
}

function* seedLines(seed: StoredBillSeed, seedNo: number, appid: string): Generator<BillLine> {
  const start = dayStartMs(seed.day);
  const ymd = seed.day.replace(/-/g, '');
  const paymentTime = (i: number) => new Date(start + Math.floor((i * 86_400) / seed.count) * 1000);
  const payment = (i: number): BillLine => ({
    kind: 'PAYMENT',
    time: paymentTime(i),
    paymentTime: paymentTime(i),
    appid,
    mchid: seed.mchid,
    transactionId: `4200${pad(seedNo % 100, 2)}0000${ymd}${pad(i, 10)}`,
    outTradeNo: `${seed.outTradeNoPrefix}${pad(i, 7)}`,
    openid: `oSYN${pad(seedNo % 100, 2)}${pad(i, 22)}`,
    tradeType: 'NATIVE',
    description: '沙箱合成交易',
    attach: '',
    amountFen: seedAmount(seed, i),
  });
  for (let i = 0; i < seed.count; i++) yield payment(i);
  for (let i = 0; i < seed.refunds; i++) {
    const p = payment(i);
    // Halfway between the payment and the end of the day: always after the payment, always on the same day.
    const paidSec = p.time.getTime() / 1000;
    const refundAt = new Date((paidSec + Math.floor((start / 1000 + 86_399 - paidSec) / 2)) * 1000);
    yield {
      ...p,
      kind: 'REFUND',
      time: refundAt,
      refundId: `503${pad(seedNo % 100, 2)}000${ymd}${pad(i, 13)}`,
      outRefundNo: `${seed.outTradeNoPrefix}R${pad(i, 7)}`,
      refundFen: p.amountFen,
      refundCreateTime: refundAt,
    };
  }
}

function* snapshotLines(s: BillSnapshot): Generator<BillLine> {
  const wanted = (l: BillLine) => s.billType === 'ALL' || (s.billType === 'SUCCESS') === (l.kind === 'PAYMENT');
  for (const l of s.lines) if (wanted(l)) yield l;
  for (let n = 0; n < s.seeds.length; n++) for (const l of seedLines(s.seeds[n], n, s.appid)) if (wanted(l)) yield l;
}

/** The bill file as UTF-8 chunks of about 64 KiB. Totals are summed over exactly the lines emitted. */
function* billChunks(s: BillSnapshot, opts: { alter?: boolean } = {}): Generator<Buffer> {
  let buf = BOM + HEADERS[s.billType] + EOL;
  let count = 0;
  let settled = 0;
  let refunded = 0;
  let fees = 0;
  let first = true;
  for (const l of snapshotLines(s)) {
    buf += formatLine(l, s.billType, Boolean(opts.alter) && first) + EOL;
    first = false;
    count += 1;
    if (l.kind === 'PAYMENT') {
      settled += l.amountFen;
      fees += feeOf(l.amountFen);
    } else {
      refunded += l.refundFen!;
      fees -= feeOf(l.refundFen!);
    }
    if (buf.length >= CHUNK_BYTES / 3) {
      yield Buffer.from(buf, 'utf8');
      buf = '';
    }
  }
  // WRONG_TOTALS: WeChat's own file disagrees with itself (the hash covers it all the same).
  const stated = settled + s.totalsDeltaFen;
  buf += TOTALS_HEADER + EOL + row([String(count), yuan(stated), yuan(refunded), '0.00', fee5(fees), yuan(stated), yuan(refunded)]) + EOL;
  if (opts.alter && first) buf = buf.slice(BOM.length); // no line to alter: the missing BOM still changes the hash
  yield Buffer.from(buf, 'utf8');
}

/** Stops a byte stream after `limit` bytes (the 'TRUNCATED' corruption). */
function* truncate(chunks: Iterable<Buffer>, limit: number): Generator<Buffer> {
  let sent = 0;
  for (const c of chunks) {
    if (sent + c.length >= limit) {
      yield c.subarray(0, limit - sent);
      return;
    }
    sent += c.length;
    yield c;
  }
}

// ───────────────────────── fund flow bills (资金账单) ─────────────────────────

export type WechatFundAccountType = 'BASIC' | 'OPERATION' | 'FEES';
const FUND_ACCOUNT_TYPES: WechatFundAccountType[] = ['BASIC', 'OPERATION', 'FEES'];
const FUND_FLOW_HEADER = '记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号';
const FUND_FLOW_TOTALS_HEADER = '资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额';
/** 账户结余 of the first line starts from this balance (fen): the sandbox keeps no account ledger. */
const FUND_OPENING_BALANCE_FEN = 1_000_000;

interface FundFlowLine {
  time: Date;
  /** 微信支付业务单号: the transaction, refund or transfer bill number. */
  businessNo: string;
  /** 资金流水单号. */
  flowNo: string;
  name: string;
  type: string;
  income: boolean;
  /** Positive. */
  amountFen: number;
  remark: string;
  /** 业务凭证号: the merchant's own number. */
  voucher: string;
}

function* fundFlowChunks(lines: FundFlowLine[], alter: boolean): Generator<Buffer> {
  let buf = BOM + FUND_FLOW_HEADER + EOL;
  let balance = FUND_OPENING_BALANCE_FEN;
  let inCount = 0;
  let inFen = 0;
  let outCount = 0;
  let outFen = 0;
  lines.forEach((l, i) => {
    balance += l.income ? l.amountFen : -l.amountFen;
    if (l.income) {
      inCount += 1;
      inFen += l.amountFen;
    } else {
      outCount += 1;
      outFen += l.amountFen;
    }
    // 'ALTERED': one character of the first line's 资金变更提交申请人, nothing a parser or the totals would notice.
    const applicant = alter && i === 0 ? 'systen' : 'system';
    buf += row([cstDateTime(l.time), l.businessNo, l.flowNo, l.name, l.type, l.income ? '收入' : '支出', yuan(l.amountFen), yuan(balance), applicant, clean(l.remark), l.voucher]) + EOL;
  });
  buf += FUND_FLOW_TOTALS_HEADER + EOL + row([String(lines.length), String(inCount), yuan(inFen), String(outCount), yuan(outFen)]) + EOL;
  yield Buffer.from(buf, 'utf8');
}

// ───────────────────────── the bill desk ─────────────────────────

export interface BillOptions {
  /** See WechatSandboxOptions.billReadyHourCst. */
  billReadyHourCst: number;
}

export class WechatBills {
  private readonly issued = new Map<string, IssuedBill>();
  private corruptions: { kind: NonNullable<WechatBillCorruption['kind']>; mchid?: string }[] = [];

  constructor(
    private readonly state: SandboxState,
    private readonly opts: BillOptions,
  ) {}

  // ───────────── control side ─────────────

  private requireMerchant(mchid: unknown): string {
    if (typeof mchid !== 'string' || !this.state.merchants.has(mchid)) throw new SimError(404, 'MCH_NOT_EXISTS', `no merchant ${String(mchid)}`);
    return mchid;
  }

  private requireDay(day: unknown): string {
    if (!isValidDay(day)) throw new SimError(400, 'PARAM_ERROR', 'day must be a yyyy-MM-dd date');
    return day;
  }

  addAnomaly(a: WechatBillAnomaly): WechatBillAnomaly {
    const mchid = this.requireMerchant(a?.mchid);
    const day = this.requireDay(a.day);
    const positiveFen = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= MAX_FEN;
    let stored: WechatBillAnomaly;
    switch (a.kind) {
      case 'UNKNOWN_TRADE': {
        if (!positiveFen(a.amountFen)) throw new SimError(400, 'PARAM_ERROR', 'amountFen must be a positive integer');
        if (a.outTradeNo !== undefined && (typeof a.outTradeNo !== 'string' || !OUT_TRADE_NO.test(a.outTradeNo))) {
          throw new SimError(400, 'PARAM_ERROR', 'outTradeNo must be 6-32 of [0-9A-Za-z_-|*]');
        }
        stored = {
          mchid, day, kind: a.kind, amountFen: a.amountFen,
          outTradeNo: a.outTradeNo ?? `UNKNOWN${randomAlnum(12).toUpperCase()}`,
          // Generated once and kept, so every bill of the day names the same WeChat trade.
          transactionId: `4200${randomDigits(24)}`,
        };
        break;
      }
      case 'WRONG_AMOUNT':
      case 'MISSING_TRADE': {
        if (typeof a.outTradeNo !== 'string' || !this.state.trades.has(tradeKey(mchid, a.outTradeNo))) {
          throw new SimError(404, 'ORDER_NOT_EXIST', `no trade ${String(a.outTradeNo)} of merchant ${mchid}`);
        }
        if (a.kind === 'WRONG_AMOUNT') {
          if (!positiveFen(a.amountFen)) throw new SimError(400, 'PARAM_ERROR', 'amountFen must be a positive integer');
          stored = { mchid, day, kind: a.kind, outTradeNo: a.outTradeNo, amountFen: a.amountFen };
        } else {
          stored = { mchid, day, kind: a.kind, outTradeNo: a.outTradeNo };
        }
        break;
      }
      case 'WRONG_TOTALS': {
        if (typeof a.deltaFen !== 'number' || !Number.isSafeInteger(a.deltaFen) || a.deltaFen === 0) {
          throw new SimError(400, 'PARAM_ERROR', 'deltaFen must be a non-zero integer');
        }
        stored = { mchid, day, kind: a.kind, deltaFen: a.deltaFen };
        break;
      }
      default:
        throw new SimError(400, 'PARAM_ERROR', 'kind must be one of UNKNOWN_TRADE, WRONG_AMOUNT, MISSING_TRADE, WRONG_TOTALS');
    }
    this.state.billAnomalies.push(stored);
    this.state.save();
    return { ...stored };
  }

  seed(s: WechatBillSeed): WechatBillSeedSummary {
    const mchid = this.requireMerchant(s?.mchid);
    const day = this.requireDay(s.day);
    if (!Number.isSafeInteger(s.count) || s.count < 1 || s.count > MAX_SEED_LINES) {
      throw new SimError(400, 'PARAM_ERROR', `count must be an integer in 1..${MAX_SEED_LINES}`);
    }
    const refunds = s.refunds ?? 0;
    if (!Number.isSafeInteger(refunds) || refunds < 0 || refunds > s.count) throw new SimError(400, 'PARAM_ERROR', 'refunds must be an integer in 0..count');
    if (s.amountFen !== undefined && (!Number.isSafeInteger(s.amountFen) || s.amountFen < 1 || s.amountFen > MAX_FEN)) {
      throw new SimError(400, 'PARAM_ERROR', 'amountFen must be a positive integer');
    }
    const sameDay = this.state.billSeeds.filter((x) => x.mchid === mchid && x.day === day).length;
    const prefix = s.outTradeNoPrefix ?? `SYN${day.replace(/-/g, '')}${sameDay}N`;
    if (!/^[0-9A-Za-z_\-|*]{1,25}$/.test(prefix)) throw new SimError(400, 'PARAM_ERROR', 'outTradeNoPrefix must be 1-25 of [0-9A-Za-z_-|*]');
    if (this.state.billSeeds.some((x) => x.mchid === mchid && x.outTradeNoPrefix === prefix)) {
      throw new SimError(409, 'INVALID_REQUEST', `a seed with prefix ${prefix} exists for merchant ${mchid}`);
    }
    const stored: StoredBillSeed = { mchid, day, count: s.count, refunds, outTradeNoPrefix: prefix, ...(s.amountFen !== undefined ? { amountFen: s.amountFen } : {}) };
    this.state.billSeeds.push(stored);
    this.state.save();
    let paymentAmountFen = 0;
    let refundAmountFen = 0;
    for (let i = 0; i < stored.count; i++) {
      const fen = seedAmount(stored, i);
      paymentAmountFen += fen;
      if (i < refunds) refundAmountFen += fen;
    }
    return { mchid, day, outTradeNoPrefix: prefix, paymentCount: stored.count, paymentAmountFen, refundCount: refunds, refundAmountFen };
  }

  corruptNextDownload(c: WechatBillCorruption = {}): void {
    const kind = c.kind ?? 'ALTERED';
    if (kind !== 'ALTERED' && kind !== 'TRUNCATED' && kind !== 'RESET') throw new SimError(400, 'PARAM_ERROR', 'kind must be ALTERED, TRUNCATED or RESET');
    this.corruptions.push({ kind, mchid: c.mchid });
  }

  clear(filter: { mchid?: string; day?: string } = {}): void {
    const hit = (x: { mchid: string; day: string }) => (!filter.mchid || x.mchid === filter.mchid) && (!filter.day || x.day === filter.day);
    this.state.billAnomalies = this.state.billAnomalies.filter((x) => !hit(x));
    this.state.billSeeds = this.state.billSeeds.filter((x) => !hit(x));
    // Corruptions belong to no day: a merchant filter keeps other merchants' ones, anything else clears them all.
    if (filter.mchid) this.corruptions = this.corruptions.filter((x) => x.mchid !== undefined && x.mchid !== filter.mchid);
    else this.corruptions = [];
    this.state.save();
  }

  // ───────────── building a bill ─────────────

  private snapshot(mchid: string, day: string, billType: WechatBillType): BillSnapshot {
    const anomalies = this.state.billAnomalies.filter((a) => a.mchid === mchid && a.day === day);
    const missing = new Set(anomalies.flatMap((a) => (a.kind === 'MISSING_TRADE' ? [a.outTradeNo] : [])));
    const wrongAmount = new Map(anomalies.flatMap((a) => (a.kind === 'WRONG_AMOUNT' ? [[a.outTradeNo, a.amountFen] as const] : [])));
    const merchant = this.state.merchants.get(mchid)!;
    const lines: BillLine[] = [];
    const onDay = (rfc3339: string | undefined) => rfc3339 !== undefined && cstDay(new Date(rfc3339)) === day;

    for (const t of this.state.trades.values()) {
      if (t.mchid !== mchid || !t.transaction_id || (t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') || !onDay(t.success_time)) continue;
      if (missing.has(t.out_trade_no)) continue;
      const paid = new Date(t.success_time!);
      lines.push({
        kind: 'PAYMENT', time: paid, paymentTime: paid, appid: t.appid, mchid, transactionId: t.transaction_id,
        outTradeNo: t.out_trade_no, openid: t.payer_openid ?? '', tradeType: t.trade_type, description: t.description,
        attach: t.attach ?? '', amountFen: wrongAmount.get(t.out_trade_no) ?? t.amount_total,
      });
    }
    for (const r of this.state.refunds.values()) {
      if (r.mchid !== mchid || r.status !== 'SUCCESS' || !onDay(r.success_time)) continue;
      const t = this.state.trades.get(tradeKey(mchid, r.out_trade_no));
      if (!t?.success_time) continue;
      lines.push({
        kind: 'REFUND', time: new Date(r.success_time!), paymentTime: new Date(t.success_time), appid: t.appid, mchid,
        transactionId: r.transaction_id, outTradeNo: r.out_trade_no, openid: t.payer_openid ?? '', tradeType: t.trade_type,
        description: t.description, attach: t.attach ?? '', amountFen: 0, refundId: r.refund_id, outRefundNo: r.out_refund_no,
        refundFen: r.amount_refund, refundCreateTime: new Date(r.create_time),
      });
    }
    // Lines the anomalies add: noon of the day, a minute apart, so they stay inside the day whatever their number.
    let added = 0;
    const addedAt = () => new Date(dayStartMs(day) + 12 * 3600_000 + 60_000 * added++);
    const listed = new Set(lines.flatMap((l) => (l.kind === 'PAYMENT' ? [l.outTradeNo] : [])));
    for (const [outTradeNo, amountFen] of wrongAmount) {
      // A trade paid on another day, listed on this one with the wrong amount (a misdated line, as the Alipay
      // sandbox does it too); an unpaid trade has no WeChat trade number to list.
      const t = this.state.trades.get(tradeKey(mchid, outTradeNo));
      if (listed.has(outTradeNo) || missing.has(outTradeNo) || !t?.transaction_id) continue;
      const at = addedAt();
      lines.push({
        kind: 'PAYMENT', time: at, paymentTime: at, appid: t.appid, mchid, transactionId: t.transaction_id, outTradeNo,
        openid: t.payer_openid ?? '', tradeType: t.trade_type, description: t.description, attach: t.attach ?? '', amountFen,
      });
    }
    for (const a of anomalies) {
      if (a.kind !== 'UNKNOWN_TRADE') continue;
      const at = addedAt();
      lines.push({
        kind: 'PAYMENT', time: at, paymentTime: at, appid: merchant.appids[0] ?? '', mchid,
        transactionId: a.transactionId ?? `4200${randomDigits(24)}`, outTradeNo: a.outTradeNo ?? '', openid: `oUNKNOWN${a.outTradeNo ?? ''}`,
        tradeType: 'NATIVE', description: '未知交易', attach: '', amountFen: a.amountFen,
      });
    }
    lines.sort((x, y) => x.time.getTime() - y.time.getTime());
    return {
      mchid, day, billType, lines,
      // Copies: a seed added after the application must not change a file whose hash is already out.
      seeds: this.state.billSeeds.filter((s) => s.mchid === mchid && s.day === day).map((s) => ({ ...s })),
      appid: merchant.appids[0] ?? '',
      totalsDeltaFen: anomalies.reduce((sum, a) => sum + (a.kind === 'WRONG_TOTALS' ? a.deltaFen : 0), 0),
    };
  }

  private hasActivity(mchid: string, day: string): boolean {
    const s = this.snapshot(mchid, day, 'ALL');
    return s.lines.length > 0 || s.seeds.length > 0;
  }

  // ───────────── API side ─────────────

  /** 申请交易账单: GET /v3/bill/tradebill?bill_date=…&bill_type=…&tar_type=… (authenticated as `mchid`). */
  apply(mchid: string, q: URLSearchParams, baseUrl: string): ApiAnswer {
    const billDate = q.get('bill_date');
    if (!billDate) return wxError(400, 'PARAM_ERROR', '缺少参数bill_date');
    if (!isValidDay(billDate)) return wxError(400, 'PARAM_ERROR', 'bill_date 格式错误，须为 yyyy-MM-dd');
    const billType = (q.get('bill_type') ?? 'ALL') as WechatBillType;
    if (!BILL_TYPES.includes(billType)) return wxError(400, 'PARAM_ERROR', 'bill_type 须为 ALL、SUCCESS 或 REFUND');
    const tarType = q.get('tar_type');
    if (tarType !== null && tarType !== 'GZIP') return wxError(400, 'PARAM_ERROR', 'tar_type 仅支持 GZIP');

    const now = Date.now();
    const today = cstDay(new Date(now));
    // Today's bill (and any future one) does not exist yet; WeChat keeps bills for three months.
    if (billDate >= today) return wxError(400, 'INVALID_REQUEST', '账单日期须早于今天，请检查 bill_date');
    const limit = new Date(dayStartMs(today) + 8 * 3600_000);
    limit.setUTCMonth(limit.getUTCMonth() - 3);
    if (billDate < limit.toISOString().slice(0, 10)) return wxError(400, 'INVALID_REQUEST', '仅支持三个月内的账单下载申请，请检查 bill_date');

    if (!this.hasActivity(mchid, billDate)) return wxError(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在');
    const yesterday = cstDay(new Date(dayStartMs(today) - 12 * 3600_000));
    const hourCst = new Date(now + 8 * 3600_000).getUTCHours();
    if (billDate === yesterday && hourCst < this.opts.billReadyHourCst) {
      return wxError(400, 'STATEMENT_CREATING', '账单生成中，请在T+1日上午10点后再重新下载');
    }

    const snapshot = this.snapshot(mchid, billDate, billType);
    return this.issue(mchid, (alter) => billChunks(snapshot, { alter }), tarType === 'GZIP', baseUrl);
  }

  /** Hashes a file and hands out its download_url (valid 30 s); the file behind it never changes. */
  private issue(mchid: string, render: IssuedBill['render'], gzip: boolean, baseUrl: string): ApiAnswer {
    const now = Date.now();
    const hash = createHash('sha1');
    let byteLength = 0;
    for (const chunk of render(false)) {
      hash.update(chunk);
      byteLength += chunk.length;
    }
    for (const [t, b] of this.issued) if (b.expiresAt < now) this.issued.delete(t);
    const token = randomBytes(36).toString('base64url');
    this.issued.set(token, { mchid, render, gzip, byteLength, expiresAt: now + DOWNLOAD_URL_TTL_MS });
    return {
      status: 200,
      body: { hash_type: 'SHA1', hash_value: hash.digest('hex'), download_url: `${baseUrl}/v3/billdownload/file?token=${token}` },
    };
  }

  /**
   * 申请资金账单: GET /v3/bill/fundflowbill?bill_date=…&account_type=BASIC|OPERATION|FEES&tar_type=GZIP. Same date
   * rules and answers as the trade bill (T+1, three months, NO_STATEMENT_EXIST for a day without movements).
   */
  applyFundFlow(mchid: string, q: URLSearchParams, baseUrl: string): ApiAnswer {
    const billDate = q.get('bill_date');
    if (!billDate) return wxError(400, 'PARAM_ERROR', '缺少参数bill_date');
    if (!isValidDay(billDate)) return wxError(400, 'PARAM_ERROR', 'bill_date 格式错误，须为 yyyy-MM-dd');
    const accountType = (q.get('account_type') ?? 'BASIC') as WechatFundAccountType;
    if (!FUND_ACCOUNT_TYPES.includes(accountType)) return wxError(400, 'PARAM_ERROR', 'account_type 须为 BASIC、OPERATION 或 FEES');
    const tarType = q.get('tar_type');
    if (tarType !== null && tarType !== 'GZIP') return wxError(400, 'PARAM_ERROR', 'tar_type 仅支持 GZIP');
    const today = cstDay(new Date());
    if (billDate >= today) return wxError(400, 'INVALID_REQUEST', '账单日期须早于今天，请检查 bill_date');
    const limit = new Date(dayStartMs(today) + 8 * 3600_000);
    limit.setUTCMonth(limit.getUTCMonth() - 3);
    if (billDate < limit.toISOString().slice(0, 10)) return wxError(400, 'INVALID_REQUEST', '仅支持三个月内的账单下载申请，请检查 bill_date');
    const lines = this.fundFlowLines(mchid, billDate, accountType);
    if (lines.length === 0) return wxError(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在');
    const yesterday = cstDay(new Date(dayStartMs(today) - 12 * 3600_000));
    if (billDate === yesterday && new Date(Date.now() + 8 * 3600_000).getUTCHours() < this.opts.billReadyHourCst) {
      return wxError(400, 'STATEMENT_CREATING', '账单生成中，请在T+1日上午10点后再重新下载');
    }
    return this.issue(mchid, (alter) => fundFlowChunks(lines, alter), tarType === 'GZIP', baseUrl);
  }

  private fundFlowLines(mchid: string, day: string, accountType: WechatFundAccountType): FundFlowLine[] {
    const onDay = (rfc3339: string | undefined) => rfc3339 !== undefined && cstDay(new Date(rfc3339)) === day;
    const lines: FundFlowLine[] = [];
    if (accountType === 'BASIC') {
      for (const t of this.state.trades.values()) {
        if (t.mchid !== mchid || !t.transaction_id || (t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') || !onDay(t.success_time)) continue;
        const fee = feeOf(t.amount_total);
        lines.push({
          time: new Date(t.success_time!), businessNo: t.transaction_id, flowNo: t.transaction_id, name: '交易', type: '交易', income: true,
          amountFen: t.amount_total - fee, remark: `结算总金额 ${yuan(t.amount_total)} 元；含手续费 ${yuan(fee)} 元`, voucher: t.out_trade_no,
        });
      }
      for (const r of this.state.refunds.values()) {
        if (r.mchid !== mchid || r.status !== 'SUCCESS' || !onDay(r.success_time)) continue;
        const fee = feeOf(r.amount_refund);
        lines.push({
          time: new Date(r.success_time!), businessNo: r.refund_id, flowNo: r.refund_id, name: '退款', type: '退款', income: false,
          amountFen: r.amount_refund - fee, remark: `退款总金额 ${yuan(r.amount_refund)} 元；含手续费 ${yuan(fee)} 元`, voucher: r.out_refund_no,
        });
      }
    } else if (accountType === 'OPERATION') {
      for (const b of this.state.transferBills.values()) {
        if (b.mchid !== mchid || b.state !== 'SUCCESS' || !onDay(b.update_time)) continue;
        lines.push({
          time: new Date(b.update_time), businessNo: b.transfer_bill_no, flowNo: b.transfer_bill_no, name: '商家转账', type: '商家转账', income: false,
          amountFen: b.transfer_amount, remark: b.transfer_remark, voucher: b.out_bill_no,
        });
      }
    }
    return lines.sort((x, y) => x.time.getTime() - y.time.getTime());
  }

  /** 下载账单: GET download_url (authenticated as `mchid`). Errors are JSON (signed); the file is not. */
  download(mchid: string, q: URLSearchParams): ApiAnswer | FileAnswer {
    const bill = this.issued.get(q.get('token') ?? '');
    if (!bill || bill.expiresAt < Date.now()) {
      return wxError(400, 'INVALID_REQUEST', '下载地址已失效，请重新调用申请账单API获取下载地址');
    }
    if (bill.mchid !== mchid) return wxError(403, 'NO_AUTH', '权限异常，请检查本次请求的商户是否与申请账单的商户一致');
    const i = this.corruptions.findIndex((c) => !c.mchid || c.mchid === mchid);
    const corruption = i >= 0 ? this.corruptions.splice(i, 1)[0].kind : undefined;
    const chunks = () =>
      corruption === 'TRUNCATED' || corruption === 'RESET'
        ? truncate(bill.render(false), Math.floor(bill.byteLength / 2))
        : bill.render(corruption === 'ALTERED');
    return {
      status: 200,
      gzip: bill.gzip,
      breakConnection: corruption === 'RESET',
      // WeChat sends the .gzip file itself (no Content-Encoding): the merchant decompresses it.
      contentType: bill.gzip ? 'application/octet-stream' : 'text/plain; charset=utf-8',
      body: () => Readable.from(chunks(), { objectMode: false }),
    };
  }
}
