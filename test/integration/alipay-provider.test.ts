/**
 * The Alipay adapter (real alipay-sdk) against the local Alipay sandbox over real HTTP: signed requests,
 * signed responses, real signed notifications delivered to a local merchant endpoint that runs verifyCallback.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AlipaySdk } from 'alipay-sdk';
import { alipaySyncReturnVerify, clearAlipayClientCache, createAlipayProvider, toAlipayTime } from '../../providers/alipay';
import { ProviderError, type ChannelCredentials, type PrepayRequest, type VerifiedNotification } from '../../providers/types';
import { startAlipaySandbox, type AlipaySandboxHandle, type SimNotificationDelivery } from '../../sandbox/alipay';

const provider = createAlipayProvider();

/** What the merchant-side endpoint saw for each delivery. */
interface Received {
  channel: string;
  rawBody: Buffer;
  verified?: VerifiedNotification;
  error?: unknown;
  answered: string;
}

let sandbox: AlipaySandboxHandle;
let merchantServer: http.Server;
let notifyBase: string;
let creds: ChannelCredentials;
let otherCreds: ChannelCredentials;
const channels = new Map<string, ChannelCredentials>();
const received: Received[] = [];
/** outTradeNo → how many more deliveries to answer `fail` (simulating our own outage). */
const refuseNext = new Map<string, number>();
let seq = 0;

function uniqueNo(prefix: string): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

function prepayRequest(over: Partial<PrepayRequest> & Pick<PrepayRequest, 'sceneCode'>, channel = 'main'): PrepayRequest {
  return {
    outTradeNo: uniqueNo('T'),
    amountFen: 1999,
    subject: '测试商品',
    description: '集成测试订单',
    notifyUrl: `${notifyBase}/notify/${channel}`,
    expireAt: new Date(Date.now() + 30 * 60 * 1000),
    ...over,
  };
}

async function expectProviderError(promise: Promise<unknown>, kind: ProviderError['kind'], providerCode?: string): Promise<ProviderError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProviderError);
  const pe = caught as ProviderError;
  expect(pe.kind).toBe(kind);
  if (providerCode !== undefined) expect(pe.providerCode).toBe(providerCode);
  return pe;
}

function receivedFor(outTradeNo: string): Received[] {
  return received.filter((r) => new URLSearchParams(r.rawBody.toString('utf8')).get('out_trade_no') === outTradeNo);
}

function waitDeliveries(outTradeNo: string, count = 1, extra: (d: SimNotificationDelivery) => boolean = () => true) {
  return sandbox.waitForNotifications((d) => d.outTradeNo === outTradeNo && d.kind !== 'lost' && extra(d), { count });
}

/** Follows the browser flow: open the page, extract the form action of a button, submit it. */
async function submitCashierForm(pageHtml: string, button: 'pay' | 'cancel'): Promise<Response> {
  const action = new RegExp(`action="(/cashier/[^"]+/${button})"`).exec(pageHtml)?.[1];
  expect(action).toBeDefined();
  return fetch(`${sandbox.url}${action}`, { method: 'POST', redirect: 'manual' });
}

