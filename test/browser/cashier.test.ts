/**
 * The hosted cashier pages in headless Chromium, on the whole system (real API, worker, Temporal dev server,
 * PostgreSQL, real provider SDKs against the sandboxes). A merchant creates orders with the SDK and sends the
 * consumer to getPaymentListUrl; the consumer pays in the sandbox pages with the same browser; the merchant
 * gets its signed notification and the consumer lands on the merchant's return URL.
 *
 * Screenshots of every page at phone width go to test-results/screenshots (gitignored).
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import type { Browser, Page, Response as PwResponse } from 'playwright-core';
import type { ChannelCredentials } from '../../providers/types';
import { alipayClient } from '../../providers/alipay/client';
import { launchBrowser, phonePage, SCREENSHOT_DIR } from '../support/browser';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

interface Shop {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** The merchant's own web page the consumer returns to (returnUrl). */
async function startShop(): Promise<Shop> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '/');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>商户</title><h1 id="shop">商户订单页</h1></html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;
let shop: Shop;
let browser: Browser;
let aliCreds: ChannelCredentials;
let wxCreds: ChannelCredentials;
const pages: Page[] = [];

const ch = (type: string, scene: string) => app.channels.find((c) => c.channelType === type && c.sceneCode === scene)!.channelId;

beforeAll(async () => {
  sys = await startTestSystem();
  aliCreds = await sys.alipay.createMerchant();
  wxCreds = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, {
    channels: [
      { channelType: 'ali-pay', sceneCode: 'h5', creds: aliCreds },
      { channelType: 'ali-pay', sceneCode: 'native', creds: aliCreds },
      { channelType: 'ali-pay', sceneCode: 'app', creds: aliCreds },
      { channelType: 'wx-pay', sceneCode: 'native', creds: wxCreds },
      { channelType: 'wx-pay', sceneCode: 'h5', creds: wxCreds },
      { channelType: 'wx-pay', sceneCode: 'app', creds: wxCreds },
      { channelType: 'wx-pay', sceneCode: 'jsapi', creds: wxCreds },
    ],
  });
  await sys.t.db('apps').where({ app_id: app.appId }).update({ name: '拉拉优选商城' });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
  shop = await startShop();
  browser = await launchBrowser();
}, 900_000);

afterAll(async () => {
  for (const p of pages) await p.context().close().catch(() => {});
  await browser?.close();
  await shop?.close();
  await merchant?.close();
  await sys?.stop();
});

/** A phone page that records script errors, dialogs and CSP violations (these must never happen on our pages). */
async function openPhone(): Promise<{ page: Page; consoleErrors: string[] }> {
  const page = await phonePage(browser);
  pages.push(page);
  page.setDefaultTimeout(30_000);
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to|Uncaught/i.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    consoleErrors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return { page, consoleErrors };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `cashier-${name}.png`), fullPage: true });
}

