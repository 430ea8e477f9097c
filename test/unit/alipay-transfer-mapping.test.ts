/** The pure parts of the Alipay transfer adapter: TransferRequest → biz_content, and Alipay answers → TransferOutcome. */
import { transferBizContent, transferFailure, transferOutcomeOf } from '../../providers/alipay/transfer';
import { ProviderError, type TransferRequest } from '../../providers/types';

const TRANSFER = 'alipay.fund.trans.uni.transfer';
const QUERY = 'alipay.fund.trans.common.query';

function providerError(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

const req = (over: Partial<TransferRequest> = {}): TransferRequest => ({
  outBizNo: 'CDT20250101abc_1-2',
  amountFen: 1999,
  payeeType: 'ALIPAY_LOGON_ID',
  payeeAccount: 'payee@example.com',
  payeeName: '张三',
  remark: '佣金结算',
  notifyUrl: 'https://example.com/notify',
  ...over,
});

describe('transferBizContent', () => {
  it('builds uni.transfer’s biz_content in yuan, with product, scene and payee_info; no notify_url', () => {
    expect(transferBizContent(req())).toEqual({
      out_biz_no: 'CDT20250101abc_1-2',
      trans_amount: '19.99',
      product_code: 'TRANS_ACCOUNT_NO_PWD',
      biz_scene: 'DIRECT_TRANSFER',
      payee_info: { identity: 'payee@example.com', identity_type: 'ALIPAY_LOGON_ID', name: '张三' },
      order_title: '佣金结算',
      remark: '佣金结算',
    });
  });

  it('sends no empty values (a user id without a name, an empty remark)', () => {
    const biz = transferBizContent(req({ payeeType: 'ALIPAY_USER_ID', payeeAccount: '2088102100000001', payeeName: undefined, remark: '' }));
    expect(biz.payee_info).toEqual({ identity: '2088102100000001', identity_type: 'ALIPAY_USER_ID' });
    expect(biz).not.toHaveProperty('order_title');
    expect(biz).not.toHaveProperty('remark');
  });

  it('cuts long texts by characters, identically on every call (a retry must not look like another request)', () => {
    const remark = '转'.repeat(300);
    const a = transferBizContent(req({ remark }));
    expect([...(a.order_title as string)]).toHaveLength(128);
    expect([...(a.remark as string)]).toHaveLength(200);
    expect(transferBizContent(req({ remark }))).toEqual(a);
  });

  it.each([
    [{ payeeType: 'WX_OPENID' as const }, 'UNSUPPORTED_PAYEE_TYPE'],
    [{ amountFen: 0 }, 'INVALID_AMOUNT'],
    [{ amountFen: 10_000_000_001 }, 'INVALID_AMOUNT'],
    [{ outBizNo: 'a b' }, 'INVALID_BIZ_NO'],
    [{ payeeAccount: '' }, 'INVALID_PAYEE'],
    [{ payeeName: '' }, 'PAYEE_NAME_REQUIRED'],
  ])('refuses %j before any call (REJECTED %s)', (over, code) => {
    const err = providerError(() => transferBizContent(req(over)));
    expect(err.kind).toBe('REJECTED');
    expect(err.providerCode).toBe(code);
  });
});

describe('transferFailure', () => {
  it.each([
    'PAYEE_NOT_EXIST',
    'PAYEE_USER_INFO_ERROR',
    'PAYEE_ACC_OCUPIED',
    'PAYER_BALANCE_NOT_ENOUGH',
    'BALANCE_IS_NOT_ENOUGH',
    'PAYMENT_INFO_INCONSISTENCY',
    'EXCEED_LIMIT_SM_AMOUNT',
    'INVALID_PARAMETER',
  ])('40004 %s is a final refusal carrying Alipay’s code and message', (subCode) => {
    const res = { code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: '说明' };
    expect(transferFailure(res)).toEqual({ status: 'FAIL', errorCode: subCode, errorMsg: '说明', raw: res });
  });

  it('is not a refusal for success, "retry" or gateway-level answers', () => {
    expect(transferFailure({ code: '10000', msg: 'Success' })).toBeUndefined();
    for (const sub of ['SYSTEM_ERROR', 'ACQ.SYSTEM_ERROR', 'RESOURCE_LIMIT_EXCEED']) {
      expect(transferFailure({ code: '40004', msg: 'Business Failed', sub_code: sub })).toBeUndefined();
    }
    expect(transferFailure({ code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error' })).toBeUndefined();
    expect(transferFailure({ code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature' })).toBeUndefined();
  });
});

describe('transferOutcomeOf', () => {
  const ok = { code: '10000', msg: 'Success', out_biz_no: 'B1', order_id: '20250101110070000000000000000001' };

  it('SUCCESS: order_id and trans_date (transfer) / pay_date (query), read as Beijing time', () => {
    expect(transferOutcomeOf(TRANSFER, { ...ok, status: 'SUCCESS', trans_date: '2025-01-01 08:00:00' }, 'B1')).toMatchObject({
      status: 'SUCCESS',
      providerTransferId: ok.order_id,
      transferTime: new Date('2025-01-01T00:00:00Z'),
    });
    expect(transferOutcomeOf(QUERY, { ...ok, status: 'SUCCESS', pay_date: '2025-01-02 08:00:00' }, 'B1')).toMatchObject({
      transferTime: new Date('2025-01-02T00:00:00Z'),
    });
  });

  it.each(['DEALING', 'INIT', 'WAIT_PAY', 'UNKNOWN'])('%s is PROCESSING (not final, never assumed failed)', (status) => {
    expect(transferOutcomeOf(QUERY, { ...ok, status }, 'B1')).toMatchObject({ status: 'PROCESSING', providerTransferId: ok.order_id });
  });

  it('FAIL and REFUND (退票) are FAIL with error_code / fail_reason', () => {
    expect(transferOutcomeOf(QUERY, { ...ok, status: 'FAIL', error_code: 'PAYEE_CARD_INFO_ERROR', fail_reason: '收款方卡信息错误' }, 'B1')).toMatchObject({
      status: 'FAIL',
      errorCode: 'PAYEE_CARD_INFO_ERROR',
      errorMsg: '收款方卡信息错误',
    });
    expect(transferOutcomeOf(QUERY, { ...ok, status: 'REFUND' }, 'B1')).toMatchObject({ status: 'FAIL', errorCode: 'REFUND', errorMsg: '退票' });
  });

  it('BAD_RESPONSE for another out_biz_no, an unknown or missing status, an invalid time', () => {
    expect(providerError(() => transferOutcomeOf(TRANSFER, { ...ok, status: 'SUCCESS' }, 'B2')).kind).toBe('BAD_RESPONSE');
    expect(providerError(() => transferOutcomeOf(TRANSFER, { ...ok, status: 'PAID' }, 'B1')).kind).toBe('BAD_RESPONSE');
    expect(providerError(() => transferOutcomeOf(TRANSFER, ok, 'B1')).kind).toBe('BAD_RESPONSE');
    expect(providerError(() => transferOutcomeOf(TRANSFER, { ...ok, status: 'SUCCESS', trans_date: '2025-02-30 00:00:00' }, 'B1')).kind).toBe('BAD_RESPONSE');
  });
});