beforeAll(async () => {
  clearAlipayClientCache();
  // Compressed retry schedule so retry behaviour is observable within a test.
  sandbox = await startAlipaySandbox({ notifyRetryDelaysMs: [100, 200, 300] });
  creds = await sandbox.createMerchant();
  otherCreds = await sandbox.createMerchant();
  channels.set('main', creds);
  channels.set('other', otherCreds);

  merchantServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const channel = (req.url ?? '').replace(/^\/notify\//, '');
        const rawBody = Buffer.concat(chunks);
        const entry: Received = { channel, rawBody, answered: '' };
        let ok = false;
        try {
          const c = channels.get(channel);
          if (!c) throw new Error(`unknown channel ${channel}`);
          entry.verified = await provider.verifyCallback(c, { headers: { 'content-type': String(req.headers['content-type']) }, rawBody });
          const outTradeNo = entry.verified.outTradeNo;
          const refuse = refuseNext.get(outTradeNo) ?? 0;
          if (refuse > 0) refuseNext.set(outTradeNo, refuse - 1);
          else ok = true;
        } catch (err) {
          entry.error = err;
        }
        const ack = provider.callbackAck(ok);
        entry.answered = ack.body;
        received.push(entry);
        res.writeHead(ack.status, { 'content-type': ack.contentType });
        res.end(ack.body);
      })();
    });
  });
  await new Promise<void>((resolve) => merchantServer.listen(0, '127.0.0.1', resolve));
  notifyBase = `http://127.0.0.1:${(merchantServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await sandbox?.close();
  merchantServer?.closeAllConnections();
  await new Promise<void>((resolve) => (merchantServer ? merchantServer.close(() => resolve()) : resolve()));
});

describe('sandbox merchant onboarding', () => {
  it('hands out credentials the way a channel config stores them', () => {
    expect(creds.channelType).toBe('ali-pay');
    expect(creds.providerAppId).toMatch(/^2021\d{12}$/);
    expect(creds.mchId).toBe(creds.providerAppId);
    expect(creds.gatewayUrl).toBe(sandbox.url);
    expect(creds.secrets.appPrivateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(creds.secrets.alipayPublicKey).toBe(sandbox.alipayPublicKey);
    expect(creds.secrets.alipayPublicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});

describe('H5 (alipay.trade.wap.pay)', () => {
  it('redirects to a signed gateway URL whose page shows amount and subject, pays, notifies and returns signed', async () => {
    const req = prepayRequest({ sceneCode: 'h5', returnUrl: 'http://127.0.0.1:1/cashier-desk-web/alipay/return?order=1' });
    const result = await provider.prepay(creds, req);
    expect(result.kind).toBe('redirect');
    if (result.kind !== 'redirect') throw new Error('unreachable');
    const url = new URL(result.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${sandbox.url}/gateway.do`);
    expect(url.searchParams.get('method')).toBe('alipay.trade.wap.pay');
    const biz = JSON.parse(url.searchParams.get('biz_content') ?? '{}') as Record<string, string>;
    expect(biz).toMatchObject({ out_trade_no: req.outTradeNo, total_amount: '19.99', subject: '测试商品', product_code: 'QUICK_WAP_WAY' });
    expect(biz.time_expire).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    // Before the buyer opens the page, Alipay has no such trade.
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('NOT_FOUND');

    const page = await fetch(result.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('lang="zh-CN"');
    expect(html).toContain('¥19.99');
    expect(html).toContain('测试商品');
    expect(html).toContain('确认付款');
    expect(html).toContain('取消');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('WAITING');

    const payResponse = await submitCashierForm(html, 'pay');
    expect(payResponse.status).toBe(302);
    const back = new URL(payResponse.headers.get('location') ?? '');
    expect(back.pathname).toBe('/cashier-desk-web/alipay/return');
    expect(back.searchParams.get('order')).toBe('1');
    const returnParams = Object.fromEntries(back.searchParams);
    expect(returnParams).toMatchObject({ out_trade_no: req.outTradeNo, total_amount: '19.99', app_id: creds.providerAppId, method: 'alipay.trade.wap.pay.return' });
    expect(alipaySyncReturnVerify(creds, returnParams)).toBe(true);
    expect(alipaySyncReturnVerify(creds, { ...returnParams, total_amount: '0.01' })).toBe(false);
    expect(alipaySyncReturnVerify(otherCreds, returnParams)).toBe(false);
    expect(alipaySyncReturnVerify(creds, { ...returnParams, sign: '' })).toBe(false);
    // Our own return_url parameter is not part of Alipay's signature: verified fine, but it is not authenticated.
    expect(alipaySyncReturnVerify(creds, { ...returnParams, order: '2' })).toBe(true);
    const { order: _order, ...alipayOnly } = returnParams;
    void _order;
    expect(alipaySyncReturnVerify(creds, alipayOnly)).toBe(true);

    const [delivery] = await waitDeliveries(req.outTradeNo);
    expect(delivery.accepted).toBe(true);
    expect(delivery.responseBody).toBe('success');
    const [seen] = receivedFor(req.outTradeNo);
    expect(seen.error).toBeUndefined();
    const trade = sandbox.trade(req.outTradeNo);
    expect(seen.verified).toMatchObject({
      outTradeNo: req.outTradeNo,
      eventId: delivery.notifyId,
      providerAppId: creds.providerAppId,
      mchId: creds.mchId,
      outcome: { status: 'SUCCESS', amountFen: 1999, providerTradeNo: trade?.tradeNo },
    });
    const outcome = seen.verified?.outcome;
    if (outcome?.status !== 'SUCCESS') throw new Error('expected SUCCESS');
    // gmt_payment is Beijing time: the instant must match the sandbox's record of it.
    expect(outcome.payTime.getTime()).toBe(new Date(`${trade?.gmtPayment?.replace(' ', 'T')}+08:00`).getTime());

    const queried = await provider.query(creds, req.outTradeNo);
    expect(queried).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerTradeNo: trade?.tradeNo });
  });

  it('cancel leaves the trade payable', async () => {
    const req = prepayRequest({ sceneCode: 'h5' });
    const result = await provider.prepay(creds, req);
    if (result.kind !== 'redirect') throw new Error('expected redirect');
    const html = await (await fetch(result.url)).text();
    const cancel = await submitCashierForm(html, 'cancel');
    expect(cancel.status).toBe(200);
    expect(await cancel.text()).toContain('已取消支付');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('WAITING');
  });

  it('a page URL with a forged amount is refused by the gateway', async () => {
    const req = prepayRequest({ sceneCode: 'h5' });
    const result = await provider.prepay(creds, req);
    if (result.kind !== 'redirect') throw new Error('expected redirect');
    const forged = result.url.replace(encodeURIComponent('"19.99"'), encodeURIComponent('"0.01"'));
    expect(forged).not.toBe(result.url);
    const page = await fetch(forged);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('isv.invalid-signature');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('NOT_FOUND');
  });
});

