/**
 * Transfers end to end on the dev server, through the signed merchant API (the SDK) and the real alipay-sdk
 * against the Alipay sandbox: a payout with Alipay's name check, wrong names and insufficient balance as FAIL
 * with Alipay's reasons, a 502 after the payout was made (exactly one payout), DEALING settled by polling, and
 * bad requests refused with nothing written.
 */
import { randomBytes } from 'node:crypto';
import { providerOutBizNo } from '../../domain/transfer';
import type { ChannelCredentials } from '../../providers/types';
import { signedCall } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let app: SeededApp;
let ali: ChannelCredentials;
let wx: ChannelCredentials;
let merchant: SdkMerchant;
const admin = { username: 'admin', ip: '127.0.0.1' };

beforeAll(async () => {
  sys = await startTestSystem({ pollIntervalSeconds: 1 });
  ali = await sys.alipay.createMerchant();
  wx = await sys.wechat.createMerchant();
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: ali }, { channelType: 'wx-pay', sceneCode: 'jsapi', creds: wx }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
  await sys.t.db('apps').where({ app_id: app.appId }).update({ notify_url: merchant.notifyUrl });
  await sys.useCases.transfers.saveSettings(admin, app.appId, { enabled: true, maxPerTransfer: 100_000, dailyLimit: 1_000_000, approvalThreshold: 100_000 });
}, 120_000);

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

afterEach(() => sys.alipay.clearFaults());

const no = () => `TR${randomBytes(5).toString('hex')}`;
const row = (outBizNo: string) => sys.t.db('transfers').where({ app_id: app.appId, out_biz_no: outBizNo }).first();
const final = (outBizNo: string) => waitFor(`transfer ${outBizNo} final`, async () => {
  const r = await row(outBizNo);
  return r && ['SUCCESS', 'FAIL', 'CANCELLED'].includes(r.status) ? r : null;
});
/** The sandbox's record of payouts for one of our transfers (Alipay knows it by our request number). */
const payoutsOf = (transferId: number) => sys.alipay.transfers(ali.providerAppId).filter((p) => p.outBizNo === providerOutBizNo(transferId));

test('a payout with the name check reaches the payee once, is notified and queryable', async () => {
  const outBizNo = no();
  const t = await merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount: 5000, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: '推广奖励' });
  expect(t).toMatchObject({ outBizNo, amount: 5000, status: 'PROCESSING' });
  const n = await waitFor('TRANSFER_RESULT', async () => merchant.transferNotifications.find((x) => x.outBizNo === outBizNo));
  expect(n).toMatchObject({ eventType: 'TRANSFER_RESULT', transferId: t.transferId, resultCode: 'SUCCESS', amount: 5000 });
  expect(await merchant.sdk.queryTransfer(outBizNo)).toMatchObject({ status: 'SUCCESS', transferTime: n.transferTime });
  // The same request again: the same transfer; other content: 4090.
  expect((await merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount: 5000, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: '推广奖励' })).transferId).toBe(t.transferId);
  await expect(merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount: 5001, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: '推广奖励' })).rejects.toMatchObject({ code: 4090 });
  expect(payoutsOf(t.transferId).map((p) => [p.amountFen, p.status])).toEqual([[5000, 'SUCCESS']]);
  // Found in the Web UI by OutBizNo.
  const ids = await waitFor('visibility', async () => {
    const found: string[] = [];
    for await (const wf of sys.client.workflow.list({ query: `OutBizNo = "${outBizNo}" AND TransferStatus = "SUCCESS"` })) found.push(wf.workflowId);
    return found.length ? found : null;
  });
  expect(ids).toEqual([`transfer:${app.appId}:${outBizNo}`]);
});

test("a wrong payee name and a short balance end FAIL with Alipay's reasons; nothing is paid", async () => {
  const wrongName = no();
  const w = await merchant.sdk.transfer({ outBizNo: wrongName, channelType: 'ali-pay', amount: 100, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '李四', remark: 'r' });
  expect(await final(wrongName)).toMatchObject({ status: 'FAIL', result_error_code: 'PAYEE_USER_INFO_ERROR' });
  expect(payoutsOf(w.transferId).filter((p) => p.status === 'SUCCESS')).toEqual([]);
  sys.alipay.setBalance(ali.providerAppId, 50);
  try {
    const broke = no();
    const b = await merchant.sdk.transfer({ outBizNo: broke, channelType: 'ali-pay', amount: 100, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: 'r' });
    const r = await final(broke);
    expect(r.status).toBe('FAIL');
    expect(['PAYER_BALANCE_NOT_ENOUGH', 'BALANCE_IS_NOT_ENOUGH']).toContain(r.result_error_code);
    expect((await merchant.sdk.queryTransfer(broke)).resultErrorCode).toBe(r.result_error_code);
    expect(payoutsOf(b.transferId).filter((p) => p.status === 'SUCCESS')).toEqual([]);
  } finally {
    sys.alipay.setBalance(ali.providerAppId, 100_000_000);
  }
});

test('Alipay answers 502 after paying: retried with the same number, exactly one payout', async () => {
  const outBizNo = no();
  sys.alipay.injectFault({ kind: 'http502AfterProcessing', method: 'alipay.fund.trans.uni.transfer', count: 2 });
  const t = await merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount: 777, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: 'r' });
  expect((await final(outBizNo)).status).toBe('SUCCESS');
  expect(payoutsOf(t.transferId).map((p) => p.status)).toEqual(['SUCCESS']);
});

