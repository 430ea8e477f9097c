/**
 * The merchant SDK against a small local cashier desk (plain Node http on 127.0.0.1) that uses the same
 * Signature v1 module, and the SDK's notification verification / handler against signed notifications.
 */
import http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import {
  CashierDeskError,
  CashierDeskNetworkError,
  CashierDeskProtocolError,
  Channel,
  HEADER,
  MemoryNonceStore,
  PaySdk,
  PaymentNotification,
  type CashierDeskNotification,
  SignType,
  SignatureVerificationError,
  UnifiedOrderData,
  generateNonce,
  signOrder,
  signRequestHeaders,
  signResponseHeaders,
  verifySignedHeaders,
  verifySignedMessage,
} from '../../sdk';

const APP_ID = '10123';
const APP_KEY = 'test-app-key-0123456789';
const BASE = '/api/cashier-desk';

type Mode = 'normal' | 'unsigned' | 'forged' | 'other-path' | 'tampered' | 'stale' | 'replay' | 'bad-order-block' | 'not-json' | 'slow';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A tiny cashier desk: verifies every request (4010 otherwise), answers signed envelopes. */
class FakeCashierDesk {
  mode: Mode = 'normal';
  received: Received[] = [];
  private lastSigned?: { headers: Record<string, string>; body: Buffer };
  private readonly nonces = new MemoryNonceStore();
  private server!: http.Server;
  gateway = '';

  readonly channels: Channel[] = [
    channel({ id: 1, channelId: 11, channelType: 'ali-pay', sort: 2 }),
    channel({ id: 2, channelId: 21, channelType: 'wx-pay', sort: 1 }),
    channel({ id: 3, channelId: 12, channelType: 'ali-pay', sort: 1 }),
    channel({ id: 4, channelId: 22, channelType: 'wx-pay', sort: 1 }),
  ];

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.gateway = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${BASE}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    this.received.push({ method: req.method ?? '', url, headers: req.headers, body });
    const verified = await verifySignedMessage({
      kind: 'request',
      method: req.method,
      pathWithQuery: url,
      headers: req.headers,
      body,
      keys: [APP_KEY],
      now: Date.now(),
      nonceStore: this.nonces,
    });
    if (!verified.ok) return this.send(res, url, 401, { code: 4010, msg: `签名验证失败: ${verified.reason}` }, undefined);
    const signType = verified.signType;
    if (this.mode === 'slow') await new Promise((r) => setTimeout(r, 500));
    if (this.mode === 'not-json') {
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end('<html>bad gateway</html>');
    }
    if (this.mode === 'replay' && this.lastSigned) {
      res.writeHead(200, { ...this.lastSigned.headers, 'content-type': 'application/json' });
      return void res.end(this.lastSigned.body);
    }

