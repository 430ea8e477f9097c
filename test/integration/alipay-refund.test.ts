/**
 * Alipay refunds through the real adapter (alipay-sdk, verified answers) against the local Alipay sandbox over
 * real HTTP: alipay.trade.refund / alipay.trade.fastpay.refund.query, idempotency per out_request_no (also when
 * the answer is lost after the refund was applied), the refund notifications, and the sandbox's own protocol
 * rules (GET API calls, refunds without out_request_no, persistence).
 */
import { createVerify } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AlipaySdk } from 'alipay-sdk';
import { clearAlipayClientCache, createAlipayProvider, toAlipayTime } from '../../providers/alipay';
import { ProviderError, type ChannelCredentials, type RefundOutcome, type RefundRequest, type VerifiedNotification } from '../../providers/types';
import { startAlipaySandbox, type AlipaySandboxHandle, type SimNotificationDelivery, type SimRefund } from '../../sandbox/alipay';

const provider = createAlipayProvider();

/** What the merchant-side notify endpoint saw, after running the adapter's verifyCallback. */
interface Received {
  rawBody: Buffer;
  params: Record<string, string>;
  verified?: VerifiedNotification;
  error?: unknown;
}

let sandbox: AlipaySandboxHandle;
let merchantServer: http.Server;
let notifyUrl: string;
let creds: ChannelCredentials;
/** app_id → channel config, so the notify endpoint verifies with the keys of the app a notification names. */
const channels = new Map<string, ChannelCredentials>();
const received: Received[] = [];
let seq = 0;

function uniqueNo(prefix: string): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

/** A paid native trade of `amountFen`, with its payment notification already delivered. */
async function paidTrade(amountFen = 1999, c: ChannelCredentials = creds, sb: AlipaySandboxHandle = sandbox): Promise<string> {
  const outTradeNo = uniqueNo('RF');
  await provider.prepay(c, {
    sceneCode: 'native',
    outTradeNo,
    amountFen,
    subject: '退款测试商品',
    description: '退款集成测试',
    notifyUrl,
    expireAt: new Date(Date.now() + 30 * 60 * 1000),
  });
  await sb.pay(outTradeNo);
  await sb.waitForNotifications((d) => d.outTradeNo === outTradeNo && d.tradeStatus === 'TRADE_SUCCESS' && d.accepted);
  return outTradeNo;
}

function refundRequest(outTradeNo: string, amountFen: number, over: Partial<RefundRequest> = {}): RefundRequest {
  return {
    outTradeNo,
    outRefundNo: uniqueNo('R'),
    amountFen,
    totalFen: 1999,
    reason: '买家申请退款',
    // Alipay has no per-refund notify_url; its refund notifications go to the trade's notify_url.
    notifyUrl: `${notifyUrl}?refund`,
    ...over,
  };
}

async function expectProviderError(promise: Promise<unknown>, kind: ProviderError['kind']): Promise<ProviderError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProviderError);
  expect((caught as ProviderError).kind).toBe(kind);
  return caught as ProviderError;
}

