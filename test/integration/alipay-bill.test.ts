/**
 * Alipay trade bills (对账单) through the real adapter (alipay-sdk, verified answers) against the local Alipay
 * sandbox over real HTTP: alipay.data.dataservice.bill.downloadurl.query, the short-lived download link, the ZIP of
 * GBK CSV files (read raw here too, to pin the sandbox's format), the adapter's streamed parsing and its checks
 * against the bill's own totals, the bill anomalies, outages, temporary files, and a 200,000-line bill streamed in
 * bounded memory.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AlipaySdk } from 'alipay-sdk';
import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import { clearAlipayClientCache, createAlipayProvider, toAlipayTime } from '../../providers/alipay';
import { ProviderError, type BillEntry, type BillRecord, type BillTotals, type ChannelCredentials } from '../../providers/types';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';

const provider = createAlipayProvider();
const downloadBill = (c: ChannelCredentials, day: string) => {
  if (!provider.downloadBill) throw new Error('the Alipay adapter serves no bills');
  return provider.downloadBill(c, day);
};

let sandbox: AlipaySandboxHandle;
let merchantServer: http.Server;
let notifyUrl: string;
let seq = 0;

const DAY_MS = 86_400_000;
/** The Asia/Shanghai day `daysAgo` days before today. */
function shanghaiDay(daysAgo: number): string {
  return new Date(Date.now() + 8 * 3600_000 - daysAgo * DAY_MS).toISOString().slice(0, 10);
}
/** Bills exist for finished days only: D is two days ago, so a run across midnight still finds it finished. */
const D = shanghaiDay(2);
const DAY_BEFORE = shanghaiDay(3);
const DAY_AFTER = shanghaiDay(1);
const at = (day: string, hms: string) => `${day} ${hms}`;
const instant = (wallClock: string) => new Date(`${wallClock.replace(' ', 'T')}+08:00`);

function uniqueNo(prefix: string): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

/** A trade paid (backdated) at `paidAt` (Asia/Shanghai wall clock), or now. */
async function paidTrade(c: ChannelCredentials, amountFen: number, subject: string, paidAt?: string): Promise<{ outTradeNo: string; tradeNo: string }> {
  const outTradeNo = uniqueNo('BL');
  await provider.prepay(c, {
    sceneCode: 'native',
    outTradeNo,
    amountFen,
    subject,
    description: '对账集成测试',
    notifyUrl,
    expireAt: new Date(Date.now() + 30 * 60 * 1000),
  });
  const t = await sandbox.pay(outTradeNo, { appId: c.providerAppId, paidAt });
  return { outTradeNo, tradeNo: t.tradeNo };
}

/** A refund through the adapter, then moved to `refundAt`. */
async function refundAt(c: ChannelCredentials, outTradeNo: string, amountFen: number, totalFen: number, when: string): Promise<string> {
  const outRefundNo = uniqueNo('BR');
  const outcome = await provider.refund(c, { outTradeNo, outRefundNo, amountFen, totalFen, reason: '对账测试退款', notifyUrl });
  expect(outcome.status).toBe('SUCCESS');
  await sandbox.backdateRefund({ outTradeNo, outRequestNo: outRefundNo, at: when, appId: c.providerAppId });
  return outRefundNo;
}

async function collect(c: ChannelCredentials, day: string): Promise<BillEntry[]> {
  const out: BillEntry[] = [];
  for await (const e of downloadBill(c, day)) out.push(e);
  return out;
}

function splitBill(entries: BillEntry[]): { records: BillRecord[]; totals: BillTotals } {
  const totalsAt = entries.findIndex((e) => e.kind === 'TOTALS');
  expect(totalsAt).toBe(entries.length - 1); // exactly one TOTALS, and last
  return { records: entries.slice(0, -1) as BillRecord[], totals: entries[totalsAt] as BillTotals };
}

async function expectProviderError(run: () => Promise<unknown>, kind: ProviderError['kind'], providerCode?: string): Promise<ProviderError> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProviderError);
  const pe = caught as ProviderError;
  expect(pe.kind).toBe(kind);
  if (providerCode !== undefined) expect(pe.providerCode).toBe(providerCode);
  return pe;
}

/** The adapter's temporary download directories currently on disk. */
function billTempDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('alipay-bill-'));
}

const rawSdk = (c: ChannelCredentials) =>
  new AlipaySdk({
    appId: c.providerAppId,
    privateKey: c.secrets.appPrivateKey,
    alipayPublicKey: c.secrets.alipayPublicKey,
    gateway: `${c.gatewayUrl}/gateway.do`,
    camelcase: false,
  });

