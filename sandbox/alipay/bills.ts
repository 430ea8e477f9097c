/**
 * Trade bills (对账单) as Alipay serves them: alipay.data.dataservice.bill.downloadurl.query hands out a short-lived
 * bill_download_url, and GET on that URL returns a ZIP of two GBK-encoded CSV files,
 * `{account}_{yyyyMMdd}_业务明细.csv` (one line per payment and per refund of the day) and
 * `{account}_{yyyyMMdd}_业务明细(汇总).csv` (the day's totals per store and overall).
 *
 * Modelled on real bills: the `#` comment header and footer lines, the 25-column header, values padded with a
 * trailing tab (Alipay does it so spreadsheet programs keep long numbers as text), refunds as negative amounts
 * with the refund request number (out_request_no) in 退款批次号/请求号, GBK entry names without the UTF-8 flag,
 * `isp.bill_not_exist` for a day without lines, `isv.invalid_arguments` for today or a future day (bills are T+1).
 *
 * A bill holds, for the calling app, every trade paid on that day (Asia/Shanghai, by gmt_payment) and every refund
 * made on it (gmt_refund_pay), plus the bill adjustments (anomalies, seeded lines) of that app and day. It is
 * generated line by line while it is downloaded, so a bill of any size costs no memory.
 *
 * Alipay states no per-kind amount in the summary file (its 订单金额 is payments plus the negative refunds); the
 * per-kind totals are in the detail file's footer (交易合计 / 退款合计). Both are modelled.
 */
import type http from 'node:http';
import { randomInt } from 'node:crypto';
import iconv from 'iconv-lite';
import { fenToYuanString, MAX_AMOUNT_FEN } from '../../domain/money';
import type { AlipayContext } from './context';
import { business, missing, SimError, type ApiPayload } from './errors';
import { sendHtml } from './http';
import { errorPage } from './pages';
import * as wire from './protocol';
import { bizString } from './request';
import type { AlipayState } from './state';
import { findTrade } from './trades';
import type { SimBillAdjustment, SimBillAnomaly, SimBillSeed, SimMerchant, SimRefund } from './types';
import { StreamingZipWriter, type ZipSink } from './zip';

export const BILL_DOWNLOAD_PATH = '/downloadBillFile.resource';
/** The pseudo method name under which faults for the bill file download are injected. */
export const BILL_DOWNLOAD_FAULT_METHOD = 'bill.download';
/** Alipay keeps daily bills from 2016-01-01 on. */
const FIRST_BILL_DAY = '2016-01-01';
/** Upper bound for synthetic lines of one adjustment (keeps trade numbers 28 digits and downloads finite). */
const MAX_SYNTHETIC_LINES = 5_000_000;

const DETAIL_COLUMNS = [
  '支付宝交易号',
  '商户订单号',
  '业务类型',
  '商品名称',
  '创建时间',
  '完成时间',
  '门店编号',
  '门店名称',
  '操作员',
  '终端号',
  '对方账户',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝红包（元）',
  '集分宝（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '券核销金额（元）',
  '券名称',
  '商家红包消费金额（元）',
  '卡消费金额（元）',
  '退款批次号/请求号',
  '服务费（元）',
  '分润（元）',
  '备注',
];
const SUMMARY_COLUMNS = [
  '门店编号',
  '门店名称',
  '交易订单总笔数',
  '退款订单总笔数',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '卡消费金额（元）',
  '服务费（元）',
  '分润（元）',
  '实收净额（元）',
];
const DETAIL_BEGIN = '#-----------------------------------------业务明细列表----------------------------------------';
const DETAIL_END = '#-----------------------------------------业务明细列表结束------------------------------------';
const SUMMARY_BEGIN = '#-----------------------------------------业务汇总列表----------------------------------------';
const SUMMARY_END = '#-----------------------------------------业务汇总列表结束------------------------------------';
/** Real bills end their lines Windows-style. */
const EOL = '\r\n';

// --- days and formats -----------------------------------------------------------------------------------

/** `yyyy-MM-dd` that is a real calendar date. */
export function isDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

const compactDay = (day: string) => day.replaceAll('-', '');
/** `2019年09月16日` */
const cnDay = (day: string) => `${day.slice(0, 4)}年${day.slice(5, 7)}月${day.slice(8, 10)}日`;
/** `2019年09月17日 05:46:49` from `yyyy-MM-dd HH:mm:ss`. */
const cnDateTime = (wallClock: string) => `${cnDay(wallClock.slice(0, 10))} ${wallClock.slice(11)}`;

