import { ProviderError } from '../../providers/types';
import { createWechatProvider } from '../../providers/wechat';
import {
  assertFen,
  assertOutTradeNo,
  errorForStatus,
  formatRfc3339Shanghai,
  mapTransaction,
  parseRfc3339,
  truncateCodePoints,
  type WechatTransaction,
} from '../../providers/wechat/mapping';

const paid: WechatTransaction = {
  mchid: '1900000001',
  appid: 'wxabc',
  out_trade_no: 'ORDER0001',
  transaction_id: '4200000000000000000000000001',
  trade_state: 'SUCCESS',
  success_time: '2024-05-01T12:00:00+08:00',
  amount: { total: 1999, payer_total: 1999, currency: 'CNY' },
};

function expectProviderError(fn: () => unknown, kind: string, code?: string) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe(kind);
    if (code !== undefined) expect((err as ProviderError).providerCode).toBe(code);
    return;
  }
  throw new Error('expected a ProviderError');
}

describe('trade_state mapping', () => {
  it('maps SUCCESS and REFUND to SUCCESS with fen, transaction id and pay time', () => {
    for (const trade_state of ['SUCCESS', 'REFUND']) {
      const o = mapTransaction({ ...paid, trade_state });
      expect(o).toMatchObject({ status: 'SUCCESS', amountFen: 1999, providerTradeNo: paid.transaction_id });
      expect(o.status === 'SUCCESS' && o.payTime.toISOString()).toBe('2024-05-01T04:00:00.000Z');
    }
  });
  it('maps NOTPAY/USERPAYING → WAITING, CLOSED/REVOKED → CLOSED, PAYERROR → FAIL', () => {
    expect(mapTransaction({ trade_state: 'NOTPAY' }).status).toBe('WAITING');
    expect(mapTransaction({ trade_state: 'USERPAYING' }).status).toBe('WAITING');
    expect(mapTransaction({ trade_state: 'CLOSED' }).status).toBe('CLOSED');
    expect(mapTransaction({ trade_state: 'REVOKED' }).status).toBe('CLOSED');
    expect(mapTransaction({ trade_state: 'PAYERROR', trade_state_desc: '银行卡余额不足' })).toMatchObject({
      status: 'FAIL',
      errorCode: 'PAYERROR',
      errorMsg: '银行卡余额不足',
    });
  });
  it('refuses unknown states and paid transactions without integer fen, id or time', () => {
    expectProviderError(() => mapTransaction({ trade_state: 'WHATEVER' }), 'BAD_RESPONSE');
    expectProviderError(() => mapTransaction({ ...paid, amount: { total: 19.99 } }), 'BAD_RESPONSE');
    expectProviderError(() => mapTransaction({ ...paid, amount: { total: '1999' } }), 'BAD_RESPONSE');
    expectProviderError(() => mapTransaction({ ...paid, transaction_id: undefined }), 'BAD_RESPONSE');
    expectProviderError(() => mapTransaction({ ...paid, success_time: 'yesterday' }, 'BAD_CALLBACK'), 'BAD_CALLBACK');
  });
});

describe('fen assertions', () => {
  it('accepts positive safe integers only', () => {
    expect(assertFen(1)).toBe(1);
    expect(assertFen(10_000_000_000)).toBe(10_000_000_000);
    for (const bad of [0, -1, 0.1 + 0.2, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '100', null, undefined]) {
      expectProviderError(() => assertFen(bad), 'REJECTED', 'PARAM_ERROR');
    }
  });
});

describe('field formats', () => {
  it('formats time_expire as RFC 3339 in +08:00 regardless of the host TZ', () => {
    expect(formatRfc3339Shanghai(new Date('2024-05-01T04:00:00Z'))).toBe('2024-05-01T12:00:00+08:00');
    expect(formatRfc3339Shanghai(new Date('2024-12-31T16:30:05.999Z'))).toBe('2025-01-01T00:30:05+08:00');
    expect(() => formatRfc3339Shanghai(new Date('nope'))).toThrow(RangeError);
  });
  it('parses RFC 3339 only', () => {
    expect(parseRfc3339('2024-05-01T12:00:00+08:00')?.toISOString()).toBe('2024-05-01T04:00:00.000Z');
    expect(parseRfc3339('2024-05-01 12:00:00')).toBeUndefined();
    expect(parseRfc3339(1714536000)).toBeUndefined();
  });
  it('validates out_trade_no (6-32 of [0-9A-Za-z_-|*])', () => {
    expect(() => assertOutTradeNo('ORDER_1-2*3|4')).not.toThrow();
    for (const bad of ['short', 'x'.repeat(33), 'ORDER/../1', 'ORDER?mchid=1', '订单号123456']) {
      expectProviderError(() => assertOutTradeNo(bad), 'REJECTED', 'PARAM_ERROR');
    }
  });
  it('truncates by code points, never splitting a surrogate pair', () => {
    expect(truncateCodePoints('😀😀😀', 2)).toBe('😀😀');
    expect(truncateCodePoints('短', 127)).toBe('短');
  });
});

describe('HTTP status → error kind', () => {
  it('5xx, 429 and retryable codes are UNAVAILABLE; 4xx REJECTED with the code; others BAD_RESPONSE', () => {
    expect(errorForStatus('q', 500, '{"code":"SYSTEM_ERROR","message":"系统错误"}')).toMatchObject({ kind: 'UNAVAILABLE', providerCode: 'SYSTEM_ERROR' });
    expect(errorForStatus('q', 502, '<html>bad gateway</html>').kind).toBe('UNAVAILABLE');
    expect(errorForStatus('q', 429, '{"code":"FREQUENCY_LIMITED"}').kind).toBe('UNAVAILABLE');
    expect(errorForStatus('q', 403, '{"code":"BANKERROR"}').kind).toBe('UNAVAILABLE');
    expect(errorForStatus('q', 400, '{"code":"PARAM_ERROR","message":"x"}')).toMatchObject({ kind: 'REJECTED', providerCode: 'PARAM_ERROR' });
    expect(errorForStatus('q', 401, '{"code":"SIGN_ERROR"}')).toMatchObject({ kind: 'REJECTED', providerCode: 'SIGN_ERROR' });
    expect(errorForStatus('q', undefined, undefined).kind).toBe('UNAVAILABLE');
    expect(errorForStatus('q', 302, '').kind).toBe('BAD_RESPONSE');
  });
});

describe('callback acknowledgement', () => {
  const provider = createWechatProvider();
  it('answers 204 without body on success and 400 {"code":"FAIL"} on failure', () => {
    expect(provider.callbackAck(true)).toEqual({ status: 204, contentType: 'text/plain; charset=utf-8', body: '' });
    const nack = provider.callbackAck(false, '验签失败');
    expect(nack.status).toBe(400);
    expect(nack.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(nack.body)).toEqual({ code: 'FAIL', message: '验签失败' });
  });
  it('declares the wx-pay channel with all four scenes', () => {
    expect(provider.channelType).toBe('wx-pay');
    expect([...provider.scenes].sort()).toEqual(['app', 'h5', 'jsapi', 'native']);
  });
});
