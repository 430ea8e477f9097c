/**
 * Alipay trade bills (对账单): alipay.data.dataservice.bill.downloadurl.query (bill_type trade, one day), then the
 * ZIP behind the bill_download_url it answers with, streamed: downloaded to a private temporary file (never held
 * in memory), read entry by entry with yauzl, GBK decoded as a stream, split into lines and parsed one at a time.
 *
 * The archive holds `{account}_{yyyyMMdd}_业务明细.csv` (one line per payment 交易 and per refund 退款, refunds
 * with negative amounts) and `{account}_{yyyyMMdd}_业务明细(汇总).csv` (counts per kind and the net amounts). Both
 * are GBK, values padded with tabs, entry names in GBK without the UTF-8 flag (so yauzl's CP437 decoding would
 * garble them: names are decoded here).
 *
 * Integrity: Alipay signs no bill file. What vouches for it is that its URL came in a signature-verified answer
 * (gatewayCall verifies every answer) and that the file agrees with itself: the lines must add up to the summary
 * file's counts and net amounts and to the detail file's own footer (交易合计 / 退款合计), the names and headers
 * must be of the requested day, and each entry's CRC-32 must match. Anything else is BAD_RESPONSE.
 *
 * Lines are yielded as they are read, so a caller sees lines before the bill is verified: it is only complete and
 * valid when the TOTALS entry arrives; an error instead of TOTALS voids everything yielded before.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import { ProviderError, type BillEntry, type BillRecord, type BillTotals, type ChannelCredentials } from '../types';
import { alipayClient } from './client';
import { alipayAmountToFen, parseAlipayTime, toAlipayTime } from './format';
import { ensureSuccess, gatewayCall, str } from './gateway';

const METHOD = 'alipay.data.dataservice.bill.downloadurl.query';
/**
 * No bill for the day: no payment or refund happened. Alipay gives the same answer before the bill is generated
 * (usually by 09:00 the next day), so callers should only ask for a day's bill after 10:00 the next morning.
 */
const BILL_NOT_EXIST = 'isp.bill_not_exist';
/** The whole download, including a large bill over a slow link. Alipay's URL is only valid for 30 s to start. */
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
/** A daily trade bill is tens of MB at most; a larger response is not a bill. */
const MAX_ZIP_BYTES = 2 * 1024 ** 3;
/** No bill line comes close; a longer one means we are not reading a bill (and must not buffer it). */
const MAX_LINE_CHARS = 64 * 1024;
const FLAG_UTF8_NAME = 0x0800;
const DETAIL_SUFFIX = '_业务明细.csv';
const SUMMARY_SUFFIX = '_业务明细(汇总).csv';

const DETAIL = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  type: '业务类型',
  finished: '完成时间',
  amount: '订单金额（元）',
  received: '商家实收（元）',
  discount: '商家优惠（元）',
  requestNo: '退款批次号/请求号',
} as const;
const SUMMARY = {
  store: '门店编号',
  paymentCount: '交易订单总笔数',
  refundCount: '退款订单总笔数',
  amount: '订单金额（元）',
  received: '商家实收（元）',
} as const;

const bad = (day: string, message: string) => new ProviderError('BAD_RESPONSE', `Alipay bill ${day}: ${message}`);

/** `yyyy-MM-dd` that is a real calendar date. */
function isDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

export async function* downloadBill(creds: ChannelCredentials, day: string): AsyncGenerator<BillEntry> {
  if (typeof day !== 'string' || !isDay(day)) throw new ProviderError('REJECTED', `bill day must be yyyy-MM-dd, got ${JSON.stringify(day)}`, 'INVALID_BILL_DAY');
  const sdk = alipayClient(creds);
  const res = await gatewayCall(sdk, METHOD, { timestamp: toAlipayTime(new Date()), bizContent: { bill_type: 'trade', bill_date: day } });
  if (res.code === '40004' && res.sub_code === BILL_NOT_EXIST) {
    yield { kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 0, refundAmountFen: 0 };
    return;
  }
  // isv.invalid_arguments (today, a future day, before 2016) is REJECTED; 20000 / unknown errors UNAVAILABLE.
  ensureSuccess(METHOD, res);
  const url = str(res.bill_download_url);
  if (!url || !/^https?:\/\//i.test(url)) throw bad(day, `${METHOD} succeeded without an http(s) bill_download_url`);

  // A private directory (mode 0700) per download: bills name buyers and amounts, and concurrent downloads must not
  // collide. Removed whatever happens, including a caller that stops iterating early.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'alipay-bill-'));
  try {
    const zipPath = path.join(dir, 'bill.zip');
    await downloadTo(url, zipPath, day);
    yield* readBillZip(zipPath, day, creds);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// --- download -------------------------------------------------------------------------------------------

/** Fails the pipeline once more than `max` bytes went through. */
function byteLimit(max: number, day: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb(seen > max ? bad(day, `bill file larger than ${max} bytes`) : null, chunk);
    },
  });
}