/** Signed yuan with two decimals: refunds are negative in bills. */
function signedYuan(fen: number): string {
  return fen < 0 ? `-${fenToYuanString(-fen)}` : fenToYuanString(fen);
}

/** The bill's account: the seller's PID with Alipay's account suffix, as in `#账号：[20880211096256330156]`. */
const billAccount = (m: SimMerchant) => `${m.sellerId}0156`;

/**
 * Accepts a Date, an ISO-8601 string with a zone, or Alipay's `yyyy-MM-dd HH:mm:ss` (Asia/Shanghai). Throws
 * SimError 400 otherwise.
 */
export function parseInstant(value: unknown, what: string): Date {
  let date: Date | undefined;
  if (value instanceof Date) date = value;
  else if (typeof value === 'string') date = wire.parseShanghaiTime(value) ?? (/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? new Date(value) : undefined);
  if (!date || Number.isNaN(date.getTime())) throw new SimError(400, `${what} must be a Date, an ISO-8601 instant or yyyy-MM-dd HH:mm:ss (Asia/Shanghai)`);
  return date;
}

// --- the lines of a bill --------------------------------------------------------------------------------

interface BillLine {
  tradeNo: string;
  outTradeNo: string;
  refund: boolean;
  subject: string;
  created: string;
  /** 完成时间: what the bill is sorted and bucketed by. */
  finished: string;
  buyer: string;
  /** Positive; refunds are written negative. */
  amountFen: number;
  requestNo?: string;
  remark?: string;
}

const onDay = (wallClock: string | undefined, day: string) => wallClock !== undefined && wallClock.slice(0, 10) === day;
const adjustmentsOf = (state: AlipayState, appId: string, day: string) => state.billAdjustments.filter((a) => a.appId === appId && a.day === day);

/** The bill's lines that come from the sandbox's trades and refunds (and the anomalies about them), in time order. */
function recordedLines(state: AlipayState, appId: string, day: string): BillLine[] {
  const adjustments = adjustmentsOf(state, appId, day);
  const wrongAmount = new Map<string, number>();
  for (const a of adjustments) if (a.kind === 'WRONG_AMOUNT') wrongAmount.set(a.outTradeNo, a.amountFen);
  const lines: BillLine[] = [];
  const trades = [...state.trades.values()].filter((t) => t.appId === appId);
  const buyerOf = (logon: string | undefined) => `*沙箱(${logon ?? '138****0000'})`;
  for (const t of trades) {
    const override = wrongAmount.get(t.outTradeNo);
    const paidToday = t.gmtPayment !== undefined && onDay(t.gmtPayment, day);
    if (!paidToday && override === undefined) continue;
    if (t.gmtPayment === undefined) continue; // WRONG_AMOUNT requires a paid trade; it may not have been re-checked
    const finished = paidToday ? t.gmtPayment : `${day} 12:00:00`;
    lines.push({
      tradeNo: t.tradeNo,
      outTradeNo: t.outTradeNo,
      refund: false,
      subject: t.subject,
      created: t.gmtCreate && t.gmtCreate <= finished ? t.gmtCreate : finished,
      finished,
      buyer: buyerOf(t.buyerLogonId),
      amountFen: override ?? t.totalAmountFen,
      remark: t.body,
    });
  }
  for (const r of state.refunds) {
    if (r.appId !== appId || !onDay(r.gmtRefundPay, day)) continue;
    const t = trades.find((x) => x.outTradeNo === r.outTradeNo);
    lines.push({
      tradeNo: r.tradeNo,
      outTradeNo: r.outTradeNo,
      refund: true,
      subject: t?.subject ?? '',
      created: t?.gmtCreate ?? r.gmtRefundPay,
      finished: r.gmtRefundPay,
      buyer: buyerOf(t?.buyerLogonId),
      amountFen: r.refundAmountFen,
      requestNo: r.outRequestNo,
      remark: t?.body,
    });
  }
  return lines.sort((a, b) => (a.finished < b.finished ? -1 : a.finished > b.finished ? 1 : 0));
}