describe('Native (alipay.trade.precreate)', () => {
  it('returns a QR code; the trade exists only once scanned; paying notifies', async () => {
    const req = prepayRequest({ sceneCode: 'native', amountFen: 1 });
    const result = await provider.prepay(creds, req);
    expect(result.kind).toBe('qr');
    if (result.kind !== 'qr') throw new Error('unreachable');
    expect(result.codeUrl.startsWith(`${sandbox.url}/qr/`)).toBe(true);

    // Real Alipay trap: query before the scan → ACQ.TRADE_NOT_EXIST.
    const before = await provider.query(creds, req.outTradeNo);
    expect(before.status).toBe('NOT_FOUND');
    expect(sandbox.trade(req.outTradeNo)?.status).toBe('NOT_SCANNED');

    const scanPage = await fetch(result.codeUrl);
    expect(scanPage.status).toBe(200);
    const html = await scanPage.text();
    expect(html).toContain('¥0.01');
    expect(html).toContain('确认付款');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('WAITING');

    const paid = await submitCashierForm(html, 'pay');
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain('支付成功');

    const [delivery] = await waitDeliveries(req.outTradeNo);
    expect(delivery.accepted).toBe(true);
    expect(receivedFor(req.outTradeNo)[0].verified?.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1 });
    expect(await provider.query(creds, req.outTradeNo)).toMatchObject({ status: 'SUCCESS', amountFen: 1 });
  });

  it('closing an unscanned precreate counts as closed', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    await expect(provider.close(creds, req.outTradeNo)).resolves.toBeUndefined();
  });

  it('is idempotent for the same order and refuses a changed amount or a paid trade', async () => {
    const req = prepayRequest({ sceneCode: 'native', amountFen: 500 });
    const first = await provider.prepay(creds, req);
    const again = await provider.prepay(creds, req);
    expect(again).toEqual(first);
    await expectProviderError(provider.prepay(creds, { ...req, amountFen: 501 }), 'REJECTED', 'ACQ.CONTEXT_INCONSISTENT');
    await sandbox.pay(req.outTradeNo);
    await expectProviderError(provider.prepay(creds, req), 'REJECTED', 'ACQ.TRADE_HAS_SUCCESS');
    await waitDeliveries(req.outTradeNo);
  });

  it('handles the largest amount (100,000,000.00 yuan)', async () => {
    const req = prepayRequest({ sceneCode: 'native', amountFen: 10_000_000_000 });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo);
    expect(await provider.query(creds, req.outTradeNo)).toMatchObject({ status: 'SUCCESS', amountFen: 10_000_000_000 });
    await waitDeliveries(req.outTradeNo);
    expect(receivedFor(req.outTradeNo)[0].verified?.outcome).toMatchObject({ amountFen: 10_000_000_000 });
  });
});

