/**
 * Alipay transfers (单笔无密转账到支付宝账户) through the real adapter (alipay-sdk, verified answers) against the local
 * Alipay sandbox over real HTTP: alipay.fund.trans.uni.transfer / alipay.fund.trans.common.query, the name check,
 * Alipay's refusal codes, idempotency per out_biz_no (also when the answer is lost after the transfer was made),
 * DEALING transfers settled later, and the sandbox's own protocol rules, control API and persistence.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlipaySdk } from 'alipay-sdk';
import { clearAlipayClientCache, createAlipayProvider, toAlipayTime } from '../../providers/alipay';
import { ProviderError, type ChannelCredentials, type TransferOutcome, type TransferRequest } from '../../providers/types';
import { startAlipaySandbox, type AlipaySandboxHandle, type SimPayee, type SimTransfer } from '../../sandbox/alipay';

const provider = createAlipayProvider();
const transfer = (c: ChannelCredentials, req: TransferRequest) => {
  if (!provider.transfer) throw new Error('the Alipay provider must implement transfer');
  return provider.transfer(c, req);
};
const queryTransfer = (c: ChannelCredentials, outBizNo: string) => {
  if (!provider.queryTransfer) throw new Error('the Alipay provider must implement queryTransfer');
  return provider.queryTransfer(c, outBizNo);
};

/** A default account of every sandbox. */
const ZHANG_SAN = { logonId: 'payee@example.com', userId: '2088102100000001', name: '张三' };

let sandbox: AlipaySandboxHandle;
let creds: ChannelCredentials;
let appId: string;
let seq = 0;

function uniqueNo(prefix = 'T'): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

