/**
 * Reconciliation's comparison in PostgreSQL, and the statistics and statement queries, against rows whose
 * expected results are computed by hand: each discrepancy kind, matches that must not be reported, a rerun that
 * replaces a day instead of adding to it, and daily statistics equal to the raw rows they summarize.
 */
import { randomBytes } from 'node:crypto';
import { compareRun, findRunOf, searchDiscrepancies, stageBillRows, startRun, type StagedBillRow } from '../../db/queries/reconciliation';
import { recordNotifyAttempt } from '../../db/queries/notification-attempts';
import { dailyStats, exportOrders } from '../../db/queries/statistics';
import { providerOutTradeNo } from '../../domain/order';
import { shanghaiDayRange } from '../../domain/reconciliation';
import { providerOutRefundNo } from '../../domain/refund';
import { createStatementService } from '../../app/statements';
import { parseStatement } from '../../sdk';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';

let t: TestDb;
let app: SeededApp;
const DAY = '2026-11-20';
const { start } = shanghaiDayRange(DAY);
const at = (h: number, m = 0) => new Date(start.getTime() + h * 3600_000 + m * 60_000);

beforeAll(async () => {
  t = await createTestDb();
  app = await seedApp(t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native' }, { channelType: 'ali-pay', sceneCode: 'h5' }] });
});
afterAll(async () => t?.destroy());

/** An order paid through channel `ch` at `payTime` (or left unpaid with `status`). */
async function order(amount: number, opts: { payTime?: Date; status?: string; ch?: number; created?: Date } = {}) {
  const o = await seedOrder(t, { appId: app.appId, amount, expireAt: new Date(start.getTime() + 86_400_000) });
  const ch = app.channels[opts.ch ?? 0];
  await t.db('orders').where({ id: o.id }).update({
    status: opts.status ?? 'SUCCESS',
    channel_id: ch.channelId,
    channel_type: ch.channelType,
    mch_id: ch.mchId,
    pay_time: opts.status && opts.status !== 'SUCCESS' ? null : (opts.payTime ?? at(10)),
    provider_trade_no: `T-${o.id}`,
    created_at: opts.created ?? at(9),
  });
  return { ...o, tradeNo: providerOutTradeNo(o.id, ch.channelId), channelId: ch.channelId };
}

async function refund(o: { id: number; tradeNo: string; channelId: number; amount: number }, amount: number, status: string, refundTime: Date | null) {
  const ch = app.channels.find((c) => c.channelId === o.channelId)!;
  const [row] = await t.db('refunds')
    .insert({
      app_id: app.appId, out_refund_no: `R${randomBytes(4).toString('hex')}`, order_id: o.id, source: 'MERCHANT', amount, request_hash: 'x', channel_id: ch.channelId,
      channel_type: ch.channelType, scene_code: ch.sceneCode, config_id: ch.configId, mch_id: ch.mchId, provider_out_trade_no: o.tradeNo, trade_amount: o.amount,
      status, refund_time: refundTime, workflow_id: `wf-${randomBytes(3).toString('hex')}`,
    })
    .returning('*');
  return row as { id: number };
}

const pay = (tradeNo: string, amount: number): StagedBillRow => ({ kind: 'PAYMENT', providerOutTradeNo: tradeNo, providerTradeNo: `P-${tradeNo}`, outRefundNo: null, amount, at: at(10) });
const ref = (tradeNo: string, refundId: number, amount: number): StagedBillRow => ({ kind: 'REFUND', providerOutTradeNo: tradeNo, providerTradeNo: `P-${tradeNo}`, outRefundNo: providerOutRefundNo(refundId), amount, at: at(11) });

test('each discrepancy kind is found, matches are not reported, and a rerun replaces the day', async () => {
  const cfg = app.channels[0].configId;
  const matched = await order(1000);
  const wrongAmount = await order(2000);
  const onlyLocal = await order(3000);
  const closed = await order(400, { status: 'CLOSED' });
  const otherDay = await order(500, { payTime: at(-30) }); // paid the day before, listed in this bill: matched by number
  const exceptionTrade = await order(600, { status: 'CLOSED' });
  await t.db('payment_exceptions').insert({
    order_id: exceptionTrade.id, app_id: app.appId, kind: 'LATE_PAYMENT', channel_id: exceptionTrade.channelId, channel_type: 'ali-pay', scene_code: 'native', config_id: cfg,
    mch_id: app.channels[0].mchId, provider_out_trade_no: exceptionTrade.tradeNo, amount: 600, order_status: 'CLOSED', detected_by: 'test',
  });
  const refOk = await refund(matched, 100, 'SUCCESS', at(11));
  const refProcessing = await refund(wrongAmount, 200, 'PROCESSING', null);
  const refLocalOnly = await refund(matched, 50, 'SUCCESS', at(12));

  const bill = [
    pay(matched.tradeNo, 1000),
    pay(wrongAmount.tradeNo, 1999),
    pay(closed.tradeNo, 400),
    pay(otherDay.tradeNo, 500),
    pay(exceptionTrade.tradeNo, 600),
    pay('CD9999999999C1', 700),
    ref(matched.tradeNo, refOk.id, 100),
    ref(wrongAmount.tradeNo, refProcessing.id, 200),
    ref(matched.tradeNo, 999999, 70),
  ];
  const run = async () => {
    const runId = await startRun(t.db, { day: DAY, configId: cfg, channelType: 'ali-pay', trigger: 'ADMIN', requestedBy: 'admin', workflowId: 'wf' });
    await stageBillRows(t.db, runId, bill);
    return { runId, result: await compareRun(t.db, runId, DAY, cfg) };
  };
  const first = await run();
  const { items } = await searchDiscrepancies(t.db, { runId: first.runId, page: 1, pageSize: 100 });
  const seen = items.map((d) => [d.kind, d.record_kind, d.provider_out_trade_no, d.out_refund_no, d.provider_amount, d.local_amount]).sort();
  expect(seen).toEqual(
    [
      ['AMOUNT_MISMATCH', 'PAYMENT', wrongAmount.tradeNo, null, 1999, 2000],
      ['MISSING_PROVIDER', 'PAYMENT', onlyLocal.tradeNo, null, null, 3000],
      ['MISSING_LOCAL', 'PAYMENT', closed.tradeNo, null, 400, 400],
      ['MISSING_LOCAL', 'PAYMENT', 'CD9999999999C1', null, 700, null],
      ['STATUS_MISMATCH', 'REFUND', wrongAmount.tradeNo, providerOutRefundNo(refProcessing.id), 200, 200],
      ['MISSING_LOCAL', 'REFUND', matched.tradeNo, providerOutRefundNo(999999), 70, null],
      ['MISSING_PROVIDER', 'REFUND', matched.tradeNo, providerOutRefundNo(refLocalOnly.id), null, 50],
    ].sort(),
  );
  expect(first.result.missingLocalPayments).toHaveLength(2);
  expect(first.result).toMatchObject({ localPaymentCount: 3, localPaymentAmount: 6000, localRefundCount: 2, localRefundAmount: 150, discrepancyCount: 7 });

  // The same day again: one run (attempt 2), the same discrepancies, no duplicates, no staged rows left.
  const second = await run();
  expect(second.runId).toBe(first.runId);
  expect((await findRunOf(t.db, DAY, cfg))!.attempt).toBe(2);
  expect(await t.db('reconciliation_discrepancies').where({ day: DAY, config_id: cfg }).count({ n: '*' }).first()).toEqual({ n: 7 });
  expect(await t.db('reconciliation_bill_rows').count({ n: '*' }).first()).toEqual({ n: 0 });
});

test('daily statistics equal the raw rows they summarize, per filter', async () => {
  const day = '2026-10-05';
  const s = shanghaiDayRange(day).start.getTime();
  const when = (h: number) => new Date(s + h * 3600_000);
  const fresh = await seedApp(t, { channels: [{ channelType: 'wx-pay', sceneCode: 'native' }, { channelType: 'wx-pay', sceneCode: 'h5' }] });
  const mk = async (amount: number, ch: number, paid: boolean, ackAfterMs: number | null, firstAcked: boolean) => {
    const o = await seedOrder(t, { appId: fresh.appId, amount, expireAt: when(20) });
    const c = fresh.channels[ch];
    await t.db('orders').where({ id: o.id }).update({
      created_at: when(8), status: paid ? 'SUCCESS' : 'CLOSED', channel_id: c.channelId, channel_type: c.channelType, pay_time: paid ? when(9) : null,
      notify_status: ackAfterMs === null && paid ? 'NOTIFY_EXHAUSTED' : 'ACKED',
    });
    // Through the attempt writer, which also keeps the order's notification health.
    const attempt = (n: number, acknowledged: boolean, startedAt: Date) =>
      recordNotifyAttempt(t.db, { orderId: o.id }, { attempt: n, trigger: 'SCHEDULE', scheduledAt: when(9).getTime(), httpStatus: acknowledged ? 200 : 500, latencyMs: 5, acknowledged, error: null, startedAt: startedAt.getTime() });
    if (paid) {
      await attempt(1, firstAcked, when(9));
      if (ackAfterMs !== null && !firstAcked) await attempt(2, true, new Date(when(9).getTime() + ackAfterMs));
    }
    return o;
  };
  await mk(100, 0, true, 0, true);
  await mk(200, 0, true, 15_000, false);
  await mk(300, 1, true, null, false);
  await mk(400, 1, false, null, false);
  const range = { from: shanghaiDayRange(day).start, to: shanghaiDayRange(day).end, appId: fresh.appId };
  const [all] = await dailyStats(t.db, range);
  expect(all).toMatchObject({ day, created: 4, paidCount: 3, paidAmount: 600, notified: 3, firstAttemptAcked: 1, exhausted: 1 });
  // p95 over {0 s, 15 s} (continuous percentile): 14.25 s.
  expect(all.p95AckMs).toBe(14_250);
  const [h5] = await dailyStats(t.db, { ...range, sceneCode: 'h5' });
  expect(h5).toMatchObject({ created: 2, paidCount: 1, paidAmount: 300, exhausted: 1 });
  expect(await dailyStats(t.db, { ...range, channelType: 'ali-pay' })).toEqual([]);
  // The export pages through every order of the range.
  let exported = 0;
  for await (const page of exportOrders(t.db, range)) exported += page.length;
  expect(exported).toBe(4);
});

test("a merchant statement lists the day's payments and refunds once each, totals last", async () => {
  const day = '2026-09-01';
  const s = shanghaiDayRange(day).start.getTime();
  const o1 = await order(1000, { payTime: new Date(s + 3600_000) });
  const o2 = await order(250, { payTime: new Date(s + 7200_000) });
  await order(999, { payTime: new Date(s - 1000) }); // the day before: not listed
  await refund(o1, 300, 'SUCCESS', new Date(s + 10_800_000));
  await refund(o2, 50, 'FAIL', null); // not a refund of that day
  const csv = (await createStatementService({ db: t.db }).statement(app.appId, day)).toString('utf8');
  const parsed = parseStatement(csv);
  expect(parsed.rows.map((r) => [r.type, r.outTradeNo, r.amount])).toEqual([
    ['PAYMENT', o1.out_trade_no, 1000],
    ['PAYMENT', o2.out_trade_no, 250],
    ['REFUND', o1.out_trade_no, 300],
  ]);
  expect(parsed.rows[0].time).toBe('2026-09-01 01:00:00');
  expect(parsed.totals).toEqual({ paymentCount: 2, paymentAmount: 1250, refundCount: 1, refundAmount: 300, netAmount: 950 });
  expect(csv.split('\r\n').at(-2)).toBe('2,1250,1,300,950');
  await expect(createStatementService({ db: t.db }).statement(app.appId, '2026-02-30')).rejects.toMatchObject({ code: 4000 });
  await expect(createStatementService({ db: t.db }).statement(app.appId, '2999-01-01')).rejects.toMatchObject({ code: 4040 });
});