async function createOrder(opts: { channelIds: number[]; amount?: number; orderTitle?: string; goodsDesc?: string; returnUrl?: string | null; expireSeconds?: number }) {
  const outTradeNo = `WEB${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({
    amount: opts.amount ?? 1999,
    goodsDesc: opts.goodsDesc ?? '月卡会员 · 30天',
    orderTitle: opts.orderTitle ?? '会员充值',
    outTradeNo,
    thirdPartyUser: 'user-42',
    ...(opts.returnUrl === null ? {} : { returnUrl: opts.returnUrl ?? `${shop.url}/orders/${outTradeNo}` }),
    ...(opts.expireSeconds ? { expireSeconds: opts.expireSeconds } : {}),
  });
  const url = await merchant.sdk.getPaymentListUrl(order, opts.channelIds);
  return { order, outTradeNo, url };
}

const isPayPost = (type: string, scene: string) => (r: PwResponse) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/api/cashier-desk/${type}/${scene}`;

async function notificationFor(outTradeNo: string) {
  return waitFor('merchant notification', async () => merchant.notifications.find((n) => n.outTradeNo === outTradeNo));
}

test('Alipay H5: cashier page → Alipay sandbox → signed sync return → result → merchant return URL, merchant notified', async () => {
  const { url, outTradeNo, order } = await createOrder({ channelIds: [ch('ali-pay', 'h5'), ch('wx-pay', 'native')] });
  expect(url).toBe(`${sys.apiUrl}/cashier-desk-web/payment?token=${order.token}`);
  const { page, consoleErrors } = await openPhone();
  const documents: Array<{ url: string; status: number }> = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document') documents.push({ url: r.url(), status: r.status() });
  });

  const res = await page.goto(url);
  expect(res?.status()).toBe(200);
  expect(await page.locator('#amount').innerText()).toBe('¥19.99');
  expect(await page.locator('#order-title').innerText()).toBe('会员充值');
  expect(await page.locator('#goods-desc').innerText()).toBe('月卡会员 · 30天');
  expect(await page.locator('.payee').innerText()).toBe('拉拉优选商城');
  expect(await page.locator('#countdown').innerText()).toMatch(/^(29|30):\d{2}$/);
  // The merchant's filtered list: exactly Alipay H5 and WeChat Native, with their brand names.
  expect(await page.locator('.method-name').allInnerTexts()).toEqual(['支付宝', '微信支付']);
  expect(await page.locator('input[name=channel]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-channel-type')}/${e.getAttribute('data-scene')}`))).toEqual([
    'ali-pay/h5',
    'wx-pay/native',
  ]);
  expect(await page.locator('#pay-btn').innerText()).toBe('支付宝支付 ¥19.99');
  await shot(page, '01-payment-page');

  await page.locator('#method-ali-pay-h5').click();
  await Promise.all([page.waitForURL((u) => u.origin === new URL(sys.alipay.url).origin), page.locator('#pay-btn').click()]);
  expect(await page.locator('[data-testid=amount]').innerText()).toBe('¥19.99');
  await shot(page, '02-alipay-sandbox-h5');

  await page.locator('[data-testid=confirm]').click();
  await page.locator('#result-title[data-status=SUCCESS]').waitFor();
  expect(await page.locator('.meta').innerText()).toContain(outTradeNo);
  await shot(page, '03-result-success-alipay');
  // The browser came back through the signed sync return, which the page verified (200, not the 400 page).
  const syncReturn = documents.find((d) => d.url.includes('/cashier-desk-web/alipay-return?') && d.url.includes('sign='));
  expect(syncReturn?.status).toBe(200);

  // Then on to the merchant's returnUrl (the result page counts down and follows /cashier-desk-web/return).
  await page.waitForURL(`${shop.url}/orders/${outTradeNo}`);
  expect(await page.locator('#shop').innerText()).toBe('商户订单页');

  const n = await notificationFor(outTradeNo);
  expect(n).toMatchObject({ resultCode: 'SUCCESS', amount: 1999, channelType: 'ali-pay', channelId: ch('ali-pay', 'h5') });
  expect((await merchant.sdk.queryOrder(outTradeNo)).resultCode).toBe('SUCCESS');
  expect(consoleErrors).toEqual([]);

  // The sync-return page decides nothing from its query string: a tampered copy is refused (400) ...
  const tampered = new URL(syncReturn!.url);
  tampered.searchParams.set('total_amount', '0.01');
  const page2 = (await openPhone()).page;
  expect((await page2.goto(tampered.toString()))?.status()).toBe(400);
  expect(await page2.locator('#state-title').getAttribute('data-state')).toBe('bad-return');
  await shot(page2, '04-alipay-return-rejected');
  // ... and a genuine return replayed with another order's token is not this order's return.
  const other = await createOrder({ channelIds: [ch('ali-pay', 'h5')] });
  const replay = new URL(syncReturn!.url);
  replay.searchParams.set('token', other.order.token);
  expect((await page2.goto(replay.toString()))?.status()).toBe(400);
  // The paid order's cashier link now shows the result, not a second payment.
  expect((await page2.goto(url))?.status()).toBe(200);
  expect(await page2.locator('#result-title').getAttribute('data-status')).toBe('SUCCESS');
  expect(await page2.locator('#pay-btn').count()).toBe(0);
});

test('WeChat H5: sandbox h5_url → back through the return page (no provider parameters) → result from the server', async () => {
  const { url, outTradeNo } = await createOrder({ channelIds: [ch('wx-pay', 'h5')], amount: 660 });
  const { page, consoleErrors } = await openPhone();
  await page.goto(url);
  await Promise.all([page.waitForURL((u) => u.origin === new URL(sys.wechat.url).origin), page.locator('#pay-btn').click()]);
  expect(await page.locator('#wx-amount').innerText()).toBe('¥6.60');
  await page.locator('#wx-pay-confirm').click();
  await page.locator('#result-title[data-status=SUCCESS]').waitFor();
  expect(await page.locator('.state').innerText()).toContain('微信支付');
  await page.waitForURL(`${shop.url}/orders/${outTradeNo}`);
  expect(await notificationFor(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', amount: 660, channelType: 'wx-pay', channelId: ch('wx-pay', 'h5') });
  expect(consoleErrors).toEqual([]);
});

test('WeChat Native: QR code rendered by us, scanned in the WeChat sandbox, cashier page turns to success', async () => {
  const { url, outTradeNo } = await createOrder({ channelIds: [ch('ali-pay', 'h5'), ch('wx-pay', 'native')], amount: 8800, orderTitle: '年度会员', goodsDesc: '年卡 · 365天' });
  const { page, consoleErrors } = await openPhone();
  await page.goto(url);
  await page.locator('#method-wx-pay-native').click();
  expect(await page.locator('#pay-btn').innerText()).toBe('微信支付 ¥88.00');
  const [prepay] = await Promise.all([page.waitForResponse(isPayPost('wx-pay', 'native')), page.locator('#pay-btn').click()]);
  const { data } = (await prepay.json()) as { data: { kind: string; codeUrl: string } };
  expect(data.kind).toBe('qr');
  expect(data.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);

  await page.locator('#qr-view').waitFor({ state: 'visible' });
  // (Polled from here: our CSP forbids the string evaluation page.waitForFunction would use.)
  await waitFor('QR image loaded', async () => page.evaluate('(() => { const i = document.getElementById("qr-img"); return i.complete && i.naturalWidth > 0; })()'));
  expect(await page.locator('#qr-title').innerText()).toBe('微信扫码支付');
  // The image is our own SVG encoding exactly the provider's code_url (no external QR service).
  const src = new URL((await page.locator('#qr-img').getAttribute('src'))!, sys.apiUrl);
  expect(src.origin + src.pathname).toBe(`${sys.apiUrl}/cashier-desk-web/qr.svg`);
  const svgRes = await fetch(src);
  expect(svgRes.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  expect(await svgRes.text()).toBe(await QRCode.toString(data.codeUrl, { type: 'svg', errorCorrectionLevel: 'H', margin: 0, color: { dark: '#111111ff', light: '#ffffffff' } }));
  await shot(page, '05-native-qr-wechat');

  // The consumer's phone: the WeChat sandbox's stand-in for scanning code_url, in the same browser.
  const phone = await page.context().newPage();
  await phone.goto(`${sys.wechat.url}/scan?code_url=${encodeURIComponent(data.codeUrl)}`);
  expect(await phone.locator('#wx-amount').innerText()).toBe('¥88.00');
  await shot(phone, '06-wechat-sandbox-scan');
  await phone.locator('#wx-pay-confirm').click();
  expect(await phone.locator('#wx-pay-result').getAttribute('data-result')).toBe('ok');
  await phone.close();

  // The cashier page polls the order summary and shows the result from the server.
  await page.locator('#result-title[data-status=SUCCESS]').waitFor();
  expect(new URL(page.url()).pathname).toBe('/cashier-desk-web/result');
  expect(await page.locator('.state').innerText()).toContain('微信支付');
  await shot(page, '07-result-success-wechat');
  await page.waitForURL(`${shop.url}/orders/${outTradeNo}`);

  const n = await notificationFor(outTradeNo);
  expect(n).toMatchObject({ resultCode: 'SUCCESS', amount: 8800, channelType: 'wx-pay', channelId: ch('wx-pay', 'native') });
  expect(consoleErrors).toEqual([]);
});

test('App scene: the processing page (支付处理中) waits until the WeChat app client pays, then shows the result; no returnUrl → done page', async () => {
  const { url, outTradeNo } = await createOrder({ channelIds: [ch('wx-pay', 'app')], amount: 1, orderTitle: '测试商品', goodsDesc: '一分钱测试', returnUrl: null });
  const { page, consoleErrors } = await openPhone();
  await page.goto(url);
  expect(await page.locator('.method-name').allInnerTexts()).toEqual(['微信支付']);
  // The page leaves for the processing page at once: read the pay answer on its way through (unchanged).
  let answer: { data: { kind: string; params: Record<string, string> } } | undefined;
  await page.route('**/api/cashier-desk/wx-pay/app', async (route) => {
    const response = await route.fetch();
    answer = (await response.json()) as typeof answer;
    await route.fulfill({ response });
  });
  await page.locator('#pay-btn').click();
  const data = (await waitFor('App pay answer', async () => answer)).data;
  expect(data.kind).toBe('app');
  await page.waitForURL((u) => u.pathname === '/cashier-desk-web/processing');
  expect(await page.locator('#state-title').innerText()).toBe('支付处理中');
  expect(await page.locator('.state-msg').innerText()).toContain('微信');
  await shot(page, '08-processing-app');

  // The WeChat app (sandbox stand-in) receives the signed App parameters and the buyer pays there.
  const p = data.params;
  const q = new URLSearchParams({ appid: p.appid, partnerid: p.partnerid, prepayid: p.prepayid, timestamp: p.timestamp, noncestr: p.noncestr, sign: p.sign });
  const client = await page.context().newPage();
  await client.goto(`${sys.wechat.url}/pay/prepay/${encodeURIComponent(p.prepayid)}?${q}`);
  expect(await client.locator('.meta').innerText()).toContain('sign 已验证');
  await shot(client, '09-wechat-sandbox-app');
  await client.locator('#wx-pay-confirm').click();
  expect(await client.locator('#wx-pay-result').getAttribute('data-result')).toBe('ok');
  await client.close();

  await page.locator('#result-title[data-status=SUCCESS]').waitFor();
  // No returnUrl: no redirect, a done note instead.
  expect(await page.locator('#return-btn').count()).toBe(0);
  expect(await page.locator('#done-note').innerText()).toContain('关闭此页面');
  await shot(page, '10-result-success-no-return');
  const n = await notificationFor(outTradeNo);
  expect(n).toMatchObject({ resultCode: 'SUCCESS', amount: 1, channelType: 'wx-pay' });
  // The final-redirect endpoint renders a done page when the merchant gave no returnUrl.
  const done = await page.goto(`${sys.apiUrl}/cashier-desk-web/return?token=${new URL(url).searchParams.get('token')}`);
  expect(done?.status()).toBe(200);
  expect(await page.locator('#state-title').getAttribute('data-state')).toBe('done');
  expect(consoleErrors).toEqual([]);
});

test('WeChat JSAPI: the page calls WeixinJSBridge.invoke(getBrandWCPayRequest) (sandbox stand-in, development only)', async () => {
  const { url, outTradeNo } = await createOrder({ channelIds: [ch('ali-pay', 'h5'), ch('wx-pay', 'jsapi')], amount: 2500 });
  const { page } = await openPhone();

  // Without an openid (not opened from WeChat) JSAPI cannot be chosen.
  await page.goto(url);
  expect(await page.locator('#method-wx-pay-jsapi input').isDisabled()).toBe(true);

  const res = await page.goto(`${url}&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o`);
  const wechatOrigin = new URL(sys.wechat.url).origin;
  const csp = res!.headers()['content-security-policy'];
  expect(csp).toContain(`script-src 'self' ${wechatOrigin}`);
  expect(await page.locator(`script[src="${wechatOrigin}/jsbridge.js"]`).count()).toBe(1);
  expect(await page.evaluate('typeof window.WeixinJSBridge?.invoke')).toBe('function');

  await page.locator('#method-wx-pay-jsapi').click();
  await Promise.all([page.waitForResponse(isPayPost('wx-pay', 'jsapi')), page.locator('#pay-btn').click()]);
  const sheet = page.frameLocator('#wechat-sandbox-frame');
  await sheet.locator('#wx-pay-confirm').waitFor();
  expect(await sheet.locator('.meta').innerText()).toContain('paySign 已验证');
  await shot(page, '11-jsapi-bridge-sheet');
  await sheet.locator('#wx-pay-confirm').click();

  await page.locator('#result-title[data-status=SUCCESS]').waitFor();
  await shot(page, '12-result-success-jsapi');
  await page.waitForURL(`${shop.url}/orders/${outTradeNo}`);
  expect(await notificationFor(outTradeNo)).toMatchObject({ resultCode: 'SUCCESS', amount: 2500, channelType: 'wx-pay' });
});

test('expired, unknown and malformed tokens render clear zh-CN pages with the right status, never a stack trace', async () => {
  const { page, consoleErrors } = await openPhone();
  const expired = await seedOrder(sys.t, { appId: app.appId, amount: 990, expireAt: new Date(Date.now() - 60_000) });
  const res = await page.goto(`${sys.apiUrl}/cashier-desk-web/payment?token=${expired.token}`);
  expect(res?.status()).toBe(410);
  expect(await page.locator('#state-title').innerText()).toBe('订单已过期');
  expect(await page.locator('.meta').innerText()).toContain('¥9.90');
  await shot(page, '13-expired');
  // The processing page and the QR endpoint agree: nothing is payable any more.
  expect((await page.goto(`${sys.apiUrl}/cashier-desk-web/processing?token=${expired.token}`))?.status()).toBe(410);
  expect((await fetch(`${sys.apiUrl}/cashier-desk-web/qr.svg?token=${expired.token}&c=${encodeURIComponent('weixin://wxpay/bizpayurl?pr=abc')}`)).status).toBe(410);

  // The live countdown runs on the page's monotonic clock (driven here by Playwright's fake clock) and locks
  // the page when it reaches zero.
  const live = await createOrder({ channelIds: [ch('ali-pay', 'h5'), ch('wx-pay', 'native')], expireSeconds: 120 });
  const clocked = (await openPhone()).page;
  await clocked.clock.install();
  await clocked.goto(live.url);
  expect(await clocked.locator('#countdown').innerText()).toMatch(/^(01:5\d|02:00)$/);
  await clocked.clock.runFor(61_000);
  expect(await clocked.locator('#countdown').innerText()).toMatch(/^00:5\d$/);
  await clocked.clock.runFor(60_000);
  await clocked.locator('#expired-note').waitFor({ state: 'visible' });
  expect(await clocked.locator('#countdown').innerText()).toBe('00:00');
  expect(await clocked.locator('#pay-btn').isDisabled()).toBe(true);
  expect(await clocked.locator('#pay-btn').innerText()).toBe('订单已过期');
  await shot(clocked, 'countdown-expired-in-page');

  // Expired after a trade was opened at a provider: the buyer may have paid at the last second, so the cashier
  // link shows the result page, which waits for the workflow's verdict instead of claiming "expired".
  const opened = await createOrder({ channelIds: [ch('ali-pay', 'native')] });
  const prepay = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: opened.order.token }) });
  expect(((await prepay.json()) as { code: number }).code).toBe(1000);
  await sys.t.db('orders').where({ token: opened.order.token }).update({ expire_at: new Date(Date.now() - 1000) });
  const pending = await page.goto(opened.url);
  expect(new URL(page.url()).pathname).toBe('/cashier-desk-web/result');
  expect(pending?.status()).toBe(200);
  expect(await page.locator('#result-title').getAttribute('data-status')).toBe('PENDING');
  await shot(page, 'result-pending');

  const unknown = await page.goto(`${sys.apiUrl}/cashier-desk-web/payment?token=${randomBytes(16).toString('hex').toUpperCase()}`);
  expect(unknown?.status()).toBe(404);
  expect(await page.locator('#state-title').innerText()).toBe('链接无效');
  await shot(page, '14-invalid-link');
  for (const bad of ['payment?token=abc', 'payment', "payment?token=1'%20or%201=1--", 'payment?token=A&token=B', 'result?token=%3Cscript%3E', 'no-such-page']) {
    const r = await page.goto(`${sys.apiUrl}/cashier-desk-web/${bad}`);
    expect(r?.status()).toBe(404);
    const text = await page.content();
    expect(text).toContain('链接无效');
    expect(text).not.toMatch(/\bat \S+ \(|Error:|node_modules|SELECT /);
  }
  expect(consoleErrors).toEqual([]);
});

test('security: strict CSP and headers, no inline script or handlers, escaped order text, no secrets', async () => {
  const evil = '<img src=x onerror=alert(1)>"\'';
  const { url, order } = await createOrder({ channelIds: [ch('ali-pay', 'native'), ch('wx-pay', 'h5')], orderTitle: evil, goodsDesc: '</script><script>alert(2)</script>' });
  const { page, consoleErrors } = await openPhone();
  const res = await page.goto(url);
  const headers = res!.headers();
  const csp = headers['content-security-policy'];
  const directives = Object.fromEntries(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
  expect(directives).toMatchObject({
    'default-src': "'self'",
    'script-src': "'self'",
    'style-src': "'self'",
    'img-src': "'self' data:",
    'connect-src': "'self'",
    'frame-ancestors': "'none'",
    'object-src': "'none'",
    'base-uri': "'none'",
  });
  // form-action lists our origin and the gateways of this order's channels (both sandboxes here).
  expect(directives['form-action'].split(' ').sort()).toEqual(["'self'", new URL(sys.alipay.url).origin, new URL(sys.wechat.url).origin].sort());
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['cache-control']).toBe('no-store');

  const markup = await page.content();
  // Evaluated in the page (a string: this project compiles without the DOM library).
  const inline = await page.evaluate(`({
    scripts: [...document.scripts].filter((s) => !s.src).length,
    handlers: [...document.querySelectorAll('*')].flatMap((el) => el.getAttributeNames().filter((n) => n.startsWith('on'))),
    styles: document.querySelectorAll('[style]').length,
  })`);
  expect(inline).toEqual({ scripts: 0, handlers: [], styles: 0 }); // every script is a file; no inline handlers or styles
  expect(await page.locator('#order-title').innerText()).toBe(evil);
  expect(await page.locator('#goods-desc').innerText()).toBe('</script><script>alert(2)</script>');
  // No secret or merchant credential reaches the page.
  for (const secret of [app.appKey, aliCreds.secrets.appPrivateKey.split('\n')[1], wxCreds.mchId, aliCreds.mchId]) expect(markup).not.toContain(secret);
  expect(consoleErrors).toEqual([]);
  await shot(page, '15-escaped-title');

  // Alipay Native from the same page: our QR, polling; a bogus QR payload is refused by the QR endpoint.
  const [prepay] = await Promise.all([page.waitForResponse(isPayPost('ali-pay', 'native')), page.locator('#pay-btn').click()]);
  const { data } = (await prepay.json()) as { data: { codeUrl: string } };
  await page.locator('#qr-view').waitFor({ state: 'visible' });
  expect(await page.locator('#qr-title').innerText()).toBe('支付宝扫码支付');
  await shot(page, '16-native-qr-alipay');
  expect((await fetch(`${sys.apiUrl}/cashier-desk-web/qr.svg?token=${order.token}&c=${encodeURIComponent('javascript:alert(1)')}`)).status).toBe(400);
  // Only this order's own provider payload is drawn: a well-formed foreign link is refused, the page's own works.
  expect((await fetch(`${sys.apiUrl}/cashier-desk-web/qr.svg?token=${order.token}&c=${encodeURIComponent('https://phishing.example/login')}`)).status).toBe(404);
  expect((await fetch(`${sys.apiUrl}/cashier-desk-web/qr.svg?token=${order.token}&c=${encodeURIComponent(data.codeUrl)}`)).status).toBe(200);
  // "更换支付方式" brings the method list back.
  await page.locator('#qr-back').click();
  expect(await page.locator('#methods').isVisible()).toBe(true);
  expect(data.codeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/qr\//);

  // Static assets: content-hashed and immutable.
  const css = await fetch(new URL((await page.locator('link[rel=stylesheet]').getAttribute('href'))!, sys.apiUrl));
  expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect(css.headers.get('content-type')).toMatch(/^text\/css/);
});

test('H5 form payloads: rebuilt field by field and posted to the provider gateway (allowed by CSP form-action)', async () => {
  const { url, order } = await createOrder({ channelIds: [ch('ali-pay', 'h5')], amount: 4321 });
  const { page, consoleErrors } = await openPhone();
  // A provider answering H5 with an auto-submitting form (alipay-sdk pageExec POST), signed for real: the
  // page must not insert it as HTML (its inline script would be blocked anyway) but submit its fields.
  const form = alipayClient(aliCreds).pageExec('alipay.trade.wap.pay', 'POST', {
    bizContent: { out_trade_no: `FORM${order.orderId}`, total_amount: '43.21', subject: '表单支付', product_code: 'QUICK_WAP_WAY' },
    returnUrl: `${sys.apiUrl}/cashier-desk-web/alipay-return?token=${order.token}`,
  });
  expect(form).toContain('<script>');
  await page.route('**/api/cashier-desk/ali-pay/h5', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ code: 1000, msg: '操作成功', data: { kind: 'form', html: form }, responseTime: Date.now() }) }),
  );
  await page.goto(url);
  await Promise.all([page.waitForURL((u) => u.origin === new URL(sys.alipay.url).origin), page.locator('#pay-btn').click()]);
  expect(await page.locator('[data-testid=amount]').innerText()).toBe('¥43.21');
  expect(await page.locator('[data-testid=subject]').innerText()).toBe('表单支付');
  expect(consoleErrors).toEqual([]);
});
