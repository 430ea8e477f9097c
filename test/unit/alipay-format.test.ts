/**
 * Pure parts of the Alipay adapter: money, Asia/Shanghai time, trade-status mapping, error classification,
 * key normalization. No network.
 */
import { generateKeyPairSync } from 'node:crypto';
import { AlipayRequestError } from 'alipay-sdk';
import {
  alipayAmountToFen,
  fenToAlipayAmount,
  mapTradeStatus,
  parseAlipayTime,
  toAlipayTime,
  toTradeOutcome,
} from '../../providers/alipay/format';
import { createAlipayProvider, mapSdkError } from '../../providers/alipay';
import { gatewayEndpoint, normalizePrivateKey, normalizePublicKey } from '../../providers/alipay/client';
import { ProviderError } from '../../providers/types';
import { MAX_AMOUNT_FEN } from '../../domain/money';

describe('amount conversion (integer fen ↔ Alipay yuan string)', () => {
  it.each([
    [1, '0.01'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [1999, '19.99'],
    [123456789, '1234567.89'],
    [10_000_000_000, '100000000.00'],
  ])('%d fen → %s', (fen, yuan) => {
    expect(fenToAlipayAmount(fen)).toBe(yuan);
    expect(alipayAmountToFen(yuan)).toBe(fen);
  });

  it('parses the shorter forms Alipay may return', () => {
    expect(alipayAmountToFen('19.9')).toBe(1990);
    expect(alipayAmountToFen('100')).toBe(10000);
    expect(alipayAmountToFen('0.1')).toBe(10);
  });

  it.each([0, -1, 1.5, MAX_AMOUNT_FEN + 1, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('refuses %p fen (outside Alipay range)', (fen) => {
    expect(() => fenToAlipayAmount(fen)).toThrow(RangeError);
  });

  it.each(['19.999', '-1.00', '1e3', ' 1.00', '1.00 ', '', '01.00', '1,00', '0x10', 'NaN'])('refuses yuan string %p', (yuan) => {
    expect(() => alipayAmountToFen(yuan)).toThrow(RangeError);
  });

  it('round-trips without float drift around values that break (x/100) arithmetic', () => {
    // 0.07*100 = 7.000000000000001, 1.15*100 = 114.99999999999999 in IEEE doubles.
    for (const fen of [7, 115, 1005, 4_503_599_627, 9_999_999_999, 10_000_000_000]) {
      expect(alipayAmountToFen(fenToAlipayAmount(fen))).toBe(fen);
    }
    for (let fen = 1; fen <= 2000; fen++) expect(alipayAmountToFen(fenToAlipayAmount(fen))).toBe(fen);
  });
});

describe('Alipay time (yyyy-MM-dd HH:mm:ss, Asia/Shanghai)', () => {
  it('formats in UTC+8 regardless of the process time zone', () => {
    expect(toAlipayTime(new Date(Date.UTC(2024, 0, 15, 16, 30, 5)))).toBe('2024-01-16 00:30:05');
    expect(toAlipayTime(new Date(Date.UTC(2023, 11, 31, 15, 59, 59, 999)))).toBe('2023-12-31 23:59:59');
    expect(toAlipayTime(new Date(Date.UTC(2023, 11, 31, 16, 0, 0)))).toBe('2024-01-01 00:00:00');
    expect(toAlipayTime(new Date(Date.UTC(2024, 1, 28, 20, 0, 0)))).toBe('2024-02-29 04:00:00');
  });

  it('parses back to the same instant', () => {
    expect(parseAlipayTime('2024-01-16 00:30:05').toISOString()).toBe('2024-01-15T16:30:05.000Z');
    expect(parseAlipayTime('2024-01-01 07:59:59').toISOString()).toBe('2023-12-31T23:59:59.000Z');
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    expect(parseAlipayTime(toAlipayTime(now)).getTime()).toBe(now.getTime());
  });

  it.each(['2024-02-30 00:00:00', '2023-02-29 12:00:00', '2024-01-01 24:00:00', '2024-01-01T00:00:00', '2024-1-1 0:0:0', '2024-01-01 00:00', '', '2024-01-01 00:00:60'])(
    'rejects %p',
    (text) => {
      expect(() => parseAlipayTime(text)).toThrow(RangeError);
    },
  );

  it('rejects an invalid Date', () => {
    expect(() => toAlipayTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('trade status mapping', () => {
  it.each([
    ['WAIT_BUYER_PAY', 'WAITING'],
    ['TRADE_SUCCESS', 'SUCCESS'],
    ['TRADE_FINISHED', 'FINISH'],
    ['TRADE_CLOSED', 'CLOSED'],
  ])('%s → %s', (alipay, ours) => {
    expect(mapTradeStatus(alipay)).toBe(ours);
  });

  it.each(['', 'trade_success', 'TRADE_PENDING', undefined])('unknown %p → undefined', (s) => {
    expect(mapTradeStatus(s)).toBeUndefined();
  });

  it('builds a paid outcome with fen amount and Shanghai pay time', () => {
    const outcome = toTradeOutcome(
      { trade_status: 'TRADE_SUCCESS', total_amount: '19.99', trade_no: '2024011522001400000000000001', pay_time: '2024-01-16 00:30:05' },
      'BAD_RESPONSE',
    );
    expect(outcome).toEqual({
      status: 'SUCCESS',
      amountFen: 1999,
      providerTradeNo: '2024011522001400000000000001',
      payTime: new Date('2024-01-15T16:30:05.000Z'),
      raw: undefined,
    });
  });

  it('keeps unpaid states free of amounts', () => {
    expect(toTradeOutcome({ trade_status: 'WAIT_BUYER_PAY' }, 'BAD_RESPONSE')).toEqual({ status: 'WAITING', raw: undefined });
    expect(toTradeOutcome({ trade_status: 'TRADE_CLOSED', total_amount: '1.00' }, 'BAD_CALLBACK', { x: 1 })).toEqual({ status: 'CLOSED', raw: { x: 1 } });
  });

  it.each([
    [{ trade_status: 'TRADE_SUCCESS', total_amount: '19.999', trade_no: 'T', pay_time: '2024-01-16 00:30:05' }],
    [{ trade_status: 'TRADE_SUCCESS', trade_no: 'T', pay_time: '2024-01-16 00:30:05' }],
    [{ trade_status: 'TRADE_FINISHED', total_amount: '1.00', pay_time: '2024-01-16 00:30:05' }],
    [{ trade_status: 'TRADE_SUCCESS', total_amount: '1.00', trade_no: 'T', pay_time: '2024/01/16 00:30:05' }],
    [{ trade_status: 'BOGUS' }],
  ])('malformed paid message %p raises the given ProviderError kind', (fields) => {
    for (const kind of ['BAD_RESPONSE', 'BAD_CALLBACK'] as const) {
      let caught: unknown;
      try {
        toTradeOutcome(fields, kind);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderError);
      expect((caught as ProviderError).kind).toBe(kind);
    }
  });
});

describe('callback acknowledgement', () => {
  const provider = createAlipayProvider();
  it('accepts with exactly "success" as text/plain 200', () => {
    const ack = provider.callbackAck(true);
    expect(ack.status).toBe(200);
    expect(ack.contentType).toMatch(/^text\/plain/);
    expect(ack.body).toBe('success');
  });
  it('rejects with "fail" so Alipay redelivers', () => {
    expect(provider.callbackAck(false, 'db down').body).toBe('fail');
  });
  it('declares its channel and scenes', () => {
    expect(provider.channelType).toBe('ali-pay');
    expect([...provider.scenes].sort()).toEqual(['app', 'h5', 'native']);
  });
});

describe('alipay-sdk error classification', () => {
  it('network errors are UNAVAILABLE', () => {
    const err = new AlipayRequestError('HttpClient Request error: connect ECONNREFUSED 127.0.0.1:1', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    const mapped = mapSdkError('alipay.trade.query', err);
    expect(mapped.kind).toBe('UNAVAILABLE');
    expect(mapped.message).toContain('ECONNREFUSED');
  });
  it('non-200 HTTP answers are UNAVAILABLE', () => {
    const mapped = mapSdkError('alipay.trade.query', new AlipayRequestError('HTTP 请求错误, status: 502', { traceId: 't' }));
    expect(mapped.kind).toBe('UNAVAILABLE');
    expect(mapped.message).toContain('502');
  });
  it('signature failures are BAD_RESPONSE and do not echo the response body', () => {
    const mapped = mapSdkError('alipay.trade.query', new AlipayRequestError("验签失败，服务端返回的 sign: 'x' 无效, validateStr: '{\"buyer_logon_id\":\"138****1234\"}'"));
    expect(mapped.kind).toBe('BAD_RESPONSE');
    expect(mapped.message).not.toContain('buyer_logon_id');
  });
  it('garbage responses and unexpected exceptions are BAD_RESPONSE', () => {
    expect(mapSdkError('m', new AlipayRequestError('Response 格式错误')).kind).toBe('BAD_RESPONSE');
    expect(mapSdkError('m', new TypeError('The "signature" argument must be of type string')).kind).toBe('BAD_RESPONSE');
  });
  it('passes ProviderErrors through', () => {
    const pe = new ProviderError('REJECTED', 'x', 'y');
    expect(mapSdkError('m', pe)).toBe(pe);
  });
});

describe('channel config normalization', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const pkcs1 = String(privateKey.export({ type: 'pkcs1', format: 'pem' }));
  const spki = String(publicKey.export({ type: 'spki', format: 'pem' }));

  it('accepts PKCS#8 PEM, PKCS#1 PEM and bare base64 private keys, yielding the same PKCS#8 key', () => {
    const expected = pkcs8.trim();
    expect(normalizePrivateKey(pkcs8)).toBe(expected);
    expect(normalizePrivateKey(pkcs1)).toBe(expected);
    expect(normalizePrivateKey(`\n${pkcs1}\n\n`)).toBe(expected);
    const bare1 = privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64');
    const bare8 = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    expect(normalizePrivateKey(bare1)).toBe(expected);
    expect(normalizePrivateKey(bare8)).toBe(expected);
  });

  it('accepts SPKI PEM, bare base64 SPKI and PKCS#1 public keys', () => {
    const expected = spki.trim();
    expect(normalizePublicKey(spki)).toBe(expected);
    expect(normalizePublicKey(publicKey.export({ type: 'spki', format: 'der' }).toString('base64'))).toBe(expected);
    expect(normalizePublicKey(String(publicKey.export({ type: 'pkcs1', format: 'pem' })))).toBe(expected);
  });

  it('refuses garbage with a config error that does not echo the input', () => {
    const secret = 'not-a-key-but-a-secret-value';
    for (const fn of [normalizePrivateKey, normalizePublicKey]) {
      let caught: unknown;
      try {
        fn(secret);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderError);
      expect((caught as ProviderError).providerCode).toBe('INVALID_CHANNEL_CONFIG');
      expect((caught as ProviderError).message).not.toContain(secret);
    }
    // A public key where the private key belongs.
    expect(() => normalizePrivateKey(spki)).toThrow(ProviderError);
  });

  it('derives the v2 gateway endpoint', () => {
    expect(gatewayEndpoint('https://openapi.alipay.com')).toBe('https://openapi.alipay.com/gateway.do');
    expect(gatewayEndpoint('http://127.0.0.1:1234/')).toBe('http://127.0.0.1:1234/gateway.do');
    expect(gatewayEndpoint('https://openapi.alipay.com/gateway.do')).toBe('https://openapi.alipay.com/gateway.do');
    expect(() => gatewayEndpoint('openapi.alipay.com')).toThrow(ProviderError);
  });
});