function expectSuccess(outcome: RefundOutcome): Extract<RefundOutcome, { status: 'SUCCESS' }> {
  if (outcome.status !== 'SUCCESS') throw new Error(`expected SUCCESS, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** gmt_refund_pay has second precision, in Beijing time. */
function beijingInstant(text: string | undefined): number {
  return new Date(`${String(text).replace(' ', 'T')}+08:00`).getTime();
}

/** The refund notifications the sandbox sent for one refund request (out_biz_no), genuine ones only. */
function refundDeliveries(outTradeNo: string, outRefundNo: string): SimNotificationDelivery[] {
  return sandbox.notifications({ outTradeNo }).filter((d) => d.params.out_biz_no === outRefundNo && d.kind === 'genuine');
}

function waitRefundNotification(outTradeNo: string, outRefundNo: string): Promise<SimNotificationDelivery[]> {
  return sandbox.waitForNotifications((d) => d.outTradeNo === outTradeNo && d.params.out_biz_no === outRefundNo && d.accepted);
}

function receivedFor(outRefundNo: string): Received[] {
  return received.filter((r) => r.params.out_biz_no === outRefundNo);
}

beforeAll(async () => {
  clearAlipayClientCache();
  sandbox = await startAlipaySandbox({ notifyRetryDelaysMs: [100, 200, 300] });
  creds = await sandbox.createMerchant();
  channels.set(creds.providerAppId, creds);

  merchantServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks);
        const entry: Received = { rawBody, params: Object.fromEntries(new URLSearchParams(rawBody.toString('utf8'))) };
        try {
          const c = channels.get(entry.params.app_id ?? '');
          if (!c) throw new Error(`unknown app_id ${entry.params.app_id}`);
          entry.verified = await provider.verifyCallback(c, { headers: { 'content-type': String(req.headers['content-type']) }, rawBody });
        } catch (err) {
          entry.error = err;
        }
        received.push(entry);
        const ack = provider.callbackAck(entry.error === undefined);
        res.writeHead(ack.status, { 'content-type': ack.contentType });
        res.end(ack.body);
      })();
    });
  });
  await new Promise<void>((resolve) => merchantServer.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(merchantServer.address() as AddressInfo).port}/notify`;
});

afterEach(() => sandbox.clearFaults());

afterAll(async () => {
  await sandbox?.close();
  merchantServer?.closeAllConnections();
  await new Promise<void>((resolve) => (merchantServer ? merchantServer.close(() => resolve()) : resolve()));
});