test('a DEALING payout is followed by polling until Alipay settles it', async () => {
  sys.alipay.setTransferMode(ali.providerAppId, 'dealing');
  try {
    const outBizNo = no();
    const t = await merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount: 300, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: 'r' });
    await waitFor('asked Alipay', async () => payoutsOf(t.transferId).length === 1);
    expect((await row(outBizNo)).status).toBe('PROCESSING');
    await sys.alipay.completeTransfer(providerOutBizNo(t.transferId), { appId: ali.providerAppId });
    expect((await final(outBizNo)).status).toBe('SUCCESS');
  } finally {
    sys.alipay.setTransferMode(ali.providerAppId, 'instant');
  }
});

test('bad transfer requests are refused with 4000 and write nothing', async () => {
  const count = async () => Number((await sys.t.db('transfers').count({ n: '*' }).first())!.n);
  const before = await count();
  const base = { outBizNo: no(), channelType: 'ali-pay', amount: 100, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', remark: 'r' };
  const bad: Array<Record<string, unknown>> = [
    { ...base, amount: 0 },
    { ...base, amount: 1.5 },
    { ...base, outBizNo: 'has space' },
    { ...base, channelType: 'union-pay' },
    { ...base, payeeType: 'BANK_CARD' },
    { ...base, payeeType: 'WX_OPENID' }, // WeChat payees cannot be paid through Alipay
    { ...base, remark: '' },
    { ...base, transferId: 1 },
    { ...base, extra: true },
  ];
  for (const body of bad) {
    const res = await signedCall(sys.apiUrl, app, 'POST', '/api/cashier-desk/transfers', body);
    expect([res.status, res.body.code]).toEqual([400, 4000]);
  }
  expect(await count()).toBe(before);
});

/** The payee opens WeChat's confirmation (the sandbox's page) with what the merchant's client got, and presses 确认收款. */
async function confirmAsPayee(confirm: Record<string, string>): Promise<number> {
  const page = await fetch(`${sys.wechat.url}/transfer/confirm?${new URLSearchParams({ mchId: confirm.mchId, appId: confirm.appId, package: confirm.package })}`);
  const html = await page.text();
  const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`no confirmation form (HTTP ${page.status})`);
  const fields = new URLSearchParams();
  for (const m of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.set(m[1], m[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"'));
  const button = /id="wx-transfer-confirm" name="([^"]+)" value="([^"]+)"/.exec(form[2]);
  if (!button) throw new Error('no 确认收款 button');
  fields.set(button[1], button[2]);
  const res = await fetch(new URL(form[1], sys.wechat.url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
  return res.status;
}

test('WeChat Pay: the transfer waits for the payee, who confirms in WeChat; the bill notification settles it', async () => {
  const openid = `o${randomBytes(8).toString('hex')}`;
  await sys.wechat.addPayee({ openid, name: '王五' });
  const outBizNo = no();
  const t = await merchant.sdk.transfer({ outBizNo, channelType: 'wx-pay', amount: 1200, payeeType: 'WX_OPENID', payeeAccount: openid, payeeName: '王五', remark: '活动奖励' });
  const waiting = await waitFor('WAIT_USER_CONFIRM', async () => {
    const q = await merchant.sdk.queryTransfer(outBizNo);
    return q.status === 'WAIT_USER_CONFIRM' ? q : null;
  });
  expect(waiting.confirm).toMatchObject({ mchId: wx.mchId, appId: wx.providerAppId, package: expect.any(String) });
  expect(await confirmAsPayee(waiting.confirm!)).toBeLessThan(400);
  const n = await waitFor('TRANSFER_RESULT', async () => merchant.transferNotifications.find((x) => x.outBizNo === outBizNo));
  expect(n).toMatchObject({ transferId: t.transferId, resultCode: 'SUCCESS', amount: 1200, channelType: 'wx-pay' });
  // Settled by WeChat's verified MCHTRANSFER.BILL.FINISHED on our transfer callback route.
  const evidence = await sys.t.db('provider_callbacks').where({ kind: 'TRANSFER', out_refund_no: providerOutBizNo(t.transferId) });
  expect(evidence.map((e) => e.result)).toContain('ACCEPTED');
  const bills = (await sys.wechat.transfers(wx.mchId)).filter((b) => b.out_bill_no === providerOutBizNo(t.transferId));
  expect(bills.map((b) => [b.transfer_amount, b.state])).toEqual([[1200, 'SUCCESS']]);
});

test('WeChat Pay: a wrong payee name fails at confirmation with WeChat\'s reason; nothing is paid', async () => {
  const openid = `o${randomBytes(8).toString('hex')}`;
  await sys.wechat.addPayee({ openid, name: '赵六' });
  const outBizNo = no();
  const t = await merchant.sdk.transfer({ outBizNo, channelType: 'wx-pay', amount: 300, payeeType: 'WX_OPENID', payeeAccount: openid, payeeName: '钱七', remark: 'r' });
  const waiting = await waitFor('WAIT_USER_CONFIRM', async () => {
    const q = await merchant.sdk.queryTransfer(outBizNo);
    return q.status === 'WAIT_USER_CONFIRM' || q.status === 'FAIL' ? q : null;
  });
  if (waiting.status === 'WAIT_USER_CONFIRM') await confirmAsPayee(waiting.confirm!);
  const r = await final(outBizNo);
  expect(r.status).toBe('FAIL');
  expect(r.result_error_code).toMatch(/NAME/);
  const bills = (await sys.wechat.transfers(wx.mchId)).filter((b) => b.out_bill_no === providerOutBizNo(t.transferId));
  expect(bills.filter((b) => b.state === 'SUCCESS')).toEqual([]);
});
