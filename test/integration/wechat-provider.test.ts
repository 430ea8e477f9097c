/**
 * The real wechatpay-node-v3 SDK, through the Cashier Desk adapter, against the real WeChat sandbox:
 * signed requests, signed responses, AES-256-GCM notifications, and every failure the adapter must catch.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { ProviderError, type ChannelCredentials, type PaymentProvider, type PrepayRequest, type VerifiedNotification } from '../../providers/types';
import { createWechatProvider } from '../../providers/wechat';
import { buildWechatClient } from '../../providers/wechat/client';
import { startWechatSandbox, type NotificationAttempt, type PayResult, type WechatSandboxHandle } from '../../sandbox/wechat';

interface Delivery {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  result: VerifiedNotification | ProviderError;
}

/** The merchant side: the gateway's WeChat callback endpoint, verifying with the adapter. */
async function startCallbackEndpoint(provider: PaymentProvider, credsByMchid: Map<string, ChannelCredentials>) {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const creds = credsByMchid.get(decodeURIComponent((req.url ?? '').split('/').pop() ?? ''));
      let result: VerifiedNotification | ProviderError;
      try {
        if (!creds) throw new ProviderError('BAD_CALLBACK', 'unknown channel');
        result = await provider.verifyCallback(creds, { headers, rawBody });
      } catch (err) {
        result = err instanceof ProviderError ? err : new ProviderError('BAD_CALLBACK', String(err));
      }
      deliveries.push({ headers, rawBody, result });
      const ack = provider.callbackAck(!(result instanceof ProviderError), result instanceof ProviderError ? result.message : undefined);
      res.writeHead(ack.status, { 'Content-Type': ack.contentType });
      res.end(ack.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Channel secrets without the configured platform certificate: the adapter must download it. */
function withoutPlatformCertificate(secrets: Record<string, string>): Record<string, string> {
  const copy = { ...secrets };
  delete copy.platformCertificate;
  delete copy.platformCertSerial;
  return copy;
}

async function expectProviderError(p: Promise<unknown>, kind: ProviderError['kind'], code?: string): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).kind).toBe(kind);
  if (code !== undefined) expect((err as ProviderError).providerCode).toBe(code);
  return err as ProviderError;
}