describe('App (alipay.trade.app.pay)', () => {
  it('returns an order string the Alipay app accepts; paying notifies', async () => {
    const req = prepayRequest({ sceneCode: 'app', amountFen: 100 });
    const result = await provider.prepay(creds, req);
    expect(result.kind).toBe('app');
    if (result.kind !== 'app' || !result.orderString) throw new Error('expected an order string');
    const params = new URLSearchParams(result.orderString);
    expect(params.get('method')).toBe('alipay.trade.app.pay');
    expect(params.get('app_id')).toBe(creds.providerAppId);
    expect(JSON.parse(params.get('biz_content') ?? '{}')).toMatchObject({ product_code: 'QUICK_MSECURITY_PAY', total_amount: '1.00' });

    expect((await provider.query(creds, req.outTradeNo)).status).toBe('NOT_FOUND');
    // The "Alipay app" endpoint, over HTTP as a device would call it.
    const res = await fetch(`${sandbox.url}/__sim/app-pay`, { method: 'POST', body: result.orderString, headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { code: string; out_trade_no: string; pay_url: string };
    expect(body).toMatchObject({ code: '10000', out_trade_no: req.outTradeNo });
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('WAITING');

    const html = await (await fetch(body.pay_url)).text();
    expect(html).toContain('¥1.00');
    await submitCashierForm(html, 'pay');
    await waitDeliveries(req.outTradeNo);
    expect(receivedFor(req.outTradeNo)[0].verified?.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 100 });
  });

  it('a tampered order string is refused by the app endpoint', async () => {
    const req = prepayRequest({ sceneCode: 'app', amountFen: 100 });
    const result = await provider.prepay(creds, req);
    if (result.kind !== 'app' || !result.orderString) throw new Error('expected an order string');
    const forged = result.orderString.replace(encodeURIComponent('"1.00"'), encodeURIComponent('"0.01"'));
    expect(forged).not.toBe(result.orderString);
    await expect(sandbox.appPay(forged)).rejects.toThrow(/isv.invalid-signature/);
  });
});

describe('query and close', () => {
  it('unknown trade: query NOT_FOUND, close resolves', async () => {
    expect((await provider.query(creds, 'NO_SUCH_TRADE_123')).status).toBe('NOT_FOUND');
    await expect(provider.close(creds, 'NO_SUCH_TRADE_123')).resolves.toBeUndefined();
  });

  it('closes a waiting trade, is idempotent, and refuses to close a paid one', async () => {
    const req = prepayRequest({ sceneCode: 'app' });
    const r = await provider.prepay(creds, req);
    if (r.kind !== 'app' || !r.orderString) throw new Error('expected an order string');
    await sandbox.appPay(r.orderString);
    await provider.close(creds, req.outTradeNo);
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('CLOSED');
    // Alipay answers ACQ.TRADE_STATUS_ERROR for an already closed trade; for us that is success.
    await expect(provider.close(creds, req.outTradeNo)).resolves.toBeUndefined();
    // Merchant-initiated close without notify_url sends no notification.
    expect(sandbox.notifications({ outTradeNo: req.outTradeNo })).toHaveLength(0);
    // A closed trade cannot be paid any more.
    await expect(sandbox.pay(req.outTradeNo)).rejects.toThrow(/ACQ.TRADE_HAS_CLOSE/);

    const paidReq = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, paidReq);
    await sandbox.pay(paidReq.outTradeNo);
    await expectProviderError(provider.close(creds, paidReq.outTradeNo), 'REJECTED', 'ACQ.TRADE_STATUS_ERROR');
    await waitDeliveries(paidReq.outTradeNo);
  });

  it('a failed buyer attempt leaves the trade WAITING without notification', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    const t = await sandbox.fail(req.outTradeNo);
    expect(t.failedPayments).toBe(1);
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('WAITING');
    expect(sandbox.notifications({ outTradeNo: req.outTradeNo })).toHaveLength(0);
  });

  it('a trade closed at the buyer side (timeout) notifies TRADE_CLOSED', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    await sandbox.closeTrade(req.outTradeNo);
    await waitDeliveries(req.outTradeNo);
    expect(receivedFor(req.outTradeNo)[0].verified?.outcome.status).toBe('CLOSED');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('CLOSED');
  });

  it('honours time_expire: an unpaid trade past it is closed by Alipay', async () => {
    // time_expire has second resolution; 2 s from now is the shortest reliable deadline.
    const req = prepayRequest({ sceneCode: 'native', expireAt: new Date(Date.now() + 2000) });
    await provider.prepay(creds, req);
    await sandbox.scan(req.outTradeNo);
    await sandbox.waitForNotifications((d) => d.outTradeNo === req.outTradeNo && d.tradeStatus === 'TRADE_CLOSED', { timeoutMs: 10000 });
    expect(receivedFor(req.outTradeNo)[0].verified?.outcome.status).toBe('CLOSED');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('CLOSED');
  });
});