function transferRequest(over: Partial<TransferRequest> = {}): TransferRequest {
  return {
    outBizNo: uniqueNo(),
    amountFen: 1000,
    payeeType: 'ALIPAY_LOGON_ID',
    payeeAccount: ZHANG_SAN.logonId,
    payeeName: ZHANG_SAN.name,
    remark: '佣金结算',
    notifyUrl: 'http://127.0.0.1:9/unused',
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

function expectSuccess(outcome: TransferOutcome): Extract<TransferOutcome, { status: 'SUCCESS' }> {
  if (outcome.status !== 'SUCCESS') throw new Error(`expected SUCCESS, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** The sandbox's record of payouts under one out_biz_no of our app. */
function payouts(outBizNo: string, sb: AlipaySandboxHandle = sandbox, app = appId): SimTransfer[] {
  return sb.transfers(app).filter((t) => t.outBizNo === outBizNo);
}

/** Alipay times have second precision, in Beijing time. */
function beijingInstant(text: string | undefined): number {
  return new Date(`${String(text).replace(' ', 'T')}+08:00`).getTime();
}

beforeAll(async () => {
  clearAlipayClientCache();
  sandbox = await startAlipaySandbox();
  creds = await sandbox.createMerchant();
  appId = creds.providerAppId;
});

afterEach(() => {
  sandbox.clearFaults();
  sandbox.setTransferMode(appId, 'instant');
});

afterAll(async () => {
  await sandbox?.close();
});

describe('transfer (alipay.fund.trans.uni.transfer)', () => {
  it('pays a logon id whose real name matches: SUCCESS with Alipay’s order_id and trans_date; one payout', async () => {
    const before = sandbox.balance(appId);
    const req = transferRequest({ amountFen: 12_345 });
    const startedAt = Date.now();
    const outcome = expectSuccess(await transfer(creds, req));

    const [record, ...rest] = payouts(req.outBizNo);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      amountFen: 12_345,
      transAmount: '123.45',
      identityType: 'ALIPAY_LOGON_ID',
      identity: ZHANG_SAN.logonId,
      name: ZHANG_SAN.name,
      payeeUserId: ZHANG_SAN.userId,
      orderTitle: '佣金结算',
      remark: '佣金结算',
      status: 'SUCCESS',
    });
    expect(outcome.providerTransferId).toBe(record.orderId);
    expect(record.orderId).toMatch(/^\d{32}$/);
    // trans_date is Beijing wall-clock time, second precision.
    expect(outcome.transferTime.getTime()).toBe(beijingInstant(record.transDate));
    expect(Math.abs(outcome.transferTime.getTime() - startedAt)).toBeLessThan(5000);
    expect(outcome.raw).toMatchObject({ code: '10000', out_biz_no: req.outBizNo, status: 'SUCCESS', pay_fund_order_id: record.payFundOrderId });
    expect(sandbox.balance(appId)).toBe(before - 12_345);
  });

  it('pays a 2088… user id, with or without a name', async () => {
    const withoutName = transferRequest({ payeeType: 'ALIPAY_USER_ID', payeeAccount: ZHANG_SAN.userId, payeeName: undefined });
    expectSuccess(await transfer(creds, withoutName));
    expect(payouts(withoutName.outBizNo)[0]).toMatchObject({ payeeUserId: ZHANG_SAN.userId, identityType: 'ALIPAY_USER_ID' });
    expect(payouts(withoutName.outBizNo)[0].name).toBeUndefined();

    const named = transferRequest({ payeeType: 'ALIPAY_USER_ID', payeeAccount: ZHANG_SAN.userId, payeeName: ZHANG_SAN.name });
    expectSuccess(await transfer(creds, named));
  });

  it('a name that is not the account’s → FAIL PAYEE_USER_INFO_ERROR, nothing paid, no order', async () => {
    const before = sandbox.balance(appId);
    for (const req of [
      transferRequest({ payeeName: '李四' }),
      transferRequest({ payeeType: 'ALIPAY_USER_ID', payeeAccount: ZHANG_SAN.userId, payeeName: '张三丰' }),
    ]) {
      expect(await transfer(creds, req)).toMatchObject({
        status: 'FAIL',
        errorCode: 'PAYEE_USER_INFO_ERROR',
        errorMsg: '支付宝账号和姓名不匹配，请确认姓名是否正确',
      });
      expect(payouts(req.outBizNo)).toEqual([]);
      // A refused transfer creates no order at Alipay: the query does not know the number.
      expect(await queryTransfer(creds, req.outBizNo)).toMatchObject({ status: 'NOT_FOUND' });
    }
    expect(sandbox.balance(appId)).toBe(before);
  });

  it('an unknown account → FAIL PAYEE_NOT_EXIST, by logon id and by user id', async () => {
    const byLogon = transferRequest({ payeeAccount: 'nobody@example.com' });
    expect(await transfer(creds, byLogon)).toMatchObject({ status: 'FAIL', errorCode: 'PAYEE_NOT_EXIST', errorMsg: '收款账号不存在' });
    const byUserId = transferRequest({ payeeType: 'ALIPAY_USER_ID', payeeAccount: '2088999999999999', payeeName: undefined });
    expect(await transfer(creds, byUserId)).toMatchObject({ status: 'FAIL', errorCode: 'PAYEE_NOT_EXIST' });
    expect(payouts(byLogon.outBizNo)).toEqual([]);
    expect(payouts(byUserId.outBizNo)).toEqual([]);
  });

  it('insufficient balance → FAIL PAYER_BALANCE_NOT_ENOUGH and nothing paid; after topping up the same number goes through', async () => {
    const own = await sandbox.createMerchant();
    sandbox.setBalance(own.providerAppId, 999);
    const req = transferRequest({ amountFen: 1000 });
    expect(await transfer(own, req)).toMatchObject({ status: 'FAIL', errorCode: 'PAYER_BALANCE_NOT_ENOUGH', errorMsg: '付款方余额不足' });
    expect(sandbox.transfers(own.providerAppId)).toEqual([]);
    expect(sandbox.balance(own.providerAppId)).toBe(999);

    // Alipay's advice for this code: top up, then retry the original request.
    sandbox.setBalance(own.providerAppId, 1000);
    expectSuccess(await transfer(own, req));
    expect(sandbox.transfers(own.providerAppId)).toHaveLength(1);
    expect(sandbox.balance(own.providerAppId)).toBe(0);
  });

  it('the same outBizNo again answers the same transfer; the sandbox paid once', async () => {
    const before = sandbox.balance(appId);
    const req = transferRequest({ amountFen: 2000 });
    const first = expectSuccess(await transfer(creds, req));
    const second = expectSuccess(await transfer(creds, req));
    expect(second.providerTransferId).toBe(first.providerTransferId);
    expect(second.transferTime.getTime()).toBe(first.transferTime.getTime());
    expect(payouts(req.outBizNo)).toHaveLength(1);
    expect(sandbox.balance(appId)).toBe(before - 2000);
  });

  it('the same outBizNo with another amount or payee → FAIL PAYMENT_INFO_INCONSISTENCY; the original stays as it was', async () => {
    const req = transferRequest({ amountFen: 3000 });
    const original = expectSuccess(await transfer(creds, req));
    const balance = sandbox.balance(appId);
    for (const changed of [
      { ...req, amountFen: 3001 },
      { ...req, payeeAccount: '13800138000', payeeName: '李四' },
      { ...req, payeeType: 'ALIPAY_USER_ID' as const, payeeAccount: ZHANG_SAN.userId },
    ]) {
      expect(await transfer(creds, changed)).toMatchObject({
        status: 'FAIL',
        errorCode: 'PAYMENT_INFO_INCONSISTENCY',
        errorMsg: '两次请求商户单号一样，但是参数不一致',
      });
    }
    expect(payouts(req.outBizNo)).toHaveLength(1);
    expect(sandbox.balance(appId)).toBe(balance);
    expect(expectSuccess(await queryTransfer(creds, req.outBizNo)).providerTransferId).toBe(original.providerTransferId);
  });

  it('a WeChat openid is no Alipay payee → REJECTED before any call', async () => {
    const req = transferRequest({ payeeType: 'WX_OPENID', payeeAccount: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    const err = await expectProviderError(transfer(creds, req), 'REJECTED');
    expect(err.providerCode).toBe('UNSUPPORTED_PAYEE_TYPE');
    expect(payouts(req.outBizNo)).toEqual([]);
  });

  it('refuses what Alipay cannot take before calling: amounts, numbers, a logon id without a name', async () => {
    for (const [over, code] of [
      [{ amountFen: 0 }, 'INVALID_AMOUNT'],
      [{ amountFen: 1.5 }, 'INVALID_AMOUNT'],
      [{ outBizNo: '' }, 'INVALID_BIZ_NO'],
      [{ outBizNo: 'x'.repeat(65) }, 'INVALID_BIZ_NO'],
      [{ outBizNo: '单号1' }, 'INVALID_BIZ_NO'],
      [{ payeeName: undefined }, 'PAYEE_NAME_REQUIRED'],
    ] as Array<[Partial<TransferRequest>, string]>) {
      const err = await expectProviderError(transfer(creds, transferRequest(over)), 'REJECTED');
      expect(err.providerCode).toBe(code);
    }
  });

  it('below Alipay’s 0.10 yuan minimum → FAIL EXCEED_LIMIT_SM_MIN_AMOUNT', async () => {
    expect(await transfer(creds, transferRequest({ amountFen: 9 }))).toMatchObject({ status: 'FAIL', errorCode: 'EXCEED_LIMIT_SM_MIN_AMOUNT' });
    expectSuccess(await transfer(creds, transferRequest({ amountFen: 10 })));
  });
});

describe('a lost answer never pays twice', () => {
  it('HTTP 502 after the transfer was made → UNAVAILABLE; the retry with the same number → SUCCESS, exactly one payout', async () => {
    const before = sandbox.balance(appId);
    const req = transferRequest({ amountFen: 5000 });
    sandbox.injectFault({ kind: 'http502AfterProcessing', method: 'alipay.fund.trans.uni.transfer' });
    const err = await expectProviderError(transfer(creds, req), 'UNAVAILABLE');
    expect(err.message).toContain('502');
    // The money moved although the caller could not know.
    expect(payouts(req.outBizNo)).toHaveLength(1);

    const retried = expectSuccess(await transfer(creds, req));
    expect(retried.providerTransferId).toBe(payouts(req.outBizNo)[0].orderId);
    expect(payouts(req.outBizNo)).toHaveLength(1);
    expect(sandbox.balance(appId)).toBe(before - 5000);
  });

  it('dropped connections after the transfer: urllib re-sends once by itself, the caller retries after that; one payout', async () => {
    const req = transferRequest({ amountFen: 600 });
    // One drop: urllib's socketErrorRetry re-POSTs the same signed request, the sandbox answers the repeat.
    sandbox.injectFault({ kind: 'dropAfterProcessing', method: 'alipay.fund.trans.uni.transfer' });
    expectSuccess(await transfer(creds, req));
    expect(payouts(req.outBizNo)).toHaveLength(1);

    const next = transferRequest({ amountFen: 400 });
    sandbox.injectFault({ kind: 'dropAfterProcessing', method: 'alipay.fund.trans.uni.transfer', count: 2 });
    await expectProviderError(transfer(creds, next), 'UNAVAILABLE');
    expect(payouts(next.outBizNo)).toHaveLength(1);
    expectSuccess(await transfer(creds, next));
    expect(payouts(next.outBizNo)).toHaveLength(1);
  });

  it('SYSTEM_ERROR (系统繁忙) after the transfer was made → UNAVAILABLE, never FAIL; the retry confirms it', async () => {
    const req = transferRequest({ amountFen: 700 });
    sandbox.injectFault({ kind: 'systemError' });
    const err = await expectProviderError(transfer(creds, req), 'UNAVAILABLE');
    expect(err.providerCode).toBe('SYSTEM_ERROR');
    expect(payouts(req.outBizNo)).toHaveLength(1);
    expectSuccess(await transfer(creds, req));
    expect(payouts(req.outBizNo)).toHaveLength(1);

    sandbox.injectFault({ kind: 'systemError', method: 'alipay.fund.trans.common.query' });
    await expectProviderError(queryTransfer(creds, req.outBizNo), 'UNAVAILABLE');
  });

  it('a broken answer signature → BAD_RESPONSE; the retry confirms the transfer that was made', async () => {
    const req = transferRequest({ amountFen: 800 });
    sandbox.injectFault({ kind: 'badSignature', method: 'alipay.fund.trans.uni.transfer' });
    await expectProviderError(transfer(creds, req), 'BAD_RESPONSE');
    expect(payouts(req.outBizNo)).toHaveLength(1);
    expectSuccess(await transfer(creds, req));
    expect(payouts(req.outBizNo)).toHaveLength(1);
  });

  it('HTTP 502 before processing → UNAVAILABLE with nothing paid', async () => {
    const req = transferRequest();
    sandbox.injectFault({ kind: 'http502', method: 'alipay.fund.trans.uni.transfer' });
    await expectProviderError(transfer(creds, req), 'UNAVAILABLE');
    expect(payouts(req.outBizNo)).toEqual([]);
    expect(await queryTransfer(creds, req.outBizNo)).toMatchObject({ status: 'NOT_FOUND' });
  });
});

describe('queryTransfer (alipay.fund.trans.common.query)', () => {
  it('NOT_FOUND (ORDER_NOT_EXIST) before the transfer, SUCCESS with order_id and pay_date after', async () => {
    const req = transferRequest({ amountFen: 1500 });
    const before = await queryTransfer(creds, req.outBizNo);
    expect(before).toMatchObject({ status: 'NOT_FOUND', raw: { code: '40004', sub_code: 'ORDER_NOT_EXIST' } });

    const paid = expectSuccess(await transfer(creds, req));
    const queried = expectSuccess(await queryTransfer(creds, req.outBizNo));
    const record = payouts(req.outBizNo)[0];
    expect(queried.providerTransferId).toBe(paid.providerTransferId);
    expect(queried.transferTime.getTime()).toBe(beijingInstant(record.payDate));
    expect(queried.raw).toMatchObject({ out_biz_no: req.outBizNo, trans_amount: '15.00', status: 'SUCCESS', pay_fund_order_id: record.payFundOrderId });
  });

  it('HTTP 502 on the query → UNAVAILABLE', async () => {
    sandbox.injectFault({ kind: 'http502', method: 'alipay.fund.trans.common.query' });
    await expectProviderError(queryTransfer(creds, uniqueNo()), 'UNAVAILABLE');
  });

  it('a paid transfer that bounced (退票, REFUND) → FAIL with Alipay’s reason; the money is back', async () => {
    const req = transferRequest({ amountFen: 900 });
    expectSuccess(await transfer(creds, req));
    const balance = sandbox.balance(appId);
    await sandbox.bounceTransfer(req.outBizNo, { reason: '收款账户已注销，资金退回' });
    expect(await queryTransfer(creds, req.outBizNo)).toMatchObject({
      status: 'FAIL',
      errorCode: 'PAYEE_ACCOUNT_STATUS_ERROR',
      errorMsg: '收款账户已注销，资金退回',
      raw: { status: 'REFUND' },
    });
    expect(sandbox.balance(appId)).toBe(balance + 900);
    // A repeat of the transfer reports the same final state and pays nothing again.
    expect(await transfer(creds, req)).toMatchObject({ status: 'FAIL', errorCode: 'REFUND' });
    expect(payouts(req.outBizNo)).toHaveLength(1);
  });
});

describe('DEALING transfers', () => {
  it('PROCESSING while Alipay deals with it, SUCCESS once completed; repeats never pay again', async () => {
    sandbox.setTransferMode(appId, 'dealing');
    const before = sandbox.balance(appId);
    const req = transferRequest({ amountFen: 4200 });
    const accepted = await transfer(creds, req);
    expect(accepted).toMatchObject({ status: 'PROCESSING', raw: { status: 'DEALING' } });
    const record = payouts(req.outBizNo)[0];
    expect(accepted.status === 'PROCESSING' && accepted.providerTransferId).toBe(record.orderId);
    // On its way: already off the balance.
    expect(sandbox.balance(appId)).toBe(before - 4200);

    expect(await queryTransfer(creds, req.outBizNo)).toMatchObject({ status: 'PROCESSING' });
    expect(await transfer(creds, req)).toMatchObject({ status: 'PROCESSING' });

    const completed = await sandbox.completeTransfer(req.outBizNo);
    expect(completed.status).toBe('SUCCESS');
    const polled = expectSuccess(await queryTransfer(creds, req.outBizNo));
    expect(polled.providerTransferId).toBe(record.orderId);
    expect(polled.transferTime.getTime()).toBe(beijingInstant(completed.payDate));
    expect(expectSuccess(await transfer(creds, req)).providerTransferId).toBe(record.orderId);
    expect(payouts(req.outBizNo)).toHaveLength(1);
    expect(sandbox.balance(appId)).toBe(before - 4200);
  });

  it('a DEALING transfer that fails → FAIL with Alipay’s error_code and fail_reason; the money is back', async () => {
    sandbox.setTransferMode(appId, 'dealing');
    const before = sandbox.balance(appId);
    const req = transferRequest({ amountFen: 300 });
    expect(await transfer(creds, req)).toMatchObject({ status: 'PROCESSING' });
    await sandbox.completeTransfer(req.outBizNo, { fail: { errorCode: 'PAYEE_USERINFO_STATUS_ERROR', reason: '收款方用户状态不正常' } });
    expect(await queryTransfer(creds, req.outBizNo)).toMatchObject({
      status: 'FAIL',
      errorCode: 'PAYEE_USERINFO_STATUS_ERROR',
      errorMsg: '收款方用户状态不正常',
    });
    expect(sandbox.balance(appId)).toBe(before);
    await expect(sandbox.completeTransfer(req.outBizNo)).rejects.toThrow(/not DEALING/);
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
  const exec = (method: string, bizContent: Record<string, unknown>) =>
    rawSdk().exec(method, { timestamp: toAlipayTime(new Date()), bizContent }, { validateSign: true });
  const base = () => ({
    out_biz_no: uniqueNo('RAW'),
    trans_amount: '1.00',
    product_code: 'TRANS_ACCOUNT_NO_PWD',
    biz_scene: 'DIRECT_TRANSFER',
    payee_info: { identity: ZHANG_SAN.logonId, identity_type: 'ALIPAY_LOGON_ID', name: ZHANG_SAN.name },
  });

  it('validates the request like Alipay: product, scene, amount, payee_info', async () => {
    const T = 'alipay.fund.trans.uni.transfer';
    expect(await exec(T, { ...base(), product_code: 'TRANS_BANKCARD_NO_PWD' })).toMatchObject({ code: '40004', sub_code: 'PRODUCT_NOT_SIGN' });
    expect(await exec(T, { ...base(), biz_scene: undefined })).toMatchObject({ code: '40004', sub_code: 'INVALID_PARAMETER' });
    for (const amount of ['0', '-1', '1.001', 'abc']) {
      expect((await exec(T, { ...base(), trans_amount: amount })).sub_code).toMatch(/^(INVALID_PARAMETER|EXCEED_LIMIT_SM_MIN_AMOUNT)$/);
    }
    expect(await exec(T, { ...base(), trans_amount: '100000000.01' })).toMatchObject({ code: '40004', sub_code: 'EXCEED_LIMIT_SM_AMOUNT' });
    expect(await exec(T, { ...base(), payee_info: { identity: ZHANG_SAN.logonId, identity_type: 'ALIPAY_LOGON_ID' } })).toMatchObject({
      code: '40004',
      sub_code: 'INVALID_PARAMETER',
    });
    expect(await exec(T, { ...base(), payee_info: { identity: '6222020000000000', identity_type: 'BANKCARD_ACCOUNT', name: '张三' } })).toMatchObject({
      sub_code: 'INVALID_PARAMETER',
    });
    const { payee_info: _omitted, ...noPayee } = base();
    void _omitted;
    expect(await exec(T, noPayee)).toMatchObject({ code: '40001', sub_code: 'isv.missing-parameter' });
    expect(sandbox.transfers(appId).filter((t) => t.outBizNo.startsWith('RAW'))).toEqual([]);
  });

  it('a phone number of several accounts: the name picks one, and the same name twice is PAYEE_ACC_OCUPIED', async () => {
    const phone = `139${String(Date.now()).slice(-8)}`;
    const wang = sandbox.addPayee({ logonId: phone, name: '王五' });
    sandbox.addPayee({ logonId: phone, name: '赵六' });
    expectSuccess(await transfer(creds, transferRequest({ payeeAccount: phone, payeeName: '王五', outBizNo: uniqueNo('PH') })));
    expect(sandbox.transfers(appId).at(-1)?.payeeUserId).toBe(wang.userId);
    sandbox.addPayee({ logonId: phone, name: '王五' });
    expect(await transfer(creds, transferRequest({ payeeAccount: phone, payeeName: '王五' }))).toMatchObject({ status: 'FAIL', errorCode: 'PAYEE_ACC_OCUPIED' });
  });

  it('finds an order by order_id too, and needs product_code and biz_scene with out_biz_no', async () => {
    const req = transferRequest();
    const paid = expectSuccess(await transfer(creds, req));
    const Q = 'alipay.fund.trans.common.query';
    expect(await exec(Q, { order_id: paid.providerTransferId })).toMatchObject({ code: '10000', out_biz_no: req.outBizNo, status: 'SUCCESS' });
    expect(await exec(Q, { out_biz_no: req.outBizNo })).toMatchObject({ code: '40004', sub_code: 'INVALID_PARAMETER' });
    expect(await exec(Q, { out_biz_no: req.outBizNo, product_code: 'STD_RED_PACKET', biz_scene: 'DIRECT_TRANSFER' })).toMatchObject({
      sub_code: 'ORDER_NOT_EXIST',
    });
    // Another app cannot see it.
    const other = await sandbox.createMerchant();
    expect(await queryTransfer(other, req.outBizNo)).toMatchObject({ status: 'NOT_FOUND' });
  });
});

describe('sandbox control API and persistence', () => {
  it('balance, payees, transfer mode, the transfer record, completion and fault kinds over HTTP', async () => {
    const c = await sandbox.createMerchant();
    const app = c.providerAppId;
    const post = (p: string, body: unknown) => fetch(`${sandbox.url}${p}`, { method: 'POST', body: JSON.stringify(body) });

    expect(await (await fetch(`${sandbox.url}/__sim/merchants/${app}/balance`)).json()).toEqual({ appId: app, fen: 100_000_000 });
    expect(await (await post(`/__sim/merchants/${app}/balance`, { fen: 50_000 })).json()).toEqual({ appId: app, fen: 50_000 });
    expect((await post(`/__sim/merchants/${app}/balance`, { fen: -1 })).status).toBe(400);
    expect((await post('/__sim/merchants/NOPE/balance', { fen: 1 })).status).toBe(404);

    const created = await post('/__sim/payees', { logonId: 'http-payee@example.com', name: '钱七' });
    expect(created.status).toBe(201);
    const payee = (await created.json()) as SimPayee;
    expect(payee.userId).toMatch(/^2088\d{12}$/);
    expect((await post('/__sim/payees', { logonId: 'x@example.com' })).status).toBe(400);
    const listed = (await (await fetch(`${sandbox.url}/__sim/payees`)).json()) as SimPayee[];
    expect(listed).toEqual(expect.arrayContaining([payee, ZHANG_SAN]));

    expect((await post(`/__sim/merchants/${app}/transfer-mode`, { mode: 'dealing' })).status).toBe(200);
    expect((await post(`/__sim/merchants/${app}/transfer-mode`, { mode: 'later' })).status).toBe(400);
    const req = transferRequest({ amountFen: 20_000, payeeAccount: 'http-payee@example.com', payeeName: '钱七' });
    expect(await transfer(c, req)).toMatchObject({ status: 'PROCESSING' });
    const records = (await (await fetch(`${sandbox.url}/__sim/transfers?app_id=${app}`)).json()) as SimTransfer[];
    expect(records.map((t) => [t.outBizNo, t.amountFen, t.status, t.payeeUserId])).toEqual([[req.outBizNo, 20_000, 'DEALING', payee.userId]]);
    expect(records[0].transDate).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    const done = await post(`/__sim/transfers/${req.outBizNo}/complete`, {});
    expect(((await done.json()) as SimTransfer).status).toBe('SUCCESS');
    expect((await post(`/__sim/transfers/${req.outBizNo}/complete`, {})).status).toBe(409);
    expect((await post('/__sim/transfers/NOPE/complete', {})).status).toBe(404);
    expectSuccess(await queryTransfer(c, req.outBizNo));
    const bounced = await post(`/__sim/transfers/${req.outBizNo}/bounce?app_id=${app}`, { reason: '退票' });
    expect(((await bounced.json()) as SimTransfer).status).toBe('REFUND');
    expect(sandbox.balance(app)).toBe(50_000);

    expect((await post('/__sim/faults', { kind: 'systemError' })).status).toBe(201);
    expect((await post('/__sim/faults', { kind: 'systemError', method: 'alipay.trade.query' })).status).toBe(400);
    await fetch(`${sandbox.url}/__sim/faults`, { method: 'DELETE' });
  });

  it('keeps transfers, balances and payees across a restart: the repeat after a restart does not pay again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-transfer-'));
    const stateFile = path.join(dir, 'state.json');
    try {
      const first = await startAlipaySandbox({ stateFile });
      const c = await first.createMerchant();
      const app = c.providerAppId;
      first.setBalance(app, 10_000);
      const payee = first.addPayee({ logonId: 'restart@example.com', name: '孙八' });
      const req = transferRequest({ amountFen: 2500, payeeAccount: 'restart@example.com', payeeName: '孙八' });
      const paid = expectSuccess(await transfer(c, req));
      first.setTransferMode(app, 'dealing');
      const dealing = transferRequest({ amountFen: 500, payeeAccount: 'restart@example.com', payeeName: '孙八' });
      expect(await transfer(c, dealing)).toMatchObject({ status: 'PROCESSING' });
      await first.close();

      const second = await startAlipaySandbox({ stateFile });
      try {
        const moved = { ...c, gatewayUrl: second.url };
        expect(second.balance(app)).toBe(7000);
        expect(second.payees()).toContainEqual(payee);
        expect(expectSuccess(await transfer(moved, req)).providerTransferId).toBe(paid.providerTransferId);
        expect(second.transfers(app).map((t) => t.outBizNo)).toEqual([req.outBizNo, dealing.outBizNo]);
        expect(await transfer(moved, { ...req, amountFen: 2600 })).toMatchObject({ status: 'FAIL', errorCode: 'PAYMENT_INFO_INCONSISTENCY' });
        await second.completeTransfer(dealing.outBizNo);
        expectSuccess(await queryTransfer(moved, dealing.outBizNo));
        // The dealing mode is the app's setting and survives too.
        expect(await transfer(moved, transferRequest({ amountFen: 100, payeeAccount: 'restart@example.com', payeeName: '孙八' }))).toMatchObject({
          status: 'PROCESSING',
        });
        expect(second.balance(app)).toBe(6900);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