describe('WeChat Pay adapter ↔ sandbox (real wechatpay-node-v3)', () => {
  let sandbox: WechatSandboxHandle;
  let endpoint: Awaited<ReturnType<typeof startCallbackEndpoint>>;
  let creds: ChannelCredentials;
  let other: ChannelCredentials;
  const credsByMchid = new Map<string, ChannelCredentials>();
  // Short refresh interval so the rotation test can re-download; the default is 60 s.
  const provider = createWechatProvider({ certRefreshMinIntervalMs: 0 });
  let seq = 0;
  const nextNo = () => `WXT${Date.now().toString(36)}${(seq++).toString().padStart(4, '0')}`;

  const order = (over: Partial<PrepayRequest> = {}): PrepayRequest => ({
    sceneCode: 'native',
    outTradeNo: nextNo(),
    amountFen: 1999,
    subject: '收银台测试商品',
    description: '测试订单',
    notifyUrl: `${endpoint.url}/wx/notify/${creds.mchId}`,
    expireAt: new Date(Date.now() + 15 * 60_000),
    clientIp: '203.0.113.7',
    ...over,
  });

  const deliveriesFor = (outTradeNo: string) =>
    endpoint.deliveries.filter((d) => !(d.result instanceof ProviderError) && d.result.outTradeNo === outTradeNo);

  beforeAll(async () => {
    sandbox = await startWechatSandbox({ notifyRetryDelaysMs: [20, 40] });
    endpoint = await startCallbackEndpoint(provider, credsByMchid);
    creds = await sandbox.createMerchant();
    other = await sandbox.createMerchant();
    credsByMchid.set(creds.mchId, creds);
    credsByMchid.set(other.mchId, other);
  });

  afterAll(async () => {
    await endpoint?.close();
    await sandbox?.close();
  });

  describe('merchant onboarding', () => {
    it('hands out credentials in the channel-config shape with a real certificate chain', () => {
      expect(creds).toMatchObject({ channelType: 'wx-pay', gatewayUrl: sandbox.url });
      expect(creds.mchId).toMatch(/^\d{10}$/);
      expect(creds.providerAppId).toMatch(/^wx[0-9a-z]{16}$/);
      expect(creds.secrets.merchantPrivateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(creds.secrets.merchantCertSerial).toMatch(/^[0-9A-F]{40}$/);
      expect(creds.secrets.merchantCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(Buffer.byteLength(creds.secrets.apiV3Key)).toBe(32);
      expect(creds.secrets.platformCertSerial).toBe(sandbox.platformCertificateSerial);
    });
  });

  describe('prepay in every scene', () => {
    it('h5 → redirect to h5_url (with redirect_url), page offers 确认支付', async () => {
      const req = order({ sceneCode: 'h5', returnUrl: 'https://merchant.example/return?o=1' });
      const r = await provider.prepay(creds, req);
      expect(r.kind).toBe('redirect');
      const url = (r as { url: string }).url;
      expect(url.startsWith(`${sandbox.url}/pay/h5/wx`)).toBe(true);
      expect(new URL(url).searchParams.get('redirect_url')).toBe('https://merchant.example/return?o=1');
      const html = await (await fetch(url)).text();
      expect(html).toContain('确认支付');
      expect(html).toContain('¥</span>19.99');
      const trade = await sandbox.getTrade(req.outTradeNo);
      expect(trade).toMatchObject({ trade_type: 'MWEB', trade_state: 'NOTPAY', amount_total: 1999, payer_client_ip: '203.0.113.7' });
      expect(trade?.time_expire).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);

      // The buyer pays on the H5 page and WeChat sends the browser back to redirect_url.
      const form = new URLSearchParams({ prepay_id: trade!.prepay_id, action: 'pay', redirect_url: 'https://merchant.example/return?o=1' });
      const res = await fetch(`${sandbox.url}/pay/confirm`, { method: 'POST', body: form, redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://merchant.example/return?o=1');
      expect((await sandbox.getTrade(req.outTradeNo))?.trade_state).toBe('SUCCESS');
    });

    it('native → qr code_url, served by the sandbox scan page', async () => {
      const req = order({ sceneCode: 'native' });
      const r = await provider.prepay(creds, req);
      expect(r.kind).toBe('qr');
      const codeUrl = (r as { codeUrl: string }).codeUrl;
      expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]+$/);
      const page = await fetch(`${sandbox.url}/scan?code_url=${encodeURIComponent(codeUrl)}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`data-out-trade-no="${req.outTradeNo}"`);
      expect((await fetch(`${sandbox.url}/scan?code_url=${encodeURIComponent('weixin://wxpay/bizpayurl?pr=nope')}`)).status).toBe(404);
    });

    it('app → client params signed with the merchant key (the prepay page verifies sign)', async () => {
      const r = await provider.prepay(creds, order({ sceneCode: 'app' }));
      expect(r.kind).toBe('app');
      const params = (r as { params: Record<string, string> }).params;
      expect(params).toMatchObject({ appid: creds.providerAppId, partnerid: creds.mchId, package: 'Sign=WXPay' });
      const ok = await fetch(`${sandbox.url}/pay/prepay/${params.prepayid}?${new URLSearchParams(params)}`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('sign 已验证');
      const forged = await fetch(`${sandbox.url}/pay/prepay/${params.prepayid}?${new URLSearchParams({ ...params, noncestr: 'forged' })}`);
      expect(forged.status).toBe(400);
    });

    it('jsapi → WeixinJSBridge params with paySign (verified by the prepay page)', async () => {
      const req = order({ sceneCode: 'jsapi', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
      const r = await provider.prepay(creds, req);
      expect(r.kind).toBe('jsapi');
      const params = (r as { params: Record<string, string> }).params;
      expect(params).toMatchObject({ appId: creds.providerAppId, signType: 'RSA' });
      expect(params.package).toMatch(/^prepay_id=wx/);
      const prepayId = params.package.slice('prepay_id='.length);
      const ok = await fetch(`${sandbox.url}/pay/prepay/${prepayId}?${new URLSearchParams({ ...params, embed: '1' })}`);
      expect(await ok.text()).toContain('paySign 已验证');
      const forged = await fetch(`${sandbox.url}/pay/prepay/${prepayId}?${new URLSearchParams({ ...params, timeStamp: '1' })}`);
      expect(forged.status).toBe(400);
      expect((await sandbox.getTrade(req.outTradeNo))?.payer_openid).toBe('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
      const bridge = await (await fetch(`${sandbox.url}/jsbridge.js`)).text();
      expect(bridge).toContain('getBrandWCPayRequest');
      expect(bridge).toContain(JSON.stringify(sandbox.url));
    });

    it('jsapi end to end through the WeixinJSBridge stand-in (script run in a minimal DOM)', async () => {
      const req = order({ sceneCode: 'jsapi', openid: 'oBridgeUser000000000000000000' });
      const { params } = (await provider.prepay(creds, req)) as { params: Record<string, string> };
      const script = await (await fetch(`${sandbox.url}/jsbridge.js`)).text();

      // Just enough of a browser for the bridge: elements, a body, message listeners, document events.
      const appended: Array<Record<string, unknown>> = [];
      const listeners: Array<(ev: { origin: string; data: unknown }) => void> = [];
      const docEvents: string[] = [];
      const element = (): Record<string, unknown> => {
        const el: Record<string, unknown> = { children: [] as unknown[], removed: false };
        el.setAttribute = () => undefined;
        el.appendChild = (c: unknown) => (el.children as unknown[]).push(c);
        el.remove = () => (el.removed = true);
        return el;
      };
      const window: Record<string, unknown> = {
        addEventListener: (t: string, fn: (ev: { origin: string; data: unknown }) => void) => t === 'message' && listeners.push(fn),
        removeEventListener: (_t: string, fn: (ev: { origin: string; data: unknown }) => void) => listeners.splice(listeners.indexOf(fn), 1),
      };
      const document = {
        readyState: 'complete',
        body: { appendChild: (el: Record<string, unknown>) => appended.push(el) },
        createElement: element,
        addEventListener: () => undefined,
        dispatchEvent: (ev: { type: string }) => docEvents.push(ev.type),
      };
      vm.runInNewContext(script, { window, document, URL, URLSearchParams, Event, setTimeout });
      await new Promise((r) => setTimeout(r, 0)); // the bridge fires WeixinJSBridgeReady on a 0 ms timer
      expect(docEvents).toContain('WeixinJSBridgeReady');

      const results: unknown[] = [];
      (window.WeixinJSBridge as { invoke: (a: string, p: unknown, cb: (r: unknown) => void) => void }).invoke(
        'getBrandWCPayRequest',
        params,
        (r) => results.push(r),
      );
      const frame = (appended[0].children as Array<Record<string, string>>)[0];
      expect(frame.id).toBe('wechat-sandbox-frame');
      const sheet = await (await fetch(frame.src)).text();
      expect(sheet).toContain('paySign 已验证');
      expect(sheet).toContain('确认支付');

      // The buyer taps 确认支付 inside the frame; the result page reports back to the host page.
      const prepayId = params.package.slice('prepay_id='.length);
      const done = await (
        await fetch(`${sandbox.url}/pay/confirm`, { method: 'POST', body: new URLSearchParams({ prepay_id: prepayId, action: 'pay', embed: '1' }) })
      ).text();
      const message = JSON.parse(/parent\.postMessage\((\{.*?\}), '\*'\)/.exec(done)![1]);
      expect(message).toEqual({ source: 'wechat-sandbox', prepayId, result: 'ok' });
      listeners[0]({ origin: 'http://evil.example', data: message }); // other origins are ignored
      expect(results).toEqual([]);
      listeners[0]({ origin: new URL(sandbox.url).origin, data: message });
      expect(results).toEqual([{ err_msg: 'get_brand_wcpay_request:ok' }]);
      expect(appended[0].removed).toBe(true);
      expect((await sandbox.getTrade(req.outTradeNo))?.trade_state).toBe('SUCCESS');
      await sandbox.whenNotificationsIdle();
      expect(deliveriesFor(req.outTradeNo)).toHaveLength(1);
    });

    it('jsapi without openid and h5 without client IP are refused before any call', async () => {
      await expectProviderError(provider.prepay(creds, order({ sceneCode: 'jsapi' })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.prepay(creds, order({ sceneCode: 'h5', clientIp: undefined })), 'REJECTED', 'PARAM_ERROR');
    });

    it('same out_trade_no: same parameters → same prepay; different parameters → INVALID_REQUEST', async () => {
      const req = order({ sceneCode: 'native' });
      const a = await provider.prepay(creds, req);
      expect(await provider.prepay(creds, req)).toEqual(a);
      await expectProviderError(provider.prepay(creds, { ...req, amountFen: 2000 }), 'REJECTED', 'INVALID_REQUEST');
    });
  });

  describe('amounts are integer fen', () => {
    it('the adapter refuses a non-integer amount before sending', async () => {
      const req = order({ amountFen: 19.99 });
      await expectProviderError(provider.prepay(creds, req), 'REJECTED', 'PARAM_ERROR');
      expect(await sandbox.getTrade(req.outTradeNo)).toBeUndefined();
    });

    it('the sandbox answers 400 PARAM_ERROR when the SDK sends one anyway (signed error answer)', async () => {
      const client = buildWechatClient(creds, { httpTimeoutMs: 5000, certRefreshMinIntervalMs: 0, userAgent: 'test' });
      const out = await client.pay.transactions_native({
        description: 'x',
        out_trade_no: nextNo(),
        notify_url: `${endpoint.url}/wx/notify/${creds.mchId}`,
        amount: { total: 12.5, currency: 'CNY' },
      });
      expect(out.status).toBe(400);
      expect(JSON.parse(out.error as string).code).toBe('PARAM_ERROR');
      expect(out.errRaw).toEqual({ signed: true });
    });
  });

  describe('pay → signed, encrypted notification → verifyCallback', () => {
    it('delivers once, verified and decrypted, and query agrees', async () => {
      const req = order();
      await provider.prepay(creds, req);
      const { eventId, trade } = await sandbox.pay(req.outTradeNo);
      await sandbox.whenNotificationsIdle();
      const got = deliveriesFor(req.outTradeNo);
      expect(got).toHaveLength(1);
      const n = got[0].result as VerifiedNotification;
      expect(n).toMatchObject({ outTradeNo: req.outTradeNo, eventId, mchId: creds.mchId, providerAppId: creds.providerAppId });
      expect(n.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerTradeNo: trade.transaction_id });
      expect(n.outcome.status === 'SUCCESS' && n.outcome.payTime.getTime()).toBe(Date.parse(trade.success_time!));
      expect(await sandbox.notifications({ eventId })).toEqual([expect.objectContaining({ ok: true, status: 204, attempt: 1 })]);

      const q = await provider.query(creds, req.outTradeNo);
      expect(q).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerTradeNo: trade.transaction_id });
      // A paid order cannot be prepaid again nor closed.
      await expectProviderError(provider.prepay(creds, req), 'REJECTED', 'ORDERPAID');
      await expectProviderError(provider.close(creds, req.outTradeNo), 'REJECTED', 'ORDERPAID');
    });

    it('duplicate notification: delivered twice with the same eventId', async () => {
      const req = order();
      await provider.prepay(creds, req);
      const { eventId } = await sandbox.pay(req.outTradeNo, { notify: { mode: 'duplicate' } });
      await sandbox.whenNotificationsIdle();
      const got = deliveriesFor(req.outTradeNo);
      expect(got).toHaveLength(2);
      expect(got.map((d) => (d.result as VerifiedNotification).eventId)).toEqual([eventId, eventId]);
      // A later resend reuses the id as well.
      await sandbox.resendNotification(eventId);
      await sandbox.whenNotificationsIdle();
      expect(deliveriesFor(req.outTradeNo).map((d) => (d.result as VerifiedNotification).eventId)).toEqual([eventId, eventId, eventId]);
    });

    it('lost notification: nothing arrives, query still finds the payment', async () => {
      const req = order();
      await provider.prepay(creds, req);
      const { eventId } = await sandbox.pay(req.outTradeNo, { notify: { mode: 'lost' } });
      await sandbox.whenNotificationsIdle();
      expect(deliveriesFor(req.outTradeNo)).toHaveLength(0);
      expect(await sandbox.notifications({ eventId })).toEqual([expect.objectContaining({ ok: false, mode: 'lost' })]);
      expect((await provider.query(creds, req.outTradeNo)).status).toBe('SUCCESS');
    });

    it('delayed notification arrives later, still verifiable', async () => {
      const req = order();
      await provider.prepay(creds, req);
      await sandbox.pay(req.outTradeNo, { notify: { mode: 'delayed', delayMs: 50 } });
      await sandbox.whenNotificationsIdle();
      expect(deliveriesFor(req.outTradeNo)).toHaveLength(1);
    });

    it('amount override: the verified notification reports the amount WeChat claims (the order check is the caller’s)', async () => {
      const req = order();
      await provider.prepay(creds, req);
      await sandbox.pay(req.outTradeNo, { notify: { amountOverrideFen: 1 } });
      await sandbox.whenNotificationsIdle();
      const n = deliveriesFor(req.outTradeNo)[0].result as VerifiedNotification;
      expect(n.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1 });
    });

    async function rejectedDeliveries(notify: Parameters<WechatSandboxHandle['pay']>[1]) {
      const req = order();
      await provider.prepay(creds, req);
      const before = endpoint.deliveries.length;
      const { eventId } = await sandbox.pay(req.outTradeNo, notify);
      await sandbox.whenNotificationsIdle();
      const mine = endpoint.deliveries.slice(before);
      const log = await sandbox.notifications({ eventId });
      return { mine, log };
    }

    it.each([
      ['tampered signature', { mode: 'tampered' as const }, /signature does not verify/],
      ['unknown certificate serial', { badSerial: true }, /unknown platform certificate serial/],
      ['bad ciphertext (GCM tag)', { badCiphertext: true }, /AEAD_AES_256_GCM authentication failed/],
      ['stale timestamp', { timestampSkewSeconds: -600 }, /outside ±5 minutes/],
      ['future timestamp', { timestampSkewSeconds: 600 }, /outside ±5 minutes/],
    ])('%s → BAD_CALLBACK, answered 400 FAIL, retried by the sandbox', async (_name, notify, message) => {
      const { mine, log } = await rejectedDeliveries({ notify });
      expect(mine).toHaveLength(3); // first attempt + 2 retries (notifyRetryDelaysMs: [20, 40])
      for (const d of mine) {
        expect(d.result).toBeInstanceOf(ProviderError);
        expect((d.result as ProviderError).kind).toBe('BAD_CALLBACK');
        expect((d.result as ProviderError).message).toMatch(message);
      }
      expect(log.map((a) => [a.attempt, a.ok, a.status])).toEqual([
        [1, false, 400],
        [2, false, 400],
        [3, false, 400],
      ]);
      expect(JSON.parse(log[0].responseBody ?? '{}').code).toBe('FAIL');
      expect(new Set(mine.map((d) => JSON.parse(d.rawBody.toString()).id)).size).toBe(1);
    });

    it('wrong mchid / appid: a valid notification verified against another channel config is rejected', async () => {
      const req = order();
      await provider.prepay(creds, req);
      await sandbox.pay(req.outTradeNo);
      await sandbox.whenNotificationsIdle();
      const { headers, rawBody } = deliveriesFor(req.outTradeNo)[0];
      // Same keys, different mchid: only the mchid check can catch it.
      const e1 = await expectProviderError(provider.verifyCallback({ ...creds, mchId: '1900009999' }, { headers, rawBody }), 'BAD_CALLBACK');
      expect(e1.message).toMatch(/mchid/);
      const e2 = await expectProviderError(provider.verifyCallback({ ...creds, providerAppId: 'wx0000000000000000' }, { headers, rawBody }), 'BAD_CALLBACK');
      expect(e2.message).toMatch(/appid/);
      // Another merchant's keys cannot even decrypt it.
      await expectProviderError(provider.verifyCallback(other, { headers, rawBody }), 'BAD_CALLBACK');
      // Re-serialised JSON (not the raw bytes) does not verify.
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString()), null, 1));
      await expectProviderError(provider.verifyCallback(creds, { headers, rawBody: reserialised }), 'BAD_CALLBACK');
      // The untouched capture still verifies (and carries the same event id on replay: dedup is by eventId).
      expect((await provider.verifyCallback(creds, { headers, rawBody })).outTradeNo).toBe(req.outTradeNo);
    });

    it('missing signature headers → BAD_CALLBACK', async () => {
      await expectProviderError(provider.verifyCallback(creds, { headers: {}, rawBody: Buffer.from('{}') }), 'BAD_CALLBACK');
    });
  });

  describe('query and close', () => {
    it('NOTPAY and USERPAYING → WAITING; PAYERROR → FAIL; unknown → NOT_FOUND', async () => {
      const a = order();
      await provider.prepay(creds, a);
      expect((await provider.query(creds, a.outTradeNo)).status).toBe('WAITING');
      await sandbox.setUserPaying(a.outTradeNo);
      expect((await provider.query(creds, a.outTradeNo)).status).toBe('WAITING');
      await sandbox.failTrade(a.outTradeNo, { reason: '银行卡余额不足' });
      expect(await provider.query(creds, a.outTradeNo)).toMatchObject({ status: 'FAIL', errorCode: 'PAYERROR', errorMsg: '银行卡余额不足' });
      expect((await provider.query(creds, nextNo())).status).toBe('NOT_FOUND');
    });

    it('trades are per merchant: another mchid sees NOT_FOUND', async () => {
      const a = order();
      await provider.prepay(creds, a);
      expect((await provider.query(other, a.outTradeNo)).status).toBe('NOT_FOUND');
    });

    it('close → 204 and CLOSED; closing an unknown trade counts as closed; a closed trade cannot be paid', async () => {
      const a = order();
      await provider.prepay(creds, a);
      await expect(provider.close(creds, a.outTradeNo)).resolves.toBeUndefined();
      expect((await provider.query(creds, a.outTradeNo)).status).toBe('CLOSED');
      await expect(provider.close(creds, a.outTradeNo)).resolves.toBeUndefined();
      await expect(provider.close(creds, nextNo())).resolves.toBeUndefined();
      await expect(sandbox.pay(a.outTradeNo)).rejects.toThrow('订单已关闭');
      await expectProviderError(provider.prepay(creds, a), 'REJECTED', 'ORDER_CLOSED');
    });
  });

  describe('gateway failures', () => {
    it('sandbox 500 → UNAVAILABLE (prepay, query, close), then recovers', async () => {
      const a = order();
      await sandbox.injectFault({ kind: 'http500', count: 3, mchid: creds.mchId });
      await expectProviderError(provider.prepay(creds, a), 'UNAVAILABLE', 'SYSTEM_ERROR');
      await expectProviderError(provider.query(creds, a.outTradeNo), 'UNAVAILABLE');
      await expectProviderError(provider.close(creds, a.outTradeNo), 'UNAVAILABLE');
      expect((await provider.prepay(creds, a)).kind).toBe('qr');
    });

    it('broken response signature → BAD_RESPONSE (success answers are never trusted unsigned)', async () => {
      const a = order();
      await provider.prepay(creds, a);
      await sandbox.injectFault({ kind: 'badSignature', count: 2 });
      await expectProviderError(provider.query(creds, a.outTradeNo), 'BAD_RESPONSE');
      // Even a "not found" error answer with a broken signature must not be believed.
      await expectProviderError(provider.close(creds, nextNo()), 'BAD_RESPONSE');
      expect((await provider.query(creds, a.outTradeNo)).status).toBe('WAITING');
    });

    it('connection refused → UNAVAILABLE', async () => {
      const dead = http.createServer();
      await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((resolve) => dead.close(() => resolve()));
      await expectProviderError(provider.query({ ...creds, gatewayUrl: `http://127.0.0.1:${port}` }, 'WXT000000'), 'UNAVAILABLE');
    });

    it('a gateway that never answers → UNAVAILABLE after the timeout', async () => {
      const hung = http.createServer(() => {
        /* accepts the request and never answers */
      });
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      try {
        const slow = createWechatProvider({ httpTimeoutMs: 200 });
        const gatewayUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
        const e = await expectProviderError(slow.query({ ...creds, gatewayUrl }, 'WXT000000'), 'UNAVAILABLE');
        expect(e.message).toMatch(/timed out/);
      } finally {
        hung.closeAllConnections();
        await new Promise<void>((resolve) => hung.close(() => resolve()));
      }
    });

    it('unsigned error answers (e.g. from a proxy) never prove "order does not exist"', async () => {
      let answer = { status: 404, body: '{"code":"ORDER_NOT_EXIST","message":"订单不存在"}' };
      const proxy = http.createServer((_req, res) => {
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(answer.body);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const viaProxy = { ...creds, gatewayUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
        await expectProviderError(provider.query(viaProxy, 'WXT000000'), 'BAD_RESPONSE');
        await expectProviderError(provider.close(viaProxy, 'WXT000000'), 'BAD_RESPONSE');
        answer = { status: 400, body: '{"code":"PARAM_ERROR","message":"x"}' };
        await expectProviderError(provider.query(viaProxy, 'WXT000000'), 'REJECTED', 'PARAM_ERROR');
        answer = { status: 200, body: '{"trade_state":"SUCCESS"}' };
        await expectProviderError(provider.query(viaProxy, 'WXT000000'), 'BAD_RESPONSE');
      } finally {
        proxy.closeAllConnections();
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      }
    });

    it('a request signed with the wrong key → 401 SIGN_ERROR → REJECTED', async () => {
      const forged = { ...creds, secrets: { ...creds.secrets, merchantPrivateKey: other.secrets.merchantPrivateKey } };
      await expectProviderError(provider.query(forged, 'WXT000000'), 'REJECTED', 'SIGN_ERROR');
    });

    it('gatewayUrl with a path prefix is a config error (the SDK signs the path)', async () => {
      await expectProviderError(provider.query({ ...creds, gatewayUrl: `${sandbox.url}/prefix` }, 'WXT000000'), 'REJECTED', 'CONFIG_ERROR');
    });
  });

  describe('platform certificates', () => {
    it('are downloaded from /v3/certificates (decrypted, tag checked) when not configured', async () => {
      const secrets = withoutPlatformCertificate(creds.secrets);
      const downloading = { ...creds, secrets };
      const a = order();
      await provider.prepay(downloading, a);
      expect((await provider.query(downloading, a.outTradeNo)).status).toBe('WAITING');
      // Seen from one client: nothing trusted before the first answer, the sandbox's certificate after it.
      const client = buildWechatClient(downloading, { httpTimeoutMs: 5000, certRefreshMinIntervalMs: 0, userAgent: 't' });
      expect(client.certificates.serials()).toEqual([]);
      expect((await client.pay.query({ out_trade_no: a.outTradeNo })).status).toBe(200);
      expect(client.certificates.serials()).toEqual([sandbox.platformCertificateSerial]);
    });

    it('a wrong APIv3 key cannot decrypt the downloaded certificates → BAD_RESPONSE', async () => {
      const secrets = withoutPlatformCertificate(creds.secrets);
      const wrongKey = { ...creds, secrets: { ...secrets, apiV3Key: 'x'.repeat(32) } };
      const e = await expectProviderError(provider.query(wrongKey, 'WXT000000'), 'BAD_RESPONSE');
      expect(e.message).toMatch(/APIv3 key/);
    });

    it('staged rotation (WeChat lists a new certificate before signing with it): nothing changes until it signs', async () => {
      const merchant = await sandbox.createMerchant();
      const a = order();
      await provider.prepay(merchant, a);
      const before = sandbox.platformCertificateSerial;
      const { serial, signing } = await sandbox.rotatePlatformCertificate();
      expect(signing).toBe(false);
      expect(sandbox.platformCertificateSerial).toBe(before);
      expect((await provider.query(merchant, a.outTradeNo)).status).toBe('WAITING');
      await sandbox.activatePlatformCertificate(serial);
      expect(sandbox.platformCertificateSerial).toBe(serial);
      expect((await provider.query(merchant, a.outTradeNo)).status).toBe('WAITING');
      await expect(sandbox.activatePlatformCertificate('1234')).rejects.toThrow(/no valid platform certificate/);
    });

    it('rotation: an answer signed by a new platform certificate triggers a re-download and verifies', async () => {
      const merchant = await sandbox.createMerchant();
      credsByMchid.set(merchant.mchId, merchant);
      const a = order({ notifyUrl: `${endpoint.url}/wx/notify/${merchant.mchId}` });
      await provider.prepay(merchant, a);
      const { serial } = await sandbox.rotatePlatformCertificate({ activate: true });
      expect(serial).not.toBe(merchant.secrets.platformCertSerial);
      expect((await provider.query(merchant, a.outTradeNo)).status).toBe('WAITING');
      // Notifications signed by the new certificate verify too.
      await sandbox.pay(a.outTradeNo);
      await sandbox.whenNotificationsIdle();
      expect(deliveriesFor(a.outTradeNo)).toHaveLength(1);
    });
  });
});

describe('WeChat sandbox control API and persistence', () => {
  it('drives merchants, trades, faults and the notification log over HTTP /__sim', async () => {
    const sb = await startWechatSandbox({ notifyRetryDelaysMs: [] });
    try {
      const post = (p: string, body: unknown = {}) =>
        fetch(`${sb.url}/__sim${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const res = await post('/merchants', { mchId: '1900000123', providerAppId: 'wx1234567890abcdef' });
      expect(res.status).toBe(201);
      const creds = (await res.json()) as ChannelCredentials;
      expect(creds).toMatchObject({ mchId: '1900000123', providerAppId: 'wx1234567890abcdef', gatewayUrl: sb.url });

      const provider = createWechatProvider();
      const outTradeNo = 'SIMCTRL000001';
      await provider.prepay(creds, {
        sceneCode: 'native', outTradeNo, amountFen: 1, subject: 's', description: 'd',
        notifyUrl: 'http://127.0.0.1:9/unreachable', expireAt: new Date(Date.now() + 60_000),
      });
      const trade = await (await fetch(`${sb.url}/__sim/trades/${outTradeNo}`)).json();
      expect(trade).toMatchObject({ out_trade_no: outTradeNo, trade_state: 'NOTPAY', amount_total: 1 });

      expect((await post('/faults', { kind: 'http500', count: 1 })).status).toBe(200);
      await expectProviderError(provider.query(creds, outTradeNo), 'UNAVAILABLE');
      expect((await post('/faults', { kind: 'nonsense' })).status).toBe(400);

      const paid = (await (await post(`/trades/${outTradeNo}/pay`, { notify: { mode: 'normal' } })).json()) as PayResult;
      expect(paid.trade.trade_state).toBe('SUCCESS');
      await sb.whenNotificationsIdle();
      const log = (await (await fetch(`${sb.url}/__sim/notifications?out_trade_no=${outTradeNo}`)).json()) as { notifications: NotificationAttempt[] };
      expect(log.notifications).toEqual([expect.objectContaining({ eventId: paid.eventId, ok: false, attempt: 1 })]);
      expect(log.notifications[0].error).toBeTruthy();
      expect((await post(`/trades/${outTradeNo}/close`)).status).toBe(409);
      expect((await post('/trades/NOPE000000/pay')).status).toBe(404);
    } finally {
      await sb.close();
    }
  });

  it('keeps keys, merchants and trades across a restart with stateFile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-sandbox-'));
    const stateFile = path.join(dir, 'state.json');
    try {
      const first = await startWechatSandbox({ stateFile });
      const creds = await first.createMerchant();
      const serial = first.platformCertificateSerial;
      const provider = createWechatProvider();
      await provider.prepay(creds, {
        sceneCode: 'native', outTradeNo: 'PERSIST000001', amountFen: 88, subject: 's', description: 'd',
        notifyUrl: 'http://127.0.0.1:9/n', expireAt: new Date(Date.now() + 60_000),
      });
      await first.close();

      const second = await startWechatSandbox({ stateFile });
      try {
        expect(second.platformCertificateSerial).toBe(serial);
        // Same keys: the old credentials (new port) still authenticate and verify.
        const moved = { ...creds, gatewayUrl: second.url };
        expect(await provider.query(moved, 'PERSIST000001')).toMatchObject({ status: 'WAITING' });
        expect((await second.getTrade('PERSIST000001'))?.amount_total).toBe(88);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
