/**
 * WeChat Pay APIv3 trade bills (交易账单): 申请交易账单 (GET /v3/bill/tradebill, SDK `tradebill`), then 下载账单
 * (a signed GET of the answer's download_url), verified and parsed as a stream.
 *
 * Trust: the apply answer is signed like every API answer (checked by VerifyingPayRequest); the file is NOT
 * signed — WeChat vouches for it through hash_type/hash_value in that signed answer: SHA1 of the uncompressed
 * file ("原始账单（gzip需要解压缩）的摘要值"). The hash can only be checked once the last byte has arrived, but
 * a bill can be far too large to hold, so lines are yielded as they are parsed and the verdict comes at the
 * end: every BillRecord yielded is provisional until the TOTALS entry arrives. CALLERS MUST TREAT THE WHOLE
 * BILL AS VOID WHEN THE ITERATION THROWS, even after rows were yielded (stage rows, commit on TOTALS).
 *
 * Not the SDK's `downloadBill`: it goes through the SDK's buffered HTTP layer (ours caps answers at 2 MB and
 * insists on a response signature the file does not have) and hands back the whole body.
 *
 * File format (交易账单, bill_type ALL/SUCCESS/REFUND): UTF-8, optionally with a BOM; a header row naming the
 * columns (which columns depends on bill_type, so fields are read by name); data rows with every field
 * prefixed by a backquote; then the totals header (总交易单数,应结订单总金额,退款总金额,…) and one backquoted
 * totals row. Amounts are yuan with 2 decimals, converted to fen here with integer arithmetic.
 */
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { yuanStringToFen } from '../../domain/money';
import { ProviderError, type BillEntry, type BillRecord, type BillTotals } from '../types';
import type { WechatClient } from './client';
import { hasSignatureHeaders, isSignedError, WECHAT_API_ORIGIN, type RawResponse } from './http';
import { errorForStatus, parseErrorBody } from './mapping';

export type WechatBillType = 'ALL' | 'SUCCESS' | 'REFUND';

export interface TradeBillOptions {
  /** Default 'ALL' (payments and refunds: what reconciliation needs). */
  billType?: WechatBillType;
  /** Ask for the gzip file (tar_type=GZIP). Default true: bills compress about tenfold. */
  gzip?: boolean;
  /** Longest wait for the next bytes of the file before giving up (UNAVAILABLE). */
  idleTimeoutMs: number;
}

/** The hosts WeChat's download_url may name; each is mapped onto the configured gateway (like every SDK URL). */
const WECHAT_API_ORIGINS = [WECHAT_API_ORIGIN, 'https://api2.mch.weixin.qq.com'];
/** No bill line comes near this; a longer one means this is not a bill, and it must not grow without bound. */
const MAX_LINE_CHARS = 64 * 1024;
/** Error answers of the download are small JSON documents. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const TOTALS_TITLE = '总交易单数';

const ZERO_TOTALS: BillTotals = { kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 0, refundAmountFen: 0 };

const bad = (message: string) => new ProviderError('BAD_RESPONSE', `trade bill: ${message}`);

/** yyyy-MM-dd that is a real calendar day (WeChat answers PARAM_ERROR otherwise; no need to ask). */
export function assertBillDay(day: string): void {
  const m = typeof day === 'string' ? DAY_PATTERN.exec(day) : null;
  const t = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !t || t.getUTCFullYear() !== Number(m[1]) || t.getUTCMonth() !== Number(m[2]) - 1 || t.getUTCDate() !== Number(m[3])) {
    throw new ProviderError('REJECTED', 'bill day must be a yyyy-MM-dd date', 'PARAM_ERROR');
  }
}