describe('TRADE_FINISHED', () => {
  it('notifies FINISH and query reports FINISH', async () => {
    const req = prepayRequest({ sceneCode: 'native', amountFen: 888 });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo);
    await waitDeliveries(req.outTradeNo);
    await sandbox.finish(req.outTradeNo);
    await waitDeliveries(req.outTradeNo, 1, (d) => d.tradeStatus === 'TRADE_FINISHED');
    const finished = receivedFor(req.outTradeNo).find((r) => r.verified?.outcome.status === 'FINISH');
    expect(finished?.verified?.outcome).toMatchObject({ status: 'FINISH', amountFen: 888 });
    expect(await provider.query(creds, req.outTradeNo)).toMatchObject({ status: 'FINISH', amountFen: 888 });
  });
});

describe('notification verification', () => {
  it('rejects a tampered notification, then accepts the genuine one', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo, { notify: 'tampered' });
    const deliveries = await waitDeliveries(req.outTradeNo, 2);
    expect(deliveries.map((d) => [d.kind, d.accepted, d.responseBody])).toEqual([
      ['tampered', false, 'fail'],
      ['genuine', true, 'success'],
    ]);
    const [forged, genuine] = receivedFor(req.outTradeNo);
    expect(forged.error).toBeInstanceOf(ProviderError);
    expect((forged.error as ProviderError).kind).toBe('BAD_CALLBACK');
    expect(genuine.verified?.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1999 });
  });

  it('rejects an authentic notification for another app_id (same Alipay key signs for every app)', async () => {
    // A trade of `otherCreds` whose notification arrives on the endpoint configured for `creds`.
    const req = prepayRequest({ sceneCode: 'native' }, 'main');
    await provider.prepay(otherCreds, req);
    await sandbox.pay(req.outTradeNo);
    const [delivery] = await waitDeliveries(req.outTradeNo);
    expect(delivery.accepted).toBe(false);
    const [seen] = receivedFor(req.outTradeNo);
    expect((seen.error as ProviderError).kind).toBe('BAD_CALLBACK');
    expect((seen.error as ProviderError).message).toContain('app_id');
    // Not "success" → retried until the schedule is exhausted (3 retries configured above), same notify_id.
    await sandbox.idle();
    const all = sandbox.notifications({ outTradeNo: req.outTradeNo });
    expect(all.map((d) => [d.attempt, d.accepted])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
    ]);
    expect(new Set(all.map((d) => d.notifyId)).size).toBe(1);
    // The very same bytes verify on the right channel.
    const ok = await provider.verifyCallback(otherCreds, { headers: {}, rawBody: Buffer.from(delivery.body) });
    expect(ok.providerAppId).toBe(otherCreds.providerAppId);
  });

  it('rejects garbage, unsigned and RSA1-downgraded bodies', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo, { notify: 'lost' });
    const [lost] = sandbox.notifications({ outTradeNo: req.outTradeNo });
    expect(lost.kind).toBe('lost');
    const params = new URLSearchParams(lost.body);
    const unsigned = new URLSearchParams(params);
    unsigned.delete('sign');
    const downgraded = new URLSearchParams(params);
    downgraded.set('sign_type', 'RSA');
    for (const body of ['', 'not a form', unsigned.toString(), downgraded.toString()]) {
      await expectProviderError(provider.verifyCallback(creds, { headers: {}, rawBody: Buffer.from(body) }), 'BAD_CALLBACK');
    }
    // Sanity: the untouched body verifies.
    expect((await provider.verifyCallback(creds, { headers: {}, rawBody: Buffer.from(lost.body) })).outcome.status).toBe('SUCCESS');
  });

  it('a duplicated notification carries the same eventId', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo, { notify: 'duplicate' });
    const deliveries = await waitDeliveries(req.outTradeNo, 2);
    expect(deliveries.map((d) => d.kind)).toEqual(['genuine', 'duplicate']);
    expect(deliveries.every((d) => d.accepted)).toBe(true);
    const seen = receivedFor(req.outTradeNo);
    expect(seen).toHaveLength(2);
    expect(seen[0].verified?.eventId).toBe(deliveries[0].notifyId);
    expect(seen[1].verified?.eventId).toBe(seen[0].verified?.eventId);
  });

  it('retries with the same notify_id until the answer is exactly "success"', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    refuseNext.set(req.outTradeNo, 2);
    await sandbox.pay(req.outTradeNo);
    const deliveries = await waitDeliveries(req.outTradeNo, 1, (d) => d.accepted);
    const all = sandbox.notifications({ outTradeNo: req.outTradeNo });
    expect(all.map((d) => [d.attempt, d.accepted])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(new Set(all.map((d) => d.notifyId)).size).toBe(1);
    expect(deliveries[0].notifyId).toBe(all[0].notifyId);
  });

  it('a lost notification is recovered by querying', async () => {
    const req = prepayRequest({ sceneCode: 'native', amountFen: 4321 });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo, { notify: 'lost' });
    expect(receivedFor(req.outTradeNo)).toHaveLength(0);
    expect(await provider.query(creds, req.outTradeNo)).toMatchObject({ status: 'SUCCESS', amountFen: 4321 });
  });

  it('a correctly signed notification with a different amount surfaces that amount (the workflow must compare)', async () => {
    const req = prepayRequest({ sceneCode: 'native', amountFen: 1000 });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo, { amountOverrideFen: 1 });
    await waitDeliveries(req.outTradeNo);
    expect(receivedFor(req.outTradeNo)[0].verified?.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1 });
  });

  it('a delayed notification can arrive after a later one (out of order)', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    await provider.prepay(creds, req);
    await sandbox.pay(req.outTradeNo, { notify: 'delayed', delayMs: 1500 });
    await sandbox.finish(req.outTradeNo);
    const deliveries = await waitDeliveries(req.outTradeNo, 2);
    expect(deliveries.map((d) => d.tradeStatus)).toEqual(['TRADE_FINISHED', 'TRADE_SUCCESS']);
  });

  it('a "%" and other URL metacharacters in the subject survive signing both ways', async () => {
    const subject = '100%纯棉 T恤 a+b=c & d%2F?';
    for (const sceneCode of ['h5', 'native'] as const) {
      const req = prepayRequest({ sceneCode, subject, description: '折扣 50% off' });
      const r = await provider.prepay(creds, req);
      if (r.kind === 'redirect') {
        const html = await (await fetch(r.url)).text();
        expect(html).toContain('100%纯棉 T恤 a+b=c &amp; d%2F?');
      }
      const trade = await sandbox.pay(req.outTradeNo);
      expect(trade.subject).toBe(subject);
      await waitDeliveries(req.outTradeNo);
      const [seen] = receivedFor(req.outTradeNo);
      expect(seen.error).toBeUndefined();
      expect((seen.verified?.outcome.raw as Record<string, string>).subject).toBe(subject);
    }
  });
});

