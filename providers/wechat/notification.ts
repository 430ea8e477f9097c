/**
 * The envelope checks every WeChat Pay APIv3 notification goes through, whatever it reports (payment
 * TRANSACTION.* or REFUND.*). Kept in one place so the payment and refund handlers cannot drift apart on
 * what "verified" means:
 * 1. Wechatpay-Signature over the raw body bytes with a trusted platform certificate, fresh timestamp;
 * 2. an `encrypt-resource` envelope with an AEAD_AES_256_GCM resource of the expected original_type;
 * 3. decryption with the GCM tag checked (the SDK's decipher_gcm skips that check);
 * 4. a JSON object as plaintext.
 * What the plaintext must contain is the caller's business (transaction vs refund fields).
 */
import { ProviderError, type RawCallback } from '../types';
import type { WechatClient } from './client';
import { decryptAeadAes256Gcm, DecryptionError } from './crypto';

export interface NotificationKind {
  /** Which event_type values this handler accepts (e.g. TRANSACTION.*, or exactly the three REFUND.* types). */
  acceptsEventType(eventType: string): boolean;
  /** resource.original_type that must come with those events ('transaction' or 'refund'). */
  originalType: string;
}

export interface OpenedNotification {
  /** Envelope id: WeChat reuses it on every retry of the same notification (deduplication key). */
  eventId: string;
  eventType: string;
  /** The decrypted resource, parsed; its fields are still unchecked. */
  resource: Record<string, unknown>;
}

/** Lower-cases header names and takes the body as bytes: the signature covers exactly what was received. */
function normalize(cb: RawCallback): { headers: Record<string, string | undefined>; body: Buffer } {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(cb.headers)) headers[k.toLowerCase()] = v;
  const body = Buffer.isBuffer(cb.rawBody) ? cb.rawBody : Buffer.from(String(cb.rawBody ?? ''), 'utf8');
  return { headers, body };
}

/** Verifies, checks and decrypts a notification; throws ProviderError('BAD_CALLBACK') at the first failure. */
export async function openNotification(client: WechatClient, cb: RawCallback, kind: NotificationKind): Promise<OpenedNotification> {
  const msg = normalize(cb);

  // 1. Signature over the raw bytes (re-serialised JSON would not match), fresh timestamp, known serial.
  await client.certificates.verifySigned(msg, 'BAD_CALLBACK');

  // 2. Envelope.
  let envelope: {
    id?: unknown;
    event_type?: unknown;
    resource_type?: unknown;
    resource?: { algorithm?: unknown; ciphertext?: unknown; associated_data?: unknown; nonce?: unknown; original_type?: unknown };
  };
  try {
    envelope = JSON.parse(msg.body.toString('utf8')) as typeof envelope;
  } catch {
    throw new ProviderError('BAD_CALLBACK', 'callback body is not JSON');
  }
  const r = envelope?.resource;
  if (typeof envelope?.id !== 'string' || !envelope.id || !r || typeof r.ciphertext !== 'string' || typeof r.nonce !== 'string') {
    throw new ProviderError('BAD_CALLBACK', 'callback lacks id or resource');
  }
  if (envelope.resource_type !== 'encrypt-resource' || r.algorithm !== 'AEAD_AES_256_GCM') {
    throw new ProviderError('BAD_CALLBACK', 'callback resource is not AEAD_AES_256_GCM encrypted');
  }
  // Checked before decrypting: a payment handler must never interpret a refund resource (or vice versa),
  // whose fields (out_trade_no, amount) look alike but mean something else.
  if (typeof envelope.event_type !== 'string' || !kind.acceptsEventType(envelope.event_type) || r.original_type !== kind.originalType) {
    throw new ProviderError('BAD_CALLBACK', `unsupported event_type ${String(envelope.event_type).slice(0, 40)}`);
  }

  // 3. Decrypt with the GCM tag checked.
  let resource: unknown;
  try {
    const plain = decryptAeadAes256Gcm(
      { algorithm: 'AEAD_AES_256_GCM', ciphertext: r.ciphertext, nonce: r.nonce, associated_data: typeof r.associated_data === 'string' ? r.associated_data : '' },
      client.apiV3Key,
    );
    resource = JSON.parse(plain.toString('utf8')) as unknown;
  } catch (err) {
    throw new ProviderError('BAD_CALLBACK', err instanceof DecryptionError ? `callback resource: ${err.message}` : 'callback resource is not JSON');
  }
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    throw new ProviderError('BAD_CALLBACK', 'callback resource is not a JSON object');
  }
  return { eventId: envelope.id, eventType: envelope.event_type, resource: resource as Record<string, unknown> };
}