function queryBillUrl(c: ChannelCredentials, day: string, billType = 'trade') {
  return rawSdk(c).exec('alipay.data.dataservice.bill.downloadurl.query', { timestamp: toAlipayTime(new Date()), bizContent: { bill_type: billType, bill_date: day } }, { validateSign: true });
}

interface RawEntry {
  flags: number;
  name: string;
  text: string;
  bytes: Buffer;
}

/** Downloads a bill ZIP and reads it whole (small bills only), decoding names and contents as GBK. */
async function rawBill(c: ChannelCredentials, day: string): Promise<RawEntry[]> {
  const res = await queryBillUrl(c, day);
  expect(res.code).toBe('10000');
  const zipBytes = Buffer.from(await (await fetch(String(res.bill_download_url))).arrayBuffer());
  const zip = await yauzl.fromBufferPromise(zipBytes, { lazyEntries: true, decodeStrings: false });
  const out: RawEntry[] = [];
  for await (const entry of zip.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    out.push({ flags: entry.generalPurposeBitFlag, name: iconv.decode(entry.fileNameRaw, 'gbk'), text: iconv.decode(bytes, 'gbk'), bytes });
  }
  return out;
}

beforeAll(async () => {
  clearAlipayClientCache();
  sandbox = await startAlipaySandbox({ notifyRetryDelaysMs: [100] });
  // The trades' notifications need somewhere to go; their content is another test file's business.
  merchantServer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('success'));
  });
  await new Promise<void>((resolve) => merchantServer.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(merchantServer.address() as AddressInfo).port}/notify`;
});

afterEach(() => sandbox.clearFaults());

afterAll(async () => {
  await sandbox.close();
  merchantServer.closeAllConnections();
  await new Promise<void>((resolve) => merchantServer.close(() => resolve()));
});

describe('a day with payments and refunds', () => {
  let creds: ChannelCredentials;
  let t1: { outTradeNo: string; tradeNo: string };
  let t2: { outTradeNo: string; tradeNo: string };
  let t3: { outTradeNo: string; tradeNo: string };
  let t4: { outTradeNo: string; tradeNo: string };
  let t5: { outTradeNo: string; tradeNo: string };
  let r3: string;
  let r3today: string;
  let r4: string;

  beforeAll(async () => {
    creds = await sandbox.createMerchant();
    t1 = await paidTrade(creds, 1999, '对账测试商品·一', at(D, '09:15:00'));
    // A comma and quotes in the subject: the CSV must quote it and the adapter must read it back.
    t2 = await paidTrade(creds, 1, '含逗号,和"引号"的商品', at(D, '10:00:00'));
    t3 = await paidTrade(creds, 123456, '大额商品（部分退款）', at(D, '11:30:00'));
    r3 = await refundAt(creds, t3.outTradeNo, 20000, 123456, at(D, '15:00:00'));
    // A second refund of T3 made today belongs to today's bill, not D's.
    const second = uniqueNo('BR');
    expect((await provider.refund(creds, { outTradeNo: t3.outTradeNo, outRefundNo: second, amountFen: 3456, totalFen: 123456, notifyUrl })).status).toBe('SUCCESS');
    r3today = second;
    // Paid the day before, fully refunded just after midnight of D: only its refund is on D's bill.
    t4 = await paidTrade(creds, 500, '前一日的交易', at(DAY_BEFORE, '23:59:59'));
    r4 = await refundAt(creds, t4.outTradeNo, 500, 500, at(D, '00:00:01'));
    // Paid at the first second of the day after: not on D's bill.
    t5 = await paidTrade(creds, 777, '次日的交易', at(DAY_AFTER, '00:00:00'));
  });

  it("lists every payment and refund of the day in fen, with the provider's numbers, then the totals", async () => {
    const { records, totals } = splitBill(await collect(creds, D));
    const byKey = new Map(records.map((r) => [r.kind === 'REFUND' ? `R:${r.outRefundNo}` : `P:${r.outTradeNo}`, r]));
    expect(records).toHaveLength(5);
    expect(byKey.get(`P:${t1.outTradeNo}`)).toEqual({
      kind: 'PAYMENT',
      outTradeNo: t1.outTradeNo,
      providerTradeNo: t1.tradeNo,
      amountFen: 1999,
      time: instant(at(D, '09:15:00')),
      status: 'SUCCESS',
    });
    expect(byKey.get(`P:${t2.outTradeNo}`)).toMatchObject({ kind: 'PAYMENT', amountFen: 1, providerTradeNo: t2.tradeNo });
    expect(byKey.get(`P:${t3.outTradeNo}`)).toMatchObject({ kind: 'PAYMENT', amountFen: 123456, time: instant(at(D, '11:30:00')) });
    expect(byKey.get(`R:${r3}`)).toEqual({
      kind: 'REFUND',
      outTradeNo: t3.outTradeNo,
      providerTradeNo: t3.tradeNo,
      outRefundNo: r3,
      providerRefundNo: null,
      amountFen: 20000, // positive, although the bill writes refunds negative
      time: instant(at(D, '15:00:00')),
      status: 'SUCCESS',
    });
    expect(byKey.get(`R:${r4}`)).toMatchObject({ kind: 'REFUND', outTradeNo: t4.outTradeNo, amountFen: 500, time: instant(at(D, '00:00:01')) });
    expect(byKey.has(`P:${t4.outTradeNo}`)).toBe(false);
    expect(byKey.has(`P:${t5.outTradeNo}`)).toBe(false);
    expect(byKey.has(`R:${r3today}`)).toBe(false);
    // Alipay sorts a bill by 完成时间.
    expect(records.map((r) => r.time.getTime())).toEqual([...records].map((r) => r.time.getTime()).sort((a, b) => a - b));
    expect(totals).toEqual({ kind: 'TOTALS', paymentCount: 3, paymentAmountFen: 1999 + 1 + 123456, refundCount: 2, refundAmountFen: 20000 + 500 });
  });

  it('the next day has its own bill', async () => {
    const { records, totals } = splitBill(await collect(creds, DAY_AFTER));
    expect(records).toEqual([expect.objectContaining({ kind: 'PAYMENT', outTradeNo: t5.outTradeNo, amountFen: 777 })]);
    expect(totals).toEqual({ kind: 'TOTALS', paymentCount: 1, paymentAmountFen: 777, refundCount: 0, refundAmountFen: 0 });
  });

  it("is Alipay's ZIP: GBK names without the UTF-8 flag, GBK CSV with comment lines, tab padding and both totals", async () => {
    const entries = await rawBill(creds, D);
    const seller = sandbox.merchant(creds.providerAppId)?.sellerId;
    const base = `${seller}0156_${D.replaceAll('-', '')}`;
    expect(entries.map((e) => e.name).sort()).toEqual([`${base}_业务明细(汇总).csv`, `${base}_业务明细.csv`].sort());
    for (const e of entries) expect(e.flags & 0x800).toBe(0);
    const detail = entries.find((e) => e.name.endsWith('_业务明细.csv'));
    const summary = entries.find((e) => e.name.endsWith('(汇总).csv'));
    if (!detail || !summary) throw new Error('missing bill files');
    // GBK, not UTF-8: the bytes of the Chinese subject are GBK's.
    expect(detail.bytes.includes(iconv.encode('对账测试商品·一', 'gbk'))).toBe(true);
    expect(detail.bytes.includes(Buffer.from('对账测试商品·一', 'utf8'))).toBe(false);
    const lines = detail.text.split('\r\n');
    expect(lines.slice(0, 4)).toEqual([
      '#支付宝业务明细查询',
      `#账号：[${seller}0156]`,
      `#起始日期：[${D.slice(0, 4)}年${D.slice(5, 7)}月${D.slice(8)}日 00:00:00]   终止日期：[${DAY_AFTER.slice(0, 4)}年${DAY_AFTER.slice(5, 7)}月${DAY_AFTER.slice(8)}日 00:00:00]`,
      '#-----------------------------------------业务明细列表----------------------------------------',
    ]);
    expect(lines[4]).toBe(
      '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注',
    );
    const refundLine = lines.find((l) => l.includes(r3));
    expect(refundLine).toContain(`${t3.tradeNo}\t,${t3.outTradeNo}\t,退款\t,大额商品（部分退款）,`);
    expect(refundLine).toContain(',-200.00,-200.00,');
    expect(refundLine).toContain(`,${r3}\t,`);
    expect(lines.find((l) => l.includes(t2.outTradeNo))).toContain(',"含逗号,和""引号""的商品",');
    expect(lines).toContain('#-----------------------------------------业务明细列表结束------------------------------------');
    expect(lines).toContain('#交易合计：3笔，商家实收共1254.56元，商家优惠共0.00元');
    expect(lines).toContain('#退款合计：2笔，商家实收退款共-205.00元，商家优惠退款共0.00元');
    expect(lines.some((l) => /^#导出时间：\[\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}\]$/.test(l))).toBe(true);
    const summaryLines = summary.text.split('\r\n');
    expect(summaryLines[0]).toBe('#支付宝业务汇总查询');
    expect(summaryLines).toContain('门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）');
    expect(summaryLines).toContain('合计,,3,2,1049.56,1049.56,0.00,0.00,0.00,0.00,0.00,1049.56');
  });

  it('checks the seller the channel names against the bill account', async () => {
    const seller = sandbox.merchant(creds.providerAppId)?.sellerId ?? '';
    const ok = splitBill(await collect({ ...creds, secrets: { ...creds.secrets, sellerId: seller } }, D));
    expect(ok.totals.paymentCount).toBe(3);
    await expectProviderError(() => collect({ ...creds, secrets: { ...creds.secrets, sellerId: '2088000000000000' } }, D), 'BAD_RESPONSE');
  });
});