/** Lines of an UNKNOWN_TRADE or SEEDED adjustment, spread evenly over the day, generated one at a time. */
function* syntheticLines(a: Extract<SimBillAdjustment, { kind: 'UNKNOWN_TRADE' | 'SEEDED' }>): Generator<BillLine> {
  const count = a.count ?? 1;
  const amountFen = a.amountFen ?? 100;
  const base = a.id; // 10 random digits, fixed when the adjustment was added: every download says the same
  for (let i = 0; i < count; i++) {
    const secondOfDay = Math.floor(((i + 0.5) * 86_400) / count);
    const hms = [Math.floor(secondOfDay / 3600), Math.floor(secondOfDay / 60) % 60, secondOfDay % 60].map((n) => String(n).padStart(2, '0')).join(':');
    const finished = `${a.day} ${hms}`;
    let outTradeNo: string;
    if (a.kind === 'SEEDED') outTradeNo = `SEED${base}${String(i).padStart(8, '0')}`;
    else if (a.outTradeNo) outTradeNo = count === 1 ? a.outTradeNo : `${a.outTradeNo}_${i + 1}`;
    else outTradeNo = `UNKNOWN${base}${String(i).padStart(8, '0')}`;
    yield {
      tradeNo: `${compactDay(a.day)}22${base}${String(i).padStart(8, '0')}`,
      outTradeNo,
      refund: false,
      subject: a.subject ?? (a.kind === 'SEEDED' ? '沙箱批量账单商品' : '未知交易'),
      created: finished,
      finished,
      buyer: '*沙箱(138****0000)',
      amountFen,
    };
  }
}

/** Merges time-ordered line sources into one time-ordered stream (Alipay sorts a bill by 完成时间). */
function* mergeByTime(sources: Iterator<BillLine>[]): Generator<BillLine> {
  const heads = sources.map((s) => s.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h.done) continue;
      if (best < 0 || h.value.finished < (heads[best].value as BillLine).finished) best = i;
    }
    if (best < 0) return;
    yield heads[best].value as BillLine;
    heads[best] = sources[best].next();
  }
}

function billLines(state: AlipayState, appId: string, day: string): Generator<BillLine> {
  const synthetic = adjustmentsOf(state, appId, day).filter((a): a is Extract<SimBillAdjustment, { kind: 'UNKNOWN_TRADE' | 'SEEDED' }> => a.kind === 'UNKNOWN_TRADE' || a.kind === 'SEEDED');
  return mergeByTime([recordedLines(state, appId, day)[Symbol.iterator](), ...synthetic.map((a) => syntheticLines(a))]);
}

/** Whether Alipay has a bill for the day: one with at least one line (otherwise isp.bill_not_exist). */
function billExists(state: AlipayState, appId: string, day: string): boolean {
  if (adjustmentsOf(state, appId, day).some((a) => a.kind !== 'TAMPERED_SUMMARY')) return true;
  return recordedLines(state, appId, day).length > 0;
}

// --- CSV ------------------------------------------------------------------------------------------------