describe('refund (alipay.trade.refund)', () => {
  it('a full refund succeeds once, closes the trade and notifies TRADE_CLOSED, which verifyCallback reads as CLOSED', async () => {
    const outTradeNo = await paidTrade();
    const trade = sandbox.trade(outTradeNo);
    const req = refundRequest(outTradeNo, 1999);
    const before = Date.now();
    const outcome = expectSuccess(await provider.refund(creds, req));
    expect(outcome.amountFen).toBe(1999);
    expect(outcome.providerRefundNo).toBe(trade?.tradeNo);
    expect(outcome.raw).toMatchObject({ code: '10000', fund_change: 'Y', refund_fee: '19.99', out_trade_no: outTradeNo });

    const records = sandbox.refunds(outTradeNo);
    expect(records).toEqual<SimRefund[]>([
      {
        appId: creds.providerAppId,
        outTradeNo,
        tradeNo: trade?.tradeNo ?? '',
        outRequestNo: req.outRefundNo,
        refundAmountFen: 1999,
        refundAmount: '19.99',
        gmtRefundPay: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/) as unknown as string,
        reason: '买家申请退款',
      },
    ]);
    // The refund time is Alipay's gmt_refund_pay (Beijing time), not our clock.
    expect(outcome.refundTime.getTime()).toBe(beijingInstant(records[0].gmtRefundPay));
    expect(outcome.refundTime.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(outcome.refundTime.getTime()).toBeLessThanOrEqual(Date.now());
    expect(sandbox.trade(outTradeNo)).toMatchObject({ status: 'TRADE_CLOSED', refundedFen: 1999 });

    const [delivery] = await waitRefundNotification(outTradeNo, req.outRefundNo);
    expect(delivery.url).toBe(notifyUrl);
    expect(delivery.tradeStatus).toBe('TRADE_CLOSED');
    expect(delivery.params).toMatchObject({
      notify_type: 'trade_status_sync',
      trade_status: 'TRADE_CLOSED',
      out_trade_no: outTradeNo,
      refund_fee: '19.99',
      out_biz_no: req.outRefundNo,
      total_amount: '19.99',
    });
    expect(delivery.params.gmt_refund).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(delivery.params.gmt_close).toBeDefined();
    const [seen] = receivedFor(req.outRefundNo);
    expect(seen.error).toBeUndefined();
    expect(seen.verified).toMatchObject({ outTradeNo, eventId: delivery.notifyId, outcome: { status: 'CLOSED' } });
    expect(delivery.responseBody).toBe('success');
  });

  it('two partial refunds accumulate; an over-refund is refused; the rest closes the trade', async () => {
    const outTradeNo = await paidTrade();
    const first = refundRequest(outTradeNo, 500);
    expect(expectSuccess(await provider.refund(creds, first)).amountFen).toBe(500);
    expect(sandbox.trade(outTradeNo)).toMatchObject({ status: 'TRADE_SUCCESS', refundedFen: 500 });

    const [partialDelivery] = await waitRefundNotification(outTradeNo, first.outRefundNo);
    expect(partialDelivery.params).toMatchObject({ trade_status: 'TRADE_SUCCESS', refund_fee: '5.00', out_biz_no: first.outRefundNo });
    // A partial refund leaves the trade paid: the notification verifies as SUCCESS for the full paid amount.
    const [seenPartial] = receivedFor(first.outRefundNo);
    expect(seenPartial.verified?.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerTradeNo: sandbox.trade(outTradeNo)?.tradeNo });
    expect((seenPartial.verified?.outcome.raw as Record<string, string>).refund_fee).toBe('5.00');

    const second = refundRequest(outTradeNo, 700);
    const secondOutcome = expectSuccess(await provider.refund(creds, second));
    expect(secondOutcome.amountFen).toBe(700);
    // refund_fee is cumulative over the trade.
    expect(secondOutcome.raw).toMatchObject({ refund_fee: '12.00', fund_change: 'Y' });
    expect(sandbox.trade(outTradeNo)).toMatchObject({ status: 'TRADE_SUCCESS', refundedFen: 1200 });
    const [secondDelivery] = await waitRefundNotification(outTradeNo, second.outRefundNo);
    expect(secondDelivery.params).toMatchObject({ trade_status: 'TRADE_SUCCESS', refund_fee: '12.00' });

    // 12.00 + 8.00 > 19.99
    const over = await provider.refund(creds, refundRequest(outTradeNo, 800));
    expect(over).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', errorMsg: '退款金额超限' });
    expect(sandbox.refunds(outTradeNo).map((r) => r.refundAmountFen)).toEqual([500, 700]);

    const rest = refundRequest(outTradeNo, 799);
    expect(expectSuccess(await provider.refund(creds, rest)).amountFen).toBe(799);
    expect(sandbox.trade(outTradeNo)).toMatchObject({ status: 'TRADE_CLOSED', refundedFen: 1999 });
    const [closing] = await waitRefundNotification(outTradeNo, rest.outRefundNo);
    expect(closing.params).toMatchObject({ trade_status: 'TRADE_CLOSED', refund_fee: '19.99' });
    expect(receivedFor(rest.outRefundNo)[0].verified?.outcome.status).toBe('CLOSED');

    // Nothing left to refund: a new request on the fully refunded (closed) trade is refused.
    expect(await provider.refund(creds, refundRequest(outTradeNo, 1))).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.TRADE_HAS_CLOSE' });
  });

  it('repeating an outRefundNo answers the same refund without refunding again; another amount is refused', async () => {
    const outTradeNo = await paidTrade();
    const req = refundRequest(outTradeNo, 300);
    const first = expectSuccess(await provider.refund(creds, req));
    await waitRefundNotification(outTradeNo, req.outRefundNo);

    const again = expectSuccess(await provider.refund(creds, req));
    expect(again.amountFen).toBe(300);
    expect(again.refundTime.getTime()).toBe(first.refundTime.getTime());
    // fund_change=N was confirmed with the refund query (only its answer carries refund_status).
    expect(again.raw).toMatchObject({ refund_status: 'REFUND_SUCCESS', out_request_no: req.outRefundNo, refund_amount: '3.00' });
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
    expect(sandbox.trade(outTradeNo)?.refundedFen).toBe(300);

    const discordant = await provider.refund(creds, { ...req, amountFen: 400 });
    expect(discordant).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.DISCORDANT_REPEAT_REQUEST' });
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);

    // A repeat moves no money, so Alipay sends no second notification for it.
    await sandbox.idle();
    expect(refundDeliveries(outTradeNo, req.outRefundNo)).toHaveLength(1);
  });

  it('refuses trades that cannot be refunded: unknown, not yet scanned, unpaid, closed unpaid, finished', async () => {
    expect(await provider.refund(creds, refundRequest(uniqueNo('NOPE'), 100))).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.TRADE_NOT_EXIST', errorMsg: '交易不存在' });

    const unscanned = uniqueNo('U');
    await provider.prepay(creds, { sceneCode: 'native', outTradeNo: unscanned, amountFen: 100, subject: 's', description: '', notifyUrl, expireAt: new Date(Date.now() + 600_000) });
    expect(await provider.refund(creds, refundRequest(unscanned, 100))).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.TRADE_NOT_EXIST' });

    await sandbox.scan(unscanned);
    expect(await provider.refund(creds, refundRequest(unscanned, 100))).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.TRADE_STATUS_ERROR' });

    await provider.close(creds, unscanned);
    expect(await provider.refund(creds, refundRequest(unscanned, 100))).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.TRADE_HAS_CLOSE' });

    const finished = await paidTrade();
    await sandbox.finish(finished);
    const refused = await provider.refund(creds, refundRequest(finished, 100));
    expect(refused).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.TRADE_HAS_FINISHED', errorMsg: '交易已完结' });
    expect(sandbox.refunds(unscanned)).toEqual([]);
    expect(sandbox.refunds(finished)).toEqual([]);
  });

  it("seller balance too low → FAIL ACQ.SELLER_BALANCE_NOT_ENOUGH, nothing refunded; the same number goes through later", async () => {
    const outTradeNo = await paidTrade();
    sandbox.injectFault({ kind: 'sellerBalanceNotEnough' });
    const req = refundRequest(outTradeNo, 1000);
    expect(await provider.refund(creds, req)).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.SELLER_BALANCE_NOT_ENOUGH', errorMsg: '卖家余额不足' });
    expect(sandbox.refunds(outTradeNo)).toEqual([]);
    expect(await provider.queryRefund(creds, req)).toMatchObject({ status: 'NOT_FOUND' });
    expect(expectSuccess(await provider.refund(creds, req)).amountFen).toBe(1000);
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
  });

  it('refuses invalid amounts and request numbers before calling Alipay', async () => {
    await expectProviderError(provider.refund(creds, refundRequest('ANY', 0)), 'REJECTED');
    await expectProviderError(provider.refund(creds, refundRequest('ANY', 1.5)), 'REJECTED');
    await expectProviderError(provider.refund(creds, refundRequest('ANY', 1, { outRefundNo: '' })), 'REJECTED');
    await expectProviderError(provider.refund(creds, refundRequest('ANY', 1, { outRefundNo: 'x'.repeat(65) })), 'REJECTED');
  });
});

