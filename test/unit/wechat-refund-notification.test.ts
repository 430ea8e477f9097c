/**
 * Refund notification verification and refund-state mapping with hand-built, validly signed envelopes: the
 * cases the sandbox never produces (mixed-up event types, contradicting fields, malformed plaintext), each
 * of which must be refused on its own merits, not by a neighbouring check.
 */
import { randomUUID } from 'node:crypto';
import { createTestCa, issueCertificate } from '../../sandbox/certs';
import { encryptResource, randomAlnum, signSha256WithRsa } from '../../sandbox/wechat/crypto';
import { ProviderError, type ChannelCredentials, type RawCallback } from '../../providers/types';
import { createWechatProvider } from '../../providers/wechat';
import { mapRefund } from '../../providers/wechat/refund';

const MCHID = '1900000001';

describe('WeChat refund notifications (hand-built envelopes)', () => {
  const provider = createWechatProvider();
  const apiV3Key = randomAlnum(32);
  let platformKeyPem: string;
  let platformSerial: string;
  let creds: ChannelCredentials;

  beforeAll(async () => {
    const ca = await createTestCa({ C: 'CN', O: 'Tenpay.com', CN: 'Tenpay.com Root CA (unit)' });
    const platform = await issueCertificate({ subject: { C: 'CN', O: 'Tenpay.com', CN: 'Tenpay.com sign' }, issuer: ca });
    const merchant = await issueCertificate({ subject: { C: 'CN', O: '微信商户系统', CN: MCHID }, issuer: ca });
    platformKeyPem = platform.privateKeyPem;
    platformSerial = platform.serialNumber;
    creds = {
      channelType: 'wx-pay',
      mchId: MCHID,
      providerAppId: 'wx1234567890abcdef',
      // Never contacted: the platform certificate is configured, and notifications need no API call.
      gatewayUrl: 'http://127.0.0.1:9',
      secrets: {
        merchantPrivateKey: merchant.privateKeyPem,
        merchantCertSerial: merchant.serialNumber,
        apiV3Key,
        platformCertificate: platform.certificatePem,
        platformCertSerial: platform.serialNumber,
      },
    };
  });

  const refundPlain = (over: Record<string, unknown> = {}) => ({
    mchid: MCHID,
    out_trade_no: 'ORDER000001',
    transaction_id: '4200000000000000000000000001',
    out_refund_no: 'CDR0000000001',
    refund_id: '50000000000000000000000000001',
    refund_status: 'SUCCESS',
    success_time: '2024-05-01T12:00:00+08:00',
    user_received_account: '支付用户零钱',
    amount: { total: 1000, refund: 400, payer_total: 1000, payer_refund: 400 },
    ...over,
  });

  /** A notification exactly as WeChat builds one: encrypted resource, body signed with the platform key. */
  function notification(eventType: string, originalType: string, plain: unknown, id: string = randomUUID()): RawCallback {
    const resource = { original_type: originalType, ...encryptResource(JSON.stringify(plain), apiV3Key, originalType) };
    const body = JSON.stringify({ id, create_time: '2024-05-01T12:00:01+08:00', resource_type: 'encrypt-resource', event_type: eventType, summary: '退款成功', resource });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomAlnum(32);
    return {
      headers: {
        'wechatpay-timestamp': timestamp,
        'wechatpay-nonce': nonce,
        'wechatpay-serial': platformSerial,
        'wechatpay-signature': signSha256WithRsa(`${timestamp}\n${nonce}\n${body}\n`, platformKeyPem),
      },
      rawBody: Buffer.from(body, 'utf8'),
    };
  }

  async function rejected(p: Promise<unknown>, message: RegExp): Promise<void> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('BAD_CALLBACK');
    expect((err as ProviderError).message).toMatch(message);
  }

  it('accepts a genuine REFUND.SUCCESS and maps it', async () => {
    const n = await provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', refundPlain(), 'EV-1'));
    expect(n).toMatchObject({ outTradeNo: 'ORDER000001', outRefundNo: 'CDR0000000001', eventId: 'EV-1', mchId: MCHID });
    expect(n.outcome).toMatchObject({ status: 'SUCCESS', amountFen: 400, providerRefundNo: '50000000000000000000000000001' });
    expect(n.outcome.status === 'SUCCESS' && n.outcome.refundTime.toISOString()).toBe('2024-05-01T04:00:00.000Z');
  });

  it('REFUND.ABNORMAL / REFUND.CLOSED → FAIL with that code (no success_time needed)', async () => {
    for (const status of ['ABNORMAL', 'CLOSED']) {
      const plain = refundPlain({ refund_status: status, success_time: undefined });
      const n = await provider.verifyRefundCallback!(creds, notification(`REFUND.${status}`, 'refund', plain));
      expect(n.outcome).toMatchObject({ status: 'FAIL', errorCode: status });
    }
  });

  it('the payment handler refuses REFUND.* even when original_type claims "transaction"', async () => {
    await rejected(provider.verifyCallback(creds, notification('REFUND.SUCCESS', 'transaction', refundPlain())), /unsupported event_type REFUND\.SUCCESS/);
  });

  it('the refund handler refuses a refund event_type whose resource is not a refund, and payment events', async () => {
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'transaction', refundPlain())), /unsupported event_type/);
    await rejected(provider.verifyRefundCallback!(creds, notification('TRANSACTION.SUCCESS', 'refund', refundPlain())), /unsupported event_type/);
    // Only the three documented REFUND.* types, nothing that merely starts with REFUND.
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.PROCESSING', 'refund', refundPlain())), /unsupported event_type/);
    await rejected(provider.verifyRefundCallback!(creds, notification('constructor', 'refund', refundPlain())), /unsupported event_type/);
  });

  it('refuses plaintext that contradicts the event or lacks what the outcome needs', async () => {
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', refundPlain({ refund_status: 'CLOSED' }))), /does not match/);
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', refundPlain({ success_time: undefined }))), /success_time/);
    await rejected(
      provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', refundPlain({ amount: { total: 1000, refund: 4.5 } }))),
      /amount\.refund/,
    );
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', refundPlain({ out_refund_no: '' }))), /out_refund_no/);
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', refundPlain({ mchid: '1900000002' }))), /mchid/);
    await rejected(provider.verifyRefundCallback!(creds, notification('REFUND.SUCCESS', 'refund', ['not', 'an', 'object'])), /not a JSON object/);
  });

  it('refuses a body changed after signing, and an unsigned one', async () => {
    const cb = notification('REFUND.SUCCESS', 'refund', refundPlain());
    const changed = { ...cb, rawBody: Buffer.from(cb.rawBody.toString('utf8').replace('退款成功', '退款成功!'), 'utf8') };
    await rejected(provider.verifyRefundCallback!(creds, changed), /signature does not verify/);
    await rejected(provider.verifyRefundCallback!(creds, { headers: {}, rawBody: cb.rawBody }), /not signed/);
  });
});

describe('mapRefund', () => {
  it('maps the four WeChat refund states and refuses anything else', () => {
    expect(mapRefund('PROCESSING', {})).toMatchObject({ status: 'PROCESSING', providerRefundNo: null });
    expect(mapRefund('SUCCESS', { refund_id: 'R1', success_time: '2024-05-01T12:00:00+08:00', amount: { refund: 1 } })).toMatchObject({
      status: 'SUCCESS',
      amountFen: 1,
      providerRefundNo: 'R1',
    });
    expect(mapRefund('ABNORMAL', {})).toMatchObject({ status: 'FAIL', errorCode: 'ABNORMAL' });
    expect(mapRefund('CLOSED', {})).toMatchObject({ status: 'FAIL', errorCode: 'CLOSED' });
    expect(() => mapRefund('REFUNDED', {})).toThrow(expect.objectContaining({ kind: 'BAD_RESPONSE' }));
    expect(() => mapRefund('SUCCESS', { success_time: 'yesterday', amount: { refund: 1 } }, 'BAD_CALLBACK')).toThrow(
      expect.objectContaining({ kind: 'BAD_CALLBACK' }),
    );
  });
});