async function downloadTo(url: string, file: string, day: string): Promise<void> {
  const signal = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let response: Response;
  try {
    // No credentials go along: the URL itself is the (short-lived) authorization.
    response = await fetch(url, { signal });
  } catch (err) {
    throw new ProviderError('UNAVAILABLE', `Alipay bill ${day}: download failed: ${causeOf(err)}`);
  }
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    // 403 is an expired link (30 s) as much as a 5xx is an outage: a new query gets a new link.
    throw new ProviderError('UNAVAILABLE', `Alipay bill ${day}: download answered HTTP ${response.status}`);
  }
  try {
    await pipeline(Readable.fromWeb(response.body), byteLimit(MAX_ZIP_BYTES, day), createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    throw new ProviderError('UNAVAILABLE', `Alipay bill ${day}: download interrupted: ${causeOf(err)}`);
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

// --- archive --------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 continuing from `crc`: Node's (≥ 20.15) or a table fallback for older 20.x. */
function crc32(data: Buffer, crc: number): number {
  const native = (zlib as { crc32?: (d: Buffer, v?: number) => number }).crc32;
  if (typeof native === 'function') return native(data, crc);
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Passes data through and fails at the end unless its CRC-32 is `expected` (yauzl checks sizes, not CRCs). */
function crcCheck(expected: number, what: string, day: string): Transform {
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      crc = crc32(chunk, crc);
      cb(null, chunk);
    },
    flush(cb) {
      cb(crc >>> 0 === expected >>> 0 ? null : bad(day, `${what} fails its CRC-32 check (corrupted archive)`));
    },
  });
}

/** Entry names: UTF-8 when flagged, otherwise GBK (Alipay's), never ZIP's default CP437. */
function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileNameRaw;
  return entry.generalPurposeBitFlag & FLAG_UTF8_NAME ? raw.toString('utf8') : iconv.decode(raw, 'gbk');
}

/** The decoded lines of one entry, `\r` stripped, read with backpressure. */
async function* entryLines(zip: yauzl.ZipFile, entry: yauzl.Entry, what: string, day: string): AsyncGenerator<string> {
  let raw;
  try {
    raw = await zip.openReadStreamPromise(entry);
  } catch (err) {
    throw bad(day, `cannot read ${what}: ${(err as Error).message}`);
  }
  // gb18030 is a superset of GBK that decodes every GBK byte sequence the same: a stray 4-byte sequence cannot
  // turn into replacement characters.
  const decoded = iconv.decodeStream('gb18030') as Transform;
  const done = pipeline(raw, crcCheck(entry.crc32, what, day), decoded);
  done.catch(() => undefined); // failures surface through `decoded` below; an early stop by our caller is no failure
  let rest = '';
  try {
    for await (const chunk of decoded as AsyncIterable<string | Buffer>) {
      const text = rest + String(chunk);
      let start = 0;
      let end: number;
      while ((end = text.indexOf('\n', start)) >= 0) {
        yield text.slice(start, end).replace(/\r$/, '');
        start = end + 1;
      }
      rest = text.slice(start);
      if (rest.length > MAX_LINE_CHARS) throw bad(day, `${what} has a line longer than ${MAX_LINE_CHARS} characters`);
    }
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    // Inflate errors, size mismatches (yauzl), invalid bytes: a damaged file, not an outage.
    throw bad(day, `cannot read ${what}: ${(err as Error).message}`);
  }
  if (rest) yield rest.replace(/\r$/, '');
}

/**
 * One CSV line's cells, padding trimmed. Alipay quotes no field in practice, but a subject with a comma would need
 * it; RFC 4180 quoting within a line is accepted. Undefined for an unbalanced quote.
 */
