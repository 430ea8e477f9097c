/**
 * Reconciliation (对账), statistics (统计) and CSV exports in the administrator console, in headless Chromium on the
 * whole system. Orders, a refund, notification attempts, reconciliation runs and their discrepancies are inserted
 * directly, over the three days before today (Asia/Shanghai), so every number is known: the totals cards and the
 * SVG charts show exactly them and change with the app and scene filters; the runs and discrepancies list and
 * filter; a run of a past day is accepted (its workflow id shown), a second one while it runs is refused (4090),
 * today is refused (4000); an orders CSV export streams to 100% and downloads header + every row. No CSP
 * violation or script error may occur. Screenshots (1440×900) go to test-results/screenshots/admin-insights-*.png.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { recordNotifyAttempt } from '../../db/queries/notification-attempts';
import { providerOutTradeNo } from '../../domain/order';
import { shanghaiDay } from '../../domain/reconciliation';
import { WorkflowIds } from '../../temporal/workflow-ids';
import type { ChannelRef } from '../../domain/payment';
import { consolePage, inlineCodeOf, launchBrowser, logInToConsole, SCREENSHOT_DIR } from '../support/browser';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[] = [];
/** Reconciliation workflows this file started (they retry against a placeholder gateway): terminated at the end. */
const startedWorkflows = new Set<string>();

const DAY_MS = 24 * 3600_000;
const today = shanghaiDay(Date.now());
const D1 = shanghaiDay(Date.now() - 3 * DAY_MS);
const D2 = shanghaiDay(Date.now() - 2 * DAY_MS);
const D3 = shanghaiDay(Date.now() - DAY_MS);
/** An instant on a Shanghai day. */
const at = (day: string, hhmm: string, plusSeconds = 0) => new Date(Date.parse(`${day}T${hhmm}:00+08:00`) + plusSeconds * 1000);

let shop: SeededApp; // 城市便利店: ali-pay native + h5 (one config)
let mall: SeededApp; // 优选商城: wx-pay jsapi
let native: ChannelRef;
let h5: ChannelRef;
let jsapi: ChannelRef;
const ids: Record<string, number> = {};
let refundId: number;
const runIds: Record<string, number> = {};
const discrepancyIds: Record<string, number> = {};

const shot = async (name: string) => {
  // From the top: the sticky sidebar and top bar would otherwise be drawn where the page was scrolled to.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `admin-insights-${name}.png`), fullPage: true });
};
const dialog = () => page.locator('dialog.modal[open]');
const statValue = (id: string) => page.locator(`#${id} .stat-value`).textContent();

async function expectNoInlineCode(): Promise<void> {
  expect(await inlineCodeOf(page, { ignoreEmptyStyle: true })).toEqual({ scripts: 0, handlers: [], styles: 0 });
}

/** A finished order as the workflow would have left it: channel chosen, paid (or not) at `payTime`. */
async function order(
  key: string,
  app: SeededApp,
  ch: ChannelRef,
  o: { amount: number; status: 'SUCCESS' | 'PAYING' | 'CLOSED'; createdAt: Date; payTime?: Date; notify?: 'NONE' | 'ACKED' | 'NOTIFY_EXHAUSTED' },
): Promise<void> {
  const row = await seedOrder(sys.t, { appId: app.appId, amount: o.amount, notifyUrl: o.notify && o.notify !== 'NONE' ? 'https://merchant.example.com/notify' : null, expireAt: new Date(o.createdAt.getTime() + 1800_000), outTradeNo: `INS-${key}` });
  await sys.t
    .db('orders')
    .where({ id: row.id })
    .update({
      status: o.status,
      channel_id: ch.channelId,
      channel_type: ch.channelType,
      mch_id: ch.mchId,
      provider_trade_no: o.payTime ? `PT-${key}` : null,
      pay_time: o.payTime ?? null,
      notify_status: o.notify ?? 'NONE',
      created_at: o.createdAt,
      updated_at: o.payTime ?? o.createdAt,
    });
  ids[key] = row.id;
}

/**
 * Notification attempts of a paid order: `acks[i]` says whether attempt i+1 (sent `offsets[i]` s after payment) was
 * acknowledged. Written by the one attempt writer, which also keeps the order's notification health columns.
 */
async function attempts(key: string, payTime: Date, offsets: number[], acks: boolean[]): Promise<void> {
  for (const [i, s] of offsets.entries()) {
    const sentAt = new Date(payTime.getTime() + s * 1000);
    await recordNotifyAttempt(
      sys.t.db,
      { orderId: ids[key] },
      { attempt: i + 1, trigger: 'SCHEDULE', scheduledAt: sentAt.getTime(), httpStatus: acks[i] ? 200 : 500, latencyMs: 35, acknowledged: acks[i], error: acks[i] ? null : 'HTTP 500', startedAt: sentAt.getTime() },
    );
  }
}