describe('days without a bill', () => {
  let creds: ChannelCredentials;
  beforeAll(async () => {
    creds = await sandbox.createMerchant();
  });

  it('a finished day without payments or refunds yields only zero TOTALS (Alipay: isp.bill_not_exist)', async () => {
    const raw = await queryBillUrl(creds, '2020-02-29');
    expect(raw).toMatchObject({ code: '40004', sub_code: 'isp.bill_not_exist', sub_msg: '账单不存在' });
    expect(await collect(creds, '2020-02-29')).toEqual([{ kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 0, refundAmountFen: 0 }]);
  });

  it("today's and future bills are refused (bills are T+1), as are other bill types and malformed days", async () => {
    await paidTrade(creds, 100, '今天的交易');
    await expectProviderError(() => collect(creds, shanghaiDay(0)), 'REJECTED', 'isv.invalid_arguments');
    await expectProviderError(() => collect(creds, shanghaiDay(-1)), 'REJECTED', 'isv.invalid_arguments');
    expect(await queryBillUrl(creds, D, 'signcustomer')).toMatchObject({ code: '40004', sub_code: 'isv.invalid_arguments' });
    await expectProviderError(() => collect(creds, '2024-02-30'), 'REJECTED', 'INVALID_BILL_DAY');
  });

  it('a payment cannot be backdated into the future', async () => {
    const outTradeNo = uniqueNo('BF');
    await provider.prepay(creds, { sceneCode: 'native', outTradeNo, amountFen: 100, subject: '未来', description: '', notifyUrl, expireAt: new Date(Date.now() + 600_000) });
    await expect(sandbox.pay(outTradeNo, { paidAt: new Date(Date.now() + 3600_000) })).rejects.toThrow(/future/);
  });
});

