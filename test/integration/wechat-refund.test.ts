/**
 * WeChat Pay APIv3 refunds through the real adapter (real wechatpay-node-v3 `refunds` / `find_refunds`) against
 * the WeChat sandbox: asynchronous PROCESSING → SUCCESS/ABNORMAL/CLOSED, signed and encrypted REFUND.*
 * notifications, out_refund_no idempotency under lost answers, and WeChat's business refusals.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  ProviderError,
  type ChannelCredentials,
  type PaymentProvider,
  type RefundOutcome,
  type RefundRequest,
  type VerifiedNotification,
  type VerifiedRefundNotification,
} from '../../providers/types';
import { createWechatProvider } from '../../providers/wechat';
import { buildWechatClient } from '../../providers/wechat/client';
import { startWechatSandbox, type NotificationAttempt, type SimRefund, type WechatSandboxHandle } from '../../sandbox/wechat';

type Result<T> = T | ProviderError;

interface Delivery<T> {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  result: Result<T>;
}

/**
 * The gateway side: /wx/notify/{mchid} verifies payment notifications with verifyCallback and
 * /wx/refund-notify/{mchid} refund notifications with verifyRefundCallback, answering as the adapter says.
 */
async function startCallbackEndpoint(provider: PaymentProvider, credsByMchid: Map<string, ChannelCredentials>) {
  const payments: Delivery<VerifiedNotification>[] = [];
  const refunds: Delivery<VerifiedRefundNotification>[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const [, , kind, mchid] = (req.url ?? '').split('/');
      const creds = credsByMchid.get(decodeURIComponent(mchid ?? ''));
      let error: ProviderError | undefined;
      try {
        if (!creds) throw new ProviderError('BAD_CALLBACK', 'unknown channel');
        if (kind === 'refund-notify') refunds.push({ headers, rawBody, result: await provider.verifyRefundCallback!(creds, { headers, rawBody }) });
        else payments.push({ headers, rawBody, result: await provider.verifyCallback(creds, { headers, rawBody }) });
      } catch (err) {
        error = err instanceof ProviderError ? err : new ProviderError('BAD_CALLBACK', String(err));
        (kind === 'refund-notify' ? refunds : payments).push({ headers, rawBody, result: error } as never);
      }
      const ack = provider.callbackAck(!error, error?.message);
      res.writeHead(ack.status, { 'Content-Type': ack.contentType });
      res.end(ack.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    payments,
    refunds,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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

function expectFail(outcome: RefundOutcome, code: string): void {
  expect(outcome).toMatchObject({ status: 'FAIL', errorCode: code });
  expect(outcome.status === 'FAIL' && outcome.errorMsg.length).toBeGreaterThan(0);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WeChat Pay refunds: adapter ↔ sandbox (real wechatpay-node-v3)', () => {
  let sandbox: WechatSandboxHandle;
  let endpoint: Awaited<ReturnType<typeof startCallbackEndpoint>>;
  let creds: ChannelCredentials;
  let other: ChannelCredentials;
  const credsByMchid = new Map<string, ChannelCredentials>();
  const provider = createWechatProvider();
  let seq = 0;
  const stamp = Date.now().toString(36);
  const nextTradeNo = () => `WXR${stamp}${(seq++).toString().padStart(4, '0')}`;
  const nextRefundNo = () => `RF${stamp}_${(seq++).toString().padStart(4, '0')}`;

  /** A Native order created through the adapter and paid at the sandbox (payment notification not needed). */
  async function paidOrder(amountFen = 1000, c: ChannelCredentials = creds): Promise<{ outTradeNo: string; amountFen: number }> {
    const outTradeNo = nextTradeNo();
    await provider.prepay(c, {
      sceneCode: 'native', outTradeNo, amountFen, subject: '退款测试商品', description: '退款测试',
      notifyUrl: `${endpoint.url}/wx/notify/${c.mchId}`, expireAt: new Date(Date.now() + 15 * 60_000),
    });
    await sandbox.pay(outTradeNo, { mchid: c.mchId, notify: { mode: 'lost' } });
    return { outTradeNo, amountFen };
  }

  const refundReq = (order: { outTradeNo: string; amountFen: number }, over: Partial<RefundRequest> = {}): RefundRequest => ({
    outTradeNo: order.outTradeNo,
    outRefundNo: nextRefundNo(),
    amountFen: order.amountFen,
    totalFen: order.amountFen,
    reason: '商品已售完',
    notifyUrl: `${endpoint.url}/wx/refund-notify/${creds.mchId}`,
    ...over,
  });

  const refundDeliveries = (outRefundNo: string) =>
    endpoint.refunds.filter((d) => d.result instanceof ProviderError || d.result.outRefundNo === outRefundNo);

  beforeAll(async () => {
    // Manual completion by default: each test decides when and how a refund completes.
    sandbox = await startWechatSandbox({ notifyRetryDelaysMs: [20, 40], refundDelayMs: null });
    endpoint = await startCallbackEndpoint(provider, credsByMchid);
    creds = await sandbox.createMerchant();
    other = await sandbox.createMerchant();
    credsByMchid.set(creds.mchId, creds);
    credsByMchid.set(other.mchId, other);
  });

  afterEach(async () => {
    await sandbox.clearFaults();
    await sandbox.whenNotificationsIdle();
    endpoint.refunds.length = 0;
    endpoint.payments.length = 0;
  });

  afterAll(async () => {
    await endpoint?.close();
    await sandbox?.close();
  });

  describe('the asynchronous refund', () => {
    it('refund → PROCESSING; completion → verified REFUND.SUCCESS notification; queryRefund → SUCCESS with amount and time', async () => {
      const order = await paidOrder(1999);
      const req = refundReq(order);
      const applied = await provider.refund(creds, req);
      const [record] = await sandbox.refunds(order.outTradeNo);
      expect(applied).toMatchObject({ status: 'PROCESSING', providerRefundNo: record.refund_id });
      expect(record).toMatchObject({ out_refund_no: req.outRefundNo, amount_refund: 1999, amount_total: 1999, status: 'PROCESSING', reason: '商品已售完' });
      expect(await provider.queryRefund(creds, req)).toMatchObject({ status: 'PROCESSING', providerRefundNo: record.refund_id });
      // WeChat moves the trade to REFUND at once; the payment itself stays a success for the adapter.
      expect((await sandbox.getTrade(order.outTradeNo))?.trade_state).toBe('REFUND');
      expect(await provider.query(creds, order.outTradeNo)).toMatchObject({ status: 'SUCCESS', amountFen: 1999 });
      expect(refundDeliveries(req.outRefundNo)).toHaveLength(0);

      const { refund, eventId } = await sandbox.completeRefund(req.outRefundNo);
      await sandbox.whenNotificationsIdle();
      expect(refund.status).toBe('SUCCESS');
      const got = refundDeliveries(req.outRefundNo);
      expect(got).toHaveLength(1);
      const n = got[0].result as VerifiedRefundNotification;
      expect(n).toMatchObject({ outTradeNo: order.outTradeNo, outRefundNo: req.outRefundNo, eventId, mchId: creds.mchId });
      expect(n.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerRefundNo: record.refund_id });
      expect(n.outcome.status === 'SUCCESS' && n.outcome.refundTime.getTime()).toBe(Date.parse(refund.success_time!));
      expect(JSON.parse(got[0].rawBody.toString('utf8'))).toMatchObject({
        event_type: 'REFUND.SUCCESS',
        resource_type: 'encrypt-resource',
        summary: '退款成功',
        resource: { original_type: 'refund', algorithm: 'AEAD_AES_256_GCM', associated_data: 'refund' },
      });
      expect(await sandbox.notifications({ outRefundNo: req.outRefundNo })).toEqual([
        expect.objectContaining({ eventId, eventType: 'REFUND.SUCCESS', ok: true, status: 204, attempt: 1 }),
      ]);

      const q = await provider.queryRefund(creds, req);
      expect(q).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerRefundNo: record.refund_id });
      expect(q.status === 'SUCCESS' && q.refundTime.getTime()).toBe(Date.parse(refund.success_time!));
      // A final refund cannot be completed a second time.
      await expect(sandbox.completeRefund(req.outRefundNo)).rejects.toMatchObject({ code: 'REFUND_STATE_ERROR' });
    });

    it('completes by itself after the configured delay (setRefundBehaviour)', async () => {
      const order = await paidOrder(500);
      const req = refundReq(order);
      expect(await sandbox.setRefundBehaviour({ autoCompleteAfterMs: 50 })).toEqual({ autoCompleteAfterMs: 50, outcome: 'SUCCESS' });
      try {
        expect((await provider.refund(creds, req)).status).toBe('PROCESSING');
      } finally {
        await sandbox.setRefundBehaviour({ autoCompleteAfterMs: null });
      }
      const delivery = await waitFor('the REFUND.SUCCESS notification', () => refundDeliveries(req.outRefundNo)[0]);
      expect((delivery.result as VerifiedRefundNotification).outcome).toMatchObject({ status: 'SUCCESS', amountFen: 500 });
      expect(await provider.queryRefund(creds, req)).toMatchObject({ status: 'SUCCESS', amountFen: 500 });
    });

    it('ABNORMAL and CLOSED completions map to FAIL (notification and query); a CLOSED refund frees its amount', async () => {
      const order = await paidOrder(1000);
      const abnormal = refundReq(order, { amountFen: 400 });
      const closed = refundReq(order, { amountFen: 600 });
      expect((await provider.refund(creds, abnormal)).status).toBe('PROCESSING');
      expect((await provider.refund(creds, closed)).status).toBe('PROCESSING');
      await sandbox.completeRefund(abnormal.outRefundNo, { status: 'ABNORMAL' });
      await sandbox.completeRefund(closed.outRefundNo, { status: 'CLOSED' });
      await sandbox.whenNotificationsIdle();

      const a = refundDeliveries(abnormal.outRefundNo);
      const c = refundDeliveries(closed.outRefundNo);
      expect(a).toHaveLength(1);
      expect(c).toHaveLength(1);
      expectFail((a[0].result as VerifiedRefundNotification).outcome, 'ABNORMAL');
      expectFail((c[0].result as VerifiedRefundNotification).outcome, 'CLOSED');
      expect(JSON.parse(a[0].rawBody.toString('utf8')).event_type).toBe('REFUND.ABNORMAL');
      expect(JSON.parse(c[0].rawBody.toString('utf8')).event_type).toBe('REFUND.CLOSED');
      expectFail(await provider.queryRefund(creds, abnormal), 'ABNORMAL');
      expectFail(await provider.queryRefund(creds, closed), 'CLOSED');

      // 400 are stuck in the ABNORMAL refund; the 600 of the CLOSED one can be refunded again, not more.
      expectFail(await provider.refund(creds, refundReq(order, { amountFen: 601 })), 'INVALID_REQUEST');
      expect((await provider.refund(creds, refundReq(order, { amountFen: 600 }))).status).toBe('PROCESSING');
    });
  });

  describe('amounts and idempotency', () => {
    it('partial refund, second partial, then an over-refund is refused with INVALID_REQUEST', async () => {
      const order = await paidOrder(1000);
      expect((await provider.refund(creds, refundReq(order, { amountFen: 300 }))).status).toBe('PROCESSING');
      const second = refundReq(order, { amountFen: 500 });
      expect((await provider.refund(creds, second)).status).toBe('PROCESSING');
      await sandbox.completeRefund(second.outRefundNo);
      expect(await provider.queryRefund(creds, second)).toMatchObject({ status: 'SUCCESS', amountFen: 500 });

      const over = await provider.refund(creds, refundReq(order, { amountFen: 201 }));
      expectFail(over, 'INVALID_REQUEST');
      expect(over.status === 'FAIL' && over.errorMsg).toContain('可退金额');
      // Exactly the rest is still fine.
      expect((await provider.refund(creds, refundReq(order, { amountFen: 200 }))).status).toBe('PROCESSING');
      const records = await sandbox.refunds(order.outTradeNo);
      expect(records.map((r) => r.amount_refund)).toEqual([300, 500, 200]);
      // Nothing is left: even 1 fen is an over-refund now.
      expectFail(await provider.refund(creds, refundReq(order, { amountFen: 1 })), 'INVALID_REQUEST');
    });

    it('the same out_refund_no again answers the same refund (its current status); another amount → FAIL; one refund at the sandbox', async () => {
      const order = await paidOrder(800);
      const req = refundReq(order, { amountFen: 300 });
      const first = await provider.refund(creds, req);
      const again = await provider.refund(creds, req);
      expect(first.status).toBe('PROCESSING');
      expect(again).toMatchObject({ status: 'PROCESSING', providerRefundNo: (first as { providerRefundNo: string }).providerRefundNo });
      await sandbox.completeRefund(req.outRefundNo);
      // After completion a replay reports the refund as it stands: SUCCESS, still the one refund.
      expect(await provider.refund(creds, req)).toMatchObject({ status: 'SUCCESS', amountFen: 300 });

      const changed = await provider.refund(creds, { ...req, amountFen: 301 });
      expectFail(changed, 'INVALID_REQUEST');
      const records = await sandbox.refunds(order.outTradeNo);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ out_refund_no: req.outRefundNo, amount_refund: 300, status: 'SUCCESS' });
    });

    it('the same out_refund_no for another order is refused, not answered with the first order’s refund', async () => {
      const a = await paidOrder(100);
      const b = await paidOrder(100);
      const req = refundReq(a);
      expect((await provider.refund(creds, req)).status).toBe('PROCESSING');
      expectFail(await provider.refund(creds, { ...req, outTradeNo: b.outTradeNo }), 'INVALID_REQUEST');
      expect(await sandbox.refunds(b.outTradeNo)).toHaveLength(0);
      // Asking about that number for order b is a wrong answer for b: never reported as b's refund.
      await expectProviderError(provider.queryRefund(creds, { outTradeNo: b.outTradeNo, outRefundNo: req.outRefundNo }), 'BAD_RESPONSE');
    });

    it('out_refund_no may use every character WeChat allows (_-|*@), in the query URL path too', async () => {
      const order = await paidOrder(100);
      const req = refundReq(order, { outRefundNo: `R|*@_-${stamp}` });
      expect((await provider.refund(creds, req)).status).toBe('PROCESSING');
      expect((await provider.queryRefund(creds, req)).status).toBe('PROCESSING');
      expect((await sandbox.getRefund(req.outRefundNo))?.amount_refund).toBe(100);
    });
  });

  describe('refusals', () => {
    it('unknown order, another merchant’s order → FAIL RESOURCE_NOT_EXISTS; unpaid order and wrong total → FAIL INVALID_REQUEST', async () => {
      expectFail(await provider.refund(creds, refundReq({ outTradeNo: nextTradeNo(), amountFen: 100 })), 'RESOURCE_NOT_EXISTS');
      const theirs = await paidOrder(100, other);
      expectFail(await provider.refund(creds, refundReq(theirs)), 'RESOURCE_NOT_EXISTS');

      const unpaid = nextTradeNo();
      await provider.prepay(creds, {
        sceneCode: 'native', outTradeNo: unpaid, amountFen: 100, subject: 's', description: 'd',
        notifyUrl: `${endpoint.url}/wx/notify/${creds.mchId}`, expireAt: new Date(Date.now() + 60_000),
      });
      expectFail(await provider.refund(creds, refundReq({ outTradeNo: unpaid, amountFen: 100 })), 'INVALID_REQUEST');

      const order = await paidOrder(100);
      expectFail(await provider.refund(creds, refundReq(order, { totalFen: 99, amountFen: 50 })), 'INVALID_REQUEST');
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(0);
    });

    it('NOT_ENOUGH (403, signed) → FAIL NOT_ENOUGH, nothing created; the fault waits for a refund application; the retry succeeds', async () => {
      const order = await paidOrder(300);
      const req = refundReq(order);
      await sandbox.injectFault({ kind: 'notEnough' });
      // A query in between must not use the fault up.
      expect((await provider.queryRefund(creds, req)).status).toBe('NOT_FOUND');
      const refused = await provider.refund(creds, req);
      expectFail(refused, 'NOT_ENOUGH');
      expect(refused.status === 'FAIL' && refused.errorMsg).toContain('余额不足');
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(0);
      // After "recharging", WeChat wants the same out_refund_no again.
      expect((await provider.refund(creds, req)).status).toBe('PROCESSING');
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(1);
    });

    it('a request signed with the wrong key (401 SIGN_ERROR) says nothing about the refund → thrown REJECTED, not FAIL', async () => {
      const order = await paidOrder(100);
      const forged = { ...creds, secrets: { ...creds.secrets, merchantPrivateKey: other.secrets.merchantPrivateKey } };
      await expectProviderError(provider.refund(forged, refundReq(order)), 'REJECTED', 'SIGN_ERROR');
      await expectProviderError(provider.queryRefund(forged, { outTradeNo: order.outTradeNo, outRefundNo: 'X1' }), 'REJECTED', 'SIGN_ERROR');
    });

    it('the adapter refuses what WeChat would refuse or misroute before sending anything', async () => {
      const order = await paidOrder(100);
      await expectProviderError(provider.refund(creds, refundReq(order, { notifyUrl: `${endpoint.url}/wx/refund-notify/1?x=1` })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.refund(creds, refundReq(order, { outRefundNo: 'RF/../1' })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.refund(creds, refundReq(order, { amountFen: 0.5 })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.refund(creds, refundReq(order, { totalFen: 0 })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.queryRefund(creds, { outTradeNo: order.outTradeNo, outRefundNo: 'a?b' }), 'REJECTED', 'PARAM_ERROR');
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(0);
    });

    it('the sandbox itself answers malformed applications with signed 400 PARAM_ERROR (SDK used directly), refunds by transaction_id', async () => {
      const order = await paidOrder(200);
      const { pay } = buildWechatClient(creds, { httpTimeoutMs: 5000, certRefreshMinIntervalMs: 0, userAgent: 'test' });
      const base = { out_trade_no: order.outTradeNo, out_refund_no: nextRefundNo(), notify_url: `${endpoint.url}/n` };
      for (const amount of [{ refund: 1.5, total: 200, currency: 'CNY' }, { refund: 100, total: 200, currency: 'USD' }, { refund: 0, total: 200, currency: 'CNY' }]) {
        const out = await pay.refunds({ ...base, amount });
        expect(out.status).toBe(400);
        expect(JSON.parse(out.error as string).code).toBe('PARAM_ERROR');
        expect(out.errRaw).toEqual({ signed: true });
      }
      const bad = await pay.refunds({ ...base, out_refund_no: 'a b', amount: { refund: 1, total: 200, currency: 'CNY' } });
      expect(JSON.parse(bad.error as string).code).toBe('PARAM_ERROR');

      const trade = await sandbox.getTrade(order.outTradeNo);
      const byTxId = await pay.refunds({
        transaction_id: trade!.transaction_id!, out_refund_no: nextRefundNo(), amount: { refund: 150, total: 200, currency: 'CNY' },
      });
      expect(byTxId.status).toBe(200);
      expect(byTxId.data).toMatchObject({
        out_trade_no: order.outTradeNo, transaction_id: trade!.transaction_id, channel: 'ORIGINAL', status: 'PROCESSING',
        user_received_account: '支付用户零钱', funds_account: 'AVAILABLE',
        amount: { total: 200, refund: 150, payer_total: 200, payer_refund: 150, settlement_refund: 150, settlement_total: 200, discount_refund: 0, currency: 'CNY', refund_fee: 0 },
      });
      expect((byTxId.data as { refund_id: string }).refund_id).toMatch(/^50\d{27}$/);
      // No notify_url: completing it sends nothing (WeChat would use the 商户平台 setting).
      const done = await sandbox.completeRefund((byTxId.data as { out_refund_no: string }).out_refund_no);
      expect(done.eventId).toBeUndefined();
      const unknown = await pay.find_refunds('NOPE0000');
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.error as string)).toEqual({ code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' });
    });
  });

  describe('lost answers and gateway failures', () => {
    it('http500AfterProcessing: refund throws UNAVAILABLE, the retry with the same number finds the refund — exactly one', async () => {
      const order = await paidOrder(700);
      const req = refundReq(order);
      await sandbox.injectFault({ kind: 'http500AfterProcessing' });
      await expectProviderError(provider.refund(creds, req), 'UNAVAILABLE', 'SYSTEM_ERROR');
      // The refund was made although the answer was lost.
      const [made] = await sandbox.refunds(order.outTradeNo);
      expect(made).toMatchObject({ out_refund_no: req.outRefundNo, status: 'PROCESSING' });
      const retried = await provider.refund(creds, req);
      expect(retried).toMatchObject({ status: 'PROCESSING', providerRefundNo: made.refund_id });
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(1);
    });

    it('http500 (not processed): UNAVAILABLE, query says NOT_FOUND, the retry creates the refund', async () => {
      const order = await paidOrder(700);
      const req = refundReq(order);
      await sandbox.injectFault({ kind: 'http500' });
      await expectProviderError(provider.refund(creds, req), 'UNAVAILABLE', 'SYSTEM_ERROR');
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(0);
      expect((await provider.queryRefund(creds, req)).status).toBe('NOT_FOUND');
      expect((await provider.refund(creds, req)).status).toBe('PROCESSING');
      expect(await sandbox.refunds(order.outTradeNo)).toHaveLength(1);
      await sandbox.injectFault({ kind: 'http500' });
      await expectProviderError(provider.queryRefund(creds, req), 'UNAVAILABLE');
    });

    it('a broken answer signature → BAD_RESPONSE, for success and refusal answers alike', async () => {
      const order = await paidOrder(100);
      await sandbox.injectFault({ kind: 'badSignature', count: 3 });
      await expectProviderError(provider.refund(creds, refundReq(order)), 'BAD_RESPONSE');
      await expectProviderError(provider.refund(creds, refundReq({ outTradeNo: nextTradeNo(), amountFen: 1 })), 'BAD_RESPONSE');
      await expectProviderError(provider.queryRefund(creds, { outTradeNo: order.outTradeNo, outRefundNo: 'NOPE0001' }), 'BAD_RESPONSE');
    });

    it('unsigned answers (e.g. from a proxy) never prove a refusal or "refund not found"', async () => {
      let answer = { status: 403, body: '{"code":"NOT_ENOUGH","message":"基本账户余额不足"}' };
      const proxy = http.createServer((_req, res) => {
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(answer.body);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const viaProxy = { ...creds, gatewayUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
        const req = refundReq({ outTradeNo: 'WXR0000000', amountFen: 100 });
        await expectProviderError(provider.refund(viaProxy, req), 'BAD_RESPONSE');
        answer = { status: 404, body: '{"code":"RESOURCE_NOT_EXISTS","message":"退款单不存在"}' };
        await expectProviderError(provider.queryRefund(viaProxy, req), 'BAD_RESPONSE');
        await expectProviderError(provider.refund(viaProxy, req), 'BAD_RESPONSE');
        // Retryable codes stay retryable even unsigned: retrying with the same number is always safe.
        answer = { status: 429, body: '{"code":"FREQUENCY_LIMITED","message":"频率限制"}' };
        await expectProviderError(provider.refund(viaProxy, req), 'UNAVAILABLE', 'FREQUENCY_LIMITED');
        answer = { status: 502, body: '<html>bad gateway</html>' };
        await expectProviderError(provider.refund(viaProxy, req), 'UNAVAILABLE');
        answer = { status: 200, body: JSON.stringify({ out_refund_no: req.outRefundNo, out_trade_no: req.outTradeNo, status: 'SUCCESS' }) };
        await expectProviderError(provider.refund(viaProxy, req), 'BAD_RESPONSE');
      } finally {
        proxy.closeAllConnections();
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      }
    });

    it('connection refused → UNAVAILABLE', async () => {
      const dead = http.createServer();
      await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((resolve) => dead.close(() => resolve()));
      const req = refundReq({ outTradeNo: 'WXR0000000', amountFen: 100 });
      await expectProviderError(provider.refund({ ...creds, gatewayUrl: `http://127.0.0.1:${port}` }, req), 'UNAVAILABLE');
    });

    it('queryRefund of an unknown number → NOT_FOUND', async () => {
      const order = await paidOrder(100);
      expect(await provider.queryRefund(creds, { outTradeNo: order.outTradeNo, outRefundNo: nextRefundNo() })).toMatchObject({ status: 'NOT_FOUND' });
    });
  });

  describe('refund notifications', () => {
    it('lost notification: nothing arrives, queryRefund still reports SUCCESS', async () => {
      const order = await paidOrder(250);
      const req = refundReq(order);
      await provider.refund(creds, req);
      const { eventId } = await sandbox.completeRefund(req.outRefundNo, { notify: { mode: 'lost' } });
      await sandbox.whenNotificationsIdle();
      expect(refundDeliveries(req.outRefundNo)).toHaveLength(0);
      expect(await sandbox.notifications({ eventId })).toEqual([expect.objectContaining({ ok: false, mode: 'lost' })]);
      expect(await provider.queryRefund(creds, req)).toMatchObject({ status: 'SUCCESS', amountFen: 250 });
    });

    it('duplicate notification: delivered twice with the same eventId, both verified', async () => {
      const order = await paidOrder(250);
      const req = refundReq(order);
      await provider.refund(creds, req);
      const { eventId } = await sandbox.completeRefund(req.outRefundNo, { notify: { mode: 'duplicate' } });
      await sandbox.whenNotificationsIdle();
      const got = refundDeliveries(req.outRefundNo);
      expect(got.map((d) => (d.result as VerifiedRefundNotification).eventId)).toEqual([eventId, eventId]);
    });

    it('tampered body, corrupted ciphertext, stale timestamp → BAD_CALLBACK and WeChat keeps retrying', async () => {
      for (const notify of [{ mode: 'tampered' as const }, { badCiphertext: true }, { timestampSkewSeconds: -600 }]) {
        const order = await paidOrder(100);
        const req = refundReq(order);
        await provider.refund(creds, req);
        const { eventId } = await sandbox.completeRefund(req.outRefundNo, { notify });
        await sandbox.whenNotificationsIdle();
        const log = await sandbox.notifications({ eventId });
        // Rejected with 4xx on every attempt (1 + the 2 retries configured).
        expect(log.map((a: NotificationAttempt) => [a.ok, a.status])).toEqual([[false, 400], [false, 400], [false, 400]]);
        const results = endpoint.refunds.splice(0).map((d) => d.result);
        expect(results).toHaveLength(3);
        for (const r of results) expect(r).toMatchObject({ kind: 'BAD_CALLBACK' });
        if (notify.badCiphertext) expect((results[0] as ProviderError).message).toMatch(/authentication failed/);
        // The refund itself is done: the query says so whatever happened to the notification.
        expect((await provider.queryRefund(creds, req)).status).toBe('SUCCESS');
      }
    });

    it('payment and refund handlers refuse each other’s events; a notification for another mchid is refused', async () => {
      const order = await paidOrder(100);
      const req = refundReq(order);
      await provider.refund(creds, req);
      await sandbox.completeRefund(req.outRefundNo);
      await sandbox.whenNotificationsIdle();
      const [refundNote] = refundDeliveries(req.outRefundNo);
      expect(refundNote.result).not.toBeInstanceOf(ProviderError);
      const cb = { headers: refundNote.headers, rawBody: refundNote.rawBody };

      // Validly signed and encrypted for this merchant, but a refund is not a payment outcome.
      const e = await expectProviderError(provider.verifyCallback(creds, cb), 'BAD_CALLBACK');
      expect(e.message).toMatch(/unsupported event_type REFUND\.SUCCESS/);
      // Same body for a channel config of another mchid sharing the key: the mchid check refuses it.
      await expectProviderError(provider.verifyRefundCallback!({ ...creds, mchId: '1999999999' }, cb), 'BAD_CALLBACK');
      // Another merchant's APIv3 key cannot decrypt it (GCM tag).
      await expectProviderError(provider.verifyRefundCallback!(other, cb), 'BAD_CALLBACK');

      const paid = nextTradeNo();
      await provider.prepay(creds, {
        sceneCode: 'native', outTradeNo: paid, amountFen: 100, subject: 's', description: 'd',
        notifyUrl: `${endpoint.url}/wx/notify/${creds.mchId}`, expireAt: new Date(Date.now() + 60_000),
      });
      await sandbox.pay(paid);
      await sandbox.whenNotificationsIdle();
      const payNote = endpoint.payments.find((d) => !(d.result instanceof ProviderError) && d.result.outTradeNo === paid);
      expect(payNote).toBeDefined();
      const e2 = await expectProviderError(provider.verifyRefundCallback!(creds, { headers: payNote!.headers, rawBody: payNote!.rawBody }), 'BAD_CALLBACK');
      expect(e2.message).toMatch(/unsupported event_type TRANSACTION\.SUCCESS/);
    });

    it('an amount the notification claims is reported as claimed (the check against the refund is the caller’s)', async () => {
      const order = await paidOrder(900);
      const req = refundReq(order, { amountFen: 300 });
      await provider.refund(creds, req);
      await sandbox.completeRefund(req.outRefundNo, { notify: { amountOverrideFen: 900 } });
      await sandbox.whenNotificationsIdle();
      const [n] = refundDeliveries(req.outRefundNo);
      expect((n.result as VerifiedRefundNotification).outcome).toMatchObject({ status: 'SUCCESS', amountFen: 900 });
      expect(await provider.queryRefund(creds, req)).toMatchObject({ status: 'SUCCESS', amountFen: 300 });
    });
  });
});

describe('WeChat sandbox refunds: control API and persistence', () => {
  it('drives refunds, completion, behaviour and the new faults over HTTP /__sim', async () => {
    const sb = await startWechatSandbox({ notifyRetryDelaysMs: [], refundDelayMs: null });
    try {
      const post = (p: string, body: unknown = {}) =>
        fetch(`${sb.url}/__sim${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const get = async (p: string) => (await fetch(`${sb.url}/__sim${p}`)).json();
      const creds = (await (await post('/merchants')).json()) as ChannelCredentials;
      const provider = createWechatProvider();
      const outTradeNo = 'SIMREFUND001';
      await provider.prepay(creds, {
        sceneCode: 'native', outTradeNo, amountFen: 100, subject: 's', description: 'd',
        notifyUrl: 'http://127.0.0.1:9/n', expireAt: new Date(Date.now() + 60_000),
      });
      expect((await post(`/trades/${outTradeNo}/pay`, { notify: { mode: 'lost' } })).status).toBe(200);
      const req: RefundRequest = { outTradeNo, outRefundNo: 'SIMR1', amountFen: 40, totalFen: 100, notifyUrl: 'http://127.0.0.1:9/r' };

      expect((await post('/faults', { kind: 'notEnough' })).status).toBe(200);
      expectFail(await provider.refund(creds, req), 'NOT_ENOUGH');
      expect((await post('/faults', { kind: 'http500AfterProcessing' })).status).toBe(200);
      await expectProviderError(provider.refund(creds, req), 'UNAVAILABLE');

      const list = (await get(`/refunds?out_trade_no=${outTradeNo}`)) as { refunds: SimRefund[] };
      expect(list.refunds).toEqual([expect.objectContaining({ out_refund_no: 'SIMR1', amount_refund: 40, status: 'PROCESSING' })]);
      expect(await get('/refunds/SIMR1')).toMatchObject({ refund_id: list.refunds[0].refund_id });
      expect((await fetch(`${sb.url}/__sim/refunds/NOPE`)).status).toBe(404);

      const done = (await (await post('/refunds/SIMR1/complete', { status: 'CLOSED' })).json()) as { refund: SimRefund; eventId: string };
      expect(done.refund.status).toBe('CLOSED');
      expectFail(await provider.queryRefund(creds, req), 'CLOSED');
      expect((await post('/refunds/SIMR1/complete')).status).toBe(409);
      expect((await post('/refunds/SIMR1/complete', { status: 'NONSENSE' })).status).toBe(400);
      await sb.whenNotificationsIdle();
      const log = (await get('/notifications?out_refund_no=SIMR1')) as { notifications: NotificationAttempt[] };
      // The endpoint does not exist: one failed attempt (no retries configured), logged with the refund.
      expect(log.notifications).toEqual([expect.objectContaining({ eventId: done.eventId, eventType: 'REFUND.CLOSED', ok: false })]);

      expect(await (await post('/refund-behaviour', { autoCompleteAfterMs: 0, outcome: 'ABNORMAL' })).json()).toEqual({ autoCompleteAfterMs: 0, outcome: 'ABNORMAL' });
      expect((await post('/refund-behaviour', { autoCompleteAfterMs: -1 })).status).toBe(400);
      const second = { ...req, outRefundNo: 'SIMR2' };
      expect((await provider.refund(creds, second)).status).toBe('PROCESSING');
      await waitFor('the automatic ABNORMAL completion', async () => ((await sb.getRefund('SIMR2'))?.status === 'ABNORMAL' ? true : undefined));
      expectFail(await provider.queryRefund(creds, second), 'ABNORMAL');
    } finally {
      await sb.close();
    }
  });

  it('keeps refunds and their pending automatic completion across a restart with stateFile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-sandbox-refund-'));
    const stateFile = path.join(dir, 'state.json');
    try {
      const first = await startWechatSandbox({ stateFile, refundDelayMs: 1500 });
      const creds = await first.createMerchant();
      const provider = createWechatProvider();
      await provider.prepay(creds, {
        sceneCode: 'native', outTradeNo: 'PERSISTR0001', amountFen: 88, subject: 's', description: 'd',
        notifyUrl: 'http://127.0.0.1:9/n', expireAt: new Date(Date.now() + 60_000),
      });
      await first.pay('PERSISTR0001', { notify: { mode: 'lost' } });
      const req: RefundRequest = { outTradeNo: 'PERSISTR0001', outRefundNo: 'PERSISTREF1', amountFen: 88, totalFen: 88, notifyUrl: 'http://127.0.0.1:9/r' };
      expect((await provider.refund(creds, req)).status).toBe('PROCESSING');
      // Stopped before the 1.5 s are up: the completion must not be forgotten.
      await first.close();

      const second = await startWechatSandbox({ stateFile, refundDelayMs: null });
      try {
        const moved = { ...creds, gatewayUrl: second.url };
        const [kept] = await second.refunds('PERSISTR0001');
        // Still PROCESSING: what completes it next can only be the re-armed timer of this sandbox.
        expect(kept).toMatchObject({ out_refund_no: 'PERSISTREF1', amount_refund: 88, status: 'PROCESSING' });
        await waitFor('the re-armed completion', async () => ((await second.getRefund('PERSISTREF1'))?.status === 'SUCCESS' ? true : undefined));
        expect(await provider.queryRefund(moved, req)).toMatchObject({ status: 'SUCCESS', amountFen: 88 });
        // Still one refund: a replay after the restart answers the persisted one.
        expect(await provider.refund(moved, req)).toMatchObject({ status: 'SUCCESS', providerRefundNo: kept.refund_id });
        expect(await second.refunds()).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
