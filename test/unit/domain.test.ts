import { loadConfig } from '../../config';
import { DomainError, ErrorCode, fromTemporalFailure, httpStatusFor, toApplicationFailure } from '../../domain/errors';
import { fenToYuanString, isValidFen, MAX_AMOUNT_FEN, yuanStringToFen } from '../../domain/money';
import { MAX_SCHEDULED_NOTIFY_ATTEMPTS, NOTIFY_OFFSETS_MS, NOTIFY_RETRY_DELAYS_MS, scheduledAttemptAt } from '../../domain/notify-schedule';
import { canTransition, formatShanghai, merchantResult, parseProviderOutTradeNo, providerOutTradeNo } from '../../domain/order';
import { isPrivateHost } from '../../domain/network-address';
import { createLogger } from '../../observability/logger';
import { SecretBox } from '../../security/secret-box';
import { randomBytes } from 'node:crypto';

describe('notification schedule', () => {
  test('15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h: 16 attempts, the last at 24h4m', () => {
    expect(NOTIFY_RETRY_DELAYS_MS.map((ms) => ms / 1000)).toEqual([15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]);
    expect(MAX_SCHEDULED_NOTIFY_ATTEMPTS).toBe(16);
    expect(NOTIFY_OFFSETS_MS[15]).toBe((24 * 60 + 4) * 60_000);
    expect(scheduledAttemptAt(1000, 3)).toBe(1000 + 60_000);
    expect(scheduledAttemptAt(1000, 16)).toBeNull();
  });
});

describe('money', () => {
  test.each([
    [1, '0.01'],
    [1999, '19.99'],
    [100, '1.00'],
    [MAX_AMOUNT_FEN, '100000000.00'],
  ])('%i fen ⇄ %s yuan', (fen, yuan) => {
    expect(fenToYuanString(fen)).toBe(yuan);
    expect(yuanStringToFen(yuan)).toBe(fen);
  });
  test('rejects what is not integer fen', () => {
    for (const bad of [0, -1, 1.5, NaN, MAX_AMOUNT_FEN + 1, '1']) expect(isValidFen(bad)).toBe(false);
    expect(() => fenToYuanString(1.5)).toThrow(RangeError);
    for (const bad of ['1.999', '1e3', '-1', '', '01.00', '1,00']) expect(() => yuanStringToFen(bad)).toThrow(RangeError);
    expect(yuanStringToFen('0.1')).toBe(10);
  });
});

describe('order', () => {
  test('lifecycle transitions', () => {
    expect(canTransition('CREATED', 'PAYING')).toBe(true);
    expect(canTransition('SUCCESS', 'FINISH')).toBe(true);
    expect(canTransition('CLOSED', 'SUCCESS')).toBe(false);
    expect(canTransition('SUCCESS', 'FAIL')).toBe(false);
  });
  test('merchant result codes', () => {
    expect(merchantResult('PAYING').resultCode).toBe('NULL');
    expect(merchantResult('FINISH').resultCode).toBe('FINISH');
    expect(merchantResult('CLOSED')).toEqual({ resultCode: 'FAIL', resultErrorCode: 'ORDER_CLOSED', resultErrorMsg: '订单已关闭（超时未支付）' });
  });
  test('payTime is Asia/Shanghai', () => {
    expect(formatShanghai(Date.UTC(2026, 10, 25, 16, 30, 5))).toBe('2026-11-26 00:30:05');
  });
  test('provider trade numbers round-trip and fit WeChat’s 6-32 characters', () => {
    const no = providerOutTradeNo(12, 3);
    expect(no).toMatch(/^[A-Za-z0-9]{6,32}$/);
    expect(parseProviderOutTradeNo(no)).toEqual({ orderId: 12, channelId: 3 });
    expect(parseProviderOutTradeNo(providerOutTradeNo(Number.MAX_SAFE_INTEGER, 999_999_999))).toEqual({ orderId: Number.MAX_SAFE_INTEGER, channelId: 999_999_999 });
    expect(parseProviderOutTradeNo('CD1X2')).toBeNull();
  });
});

describe('errors', () => {
  test('codes map to HTTP statuses and survive a Temporal round trip', () => {
    expect(httpStatusFor(ErrorCode.CONFLICT)).toBe(409);
    expect(httpStatusFor(ErrorCode.PROVIDER_UNAVAILABLE)).toBe(503);
    const failure = toApplicationFailure(new DomainError(ErrorCode.PROVIDER_UNAVAILABLE, 'down'));
    expect(failure.nonRetryable).toBe(false);
    expect(fromTemporalFailure({ cause: failure })).toMatchObject({ code: 5030, message: 'down' });
    expect(toApplicationFailure(new DomainError(ErrorCode.CONFLICT)).nonRetryable).toBe(true);
  });
});

describe('configuration', () => {
  test('defaults for development, fail fast for production', () => {
    expect(loadConfig({}).temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'cashier-desk' });
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CASHIER_MASTER_KEY is required/);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ CASHIER_MASTER_KEY: 'short' })).toThrow(/32 bytes/);
    expect(loadConfig({ ALLOW_PRIVATE_NOTIFY_URLS: 'false' }).allowPrivateNotifyUrls).toBe(false);
    expect(loadConfig({}).allowPrivateNotifyUrls).toBe(true);
  });
});

describe('security helpers', () => {
  test('secret box round-trips and detects tampering', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('app-key-123');
    expect(sealed).not.toContain('app-key-123');
    expect(box.open(sealed)).toBe('app-key-123');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`)).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });
  test('private notify hosts', () => {
    for (const h of ['localhost', '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '[::1]', 'fd00::1', 'x.internal']) expect(isPrivateHost(h)).toBe(true);
    for (const h of ['merchant.example.com', '8.8.8.8', '172.32.0.1']) expect(isPrivateHost(h)).toBe(false);
  });
  test('logger redacts secret-looking fields', () => {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) }).info('x', { appKey: 'k', nested: { privateKey: 'p', ok: 1 }, token: 't' });
    expect(lines[0]).not.toMatch(/"k"|"p"|"t"/);
    expect(JSON.parse(lines[0])).toMatchObject({ appKey: '[redacted]', nested: { privateKey: '[redacted]', ok: 1 } });
  });
});