describe('provider failures', () => {
  it('HTTP 502 → UNAVAILABLE, and the next call succeeds', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    sandbox.injectFault({ kind: 'http502', method: 'alipay.trade.precreate' });
    await expectProviderError(provider.prepay(creds, req), 'UNAVAILABLE');
    const ok = await provider.prepay(creds, req);
    expect(ok.kind).toBe('qr');

    sandbox.injectFault({ kind: 'http502', count: 2 });
    await expectProviderError(provider.query(creds, req.outTradeNo), 'UNAVAILABLE');
    await expectProviderError(provider.close(creds, req.outTradeNo), 'UNAVAILABLE');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('NOT_FOUND');
  });

  it('a dropped connection is retried once by urllib (socketErrorRetry); two in a row → UNAVAILABLE', async () => {
    sandbox.injectFault({ kind: 'drop' });
    expect((await provider.query(creds, 'ANY_1')).status).toBe('NOT_FOUND');
    sandbox.injectFault({ kind: 'drop', count: 2 });
    await expectProviderError(provider.query(creds, 'ANY_1'), 'UNAVAILABLE');
  });

  it('connection refused → UNAVAILABLE', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = http.createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    await expectProviderError(provider.query({ ...creds, gatewayUrl: `http://127.0.0.1:${closedPort}` }, 'ANY_2'), 'UNAVAILABLE');
  });

  it('broken response signature → BAD_RESPONSE (a forged "success" is never trusted)', async () => {
    const req = prepayRequest({ sceneCode: 'native' });
    sandbox.injectFault({ kind: 'badSignature', method: 'alipay.trade.precreate' });
    await expectProviderError(provider.prepay(creds, req), 'BAD_RESPONSE');
    await sandbox.pay(req.outTradeNo);
    sandbox.injectFault({ kind: 'badSignature', method: 'alipay.trade.query' });
    await expectProviderError(provider.query(creds, req.outTradeNo), 'BAD_RESPONSE');
    expect((await provider.query(creds, req.outTradeNo)).status).toBe('SUCCESS');
    await waitDeliveries(req.outTradeNo);
  });

  it('responses signed by another key → BAD_RESPONSE', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrongAlipayKey = String(other.publicKey.export({ type: 'spki', format: 'pem' }));
    await expectProviderError(provider.query({ ...creds, secrets: { ...creds.secrets, alipayPublicKey: wrongAlipayKey } }, 'ANY_3'), 'BAD_RESPONSE');
  });

  it('a request signed with an unregistered app key is refused by the gateway (REJECTED isv.invalid-signature)', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrongAppKey = String(other.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expectProviderError(provider.query({ ...creds, secrets: { ...creds.secrets, appPrivateKey: wrongAppKey } }, 'ANY_4'), 'REJECTED', 'isv.invalid-signature');
  });

  it('accepts the app key as PKCS#8 too', async () => {
    const pkcs1 = creds.secrets.appPrivateKey;
    const pkcs8 = String(createPrivateKey(pkcs1).export({ type: 'pkcs8', format: 'pem' }));
    expect((await provider.query({ ...creds, secrets: { ...creds.secrets, appPrivateKey: pkcs8 } }, 'ANY_5')).status).toBe('NOT_FOUND');
  });

  it('refuses unsupported scenes, invalid amounts and expired orders before calling Alipay', async () => {
    await expectProviderError(provider.prepay(creds, prepayRequest({ sceneCode: 'jsapi' })), 'REJECTED', 'UNSUPPORTED_SCENE');
    await expectProviderError(provider.prepay(creds, prepayRequest({ sceneCode: 'native', amountFen: 0 })), 'REJECTED', 'INVALID_AMOUNT');
    await expectProviderError(provider.prepay(creds, prepayRequest({ sceneCode: 'native', amountFen: 10_000_000_001 })), 'REJECTED', 'INVALID_AMOUNT');
    await expectProviderError(provider.prepay(creds, prepayRequest({ sceneCode: 'h5', expireAt: new Date(Date.now() - 1000) })), 'REJECTED', 'ORDER_EXPIRED');
    await expectProviderError(provider.prepay({ ...creds, secrets: {} }, prepayRequest({ sceneCode: 'native' })), 'REJECTED', 'INVALID_CHANNEL_CONFIG');
  });
});

