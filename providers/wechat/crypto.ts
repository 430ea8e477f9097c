/**
 * WeChat Pay APIv3 cryptography, implemented with node:crypto instead of the SDK:
 * - wechatpay-node-v3 2.2.x `decipher_gcm` never calls `decipher.final()`, so the GCM tag is never checked
 *   and tampered ciphertext decrypts to garbage without an error. We always check it.
 * - the SDK never verifies response signatures, and its `verifySign` depends on a static process-wide
 *   certificate cache; signature checks live here and take the key explicitly.
 */
import { createDecipheriv, createVerify, type KeyObject } from 'node:crypto';

/** AEAD_AES_256_GCM tag length used by WeChat Pay (appended to the ciphertext). */
export const GCM_TAG_LENGTH = 16;
/** WeChat rejects/ignores timestamps further than this from now; so do we (replay window). */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export interface EncryptedResource {
  algorithm?: string;
  ciphertext: string;
  associated_data?: string;
  nonce: string;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** The APIv3 key is 32 ASCII characters used directly as the AES-256 key bytes. */
export function assertApiV3Key(apiV3Key: string): void {
  if (typeof apiV3Key !== 'string' || Buffer.byteLength(apiV3Key, 'utf8') !== 32) {
    // A wrong length would make createDecipheriv throw a confusing "Invalid key length" later.
    throw new RangeError('APIv3 key must be exactly 32 bytes');
  }
}

/**
 * Decrypts an AEAD_AES_256_GCM resource (notification resource or encrypt_certificate) and checks its tag.
 * key = APIv3 key bytes, iv = nonce bytes, aad = associated_data, ciphertext = base64(ct ‖ 16-byte tag).
 * Throws DecryptionError on any mismatch: wrong key, modified ciphertext/nonce/aad, truncated data.
 */
export function decryptAeadAes256Gcm(resource: EncryptedResource, apiV3Key: string): Buffer {
  assertApiV3Key(apiV3Key);
  if (resource.algorithm !== undefined && resource.algorithm !== 'AEAD_AES_256_GCM') {
    throw new DecryptionError(`unsupported algorithm ${String(resource.algorithm).slice(0, 40)}`);
  }
  if (typeof resource.ciphertext !== 'string' || typeof resource.nonce !== 'string' || resource.nonce.length === 0) {
    throw new DecryptionError('resource lacks ciphertext or nonce');
  }
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length <= GCM_TAG_LENGTH) throw new DecryptionError('ciphertext too short');
  const tag = data.subarray(data.length - GCM_TAG_LENGTH);
  const body = data.subarray(0, data.length - GCM_TAG_LENGTH);
  try {
    // authTagLength pins the tag to 16 bytes: without it Node accepts shorter tags, which are forgeable.
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(resource.nonce, 'utf8'), {
      authTagLength: GCM_TAG_LENGTH,
    });
    decipher.setAuthTag(tag);
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    // final() is the step that checks the tag; the SDK skips exactly this call.
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // Do not forward OpenSSL's message: it says nothing useful and varies between versions.
    throw new DecryptionError('AEAD_AES_256_GCM authentication failed');
  }
}

/**
 * The message WeChat signs for responses and notifications: `${timestamp}\n${nonce}\n${body}\n`.
 * Built from the raw body bytes: re-serialising a parsed body changes escapes/number formats and breaks
 * verification.
 */
export function buildResponseSignatureMessage(timestamp: string, nonce: string, rawBody: Buffer | string): Buffer {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), body, Buffer.from('\n', 'utf8')]);
}

/** The message a merchant signs for a request (APIv3 Authorization header); GET has an empty body line. */
export function buildRequestSignatureMessage(method: string, pathWithQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

export function verifyRsaSha256(message: Buffer | string, signatureBase64: string, publicKey: KeyObject | string): boolean {
  if (typeof signatureBase64 !== 'string' || signatureBase64.length === 0) return false;
  try {
    return createVerify('RSA-SHA256').update(message).verify(publicKey, signatureBase64, 'base64');
  } catch {
    // A malformed key/signature is a failed verification, never an exception that skips the check.
    return false;
  }
}

/** True when `timestamp` (unix seconds, digits only) is within ±maxSkew seconds of nowMs. */
export function isTimestampFresh(timestamp: string | undefined, nowMs: number, maxSkewSeconds = MAX_CLOCK_SKEW_SECONDS): boolean {
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= maxSkewSeconds;
}

/** Serials are hex; WeChat prints them upper-case, the SDK lower-case. Compare in one spelling. */
export function normalizeSerial(serial: string): string {
  return serial.trim().toUpperCase();
}