/** A text value as a CSV field: no line breaks, quoted when it holds a comma or quote (RFC 4180). */
function text(value: string | undefined): string {
  const v = (value ?? '').replace(/[\r\n]+/g, ' ');
  return /[",]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}
/** Alipay pads identifiers and a few other values with a trailing tab. */
const padded = (value: string | undefined) => `${text(value)}\t`;

function detailRow(l: BillLine): string {
  const amount = signedYuan(l.refund ? -l.amountFen : l.amountFen);
  return [
    padded(l.tradeNo),
    padded(l.outTradeNo),
    padded(l.refund ? '退款' : '交易'),
    text(l.subject),
    l.created,
    l.finished,
    padded(''),
    padded(''),
    padded(''),
    padded(''),
    padded(l.buyer),
    amount,
    amount,
    '0.00',
    '0.00',
    '0.00',
    '0.00',
    '0.00',
    '',
    padded('0.00'),
    '0.00',
    padded(l.requestNo),
    '0.00',
    '0.00',
    text(l.remark),
  ].join(',');
}

interface BillTotalsSoFar {
  paymentCount: number;
  paymentFen: number;
  refundCount: number;
  refundFen: number;
}

function headerLines(title: string, account: string, day: string, begin: string): string[] {
  return [`#${title}`, `#账号：[${account}]`, `#起始日期：[${cnDay(day)} 00:00:00]   终止日期：[${cnDay(nextDay(day))} 00:00:00]`, begin];
}

function* detailFile(lines: Iterable<BillLine>, account: string, day: string, exportedAt: string, totals: BillTotalsSoFar): Generator<string> {
  yield* headerLines('支付宝业务明细查询', account, day, DETAIL_BEGIN);
  yield DETAIL_COLUMNS.join(',');
  for (const l of lines) {
    if (l.refund) {
      totals.refundCount += 1;
      totals.refundFen += l.amountFen;
    } else {
      totals.paymentCount += 1;
      totals.paymentFen += l.amountFen;
    }
    yield detailRow(l);
  }
  yield DETAIL_END;
  yield `#交易合计：${totals.paymentCount}笔，商家实收共${signedYuan(totals.paymentFen)}元，商家优惠共0.00元`;
  yield `#退款合计：${totals.refundCount}笔，商家实收退款共${signedYuan(-totals.refundFen)}元，商家优惠退款共0.00元`;
  yield `#导出时间：[${cnDateTime(exportedAt)}]`;
}

function* summaryFile(totals: BillTotalsSoFar, account: string, day: string, exportedAt: string, tamperFen: number): Generator<string> {
  yield* headerLines('支付宝业务汇总查询', account, day, SUMMARY_BEGIN);
  yield SUMMARY_COLUMNS.join(',');
  const net = signedYuan(totals.paymentFen - totals.refundFen + tamperFen);
  const figures = [String(totals.paymentCount), String(totals.refundCount), net, net, '0.00', '0.00', '0.00', '0.00', '0.00', net];
  // One row per store; the sandbox's merchants have none, which Alipay lists as one row without a store.
  yield [padded(''), padded(''), ...figures].join(',');
  yield ['合计', '', ...figures].join(',');
  yield SUMMARY_END;
  yield `#导出时间：[${cnDateTime(exportedAt)}]`;
}

/** Lines → GBK bytes in chunks of about 64 KiB of text. */
function* gbk(lines: Iterable<string>): Generator<Buffer> {
  let pending: string[] = [];
  let size = 0;
  for (const line of lines) {
    pending.push(line, EOL);
    size += line.length + EOL.length;
    if (size >= 65536) {
      yield iconv.encode(pending.join(''), 'gbk');
      pending = [];
      size = 0;
    }
  }
  if (pending.length) yield iconv.encode(pending.join(''), 'gbk');
}

// --- the gateway method ---------------------------------------------------------------------------------

const invalidArguments = (m: string) => business('isv.invalid_arguments', `入参不合法：${m}`, 400);

/** alipay.data.dataservice.bill.downloadurl.query for `bill_type` trade and daily `bill_date`s. */
export function apiBillDownloadUrl(ctx: AlipayContext, merchant: SimMerchant, biz: Record<string, unknown>): ApiPayload {
  const billType = bizString(biz, 'bill_type');
  if (!billType) throw missing('isv.missing-parameter', '缺少必选参数 bill_type');
  const billDate = bizString(biz, 'bill_date');
  if (!billDate) throw missing('isv.missing-parameter', '缺少必选参数 bill_date');
  // Alipay knows these types in lower case only; the sandbox keeps trade bills only.
  if (billType === 'signcustomer' || billType === 'merchant_act') throw invalidArguments(`本地沙箱不支持账单类型 ${billType}`);
  if (billType !== 'trade') throw invalidArguments(`bill_type 错误：${billType}`);
  if (/^\d{4}-\d{2}$/.test(billDate)) throw invalidArguments('本地沙箱不支持月账单');
  if (!isDay(billDate)) throw invalidArguments(`bill_date 格式错误：${billDate}`);
  const today = wire.shanghaiTime().slice(0, 10);
  // T+1: a day's bill exists only once the day is over.
  if (billDate >= today) throw invalidArguments('不支持下载当日及以后的账单');
  if (billDate < FIRST_BILL_DAY) throw invalidArguments(`最早可下载 ${FIRST_BILL_DAY} 的账单`);
  if (!billExists(ctx.state, merchant.appId, billDate)) throw business('isp.bill_not_exist', '账单不存在', 404);

  const { token, grant } = ctx.billUrls.issue(merchant.appId, billDate);
  const account = billAccount(merchant);
  const file = `${account}_${compactDay(billDate)}.csv.zip`;
  const query = new URLSearchParams({
    bizType: 'trade',
    userId: account,
    fileType: 'csv.zip',
    bizDates: compactDay(billDate),
    downloadFileName: file,
    fileId: `/trade/${account}/${compactDay(billDate)}.csv.zip`,
    timestamp: String(grant.expiresAt - ctx.billUrls.ttlMs),
    token,
  });
  return { code: '10000', msg: 'Success', bill_download_url: `${ctx.baseUrl}${BILL_DOWNLOAD_PATH}?${query.toString()}` };
}

// --- the download ---------------------------------------------------------------------------------------

/** Writes to an HTTP response, waiting for 'drain' when it is full; rejects once the client is gone. */
function responseSink(res: http.ServerResponse): ZipSink {
  return {
    write: (chunk) =>
      new Promise((resolve, reject) => {
        if (res.destroyed) return reject(new Error('client connection closed'));
        if (res.write(chunk)) return resolve();
        const onDrain = () => {
          cleanup();
          resolve();
        };
        const onClose = () => {
          cleanup();
          reject(new Error('client connection closed'));
        };
        const cleanup = () => {
          res.off('drain', onDrain);
          res.off('close', onClose);
        };
        res.on('drain', onDrain);
        res.on('close', onClose);
      }),
  };
}

/** GET /downloadBillFile.resource?…&token=…: the ZIP, generated while it is sent. */
export async function handleBillDownload(ctx: AlipayContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const fault = ctx.faults.take(BILL_DOWNLOAD_FAULT_METHOD, true);
  if (fault?.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (fault?.kind === 'http502') return sendHtml(res, 502, '<html><body><h1>502 Bad Gateway</h1></body></html>');
  const grant = ctx.billUrls.lookup(url.searchParams.get('token') ?? '');
  const merchant = grant && ctx.state.merchants.get(grant.appId);
  if (!grant || !merchant) return sendHtml(res, 403, errorPage('BILL_URL_EXPIRED', '账单下载链接无效或已过期（有效期 30 秒），请重新获取'));

  const { state } = ctx;
  const account = billAccount(merchant);
  const exportedAt = wire.shanghaiTime();
  const tamperFen = adjustmentsOf(state, merchant.appId, grant.day).reduce((sum, a) => sum + (a.kind === 'TAMPERED_SUMMARY' ? (a.amountFen ?? 1) : 0), 0);
  const base = `${account}_${compactDay(grant.day)}`;
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${base}.csv.zip"`,
  });
  const zip = new StreamingZipWriter(responseSink(res), exportedAt);
  const totals: BillTotalsSoFar = { paymentCount: 0, paymentFen: 0, refundCount: 0, refundFen: 0 };
  // Entry names in GBK, no UTF-8 flag: what Alipay's archives carry.
  await zip.addEntry(iconv.encode(`${base}_业务明细.csv`, 'gbk'), false, gbk(detailFile(billLines(state, merchant.appId, grant.day), account, grant.day, exportedAt, totals)));
  await zip.addEntry(iconv.encode(`${base}_业务明细(汇总).csv`, 'gbk'), false, gbk(summaryFile(totals, account, grant.day, exportedAt, tamperFen)));
  await zip.finish();
  res.end();
}

// --- control side ---------------------------------------------------------------------------------------

function requireInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw new SimError(400, `${what} must be an integer in [${min}, ${max}]`);
  return value;
}

