/** The pure parts of the Alipay refund adapter: fen → refund_amount, and Alipay answers → RefundOutcome. */
import { refundFailure, refundQueryOutcomeOf, refundSuccessOf, toRefundAmount } from '../../providers/alipay/refund';
import { ProviderError } from '../../providers/types';
import { shanghaiTimeMillis } from '../../sandbox/alipay/protocol';

function providerError(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

describe('toRefundAmount', () => {
  it('formats integer fen as a two-decimal yuan string', () => {
    expect(toRefundAmount(1)).toBe('0.01');
    expect(toRefundAmount(1999)).toBe('19.99');
    expect(toRefundAmount(100)).toBe('1.00');
    expect(toRefundAmount(10_000_000_000)).toBe('100000000.00');
  });

  it('refuses amounts Alipay cannot take (REJECTED INVALID_AMOUNT), before any call', () => {
    for (const fen of [0, -1, 1.5, Number.NaN, 10_000_000_001]) {
      const err = providerError(() => toRefundAmount(fen));
      expect(err.kind).toBe('REJECTED');
      expect(err.providerCode).toBe('INVALID_AMOUNT');
    }
  });
});

describe('refundFailure', () => {
  it.each([
    'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL',
    'ACQ.TRADE_NOT_EXIST',
    'ACQ.TRADE_STATUS_ERROR',
    'ACQ.TRADE_HAS_FINISHED',
    'ACQ.TRADE_HAS_CLOSE',
    'ACQ.SELLER_BALANCE_NOT_ENOUGH',
    'ACQ.DISCORDANT_REPEAT_REQUEST',
    'ACQ.INVALID_PARAMETER',
  ])('40004 %s is a final refusal carrying Alipay’s code and message', (subCode) => {
    const res = { code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: '说明' };
    expect(refundFailure(res)).toEqual({ status: 'FAIL', errorCode: subCode, errorMsg: '说明', raw: res });
  });

  it('falls back to msg when sub_msg is missing', () => {
    expect(refundFailure({ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.X' })).toMatchObject({ errorMsg: 'Business Failed' });
  });

  it('is not a refusal for success, retryable or gateway-level answers', () => {
    expect(refundFailure({ code: '10000', msg: 'Success' })).toBeUndefined();
    expect(refundFailure({ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SYSTEM_ERROR' })).toBeUndefined();
    expect(refundFailure({ code: '40004', msg: 'Business Failed', sub_code: 'AQC.SYSTEM_ERROR' })).toBeUndefined();
    expect(refundFailure({ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.REFUND_CHARGE_ERROR' })).toBeUndefined();
    expect(refundFailure({ code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error' })).toBeUndefined();
    expect(refundFailure({ code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature' })).toBeUndefined();
    expect(refundFailure({ code: '40004', msg: 'Business Failed' })).toBeUndefined();
  });
});

describe('refundSuccessOf (alipay.trade.refund, fund_change Y)', () => {
  it('takes the requested amount, the trade number and gmt_refund_pay as Beijing time', () => {
    const res = { code: '10000', msg: 'Success', trade_no: '2024011522001412345678901234', fund_change: 'Y', refund_fee: '12.00', gmt_refund_pay: '2024-01-15 08:30:00' };
    expect(refundSuccessOf(res, 700)).toEqual({
      status: 'SUCCESS',
      amountFen: 700,
      providerRefundNo: '2024011522001412345678901234',
      refundTime: new Date('2024-01-15T00:30:00.000Z'),
      raw: res,
    });
  });

  it('falls back to now without gmt_refund_pay and to null without trade_no', () => {
    const before = Date.now();
    const outcome = refundSuccessOf({ code: '10000', msg: 'Success', fund_change: 'Y' }, 1);
    if (outcome.status !== 'SUCCESS') throw new Error('expected SUCCESS');
    expect(outcome.providerRefundNo).toBeNull();
    expect(outcome.refundTime.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('a malformed gmt_refund_pay is a BAD_RESPONSE', () => {
    expect(providerError(() => refundSuccessOf({ code: '10000', msg: 'Success', gmt_refund_pay: '2024/01/15 08:30' }, 1)).kind).toBe('BAD_RESPONSE');
  });
});

describe('refundQueryOutcomeOf (alipay.trade.fastpay.refund.query)', () => {
  const base = { code: '10000', msg: 'Success', trade_no: '2024011522001412345678901234', out_trade_no: 'T1', out_request_no: 'R1' };

  it('no refund data → NOT_FOUND (not refunded: the refund may be re-sent with the same number)', () => {
    expect(refundQueryOutcomeOf(base, 'R1')).toEqual({ status: 'NOT_FOUND', raw: base });
    expect(refundQueryOutcomeOf({ ...base, refund_amount: '' }, 'R1').status).toBe('NOT_FOUND');
  });

  it('refund data with REFUND_SUCCESS or no status → SUCCESS with amount in fen and gmt_refund_pay', () => {
    const res = { ...base, total_amount: '100.20', refund_amount: '12.33', refund_status: 'REFUND_SUCCESS', gmt_refund_pay: '2014-11-27 15:45:57' };
    expect(refundQueryOutcomeOf(res, 'R1')).toEqual({
      status: 'SUCCESS',
      amountFen: 1233,
      providerRefundNo: base.trade_no,
      refundTime: new Date('2014-11-27T07:45:57.000Z'),
      raw: res,
    });
    expect(refundQueryOutcomeOf({ ...base, refund_amount: '0.1' }, 'R1')).toMatchObject({ status: 'SUCCESS', amountFen: 10 });
  });

  it('refund data with another status → PROCESSING, never SUCCESS', () => {
    expect(refundQueryOutcomeOf({ ...base, refund_amount: '1.00', refund_status: 'REFUND_PROCESSING' }, 'R1')).toMatchObject({ status: 'PROCESSING', providerRefundNo: base.trade_no });
  });

  it('an answer about another request number or with a malformed amount is a BAD_RESPONSE', () => {
    expect(providerError(() => refundQueryOutcomeOf({ ...base, refund_amount: '1.00' }, 'R2')).kind).toBe('BAD_RESPONSE');
    expect(providerError(() => refundQueryOutcomeOf({ ...base, refund_amount: '1.001' }, 'R1')).kind).toBe('BAD_RESPONSE');
    expect(providerError(() => refundQueryOutcomeOf({ ...base, refund_amount: '1.00', gmt_refund_pay: 'yesterday' }, 'R1')).kind).toBe('BAD_RESPONSE');
  });
});

describe('sandbox gmt_refund format', () => {
  it('is Beijing wall-clock time with milliseconds, as Alipay sends it in refund notifications', () => {
    expect(shanghaiTimeMillis(new Date('2024-01-15T00:30:00.007Z'))).toBe('2024-01-15 08:30:00.007');
  });
});
