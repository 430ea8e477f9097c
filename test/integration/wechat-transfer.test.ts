/**
 * WeChat Pay 商家转账 through the real adapter (requests signed with wechatpay-node-v3's own signing, answers
 * verified like every SDK call) against the WeChat sandbox: WAIT_USER_CONFIRM with a package, the payee's
 * confirmation page driven over HTTP as a browser would, MCHTRANSFER.BILL.FINISHED notifications, the 24-hour
 * close, merchant cancellation, payee-side failures, locked funds, out_bill_no idempotency under lost answers.
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
  type TransferOutcome,
  type TransferRequest,
  type VerifiedTransferNotification,
} from '../../providers/types';
import { createWechatProvider } from '../../providers/wechat';
import { startWechatSandbox, type WechatSandboxHandle } from '../../sandbox/wechat';

type Delivery = { rawBody: Buffer; result: VerifiedTransferNotification | ProviderError };

/** The gateway side: /wx/transfer-notify/{mchid} verifies with verifyTransferCallback and answers as the adapter says. */
async function startCallbackEndpoint(provider: PaymentProvider, credsByMchid: Map<string, ChannelCredentials>) {
  const deliveries: Delivery[] = [];
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
        // Payment and refund handlers are here too, to show they refuse a transfer event.
        if (kind === 'notify') await provider.verifyCallback(creds, { headers, rawBody });
        else if (kind === 'refund-notify') await provider.verifyRefundCallback!(creds, { headers, rawBody });
        else deliveries.push({ rawBody, result: await provider.verifyTransferCallback!(creds, { headers, rawBody }) });
      } catch (err) {
        error = err instanceof ProviderError ? err : new ProviderError('BAD_CALLBACK', String(err));
        deliveries.push({ rawBody, result: error });
      }
      const ack = provider.callbackAck(!error, error?.message);
      res.writeHead(ack.status, { 'Content-Type': ack.contentType });
      res.end(ack.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deliveries,
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

function expectFail(outcome: TransferOutcome, code: string): void {
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

/** The payee's browser: opens what requestMerchantTransfer would open and submits the page's own form. */
async function openConfirmationPage(sandboxUrl: string, confirm: Record<string, string>): Promise<{ status: number; html: string }> {
  const q = new URLSearchParams({ mchId: confirm.mchId, appId: confirm.appId, package: confirm.package });
  const res = await fetch(`${sandboxUrl}/transfer/confirm?${q.toString()}`);
  return { status: res.status, html: await res.text() };
}

async function submitConfirmationPage(sandboxUrl: string, html: string, button: 'confirm' | 'cancel'): Promise<{ status: number; html: string }> {
  const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error('no form on the page');
  const fields = new URLSearchParams();
  for (const m of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(m[1], m[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
  }
  const id = button === 'confirm' ? 'wx-transfer-confirm' : 'wx-transfer-cancel';
  const btn = new RegExp(`id="${id}" name="([^"]+)" value="([^"]+)"`).exec(form[2]);
  if (!btn) throw new Error(`no #${id} button`);
  fields.set(btn[1], btn[2]);
  const res = await fetch(new URL(form[1], sandboxUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
  });
  return { status: res.status, html: await res.text() };
}

const resultOf = (html: string) => /id="wx-transfer-result" data-result="([a-z]+)"/.exec(html)?.[1];

describe('WeChat Pay 商家转账: adapter ↔ sandbox (real wechatpay-node-v3 signing)', () => {
  let sandbox: WechatSandboxHandle;
  let endpoint: Awaited<ReturnType<typeof startCallbackEndpoint>>;
  let creds: ChannelCredentials;
  const credsByMchid = new Map<string, ChannelCredentials>();
  const provider = createWechatProvider();
  let seq = 0;
  const stamp = Date.now().toString(36);
  const nextNo = () => `CDT${stamp}${(seq++).toString().padStart(4, '0')}`;
  const payee = { openid: `oZhang_${stamp}`, name: '张三' };
  const unverified = { openid: `oNoName_${stamp}` };
  const abnormal = { openid: `oAbnormal_${stamp}`, name: '王五', abnormal: true };

  const transferReq = (over: Partial<TransferRequest> = {}): TransferRequest => ({
    outBizNo: nextNo(),
    amountFen: 1000,
    payeeType: 'WX_OPENID',
    payeeAccount: payee.openid,
    remark: '推广活动奖励',
    notifyUrl: `${endpoint.url}/wx/transfer-notify/${creds.mchId}`,
    ...over,
  });

  const deliveriesOf = (outBizNo: string) =>
    endpoint.deliveries.filter((d) => !(d.result instanceof ProviderError) && d.result.outBizNo === outBizNo).map((d) => d.result as VerifiedTransferNotification);

  /** A new bill waiting for its payee; returns the request and the confirm parameters. */
  async function waitingBill(over: Partial<TransferRequest> = {}) {
    const req = transferReq(over);
    const outcome = await provider.transfer!(creds, req);
    expect(outcome.status).toBe('WAIT_USER_CONFIRM');
    return { req, outcome: outcome as Extract<TransferOutcome, { status: 'WAIT_USER_CONFIRM' }> };
  }

  beforeAll(async () => {
    sandbox = await startWechatSandbox({ notifyRetryDelaysMs: [20, 40], transferCancelDelayMs: 30 });
    endpoint = await startCallbackEndpoint(provider, credsByMchid);
    creds = await sandbox.createMerchant();
    credsByMchid.set(creds.mchId, creds);
    await sandbox.addPayee(payee);
    await sandbox.addPayee(unverified);
    await sandbox.addPayee(abnormal);
  });

  afterEach(async () => {
    await sandbox.clearFaults();
    await sandbox.whenNotificationsIdle();
    endpoint.deliveries.length = 0;
  });

  afterAll(async () => {
    await endpoint?.close();
    await sandbox?.close();
  });

  describe('the payee confirms', () => {
    it('transfer → WAIT_USER_CONFIRM with {mchId, appId, package}; 确认收款 on the page → SUCCESS, verified notification, queryTransfer SUCCESS', async () => {
      const before = await sandbox.getBalance(creds.mchId);
      const { req, outcome } = await waitingBill({ amountFen: 1234, payeeName: payee.name });
      const [bill] = (await sandbox.transfers(creds.mchId)).filter((b) => b.out_bill_no === req.outBizNo);
      expect(outcome.confirm).toEqual({ mchId: creds.mchId, appId: creds.providerAppId, package: bill.package_info });
      expect(outcome.providerTransferId).toBe(bill.transfer_bill_no);
      // The name reached WeChat encrypted for the platform key and was decrypted there; the scene was reported.
      expect(bill).toMatchObject({
        state: 'WAIT_USER_CONFIRM', transfer_amount: 1234, openid: payee.openid, user_name: '张三', transfer_scene_id: '1000',
        transfer_remark: '推广活动奖励', locked_fen: 1234,
        transfer_scene_report_infos: [{ info_type: '活动名称', info_content: '推广活动奖励' }, { info_type: '奖励说明', info_content: '推广活动奖励' }],
      });
      // Funds are locked when WeChat accepts the bill, not when the payee confirms.
      expect(await sandbox.getBalance(creds.mchId)).toMatchObject({ availableFen: before.availableFen - 1234, lockedFen: before.lockedFen + 1234 });
      // The query knows the state but hands out no package (only 发起转账 does).
      const waiting = await provider.queryTransfer!(creds, req.outBizNo);
      expect(waiting).toMatchObject({ status: 'WAIT_USER_CONFIRM', providerTransferId: bill.transfer_bill_no, confirm: { mchId: creds.mchId, appId: creds.providerAppId } });
      expect(waiting.status === 'WAIT_USER_CONFIRM' && waiting.confirm.package).toBeUndefined();

      const page = await openConfirmationPage(sandbox.url, outcome.confirm);
      expect(page.status).toBe(200);
      expect(page.html).toContain('<html lang="zh-CN">');
      expect(page.html).toContain('确认收款');
      expect(page.html).toContain('12.34');
      expect(page.html).toContain('推广活动奖励');
      const result = await submitConfirmationPage(sandbox.url, page.html, 'confirm');
      expect(result.status).toBe(200);
      expect(resultOf(result.html)).toBe('success');

      await sandbox.whenNotificationsIdle();
      const done = (await sandbox.getTransfer(req.outBizNo))!;
      expect(done).toMatchObject({ state: 'SUCCESS', locked_fen: 0 });
      const [n] = deliveriesOf(req.outBizNo);
      expect(n).toMatchObject({ outBizNo: req.outBizNo, mchId: creds.mchId, outcome: { status: 'SUCCESS', providerTransferId: bill.transfer_bill_no } });
      expect(n.outcome.status === 'SUCCESS' && n.outcome.transferTime.getTime()).toBe(Date.parse(done.update_time));
      const raw = endpoint.deliveries.find((d) => !(d.result instanceof ProviderError) && d.result.outBizNo === req.outBizNo)!.rawBody;
      expect(JSON.parse(raw.toString('utf8'))).toMatchObject({
        event_type: 'MCHTRANSFER.BILL.FINISHED',
        resource_type: 'encrypt-resource',
        summary: '商家转账单据终态通知',
        resource: { original_type: 'mch_payment', algorithm: 'AEAD_AES_256_GCM', associated_data: 'mch_payment' },
      });
      expect(await sandbox.notifications({ outBillNo: req.outBizNo })).toEqual([
        expect.objectContaining({ eventId: n.eventId, eventType: 'MCHTRANSFER.BILL.FINISHED', ok: true, status: 204, attempt: 1 }),
      ]);

      const q = await provider.queryTransfer!(creds, req.outBizNo);
      expect(q).toMatchObject({ status: 'SUCCESS', providerTransferId: bill.transfer_bill_no });
      expect(q.status === 'SUCCESS' && q.transferTime.getTime()).toBe(Date.parse(done.update_time));
      expect(await sandbox.getBalance(creds.mchId)).toMatchObject({
        availableFen: before.availableFen - 1234, lockedFen: before.lockedFen, paidOutFen: before.paidOutFen + 1234,
      });
      // A used package opens no second confirmation.
      const again = await openConfirmationPage(sandbox.url, outcome.confirm);
      expect(again.html).toContain('id="wx-transfer-unavailable"');
      expect(again.html).not.toContain('id="wx-transfer-confirm"');
      await expect(sandbox.confirmTransfer(req.outBizNo)).rejects.toMatchObject({ code: 'TRANSFER_STATE_ERROR' });
    });

    it('the page checks what requestMerchantTransfer passes: another mchId/appId or an unknown package is refused', async () => {
      const { outcome } = await waitingBill();
      expect((await openConfirmationPage(sandbox.url, { ...outcome.confirm, appId: 'wx0000000000000000' })).status).toBe(400);
      expect((await openConfirmationPage(sandbox.url, { ...outcome.confirm, mchId: '1900000000' })).status).toBe(400);
      const unknown = await openConfirmationPage(sandbox.url, { ...outcome.confirm, package: 'AAAA' });
      expect(unknown.status).toBe(400);
      expect(unknown.html).toContain('package_info信息有误');
    });
  });

  describe('nobody goes through with it', () => {
    it('取消 on the page changes nothing (only the merchant can cancel); unconfirmed after the timeout → CANCELLED (WeChat FAIL/OVERDUE_CLOSE), funds back', async () => {
      const before = await sandbox.getBalance(creds.mchId);
      expect(await sandbox.setTransferBehaviour({ confirmTimeoutMs: 1500 })).toMatchObject({ confirmTimeoutMs: 1500 });
      let waiting: Awaited<ReturnType<typeof waitingBill>>;
      try {
        waiting = await waitingBill({ amountFen: 500 });
      } finally {
        await sandbox.setTransferBehaviour({ confirmTimeoutMs: 24 * 3600_000 });
      }
      const { req, outcome } = waiting;
      const page = await openConfirmationPage(sandbox.url, outcome.confirm);
      const declined = await submitConfirmationPage(sandbox.url, page.html, 'cancel');
      expect(resultOf(declined.html)).toBe('cancel');
      expect((await sandbox.getTransfer(req.outBizNo))?.state).toBe('WAIT_USER_CONFIRM');
      expect((await sandbox.declineTransfer(req.outBizNo)).state).toBe('WAIT_USER_CONFIRM');
      expect((await provider.queryTransfer!(creds, req.outBizNo)).status).toBe('WAIT_USER_CONFIRM');

      const n = await waitFor('the MCHTRANSFER.BILL.FINISHED of the closed bill', () => deliveriesOf(req.outBizNo)[0]);
      expect(n.outcome).toMatchObject({ status: 'CANCELLED', reason: 'OVERDUE_CLOSE' });
      expect(await sandbox.getTransfer(req.outBizNo)).toMatchObject({ state: 'FAIL', fail_reason: 'OVERDUE_CLOSE', locked_fen: 0 });
      expect(await provider.queryTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'CANCELLED', reason: 'OVERDUE_CLOSE' });
      expect(await sandbox.getBalance(creds.mchId)).toMatchObject({ availableFen: before.availableFen, paidOutFen: before.paidOutFen });
      // Too late for the payee now.
      const late = await openConfirmationPage(sandbox.url, outcome.confirm);
      expect(late.html).toContain('超过24小时');
      await expect(sandbox.confirmTransfer(req.outBizNo)).rejects.toMatchObject({ code: 'TRANSFER_STATE_ERROR' });
    });

    it('merchant cancel while waiting → CANCELING (PROCESSING) then CANCELLED with its notification; funds back; the payee can no longer confirm', async () => {
      const before = await sandbox.getBalance(creds.mchId);
      const { req, outcome } = await waitingBill({ amountFen: 700 });
      const canceling = await provider.cancelTransfer!(creds, req.outBizNo);
      expect(canceling).toMatchObject({ status: 'PROCESSING', providerTransferId: outcome.providerTransferId });
      expect((await sandbox.getTransfer(req.outBizNo))?.state).toBe('CANCELING');
      // Asking again answers the cancellation as it stands.
      expect((await provider.cancelTransfer!(creds, req.outBizNo)).status).toMatch(/PROCESSING|CANCELLED/);

      const n = await waitFor('the CANCELLED notification', () => deliveriesOf(req.outBizNo)[0]);
      expect(n.outcome.status).toBe('CANCELLED');
      expect(await provider.queryTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'CANCELLED' });
      expect(await provider.cancelTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'CANCELLED' });
      expect(await sandbox.getBalance(creds.mchId)).toMatchObject({ availableFen: before.availableFen, lockedFen: before.lockedFen });
      await expect(sandbox.confirmTransfer(req.outBizNo)).rejects.toMatchObject({ code: 'TRANSFER_STATE_ERROR' });
      expect((await openConfirmationPage(sandbox.url, outcome.confirm)).html).toContain('商家已撤销');
    });

    it('cancelling a paid bill changes nothing and answers SUCCESS; an unknown one NOT_FOUND', async () => {
      const { req } = await waitingBill();
      await sandbox.confirmTransfer(req.outBizNo);
      expect(await provider.cancelTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'SUCCESS' });
      expect((await sandbox.getTransfer(req.outBizNo))?.state).toBe('SUCCESS');
      expect(await provider.cancelTransfer!(creds, nextNo())).toMatchObject({ status: 'NOT_FOUND' });
    });
  });

  describe('refusals and failures', () => {
    it('a name that is not the payee’s real name → FAIL NAME_NOT_CORRECT on confirmation (notification and query), nothing paid', async () => {
      const before = await sandbox.getBalance(creds.mchId);
      const { req, outcome } = await waitingBill({ payeeName: '李四' });
      const result = await submitConfirmationPage(sandbox.url, (await openConfirmationPage(sandbox.url, outcome.confirm)).html, 'confirm');
      expect(resultOf(result.html)).toBe('fail');
      expect(result.html).toContain('姓名');
      await sandbox.whenNotificationsIdle();
      expectFail(deliveriesOf(req.outBizNo)[0].outcome, 'NAME_NOT_CORRECT');
      expectFail(await provider.queryTransfer!(creds, req.outBizNo), 'NAME_NOT_CORRECT');
      expect(await sandbox.getBalance(creds.mchId)).toEqual(before);
    });

    it('a payee without 实名认证 → REAL_NAME_CHECK_FAIL; an abnormal account → PAYEE_ACCOUNT_ABNORMAL', async () => {
      const a = await waitingBill({ payeeAccount: unverified.openid });
      const b = await waitingBill({ payeeAccount: abnormal.openid, payeeName: abnormal.name });
      expect((await sandbox.confirmTransfer(a.req.outBizNo)).bill).toMatchObject({ state: 'FAIL', fail_reason: 'REAL_NAME_CHECK_FAIL' });
      expect((await sandbox.confirmTransfer(b.req.outBizNo)).bill).toMatchObject({ state: 'FAIL', fail_reason: 'PAYEE_ACCOUNT_ABNORMAL' });
      expectFail(await provider.queryTransfer!(creds, a.req.outBizNo), 'REAL_NAME_CHECK_FAIL');
      expectFail(await provider.queryTransfer!(creds, b.req.outBizNo), 'PAYEE_ACCOUNT_ABNORMAL');
    });

    it('an openid WeChat does not know for the appid → FAIL INVALID_REQUEST at once, no bill (query NOT_FOUND)', async () => {
      const req = transferReq({ payeeAccount: `oUnknown_${stamp}` });
      const refused = await provider.transfer!(creds, req);
      expectFail(refused, 'INVALID_REQUEST');
      expect(refused.status === 'FAIL' && refused.errorMsg).toContain('Openid');
      expect(await provider.queryTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'NOT_FOUND' });
      expect(await sandbox.getTransfer(req.outBizNo)).toBeUndefined();
    });

    it('balance short → FAIL NOT_ENOUGH at once, no bill and nothing paid; after topping up the same out_bill_no goes through; locked funds stay the payee’s', async () => {
      const before = await sandbox.getBalance(creds.mchId);
      await sandbox.setBalance(creds.mchId, 999);
      try {
        const req = transferReq({ amountFen: 1000 });
        const refused = await provider.transfer!(creds, req);
        expectFail(refused, 'NOT_ENOUGH');
        expect(refused.status === 'FAIL' && refused.errorMsg).toContain('原单号');
        expect(await provider.queryTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'NOT_FOUND' });
        expect(await sandbox.getBalance(creds.mchId)).toMatchObject({ availableFen: 999, lockedFen: before.lockedFen, paidOutFen: before.paidOutFen });

        await sandbox.setBalance(creds.mchId, 1000);
        const accepted = await provider.transfer!(creds, req);
        expect(accepted.status).toBe('WAIT_USER_CONFIRM');
        expect(await sandbox.getBalance(creds.mchId)).toMatchObject({ availableFen: 0, lockedFen: before.lockedFen + 1000 });
        // The account is empty now, but the bill's amount was locked when it was accepted: the payee gets it.
        await sandbox.confirmTransfer(req.outBizNo);
        expect(await provider.queryTransfer!(creds, req.outBizNo)).toMatchObject({ status: 'SUCCESS' });
        expect(await sandbox.getBalance(creds.mchId)).toMatchObject({ availableFen: 0, paidOutFen: before.paidOutFen + 1000 });
        expectFail(await provider.transfer!(creds, transferReq({ amountFen: 10 })), 'NOT_ENOUGH');
      } finally {
        await sandbox.setBalance(creds.mchId, before.availableFen);
      }
    });

    it('Alipay payee types → REJECTED before anything is sent', async () => {
      for (const payeeType of ['ALIPAY_LOGON_ID', 'ALIPAY_USER_ID'] as const) {
        const req = transferReq({ payeeType, payeeAccount: 'buyer@example.com' });
        await expectProviderError(provider.transfer!(creds, req), 'REJECTED', 'PAYEE_TYPE_NOT_SUPPORTED');
        expect(await sandbox.getTransfer(req.outBizNo)).toBeUndefined();
      }
    });

    it('requests WeChat would refuse are refused locally: out_bill_no outside [0-9A-Za-z]{1,32}, 2,000 yuan without a name', async () => {
      await expectProviderError(provider.transfer!(creds, transferReq({ outBizNo: 'CDT-1' })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.transfer!(creds, transferReq({ amountFen: 200_000 })), 'REJECTED', 'PARAM_ERROR');
      await expectProviderError(provider.queryTransfer!(creds, 'a/b'), 'REJECTED', 'PARAM_ERROR');
    });
  });

  describe('out_bill_no idempotency', () => {
    it('the same request again → the same bill and package; after confirmation → SUCCESS; one bill, one payout', async () => {
      const before = await sandbox.getBalance(creds.mchId);
      const { req, outcome } = await waitingBill({ payeeName: payee.name });
      // user_name is OAEP-encrypted afresh on every attempt: WeChat compares the decrypted name.
      const again = await provider.transfer!(creds, req);
      expect(again).toEqual({ ...outcome, raw: expect.anything() });
      await sandbox.confirmTransfer(req.outBizNo);
      const replay = await provider.transfer!(creds, req);
      expect(replay).toMatchObject({ status: 'SUCCESS', providerTransferId: outcome.providerTransferId });
      expect((await sandbox.transfers(creds.mchId)).filter((b) => b.out_bill_no === req.outBizNo)).toHaveLength(1);
      expect((await sandbox.getBalance(creds.mchId)).paidOutFen).toBe(before.paidOutFen + req.amountFen);
    });

    it('the same out_bill_no with other content → FAIL INVALID_REQUEST; the bill is untouched', async () => {
      const { req } = await waitingBill({ amountFen: 300 });
      const changed = await provider.transfer!(creds, { ...req, amountFen: 301 });
      expectFail(changed, 'INVALID_REQUEST');
      expect(changed.status === 'FAIL' && changed.errorMsg).toContain('不一致');
      expectFail(await provider.transfer!(creds, { ...req, payeeName: '张三' }), 'INVALID_REQUEST');
      expect(await sandbox.getTransfer(req.outBizNo)).toMatchObject({ transfer_amount: 300, state: 'WAIT_USER_CONFIRM' });
    });

    it('500 after processing → UNAVAILABLE; the retry finds the bill; one bill. A plain 500 creates nothing.', async () => {
      const req = transferReq();
      await sandbox.injectFault({ kind: 'http500AfterProcessing' });
      await expectProviderError(provider.transfer!(creds, req), 'UNAVAILABLE', 'SYSTEM_ERROR');
      expect((await sandbox.getTransfer(req.outBizNo))?.state).toBe('WAIT_USER_CONFIRM');
      const retried = await provider.transfer!(creds, req);
      expect(retried).toMatchObject({ status: 'WAIT_USER_CONFIRM', providerTransferId: (await sandbox.getTransfer(req.outBizNo))?.transfer_bill_no });
      expect((await sandbox.transfers(creds.mchId)).filter((b) => b.out_bill_no === req.outBizNo)).toHaveLength(1);

      const other = transferReq();
      await sandbox.injectFault({ kind: 'http500' });
      await expectProviderError(provider.transfer!(creds, other), 'UNAVAILABLE');
      expect(await sandbox.getTransfer(other.outBizNo)).toBeUndefined();
      await sandbox.injectFault({ kind: 'http500' });
      await expectProviderError(provider.queryTransfer!(creds, req.outBizNo), 'UNAVAILABLE');
      await sandbox.injectFault({ kind: 'badSignature' });
      await expectProviderError(provider.queryTransfer!(creds, req.outBizNo), 'BAD_RESPONSE');
    });
  });

  describe('notifications', () => {
    it('a tampered notification is refused (and retried); payment and refund handlers refuse the transfer event', async () => {
      const { req } = await waitingBill();
      await sandbox.confirmTransfer(req.outBizNo, { notify: { mode: 'tampered' } });
      await sandbox.whenNotificationsIdle();
      const refused = endpoint.deliveries.filter((d) => d.result instanceof ProviderError);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((d) => (d.result as ProviderError).kind === 'BAD_CALLBACK')).toBe(true);
      expect((await sandbox.notifications({ outBillNo: req.outBizNo })).every((a) => !a.ok && a.status === 400)).toBe(true);

      // The same (valid) event to the payment and refund handlers of the gateway.
      const b = await waitingBill({ notifyUrl: `${endpoint.url}/wx/notify/${creds.mchId}` });
      const c = await waitingBill({ notifyUrl: `${endpoint.url}/wx/refund-notify/${creds.mchId}` });
      endpoint.deliveries.length = 0;
      await sandbox.confirmTransfer(b.req.outBizNo);
      await sandbox.confirmTransfer(c.req.outBizNo);
      await sandbox.whenNotificationsIdle();
      expect(endpoint.deliveries.length).toBeGreaterThan(0);
      expect(endpoint.deliveries.every((d) => d.result instanceof ProviderError && d.result.kind === 'BAD_CALLBACK')).toBe(true);
    });

    it('a lost notification is found by querying', async () => {
      const { req } = await waitingBill();
      await sandbox.confirmTransfer(req.outBizNo, { notify: { mode: 'lost' } });
      await sandbox.whenNotificationsIdle();
      expect(deliveriesOf(req.outBizNo)).toHaveLength(0);
      expect(await sandbox.notifications({ outBillNo: req.outBizNo })).toEqual([expect.objectContaining({ mode: 'lost', ok: false })]);
      expect((await provider.queryTransfer!(creds, req.outBizNo)).status).toBe('SUCCESS');
    });
  });

  it('the control API (/__sim) drives the same: payees, balances, bills, confirmation, behaviour', async () => {
    const sim = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${sandbox.url}/__sim${p}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const openid = `oCtl_${stamp}`;
    expect(await sim('POST', '/transfer-payees', { openid, name: '赵六', appid: creds.providerAppId })).toMatchObject({ status: 200, body: { openid, name: '赵六' } });
    const balance = await sim('GET', `/transfer-balances/${creds.mchId}`);
    expect(balance.body).toMatchObject({ mchid: creds.mchId });
    const { req } = await waitingBill({ payeeAccount: openid, amountFen: 88 });
    const listed = await sim('GET', `/transfers?mchid=${creds.mchId}`);
    expect((listed.body.transfers as { out_bill_no: string }[]).some((b) => b.out_bill_no === req.outBizNo)).toBe(true);
    expect(await sim('POST', `/transfers/${req.outBizNo}/decline`, {})).toMatchObject({ status: 200, body: { state: 'WAIT_USER_CONFIRM' } });
    expect(await sim('POST', `/transfers/${req.outBizNo}/confirm`, { mchid: creds.mchId })).toMatchObject({ status: 200, body: { bill: { state: 'SUCCESS' } } });
    expect(await sim('POST', `/transfers/${req.outBizNo}/confirm`, {})).toMatchObject({ status: 409, body: { error: { code: 'TRANSFER_STATE_ERROR' } } });
    expect(await sim('GET', `/transfers/${nextNo()}`)).toMatchObject({ status: 404 });
    expect(await sim('POST', `/transfer-balances/${creds.mchId}`, { fen: -1 })).toMatchObject({ status: 400 });
    expect((await sim('GET', '/transfer-behaviour')).body).toMatchObject({ confirmTimeoutMs: 24 * 3600_000, cancelDelayMs: 30 });
    // The openid belongs to this appid only: under another app of the merchant it is unknown.
    const otherApp = await sandbox.createMerchant({ mchId: creds.mchId, providerAppId: 'wxother0000000001' });
    expectFail(await provider.transfer!(otherApp, transferReq({ payeeAccount: openid })), 'INVALID_REQUEST');
  });

  it('bills, balances and payees survive a restart of a persisted sandbox; a due close happens at start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wx-transfer-'));
    const stateFile = path.join(dir, 'wechat.json');
    let s = await startWechatSandbox({ stateFile, transferConfirmTimeoutMs: 60_000 });
    try {
      const c = await s.createMerchant();
      await s.addPayee(payee);
      await s.setBalance(c.mchId, 5000);
      const p = createWechatProvider();
      const mk = (no: string): TransferRequest => ({ ...transferReq({ outBizNo: no, amountFen: 1000 }), notifyUrl: 'http://127.0.0.1:9/transfer-notify' });
      const kept = nextNo();
      const due = nextNo();
      expect((await p.transfer!(c, mk(kept))).status).toBe('WAIT_USER_CONFIRM');
      await s.setTransferBehaviour({ confirmTimeoutMs: 200 });
      expect((await p.transfer!(c, mk(due))).status).toBe('WAIT_USER_CONFIRM');
      const port = Number(new URL(s.url).port);
      await s.close();
      await new Promise((r) => setTimeout(r, 300));

      s = await startWechatSandbox({ stateFile, port });
      expect(await s.getBalance(c.mchId)).toMatchObject({ availableFen: 4000, lockedFen: 1000 });
      expect(await s.getTransfer(due)).toMatchObject({ state: 'FAIL', fail_reason: 'OVERDUE_CLOSE' });
      expect((await s.confirmTransfer(kept)).bill.state).toBe('SUCCESS');
      expect(await p.queryTransfer!(c, kept)).toMatchObject({ status: 'SUCCESS' });
      expect(await s.getBalance(c.mchId)).toMatchObject({ availableFen: 4000, lockedFen: 0, paidOutFen: 1000 });
    } finally {
      await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