/** "yyyy-MM-dd HH:mm:ss" of the bill is China Standard Time; built from the fields, not the host TZ. */
function parseCstTime(value: string, column: string): Date {
  const m = TIME_PATTERN.exec(value);
  if (!m) throw bad(`${column} ${JSON.stringify(value.slice(0, 30))} is not yyyy-MM-dd HH:mm:ss`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const utc = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (utc.getUTCMonth() !== mo - 1 || utc.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw bad(`${column} ${value} is not a valid time`);
  return new Date(utc.getTime() - 8 * 3600_000);
}

function parseFen(value: string, column: string): number {
  try {
    return yuanStringToFen(value);
  } catch {
    throw bad(`${column} ${JSON.stringify(value.slice(0, 30))} is not a yuan amount`);
  }
}

/** Splits a data row: "`a,`b,`c" → [a, b, c]. Splitting on ",`" keeps commas inside a field (商户数据包 JSON). */
function splitRow(line: string, what: string): string[] {
  if (!line.startsWith('`')) throw bad(`${what} is not a backquoted row`);
  return line.slice(1).split(',`');
}

/** Column positions by name; a bill whose header lacks a column we read is not a bill we understand. */
class Columns {
  private readonly index = new Map<string, number>();
  readonly width: number;

  constructor(headerLine: string) {
    const names = headerLine.split(',').map((n) => n.trim());
    names.forEach((n, i) => this.index.set(n, i));
    this.width = names.length;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  require(names: string[], what: string): void {
    const missing = names.filter((n) => !this.index.has(n));
    if (missing.length) throw bad(`${what} lacks ${missing.join(', ')}`);
  }

  get(fields: string[], name: string): string {
    return fields[this.index.get(name)!];
  }
}

const ROW_COLUMNS = ['交易时间', '商户号', '微信订单号', '商户订单号', '交易状态', '货币种类'];
const PAYMENT_COLUMNS = ['应结订单金额', '订单金额'];
const REFUND_COLUMNS = ['微信退款单号', '商户退款单号', '退款金额', '退款状态'];
const TOTALS_COLUMNS = ['总交易单数', '应结订单总金额', '退款总金额', '订单总金额'];

/** What the rows add up to, compared with what the totals row states. */
interface Sums {
  rows: number;
  payments: number;
  refunds: number;
  /** 订单金额 of payment rows: the amounts of the trades (amount.total). */
  orderFen: number;
  /** 应结订单金额: after non-prepaid coupons. */
  settledFen: number;
  /** 退款金额. */
  refundFen: number;
  /** 申请退款金额 (when the bill has that column). */
  appliedRefundFen: number;
}

/**
 * Verifies and parses a bill file given as its uncompressed bytes. Yields every payment and refund line as it
 * is read, then — only when the file ended with its totals, its SHA1 equals `hashValue` and the rows add up
 * to the stated totals — exactly one TOTALS entry. Anything else throws BAD_RESPONSE (after the rows
 * already yielded: see the module comment).
 */
export async function* parseTradeBill(source: AsyncIterable<Buffer>, expect: { hashValue: string; mchId: string }): AsyncGenerator<BillRecord | BillTotals> {
  const hash = createHash('sha1');
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let state: 'header' | 'rows' | 'totalsRow' | 'done' = 'header';
  let columns: Columns | undefined;
  let totalsColumns: Columns | undefined;
  let stated: { rows: number; orderFen: number; settledFen: number; refundFen: number; appliedRefundFen?: number } | undefined;
  const sums: Sums = { rows: 0, payments: 0, refunds: 0, orderFen: 0, settledFen: 0, refundFen: 0, appliedRefundFen: 0 };

  const parseRow = (line: string): BillRecord => {
    const cols = columns!;
    const fields = splitRow(line, `row ${sums.rows + 1}`);
    // A field containing ",`" (or a missing one) would shift every column after it: refuse, never misread.
    if (fields.length !== cols.width) throw bad(`row ${sums.rows + 1} has ${fields.length} fields, the header ${cols.width}`);
    const f = (name: string) => cols.get(fields, name);
    // Another merchant's bill is the wrong bill, however valid it is.
    if (f('商户号') !== expect.mchId) throw bad(`row ${sums.rows + 1} is for merchant ${f('商户号').slice(0, 32)}`);
    if (f('货币种类') !== 'CNY') throw bad(`row ${sums.rows + 1} is not in CNY`);
    const outTradeNo = f('商户订单号');
    const providerTradeNo = f('微信订单号');
    if (!outTradeNo || !providerTradeNo) throw bad(`row ${sums.rows + 1} lacks 商户订单号 or 微信订单号`);
    const tradeState = f('交易状态');
    sums.rows += 1;
    if (tradeState === 'SUCCESS') {
      cols.require(PAYMENT_COLUMNS, 'a bill with payment rows');
      // 订单金额 is the trade's amount as we ordered it (amount.total); 应结订单金额 can be lower by a coupon.
      const amountFen = parseFen(f('订单金额'), '订单金额');
      if (amountFen <= 0) throw bad(`payment row ${sums.rows} has no amount`);
      sums.payments += 1;
      sums.orderFen += amountFen;
      sums.settledFen += parseFen(f('应结订单金额'), '应结订单金额');
      return { kind: 'PAYMENT', outTradeNo, providerTradeNo, amountFen, time: parseCstTime(f('交易时间'), '交易时间'), status: tradeState };
    }
    if (tradeState === 'REFUND') {
      cols.require(REFUND_COLUMNS, 'a bill with refund rows');
      const outRefundNo = f('商户退款单号');
      if (!outRefundNo || outRefundNo === '0') throw bad(`refund row ${sums.rows} lacks 商户退款单号`);
      const amountFen = parseFen(f('退款金额'), '退款金额');
      if (amountFen <= 0) throw bad(`refund row ${sums.rows} has no 退款金额`);
      const providerRefundNo = f('微信退款单号');
      // The REFUND bill puts the payment's time in 交易时间 and the refund's beside it; the ALL bill has only
      // 交易时间, which on a refund line is the refund's time.
      const successTime = cols.has('退款成功时间') ? f('退款成功时间') : '';
      sums.refunds += 1;
      sums.refundFen += amountFen;
      if (cols.has('申请退款金额')) sums.appliedRefundFen += parseFen(f('申请退款金额'), '申请退款金额');
      return {
        kind: 'REFUND',
        outTradeNo,
        providerTradeNo,
        outRefundNo,
        providerRefundNo: providerRefundNo && providerRefundNo !== '0' ? providerRefundNo : null,
        amountFen,
        time: successTime ? parseCstTime(successTime, '退款成功时间') : parseCstTime(f('交易时间'), '交易时间'),
        status: f('退款状态') || 'SUCCESS',
      };
    }
    // E.g. REVOKED (付款码撤销): a kind of line this gateway never creates. Guessing whether it moved money could
    // book a payment that was undone; the bill has to be looked at.
    throw bad(`row ${sums.rows} has 交易状态 ${JSON.stringify(tradeState.slice(0, 20))}, neither SUCCESS nor REFUND`);
  };

  const parseTotals = (line: string) => {
    const cols = totalsColumns!;
    const fields = splitRow(line, 'totals row');
    if (fields.length !== cols.width) throw bad(`totals row has ${fields.length} fields, its header ${cols.width}`);
    const count = cols.get(fields, '总交易单数');
    if (!/^\d{1,9}$/.test(count)) throw bad(`总交易单数 ${JSON.stringify(count.slice(0, 20))} is not a count`);
    stated = {
      rows: Number(count),
      settledFen: parseFen(cols.get(fields, '应结订单总金额'), '应结订单总金额'),
      refundFen: parseFen(cols.get(fields, '退款总金额'), '退款总金额'),
      orderFen: parseFen(cols.get(fields, '订单总金额'), '订单总金额'),
      appliedRefundFen: cols.has('申请退款总金额') ? parseFen(cols.get(fields, '申请退款总金额'), '申请退款总金额') : undefined,
    };
  };

  /** One line of the file; returns the record it carries, if any. */
  const take = (raw: string): BillRecord | undefined => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    switch (state) {
      case 'header': {
        // WeChat's file starts with a UTF-8 BOM (for Excel); the hash covers it, the parser skips it.
        const header = line.startsWith('\uFEFF') ? line.slice(1) : line;
        columns = new Columns(header);
        columns.require(ROW_COLUMNS, 'the header');
        state = 'rows';
        return undefined;
      }
      case 'rows':
        if (line === '') return undefined;
        if (line.startsWith(TOTALS_TITLE)) {
          totalsColumns = new Columns(line);
          totalsColumns.require(TOTALS_COLUMNS, 'the totals header');
          state = 'totalsRow';
          return undefined;
        }
        return parseRow(line);
      case 'totalsRow':
        if (line === '') return undefined;
        parseTotals(line);
        state = 'done';
        return undefined;
      default:
        if (line !== '') throw bad('content after the totals row');
        return undefined;
    }
  };

  for await (const chunk of source) {
    hash.update(chunk);
    pending += decoder.write(chunk);
    const records: BillRecord[] = [];
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      const record = take(pending.slice(start, nl));
      if (record) records.push(record);
      start = nl + 1;
    }
    pending = pending.slice(start);
    if (pending.length > MAX_LINE_CHARS) throw bad(`a line longer than ${MAX_LINE_CHARS} characters`);
    yield* records;
  }
  pending += decoder.end();
  if (pending !== '') {
    const record = take(pending); // the last line need not end with a newline
    if (record) yield record;
  }

  if (state === 'header') throw bad('the file is empty');
  if (state !== 'done' || !stated) throw bad('the file ends before its totals row (truncated?)');
  // The hash first: if the bytes are not WeChat's, what they add up to says nothing.
  const digest = hash.digest('hex');
  if (digest !== expect.hashValue.toLowerCase()) throw bad(`SHA1 ${digest} does not match hash_value ${expect.hashValue.toLowerCase()}`);
  const disagree: string[] = [];
  if (sums.rows !== stated.rows) disagree.push(`${sums.rows} rows, 总交易单数 ${stated.rows}`);
  if (sums.orderFen !== stated.orderFen) disagree.push(`订单金额 add up to ${sums.orderFen} fen, 订单总金额 ${stated.orderFen}`);
  if (sums.settledFen !== stated.settledFen) disagree.push(`应结订单金额 add up to ${sums.settledFen} fen, 应结订单总金额 ${stated.settledFen}`);
  if (sums.refundFen !== stated.refundFen) disagree.push(`退款金额 add up to ${sums.refundFen} fen, 退款总金额 ${stated.refundFen}`);
  if (stated.appliedRefundFen !== undefined && columns?.has('申请退款金额') && sums.appliedRefundFen !== stated.appliedRefundFen) {
    disagree.push(`申请退款金额 add up to ${sums.appliedRefundFen} fen, 申请退款总金额 ${stated.appliedRefundFen}`);
  }
  if (disagree.length) throw bad(`rows disagree with the totals: ${disagree.join('; ')}`);
  yield { kind: 'TOTALS', paymentCount: sums.payments, paymentAmountFen: sums.orderFen, refundCount: sums.refunds, refundAmountFen: sums.refundFen };
}

/**
 * Yields a stream's chunks, failing with UNAVAILABLE when none arrives for `ms` while we wait for one. Only
 * while waiting: a caller that takes its time between rows (writing them to a database) must not time out.
 */
async function* withIdleTimeout(stream: Readable, ms: number, what: string): AsyncGenerator<Buffer> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProviderError('UNAVAILABLE', `${what}: no data for ${ms} ms`)), ms);
    });
    let next: IteratorResult<Buffer>;
    try {
      next = await Promise.race([it.next(), idle]);
    } finally {
      clearTimeout(timer);
    }
    if (next.done) return;
    yield next.value;
  }
}