async function seed(): Promise<void> {
  shop = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native' }, { channelType: 'ali-pay', sceneCode: 'h5' }] });
  mall = await seedApp(sys.t, { channels: [{ channelType: 'wx-pay', sceneCode: 'jsapi' }] });
  await sys.t.db('apps').where({ app_id: shop.appId }).update({ name: '城市便利店' });
  await sys.t.db('apps').where({ app_id: mall.appId }).update({ name: '优选商城' });
  [native, h5] = shop.channels;
  [jsapi] = mall.channels;

  // D1: two paid (native); D2: one paid + exhausted (native), one paid (h5), one abandoned (h5);
  // D3: one paid without notify URL (native), one closed (native), one paid at the other app (jsapi).
  await order('O1', shop, native, { amount: 10_000, status: 'SUCCESS', createdAt: at(D1, '09:58'), payTime: at(D1, '10:00'), notify: 'ACKED' });
  await order('O2', shop, native, { amount: 2_345, status: 'SUCCESS', createdAt: at(D1, '13:59'), payTime: at(D1, '14:00'), notify: 'ACKED' });
  await order('O3', shop, native, { amount: 5_000, status: 'SUCCESS', createdAt: at(D2, '09:00'), payTime: at(D2, '09:01'), notify: 'NOTIFY_EXHAUSTED' });
  await order('O4', shop, h5, { amount: 30_000, status: 'SUCCESS', createdAt: at(D2, '11:00'), payTime: at(D2, '11:02'), notify: 'ACKED' });
  await order('O7', shop, h5, { amount: 4_200, status: 'PAYING', createdAt: at(D2, '15:00') });
  await order('O5', shop, native, { amount: 888, status: 'SUCCESS', createdAt: at(D3, '08:00'), payTime: at(D3, '08:01') });
  await order('O8', shop, native, { amount: 1_999, status: 'CLOSED', createdAt: at(D3, '12:00') });
  await order('O6', mall, jsapi, { amount: 1_234, status: 'SUCCESS', createdAt: at(D3, '16:00'), payTime: at(D3, '16:01'), notify: 'ACKED' });

  await attempts('O1', at(D1, '10:00'), [2], [true]); // first attempt acked after 2 s
  await attempts('O2', at(D1, '14:00'), [1, 16], [false, true]); // acked at the second attempt, 16 s
  await attempts('O3', at(D2, '09:01'), [1, 16], [false, false]); // never acked (exhausted)
  await attempts('O4', at(D2, '11:02'), [4], [true]); // 4 s
  await attempts('O6', at(D3, '16:01'), [1], [true]); // 1 s

  // A SUCCESS refund of ¥15.00 of O1, refunded on D2.
  const [refund] = await sys.t
    .db('refunds')
    .insert({
      app_id: shop.appId,
      out_refund_no: 'INS-R1',
      order_id: ids.O1,
      source: 'MERCHANT',
      amount: 1_500,
      reason: '部分退货',
      request_hash: 'r'.repeat(64),
      channel_id: native.channelId,
      channel_type: native.channelType,
      scene_code: native.sceneCode,
      config_id: native.configId,
      mch_id: native.mchId,
      provider_out_trade_no: providerOutTradeNo(ids.O1, native.channelId),
      trade_amount: 10_000,
      status: 'SUCCESS',
      refund_time: at(D2, '10:30'),
      notify_status: 'NONE',
      workflow_id: `refund:${shop.appId}:INS-R1`,
      created_at: at(D2, '10:29'),
      updated_at: at(D2, '10:30'),
    })
    .returning('id');
  refundId = Number(refund.id);
  await sys.t.db('orders').where({ id: ids.O1 }).update({ refund_reserved: 1_500 });

  // Reconciliation: D1 of the ali-pay config done with 3 discrepancies, D2 failed, D3 of the wx-pay config done with 1.
  const run = async (key: string, r: Record<string, unknown>) => {
    const [row] = await sys.t.db('reconciliation_runs').insert(r).returning('id');
    runIds[key] = Number(row.id);
  };
  await run('D1', {
    day: D1, config_id: native.configId, channel_type: 'ali-pay', status: 'DONE', trigger: 'SCHEDULE', requested_by: null, attempt: 1,
    provider_payment_count: 2, provider_payment_amount: 12_000, provider_refund_count: 1, provider_refund_amount: 1_500,
    local_payment_count: 2, local_payment_amount: 12_345, local_refund_count: 0, local_refund_amount: 0,
    discrepancy_count: 3, workflow_id: WorkflowIds.reconciliation(D1, native.configId), started_at: at(D3, '03:00'), finished_at: at(D3, '03:01'),
  });
  await run('D2', {
    day: D2, config_id: native.configId, channel_type: 'ali-pay', status: 'FAILED', trigger: 'ADMIN', requested_by: TEST_ADMIN.username, attempt: 2,
    error: 'bill download failed: UNAVAILABLE', workflow_id: WorkflowIds.reconciliation(D2, native.configId), started_at: at(D3, '03:05'), finished_at: at(D3, '03:06'),
  });
  await run('D3', {
    day: D3, config_id: jsapi.configId, channel_type: 'wx-pay', status: 'DONE', trigger: 'SCHEDULE', requested_by: null, attempt: 1,
    provider_payment_count: 1, provider_payment_amount: 1_324, provider_refund_count: 0, provider_refund_amount: 0,
    local_payment_count: 1, local_payment_amount: 1_234, local_refund_count: 0, local_refund_amount: 0,
    discrepancy_count: 1, workflow_id: WorkflowIds.reconciliation(D3, jsapi.configId), started_at: at(today, '03:00'), finished_at: at(today, '03:01'),
  });
  const discrepancy = async (key: string, d: Record<string, unknown>) => {
    const [row] = await sys.t.db('reconciliation_discrepancies').insert(d).returning('id');
    discrepancyIds[key] = Number(row.id);
  };
  const d1 = { run_id: runIds.D1, day: D1, config_id: native.configId };
  await discrepancy('late', {
    ...d1, kind: 'MISSING_LOCAL', record_kind: 'PAYMENT', provider_out_trade_no: providerOutTradeNo(ids.O8, native.channelId), provider_trade_no: 'PT-LATE',
    order_id: ids.O8, provider_amount: 1_999, local_amount: null, local_status: 'CLOSED', resolution: 'EXCEPTION', detail: 'paid after the order ended: payment exception',
  });
  await discrepancy('missing', {
    ...d1, kind: 'MISSING_PROVIDER', record_kind: 'PAYMENT', provider_out_trade_no: providerOutTradeNo(ids.O2, native.channelId), provider_trade_no: 'PT-O2',
    order_id: ids.O2, provider_amount: null, local_amount: 2_345, local_status: 'SUCCESS', resolution: null,
  });
  await discrepancy('refund', {
    ...d1, kind: 'STATUS_MISMATCH', record_kind: 'REFUND', provider_out_trade_no: providerOutTradeNo(ids.O1, native.channelId), provider_trade_no: 'PT-O1', out_refund_no: 'R-INS-1',
    order_id: ids.O1, refund_id: refundId, provider_amount: 1_500, local_amount: 1_500, local_status: 'PROCESSING', resolution: null,
  });
  await discrepancy('amount', {
    run_id: runIds.D3, day: D3, config_id: jsapi.configId, kind: 'AMOUNT_MISMATCH', record_kind: 'PAYMENT', provider_out_trade_no: providerOutTradeNo(ids.O6, jsapi.channelId), provider_trade_no: 'PT-O6',
    order_id: ids.O6, provider_amount: 1_324, local_amount: 1_234, local_status: 'SUCCESS', resolution: 'EXCEPTION', detail: 'paid with another amount: payment exception',
  });
}