describe('a lost answer never refunds twice', () => {
  it('HTTP 502 after the refund was applied → UNAVAILABLE; the retry with the same number → SUCCESS, one refund', async () => {
    const outTradeNo = await paidTrade();
    const req = refundRequest(outTradeNo, 1999);
    sandbox.injectFault({ kind: 'http502AfterProcessing', method: 'alipay.trade.refund' });
    const err = await expectProviderError(provider.refund(creds, req), 'UNAVAILABLE');
    expect(err.message).toContain('502');
    // The refund happened although the caller could not know: the trade is already closed.
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
    expect(sandbox.trade(outTradeNo)?.status).toBe('TRADE_CLOSED');

    // Retrying on the closed trade must still answer the refund it has, not ACQ.TRADE_HAS_CLOSE.
    const retried = expectSuccess(await provider.refund(creds, req));
    expect(retried.amountFen).toBe(1999);
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
    expect(sandbox.trade(outTradeNo)?.refundedFen).toBe(1999);
    await sandbox.idle();
    expect(refundDeliveries(outTradeNo, req.outRefundNo)).toHaveLength(1);
  });

  it('a dropped connection after the refund: urllib re-sends the request by itself, and still one refund', async () => {
    const outTradeNo = await paidTrade();
    const req = refundRequest(outTradeNo, 600);
    // One drop: urllib's socketErrorRetry re-POSTs the same signed request, the sandbox answers the repeat.
    sandbox.injectFault({ kind: 'dropAfterProcessing', method: 'alipay.trade.refund' });
    expect(expectSuccess(await provider.refund(creds, req)).amountFen).toBe(600);
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);

    // Two drops (the original and urllib's retry): the caller sees UNAVAILABLE and retries itself.
    const next = refundRequest(outTradeNo, 400);
    sandbox.injectFault({ kind: 'dropAfterProcessing', method: 'alipay.trade.refund', count: 2 });
    await expectProviderError(provider.refund(creds, next), 'UNAVAILABLE');
    expect(sandbox.refunds(outTradeNo).map((r) => r.outRequestNo)).toEqual([req.outRefundNo, next.outRefundNo]);
    expect(expectSuccess(await provider.refund(creds, next)).amountFen).toBe(400);
    expect(sandbox.refunds(outTradeNo)).toHaveLength(2);
    expect(sandbox.trade(outTradeNo)).toMatchObject({ status: 'TRADE_SUCCESS', refundedFen: 1000 });
  });

  it('a broken answer signature → BAD_RESPONSE; the retry confirms the refund that was applied', async () => {
    const outTradeNo = await paidTrade();
    const req = refundRequest(outTradeNo, 100);
    sandbox.injectFault({ kind: 'badSignature', method: 'alipay.trade.refund' });
    await expectProviderError(provider.refund(creds, req), 'BAD_RESPONSE');
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
    expect(expectSuccess(await provider.refund(creds, req)).amountFen).toBe(100);
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
  });

  it('HTTP 502 before processing → UNAVAILABLE with nothing refunded', async () => {
    const outTradeNo = await paidTrade();
    const req = refundRequest(outTradeNo, 100);
    sandbox.injectFault({ kind: 'http502', method: 'alipay.trade.refund' });
    await expectProviderError(provider.refund(creds, req), 'UNAVAILABLE');
    expect(sandbox.refunds(outTradeNo)).toEqual([]);
    expect(await provider.queryRefund(creds, req)).toMatchObject({ status: 'NOT_FOUND' });
  });
});

