/**
 * The sandbox's wire rules, cross-checked against the real alipay-sdk without any network: what the SDK signs
 * the sandbox must verify, and what the sandbox signs the SDK must accept.
 */
import { generateKeyPairSync } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import {
  notifySignContent,
  parseShanghaiTime,
  requestSignContent,
  rsa2Sign,
  rsa2Verify,
  shanghaiTime,
  signedEnvelope,
  newTradeNo,
  newAppId,
} from '../../sandbox/alipay/protocol';
import { toAlipayTime } from '../../providers/alipay/format';

const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ali = generateKeyPairSync('rsa', { modulusLength: 2048 });
const appPrivate = String(app.privateKey.export({ type: 'pkcs1', format: 'pem' }));
const appPublic = String(app.publicKey.export({ type: 'spki', format: 'pem' }));
const aliPrivate = String(ali.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const aliPublic = String(ali.publicKey.export({ type: 'spki', format: 'pem' }));

const sdk = new AlipaySdk({ appId: '2021000000000001', privateKey: appPrivate, alipayPublicKey: aliPublic, gateway: 'http://127.0.0.1:9/gateway.do' });

describe('request sign string', () => {
  it('sorts keys, skips sign and empty values, keeps sign_type and raw values', () => {
    expect(requestSignContent({ b: '2', a: '1 %+&', sign: 'x', sign_type: 'RSA2', empty: '' })).toBe('a=1 %+&&b=2&sign_type=RSA2');
  });

  it('verifies an SDK-signed app order string (the same rule as the gateway)', () => {
    const orderString = sdk.sdkExec('alipay.trade.app.pay', {
      notifyUrl: 'http://127.0.0.1/notify?x=1&y=2',
      bizContent: { out_trade_no: 'T1', total_amount: '0.01', subject: '100% 纯棉 a+b' },
    });
    const params = Object.fromEntries(new URLSearchParams(orderString));
    expect(params.sign_type).toBe('RSA2');
    expect(rsa2Verify(requestSignContent(params), params.sign, appPublic)).toBe(true);
    // Any change to a signed value breaks it.
    expect(rsa2Verify(requestSignContent({ ...params, biz_content: params.biz_content.replace('0.01', '0.02') }), params.sign, appPublic)).toBe(false);
  });

  it('shows why empty values must never be sent: the SDK signs them, the gateway drops them', () => {
    const orderString = sdk.sdkExec('alipay.trade.app.pay', { returnUrl: '', bizContent: { out_trade_no: 'T1' } });
    const params = Object.fromEntries(new URLSearchParams(orderString));
    expect(params.return_url).toBe('');
    expect(rsa2Verify(requestSignContent(params), params.sign, appPublic)).toBe(false);
  });
});

describe('response envelope', () => {
  it('is accepted by the SDK response check, with "/" escaped like Alipay does', () => {
    const body = signedEnvelope('alipay.trade.precreate', { code: '10000', msg: 'Success', qr_code: 'http://127.0.0.1/qr/abc' }, aliPrivate);
    expect(body).toContain('http:\\/\\/127.0.0.1\\/qr\\/abc');
    const parsed = JSON.parse(body) as { sign: string; alipay_trade_precreate_response: { qr_code: string } };
    expect(parsed.alipay_trade_precreate_response.qr_code).toBe('http://127.0.0.1/qr/abc');
    expect(() => sdk.checkResponseSign(body, 'alipay_trade_precreate_response', parsed.sign, 'trace')).not.toThrow();
  });

  it('with a broken signature is refused by the SDK', () => {
    const body = signedEnvelope('alipay.trade.query', { code: '10000', msg: 'Success' }, aliPrivate, true);
    const parsed = JSON.parse(body) as { sign: string };
    expect(() => sdk.checkResponseSign(body, 'alipay_trade_query_response', parsed.sign, 'trace')).toThrow(/验签失败/);
  });
});

describe('notification signature', () => {
  const params: Record<string, string> = {
    notify_id: 'n1',
    app_id: '2021000000000001',
    sign_type: 'RSA2',
    subject: '订单%25 & 100% a+b',
    total_amount: '19.99',
    trade_status: 'TRADE_SUCCESS',
  };

  it('excludes sign and sign_type', () => {
    expect(notifySignContent({ ...params, sign: 'x' })).toBe('app_id=2021000000000001&notify_id=n1&subject=订单%25 & 100% a+b&total_amount=19.99&trade_status=TRADE_SUCCESS');
  });

  it('round-trips through form encoding and checkNotifySignV2 (with "%" and "+" in values)', () => {
    const signed = { ...params, sign: rsa2Sign(notifySignContent(params), aliPrivate) };
    const wireBody = new URLSearchParams(signed).toString();
    expect(sdk.checkNotifySignV2(Object.fromEntries(new URLSearchParams(wireBody)))).toBe(true);
    const tampered = Object.fromEntries(new URLSearchParams(wireBody.replace('19.99', '0.01')));
    expect(sdk.checkNotifySignV2(tampered)).toBe(false);
  });
});

describe('sandbox time and ids', () => {
  it('formats and parses Asia/Shanghai time independently of the adapter, agreeing with it', () => {
    const d = new Date(Date.UTC(2024, 0, 15, 16, 30, 5));
    expect(shanghaiTime(d)).toBe('2024-01-16 00:30:05');
    expect(shanghaiTime(d)).toBe(toAlipayTime(d));
    expect(parseShanghaiTime('2024-01-16 00:30:05')?.toISOString()).toBe('2024-01-15T16:30:05.000Z');
    expect(parseShanghaiTime('2024-02-30 00:00:00')).toBeUndefined();
    expect(parseShanghaiTime('2024-01-16T00:30:05')).toBeUndefined();
    expect(parseShanghaiTime(undefined)).toBeUndefined();
  });

  it('makes ids shaped like Alipay’s', () => {
    expect(newAppId()).toMatch(/^2021\d{12}$/);
    expect(newTradeNo(new Date(Date.UTC(2024, 0, 15, 16, 30, 5)))).toMatch(/^2024011622\d{18}$/);
  });
});