beforeAll(async () => {
  sys = await startTestSystem();
  await seed();
  browser = await launchBrowser();
  ({ context, page, problems } = await consolePage(browser, { acceptDownloads: true }));
}, 600_000);

afterAll(async () => {
  for (const id of startedWorkflows) await sys?.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await context?.close();
  await browser?.close();
  await sys?.stop();
});

afterEach(() => {
  expect(problems).toEqual([]);
});

test('log in: 对账 and 统计 are in the navigation, with icons; the failed run is counted', async () => {
  await logInToConsole(page, sys.apiUrl, TEST_ADMIN);
  for (const [route, label] of [['reconciliations', '对账'], ['statistics', '统计']]) {
    const link = page.locator(`a.nav-link[data-route="${route}"]`);
    await link.filter({ hasText: label }).waitFor();
    expect(await link.locator('svg.icon path').count()).toBe(1);
  }
  await page.locator('a.nav-link[data-route="reconciliations"] .nav-count', { hasText: '1' }).waitFor();
});

test('#/statistics: the totals of the last 30 days and one bar / point per day in every chart', async () => {
  await page.click('a.nav-link[data-route="statistics"]');
  await page.locator('.page-title', { hasText: '统计' }).waitFor();
  await page.locator('#stats-totals').waitFor();
  // Defaults: the 30 days up to today (Asia/Shanghai), shown in the date inputs.
  expect(await page.locator('#stats-to').inputValue()).toBe(today);
  expect(await page.locator('#stats-from').inputValue()).toBe(shanghaiDay(Date.parse(`${today}T12:00:00+08:00`) - 29 * DAY_MS));
  await page.locator('.tabs .tab.active', { hasText: '近 30 天' }).waitFor();

  // 8 orders created, 6 paid (10000 + 2345 + 5000 + 30000 + 888 + 1234 fen), one ¥15.00 refund, O3 exhausted;
  // attempt 1 made for O1 O2 O3 O4 O6, acknowledged for O1 O4 O6.
  expect(await statValue('stat-paid-amount')).toBe('¥494.67');
  expect(await page.locator('#stat-paid-amount').getAttribute('data-value')).toBe('49467');
  expect(await statValue('stat-paid-count')).toBe('6');
  expect(await page.locator('#stat-paid-count .stat-hint').textContent()).toBe('创建订单 8 笔');
  expect(await statValue('stat-success-rate')).toBe('75.0%');
  expect(await statValue('stat-refund-amount')).toBe('¥15.00');
  expect(await page.locator('#stat-refund-amount .stat-hint').textContent()).toBe('1 笔退款成功');
  expect(await statValue('stat-first-ack')).toBe('60.0%');
  expect(await statValue('stat-exhausted')).toBe('1');

  // Charts: SVG with role=img and a label, drawn with DOM APIs.
  for (const id of ['chart-paid-amount', 'chart-orders', 'chart-refunds', 'chart-success-rate', 'chart-notify', 'chart-ack-p95']) {
    const chart = page.locator(`svg#${id}`);
    expect(await chart.getAttribute('role')).toBe('img');
    expect((await chart.getAttribute('aria-label'))!.length).toBeGreaterThan(10);
    expect(await chart.locator('rect.chart-hit').count()).toBe(30);
    expect(await chart.locator('text.chart-day').count()).toBeGreaterThanOrEqual(5);
    expect(await chart.locator('text.chart-tick').count()).toBeGreaterThanOrEqual(2);
  }
  const title = (sel: string) => page.locator(sel).locator('title').textContent();
  expect(await page.locator('#chart-paid-amount rect.chart-bar').count()).toBe(30);
  expect(await title(`#chart-paid-amount rect.chart-bar[data-day="${D1}"]`)).toBe(`${D1} 支付金额：¥123.45`);
  expect(await title(`#chart-paid-amount rect.chart-bar[data-day="${D2}"]`)).toBe(`${D2} 支付金额：¥350.00`);
  expect(await title(`#chart-paid-amount rect.chart-bar[data-day="${D3}"]`)).toBe(`${D3} 支付金额：¥21.22`);
  expect(await page.locator(`#chart-paid-amount rect.chart-bar[data-day="${today}"]`).getAttribute('data-value')).toBe('0');
  // Taller bar, larger amount.
  const h = async (day: string) => Number(await page.locator(`#chart-paid-amount rect.chart-bar[data-day="${day}"]`).getAttribute('height'));
  expect(await h(D2)).toBeGreaterThan(await h(D1));
  expect(await h(D1)).toBeGreaterThan(await h(D3));
  expect(await page.locator('#chart-paid-amount text.chart-tick', { hasText: '¥0' }).count()).toBe(1);

  expect(await page.locator('#chart-orders circle.chart-point').count()).toBe(60);
  expect(await title(`#chart-orders [data-series="created"] circle[data-day="${D2}"]`)).toBe(`${D2} 创建订单：3 笔`);
  expect(await title(`#chart-orders [data-series="paidCount"] circle[data-day="${D2}"]`)).toBe(`${D2} 支付成功：2 笔`);
  expect(await page.locator('#chart-refunds rect.chart-bar').count()).toBe(30);
  expect(await title(`#chart-refunds rect.chart-bar[data-day="${D2}"]`)).toBe(`${D2} 退款金额：¥15.00`);

  // Rates only where there is something to divide by.
  expect(await page.locator('#chart-success-rate circle.chart-point').count()).toBe(3);
  expect(await title(`#chart-success-rate circle[data-day="${D1}"]`)).toBe(`${D1} 支付成功率：100.0%`);
  expect(await title(`#chart-success-rate circle[data-day="${D2}"]`)).toBe(`${D2} 支付成功率：66.7%`);
  expect(await page.locator('#chart-success-rate text.chart-tick', { hasText: '100%' }).count()).toBe(1);
  expect(await page.locator('#chart-notify [data-series="firstAttemptAckRate"] circle').count()).toBe(3);
  expect(await title(`#chart-notify [data-series="firstAttemptAckRate"] circle[data-day="${D1}"]`)).toBe(`${D1} 首次通知确认率：50.0%`);
  expect(await title(`#chart-notify [data-series="firstAttemptAckRate"] circle[data-day="${D3}"]`)).toBe(`${D3} 首次通知确认率：100.0%`);
  expect(await page.locator('#chart-notify rect.chart-bar').count()).toBe(30);
  expect(await page.locator(`#chart-notify rect.chart-bar[data-day="${D2}"]`).getAttribute('data-value')).toBe('1');
  expect(await title(`#chart-notify rect.chart-bar[data-day="${D2}"]`)).toBe(`${D2} 通知失败：1 笔`);
  // p95 of [2 s, 16 s] (percentile_cont) = 15.3 s; D2 only O4 (4 s); D3 O6 (1 s).
  expect(await page.locator('#chart-ack-p95 circle.chart-point').count()).toBe(3);
  expect(await title(`#chart-ack-p95 circle[data-day="${D1}"]`)).toBe(`${D1} P95 确认耗时：15.3 秒`);
  expect(await title(`#chart-ack-p95 circle[data-day="${D2}"]`)).toBe(`${D2} P95 确认耗时：4.0 秒`);
  // The day column's tooltip carries every value of the day.
  expect(await title(`#chart-notify rect.chart-hit[data-day="${D2}"]`)).toBe(`${D2}\n通知失败：1 笔\n首次通知确认率：50.0%`);

  // The daily table lists the three active days, newest first.
  const rows = page.locator('.card', { hasText: '每日明细' }).locator('tbody tr');
  expect(await rows.count()).toBe(3);
  expect(await rows.first().getAttribute('data-id')).toBe(D3);
  expect(await page.locator(`tr[data-id="${D1}"]`).textContent()).toContain('15.3 秒');
  await expectNoInlineCode();
  await shot('01-statistics');
});