describe('queryRefund (alipay.trade.fastpay.refund.query)', () => {
  it('NOT_FOUND before the refund, SUCCESS with amount and time after; unknown trade NOT_FOUND', async () => {
    const outTradeNo = await paidTrade();
    const req = refundRequest(outTradeNo, 1234);
    const before = await provider.queryRefund(creds, req);
    expect(before.status).toBe('NOT_FOUND');
    // Alipay answers 10000 without refund data for an unknown request number.
    expect(before.raw).toMatchObject({ code: '10000', out_request_no: req.outRefundNo, out_trade_no: outTradeNo });
    expect((before.raw as Record<string, unknown>).refund_amount).toBeUndefined();

    await provider.refund(creds, req);
    const after = expectSuccess(await provider.queryRefund(creds, req));
    expect(after.amountFen).toBe(1234);
    expect(after.providerRefundNo).toBe(sandbox.trade(outTradeNo)?.tradeNo);
    expect(after.refundTime.getTime()).toBe(beijingInstant(sandbox.refunds(outTradeNo)[0].gmtRefundPay));
    expect(after.raw).toMatchObject({ total_amount: '19.99', refund_amount: '12.34', refund_status: 'REFUND_SUCCESS', refund_reason: '买家申请退款' });

    // Another request number on the same trade is still unknown.
    expect((await provider.queryRefund(creds, { outTradeNo, outRefundNo: 'OTHER1' })).status).toBe('NOT_FOUND');
    expect((await provider.queryRefund(creds, { outTradeNo: uniqueNo('NOPE'), outRefundNo: 'R1' })).status).toBe('NOT_FOUND');
  });

  it('HTTP 502 on the query → UNAVAILABLE', async () => {
    sandbox.injectFault({ kind: 'http502', method: 'alipay.trade.fastpay.refund.query' });
    await expectProviderError(provider.queryRefund(creds, { outTradeNo: 'ANY', outRefundNo: 'R1' }), 'UNAVAILABLE');
  });
});