    if (req.method === 'POST' && url === `${BASE}/unified/orders`) {
      const order = JSON.parse(body.toString('utf8')) as { amount: number; outTradeNo: string };
      if (order.amount === 999) return this.send(res, url, 409, { code: 4090, msg: '订单号已存在且内容不同' }, signType);
      const token = 'C0AA0177B1B342A59C4EC383368E1C98';
      const block = signOrder({ appId: APP_ID, appKey: APP_KEY, outTradeNo: order.outTradeNo, token, signType });
      if (this.mode === 'bad-order-block') block.signature = block.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const data: UnifiedOrderData = { token, orderId: 160, signature: block, channels: this.channels };
      return this.send(res, url, 200, { code: 1000, msg: '操作成功', data }, signType);
    }
    if (req.method === 'POST' && url === `${BASE}/payment/list`) {
      const { token, channelIds } = JSON.parse(body.toString('utf8')) as { token: string; channelIds: number[] };
      return this.send(res, url, 200, { code: 1000, msg: '操作成功', data: { url: `http://cashier.test/cashier-desk-web/payment?token=${token}&c=${channelIds.join(',')}` } }, signType);
    }
    const prefix = `${BASE}/out-trade-no/query-pay-result/`;
    if (req.method === 'GET' && url.startsWith(prefix)) {
      const outTradeNo = decodeURIComponent(url.slice(prefix.length));
      if (outTradeNo === 'missing') return this.send(res, url, 404, { code: 4040, msg: '订单不存在' }, signType);
      const data = {
        channelId: 12,
        channelType: 'ali-pay',
        mchId: '2021000117617568',
        payTime: '2021-03-30 17:27:00',
        resultCode: 'SUCCESS',
        resultErrorCode: null,
        resultErrorMsg: `paid ${outTradeNo}`,
      };
      return this.send(res, url, 200, { code: 1000, msg: '操作成功', data }, signType);
    }
    return this.send(res, url, 404, { code: 4040, msg: '接口不存在' }, signType);
  }

  private send(res: http.ServerResponse, path: string, status: number, envelope: object, signType: SignType | undefined): void {
    let body = Buffer.from(JSON.stringify({ ...envelope, responseTime: Date.now() }), 'utf8');
    let headers: Record<string, string> = {};
    if (signType && this.mode !== 'unsigned') {
      const key = this.mode === 'forged' ? 'not-the-app-key' : APP_KEY;
      const signedPath = this.mode === 'other-path' ? `${BASE}/payment/list` : path;
      const now = this.mode === 'stale' ? Date.now() - 301_000 : Date.now();
      headers = signResponseHeaders({ pathWithQuery: signedPath, appId: APP_ID, appKey: key, signType, body, now });
      if (this.mode === 'tampered') body = Buffer.from(body.toString('utf8').replace('"channelId":12', '"channelId":13'), 'utf8');
      this.lastSigned = { headers, body };
    }
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) });
    res.end(body);
  }
}

function channel(c: Pick<Channel, 'id' | 'channelId' | 'channelType' | 'sort'>): Channel {
  return {
    ...c,
    appId: 10123,
    appName: '订单收定服务',
    channelName: `${c.channelType} #${c.id}`,
    sceneName: 'h5',
    sceneCode: 'h5',
    configId: 1,
    mchId: c.channelType === 'ali-pay' ? '2021000117617568' : '1607531827',
    url: `http://cashier.test${BASE}/${c.channelType}/h5`,
    method: 'POST',
    enctype: 'json',
    sort: c.sort,
  };
}

const ORDER = { amount: 100, goodsDesc: '月卡会员 · 30 天', orderTitle: '会员', outTradeNo: 'A-20210330-001', thirdPartyUser: 'user-1' };

