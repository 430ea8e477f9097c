/**
 * The Alipay bill reader (providers/alipay/bill.ts) on hand-made archives in the layout of real Alipay bills, not
 * the sandbox's generator: so that the sandbox and the adapter cannot share one misreading of the format. Also
 * its CSV cell splitting and the ways a bill can fail its own checks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { csvCells, readBillZip } from '../../providers/alipay/bill';
import { ProviderError, type BillEntry } from '../../providers/types';
import { StreamingZipWriter } from '../../sandbox/alipay/zip';

const DAY = '2023-03-14';
const ACCOUNT = '20881234567890120156';
const HEADER =
  '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';
const SUMMARY_HEADER = '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）';

/** A detail line as real bills write them: identifiers and a few values tab-padded, refunds negative. */
function line(o: { tradeNo: string; out: string; type: '交易' | '退款'; subject: string; finished: string; amount: string; requestNo?: string; store?: string; remark?: string }): string {
  return [
    `${o.tradeNo}\t`,
    `${o.out}\t`,
    `${o.type}\t`,
    o.subject,
    '2023-03-14 08:00:00',
    o.finished,
    `${o.store ?? ''}\t`,
    `${o.store ?? ''}\t`,
    `${o.store ? 'cashier01' : ''}\t`,
    '\t',
    '*明(139****1234)\t',
    o.amount,
    o.amount,
    '0.00',
    '0.00',
    '0.00',
    '0.00',
    '0.00',
    '',
    '0.00\t',
    '0.00',
    `${o.requestNo ?? ''}\t`,
    '0.00',
    '0.00',
    o.remark ?? '',
  ].join(',');
}

const LINES = [
  line({ tradeNo: '2023031422001400000000000001', out: 'CD1C1', type: '交易', subject: '测试商品甲', finished: '2023-03-14 09:00:05', amount: '35.80', store: 'shop_01', remark: '备注：甲' }),
  line({ tradeNo: '2023031422001400000000000001', out: 'CD1C1', type: '退款', subject: '测试商品甲', finished: '2023-03-14 10:30:00', amount: '-5.80', requestNo: 'CDR1', store: 'shop_01' }),
  line({ tradeNo: '2023031422001400000000000002', out: 'CD2C1', type: '交易', subject: '测试商品乙', finished: '2023-03-14 23:59:59', amount: '0.01' }),
  // A refund made without out_request_no: Alipay's request number is then the out_trade_no.
  line({ tradeNo: '2023031322001400000000000009', out: 'CD9C1', type: '退款', subject: '昨日商品', finished: '2023-03-14 11:00:00', amount: '-1.00' }),
];

function detailText(o: { lines?: string[]; footer?: string[]; day?: string } = {}): string {
  const lines = o.lines ?? LINES;
  return [
    '#支付宝业务明细查询',
    `#账号：[${ACCOUNT}]`,
    `#起始日期：[${(o.day ?? DAY).replace(/(\d{4})-(\d{2})-(\d{2})/, '$1年$2月$3日')} 00:00:00]   终止日期：[2023年03月15日 00:00:00]`,
    '#-----------------------------------------业务明细列表----------------------------------------',
    HEADER,
    ...lines,
    '#-----------------------------------------业务明细列表结束------------------------------------',
    ...(o.footer ?? ['#交易合计：2笔，商家实收共35.81元，商家优惠共0.00元', '#退款合计：2笔，商家实收退款共-6.80元，商家优惠退款共0.00元']),
    '#导出时间：[2023年03月15日 06:12:40]',
    '',
  ].join('\r\n');
}

