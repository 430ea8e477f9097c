/**
 * Refunds and payment exceptions in the administrator console, in headless Chromium on the whole system: refund
 * part of a paid order through the order's refund form (yuan typed, integer fen sent), see an over-refund refused
 * with the server's 4090 message and nothing created, find the refund in #/refunds and open its detail; then an
 * AMOUNT_MISMATCH payment exception (inserted as the detector would) shows in #/exceptions and in the order
 * detail, and its refund button is accepted. No CSP violation or script error may occur.
 * Screenshots (1440×900) go to test-results/screenshots/admin-refunds-*.png.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { providerOutTradeNo } from '../../domain/order';
import { consolePage, inlineCodeOf, launchBrowser, logInToConsole, SCREENSHOT_DIR } from '../support/browser';
import { paidOrderWithRefusingMerchant } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let merchant: SdkMerchant;
let seeded: SeededApp;
let orderId: number;
let outTradeNo: string;
let problems: string[] = [];
const ORDER_FEN = 12_800;

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `admin-refunds-${name}.png`), fullPage: true });
const dialog = () => page.locator('dialog.modal[open]');

async function expectNoInlineCode(): Promise<void> {
  expect(await inlineCodeOf(page)).toEqual({ scripts: 0, handlers: [], styles: 0 });
}

async function openOrder(): Promise<void> {
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/orders/${orderId}`);
  await page.locator('#order-refunds').waitFor();
}

beforeAll(async () => {
  sys = await startTestSystem();
  browser = await launchBrowser();
  ({ context, page, problems } = await consolePage(browser));

  seeded = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  await sys.t.db('apps').where({ app_id: seeded.appId }).update({ name: '城市便利店' });
  merchant = await startSdkMerchant(sys.gateway, seeded.appId, seeded.appKey);
  outTradeNo = `RFD${randomBytes(4).toString('hex').toUpperCase()}`;
  ({ orderId } = await paidOrderWithRefusingMerchant(sys, merchant.sdk, seeded.channels[0].channelId, outTradeNo, ORDER_FEN));
}, 600_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await merchant?.close();
  await sys?.stop();
});

afterEach(() => {
  expect(problems).toEqual([]);
});

test('log in and open the paid order: nothing refunded, all of it refundable', async () => {
  await logInToConsole(page, sys.apiUrl, TEST_ADMIN);
  // The new pages are in the navigation.
  await page.locator('a.nav-link[data-route="refunds"]', { hasText: '退款管理' }).waitFor();
  await page.locator('a.nav-link[data-route="exceptions"]', { hasText: '异常支付' }).waitFor();

  await openOrder();
  expect(await page.locator('#refundable-amount').getAttribute('data-fen')).toBe(String(ORDER_FEN));
  expect(await page.locator('#refunded-amount').getAttribute('data-fen')).toBe('0');
  expect(await page.locator('#refundable-amount').textContent()).toBe('¥128.00');
  await page.locator('#order-refunds').getByText('暂无退款').waitFor();
  expect(await page.locator('#order-exceptions').count()).toBe(0);
  await expectNoInlineCode();
  await shot('01-order-before');
});

test('refund ¥0.50 through the modal: 50 fen exactly, the refund is listed and the refundable amount goes down', async () => {
  await page.click('#refund-open');
  // Bad amounts never leave the browser.
  await dialog().locator('#refund-amount').fill('0.505');
  await dialog().locator('#refund-reason').fill('客户申请部分退款');
  await dialog().getByText('确认退款').click();
  await dialog().locator('.form-error', { hasText: '最多两位小数' }).waitFor();
  await dialog().locator('#refund-amount').fill('0');
  await dialog().getByText('确认退款').click();
  await dialog().locator('.form-error', { hasText: '必须大于 0' }).waitFor();
  expect(await sys.t.db('refunds').where({ order_id: orderId })).toHaveLength(0);

  await dialog().locator('#refund-amount').fill('0.50');
  await shot('02-refund-form');
  await dialog().getByText('确认退款').click();
  await page.locator('.toast', { hasText: '¥0.50' }).waitFor();
  expect(await dialog().count()).toBe(0);

  const row = page.locator('#order-refunds tbody tr').first();
  await row.waitFor();
  const rows = await sys.t.db('refunds').where({ order_id: orderId });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ amount: 50, source: 'ADMIN', created_by: TEST_ADMIN.username, reason: '客户申请部分退款', payment_exception_id: null });
  expect(rows[0].out_refund_no).toMatch(/^admin:web-[0-9a-f]{24}$/);
  expect(['PROCESSING', 'SUCCESS']).toContain(await row.locator('[data-status]').first().getAttribute('data-status'));
  expect(await row.textContent()).toContain(rows[0].out_refund_no);
  expect(await row.textContent()).toContain('¥0.50');
  expect(await row.locator('[data-source]').getAttribute('data-source')).toBe('ADMIN');
  expect(await row.locator('a.ext-link').getAttribute('href')).toContain(encodeURIComponent(rows[0].workflow_id));
  expect(await page.locator('#refundable-amount').getAttribute('data-fen')).toBe(String(ORDER_FEN - 50));
  expect(await page.locator('#refundable-amount').textContent()).toBe('¥127.50');
  const audit = await sys.t.db('admin_audit_log').where({ action: 'order.refund', outcome: 'OK' });
  expect(audit).toHaveLength(1);
  await shot('03-order-refunded');
  (globalThis as { outRefundNo?: string }).outRefundNo = rows[0].out_refund_no;
});

test('an over-refund shows the server 4090 message and creates nothing', async () => {
  await openOrder();
  await page.click('#refund-open');
  await dialog().locator('#refund-all').click();
  expect(await dialog().locator('#refund-amount').inputValue()).toBe('127.50');
  await dialog().locator('#refund-amount').fill('127.51');
  await dialog().locator('#refund-reason').fill('超额退款');
  const answer = page.waitForResponse((r) => r.url().endsWith(`/api/cashier-desk-admin/orders/${orderId}/refunds`) && r.request().method() === 'POST');
  await dialog().getByText('确认退款').click();
  const refused = (await (await answer).json()) as { code: number; msg: string };
  expect(refused.code).toBe(4090);
  expect(JSON.parse((await answer).request().postData() ?? '{}')).toMatchObject({ amount: 12_751, reason: '超额退款' });
  // The server's own words, in the form (the amount left to refund is the server's, not the page's).
  const error = dialog().locator('.form-error');
  await error.filter({ hasText: refused.msg }).waitFor();
  expect(refused.msg).toContain('退款金额超过可退金额');
  await shot('04-over-refund');
  await dialog().getByText('取消').click();
  expect(await sys.t.db('refunds').where({ order_id: orderId })).toHaveLength(1);
  expect((await sys.t.db('orders').where({ id: orderId }).first()).refund_reserved).toBe(50);
  expect(await sys.t.db('admin_audit_log').where({ action: 'order.refund', outcome: 'FAILED' })).toHaveLength(1);
  await openOrder();
  expect(await page.locator('#refundable-amount').getAttribute('data-fen')).toBe(String(ORDER_FEN - 50));
});

test('#/refunds finds the refund by outRefundNo; its detail shows the refund and its notifications', async () => {
  const outRefundNo = (globalThis as { outRefundNo?: string }).outRefundNo!;
  const refund = await sys.t.db('refunds').where({ out_refund_no: outRefundNo }).first();
  await page.click('a.nav-link[data-route="refunds"]');
  await page.locator('.page-title', { hasText: '退款管理' }).waitFor();
  await page.locator('#filter-out-refund-no').fill(outRefundNo);
  await page.click('#refund-search');
  await page.waitForURL((u) => u.hash.includes('outRefundNo='));
  const row = page.locator(`tbody tr[data-id="${refund.id}"]`);
  await row.waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  expect(await row.textContent()).toContain(outTradeNo);
  expect(await row.textContent()).toContain('¥0.50');
  expect(await row.textContent()).toContain('城市便利店');
  await expectNoInlineCode();
  await shot('05-refunds');

  // Another filter finds nothing.
  await page.locator('select[name="source"]').selectOption('MERCHANT');
  await page.click('#refund-search');
  await page.getByText('没有符合条件的退款').waitFor();
  await page.locator('select[name="source"]').selectOption('ADMIN');
  await page.click('#refund-search');
  await row.waitFor();

  await row.locator('a', { hasText: outRefundNo }).click();
  await page.locator('.page-title', { hasText: '退款详情' }).waitFor();
  await page.locator('.detail-title h2', { hasText: outRefundNo }).waitFor();
  const main = await page.locator('main').innerText();
  expect(main).toContain('¥0.50');
  expect(main).toContain('客户申请部分退款');
  expect(main).toContain(outTradeNo);
  expect(main).toContain('通知记录');
  expect(['PROCESSING', 'SUCCESS']).toContain(await page.locator('.detail-title [data-status]').first().getAttribute('data-status'));
  expect(await page.locator('#temporal-link').getAttribute('href')).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(refund.workflow_id)}`);
  await expectNoInlineCode();
  await shot('06-refund-detail');
  await page.click('#refund-order-link');
  await page.locator('#order-refunds').waitFor();
});

test('an AMOUNT_MISMATCH payment exception shows in #/exceptions and in the order; its refund is accepted', async () => {
  const order = await sys.t.db('orders').where({ id: orderId }).first();
  const ch = seeded.channels[0];
  const [exception] = await sys.t
    .db('payment_exceptions')
    .insert({
      order_id: orderId,
      app_id: seeded.appId,
      kind: 'AMOUNT_MISMATCH',
      channel_id: ch.channelId,
      channel_type: ch.channelType,
      scene_code: ch.sceneCode,
      config_id: ch.configId,
      mch_id: ch.mchId,
      provider_out_trade_no: providerOutTradeNo(orderId, ch.channelId),
      provider_trade_no: order.provider_trade_no,
      amount: 30,
      order_status: 'SUCCESS',
      detected_by: 'query ali-pay',
      status: 'OPEN',
    })
    .returning('*');

  // A fresh load: the navigation counts OPEN exceptions when the console starts.
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/exceptions`);
  await page.reload();
  await page.locator('.page-title', { hasText: '异常支付' }).waitFor();
  await page.locator('a.nav-link[data-route="exceptions"] .nav-count', { hasText: '1' }).waitFor();
  const listRow = page.locator(`tbody tr[data-id="${exception.id}"]`);
  await listRow.waitFor();
  expect(await listRow.locator('[data-kind]').textContent()).toBe('金额不符');
  expect(await listRow.locator('[data-status]').first().getAttribute('data-status')).toBe('OPEN');
  expect(await listRow.textContent()).toContain(outTradeNo);
  expect(await listRow.textContent()).toContain('¥0.30');
  expect(await listRow.textContent()).toContain('待处理');
  await listRow.locator('button[data-action="refund-exception"]').waitFor();
  // Filters: another kind finds nothing, the order's trade number finds it.
  await page.locator('select[name="kind"]').selectOption('LATE_PAYMENT');
  await page.click('#exception-search');
  await page.getByText('没有符合条件的异常支付').waitFor();
  await page.locator('select[name="kind"]').selectOption('');
  await page.locator('#filter-out-trade-no').fill(outTradeNo);
  await page.click('#exception-search');
  await listRow.waitFor();
  await expectNoInlineCode();
  await shot('07-exceptions');

  await listRow.locator('a', { hasText: outTradeNo }).click();
  const orderRow = page.locator(`#order-exceptions tbody tr[data-id="${exception.id}"]`);
  await orderRow.waitFor();
  expect(await orderRow.locator('[data-kind]').textContent()).toBe('金额不符');
  await shot('08-order-exception');

  await orderRow.locator('button[data-action="refund-exception"]').click();
  await dialog().getByText('金额不符：请先与渠道账单核对').waitFor();
  await shot('09-exception-confirm');
  await dialog().getByText('确认退款').click();
  await page.locator('.toast', { hasText: '¥0.30' }).waitFor();
  expect(await dialog().count()).toBe(0);

  const refund = await waitFor('exception refund', async () => sys.t.db('refunds').where({ payment_exception_id: exception.id }).first());
  expect(refund).toMatchObject({ source: 'EXCEPTION', amount: 30, created_by: TEST_ADMIN.username, out_refund_no: `exception:${exception.id}`, notify_url: null });
  const stored = await sys.t.db('payment_exceptions').where({ id: exception.id }).first();
  expect(['REFUNDING', 'REFUNDED', 'REFUND_FAILED']).toContain(stored.status);
  expect(await sys.t.db('admin_audit_log').where({ action: 'exception.refund', target_id: String(exception.id) })).toHaveLength(1);

  // The order shows the exception's refund and new state; that refund does not touch the order's refundable amount.
  await page.locator(`#order-refunds tbody tr[data-id="${refund.id}"] [data-source="EXCEPTION"]`).waitFor();
  const refreshed = page.locator(`#order-exceptions tbody tr[data-id="${exception.id}"]`);
  const shown = await refreshed.locator('[data-status]').first().getAttribute('data-status');
  expect(['REFUNDING', 'REFUNDED', 'REFUND_FAILED']).toContain(shown);
  // Only a failed exception refund may be tried again.
  expect(await refreshed.locator('button[data-action="refund-exception"]').count()).toBe(shown === 'REFUND_FAILED' ? 1 : 0);
  expect(await page.locator('#refundable-amount').getAttribute('data-fen')).toBe(String(ORDER_FEN - 50));
  await shot('10-order-exception-refunded');
});

test('the audit log names the refunds', async () => {
  await page.click('a.nav-link[data-route="audit"]');
  // The list renders after its request: wait for both entries before reading the page.
  for (const label of ['订单退款', '异常支付退款']) await page.locator('td', { hasText: label }).first().waitFor();
  const text = await page.locator('main').innerText();
  for (const label of ['订单退款', '异常支付退款']) expect(text).toContain(label);
  await shot('11-audit');
});