describe('PaySdk against a local cashier desk', () => {
  const desk = new FakeCashierDesk();
  let sdk: PaySdk;
  beforeAll(() => desk.start());
  afterAll(() => desk.stop());
  beforeEach(() => {
    desk.mode = 'normal';
    desk.received = [];
    sdk = new PaySdk({ gateway: desk.gateway + '/', appId: APP_ID, appKey: APP_KEY, timeoutMs: 2000 });
  });

  it.each<SignType>(['HMAC-SHA256', 'HMAC-SM3'])('unifiedOrder signs the exact JSON bytes (%s) and verifies the response', async (signType) => {
    sdk = new PaySdk({ gateway: desk.gateway, appId: Number(APP_ID), appKey: APP_KEY, signType, notifyUrl: 'https://merchant.test/pay/notify' });
    const order = await sdk.unifiedOrder({ ...ORDER, returnUrl: 'https://merchant.test/done' });
    expect(order.token).toBe('C0AA0177B1B342A59C4EC383368E1C98');
    expect(order.orderId).toBe(160);
    expect(order.channels).toHaveLength(4);
    expect(sdk.verifyOrderSignature(order)).toBe(true);

    const [req] = desk.received;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`${BASE}/unified/orders`);
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(req.headers[HEADER.signType]).toBe(signType);
    expect(req.headers[HEADER.appId]).toBe(APP_ID);
    expect(req.body.toString('utf8')).toBe(JSON.stringify({ ...ORDER, notifyUrl: 'https://merchant.test/pay/notify', returnUrl: 'https://merchant.test/done' }));
    const check = verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: req.url, headers: req.headers, body: req.body, keys: [APP_KEY], now: Date.now() });
    expect(check).toMatchObject({ ok: true, appId: APP_ID, signType });
  });

  it('validates the amount (integer fen) and fields before sending anything', async () => {
    for (const amount of [1.5, 0, -1, Number.NaN, Infinity, 2 ** 53, '100' as unknown as number]) {
      await expect(sdk.unifiedOrder({ ...ORDER, amount })).rejects.toThrow(TypeError);
    }
    await expect(sdk.unifiedOrder({ ...ORDER, outTradeNo: '' })).rejects.toThrow(TypeError);
    await expect(sdk.unifiedOrder({ ...ORDER, expireSeconds: 0.5 })).rejects.toThrow(TypeError);
    expect(desk.received).toHaveLength(0);
  });

  it.each<[Mode, string]>([
    ['unsigned', 'MISSING_HEADER'],
    ['forged', 'BAD_SIGNATURE'],
    ['other-path', 'BAD_SIGNATURE'],
    ['stale', 'STALE_TIMESTAMP'],
  ])('rejects a success response in mode %s (%s)', async (mode, reason) => {
    desk.mode = mode;
    const err = await sdk.unifiedOrder(ORDER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureVerificationError);
    expect(err).toMatchObject({ reason, httpStatus: 200 });
  });

  it('rejects a success response whose body was altered after signing', async () => {
    desk.mode = 'tampered';
    await expect(sdk.queryOrder('T1')).rejects.toMatchObject({ name: 'SignatureVerificationError', reason: 'BAD_SIGNATURE' });
  });

  it('rejects a replayed (recorded) success response', async () => {
    await expect(sdk.queryOrder('R1')).resolves.toMatchObject({ resultCode: 'SUCCESS' });
    desk.mode = 'replay';
    await expect(sdk.queryOrder('R1')).rejects.toMatchObject({ name: 'SignatureVerificationError', reason: 'REPLAYED_NONCE' });
  });

  it('rejects an order whose signature block does not verify', async () => {
    desk.mode = 'bad-order-block';
    await expect(sdk.unifiedOrder(ORDER)).rejects.toMatchObject({ name: 'SignatureVerificationError', reason: 'BAD_ORDER_SIGNATURE' });
  });

  it('maps error envelopes to CashierDeskError', async () => {
    const conflict = await sdk.unifiedOrder({ ...ORDER, amount: 999 }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(CashierDeskError);
    expect(conflict).toMatchObject({ code: 4090, msg: '订单号已存在且内容不同', httpStatus: 409 });
    await expect(sdk.queryOrder('missing')).rejects.toMatchObject({ code: 4040, httpStatus: 404 });
    const wrongKey = new PaySdk({ gateway: desk.gateway, appId: APP_ID, appKey: 'wrong-key' });
    await expect(wrongKey.queryOrder('X')).rejects.toMatchObject({ name: 'CashierDeskError', code: 4010, httpStatus: 401 });
  });

  it('reports non-JSON answers and timeouts distinctly', async () => {
    desk.mode = 'not-json';
    await expect(sdk.queryOrder('X')).rejects.toBeInstanceOf(CashierDeskProtocolError);
    desk.mode = 'slow';
    sdk = new PaySdk({ gateway: desk.gateway, appId: APP_ID, appKey: APP_KEY, timeoutMs: 100 });
    await expect(sdk.queryOrder('X')).rejects.toBeInstanceOf(CashierDeskNetworkError);
  });

  it('getPaymentListUrl sends the first channel of each type by sort, or the given ids', async () => {
    const order = await sdk.unifiedOrder(ORDER);
    expect(PaySdk.defaultChannelIds(order.channels)).toEqual([12, 21]);
    const url = await sdk.getPaymentListUrl(order);
    expect(url).toBe('http://cashier.test/cashier-desk-web/payment?token=C0AA0177B1B342A59C4EC383368E1C98&c=12,21');
    const sent = desk.received[desk.received.length - 1];
    expect(JSON.parse(sent.body.toString())).toEqual({ token: order.token, channelIds: [12, 21] });
    await expect(sdk.getPaymentListUrl(order, [11])).resolves.toMatch(/c=11$/);
    await expect(sdk.getPaymentListUrl(order, [])).rejects.toThrow(TypeError);
  });

  it('queryOrder GETs the percent-encoded outTradeNo and signs the path as sent, with an empty body', async () => {
    const result = await sdk.queryOrder('A/B 1?x=收');
    expect(result).toEqual({
      channelId: 12,
      channelType: 'ali-pay',
      mchId: '2021000117617568',
      payTime: '2021-03-30 17:27:00',
      resultCode: 'SUCCESS',
      resultErrorCode: null,
      resultErrorMsg: 'paid A/B 1?x=收',
    });
    const [req] = desk.received;
    expect(req.method).toBe('GET');
    expect(req.url).toBe(`${BASE}/out-trade-no/query-pay-result/${encodeURIComponent('A/B 1?x=收')}`);
    expect(req.body).toHaveLength(0);
    await expect(sdk.queryOrder('..')).rejects.toThrow(TypeError);
  });

  it('verifyResponse checks a response obtained by other means', () => {
    const body = JSON.stringify({ code: 1000, msg: '操作成功', data: {}, responseTime: Date.now() });
    const path = `${BASE}/unified/orders`;
    const headers = signResponseHeaders({ pathWithQuery: path, appId: APP_ID, appKey: APP_KEY, body });
    expect(sdk.verifyResponse({ pathWithQuery: path, headers, body }).ok).toBe(true);
    expect(sdk.verifyResponse({ pathWithQuery: path, headers, body: body + ' ' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });
});

// ───────────────────────────── notifications ─────────────────────────────

const NOTIFY_PATH = '/pay/notify?src=cashier';

function notification(over: Partial<PaymentNotification> = {}): PaymentNotification {
  return {
    eventId: 'evt_1',
    eventType: 'PAYMENT_RESULT',
    appId: APP_ID,
    orderId: 160,
    outTradeNo: 'A-20210330-001',
    amount: 100,
    channelId: 12,
    channelType: 'ali-pay',
    mchId: '2021000117617568',
    payTime: '2021-03-30 17:27:00',
    resultCode: 'SUCCESS',
    resultErrorCode: null,
    resultErrorMsg: null,
    attempt: 1,
    ...over,
  };
}

/** What the cashier desk sends: a signed POST of the notification JSON. */
function signedNotification(opts: { key?: string; now?: number; path?: string; body?: string; signType?: SignType } = {}) {
  const body = opts.body ?? JSON.stringify(notification());
  const headers = signRequestHeaders({
    method: 'POST',
    pathWithQuery: opts.path ?? NOTIFY_PATH,
    appId: APP_ID,
    appKey: opts.key ?? APP_KEY,
    signType: opts.signType,
    body,
    now: opts.now ?? Date.now(),
    nonce: generateNonce(),
  });
  return { headers, body };
}

describe('PaySdk.verifyNotification', () => {
  const sdk = new PaySdk({ gateway: 'http://127.0.0.1:1/api/cashier-desk', appId: APP_ID, appKey: APP_KEY, rotationKeys: ['next-key'] });

  it('accepts a good notification and returns its JSON', async () => {
    const { headers, body } = signedNotification({ signType: 'HMAC-SM3' });
    await expect(sdk.verifyNotification(headers, Buffer.from(body), { path: NOTIFY_PATH })).resolves.toEqual(notification());
    const full = signedNotification();
    await expect(sdk.verifyNotification(full.headers, full.body, { path: `https://merchant.test${NOTIFY_PATH}` })).resolves.toMatchObject({ eventId: 'evt_1' });
  });

  it('takes the path from the notifyUrl option, and requires one', async () => {
    const withUrl = new PaySdk({ gateway: 'http://127.0.0.1:1', appId: APP_ID, appKey: APP_KEY, notifyUrl: `https://merchant.test${NOTIFY_PATH}` });
    const n = signedNotification();
    await expect(withUrl.verifyNotification(n.headers, n.body)).resolves.toMatchObject({ outTradeNo: 'A-20210330-001' });
    await expect(sdk.verifyNotification(n.headers, n.body)).rejects.toThrow(TypeError);
  });

  it('rejects forged, tampered, stale, wrong-path and replayed notifications', async () => {
    const reason = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof SignatureVerificationError ? e.reason : String(e)));
    const forged = signedNotification({ key: 'attacker' });
    expect(await reason(sdk.verifyNotification(forged.headers, forged.body, { path: NOTIFY_PATH }))).toBe('BAD_SIGNATURE');
    const good = signedNotification();
    expect(await reason(sdk.verifyNotification(good.headers, good.body.replace('"amount":100', '"amount":1'), { path: NOTIFY_PATH }))).toBe('BAD_SIGNATURE');
    expect(await reason(sdk.verifyNotification(good.headers, good.body, { path: '/pay/notify' }))).toBe('BAD_SIGNATURE');
    const stale = signedNotification({ now: Date.now() - 301_000 });
    expect(await reason(sdk.verifyNotification(stale.headers, stale.body, { path: NOTIFY_PATH }))).toBe('STALE_TIMESTAMP');
    expect(await reason(sdk.verifyNotification({}, good.body, { path: NOTIFY_PATH }))).toBe('MISSING_HEADER');
    // none of the rejected attempts burned the nonce: the genuine one is accepted once, then replay
    expect(await reason(sdk.verifyNotification(good.headers, good.body, { path: NOTIFY_PATH }))).toBe('accepted');
    expect(await reason(sdk.verifyNotification(good.headers, good.body, { path: NOTIFY_PATH }))).toBe('REPLAYED_NONCE');
  });

  it('accepts a rotation key, and rejects a body for another app', async () => {
    const rotated = signedNotification({ key: 'next-key' });
    await expect(sdk.verifyNotification(rotated.headers, rotated.body, { path: NOTIFY_PATH })).resolves.toMatchObject({ eventId: 'evt_1' });
    const other = signedNotification({ body: JSON.stringify(notification({ appId: '99999' })) });
    await expect(sdk.verifyNotification(other.headers, other.body, { path: NOTIFY_PATH })).rejects.toBeInstanceOf(CashierDeskProtocolError);
    const notJson = signedNotification({ body: 'hello' });
    await expect(sdk.verifyNotification(notJson.headers, notJson.body, { path: NOTIFY_PATH })).rejects.toBeInstanceOf(CashierDeskProtocolError);
  });

  it('returns refund results typed by eventType, and refuses unknown event types', async () => {
    const refund = {
      eventId: 'REFUND_RESULT-7',
      eventType: 'REFUND_RESULT',
      appId: APP_ID,
      refundId: 7,
      outRefundNo: 'R-1',
      outTradeNo: 'A-20210330-001',
      orderId: 160,
      amount: 50,
      refundTime: '2021-03-31 10:00:00',
      resultCode: 'SUCCESS',
      resultErrorCode: null,
      resultErrorMsg: null,
      attempt: 1,
    };
    const n = signedNotification({ body: JSON.stringify(refund) });
    const verified = await sdk.verifyNotification(n.headers, n.body, { path: NOTIFY_PATH });
    expect(verified.eventType).toBe('REFUND_RESULT');
    if (verified.eventType === 'REFUND_RESULT') expect([verified.outRefundNo, verified.refundId]).toEqual(['R-1', 7]);
    const noNumber = signedNotification({ body: JSON.stringify({ ...refund, outRefundNo: undefined }) });
    await expect(sdk.verifyNotification(noNumber.headers, noNumber.body, { path: NOTIFY_PATH })).rejects.toBeInstanceOf(CashierDeskProtocolError);
    const unknown = signedNotification({ body: JSON.stringify({ ...refund, eventType: 'TRANSFER_RESULT' }) });
    await expect(sdk.verifyNotification(unknown.headers, unknown.body, { path: NOTIFY_PATH })).rejects.toBeInstanceOf(CashierDeskProtocolError);
  });
});