function requireAppAndDay(state: AlipayState, a: { appId?: unknown; day?: unknown }): { appId: string; day: string } {
  if (typeof a.appId !== 'string' || !state.merchants.has(a.appId)) throw new SimError(404, `no merchant ${String(a.appId)}`);
  if (typeof a.day !== 'string' || !isDay(a.day)) throw new SimError(400, 'day must be yyyy-MM-dd');
  return { appId: a.appId, day: a.day };
}

function optionalSubject(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !value || [...value].length > 256) throw new SimError(400, 'subject must be 1-256 characters');
  return value;
}

/** 10 random digits: the fixed part of an adjustment's generated trade numbers. */
const adjustmentId = () => String(randomInt(1_000_000_000, 10_000_000_000));

export function addBillAnomaly(ctx: AlipayContext, input: SimBillAnomaly): SimBillAdjustment {
  const { state } = ctx;
  const { appId, day } = requireAppAndDay(state, input);
  let stored: SimBillAdjustment;
  switch (input.kind) {
    case 'UNKNOWN_TRADE': {
      const count = input.count === undefined ? 1 : requireInteger(input.count, 'count', 1, MAX_SYNTHETIC_LINES);
      if (input.outTradeNo !== undefined && (typeof input.outTradeNo !== 'string' || !/^[A-Za-z0-9_-]{1,54}$/.test(input.outTradeNo))) {
        throw new SimError(400, 'outTradeNo must be 1-54 of [A-Za-z0-9_-]');
      }
      stored = { kind: 'UNKNOWN_TRADE', appId, day, amountFen: requireInteger(input.amountFen, 'amountFen', 1, MAX_AMOUNT_FEN), count, id: adjustmentId() };
      if (input.outTradeNo !== undefined) stored.outTradeNo = input.outTradeNo;
      const subject = optionalSubject(input.subject);
      if (subject !== undefined) stored.subject = subject;
      break;
    }
    case 'WRONG_AMOUNT': {
      if (typeof input.outTradeNo !== 'string') throw new SimError(400, 'outTradeNo is required');
      const t = findTrade(state, input.outTradeNo, appId);
      if (t.gmtPayment === undefined) throw new SimError(409, `trade ${t.outTradeNo} was never paid: it has no bill line to misstate`);
      stored = { kind: 'WRONG_AMOUNT', appId, day, outTradeNo: t.outTradeNo, amountFen: requireInteger(input.amountFen, 'amountFen', 1, MAX_AMOUNT_FEN), id: adjustmentId() };
      break;
    }
    case 'TAMPERED_SUMMARY': {
      const amountFen = input.amountFen === undefined ? 1 : requireInteger(input.amountFen, 'amountFen', -MAX_AMOUNT_FEN, MAX_AMOUNT_FEN);
      if (amountFen === 0) throw new SimError(400, 'amountFen must not be 0 (the summary would be genuine)');
      stored = { kind: 'TAMPERED_SUMMARY', appId, day, amountFen, id: adjustmentId() };
      break;
    }
    default:
      throw new SimError(400, `unknown bill anomaly kind ${String((input as { kind?: unknown }).kind)}`);
  }
  state.billAdjustments.push(stored);
  state.save();
  return structuredClone(stored);
}

