/**
 * AlipaySdk construction and caching. One SDK instance per distinct credential set: building one parses PEM
 * keys, so doing it per call would waste CPU, while sharing one across merchants would be a security bug.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { ProviderError, type ChannelCredentials } from '../types';

/** Network timeout for a gateway call; the SDK default, stated explicitly because activity timeouts depend on it. */
export const ALIPAY_HTTP_TIMEOUT_MS = 5000;
/** Upper bound on cached instances so key rotations over a long uptime cannot grow memory without limit. */
const MAX_CACHED_CLIENTS = 256;

const clients = new Map<string, AlipaySdk>();

function configError(message: string): ProviderError {
  // Never include key material: messages end up in logs, Temporal histories and API error bodies.
  return new ProviderError('REJECTED', `invalid Alipay channel config: ${message}`, 'INVALID_CHANNEL_CONFIG');
}

/**
 * Accepts a PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) or the bare base64 body the Alipay key tool
 * produces, and returns a trimmed PKCS#8 PEM. Normalizing here matters because alipay-sdk's formatKey() blindly
 * re-wraps the base64 body with the header implied by `keyType`: a PKCS#1 key passed as PKCS8 (or vice versa)
 * only fails later at the first signature with an opaque OpenSSL decoder error.
 */
export function normalizePrivateKey(input: string): string {
  const text = input.trim();
  let key: KeyObject | undefined;
  if (text.startsWith('-----BEGIN')) {
    try {
      key = createPrivateKey({ key: text, format: 'pem' });
    } catch {
      /* reported below */
    }
  } else {
    const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      try {
        key = createPrivateKey({ key: der, format: 'der', type });
        break;
      } catch {
        /* try the next encoding */
      }
    }
  }
  if (!key || key.asymmetricKeyType !== 'rsa') throw configError('appPrivateKey is not an RSA private key (PKCS#8/PKCS#1 PEM or base64)');
  return String(key.export({ type: 'pkcs8', format: 'pem' })).trim();
}

/**
 * Accepts the Alipay public key as SPKI PEM, bare base64 SPKI (as shown in the Alipay console) or PKCS#1
 * `RSA PUBLIC KEY` PEM, and returns a trimmed SPKI PEM (alipay-sdk only understands SPKI: PKCS#1 fails with
 * "wrong tag" at verification time, i.e. every response would look forged).
 */
export function normalizePublicKey(input: string): string {
  const text = input.trim();
  let key: KeyObject | undefined;
  try {
    key = text.startsWith('-----BEGIN')
      ? createPublicKey({ key: text, format: 'pem' })
      : createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch {
    /* reported below */
  }
  if (!key || key.asymmetricKeyType !== 'rsa') throw configError('alipayPublicKey is not an RSA public key (SPKI PEM or base64)');
  return String(key.export({ type: 'spki', format: 'pem' })).trim();
}

/** `https://openapi.alipay.com` → `https://openapi.alipay.com/gateway.do` (idempotent, tolerates a trailing slash). */
export function gatewayEndpoint(gatewayUrl: string): string {
  const base = gatewayUrl.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw configError('gatewayUrl must be an http(s) URL');
  return base.endsWith('/gateway.do') ? base : `${base}/gateway.do`;
}

function credentialFingerprint(creds: ChannelCredentials): string {
  // A hash, not the secrets themselves, is the cache key: map keys show up in heap snapshots and debuggers.
  return createHash('sha256')
    .update(JSON.stringify([creds.providerAppId, creds.gatewayUrl, creds.secrets.appPrivateKey ?? '', creds.secrets.alipayPublicKey ?? '']))
    .digest('hex');
}

/** Returns the (cached) SDK instance for a channel config. Throws ProviderError REJECTED/INVALID_CHANNEL_CONFIG. */
export function alipayClient(creds: ChannelCredentials): AlipaySdk {
  const fingerprint = credentialFingerprint(creds);
  const cached = clients.get(fingerprint);
  if (cached) {
    // Re-insert to keep Map order as LRU order.
    clients.delete(fingerprint);
    clients.set(fingerprint, cached);
    return cached;
  }
  if (creds.channelType !== 'ali-pay') throw configError(`channelType ${creds.channelType} is not ali-pay`);
  if (!creds.providerAppId) throw configError('providerAppId (Alipay app_id) is missing');
  const { appPrivateKey, alipayPublicKey } = creds.secrets ?? {};
  if (!appPrivateKey) throw configError('secrets.appPrivateKey is missing');
  if (!alipayPublicKey) throw configError('secrets.alipayPublicKey is missing');

  const sdk = new AlipaySdk({
    appId: creds.providerAppId,
    privateKey: normalizePrivateKey(appPrivateKey),
    keyType: 'PKCS8',
    alipayPublicKey: normalizePublicKey(alipayPublicKey),
    signType: 'RSA2',
    gateway: gatewayEndpoint(creds.gatewayUrl),
    timeout: ALIPAY_HTTP_TIMEOUT_MS,
    // Keep Alipay's documented snake_case field names in results (and in TradeOutcome.raw).
    camelcase: false,
  });
  clients.set(fingerprint, sdk);
  if (clients.size > MAX_CACHED_CLIENTS) {
    const oldest = clients.keys().next().value;
    if (oldest !== undefined) clients.delete(oldest);
  }
  return sdk;
}

/** Test hook: forget cached instances. */
export function clearAlipayClientCache(): void {
  clients.clear();
}
