/**
 * The WeChat trade bill parser (providers/wechat/bill.ts) on hand-written files in WeChat's format: chunking,
 * BOM/CRLF, commas inside fields, and every way a file must be refused (hash, totals, shape, merchant).
 */
import { createHash } from 'node:crypto';
import { ProviderError, type BillEntry } from '../../providers/types';
import { assertBillDay, downloadPath, parseTradeBill } from '../../providers/wechat/bill';

const MCH = '1900000109';
const ALL_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,' +
  '微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const TOTALS_HEADER = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
const q = (fields: string[]) => `\`${fields.join(',`')}`;

const payment = (o: { time?: string; mch?: string; no?: string; state?: string; amount?: string; attach?: string } = {}) =>
  q([o.time ?? '2024-07-09 10:06:33', 'wxe1696e7c7db8e7f4', o.mch ?? MCH, '0', '', '4200002360202407091150650780', o.no ?? 'CD1C1', 'oVgfJ5TrnzDOSua',
    'JSAPI', o.state ?? 'SUCCESS', 'OTHERS', 'CNY', o.amount ?? '60.00', '0.00', '0', '0', '0.00', '0.00', '', '', '商品,名称', o.attach ?? '{"a":1,"b":2}',
    '0.32000', '0.54%', o.amount ?? '60.00', '0.00', '']);
const refund = q(['2024-07-09 16:47:58', 'wxe1696e7c7db8e7f4', MCH, '0', '', '4200002166202406250324636876', 'CD1C0', 'oVgfJ5d35c6iAXr', 'JSAPI', 'REFUND',
  'OTHERS', 'CNY', '0.00', '0.00', '50302709992024070991956632208', 'CDR7', '50.00', '0.00', 'ORIGINAL', 'SUCCESS', '商品', '', '-0.27000', '0.54%', '0.00', '50.00', '']);
const totals = (count = '2', settled = '60.00', refunded = '50.00') => q([count, settled, refunded, '0.00', '0.05000', settled, refunded]);