function summaryText(rows?: string[]): string {
  return [
    '#支付宝业务汇总查询',
    `#账号：[${ACCOUNT}]`,
    '#起始日期：[2023年03月14日 00:00:00]   终止日期：[2023年03月15日 00:00:00]',
    '#-----------------------------------------业务汇总列表----------------------------------------',
    SUMMARY_HEADER,
    ...(rows ?? ['shop_01\t,测试门店\t,1,1,30.00,30.00,0.00,0.00,0.00,0.00,0.00,30.00', '\t,\t,1,1,-0.99,-0.99,0.00,0.00,0.00,0.00,0.00,-0.99', '合计,,2,2,29.01,29.01,0.00,0.00,0.00,0.00,0.00,29.01']),
    '#-----------------------------------------业务汇总列表结束------------------------------------',
    '#导出时间：[2023年03月15日 06:12:40]',
    '',
  ].join('\r\n');
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-bill-unit-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function archive(files: Array<{ name: string; text: string; utf8Name?: boolean; bytes?: Buffer }>): Promise<string> {
  const chunks: Buffer[] = [];
  const zip = new StreamingZipWriter({ write: async (c) => void chunks.push(Buffer.from(c)) }, '2023-03-15 06:12:40');
  for (const f of files) {
    const name = f.utf8Name ? Buffer.from(f.name, 'utf8') : iconv.encode(f.name, 'gbk');
    await zip.addEntry(name, !!f.utf8Name, [f.bytes ?? iconv.encode(f.text, 'gbk')]);
  }
  await zip.finish();
  n += 1;
  const file = path.join(dir, `bill${n}.zip`);
  fs.writeFileSync(file, Buffer.concat(chunks));
  return file;
}

const base = `${ACCOUNT}_${DAY.replaceAll('-', '')}`;
const standard = (o: { detail?: string; summary?: string } = {}) => [
  { name: `${base}_业务明细.csv`, text: o.detail ?? detailText() },
  { name: `${base}_业务明细(汇总).csv`, text: o.summary ?? summaryText() },
];

async function read(file: string, secrets: Record<string, string> = {}): Promise<BillEntry[]> {
  const out: BillEntry[] = [];
  for await (const e of readBillZip(file, DAY, { secrets })) out.push(e);
  return out;
}

async function failure(file: string, secrets: Record<string, string> = {}): Promise<ProviderError> {
  try {
    await read(file, secrets);
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected the bill to be refused');
}

const at = (s: string) => new Date(`${s.replace(' ', 'T')}+08:00`);

describe('csvCells', () => {
  it('splits on commas and trims the tab padding', () => {
    expect(csvCells('2023\t,CD1\t,交易\t,商品,,0.00\t,')).toEqual(['2023', 'CD1', '交易', '商品', '', '0.00', '']);
  });
  it('reads RFC 4180 quoting within a line', () => {
    expect(csvCells('a,"b,c","d ""e""",f')).toEqual(['a', 'b,c', 'd "e"', 'f']);
    expect(csvCells('"x"\t,y')).toEqual(['x', 'y']);
  });
  it('refuses unbalanced quotes and text after a closing quote', () => {
    expect(csvCells('a,"b,c')).toBeUndefined();
    expect(csvCells('a,"b"c,d')).toBeUndefined();
  });
});

describe('readBillZip on archives laid out like real Alipay bills', () => {
  it('yields each line in fen with Asia/Shanghai times, refunds positive, then the totals', async () => {
    const entries = await read(await archive(standard()));
    expect(entries).toEqual([
      { kind: 'PAYMENT', outTradeNo: 'CD1C1', providerTradeNo: '2023031422001400000000000001', amountFen: 3580, time: at('2023-03-14 09:00:05'), status: 'SUCCESS' },
      {
        kind: 'REFUND',
        outTradeNo: 'CD1C1',
        providerTradeNo: '2023031422001400000000000001',
        outRefundNo: 'CDR1',
        providerRefundNo: null,
        amountFen: 580,
        time: at('2023-03-14 10:30:00'),
        status: 'SUCCESS',
      },
      { kind: 'PAYMENT', outTradeNo: 'CD2C1', providerTradeNo: '2023031422001400000000000002', amountFen: 1, time: at('2023-03-14 23:59:59'), status: 'SUCCESS' },
      expect.objectContaining({ kind: 'REFUND', outTradeNo: 'CD9C1', outRefundNo: 'CD9C1', amountFen: 100 }),
      { kind: 'TOTALS', paymentCount: 2, paymentAmountFen: 3581, refundCount: 2, refundAmountFen: 680 },
    ]);
  });

  it('accepts UTF-8-flagged entry names and other files in the archive', async () => {
    const files = standard().map((f) => ({ ...f, utf8Name: true }));
    const entries = await read(await archive([...files, { name: 'readme.txt', text: '说明' }]));
    expect(entries.at(-1)).toMatchObject({ kind: 'TOTALS', paymentCount: 2 });
  });

  it('checks the seller named by the channel against the account', async () => {
    const file = await archive(standard());
    expect((await read(file, { sellerId: '2088123456789012' })).at(-1)).toMatchObject({ kind: 'TOTALS' });
    expect((await failure(file, { sellerId: '2088999999999999' })).kind).toBe('BAD_RESPONSE');
  });

  const refusals: Array<[string, () => Array<{ name: string; text: string; bytes?: Buffer }>, RegExp]> = [
    ['a bill of another day', () => [{ name: `${ACCOUNT}_20230315_业务明细.csv`, text: detailText() }, { name: `${ACCOUNT}_20230315_业务明细(汇总).csv`, text: summaryText() }], /20230315/],
    ['a header of another day', () => standard({ detail: detailText({ day: '2023-03-13' }) }), /2023-03-13/],
    ['a missing summary file', () => standard().slice(0, 1), /汇总/],
    ['a summary 合计 that its lines do not add up to', () => standard({ summary: summaryText(['合计,,2,2,29.02,29.02,0.00,0.00,0.00,0.00,0.00,29.02']) }), /net 订单金额/],
    ['store rows that do not add up to 合计', () => standard({ summary: summaryText(['\t,\t,2,2,29.00,29.00,0.00,0.00,0.00,0.00,0.00,29.00', '合计,,2,2,29.01,29.01,0.00,0.00,0.00,0.00,0.00,29.01']) }), /store rows/],
    ['a summary count that differs', () => standard({ summary: summaryText(['合计,,3,2,29.01,29.01,0.00,0.00,0.00,0.00,0.00,29.01']) }), /payment count/],
    ['a footer that differs from the lines', () => standard({ detail: detailText({ footer: ['#交易合计：2笔，商家实收共35.80元，商家优惠共0.00元', '#退款合计：2笔，商家实收退款共-6.80元，商家优惠退款共0.00元'] }) }), /footer/],
    ['a missing footer (truncated file)', () => standard({ detail: detailText({ footer: [] }) }), /footer/],
    ['an unknown 业务类型', () => standard({ detail: detailText({ lines: [...LINES.slice(0, 3), LINES[3].replace('退款\t', '冻结\t')] }) }), /业务类型/],
    ['a refund written positive', () => standard({ detail: detailText({ lines: [...LINES.slice(0, 3), LINES[3].replace(/,-1\.00,-1\.00,/, ',1.00,1.00,')] }) }), /refund/],
    ['a line with a column missing', () => standard({ detail: detailText({ lines: [...LINES.slice(0, 3), LINES[3].replace(/,[^,]*$/, '')] }) }), /columns/],
    ['an invalid amount', () => standard({ detail: detailText({ lines: [LINES[0].replace(',35.80,35.80,', ',35.8x,35.80,'), ...LINES.slice(1)] }) }), /amount/],
    ['a layout without the columns we need', () => standard({ detail: detailText().replace('完成时间', '结束时间') }), /完成时间/],
  ];
  it.each(refusals)('refuses %s as BAD_RESPONSE', async (_name, files, message) => {
    const err = await failure(await archive(files()));
    expect(err.kind).toBe('BAD_RESPONSE');
    expect(err.message).toMatch(message);
  });

  it('refuses what is not a ZIP', async () => {
    const file = path.join(dir, 'not-a-zip.zip');
    fs.writeFileSync(file, '<html>链接已失效</html>');
    expect((await failure(file)).kind).toBe('BAD_RESPONSE');
  });

  it('refuses an entry whose data fails its CRC-32', async () => {
    const file = await archive(standard());
    const bytes = fs.readFileSync(file);
    // Patch the detail entry's CRC in the central directory (the one yauzl reads): the data no longer matches it.
    const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE((bytes.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16);
    fs.writeFileSync(file, bytes);
    expect((await failure(file)).message).toMatch(/CRC-32/);
  });
});