test('statistics filters: one app, then one scene, then a date range', async () => {
  await page.locator('#stats-app').selectOption(shop.appId);
  await page.click('#stats-search');
  await page.waitForURL((u) => u.hash.includes(`appId=${shop.appId}`));
  // Without 优选商城's O6 (¥12.34): 7 created, 5 paid, attempt 1 made for O1–O4, acknowledged for O1 O4.
  await page.locator('#stat-paid-amount .stat-value', { hasText: '¥482.33' }).waitFor();
  expect(await statValue('stat-paid-count')).toBe('5');
  expect(await page.locator('#stat-paid-count .stat-hint').textContent()).toBe('创建订单 7 笔');
  expect(await statValue('stat-success-rate')).toBe('71.4%');
  expect(await statValue('stat-refund-amount')).toBe('¥15.00');
  expect(await statValue('stat-first-ack')).toBe('50.0%');
  expect(await statValue('stat-exhausted')).toBe('1');
  expect(await page.locator('#chart-success-rate circle.chart-point').count()).toBe(3);

  await page.locator('#stats-scene').selectOption('h5');
  await page.click('#stats-search');
  await page.waitForURL((u) => u.hash.includes('sceneCode=h5'));
  // H5 only: O4 paid (¥300.00), O7 abandoned; the refund was native.
  await page.locator('#stat-paid-amount .stat-value', { hasText: '¥300.00' }).waitFor();
  expect(await statValue('stat-paid-count')).toBe('1');
  expect(await page.locator('#stat-paid-count .stat-hint').textContent()).toBe('创建订单 2 笔');
  expect(await statValue('stat-success-rate')).toBe('50.0%');
  expect(await statValue('stat-refund-amount')).toBe('¥0.00');
  expect(await statValue('stat-first-ack')).toBe('100.0%');
  expect(await statValue('stat-exhausted')).toBe('0');
  expect(await page.locator('#chart-success-rate circle.chart-point').count()).toBe(1);
  expect(await page.locator('#stats-app').inputValue()).toBe(shop.appId);
  await shot('02-statistics-app-scene');

  // A bad range never leaves the browser.
  await page.locator('#stats-from').fill(D3);
  await page.locator('#stats-to').fill(D1);
  await page.click('#stats-search');
  await page.locator('#stats-error', { hasText: '开始日期不能晚于结束日期' }).waitFor();

  await page.locator('#stats-scene').selectOption('');
  await page.locator('#stats-from').fill(D1);
  await page.locator('#stats-to').fill(D3);
  await page.click('#stats-search');
  await page.waitForURL((u) => u.hash.includes(`from=${D1}`) && !u.hash.includes('sceneCode'));
  await page.locator('#stat-paid-amount .stat-value', { hasText: '¥482.33' }).waitFor();
  expect(await page.locator('#chart-paid-amount rect.chart-bar').count()).toBe(3);
  const values = await page.locator('#chart-paid-amount rect.chart-bar').evaluateAll((els) => els.map((e) => e.getAttribute('data-value')));
  expect(values).toEqual(['12345', '35000', '888']);
  expect(await page.locator('#chart-paid-amount text.chart-day').allTextContents()).toEqual([D1.slice(5), D2.slice(5), D3.slice(5)]);
  await expectNoInlineCode();
  await shot('03-statistics-range');
});

