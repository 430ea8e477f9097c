/** Pure refund rules: provider request numbers, which exceptions refund themselves, verdict mapping at the provider edge. */
import { exceptionOutRefundNo, isAutoRefundable, isFinalRefund, parseProviderOutRefundNo, providerOutRefundNo } from '../../domain/refund';
import { refundVerdictOf } from '../../providers/verdict';

test('provider refund numbers are stable, fixed-width and parse back; anything else is not ours', () => {
  expect(providerOutRefundNo(7)).toBe('CDR0000000007');
  expect(parseProviderOutRefundNo(providerOutRefundNo(1234567890123))).toBe(1234567890123);
  for (const bad of ['CD0000000007C1', 'CDR', 'cdr0000000007', 'CDR00000000x7', ' CDR1']) expect(parseProviderOutRefundNo(bad)).toBeNull();
  // WeChat: 1-64 of [0-9A-Za-z_-|*@]; Alipay: ≤ 64.
  expect(providerOutRefundNo(Number.MAX_SAFE_INTEGER)).toMatch(/^[0-9A-Za-z]{1,64}$/);
});

test("exception refunds live outside the merchants' outRefundNo alphabet", () => {
  expect(exceptionOutRefundNo(5)).toBe('exception:5');
  expect(/^[A-Za-z0-9_\-|*.]{1,64}$/.test(exceptionOutRefundNo(5))).toBe(false);
});

test('late and duplicate payments refund themselves; an amount mismatch waits for a person', () => {
  expect(isAutoRefundable('LATE_PAYMENT')).toBe(true);
  expect(isAutoRefundable('DUPLICATE_PAYMENT')).toBe(true);
  expect(isAutoRefundable('AMOUNT_MISMATCH')).toBe(false);
  expect([isFinalRefund('PROCESSING'), isFinalRefund('SUCCESS'), isFinalRefund('FAIL')]).toEqual([false, true, true]);
});

test('provider refund outcomes become workflow verdicts with epoch-ms times', () => {
  const at = new Date('2026-11-25T04:00:00Z');
  expect(refundVerdictOf({ status: 'SUCCESS', amountFen: 300, providerRefundNo: 'R1', refundTime: at })).toEqual({ status: 'SUCCESS', amount: 300, providerRefundId: 'R1', refundTime: at.getTime() });
  expect(refundVerdictOf({ status: 'PROCESSING', providerRefundNo: null })).toEqual({ status: 'PROCESSING', providerRefundId: null });
  expect(refundVerdictOf({ status: 'FAIL', errorCode: 'NOT_ENOUGH', errorMsg: '余额不足' })).toEqual({ status: 'FAIL', errorCode: 'NOT_ENOUGH', errorMsg: '余额不足' });
  expect(refundVerdictOf({ status: 'NOT_FOUND' })).toEqual({ status: 'NOT_FOUND' });
});
