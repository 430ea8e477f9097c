/**
 * WeChat Pay APIv3 trade bills through the real adapter (real wechatpay-node-v3 `tradebill` + our signed,
 * streamed download) against the WeChat sandbox: what a day's bill lists, how WeChat says "no bill", the
 * hash and totals checks, bill_type and gzip, and a 200,000-line bill read with bounded memory.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { ProviderError, type BillEntry, type BillRecord, type BillTotals, type ChannelCredentials } from '../../providers/types';
import { createWechatProvider } from '../../providers/wechat';
import { downloadTradeBill } from '../../providers/wechat/bill';
import { buildWechatClient, type WechatClient } from '../../providers/wechat/client';
import { isSignedError } from '../../providers/wechat/http';
import { startWechatSandbox, type WechatSandboxHandle } from '../../sandbox/wechat';

/** yyyy-MM-dd in Asia/Shanghai, `daysAgo` days before today there. */
function cstDay(daysAgo: number): string {
  return new Date(Date.now() + 8 * 3600_000 - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

const at = (day: string, time: string) => `${day}T${time}+08:00`;

interface Collected {
  entries: BillEntry[];
  error?: ProviderError;
}

/** Reads a whole bill; an error ends it (rows read before it stay in `entries`, as a caller would have seen them). */
async function collect(iterable: AsyncIterable<BillEntry>): Promise<Collected> {
  const entries: BillEntry[] = [];
  try {
    for await (const e of iterable) entries.push(e);
    return { entries };
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    return { entries, error: err };
  }
}

const records = (c: Collected) => c.entries.filter((e): e is BillRecord => e.kind !== 'TOTALS');
const totalsOf = (c: Collected) => c.entries.filter((e): e is BillTotals => e.kind === 'TOTALS');
const byOutTradeNo = (rs: BillRecord[]) => [...rs].sort((a, b) => a.outTradeNo.localeCompare(b.outTradeNo) || a.kind.localeCompare(b.kind));

describe('WeChat Pay trade bills: adapter ↔ sandbox (real wechatpay-node-v3)', () => {
  let sandbox: WechatSandboxHandle;
  let creds: ChannelCredentials;
  let other: ChannelCredentials;
  let client: WechatClient;
  const provider = createWechatProvider();
  let seq = 0;
  const stamp = Date.now().toString(36);
  const nextTradeNo = () => `WXB${stamp}${(seq++).toString().padStart(4, '0')}`;
  const nextRefundNo = () => `CDR${stamp}_${(seq++).toString().padStart(4, '0')}`;
  const notifyUrl = 'http://127.0.0.1:9/unused'; // every notification below is 'lost': nothing is delivered

  /** A Native order created through the adapter and paid at the sandbox at `successTime`. */
  async function paidOrder(amountFen: number, successTime: string, c: ChannelCredentials = creds) {
    const outTradeNo = nextTradeNo();
    await provider.prepay(c, {
      sceneCode: 'native', outTradeNo, amountFen, subject: '对账测试商品', description: '对账测试',
      notifyUrl, expireAt: new Date(Date.now() + 15 * 60_000),
    });
    const { trade } = await sandbox.pay(outTradeNo, { mchid: c.mchId, notify: { mode: 'lost' }, successTime });
    return { outTradeNo, amountFen, transactionId: trade.transaction_id! };
  }

  /** A refund applied through the adapter and completed at the sandbox at `successTime` (or left PROCESSING). */
  async function refunded(order: { outTradeNo: string; amountFen: number }, amountFen: number, successTime?: string) {
    const outRefundNo = nextRefundNo();
    await provider.refund(creds, { outTradeNo: order.outTradeNo, outRefundNo, amountFen, totalFen: order.amountFen, notifyUrl });
    if (successTime) await sandbox.completeRefund(outRefundNo, { mchid: creds.mchId, notify: { mode: 'lost' }, successTime });
    const r = await sandbox.getRefund(outRefundNo, creds.mchId);
    return { outRefundNo, amountFen, refundId: r!.refund_id };
  }

  /** The raw download: apply with the SDK, then a signed GET of download_url through the adapter's transport. */
  async function rawDownload(c: WechatClient, day: string, params: { bill_type?: string; tar_type?: string } = {}) {
    const out = await c.pay.tradebill({ bill_date: day, bill_type: params.bill_type ?? 'ALL', ...(params.tar_type ? { tar_type: params.tar_type } : {}) });
    expect(out.status).toBe(200);
    const answer = out.data as { hash_type: string; hash_value: string; download_url: string };
    const path = answer.download_url.slice(sandbox.url.length);
    const res = await c.transport.openStream(path, c.signedGetHeaders(path, '*/*'));
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    return { answer, path, status: res.status, headers: res.headers, body: Buffer.concat(chunks) };
  }

  beforeAll(async () => {
    sandbox = await startWechatSandbox({ refundDelayMs: null });
    creds = await sandbox.createMerchant();
    other = await sandbox.createMerchant();
    client = buildWechatClient(creds, { httpTimeoutMs: 10_000, certRefreshMinIntervalMs: 60_000, userAgent: 'cashier-desk test' });
  });

  afterEach(async () => {
    await sandbox.clearFaults();
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  describe('what a day lists', () => {
    const day = cstDay(3);
    const dayBefore = cstDay(4);
    const dayAfter = cstDay(2);
    let o1: Awaited<ReturnType<typeof paidOrder>>;
    let o2: Awaited<ReturnType<typeof paidOrder>>;
    let o3: Awaited<ReturnType<typeof paidOrder>>;
    let oBefore: Awaited<ReturnType<typeof paidOrder>>;
    let r1: Awaited<ReturnType<typeof refunded>>;
    let rBefore: Awaited<ReturnType<typeof refunded>>;
    let rAfter: Awaited<ReturnType<typeof refunded>>;

    beforeAll(async () => {
      // The day's edges (00:00:00 and 23:59:59 Shanghai) and the neighbouring days' edges.
      o1 = await paidOrder(1999, at(day, '09:15:30'));
      o2 = await paidOrder(1, at(day, '23:59:59'));
      o3 = await paidOrder(100_000, at(day, '00:00:00'));
      oBefore = await paidOrder(700, at(dayBefore, '23:59:59'));
      await paidOrder(555, at(day, '12:00:00'), other); // another merchant's trade
      r1 = await refunded(o1, 999, at(day, '15:00:00')); // partial, same day
      rBefore = await refunded(oBefore, 700, at(day, '10:00:00')); // paid the day before, refunded on the day
      rAfter = await refunded(o2, 1, at(dayAfter, '00:00:00')); // refunded the next day
      await refunded(o3, 5000); // still PROCESSING: in no bill
    });

    it('every payment and successful refund of the day, in fen, with both numbers and Shanghai times; then one TOTALS', async () => {
      const bill = await collect(provider.downloadBill!(creds, day));
      expect(bill.error).toBeUndefined();
      expect(bill.entries[bill.entries.length - 1].kind).toBe('TOTALS');
      expect(totalsOf(bill)).toHaveLength(1);
      expect(byOutTradeNo(records(bill))).toEqual(
        byOutTradeNo([
          { kind: 'PAYMENT', outTradeNo: o1.outTradeNo, providerTradeNo: o1.transactionId, amountFen: 1999, time: new Date(at(day, '09:15:30')), status: 'SUCCESS' },
          { kind: 'PAYMENT', outTradeNo: o2.outTradeNo, providerTradeNo: o2.transactionId, amountFen: 1, time: new Date(at(day, '23:59:59')), status: 'SUCCESS' },
          { kind: 'PAYMENT', outTradeNo: o3.outTradeNo, providerTradeNo: o3.transactionId, amountFen: 100_000, time: new Date(at(day, '00:00:00')), status: 'SUCCESS' },
          {
            kind: 'REFUND', outTradeNo: o1.outTradeNo, providerTradeNo: o1.transactionId, outRefundNo: r1.outRefundNo,
            providerRefundNo: r1.refundId, amountFen: 999, time: new Date(at(day, '15:00:00')), status: 'SUCCESS',
          },
          {
            kind: 'REFUND', outTradeNo: oBefore.outTradeNo, providerTradeNo: oBefore.transactionId, outRefundNo: rBefore.outRefundNo,
            providerRefundNo: rBefore.refundId, amountFen: 700, time: new Date(at(day, '10:00:00')), status: 'SUCCESS',
          },
        ]),
      );
      expect(totalsOf(bill)[0]).toEqual({ kind: 'TOTALS', paymentCount: 3, paymentAmountFen: 1999 + 1 + 100_000, refundCount: 2, refundAmountFen: 999 + 700 });
    });

    it('the neighbouring days list what belongs to them', async () => {
      const before = await collect(provider.downloadBill!(creds, dayBefore));
      expect(records(before).map((r) => [r.kind, r.outTradeNo])).toEqual([['PAYMENT', oBefore.outTradeNo]]);
      const after = await collect(provider.downloadBill!(creds, dayAfter));
      expect(records(after)).toEqual([
        expect.objectContaining({ kind: 'REFUND', outTradeNo: o2.outTradeNo, outRefundNo: rAfter.outRefundNo, amountFen: 1, time: new Date(at(dayAfter, '00:00:00')) }),
      ]);
      expect(totalsOf(after)).toEqual([{ kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 1, refundAmountFen: 1 }]);
    });

    it('bill_type SUCCESS lists the payments, REFUND the refunds (time from 退款成功时间); gzip or plain, the same bill', async () => {
      const all = await collect(downloadTradeBill(client, day, { idleTimeoutMs: 10_000 }));
      const success = await collect(downloadTradeBill(client, day, { billType: 'SUCCESS', idleTimeoutMs: 10_000 }));
      const refund = await collect(downloadTradeBill(client, day, { billType: 'REFUND', idleTimeoutMs: 10_000 }));
      expect(byOutTradeNo(records(success))).toEqual(byOutTradeNo(records(all).filter((r) => r.kind === 'PAYMENT')));
      expect(totalsOf(success)).toEqual([{ kind: 'TOTALS', paymentCount: 3, paymentAmountFen: 102_000, refundCount: 0, refundAmountFen: 0 }]);
      // The REFUND bill prints the payment's time in 交易时间; the refund's success time must still win.
      expect(byOutTradeNo(records(refund))).toEqual(byOutTradeNo(records(all).filter((r) => r.kind === 'REFUND')));
      expect(totalsOf(refund)).toEqual([{ kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 2, refundAmountFen: 1699 }]);

      const plain = await collect(createWechatProvider({ billGzip: false }).downloadBill!(creds, day));
      const gzip = await collect(provider.downloadBill!(creds, day));
      expect(plain.error).toBeUndefined();
      expect(plain.entries).toEqual(gzip.entries);
    });

    it('on the wire: signed apply answer; the file unsigned, gzip only when asked, SHA1 over the uncompressed bytes', async () => {
      const gz = await rawDownload(client, day, { tar_type: 'GZIP' });
      expect(gz.answer).toEqual({ hash_type: 'SHA1', hash_value: expect.stringMatching(/^[0-9a-f]{40}$/), download_url: expect.stringContaining('/v3/billdownload/file?token=') });
      expect(gz.status).toBe(200);
      expect(gz.headers['wechatpay-signature']).toBeUndefined();
      expect([...gz.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      const text = zlib.gunzipSync(gz.body);
      expect(createHash('sha1').update(text).digest('hex')).toBe(gz.answer.hash_value);

      const plain = await rawDownload(client, day);
      expect(plain.body.equals(text)).toBe(true);
      const lines = plain.body.toString('utf8').split('\r\n');
      expect(lines[0]).toBe(
        '\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,' +
          '微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
      );
      const o1Line = lines.find((l) => l.includes(o1.outTradeNo) && l.includes('`SUCCESS'))!;
      expect(o1Line).toMatch(new RegExp(`^\`${day} 09:15:30,\`wx[0-9a-z]+,\`${creds.mchId},\`0,\`,\`${o1.transactionId},\`${o1.outTradeNo},`));
      expect(o1Line).toContain(',`19.99,`0.00,`0,`0,`0.00,`0.00,`,`,`对账测试商品,');
      const r1Line = lines.find((l) => l.includes(r1.outRefundNo))!;
      expect(r1Line).toContain(`\`REFUND,\`OTHERS,\`CNY,\`0.00,\`0.00,\`${r1.refundId},\`${r1.outRefundNo},\`9.99,\`0.00,\`ORIGINAL,\`SUCCESS,`);
      expect(lines.slice(-3)).toEqual(['总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额', expect.stringMatching(/^`5,`1020.00,`16.99,`0.00,`-?\d+\.\d{5},`1020.00,`16.99$/), '']);
    });

    it('the download authenticates like any API call: unsigned 401, another merchant 403 NO_AUTH, an unknown token 400 INVALID_REQUEST', async () => {
      const { path } = await rawDownload(client, day);
      const unsigned = await client.transport.openStream(path, { Accept: '*/*' });
      unsigned.body.resume();
      expect(unsigned.status).toBe(401);
      const otherClient = buildWechatClient(other, { httpTimeoutMs: 10_000, certRefreshMinIntervalMs: 60_000, userAgent: 'test' });
      const foreign = await otherClient.transport.openStream(path, otherClient.signedGetHeaders(path));
      const foreignBody = JSON.parse((await foreign.body.toArray()).join(''));
      expect([foreign.status, foreignBody.code]).toEqual([403, 'NO_AUTH']);
      expect(foreign.headers['wechatpay-signature']).toBeDefined();
      const badPath = '/v3/billdownload/file?token=nonsense';
      const unknown = await client.transport.openStream(badPath, client.signedGetHeaders(badPath));
      expect([unknown.status, JSON.parse((await unknown.body.toArray()).join('')).code]).toEqual([400, 'INVALID_REQUEST']);
    });
  });

  describe('days without a bill, days that cannot have one', () => {
    it('a day without business: signed 400 NO_STATEMENT_EXIST → a zero TOTALS only', async () => {
      const day = cstDay(30);
      const out = await client.pay.tradebill({ bill_date: day, bill_type: 'ALL' });
      expect([out.status, JSON.parse(out.error as string).code]).toEqual([400, 'NO_STATEMENT_EXIST']);
      expect(isSignedError(out)).toBe(true);
      expect((await collect(provider.downloadBill!(creds, day))).entries).toEqual([
        { kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 0, refundAmountFen: 0 },
      ]);
    });

    it('today and future days: INVALID_REQUEST (REJECTED); beyond three months too; a malformed day never leaves the adapter', async () => {
      for (const day of [cstDay(0), cstDay(-1), cstDay(200)]) {
        const { error } = await collect(provider.downloadBill!(creds, day));
        expect([error?.kind, error?.providerCode]).toEqual(['REJECTED', 'INVALID_REQUEST']);
      }
      for (const day of ['2024-02-30', '2024-1-01', '']) {
        const { error } = await collect(provider.downloadBill!(creds, day));
        expect([error?.kind, error?.providerCode]).toEqual(['REJECTED', 'PARAM_ERROR']);
      }
      // The sandbox's own format checks (what WeChat answers an SDK call with a bad query).
      for (const params of [{ bill_date: '2024/01/01', bill_type: 'ALL' }, { bill_date: cstDay(3), bill_type: 'EVERYTHING' }, { bill_date: cstDay(3), bill_type: 'ALL', tar_type: 'ZIP' }]) {
        const out = await client.pay.tradebill(params);
        expect([out.status, JSON.parse(out.error as string).code]).toEqual([400, 'PARAM_ERROR']);
      }
    });

    it("yesterday's bill still being generated: STATEMENT_CREATING → UNAVAILABLE; older days are ready", async () => {
      // billReadyHourCst 24: yesterday is never ready, whatever hour the test runs at.
      const early = await startWechatSandbox({ refundDelayMs: null, billReadyHourCst: 24 });
      try {
        const c = await early.createMerchant();
        const orders: string[] = [];
        for (const day of [cstDay(1), cstDay(2)]) {
          const outTradeNo = nextTradeNo();
          await provider.prepay(c, { sceneCode: 'native', outTradeNo, amountFen: 100, subject: 's', description: 'd', notifyUrl, expireAt: new Date(Date.now() + 600_000) });
          await early.pay(outTradeNo, { mchid: c.mchId, notify: { mode: 'lost' }, successTime: at(day, '12:00:00') });
          orders.push(outTradeNo);
        }
        expect((await collect(provider.downloadBill!(c, cstDay(1)))).error).toMatchObject({ kind: 'UNAVAILABLE', providerCode: 'STATEMENT_CREATING' });
        expect(records(await collect(provider.downloadBill!(c, cstDay(2)))).map((r) => r.outTradeNo)).toEqual([orders[1]]);
      } finally {
        await early.close();
      }
    });

    it('outages and unverifiable answers: 500 → UNAVAILABLE, a bad signature on the apply answer → BAD_RESPONSE', async () => {
      const day = cstDay(3);
      await sandbox.injectFault({ kind: 'http500', mchid: creds.mchId });
      expect((await collect(provider.downloadBill!(creds, day))).error).toMatchObject({ kind: 'UNAVAILABLE', providerCode: 'SYSTEM_ERROR' });
      await sandbox.injectFault({ kind: 'badSignature', mchid: creds.mchId });
      expect((await collect(provider.downloadBill!(creds, day))).error).toMatchObject({ kind: 'BAD_RESPONSE' });
    });
  });

  describe('anomalies and spoiled files', () => {
    const day = cstDay(5);
    let known: Awaited<ReturnType<typeof paidOrder>>;
    let wrong: Awaited<ReturnType<typeof paidOrder>>;
    let missing: Awaited<ReturnType<typeof paidOrder>>;

    beforeAll(async () => {
      known = await paidOrder(1000, at(day, '08:00:00'));
      wrong = await paidOrder(2000, at(day, '09:00:00'));
      missing = await paidOrder(3000, at(day, '10:00:00'));
    });

    afterEach(async () => {
      await sandbox.clearBillAdjustments({ mchid: creds.mchId });
    });

    it('a trade the merchant never made, a wrong amount and a missing trade appear as WeChat states them', async () => {
      const unknown = await sandbox.addBillAnomaly({ mchid: creds.mchId, day, kind: 'UNKNOWN_TRADE', outTradeNo: 'NEVERHEARDOF1', amountFen: 4321 });
      await sandbox.addBillAnomaly({ mchid: creds.mchId, day, kind: 'WRONG_AMOUNT', outTradeNo: wrong.outTradeNo, amountFen: 1999 });
      await sandbox.addBillAnomaly({ mchid: creds.mchId, day, kind: 'MISSING_TRADE', outTradeNo: missing.outTradeNo });
      const bill = await collect(provider.downloadBill!(creds, day));
      expect(bill.error).toBeUndefined();
      // Sorted by out_trade_no: NEVERHEARDOF1 < WXB…(known) < WXB…(wrong); `missing` is absent.
      expect(byOutTradeNo(records(bill))).toEqual([
        expect.objectContaining({ kind: 'PAYMENT', outTradeNo: 'NEVERHEARDOF1', providerTradeNo: unknown.kind === 'UNKNOWN_TRADE' && unknown.transactionId, amountFen: 4321, time: new Date(at(day, '12:00:00')) }),
        expect.objectContaining({ kind: 'PAYMENT', outTradeNo: known.outTradeNo, amountFen: 1000 }),
        expect.objectContaining({ kind: 'PAYMENT', outTradeNo: wrong.outTradeNo, providerTradeNo: wrong.transactionId, amountFen: 1999 }),
      ]);
      // The bill agrees with itself: the differences are for reconciliation to find, not the parser.
      expect(totalsOf(bill)).toEqual([{ kind: 'TOTALS', paymentCount: 3, paymentAmountFen: 1000 + 1999 + 4321, refundCount: 0, refundAmountFen: 0 }]);
      await expect(sandbox.addBillAnomaly({ mchid: creds.mchId, day, kind: 'WRONG_AMOUNT', outTradeNo: 'NOSUCHTRADE', amountFen: 1 })).rejects.toMatchObject({ code: 'ORDER_NOT_EXIST' });
    });

    it('totals that disagree with the rows → BAD_RESPONSE after the rows, and no TOTALS', async () => {
      await sandbox.addBillAnomaly({ mchid: creds.mchId, day, kind: 'WRONG_TOTALS', deltaFen: 1 });
      const bill = await collect(provider.downloadBill!(creds, day));
      expect(bill.error).toMatchObject({ kind: 'BAD_RESPONSE', message: expect.stringContaining('disagree with the totals') });
      expect(records(bill)).toHaveLength(3);
      expect(totalsOf(bill)).toHaveLength(0);
    });

    it.each([['gzip', true], ['plain', false]])('a file that does not match its hash (%s) → BAD_RESPONSE after every row, never TOTALS', async (_, gzip) => {
      const p = createWechatProvider({ billGzip: gzip });
      await sandbox.corruptNextBillDownload({ mchid: creds.mchId });
      const altered = await collect(p.downloadBill!(creds, day));
      // Only one byte of 用户标识 changed: every row parsed, the totals agreed — only the hash could tell.
      expect(records(altered)).toHaveLength(3);
      expect(altered.error).toMatchObject({ kind: 'BAD_RESPONSE', message: expect.stringContaining('does not match hash_value') });
      expect(totalsOf(altered)).toHaveLength(0);

      await sandbox.corruptNextBillDownload({ mchid: creds.mchId, kind: 'TRUNCATED' });
      const truncated = await collect(p.downloadBill!(creds, day));
      expect(truncated.error).toMatchObject({ kind: 'BAD_RESPONSE' });
      expect(totalsOf(truncated)).toHaveLength(0);

      // The corruption was used up: the next download is sound.
      expect(totalsOf(await collect(p.downloadBill!(creds, day)))).toHaveLength(1);
    });

    it.each([['gzip', true], ['plain', false]])('a download the network breaks off (%s) → UNAVAILABLE (retry later), never TOTALS', async (_, gzip) => {
      await sandbox.corruptNextBillDownload({ mchid: creds.mchId, kind: 'RESET' });
      const broken = await collect(createWechatProvider({ billGzip: gzip }).downloadBill!(creds, day));
      expect(broken.error).toMatchObject({ kind: 'UNAVAILABLE' });
      expect(totalsOf(broken)).toHaveLength(0);
    });
  });

  describe('a large bill', () => {
    it('200,000 lines stream through with bounded memory, every line arrives, the totals verify', async () => {
      const day = cstDay(7);
      const seed = await sandbox.seedBillRows({ mchid: creds.mchId, day, count: 200_000, refunds: 1_000 });
      const start = process.memoryUsage().heapUsed;
      let peak = start;
      let payments = 0;
      let refunds = 0;
      let paymentFen = 0;
      let totals: BillTotals | undefined;
      // Nothing is kept: a parser that buffered the file (~45 MB) and its records would pass the bound.
      for await (const e of provider.downloadBill!(creds, day)) {
        if (e.kind === 'TOTALS') totals = e;
        else if (e.kind === 'PAYMENT') {
          payments += 1;
          paymentFen += e.amountFen;
        } else refunds += 1;
        if ((payments + refunds) % 2_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      expect([payments, refunds, paymentFen]).toEqual([200_000, 1_000, seed.paymentAmountFen]);
      expect(totals).toEqual({ kind: 'TOTALS', paymentCount: 200_000, paymentAmountFen: seed.paymentAmountFen, refundCount: 1_000, refundAmountFen: seed.refundAmountFen });
      expect(peak - start).toBeLessThan(100 * 1024 * 1024);
    });

    it('a caller that stops early releases the download; the next one is whole', async () => {
      const day = cstDay(7);
      let n = 0;
      for await (const e of provider.downloadBill!(creds, day)) {
        expect(e.kind).not.toBe('TOTALS');
        if (++n === 10) break;
      }
      const again = await collect(provider.downloadBill!(creds, day));
      expect(totalsOf(again)).toEqual([expect.objectContaining({ paymentCount: 200_000, refundCount: 1_000 })]);
    });
  });

  describe('sandbox: explicit success times', () => {
    it('pay without successTime is paid now; a future successTime is refused', async () => {
      const outTradeNo = nextTradeNo();
      await provider.prepay(creds, { sceneCode: 'native', outTradeNo, amountFen: 100, subject: 's', description: 'd', notifyUrl, expireAt: new Date(Date.now() + 600_000) });
      await expect(sandbox.pay(outTradeNo, { mchid: creds.mchId, notify: { mode: 'lost' }, successTime: new Date(Date.now() + 3_600_000) })).rejects.toMatchObject({ code: 'PARAM_ERROR' });
      const before = Date.now();
      const { trade } = await sandbox.pay(outTradeNo, { mchid: creds.mchId, notify: { mode: 'lost' } });
      expect(Date.parse(trade.success_time!)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(Date.parse(trade.success_time!)).toBeLessThanOrEqual(Date.now());
    });
  });
});