describe('PaySdk.notificationHandler', () => {
  const received: CashierDeskNotification[] = [];
  let fail = false;
  const errors: unknown[] = [];
  let plain: http.Server;
  let viaExpress: http.Server;
  let plainUrl = '';
  let expressUrl = '';

  beforeAll(async () => {
    const sdk = new PaySdk({ gateway: 'http://127.0.0.1:1', appId: APP_ID, appKey: APP_KEY, nonceStore: new MemoryNonceStore() });
    const onNotification = async (n: CashierDeskNotification) => {
      if (fail) throw new Error('database down');
      received.push(n);
    };
    const handler = sdk.notificationHandler(onNotification, { onError: (e) => errors.push(e), maxBodyBytes: 4096 });
    plain = http.createServer(handler);
    const app = express();
    app.post('/pay/notify', express.raw({ type: '*/*' }), sdk.notificationHandler(onNotification));
    viaExpress = http.createServer(app);
    const listen = (s: http.Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
    plainUrl = await listen(plain);
    expressUrl = await listen(viaExpress);
  });
  afterAll(async () => {
    for (const s of [plain, viaExpress]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  beforeEach(() => {
    received.length = 0;
    errors.length = 0;
    fail = false;
  });

  const post = async (base: string, n: { headers: Record<string, string>; body: string }, path = NOTIFY_PATH) => {
    const res = await fetch(base + path, { method: 'POST', headers: { ...n.headers, 'content-type': 'application/json' }, body: n.body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  it('answers exactly {"code":1000,"msg":"操作成功"} after verifying and handling', async () => {
    const n = signedNotification();
    const res = await post(plainUrl, n);
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"code":1000,"msg":"操作成功"}');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(received).toEqual([notification()]);
    // the answer itself carries a RESPONSE signature over the notify path
    const check = verifySignedHeaders({ kind: 'response', pathWithQuery: NOTIFY_PATH, headers: res.headers, body: res.text, keys: [APP_KEY], now: Date.now() });
    expect(check.ok).toBe(true);
  });

  it('works behind express.raw()', async () => {
    const n = signedNotification({ path: '/pay/notify' });
    const res = await post(expressUrl, n, '/pay/notify');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ code: 1000, msg: '操作成功' });
  });

  it('answers 401 with code 4010 for forged, stale and replayed notifications', async () => {
    const forged = await post(plainUrl, signedNotification({ key: 'attacker' }));
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.text)).toMatchObject({ code: 4010 });
    const stale = await post(plainUrl, signedNotification({ now: Date.now() - 10 * 60_000 }));
    expect(stale.status).toBe(401);
    const once = signedNotification();
    expect((await post(plainUrl, once)).status).toBe(200);
    const replay = await post(plainUrl, once);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.text)).toEqual({ code: 4010, msg: '签名验证失败: REPLAYED_NONCE' });
    const unsigned = await post(plainUrl, { headers: {}, body: JSON.stringify(notification()) });
    expect(unsigned.status).toBe(401);
    expect(received).toHaveLength(1);
  });

  it('answers 500 with code 5000 when onNotification throws, so the cashier desk retries', async () => {
    fail = true;
    const res = await post(plainUrl, signedNotification());
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toMatchObject({ code: 5000 });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('database down');
  });

  it('answers 413 for an oversized body and 405 for other methods', async () => {
    const big = signedNotification({ body: JSON.stringify(notification({ resultErrorMsg: 'x'.repeat(10_000) })) });
    const res = await post(plainUrl, big);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ code: 4130 });
    const get = await fetch(plainUrl + NOTIFY_PATH);
    expect(get.status).toBe(405);
    expect(received).toHaveLength(0);
  });
});