test('CSV export: the orders of the range stream to 100% and download as header + 7 rows', async () => {
  const answer = page.waitForResponse((r) => r.url().includes('/api/cashier-desk-admin/exports/orders.csv'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-orders')]);
  const res = await answer;
  expect(res.headers()['x-total-rows']).toBe('7');
  const url = new URL(res.url());
  expect(Object.fromEntries(url.searchParams)).toEqual({ from: D1, to: D3, appId: shop.appId });
  await page.locator('#export-status[data-state="done"]').waitFor();
  expect(await page.locator('#export-progress').evaluate((e) => (e as unknown as { value: number }).value)).toBe(100);
  expect(await page.locator('#export-status').getAttribute('data-rows')).toBe('7');
  expect(await page.locator('#export-status').textContent()).toContain('7 / 7 行');
  expect(await page.locator('#export-status').textContent()).toContain('100%');
  expect(download.suggestedFilename()).toBe(`orders-${D1}-${D3}.csv`);
  expect(await page.locator('#export-file').getAttribute('href')).toMatch(/^blob:/);

  const lines = readFileSync((await download.path())!, 'utf8').split('\r\n').filter((l) => l !== '');
  expect(lines).toHaveLength(8);
  expect(lines[0].split(',').slice(0, 4)).toEqual(['id', 'app_id', 'out_trade_no', 'amount']);
  const rows = lines.slice(1).map((l) => l.split(','));
  expect(rows.map((r) => r[2]).sort()).toEqual(['INS-O1', 'INS-O2', 'INS-O3', 'INS-O4', 'INS-O5', 'INS-O7', 'INS-O8']);
  expect(new Set(rows.map((r) => r[1]))).toEqual(new Set([shop.appId]));
  expect(await sys.t.db('admin_audit_log').where({ action: 'export.orders', outcome: 'OK' })).toHaveLength(1);
  await shot('04-export-orders');

  // Refunds: the one refund, created on D2.
  const [refunds] = await Promise.all([page.waitForEvent('download'), page.click('#export-refunds')]);
  await page.locator('#export-status[data-state="done"]', { hasText: '1 / 1 行' }).waitFor();
  const refundLines = readFileSync((await refunds.path())!, 'utf8').split('\r\n').filter((l) => l !== '');
  expect(refundLines).toHaveLength(2);
  expect(refundLines[1]).toContain('INS-R1');
});

test('#/reconciliations: runs with their totals and discrepancy counts; filters by status and config', async () => {
  await page.click('a.nav-link[data-route="reconciliations"]');
  await page.locator('.page-title', { hasText: '对账' }).waitFor();
  const runRow = (key: string) => page.locator(`tbody tr[data-id="${runIds[key]}"]`);
  await runRow('D1').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(3);
  // Newest day first.
  expect(await page.locator('tbody tr').first().getAttribute('data-id')).toBe(String(runIds.D3));

  const d1 = runRow('D1');
  expect(await d1.locator('[data-status]').first().getAttribute('data-status')).toBe('DONE');
  const d1Text = (await d1.textContent())!;
  for (const s of [D1, '已完成', '每日定时', '支付 2 笔 · ¥120.00', '支付 2 笔 · ¥123.45', '退款 1 笔 · ¥15.00', '退款 0 笔 · ¥0.00', '3 条']) expect(d1Text).toContain(s);
  // The side that disagrees is marked.
  expect(await d1.locator('.cell-diff').count()).toBeGreaterThan(0);
  expect(await d1.locator('a.ext-link').getAttribute('href')).toContain(encodeURIComponent(WorkflowIds.reconciliation(D1, native.configId)));
  const d2 = runRow('D2');
  expect(await d2.locator('[data-status]').first().getAttribute('data-status')).toBe('FAILED');
  expect(await d2.textContent()).toContain('bill download failed');
  expect(await d2.textContent()).toContain('管理员发起');
  expect(await runRow('D3').textContent()).toContain('微信支付');
  await expectNoInlineCode();
  await shot('05-reconciliations');

  await page.locator('#run-filter-status').selectOption('FAILED');
  await page.click('#run-search');
  await page.waitForURL((u) => u.hash.includes('status=FAILED'));
  await page.locator('.pager-info', { hasText: '共 1 条' }).waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  expect(await page.locator('tbody tr').first().getAttribute('data-id')).toBe(String(runIds.D2));

  await page.locator('#run-filter-status').selectOption('');
  await page.locator('#run-filter-config').selectOption(String(jsapi.configId));
  await page.click('#run-search');
  await page.waitForURL((u) => u.hash.includes(`configId=${jsapi.configId}`) && !u.hash.includes('status='));
  await page.locator('.pager-info', { hasText: '共 1 条' }).waitFor();
  await runRow('D3').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);

  await page.locator('#run-filter-config').selectOption('');
  await page.locator('#run-filter-day').fill(D2);
  await page.click('#run-search');
  await page.waitForURL((u) => u.hash.includes(`day=${D2}`));
  await page.locator('.pager-info', { hasText: '共 1 条' }).waitFor();
  await runRow('D2').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
});

test('discrepancies: Chinese kinds, resolutions and hints, links to the order and refund, filters', async () => {
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/reconciliations`);
  await page.locator(`tbody tr[data-id="${runIds.D1}"] a`, { hasText: '3 条' }).click();
  await page.waitForURL((u) => u.hash.includes(`runId=${runIds.D1}`));
  const row = (key: string) => page.locator(`tbody tr[data-id="${discrepancyIds[key]}"]`);
  await page.locator('tbody tr [data-kind="MISSING_LOCAL"]').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(3);
  expect(await page.locator('#disc-filter-run').inputValue()).toBe(String(runIds.D1));

  expect(await row('late').locator('[data-kind]').textContent()).toBe('本地缺失');
  expect(await row('late').locator('[data-status="CLOSED"]').textContent()).toBe('已关闭');
  expect(await row('late').locator('[data-status="EXCEPTION"]').textContent()).toBe('已转异常支付');
  expect(await row('late').textContent()).toContain('已转异常支付');
  expect(await row('late').textContent()).toContain('¥19.99');
  expect(await row('late').locator('td.col-hint').textContent()).toContain('已自动向渠道查询');
  expect(await row('late').locator('a[data-link="order"]').getAttribute('href')).toBe(`#/orders/${ids.O8}`);
  expect(await row('missing').locator('[data-kind]').textContent()).toBe('渠道缺失');
  expect(await row('missing').locator('[data-status="OPEN"]').textContent()).toBe('待处理');
  expect(await row('missing').locator('td.col-hint').textContent()).toContain('在渠道商户后台查询');
  expect(await row('refund').locator('[data-kind]').textContent()).toBe('状态不符');
  expect(await row('refund').locator('[data-record-kind]').textContent()).toBe('退款');
  expect(await row('refund').textContent()).toContain('R-INS-1');
  expect(await row('refund').textContent()).toContain('退款中');
  expect(await row('refund').locator('a[data-link="refund"]').getAttribute('href')).toBe(`#/refunds/${refundId}`);
  await expectNoInlineCode();
  await shot('06-discrepancies');

  await page.locator('#disc-filter-kind').selectOption('MISSING_PROVIDER');
  await page.click('#disc-search');
  await page.waitForURL((u) => u.hash.includes('kind=MISSING_PROVIDER'));
  await page.locator('.pager-info', { hasText: '共 1 条' }).waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  await row('missing').waitFor();

  await page.locator('#disc-filter-kind').selectOption('');
  await page.locator('#disc-filter-record').selectOption('REFUND');
  await page.click('#disc-search');
  await page.waitForURL((u) => u.hash.includes('recordKind=REFUND'));
  await page.locator('.pager-info', { hasText: '共 1 条' }).waitFor();
  await row('refund').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);

  // Without the run: another day and config.
  await page.locator('#disc-filter-record').selectOption('');
  await page.locator('#disc-filter-run').fill('');
  await page.locator('#disc-filter-day').fill(D3);
  await page.click('#disc-search');
  await page.waitForURL((u) => u.hash.includes(`day=${D3}`) && !u.hash.includes('runId'));
  await page.locator('.pager-info', { hasText: '共 1 条' }).waitFor();
  await row('amount').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  expect(await row('amount').locator('[data-kind]').textContent()).toBe('金额不符');
  expect(await row('amount').textContent()).toContain('¥13.24');
  expect(await row('amount').textContent()).toContain('¥12.34');
  expect(await row('amount').locator('.cell-diff').count()).toBe(1);

  await page.locator('#disc-filter-kind').selectOption('STATUS_MISMATCH');
  await page.click('#disc-search');
  await page.getByText('没有符合条件的差异').waitFor();

  // The refund link opens the refund.
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/reconciliations/discrepancies?recordKind=REFUND`);
  await row('refund').locator('a[data-link="refund"]').click();
  await page.locator('.page-title', { hasText: '退款详情' }).waitFor();
  await page.locator('.detail-title h2', { hasText: 'INS-R1' }).waitFor();
});

test('reconcile a past day: accepted with its workflow id; again while it runs → 4090; today → 4000', async () => {
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/reconciliations`);
  await page.locator('#reconcile-form').waitFor();
  expect(await page.locator('#reconcile-day').inputValue()).toBe(D3);
  expect(await page.locator('#reconcile-day').getAttribute('max')).toBe(D3);
  const post = () => page.waitForResponse((r) => r.url().endsWith('/api/cashier-desk-admin/reconciliations') && r.request().method() === 'POST');

  // Today is not over: the server refuses (4000), the page says why.
  await page.locator('#reconcile-config').selectOption(String(native.configId));
  await page.locator('#reconcile-day').fill(today);
  let answer = post();
  await page.click('#reconcile-submit');
  expect(((await (await answer).json()) as { code: number }).code).toBe(4000);
  await page.locator('#reconcile-error', { hasText: '只能对已经结束的日期对账' }).waitFor();

  // A day long past (unique to this run: reconciliation workflow ids are day + config). Without a worker the
  // accepted run's workflow cannot make progress, so it is certainly still running for the second attempt.
  const day = shanghaiDay(Date.now() - randomInt(400, 4000) * DAY_MS);
  const workflowId = WorkflowIds.reconciliation(day, native.configId);
  startedWorkflows.add(workflowId);
  await sys.stopWorker();
  try {
    await page.locator('#reconcile-day').fill(day);
    answer = post();
    await page.click('#reconcile-submit');
    const accepted = (await (await answer).json()) as { code: number; data: { workflowId: string; workflowUrl: string } };
    expect(accepted.code).toBe(1000);
    expect(accepted.data.workflowId).toBe(workflowId);
    expect(JSON.parse((await answer).request().postData() ?? '{}')).toEqual({ day, configId: native.configId });
    const result = page.locator('#reconcile-result');
    await result.waitFor();
    expect(await result.getAttribute('data-workflow-id')).toBe(workflowId);
    expect(await result.textContent()).toContain(workflowId);
    expect(await result.locator('a.ext-link').getAttribute('href')).toContain(encodeURIComponent(workflowId));
    expect(await sys.t.db('admin_audit_log').where({ action: 'reconciliation.run', outcome: 'OK' })).toHaveLength(1);
    await shot('07-reconcile-started');

    await page.locator('#reconcile-config').selectOption(String(native.configId));
    await page.locator('#reconcile-day').fill(day);
    answer = post();
    await page.click('#reconcile-submit');
    const refused = (await (await answer).json()) as { code: number; msg: string };
    expect(refused.code).toBe(4090);
    expect(refused.msg).toContain('正在进行');
    await page.locator('#reconcile-error', { hasText: refused.msg }).waitFor();
    await expectNoInlineCode();
    await shot('08-reconcile-refused');
  } finally {
    await sys.startWorker();
  }

  // With a worker the run is recorded and reads the bill; the placeholder channel config is refused, so the run
  // fails, and the list follows without a reload.
  const run = await waitFor('the failed run of the day', async () => sys.t.db('reconciliation_runs').where({ day, config_id: native.configId, status: 'FAILED' }).first());
  const runRow = page.locator(`tbody tr[data-id="${run.id}"]`);
  await runRow.locator('[data-status="FAILED"]').waitFor();
  expect(await runRow.textContent()).toContain('管理员发起');
  expect(await runRow.textContent()).toContain(TEST_ADMIN.username);
  expect(await runRow.textContent()).toContain(run.error);
  expect(await runRow.locator('button[data-action="rerun"]').isDisabled()).toBe(false);
  await shot('09-reconcile-failed');
});