/**
 * Turns download_url into the path we request from the configured gateway. Only the WeChat API hosts (or the
 * gateway itself) are accepted: the request carries our Authorization, and a URL elsewhere must not get it.
 */
export function downloadPath(downloadUrl: unknown, gateway: URL): string {
  if (typeof downloadUrl !== 'string') throw bad('apply answer lacks download_url');
  for (const origin of [...WECHAT_API_ORIGINS, gateway.origin]) {
    if (!downloadUrl.startsWith(`${origin}/`)) continue;
    const path = downloadUrl.slice(origin.length);
    // Sent exactly as signed; anything outside /v3 or with characters a URL must not carry is not a download.
    if (path.startsWith('/v3/') && /^[\x21-\x7e]+$/.test(path) && !path.includes('#')) return path;
  }
  throw bad('download_url is not on the WeChat Pay API host: refusing to send it our signature');
}

async function readBounded(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A stream error: a broken gzip file is a bad answer, anything else (reset, premature close) the network. */
function streamError(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) return bad(`the gzip file is corrupt (${e.code})`);
  return new ProviderError('UNAVAILABLE', `${what}: ${e?.code ?? e?.message ?? 'stream error'}`);
}

/**
 * The trade bill of `day` (yyyy-MM-dd, Asia/Shanghai) of the client's merchant: every line, then one TOTALS
 * (see parseTradeBill). A day WeChat has no bill for (a signed NO_STATEMENT_EXIST) yields a zero TOTALS only.
 * Errors: STATEMENT_CREATING, 5xx, network → UNAVAILABLE (later); bad day, SIGN_ERROR, NO_AUTH → REJECTED;
 * unverifiable or inconsistent answers and files → BAD_RESPONSE.
 */
