import { createCipheriv, createVerify, generateKeyPairSync, createSign } from 'node:crypto';
import WxPay from 'wechatpay-node-v3';
import {
  buildRequestSignatureMessage,
  buildResponseSignatureMessage,
  decryptAeadAes256Gcm,
  DecryptionError,
  isTimestampFresh,
  normalizeSerial,
  verifyRsaSha256,
} from '../../providers/wechat/crypto';

const API_V3_KEY = 'abcdefghijklmnopqrstuvwxyz012345'; // 32 chars

function encrypt(plaintext: string, key = API_V3_KEY, nonce = 'A1b2C3d4E5f6', aad = 'transaction') {
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { algorithm: 'AEAD_AES_256_GCM', ciphertext: ct.toString('base64'), nonce, associated_data: aad };
}

function flip(b64: string, index: number): string {
  const buf = Buffer.from(b64, 'base64');
  buf[index] ^= 0x01;
  return buf.toString('base64');
}

describe('AEAD_AES_256_GCM decryption (tag checked)', () => {
  const plaintext = JSON.stringify({ mchid: '1900000001', amount: { total: 1234 }, desc: '中文 \u4e2d 1.50' });

  it('decrypts what WeChat encrypts (key = APIv3 key, iv = nonce, aad = associated_data)', () => {
    expect(decryptAeadAes256Gcm(encrypt(plaintext), API_V3_KEY).toString('utf8')).toBe(plaintext);
  });

  it('rejects a ciphertext with one flipped bit, where the SDK decipher_gcm silently returns garbage', () => {
    const res = encrypt(plaintext);
    const tampered = { ...res, ciphertext: flip(res.ciphertext, 3) };
    expect(() => decryptAeadAes256Gcm(tampered, API_V3_KEY)).toThrow(DecryptionError);

    // Documents why we never use the SDK for this: wechatpay-node-v3 2.2.x skips decipher.final().
    const pay = new WxPay({ appid: 'wx1', mchid: '1', publicKey: Buffer.from('x'), privateKey: Buffer.from('x'), serial_no: 'AB', key: API_V3_KEY });
    const sdkResult = pay.decipher_gcm<unknown>(tampered.ciphertext, tampered.associated_data, tampered.nonce);
    expect(sdkResult).not.toEqual(JSON.parse(plaintext));
  });

  it('rejects a modified tag, nonce, associated data or key', () => {
    const res = encrypt(plaintext);
    const len = Buffer.from(res.ciphertext, 'base64').length;
    expect(() => decryptAeadAes256Gcm({ ...res, ciphertext: flip(res.ciphertext, len - 1) }, API_V3_KEY)).toThrow(DecryptionError);
    expect(() => decryptAeadAes256Gcm({ ...res, nonce: 'A1b2C3d4E5f7' }, API_V3_KEY)).toThrow(DecryptionError);
    expect(() => decryptAeadAes256Gcm({ ...res, associated_data: 'certificate' }, API_V3_KEY)).toThrow(DecryptionError);
    expect(() => decryptAeadAes256Gcm(res, 'bbcdefghijklmnopqrstuvwxyz012345')).toThrow(DecryptionError);
  });

  it('rejects a truncated tag and ciphertext shorter than a tag', () => {
    const res = encrypt(plaintext);
    const buf = Buffer.from(res.ciphertext, 'base64');
    // Dropping the last 4 bytes shifts the tag boundary: must fail, never verify a 12-byte "tag".
    expect(() => decryptAeadAes256Gcm({ ...res, ciphertext: buf.subarray(0, buf.length - 4).toString('base64') }, API_V3_KEY)).toThrow(
      DecryptionError,
    );
    expect(() => decryptAeadAes256Gcm({ ...res, ciphertext: buf.subarray(0, 16).toString('base64') }, API_V3_KEY)).toThrow(DecryptionError);
  });

  it('rejects unknown algorithms and malformed APIv3 keys', () => {
    expect(() => decryptAeadAes256Gcm({ ...encrypt(plaintext), algorithm: 'AES_128_CBC' }, API_V3_KEY)).toThrow(DecryptionError);
    expect(() => decryptAeadAes256Gcm(encrypt(plaintext), 'short')).toThrow(RangeError);
  });
});