test('重新对账 on a finished run: confirmed in a dialog, the same run restarts as attempt 2 without its old discrepancies', async () => {
  const workflowId = WorkflowIds.reconciliation(D1, native.configId);
  startedWorkflows.add(workflowId);
  const row = page.locator(`tbody tr[data-id="${runIds.D1}"]`);
  await row.locator('button[data-action="rerun"]').click();
  await dialog().getByText('本次结果会替换该日此前的汇总与差异记录').waitFor();
  expect(await dialog().textContent()).toContain('差异 3 条');
  await shot('10-rerun-confirm');
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/cashier-desk-admin/reconciliations') && r.request().method() === 'POST');
  await dialog().locator('button.btn-primary', { hasText: '重新对账' }).click();
  const res = (await (await answer).json()) as { code: number; data: { workflowId: string } };
  expect(res).toMatchObject({ code: 1000, data: { workflowId } });
  expect(await dialog().count()).toBe(0);
  expect(await page.locator('#reconcile-result').getAttribute('data-workflow-id')).toBe(workflowId);
  // The same run row (one per day and config), restarted: its previous discrepancies are gone with the old
  // results, and the placeholder config's bill is refused, so this attempt fails.
  await row.filter({ hasText: '第 2 次对账' }).locator('[data-status="FAILED"]').waitFor();
  expect(await sys.t.db('reconciliation_discrepancies').where({ run_id: runIds.D1 })).toHaveLength(0);
  expect(await row.locator('[data-discrepancies]').count()).toBe(0);
  expect(await sys.t.db('admin_audit_log').where({ action: 'reconciliation.run', outcome: 'OK' })).toHaveLength(2);
  await shot('11-rerun-failed');

  await page.click('a.nav-link[data-route="audit"]');
  await page.locator('td', { hasText: '发起对账' }).first().waitFor();
  const text = await page.locator('main').innerText();
  for (const label of ['发起对账', '导出订单', '导出退款']) expect(text).toContain(label);
});
