/**
 * The administrator console in headless Chromium on the whole system: log in, approve a registered app,
 * approve its channel-binding application (a signal to its ChannelBindingWorkflow), create a channel config,
 * rotate a key, and renotify a paid order whose merchant refuses notifications. No CSP violation or script
 * error may occur. Screenshots (1440×900) go to test-results/screenshots/admin-*.png.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createApp } from '../../db/queries/apps';
import { bindChannel } from '../../db/queries/app-channels';
import { createChannel } from '../../db/queries/channels';
import { createChannelConfig } from '../../db/queries/channel-configs';
import { launchBrowser, SCREENSHOT_DIR } from '../support/browser';
import { paidOrderWithRefusingMerchant, signedCall } from '../support/admin-client';
import { seedApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let merchant: SdkMerchant;
const problems: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `admin-${name}.png`), fullPage: true });

beforeAll(async () => {
  sys = await startTestSystem();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page = await context.newPage();
  page.on('console', (m) => {
    // The console's API answers 401/409… by design (session probe, wrong password); anything else is a problem.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
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

test('login: wrong password is refused, the right one opens the console', async () => {
  await page.goto(`${sys.apiUrl}/cashier-desk-admin`);
  await page.locator('#login-username').waitFor();
  await shot('01-login');
  await page.fill('#login-username', TEST_ADMIN.username);
  await page.fill('#login-password', 'wrong password');
  await page.click('#login-submit');
  await page.getByText('用户名或密码错误').waitFor();
  await page.fill('#login-password', TEST_ADMIN.password);
  await page.click('#login-submit');
  await page.locator('.page-title', { hasText: '概览' }).waitFor();
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === 'cashier_admin')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
});

test('approve a registered app', async () => {
  const reg = await fetch(`${sys.apiUrl}/api/cashier-desk-sa/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: '优选商城', notifyUrl: 'https://shop.example.com/pay/notify', returnUrl: 'https://shop.example.com/orders', contact: '李雷 13800000000' }),
  });
  const { data } = (await reg.json()) as { data: { appId: string; appKey: string } };
  await createApp(sys.t.db, sys.t.box, { name: '城市出行', status: 'APPROVED', notifyUrl: 'https://ride.example.com/notify', contact: '韩梅梅' });
  await page.reload();
  await page.locator('.stat', { hasText: '待审核应用' }).locator('.stat-value', { hasText: '1' }).waitFor();
  await shot('02-overview');

  await page.click('a.nav-link[data-route="apps"]');
  const row = page.locator('tr', { hasText: data.appId });
  await row.waitFor();
  await shot('03-apps');
  await row.locator('button[data-action="approve"]').click();
  await page.locator('dialog.modal').getByText('确认通过').click();
  await row.locator('[data-status="APPROVED"]').waitFor();
  expect((await sys.t.db('apps').where({ app_id: data.appId }).first()).status).toBe('APPROVED');
  await shot('04-app-approved');
  (globalThis as { registered?: { appId: string; appKey: string } }).registered = data;
});

test('approve a channel-binding application', async () => {
  const app = (globalThis as { registered?: { appId: string; appKey: string } }).registered!;
  const ali = await sys.alipay.createMerchant();
  const configId = await createChannelConfig(sys.t.db, sys.t.box, { ...ali, name: '支付宝-直连商户' });
  const h5 = await createChannel(sys.t.db, { configId, channelType: 'ali-pay', channelName: '支付宝H5', sceneCode: 'h5', sort: 1 });
  const native = await createChannel(sys.t.db, { configId, channelType: 'ali-pay', channelName: '支付宝扫码', sceneCode: 'native', sort: 2 });
  const applied = await signedCall(sys.apiUrl, app, 'POST', '/api/cashier-desk-sa/apply/binding-channel', { channelIds: [h5, native] });
  expect(applied.body.code).toBe(1000);

  await page.click('a.nav-link[data-route="bindings"]');
  const rows = page.locator('tbody tr');
  await rows.nth(1).waitFor();
  expect(await rows.count()).toBe(2);
  await shot('05-bindings-pending');
  const h5Row = page.locator('tr', { hasText: '支付宝H5' });
  await h5Row.locator('button[data-action="approve"]').click();
  await page.locator('dialog.modal textarea').fill('资料齐全，同意开通');
  await page.locator('dialog.modal').getByText('确认通过').click();
  await page.locator('.toast', { hasText: '绑定申请已通过' }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1); // only the native application is still pending
  const row = await sys.t.db('app_channels').where({ app_id: app.appId, channel_id: h5 }).first();
  expect(row).toMatchObject({ status: 'APPROVED', decided_by: TEST_ADMIN.username, decision_note: '资料齐全，同意开通' });
  await page.locator('.tab', { hasText: '已通过' }).click();
  await page.locator('tr', { hasText: '支付宝H5' }).locator('[data-status="APPROVED"]').waitFor();
  await shot('06-bindings-approved');
});

test('channel configs: create one; secrets are never shown back', async () => {
  await page.click('a.nav-link[data-route="channels"]');
  await page.click('#new-config');
  const dialog = page.locator('dialog.modal');
  await dialog.locator('select[name="channelType"]').selectOption('wx-pay');
  await dialog.locator('input[name="name"]').fill('微信支付-服务商');
  await dialog.locator('input[name="mchId"]').fill('1607531827');
  await dialog.locator('input[name="providerAppId"]').fill('wxd930ea5d5a258f4f');
  await dialog.locator('input[name="gatewayUrl"]').fill('https://api.mch.weixin.qq.com');
  await dialog.locator('textarea[name="secrets"]').fill('{"apiV3Key":"TOPSECRET-V3-KEY-0123456789abcdef","merchantCertSerial":"5157F09EFDC096DE15EBE81A47057A7232F1B8E1"}');
  await shot('07-config-form');
  await dialog.getByText('创建').click();
  const card = page.locator('.config-card', { hasText: '微信支付-服务商' });
  await card.waitFor();
  expect(await page.content()).not.toContain('TOPSECRET');
  await card.locator('.chip-secret', { hasText: 'apiV3Key' }).waitFor();
  await card.locator('select[name="sceneCode"]').selectOption('native');
  await card.locator('input[name="channelName"]').fill('微信扫码');
  await card.getByText('添加渠道').click();
  await page.locator('.config-card', { hasText: '微信支付-服务商' }).locator('td', { hasText: '微信扫码' }).waitFor();
  await shot('08-channel-configs');
});

test('rotate a key: the new key is shown once', async () => {
  const app = (globalThis as { registered?: { appId: string } }).registered!;
  await page.click('a.nav-link[data-route="apps"]');
  const row = page.locator('tr', { hasText: app.appId });
  await row.locator('button[data-action="rotate"]').click();
  await page.locator('dialog.modal').getByText('生成新密钥').click();
  const key = await page.locator('#new-app-key').textContent();
  expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
  await shot('09-new-key');
  await page.locator('dialog.modal').getByText('我已保存').click();
  await row.locator('.badge', { hasText: '轮换宽限中' }).waitFor();
});

test('renotify a paid order whose merchant refuses notifications', async () => {
  const seeded = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  await sys.t.db('apps').where({ app_id: seeded.appId }).update({ name: '城市便利店' });
  merchant = await startSdkMerchant(sys.gateway, seeded.appId, seeded.appKey);
  merchant.failNext = 1_000_000;
  const outTradeNo = `SHOP${randomBytes(4).toString('hex').toUpperCase()}`;
  const { orderId } = await paidOrderWithRefusingMerchant(sys, merchant.sdk, seeded.channels[0].channelId, outTradeNo, 12_800);
  await merchant.sdk.unifiedOrder({ amount: 4_500, goodsDesc: '咖啡', orderTitle: '拿铁 ×2', outTradeNo: `SHOP${randomBytes(4).toString('hex').toUpperCase()}`, thirdPartyUser: 'u-2' });
  await bindChannel(sys.t.db, seeded.appId, seeded.channels[0].channelId, 'APPROVED');

  await page.click('a.nav-link[data-route="orders"]');
  await page.fill('#filter-out-trade-no', outTradeNo);
  await page.click('#order-search');
  await page.locator('tbody tr').first().waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  await page.click('#filter-out-trade-no');
  await page.fill('#filter-out-trade-no', '');
  await page.click('#order-search');
  await page.locator('tbody tr').nth(1).waitFor();
  await shot('10-orders');

  await page.locator('tr', { hasText: outTradeNo }).getByText('详情').click();
  await page.locator('#renotify:not([disabled])').waitFor();
  const href = await page.locator('#temporal-link').getAttribute('href');
  expect(href).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(`payment:${seeded.appId}:${outTradeNo}`)}`);
  await shot('11-order-detail');
  await page.click('#renotify');
  await page.locator('dialog.modal').getByText('发送通知').click();
  await page.locator('.badge', { hasText: '手动重发' }).waitFor({ timeout: 15_000 });
  const attempts = await waitFor('renotify attempt', async () => {
    const a = await sys.t.db('notification_attempts').where({ order_id: orderId, trigger: 'RENOTIFY' });
    return a.length ? a : null;
  });
  expect(attempts[0]).toMatchObject({ acknowledged: false });
  await shot('12-order-renotified');
  await sys.client.workflow.getHandle(`payment:${seeded.appId}:${outTradeNo}`).signal('stopNotify');
});

test('audit log shows every action of the session', async () => {
  await page.click('a.nav-link[data-route="audit"]');
  await page.locator('td', { hasText: '重新通知' }).first().waitFor();
  const text = await page.locator('main').innerText();
  for (const label of ['登录', '审核通过应用', '通过绑定申请', '新建渠道配置', '新建渠道', '轮换密钥', '重新通知']) expect(text).toContain(label);
  expect(text).not.toContain('TOPSECRET');
  await shot('13-audit');
  await page.click('#logout');
  await page.locator('#login-username').waitFor();
  await page.getByText('您已安全退出').waitFor();
});
