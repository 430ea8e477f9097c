/**
 * The cashier's QR endpoint (`/cashier-desk-web/qr.svg?token=…&c=…`) through the whole system (API, worker,
 * real SDKs against the sandboxes): it draws only the payload the provider returned for this order's Native
 * prepay. A token of an open order must not turn an arbitrary link into a QR code on our domain.
 */
import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import type { ChannelType, SceneCode } from '../../providers/types';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;

beforeAll(async () => {
  sys = await startTestSystem();
  const ali = await sys.alipay.createMerchant();
  const wx = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, {
    channels: [
      { channelType: 'ali-pay', sceneCode: 'native', creds: ali },
      { channelType: 'wx-pay', sceneCode: 'native', creds: wx },
    ],
  });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

const channelOf = (type: ChannelType, scene: SceneCode) => app.channels.find((c) => c.channelType === type && c.sceneCode === scene)!;

async function newOrder() {
  const order = await merchant.sdk.unifiedOrder({ amount: 1200, goodsDesc: '二维码', orderTitle: '扫码订单', outTradeNo: `Q${randomBytes(6).toString('hex')}`, thirdPartyUser: 'u-1' });
  await merchant.sdk.getPaymentListUrl(order, [channelOf('ali-pay', 'native').channelId, channelOf('wx-pay', 'native').channelId]);
  return order;
}

/** The cashier page's call: choose a Native channel, get the provider's QR payload. */
async function chooseNative(type: ChannelType, token: string): Promise<string> {
  const res = await fetch(`${sys.gateway}/${type}/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  const body = (await res.json()) as { code: number; data: { kind: string; codeUrl: string } };
  expect(body).toMatchObject({ code: 1000, data: { kind: 'qr' } });
  return body.data.codeUrl;
}

const qr = (token: string, c?: string) => fetch(`${sys.apiUrl}/cashier-desk-web/qr.svg?token=${token}${c === undefined ? '' : `&c=${encodeURIComponent(c)}`}`);
const svgOf = (content: string) => QRCode.toString(content, { type: 'svg', errorCorrectionLevel: 'H', margin: 0, color: { dark: '#111111ff', light: '#ffffffff' } });

test('a foreign link with a valid token is refused; the order’s own provider payload is drawn', async () => {
  const order = await newOrder();
  // Before any Native prepay the order has no QR code at all.
  const early = await qr(order.token, 'https://phishing.example/login');
  expect(early.status).toBe(404);
  expect(await early.text()).toBe('no such QR code for this order');

  const codeUrl = await chooseNative('wx-pay', order.token);
  expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
  const own = await qr(order.token, codeUrl);
  expect(own.status).toBe(200);
  expect(own.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  expect(await own.text()).toBe(await svgOf(codeUrl));
  // Without `c` the endpoint draws the order's own payload too.
  expect(await (await qr(order.token)).text()).toBe(await svgOf(codeUrl));

  for (const foreign of ['https://phishing.example/login', 'http://127.0.0.1:8301/qr/evil', `${codeUrl}x`, 'weixin://wxpay/bizpayurl?pr=someone-else']) {
    const res = await qr(order.token, foreign);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  }
  // Malformed content is still a 400 before anything else is looked at.
  expect((await qr(order.token, 'javascript:alert(1)')).status).toBe(400);
});

test('another order’s payload is not drawn for this token; switching channels draws the new payload', async () => {
  const a = await newOrder();
  const b = await newOrder();
  const codeA = await chooseNative('wx-pay', a.token);
  const codeB = await chooseNative('ali-pay', b.token);
  expect(codeB).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/qr\//);
  expect((await qr(a.token, codeB)).status).toBe(404);
  expect((await qr(b.token, codeA)).status).toBe(404);
  expect((await qr(b.token, codeB)).status).toBe(200);

  // The consumer goes back and picks Alipay on order A: its new payload is the one drawn.
  const codeA2 = await chooseNative('ali-pay', a.token);
  expect(codeA2).not.toBe(codeA);
  const res = await qr(a.token, codeA2);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe(await svgOf(codeA2));
});