describe('sandbox gateway protocol checks (raw alipay-sdk)', () => {
  const rawSdk = (over: Partial<ConstructorParameters<typeof AlipaySdk>[0]> = {}) =>
    new AlipaySdk({
      appId: creds.providerAppId,
      privateKey: creds.secrets.appPrivateKey,
      alipayPublicKey: creds.secrets.alipayPublicKey,
      gateway: `${sandbox.url}/gateway.do`,
      camelcase: false,
      ...over,
    });
  const bizContent = { out_trade_no: 'RAW_1' };

  it('answers a well-formed call with a signed business answer', async () => {
    const res = await rawSdk().exec('alipay.trade.query', { bizContent, timestamp: toAlipayTime(new Date()) }, { validateSign: true });
    expect(res).toMatchObject({ code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST' });
    expect(res.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses a stale timestamp (a client formatting Beijing time in UTC is 8 h off)', async () => {
    const res = await rawSdk().exec('alipay.trade.query', { bizContent, timestamp: '2020-01-01 00:00:00' }, { validateSign: true });
    expect(res).toMatchObject({ code: '40002', sub_code: 'isv.invalid-timestamp' });
  });

  it('refuses RSA (SHA-1) signatures', async () => {
    const res = await rawSdk({ signType: 'RSA' }).exec('alipay.trade.query', { bizContent, timestamp: toAlipayTime(new Date()) });
    expect(res).toMatchObject({ code: '40002', sub_code: 'isv.invalid-signature-type' });
  });

  it('refuses a request carrying an empty value (signed by the SDK, dropped by the gateway)', async () => {
    const res = await rawSdk().exec('alipay.trade.query', { bizContent, timestamp: toAlipayTime(new Date()), returnUrl: '' }, { validateSign: true });
    expect(res).toMatchObject({ code: '40002', sub_code: 'isv.invalid-signature' });
  });

  it('refuses an unknown app_id and an unknown method', async () => {
    const res = await rawSdk({ appId: '2021999999999999' }).exec('alipay.trade.query', { bizContent, timestamp: toAlipayTime(new Date()) }, { validateSign: true });
    expect(res).toMatchObject({ code: '40002', sub_code: 'isv.invalid-app-id' });
    const unknown = await rawSdk().exec('alipay.trade.pay', { bizContent });
    expect(unknown).toMatchObject({ code: '40002', sub_code: 'isv.invalid-method' });
  });
});

describe('sandbox control API over HTTP', () => {
  it('creates merchants, pays, reads trades and the notification log', async () => {
    const created = await fetch(`${sandbox.url}/__sim/merchants`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(created.status).toBe(201);
    const c = (await created.json()) as ChannelCredentials;
    channels.set('http', c);
    const req = prepayRequest({ sceneCode: 'native', amountFen: 250 }, 'http');
    await provider.prepay(c, req);

    const notFound = await fetch(`${sandbox.url}/__sim/trades/NOPE_NOPE`);
    expect(notFound.status).toBe(404);
    const pay = await fetch(`${sandbox.url}/__sim/trades/${req.outTradeNo}/pay`, { method: 'POST', body: JSON.stringify({ notify: 'duplicate' }) });
    expect(pay.status).toBe(200);
    expect(((await pay.json()) as { status: string }).status).toBe('TRADE_SUCCESS');
    await waitDeliveries(req.outTradeNo, 2);

    const trade = (await (await fetch(`${sandbox.url}/__sim/trades/${req.outTradeNo}`)).json()) as { status: string; totalAmount: string };
    expect(trade).toMatchObject({ status: 'TRADE_SUCCESS', totalAmount: '2.50' });
    const log = (await (await fetch(`${sandbox.url}/__sim/notifications?out_trade_no=${req.outTradeNo}`)).json()) as SimNotificationDelivery[];
    expect(log.map((d) => [d.kind, d.accepted, d.responseBody])).toEqual([
      ['genuine', true, 'success'],
      ['duplicate', true, 'success'],
    ]);

    const fault = await fetch(`${sandbox.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'http502', count: 1 }) });
    expect(fault.status).toBe(201);
    await expectProviderError(provider.query(c, req.outTradeNo), 'UNAVAILABLE');
    const badMode = await fetch(`${sandbox.url}/__sim/trades/${req.outTradeNo}/finish`, { method: 'POST', body: JSON.stringify({ notify: 'sometimes' }) });
    expect(badMode.status).toBe(400);
  });

  it('keeps keys, merchants and trades across a restart with a state file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sandbox-'));
    const stateFile = path.join(dir, 'state.json');
    try {
      const first = await startAlipaySandbox({ stateFile });
      const c = await first.createMerchant();
      const req = prepayRequest({ sceneCode: 'native', notifyUrl: 'http://127.0.0.1:1/unused' });
      await provider.prepay(c, req);
      await first.pay(req.outTradeNo, { notify: 'lost' });
      await first.close();
      expect(fs.statSync(stateFile).mode & 0o077).toBe(0);

      const second = await startAlipaySandbox({ stateFile });
      try {
        expect(second.alipayPublicKey).toBe(c.secrets.alipayPublicKey);
        // Same keys and app, new port: the stored channel config only needs its gatewayUrl.
        const moved = { ...c, gatewayUrl: second.url };
        expect(await provider.query(moved, req.outTradeNo)).toMatchObject({ status: 'SUCCESS', amountFen: 1999 });
        expect(second.notifications({ outTradeNo: req.outTradeNo }).map((d) => d.kind)).toEqual(['lost']);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
