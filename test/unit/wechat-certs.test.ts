import { createPrivateKey, X509Certificate } from 'node:crypto';
import WxPay from 'wechatpay-node-v3';
import { certificateSerial, createTestCa, issueCertificate, randomSerialHex } from '../../sandbox/certs';
import { ProviderError } from '../../providers/types';
import { readWechatSecrets } from '../../providers/wechat/client';
import { PlatformCertificateStore } from '../../providers/wechat/platform-certs';

describe('sandbox test PKI', () => {
  let ca: Awaited<ReturnType<typeof createTestCa>>;
  let merchant: Awaited<ReturnType<typeof issueCertificate>>;

  beforeAll(async () => {
    ca = await createTestCa({ C: 'CN', O: 'Tenpay.com', OU: 'Tenpay.com CA Center', CN: 'Tenpay.com Root CA (test)' });
    merchant = await issueCertificate({
      subject: { C: 'CN', ST: 'Guangdong', L: 'Shenzhen', O: '微信商户系统', OU: '测试公司', CN: '1900000001' },
      issuer: ca,
    });
  });

  it('random serials are 40 upper-case hex characters with a positive first byte', () => {
    for (let i = 0; i < 50; i++) expect(randomSerialHex()).toMatch(/^[1-7][0-9A-F]{39}$/);
  });

  it('issues a real X.509 certificate signed by the CA, with a WeChat-like subject', () => {
    const x = new X509Certificate(merchant.certificatePem);
    expect(x.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    expect(x.subject).toContain('O=微信商户系统');
    expect(x.subject).toContain('CN=1900000001');
    expect(x.issuer).toContain('CN=Tenpay.com Root CA (test)');
    expect(x.ca).toBe(false);
    expect(new X509Certificate(ca.certificatePem).ca).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(merchant.privateKeyPem))).toBe(true);
    expect(merchant.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('reports the serial the way Node and the WeChat SDK (@fidm/x509, lower-case) read it', () => {
    expect(merchant.serialNumber).toMatch(/^[0-9A-F]{40}$/);
    expect(certificateSerial(merchant.certificatePem)).toBe(merchant.serialNumber);
    const pay = new WxPay({ appid: 'wx1', mchid: '1900000001', publicKey: Buffer.from(merchant.certificatePem), privateKey: Buffer.from(merchant.privateKeyPem) });
    expect(pay.getSN(merchant.certificatePem)).toBe(merchant.serialNumber.toLowerCase());
  });

  it('accepts an explicit serial and refuses one that would not round-trip through DER', async () => {
    const c = await issueCertificate({ subject: { CN: 'x' }, keyPair: merchant, serialNumber: '1234abcd' });
    expect(c.serialNumber).toBe('1234ABCD');
    expect(certificateSerial(c.certificatePem)).toBe('1234ABCD');
    await expect(issueCertificate({ subject: { CN: 'x' }, keyPair: merchant, serialNumber: 'FF01' })).rejects.toThrow(RangeError);
  });

  it('channel secrets: derives the merchant serial from the certificate and rejects mismatches without echoing secrets', () => {
    const base = {
      channelType: 'wx-pay' as const,
      mchId: '1900000001',
      providerAppId: 'wxabcdef0123456789',
      gatewayUrl: 'http://127.0.0.1:1',
      secrets: { merchantPrivateKey: merchant.privateKeyPem, merchantCertificate: merchant.certificatePem, apiV3Key: 'k'.repeat(32) },
    };
    expect(readWechatSecrets(base).merchantCertSerial).toBe(merchant.serialNumber);
    const bad = [
      { ...base.secrets, merchantCertSerial: 'ABCDEF' },
      { ...base.secrets, apiV3Key: 'k'.repeat(31) },
      { ...base.secrets, merchantPrivateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' },
    ];
    for (const secrets of bad) {
      try {
        readWechatSecrets({ ...base, secrets });
        throw new Error('expected CONFIG_ERROR');
      } catch (err) {
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).providerCode).toBe('CONFIG_ERROR');
        expect((err as Error).message).not.toContain('k'.repeat(31));
        expect((err as Error).message).not.toContain('nope');
      }
    }
  });

  it('platform store: a configured certificate must match its configured serial', () => {
    const download = () => Promise.reject(new Error('not used'));
    expect(
      () => new PlatformCertificateStore({ apiV3Key: 'k'.repeat(32), configured: { pem: merchant.certificatePem, serial: '0BAD' }, download, minRefreshIntervalMs: 0 }),
    ).toThrow(/platformCertSerial/);
    const store = new PlatformCertificateStore({
      apiV3Key: 'k'.repeat(32),
      configured: { pem: merchant.certificatePem, serial: merchant.serialNumber.toLowerCase() },
      download,
      minRefreshIntervalMs: 0,
    });
    expect(store.serials()).toEqual([merchant.serialNumber]);
  });
});