describe('signature messages', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('builds `${ts}\\n${nonce}\\n${body}\\n` over the raw body bytes', () => {
    const body = '{"a":"\\u4e2d","n":1.50}';
    expect(buildResponseSignatureMessage('1700000000', 'NONCE', body).toString('utf8')).toBe(`1700000000\nNONCE\n${body}\n`);
    expect(buildResponseSignatureMessage('1', 'n', Buffer.from('')).toString('utf8')).toBe('1\nn\n\n');
  });

  it('verifies RSA-SHA256 signatures and fails closed on garbage', () => {
    const msg = buildResponseSignatureMessage('1700000000', 'NONCE', '{"x":1}');
    const sig = createSign('RSA-SHA256').update(msg).sign(privateKey, 'base64');
    expect(verifyRsaSha256(msg, sig, publicKey)).toBe(true);
    expect(verifyRsaSha256(buildResponseSignatureMessage('1700000000', 'NONCE', '{"x":2}'), sig, publicKey)).toBe(false);
    expect(verifyRsaSha256(msg, 'not-base64!!', publicKey)).toBe(false);
    expect(verifyRsaSha256(msg, '', publicKey)).toBe(false);
    expect(verifyRsaSha256(msg, sig, 'not a key')).toBe(false);
  });

  it('request message matches what the SDK signs (POST with body, GET with empty body line)', () => {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pay = new WxPay({ appid: 'wx1', mchid: '1', publicKey: Buffer.from('x'), privateKey: Buffer.from(pem), serial_no: 'AB' });
    const body = { mchid: '1', amount: { total: 1 } };
    const postSig = pay.getSignature('POST', 'nonce1', '1700000000', '/v3/pay/transactions/native', body);
    const postMsg = buildRequestSignatureMessage('POST', '/v3/pay/transactions/native', '1700000000', 'nonce1', JSON.stringify(body));
    expect(createVerify('RSA-SHA256').update(postMsg).verify(publicKey, postSig, 'base64')).toBe(true);
    const getSig = pay.getSignature('GET', 'nonce2', '1700000000', '/v3/certificates');
    const getMsg = buildRequestSignatureMessage('GET', '/v3/certificates', '1700000000', 'nonce2', '');
    expect(getMsg).toBe('GET\n/v3/certificates\n1700000000\nnonce2\n\n');
    expect(createVerify('RSA-SHA256').update(getMsg).verify(publicKey, getSig, 'base64')).toBe(true);
  });
});

describe('timestamps and serials', () => {
  const now = 1_700_000_000_000;
  it('accepts ±300 s and rejects beyond, in both directions', () => {
    expect(isTimestampFresh('1700000000', now)).toBe(true);
    expect(isTimestampFresh('1699999700', now)).toBe(true);
    expect(isTimestampFresh('1700000300', now)).toBe(true);
    expect(isTimestampFresh('1699999699', now)).toBe(false);
    expect(isTimestampFresh('1700000301', now)).toBe(false);
  });
  it('rejects non-numeric, millisecond and missing timestamps', () => {
    expect(isTimestampFresh(undefined, now)).toBe(false);
    expect(isTimestampFresh('', now)).toBe(false);
    expect(isTimestampFresh('17e8', now)).toBe(false);
    expect(isTimestampFresh('1700000000000', now)).toBe(false);
  });
  it('compares serials case-insensitively', () => {
    expect(normalizeSerial(' 5157f09efdc096de15ebe81a47057a7232f1b8e1 ')).toBe('5157F09EFDC096DE15EBE81A47057A7232F1B8E1');
  });
});