function file(lines: string[], eol = '\r\n', bom = true): Buffer {
  return Buffer.from((bom ? '\uFEFF' : '') + lines.join(eol), 'utf8');
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function parse(bytes: Buffer, opts: { chunk?: number; hash?: string; mch?: string } = {}) {
  const size = opts.chunk ?? bytes.length;
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const entries: BillEntry[] = [];
  try {
    for await (const e of parseTradeBill(chunks(), { hashValue: opts.hash ?? sha1(bytes), mchId: opts.mch ?? MCH })) entries.push(e);
    return { entries, error: undefined };
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    return { entries, error: err };
  }
}

const good = [ALL_HEADER, payment(), refund, TOTALS_HEADER, totals(), ''];

describe('WeChat trade bill parser', () => {
  it('parses payments and refunds by column name; yuan → fen; Shanghai times; BOM, CRLF, commas inside fields', async () => {
    const { entries, error } = await parse(file(good));
    expect(error).toBeUndefined();
    expect(entries).toEqual([
      { kind: 'PAYMENT', outTradeNo: 'CD1C1', providerTradeNo: '4200002360202407091150650780', amountFen: 6000, time: new Date('2024-07-09T02:06:33Z'), status: 'SUCCESS' },
      {
        kind: 'REFUND', outTradeNo: 'CD1C0', providerTradeNo: '4200002166202406250324636876', outRefundNo: 'CDR7',
        providerRefundNo: '50302709992024070991956632208', amountFen: 5000, time: new Date('2024-07-09T08:47:58Z'), status: 'SUCCESS',
      },
      { kind: 'TOTALS', paymentCount: 1, paymentAmountFen: 6000, refundCount: 1, refundAmountFen: 5000 },
    ]);
  });

  it('gives the same result whatever the chunking (1 byte: UTF-8 characters split), LF endings, no BOM, no final newline', async () => {
    const expected = (await parse(file(good))).entries;
    expect((await parse(file(good), { chunk: 1 })).entries).toEqual(expected);
    expect((await parse(file(good.slice(0, -1), '\n', false), { chunk: 7 })).entries).toEqual(expected);
  });

  it('reads the REFUND bill layout: time from 退款成功时间, not the payment time in 交易时间', async () => {
    const header =
      '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,' +
      '退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
    const line = q(['2021-01-24 16:16:25', 'wx81be3101902f7cb2', MCH, '0', '', '4200000844202101245866928772', 'S20210124161554311546', 'ofyak5q', 'NATIVE',
      'REFUND', 'OTHERS', 'CNY', '0.00', '0.00', '2021-02-01 14:33:21', '2021-02-01 14:33:24', '50300807172021020106006664916', 'S20210201143320649393',
      '0.01', '0.00', 'ORIGINAL', 'SUCCESS', 'for testing', 'cipher code', '0.00000', '1.00%', '0.00', '0.01', '']);
    const { entries, error } = await parse(file([header, line, TOTALS_HEADER, q(['1', '0.00', '0.01', '0.00', '0.00000', '0.00', '0.01'])]));
    expect(error).toBeUndefined();
    expect(entries[0]).toMatchObject({ kind: 'REFUND', amountFen: 1, time: new Date('2021-02-01T06:33:24Z') });
  });

  it('an empty day: header and zero totals only', async () => {
    const { entries } = await parse(file([ALL_HEADER, TOTALS_HEADER, q(['0', '0.00', '0.00', '0.00', '0.00000', '0.00', '0.00'])]));
    expect(entries).toEqual([{ kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 0, refundAmountFen: 0 }]);
  });

  // Every row has all four elements: with fewer, jest would hand the test a done() callback as `opts`.
  const refusals: [string, Buffer, RegExp, { hash?: string }][] = [
    ['the hash does not match', file(good), /does not match hash_value/, { hash: '0'.repeat(40) }],
    ['the rows disagree with 总交易单数', file([ALL_HEADER, payment(), refund, TOTALS_HEADER, totals('3')]), /3 rows|总交易单数 3/, {}],
    ['the payments disagree with 订单总金额', file([ALL_HEADER, payment(), refund, TOTALS_HEADER, totals('2', '60.01')]), /订单总金额/, {}],
    ['the refunds disagree with 退款总金额', file([ALL_HEADER, payment(), refund, TOTALS_HEADER, totals('2', '60.00', '5.00')]), /退款总金额/, {}],
    ['the file ends before its totals', file([ALL_HEADER, payment(), refund]), /ends before its totals/, {}],
    ['the totals row is missing', file([ALL_HEADER, payment(), TOTALS_HEADER]), /ends before its totals/, {}],
    ['something follows the totals', file([...good.slice(0, -1), payment()]), /after the totals/, {}],
    ['a field holds ",`" (columns would shift)', file([ALL_HEADER, payment({ attach: 'x,`y' }), TOTALS_HEADER, totals('1', '60.00', '0.00')]), /fields, the header/, {}],
    ['another merchant’s row', file([ALL_HEADER, payment({ mch: '1900000999' }), TOTALS_HEADER, totals('1', '60.00', '0.00')]), /merchant 1900000999/, {}],
    ['a 交易状态 this gateway never creates', file([ALL_HEADER, payment({ state: 'REVOKED' }), TOTALS_HEADER, totals('1', '60.00', '0.00')]), /REVOKED/, {}],
    ['an amount with three decimals', file([ALL_HEADER, payment({ amount: '60.001' }), TOTALS_HEADER, totals('1', '60.00', '0.00')]), /not a yuan amount/, {}],
    ['an impossible time', file([ALL_HEADER, payment({ time: '2024-02-30 10:00:00' }), TOTALS_HEADER, totals('1', '60.00', '0.00')]), /not a valid time/, {}],
    ['a header that is not a trade bill', file(['{"code":"SYSTEM_ERROR"}', TOTALS_HEADER, totals('0', '0.00', '0.00')]), /header lacks/, {}],
    ['an empty file', Buffer.alloc(0), /empty/, {}],
    ['one endless line', Buffer.alloc(200 * 1024, 0x41), /longer than/, {}],
  ];

  it.each(refusals)('refuses the bill when %s (BAD_RESPONSE, never TOTALS)', async (_, bytes, message, opts) => {
    const { entries, error } = await parse(bytes, { chunk: 4096, ...opts });
    expect(error).toMatchObject({ kind: 'BAD_RESPONSE', message: expect.stringMatching(message) });
    expect(entries.filter((e) => e.kind === 'TOTALS')).toHaveLength(0);
  });

  it('download_url: only the WeChat API hosts (mapped onto the gateway) or the gateway itself get our signature', () => {
    const gateway = new URL('http://127.0.0.1:4321');
    expect(downloadPath('https://api.mch.weixin.qq.com/v3/billdownload/file?token=a-b_c', gateway)).toBe('/v3/billdownload/file?token=a-b_c');
    expect(downloadPath('http://127.0.0.1:4321/v3/billdownload/file?token=x', gateway)).toBe('/v3/billdownload/file?token=x');
    for (const url of ['https://evil.example/v3/billdownload/file?token=x', 'https://api.mch.weixin.qq.com.evil.example/v3/x', 'https://api.mch.weixin.qq.com/other', 'http://127.0.0.1:4322/v3/x', 42]) {
      expect(() => downloadPath(url, gateway)).toThrow(expect.objectContaining({ kind: 'BAD_RESPONSE' }));
    }
  });

  it('bill days: real yyyy-MM-dd dates only', () => {
    expect(() => assertBillDay('2024-02-29')).not.toThrow();
    for (const day of ['2023-02-29', '2024-13-01', '2024-1-1', '20240101', '']) {
      expect(() => assertBillDay(day)).toThrow(expect.objectContaining({ kind: 'REJECTED', providerCode: 'PARAM_ERROR' }));
    }
  });
});