describe('sandbox protocol (raw alipay-sdk)', () => {
  const rawSdk = () =>
    new AlipaySdk({
      appId: creds.providerAppId,
      privateKey: creds.secrets.appPrivateKey,
      alipayPublicKey: creds.secrets.alipayPublicKey,
      gateway: `${sandbox.url}/gateway.do`,
      camelcase: false,
    });

  it('without out_request_no Alipay uses out_trade_no: only a full refund, and only once', async () => {
    const outTradeNo = await paidTrade();
    const sdk = rawSdk();
    const exec = (bizContent: Record<string, unknown>, method = 'alipay.trade.refund') =>
      sdk.exec(method, { timestamp: toAlipayTime(new Date()), bizContent }, { validateSign: true });

    expect(await exec({ out_trade_no: outTradeNo, refund_amount: '1.00' })).toMatchObject({ code: '40004', sub_code: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
    expect(await exec({ out_trade_no: outTradeNo, refund_amount: '19.99' })).toMatchObject({ code: '10000', fund_change: 'Y', refund_fee: '19.99' });
    expect(await exec({ out_trade_no: outTradeNo, refund_amount: '19.99' })).toMatchObject({ code: '10000', fund_change: 'N', refund_fee: '19.99' });
    expect(sandbox.refunds(outTradeNo).map((r) => r.outRequestNo)).toEqual([outTradeNo]);
    const q = await exec({ out_trade_no: outTradeNo, out_request_no: outTradeNo }, 'alipay.trade.fastpay.refund.query');
    expect(q).toMatchObject({ code: '10000', refund_amount: '19.99', refund_status: 'REFUND_SUCCESS' });
    // gmt_refund_pay only when asked for with query_options.
    expect(q.gmt_refund_pay).toBeUndefined();
  });

  it('validates refund_amount and finds the trade by trade_no too', async () => {
    const outTradeNo = await paidTrade();
    const tradeNo = sandbox.trade(outTradeNo)?.tradeNo;
    const sdk = rawSdk();
    const refund = (bizContent: Record<string, unknown>) => sdk.exec('alipay.trade.refund', { timestamp: toAlipayTime(new Date()), bizContent }, { validateSign: true });
    for (const amount of ['0', '0.00', '-1', '1.001', 'abc']) {
      expect(await refund({ out_trade_no: outTradeNo, refund_amount: amount, out_request_no: 'X1' })).toMatchObject({ code: '40004', sub_code: 'ACQ.INVALID_PARAMETER' });
    }
    expect(await refund({ out_trade_no: outTradeNo, out_request_no: 'X1' })).toMatchObject({ code: '40001', sub_code: 'isv.missing-parameter' });
    expect(await refund({ trade_no: tradeNo, refund_amount: '0.01', out_request_no: 'X1' })).toMatchObject({ code: '10000', out_trade_no: outTradeNo, refund_fee: '0.01' });
    expect(sandbox.refunds(outTradeNo)).toHaveLength(1);
  });

  it('serves API methods over GET as signed JSON, like the real gateway', async () => {
    const outTradeNo = await paidTrade();
    // pageExec(GET) yields gateway.do?<all signed params>: the same request a GET client would send.
    const url = rawSdk().pageExec('alipay.trade.query', 'GET', { timestamp: toAlipayTime(new Date()), bizContent: { out_trade_no: outTradeNo } });
    expect(url.startsWith(`${sandbox.url}/gateway.do?`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const text = await res.text();
    const m = /^\{"alipay_trade_query_response":(\{.*\}),"sign":"([^"]+)"\}$/.exec(text);
    expect(m).not.toBeNull();
    const [, inner, sign] = m ?? [];
    // Signed over the exact inner bytes with the sandbox's Alipay key.
    expect(createVerify('RSA-SHA256').update(inner, 'utf8').verify(sandbox.alipayPublicKey, sign, 'base64')).toBe(true);
    expect(JSON.parse(inner)).toMatchObject({ code: '10000', out_trade_no: outTradeNo, trade_status: 'TRADE_SUCCESS', total_amount: '19.99' });

    // A GET refund is processed like a POSTed one.
    const refundUrl = rawSdk().pageExec('alipay.trade.refund', 'GET', {
      timestamp: toAlipayTime(new Date()),
      bizContent: { out_trade_no: outTradeNo, refund_amount: '0.50', out_request_no: 'GET1' },
    });
    const refundText = await (await fetch(refundUrl)).text();
    expect(refundText.startsWith('{"alipay_trade_refund_response":{"code":"10000"')).toBe(true);
    expect(sandbox.refunds(outTradeNo).map((r) => r.outRequestNo)).toEqual(['GET1']);

    // A GET without a valid signature is answered in JSON too (signed 40002), not with an HTML page.
    const forged = await fetch(url.replace(encodeURIComponent(outTradeNo), encodeURIComponent(`${outTradeNo}X`)));
    expect(forged.headers.get('content-type')).toContain('application/json');
    expect(await forged.text()).toContain('isv.invalid-signature');
    // Page methods still render pages.
    const page = await fetch(`${sandbox.url}/gateway.do?method=alipay.trade.page.pay`);
    expect(page.headers.get('content-type')).toContain('text/html');
  });
});

describe('sandbox control API and persistence', () => {
  it('lists a trade’s refunds over HTTP and accepts the new fault kinds', async () => {
    const outTradeNo = await paidTrade();
    await provider.refund(creds, refundRequest(outTradeNo, 250));
    const list = await fetch(`${sandbox.url}/__sim/trades/${outTradeNo}/refunds`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as SimRefund[]).map((r) => [r.refundAmountFen, r.refundAmount])).toEqual([[250, '2.50']]);
    expect((await fetch(`${sandbox.url}/__sim/trades/NOPE_NOPE/refunds`)).status).toBe(404);

    for (const kind of ['http502AfterProcessing', 'dropAfterProcessing', 'sellerBalanceNotEnough']) {
      const r = await fetch(`${sandbox.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind, method: 'alipay.trade.refund' }) });
      expect(r.status).toBe(201);
    }
    const wrong = await fetch(`${sandbox.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'sellerBalanceNotEnough', method: 'alipay.trade.query' }) });
    expect(wrong.status).toBe(400);
    // The control API shares the queue with the handle.
    const queued = await fetch(`${sandbox.url}/__sim/faults`, { method: 'DELETE' });
    expect(((await queued.json()) as { faults: unknown[] }).faults).toEqual([]);
  });

  it('keeps refunds across a restart: the repeat after a restart does not refund again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-refund-'));
    const stateFile = path.join(dir, 'state.json');
    try {
      const first = await startAlipaySandbox({ stateFile, notifyRetryDelaysMs: [100] });
      const c = await first.createMerchant();
      channels.set(c.providerAppId, c);
      const outTradeNo = await paidTrade(1999, c, first);
      const req = refundRequest(outTradeNo, 999);
      expect(expectSuccess(await provider.refund(c, req)).amountFen).toBe(999);
      await first.idle();
      await first.close();

      const second = await startAlipaySandbox({ stateFile });
      try {
        const moved = { ...c, gatewayUrl: second.url };
        expect(second.trade(outTradeNo)).toMatchObject({ status: 'TRADE_SUCCESS', refundedFen: 999 });
        expect(second.refunds(outTradeNo)).toHaveLength(1);
        expect(expectSuccess(await provider.refund(moved, req)).amountFen).toBe(999);
        expect(second.refunds(outTradeNo)).toHaveLength(1);
        expect(await provider.refund(moved, refundRequest(outTradeNo, 1001))).toMatchObject({ status: 'FAIL', errorCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