describe('anomalies', () => {
  it('a trade the merchant never heard of and a wrong amount appear as lines, consistent with the totals', async () => {
    const creds = await sandbox.createMerchant();
    const known = await paidTrade(creds, 2500, '正常交易', at(D, '08:00:00'));
    sandbox.addBillAnomaly({ kind: 'UNKNOWN_TRADE', appId: creds.providerAppId, day: D, outTradeNo: 'GHOST0001', amountFen: 8888 });
    sandbox.addBillAnomaly({ kind: 'WRONG_AMOUNT', appId: creds.providerAppId, day: D, outTradeNo: known.outTradeNo, amountFen: 2499 });
    sandbox.addBillAnomaly({ kind: 'UNKNOWN_TRADE', appId: creds.providerAppId, day: D, amountFen: 1, count: 3 });
    const { records, totals } = splitBill(await collect(creds, D));
    expect(records.find((r) => r.outTradeNo === known.outTradeNo)).toMatchObject({ kind: 'PAYMENT', amountFen: 2499, providerTradeNo: known.tradeNo });
    expect(records.find((r) => r.outTradeNo === 'GHOST0001')).toMatchObject({ kind: 'PAYMENT', amountFen: 8888, providerTradeNo: expect.stringMatching(/^\d{28}$/) });
    expect(records.filter((r) => r.outTradeNo.startsWith('UNKNOWN'))).toHaveLength(3);
    expect(totals).toEqual({ kind: 'TOTALS', paymentCount: 5, paymentAmountFen: 2499 + 8888 + 3, refundCount: 0, refundAmountFen: 0 });
    // An anomaly alone makes a bill exist.
    sandbox.addBillAnomaly({ kind: 'UNKNOWN_TRADE', appId: creds.providerAppId, day: DAY_BEFORE, amountFen: 100 });
    expect(splitBill(await collect(creds, DAY_BEFORE)).totals.paymentCount).toBe(1);
    expect(sandbox.billAdjustments({ appId: creds.providerAppId })).toHaveLength(4);
  });

  it('a summary that disagrees with the lines is BAD_RESPONSE, and the temporary file is gone', async () => {
    const creds = await sandbox.createMerchant();
    await paidTrade(creds, 1000, '被篡改汇总的账单', at(D, '12:00:00'));
    sandbox.addBillAnomaly({ kind: 'TAMPERED_SUMMARY', appId: creds.providerAppId, day: D });
    const before = billTempDirs();
    const seen: BillEntry[] = [];
    const err = await expectProviderError(async () => {
      for await (const e of downloadBill(creds, D)) seen.push(e);
    }, 'BAD_RESPONSE');
    expect(err.message).toMatch(/net 订单金额/);
    // Lines may have been handed out, but never the TOTALS that would make them a bill.
    expect(seen.some((e) => e.kind === 'TOTALS')).toBe(false);
    expect(billTempDirs()).toEqual(before);
    sandbox.clearBillAdjustments({ appId: creds.providerAppId });
    expect(splitBill(await collect(creds, D)).totals.paymentAmountFen).toBe(1000);
  });

  it('the control API over HTTP: anomalies, seeds, backdating, listing and clearing', async () => {
    const creds = await sandbox.createMerchant();
    const appId = creds.providerAppId;
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${sandbox.url}${p}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & Array<Record<string, unknown>> };
    };
    const outTradeNo = uniqueNo('BC');
    await provider.prepay(creds, { sceneCode: 'native', outTradeNo, amountFen: 300, subject: '控制接口', description: '', notifyUrl, expireAt: new Date(Date.now() + 600_000) });
    expect((await call('POST', `/__sim/trades/${outTradeNo}/pay`, { paidAt: at(D, '13:00:00') })).body).toMatchObject({ gmtPayment: at(D, '13:00:00') });
    const outRefundNo = uniqueNo('BR');
    await provider.refund(creds, { outTradeNo, outRefundNo, amountFen: 100, totalFen: 300, notifyUrl });
    expect((await call('POST', `/__sim/trades/${outTradeNo}/refunds/${outRefundNo}/backdate`, { at: at(D, '12:59:59') })).status).toBe(409); // before the payment
    expect((await call('POST', `/__sim/trades/${outTradeNo}/refunds/${outRefundNo}/backdate`, { at: at(D, '14:00:00') })).body).toMatchObject({ gmtRefundPay: at(D, '14:00:00') });
    expect((await call('POST', '/__sim/bills/anomalies', { kind: 'UNKNOWN_TRADE', appId, day: D, amountFen: 5 })).status).toBe(201);
    expect((await call('POST', '/__sim/bills/anomalies', { kind: 'WRONG_AMOUNT', appId, day: D, outTradeNo: 'NOPE', amountFen: 5 })).status).toBe(404);
    expect((await call('POST', '/__sim/bills/anomalies', { kind: 'BOGUS', appId, day: D })).status).toBe(400);
    expect((await call('POST', '/__sim/bills/seed', { appId, day: D, count: 10, amountFen: 2 })).status).toBe(201);
    expect((await call('GET', `/__sim/bills/adjustments?app_id=${appId}`)).body).toHaveLength(2);
    const { totals, records } = splitBill(await collect(creds, D));
    expect(records.filter((r) => r.kind === 'REFUND')).toEqual([expect.objectContaining({ outRefundNo, amountFen: 100, time: instant(at(D, '14:00:00')) })]);
    expect(totals).toEqual({ kind: 'TOTALS', paymentCount: 12, paymentAmountFen: 300 + 5 + 20, refundCount: 1, refundAmountFen: 100 });
    expect((await call('DELETE', `/__sim/bills/adjustments?app_id=${appId}`)).status).toBe(200);
    expect(sandbox.billAdjustments({ appId })).toEqual([]);
  });
});