export function csvCells(line: string): string[] | undefined {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell: string;
    const lead = /^[ \t]*"/.exec(line.slice(i, i + 64));
    if (lead) {
      i += lead[0].length;
      cell = '';
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        cell += line.slice(i, q);
        if (line[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      const comma = line.indexOf(',', i);
      const tail = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (tail.trim()) return undefined; // text after the closing quote
      i = comma < 0 ? line.length : comma;
    } else {
      const comma = line.indexOf(',', i);
      cell = comma < 0 ? line.slice(i) : line.slice(i, comma);
      i = comma < 0 ? line.length : comma;
    }
    cells.push(cell.trim());
    if (i >= line.length) return cells;
    i += 1; // the comma
    if (i === line.length) {
      cells.push('');
      return cells;
    }
  }
}

/** Column name → index; BAD_RESPONSE when one we need is missing (Alipay changed the layout). */
function columnIndex<K extends string>(header: string[], wanted: Record<K, string>, what: string, day: string): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const [key, name] of Object.entries(wanted) as Array<[K, string]>) {
    const i = header.indexOf(name);
    if (i < 0) throw bad(day, `${what} has no column ${name}`);
    out[key] = i;
  }
  return out;
}

/** A signed bill amount (`-12.30`) as fen; only through alipayAmountToFen. */
function signedFen(text: string, where: string, day: string): number {
  const negative = text.startsWith('-');
  try {
    const fen = alipayAmountToFen(negative ? text.slice(1) : text);
    return negative ? -fen : fen;
  } catch {
    throw bad(day, `${where}: invalid amount ${JSON.stringify(text)}`);
  }
}

/** `#起始日期：[2019年09月16日 00:00:00]   终止日期：[…]` must name the requested day. */
function checkHeaderLine(line: string, account: string, day: string, what: string): void {
  const m = /^#起始日期：\[(\d{4})年(\d{2})月(\d{2})日/.exec(line);
  if (m && `${m[1]}-${m[2]}-${m[3]}` !== day) throw bad(day, `${what} is the bill of ${m[1]}-${m[2]}-${m[3]}`);
  const a = /^#账号：\[([^\]]*)\]/.exec(line);
  if (a && a[1] !== account) throw bad(day, `${what} is for account ${a[1]}, its file name says ${account}`);
}

interface SummaryFigures {
  paymentCount: number;
  refundCount: number;
  /** Payments minus refunds (Alipay lists refunds negative and sums them in). */
  amountNetFen: number;
  receivedNetFen: number;
}

async function readSummary(zip: yauzl.ZipFile, entry: yauzl.Entry, account: string, day: string): Promise<SummaryFigures> {
  const what = 'summary file';
  let cols: Record<keyof typeof SUMMARY, number> | undefined;
  let total: SummaryFigures | undefined;
  const stores: SummaryFigures = { paymentCount: 0, refundCount: 0, amountNetFen: 0, receivedNetFen: 0 };
  let storeRows = 0;
  let lineNo = 0;
  for await (const line of entryLines(zip, entry, what, day)) {
    lineNo += 1;
    if (line.startsWith('#')) {
      checkHeaderLine(line, account, day, what);
      continue;
    }
    if (!line.trim()) continue;
    const cells = csvCells(line);
    if (!cells) throw bad(day, `${what} line ${lineNo} is not valid CSV`);
    if (!cols) {
      cols = columnIndex(cells, SUMMARY, what, day);
      continue;
    }
    const count = (k: 'paymentCount' | 'refundCount') => {
      const v = cells[cols![k]];
      if (!/^\d{1,9}$/.test(v ?? '')) throw bad(day, `${what} line ${lineNo}: invalid ${SUMMARY[k]} ${JSON.stringify(v)}`);
      return Number(v);
    };
    const figures: SummaryFigures = {
      paymentCount: count('paymentCount'),
      refundCount: count('refundCount'),
      amountNetFen: signedFen(cells[cols.amount] ?? '', `${what} line ${lineNo}`, day),
      receivedNetFen: signedFen(cells[cols.received] ?? '', `${what} line ${lineNo}`, day),
    };
    if (cells[cols.store] === '合计') {
      if (total) throw bad(day, `${what} has two 合计 rows`);
      total = figures;
    } else {
      if (total) throw bad(day, `${what} has store rows after its 合计 row`);
      storeRows += 1;
      stores.paymentCount += figures.paymentCount;
      stores.refundCount += figures.refundCount;
      stores.amountNetFen += figures.amountNetFen;
      stores.receivedNetFen += figures.receivedNetFen;
    }
  }
  if (!cols) throw bad(day, `${what} has no header row`);
  if (!total) throw bad(day, `${what} has no 合计 row`);
  // The per-store rows must add up to the 合计 row: a summary that disagrees with itself verifies nothing.
  if (storeRows > 0 && (Object.keys(total) as Array<keyof SummaryFigures>).some((k) => stores[k] !== total[k])) {
    throw bad(day, `${what}: its store rows do not add up to its 合计 row`);
  }
  return total;
}

