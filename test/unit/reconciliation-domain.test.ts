/** Business days in Asia/Shanghai (UTC+8, no daylight saving) and the statement parser of the SDK. */
import { isDay, isPastDay, previousShanghaiDay, shanghaiDay, shanghaiDayRange } from '../../domain/reconciliation';
import { CashierDeskProtocolError, parseStatement } from '../../sdk';

test('a day is a real yyyy-MM-dd date', () => {
  for (const ok of ['2026-11-30', '2024-02-29']) expect(isDay(ok)).toBe(true);
  for (const bad of ['2026-02-29', '2026-13-01', '2026-1-01', '20261130', '2026-11-30T00:00', '']) expect(isDay(bad)).toBe(false);
});

test('Shanghai days start at 16:00 UTC the evening before', () => {
  expect(shanghaiDayRange('2026-12-01')).toEqual({ start: new Date('2026-11-30T16:00:00Z'), end: new Date('2026-12-01T16:00:00Z') });
  expect(shanghaiDay(Date.parse('2026-11-30T15:59:59Z'))).toBe('2026-11-30');
  expect(shanghaiDay(Date.parse('2026-11-30T16:00:00Z'))).toBe('2026-12-01');
  // 10:00 in Shanghai reconciles the day before; so does 00:30.
  expect(previousShanghaiDay(Date.parse('2026-12-01T02:00:00Z'))).toBe('2026-11-30');
  expect(previousShanghaiDay(Date.parse('2026-11-30T16:30:00Z'))).toBe('2026-11-30');
  expect(isPastDay('2026-11-30', Date.parse('2026-11-30T16:00:00Z'))).toBe(true);
  expect(isPastDay('2026-12-01', Date.parse('2026-11-30T16:00:00Z'))).toBe(false);
});

test('a statement parses into rows and totals; another layout is refused', () => {
  const csv =
    'type,orderId,outTradeNo,refundId,outRefundNo,channelType,providerTradeNo,amount,time\r\n' +
    'PAYMENT,160,"a,b",,,ali-pay,2026,1999,2026-11-25 12:00:00\r\n' +
    'REFUND,160,"a,b",7,R-1,ali-pay,2026,500,2026-11-25 12:03:10\r\n' +
    'totalPaymentCount,totalPaymentAmount,totalRefundCount,totalRefundAmount,netAmount\r\n1,1999,1,500,1499\r\n';
  const s = parseStatement(csv);
  expect(s.rows).toEqual([
    { type: 'PAYMENT', orderId: 160, outTradeNo: 'a,b', refundId: null, outRefundNo: null, channelType: 'ali-pay', providerTradeNo: '2026', amount: 1999, time: '2026-11-25 12:00:00' },
    { type: 'REFUND', orderId: 160, outTradeNo: 'a,b', refundId: 7, outRefundNo: 'R-1', channelType: 'ali-pay', providerTradeNo: '2026', amount: 500, time: '2026-11-25 12:03:10' },
  ]);
  expect(s.totals).toEqual({ paymentCount: 1, paymentAmount: 1999, refundCount: 1, refundAmount: 500, netAmount: 1499 });
  expect(() => parseStatement('hello\r\n')).toThrow(CashierDeskProtocolError);
  expect(() => parseStatement(csv.replace('PAYMENT,160', 'OTHER,160'))).toThrow(CashierDeskProtocolError);
});