describe('outages and damaged downloads', () => {
  let creds: ChannelCredentials;
  beforeAll(async () => {
    creds = await sandbox.createMerchant();
    await paidTrade(creds, 4200, '故障测试', at(D, '16:00:00'));
  });

  it('gateway outage, a failed file download or a dropped connection are UNAVAILABLE, leaving no temporary file', async () => {
    const before = billTempDirs();
    sandbox.injectFault({ kind: 'http502', method: 'alipay.data.dataservice.bill.downloadurl.query' });
    await expectProviderError(() => collect(creds, D), 'UNAVAILABLE');
    sandbox.injectFault({ kind: 'http502', method: 'bill.download' });
    await expectProviderError(() => collect(creds, D), 'UNAVAILABLE');
    sandbox.injectFault({ kind: 'drop', method: 'bill.download' });
    await expectProviderError(() => collect(creds, D), 'UNAVAILABLE');
    expect(billTempDirs()).toEqual(before);
    // Bill download faults are only taken by bill downloads, and gateway faults never by them.
    expect(splitBill(await collect(creds, D)).totals.paymentAmountFen).toBe(4200);
  });

  it('an answer with a wrong signature is BAD_RESPONSE: the URL of an unverified answer is never fetched', async () => {
    sandbox.injectFault({ kind: 'badSignature', method: 'alipay.data.dataservice.bill.downloadurl.query' });
    await expectProviderError(() => collect(creds, D), 'BAD_RESPONSE');
  });

  it('a caller that stops early leaves no temporary file behind', async () => {
    const before = billTempDirs();
    for await (const e of downloadBill(creds, D)) {
      expect(e.kind).toBe('PAYMENT');
      // The bill sits in a private temporary directory while it is read.
      expect(billTempDirs().length).toBe(before.length + 1);
      break;
    }
    expect(billTempDirs()).toEqual(before);
  });

  it('download links expire (Alipay: 30 s after they are issued)', async () => {
    const short = await startAlipaySandbox({ billUrlTtlMs: 1500 });
    try {
      const c = await short.createMerchant();
      short.addBillAnomaly({ kind: 'UNKNOWN_TRADE', appId: c.providerAppId, day: D, amountFen: 1 });
      const res = await queryBillUrl(c, D);
      expect(res.code).toBe('10000');
      const url = String(res.bill_download_url);
      expect(url).toMatch(/\/downloadBillFile\.resource\?bizType=trade&/);
      expect((await fetch(url)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const expired = await fetch(url);
      expect(expired.status).toBe(403);
      await expired.arrayBuffer();
    } finally {
      await short.close();
    }
  });

  it('bill adjustments survive a sandbox restart (state file)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-bill-state-'));
    try {
      const stateFile = path.join(dir, 'alipay.json');
      const first = await startAlipaySandbox({ stateFile });
      const c = await first.createMerchant();
      first.seedBillRows({ appId: c.providerAppId, day: D, count: 5 });
      await first.close();
      const second = await startAlipaySandbox({ stateFile });
      try {
        expect(second.billAdjustments()).toEqual([expect.objectContaining({ kind: 'SEEDED', appId: c.providerAppId, day: D, count: 5 })]);
        expect(splitBill(await collect({ ...c, gatewayUrl: second.url }, D)).totals).toMatchObject({ paymentCount: 5, paymentAmountFen: 500 });
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a 200,000-line bill', () => {
  it('streams with bounded memory: every line arrives, the heap stays far below the bill size', async () => {
    const creds = await sandbox.createMerchant();
    const count = 200_000;
    sandbox.seedBillRows({ appId: creds.providerAppId, day: D, count, amountFen: 1234, subject: '批量账单商品（压力测试）' });
    const start = process.memoryUsage().heapUsed;
    let peak = start;
    let payments = 0;
    let sum = 0;
    let totals: BillTotals | undefined;
    let last = 0;
    let sorted = true;
    // Nothing here keeps the lines (and no expect() per line: jest's bookkeeping would dominate the heap).
    for await (const e of downloadBill(creds, D)) {
      if (e.kind === 'TOTALS') {
        totals = e;
        continue;
      }
      payments += 1;
      sum += e.amountFen;
      if (e.time.getTime() < last) sorted = false;
      last = e.time.getTime();
      if (payments % 1000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(payments).toBe(count);
    expect(sorted).toBe(true);
    expect(sum).toBe(count * 1234);
    expect(totals).toEqual({ kind: 'TOTALS', paymentCount: count, paymentAmountFen: count * 1234, refundCount: 0, refundAmountFen: 0 });
    // The detail file is 43 MB of GBK (1.9 MB zipped), over 80 MB as JS strings, and 200,000 parsed lines with their
    // strings and Dates take more again: holding either would show. Measured growth is ~20 MB, garbage between
    // collections.
    const growthMb = (peak - start) / 1024 / 1024;
    expect(growthMb).toBeLessThan(100);
  });
});