interface KindTally {
  count: number;
  amountFen: number;
  receivedFen: number;
  discountFen: number;
}

/** `#交易合计：6笔，商家实收共0.06元，商家优惠共0.00元` / `#退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元` */
const FOOTER = /^#(交易|退款)合计：(\d+)笔，商家实收(?:退款)?共(-?[\d.]+)元，商家优惠(?:退款)?共(-?[\d.]+)元/;

async function* readDetail(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  account: string,
  day: string,
  summary: SummaryFigures,
): AsyncGenerator<BillEntry> {
  const what = 'detail file';
  const tally = { payment: emptyTally(), refund: emptyTally() };
  const footer: { payment?: KindTally; refund?: KindTally } = {};
  let header: string[] | undefined;
  let cols: Record<keyof typeof DETAIL, number> | undefined;
  let ended = false;
  let lineNo = 0;
  for await (const line of entryLines(zip, entry, what, day)) {
    lineNo += 1;
    if (line.startsWith('#')) {
      checkHeaderLine(line, account, day, what);
      if (/^#-+业务明细列表结束-+/.test(line)) ended = true;
      const f = FOOTER.exec(line);
      if (f) {
        const where = `${what} footer`;
        const kind = f[1] === '交易' ? 'payment' : 'refund';
        footer[kind] = { count: Number(f[2]), amountFen: 0, receivedFen: Math.abs(signedFen(f[3], where, day)), discountFen: Math.abs(signedFen(f[4], where, day)) };
      }
      continue;
    }
    if (!line.trim()) continue;
    if (ended) throw bad(day, `${what} line ${lineNo}: data after the end of the list`);
    const cells = csvCells(line);
    if (!cells) throw bad(day, `${what} line ${lineNo} is not valid CSV`);
    if (!header || !cols) {
      header = cells;
      cols = columnIndex(cells, DETAIL, what, day);
      continue;
    }
    if (cells.length !== header.length) throw bad(day, `${what} line ${lineNo} has ${cells.length} columns, the header ${header.length}`);
    const record = detailRecord(cells, cols, `${what} line ${lineNo}`, day);
    const t = record.kind === 'PAYMENT' ? tally.payment : tally.refund;
    t.count += 1;
    t.amountFen += record.amountFen;
    t.receivedFen += Math.abs(signedFen(cells[cols.received], `${what} line ${lineNo}`, day));
    t.discountFen += Math.abs(signedFen(cells[cols.discount] || '0.00', `${what} line ${lineNo}`, day));
    yield record;
  }
  if (!cols) throw bad(day, `${what} has no header row`);
  if (!ended || !footer.payment || !footer.refund) throw bad(day, `${what} lacks its end marker or its 交易合计 / 退款合计 footer (truncated?)`);

  const { payment, refund } = tally;
  const checks: Array<[string, number, number]> = [
    ['payment count (summary 交易订单总笔数)', payment.count, summary.paymentCount],
    ['refund count (summary 退款订单总笔数)', refund.count, summary.refundCount],
    ['net 订单金额 in fen (summary)', payment.amountFen - refund.amountFen, summary.amountNetFen],
    ['net 商家实收 in fen (summary)', payment.receivedFen - refund.receivedFen, summary.receivedNetFen],
    ['payment count (footer 交易合计)', payment.count, footer.payment.count],
    ['payment 商家实收 in fen (footer)', payment.receivedFen, footer.payment.receivedFen],
    ['payment 商家优惠 in fen (footer)', payment.discountFen, footer.payment.discountFen],
    ['refund count (footer 退款合计)', refund.count, footer.refund.count],
    ['refund 商家实收 in fen (footer)', refund.receivedFen, footer.refund.receivedFen],
    ['refund 商家优惠 in fen (footer)', refund.discountFen, footer.refund.discountFen],
  ];
  for (const [name, lines, stated] of checks) {
    if (lines !== stated) throw bad(day, `the lines disagree with the bill's own totals: ${name} is ${lines} by the lines, ${stated} as stated`);
  }
  if (![payment.amountFen, refund.amountFen].every(Number.isSafeInteger)) throw bad(day, 'totals beyond exact integer range');
  const totals: BillTotals = {
    kind: 'TOTALS',
    paymentCount: payment.count,
    // 订单金额 per kind, like the lines: the summary states their net and the footer their 商家实收 parts, all checked.
    paymentAmountFen: payment.amountFen,
    refundCount: refund.count,
    refundAmountFen: refund.amountFen,
  };
  yield totals;
}

const emptyTally = (): KindTally => ({ count: 0, amountFen: 0, receivedFen: 0, discountFen: 0 });

function detailRecord(cells: string[], cols: Record<keyof typeof DETAIL, number>, where: string, day: string): BillRecord {
  const type = cells[cols.type];
  if (type !== '交易' && type !== '退款') throw bad(day, `${where}: unknown 业务类型 ${JSON.stringify(type)}`);
  const providerTradeNo = cells[cols.tradeNo];
  const outTradeNo = cells[cols.outTradeNo];
  if (!providerTradeNo || !outTradeNo) throw bad(day, `${where}: missing 支付宝交易号 or 商户订单号`);
  let time: Date;
  try {
    // 完成时间: when the money moved (the payment or the refund), Asia/Shanghai.
    time = parseAlipayTime(cells[cols.finished]);
  } catch {
    throw bad(day, `${where}: invalid 完成时间 ${JSON.stringify(cells[cols.finished])}`);
  }
  const signed = signedFen(cells[cols.amount], where, day);
  if (type === '交易') {
    if (signed <= 0) throw bad(day, `${where}: a payment of ${signed} fen`);
    return { kind: 'PAYMENT', outTradeNo, providerTradeNo, amountFen: signed, time, status: 'SUCCESS' };
  }
  if (signed >= 0) throw bad(day, `${where}: a refund of ${signed} fen (refunds are negative)`);
  return {
    kind: 'REFUND',
    outTradeNo,
    providerTradeNo,
    // Alipay's rule: a refund made without out_request_no has the out_trade_no as its request number.
    outRefundNo: cells[cols.requestNo] || outTradeNo,
    // OpenAPI v2 gives refunds no number of their own.
    providerRefundNo: null,
    amountFen: -signed,
    time,
    status: 'SUCCESS',
  };
}

/** Reads a downloaded bill archive (exported for tests that feed it hand-made archives). */
export async function* readBillZip(zipPath: string, day: string, creds: Pick<ChannelCredentials, 'secrets'>): AsyncGenerator<BillEntry> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, decodeStrings: false, autoClose: false });
  } catch (err) {
    throw bad(day, `not a ZIP archive: ${(err as Error).message}`);
  }
  try {
    let detail: { entry: yauzl.Entry; name: string } | undefined;
    let summary: { entry: yauzl.Entry; name: string } | undefined;
    try {
      for await (const entry of zip.eachEntry()) {
        const name = entryName(entry);
        if (name.endsWith('/')) continue;
        const slot = name.endsWith(SUMMARY_SUFFIX) ? 'summary' : name.endsWith(DETAIL_SUFFIX) ? 'detail' : undefined;
        if (!slot) continue; // Alipay may add files; only these two are the trade bill
        if ((slot === 'summary' ? summary : detail) !== undefined) throw bad(day, `two ${slot} files in the archive`);
        if (!entry.canDecodeFileData()) throw bad(day, `${name} is encrypted or uses an unsupported compression`);
        if (slot === 'summary') summary = { entry, name };
        else detail = { entry, name };
      }
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw bad(day, `damaged ZIP archive: ${(err as Error).message}`);
    }
    if (!detail || !summary) throw bad(day, `the archive lacks the ${!detail ? '业务明细' : '业务明细(汇总)'} file`);

    // `{account}_{yyyyMMdd}_业务明细.csv`: of the requested day, and of our seller when the channel names it.
    const m = /(?:^|\/)([^/_]+)_(\d{8})_业务明细\.csv$/.exec(detail.name);
    if (!m) throw bad(day, `unexpected detail file name ${JSON.stringify(detail.name)}`);
    const [, account, compact] = m;
    if (compact !== day.replaceAll('-', '')) throw bad(day, `the archive holds the bill of ${compact}`);
    if (!summary.name.endsWith(`${account}_${compact}${SUMMARY_SUFFIX}`)) throw bad(day, 'the summary file is of another account or day');
    const sellerId = creds.secrets.sellerId;
    if (sellerId && !account.startsWith(sellerId)) throw bad(day, `the bill is for account ${account}, not seller ${sellerId}`);

    // The small summary first: a bill whose summary cannot be read fails before any line is handed out.
    const figures = await readSummary(zip, summary.entry, account, day);
    yield* readDetail(zip, detail.entry, account, day, figures);
  } finally {
    zip.close();
  }
}