export async function* downloadTradeBill(client: WechatClient, day: string, opts: TradeBillOptions): AsyncGenerator<BillEntry> {
  assertBillDay(day);
  const billType = opts.billType ?? 'ALL';
  const gzip = opts.gzip ?? true;
  // The SDK builds and signs the query (keys sorted, empty values dropped); VerifyingPayRequest checks the
  // answer's signature — it is what makes hash_value and download_url trustworthy.
  const out = await client.pay.tradebill({ bill_date: day, bill_type: billType, ...(gzip ? { tar_type: 'GZIP' } : {}) });
  if (out.status !== 200) {
    const { code } = parseErrorBody(out.error);
    if (out.status === 400 && code === 'NO_STATEMENT_EXIST') {
      // "No bill" claims the merchant had no business that day: only a signed answer may say so.
      if (!isSignedError(out)) throw new ProviderError('BAD_RESPONSE', 'tradebill: unsigned NO_STATEMENT_EXIST answer', code);
      yield { ...ZERO_TOTALS };
      return;
    }
    // Still being generated (WeChat: from about 10:00 on the next day): try again later.
    if (code === 'STATEMENT_CREATING') throw new ProviderError('UNAVAILABLE', 'tradebill: the bill is still being generated', code);
    throw errorForStatus('tradebill', out.status, out.error);
  }
  const answer = (out.data ?? {}) as { hash_type?: unknown; hash_value?: unknown; download_url?: unknown };
  // SHA1 is the only hash WeChat documents; another one we could not check, and an unchecked file is no bill.
  if (answer.hash_type !== 'SHA1') throw bad(`hash_type ${JSON.stringify(String(answer.hash_type)).slice(0, 20)} is not SHA1`);
  if (typeof answer.hash_value !== 'string' || !/^[0-9a-fA-F]{40}$/.test(answer.hash_value)) throw bad('hash_value is not a SHA1 hex digest');
  const path = downloadPath(answer.download_url, client.transport.gateway);

  // 下载账单 authenticates like any API call (signed over the download path and token).
  const res = await client.transport.openStream(path, client.signedGetHeaders(path, '*/*'));
  let body: Readable = res.body;
  try {
    if (res.status !== 200) {
      const raw: RawResponse = { status: res.status, headers: res.headers, body: await readBounded(body, MAX_ERROR_BODY_BYTES).catch(() => Buffer.alloc(0)) };
      // Error answers are signed like other API errors; a present-but-wrong signature is never a business answer.
      if (hasSignatureHeaders(raw.headers)) await client.certificates.verifyResponse(raw);
      const text = raw.body.toString('utf8');
      // INVALID_REQUEST here means the download_url expired (WeChat: 30 s): a fresh application fixes it.
      if (parseErrorBody(text).code === 'INVALID_REQUEST') throw new ProviderError('UNAVAILABLE', 'download bill: download_url expired', 'INVALID_REQUEST');
      throw errorForStatus('download bill', res.status, text);
    }
    if (gzip) body = pipeline(body, zlib.createGunzip(), () => undefined);
    const what = 'download bill';
    const chunks = withIdleTimeout(body, opts.idleTimeoutMs, what);
    try {
      yield* parseTradeBill(chunks, { hashValue: answer.hash_value, mchId: client.mchId });
    } catch (err) {
      throw streamError(err, what);
    }
  } finally {
    // Whether the bill ended, failed or the caller stopped early: release the connection.
    body.destroy();
    res.body.destroy();
  }
}