export function seedBillRows(ctx: AlipayContext, input: SimBillSeed): SimBillAdjustment {
  const { state } = ctx;
  const { appId, day } = requireAppAndDay(state, input);
  const stored: SimBillAdjustment = {
    kind: 'SEEDED',
    appId,
    day,
    count: requireInteger(input.count, 'count', 1, MAX_SYNTHETIC_LINES),
    amountFen: input.amountFen === undefined ? 100 : requireInteger(input.amountFen, 'amountFen', 1, MAX_AMOUNT_FEN),
    id: adjustmentId(),
  };
  const subject = optionalSubject(input.subject);
  if (subject !== undefined) stored.subject = subject;
  state.billAdjustments.push(stored);
  state.save();
  return structuredClone(stored);
}

const matches = (a: SimBillAdjustment, f: { appId?: string; day?: string }) => (!f.appId || a.appId === f.appId) && (!f.day || a.day === f.day);

export function listBillAdjustments(ctx: AlipayContext, filter: { appId?: string; day?: string } = {}): SimBillAdjustment[] {
  return structuredClone(ctx.state.billAdjustments.filter((a) => matches(a, filter)));
}

export function clearBillAdjustments(ctx: AlipayContext, filter: { appId?: string; day?: string } = {}): void {
  ctx.state.billAdjustments = ctx.state.billAdjustments.filter((a) => !matches(a, filter));
  ctx.state.save();
}

/** Moves an applied refund into the past (between the trade's payment and now). */
export function backdateRefund(ctx: AlipayContext, o: { outTradeNo: string; outRequestNo: string; at: Date | string; appId?: string }): SimRefund {
  const { state } = ctx;
  const t = findTrade(state, o.outTradeNo, o.appId);
  const r = state.refundOf(t, o.outRequestNo);
  if (!r) throw new SimError(404, `no refund ${o.outRequestNo} of trade ${t.outTradeNo}`);
  const at = parseInstant(o.at, 'at');
  if (at.getTime() > Date.now()) throw new SimError(400, 'at must not be in the future');
  const wallClock = wire.shanghaiTime(at);
  if (t.gmtPayment && wallClock < t.gmtPayment) throw new SimError(409, `a refund cannot precede the payment (${t.gmtPayment})`);
  r.gmtRefundPay = wallClock;
  state.save();
  return structuredClone(r);
}
