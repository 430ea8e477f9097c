/**
 * Crypto of the WeChat sandbox, written independently of providers/wechat so the adapter's tests compare
 * two implementations of the protocol rather than one implementation with itself.
 */
import { createCipheriv, createSign, createVerify, randomBytes, randomInt, type KeyObject } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

export function randomDigits(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String(randomInt(10));
  return s;
}

/** Wechatpay-Nonce style: 32 upper-case hex characters. */
export function randomNonce(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

export function signSha256WithRsa(message: string | Buffer, privateKey: KeyObject | string): string {
  return createSign('RSA-SHA256').update(message).sign(privateKey, 'base64');
}

export function verifySha256WithRsa(message: string | Buffer, signature: string, publicKey: KeyObject | string): boolean {
  try {
    return createVerify('RSA-SHA256').update(message).verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/** AEAD_AES_256_GCM as WeChat uses it: key = APIv3 key, iv = 12-char nonce, ciphertext = base64(ct ‖ tag). */
export function encryptResource(plaintext: string, apiV3Key: string, associatedData: string) {
  const nonce = randomAlnum(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { algorithm: 'AEAD_AES_256_GCM', ciphertext: ct.toString('base64'), associated_data: associatedData, nonce };
}

/** RFC 3339 with +08:00 (China Standard Time), independent of the process TZ. */
export function rfc3339Cst(date: Date): string {
  const s = new Date(date.getTime() + 8 * 3600_000).toISOString(); // 2024-01-02T03:04:05.678Z shifted
  return `${s.slice(0, 19)}+08:00`;
}

/** yyyyMMddHHmmss in China Standard Time (used inside prepay ids, like WeChat's). */
export function compactCst(date: Date): string {
  return rfc3339Cst(date).slice(0, 19).replace(/[-T:]/g, '');
}

export const RFC3339_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
