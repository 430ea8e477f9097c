/**
 * One WeChat Pay client per channel credential set: a real wechatpay-node-v3 instance whose HTTP layer is
 * our verifying transport, plus that merchant's platform certificate store. Cached so the platform
 * certificates are downloaded once, not per call.
 */
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import WxPay from 'wechatpay-node-v3';
import { ProviderError, type ChannelCredentials } from '../types';
import { assertApiV3Key, normalizeSerial } from './crypto';
import { parseGatewayUrl, VerifyingPayRequest, WECHAT_API_ORIGIN, WechatTransport } from './http';
import { PlatformCertificateStore } from './platform-certs';

/** The shape of ChannelCredentials.secrets for channelType 'wx-pay'. */
export interface WechatSecrets {
  /** apiclient_key.pem: PKCS#8 PEM of the merchant API key. */
  merchantPrivateKey: string;
  /** Serial of the merchant API certificate (hex, any case). Derived from merchantCertificate when absent. */
  merchantCertSerial: string;
  /** apiclient_cert.pem (optional when merchantCertSerial is given). */
  merchantCertificate?: string;
  /** APIv3 key (APIv3密钥): exactly 32 characters. */
  apiV3Key: string;
  /** Platform certificate PEM (wechatpay_*.pem); when absent it is downloaded from /v3/certificates. */
  platformCertificate?: string;
  /** Its serial (checked against the certificate when both are given). */
  platformCertSerial?: string;
}

export interface WechatClientOptions {
  httpTimeoutMs: number;
  certRefreshMinIntervalMs: number;
  userAgent: string;
}

export interface WechatClient {
  readonly pay: WxPay;
  readonly mchId: string;
  readonly appId: string;
  readonly apiV3Key: string;
  readonly certificates: PlatformCertificateStore;
  /** The HTTP layer under the SDK, for the requests the SDK cannot make for us (streamed bill downloads). */
  readonly transport: WechatTransport;
  /**
   * Headers of a GET we send ourselves, signed with the SDK's own getSignature/getAuthorization over exactly
   * `pathWithQuery` (what WeChat verifies), so such requests authenticate like every SDK call.
   */
  signedGetHeaders(pathWithQuery: string, accept?: string): Record<string, string>;
  /**
   * Headers of a JSON POST we send ourselves (APIs wechatpay-node-v3 2.2.1 lacks, e.g. 商家转账), signed with
   * the SDK's getSignature/getAuthorization over `pathWithQuery` and exactly the `body` string that is sent.
   */
  signedPostHeaders(pathWithQuery: string, body: string): Record<string, string>;
}

function configError(message: string): ProviderError {
  // Messages name the offending field only: secret values must never reach logs or API answers.
  return new ProviderError('REJECTED', `WeChat channel config: ${message}`, 'CONFIG_ERROR');
}

export function readWechatSecrets(creds: ChannelCredentials): WechatSecrets {
  if (creds.channelType !== 'wx-pay') throw configError(`channelType ${creds.channelType} is not wx-pay`);
  if (!creds.mchId || !creds.providerAppId) throw configError('mchId and providerAppId are required');
  const s = creds.secrets ?? {};
  const merchantPrivateKey = s.merchantPrivateKey;
  if (!merchantPrivateKey) throw configError('secrets.merchantPrivateKey is required');
  try {
    const key = createPrivateKey(merchantPrivateKey);
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
  } catch {
    throw configError('secrets.merchantPrivateKey is not an RSA private key PEM');
  }
  let merchantCertSerial = s.merchantCertSerial;
  if (s.merchantCertificate) {
    let certSerial: string;
    try {
      certSerial = normalizeSerial(new X509Certificate(s.merchantCertificate).serialNumber);
    } catch {
      throw configError('secrets.merchantCertificate is not a PEM certificate');
    }
    if (merchantCertSerial && normalizeSerial(merchantCertSerial) !== certSerial) {
      throw configError('secrets.merchantCertSerial does not match secrets.merchantCertificate');
    }
    merchantCertSerial ??= certSerial;
  }
  if (!merchantCertSerial || !/^[0-9A-Fa-f]{2,64}$/.test(merchantCertSerial)) {
    throw configError('secrets.merchantCertSerial (hex) or secrets.merchantCertificate is required');
  }
  const apiV3Key = s.apiV3Key;
  try {
    assertApiV3Key(apiV3Key);
  } catch {
    throw configError('secrets.apiV3Key must be exactly 32 characters');
  }
  return {
    merchantPrivateKey,
    merchantCertSerial: normalizeSerial(merchantCertSerial),
    merchantCertificate: s.merchantCertificate,
    apiV3Key,
    platformCertificate: s.platformCertificate || undefined,
    platformCertSerial: s.platformCertSerial || undefined,
  };
}

/** Cache key: a digest, so the map never holds a second copy of the secrets as readable strings. */
function cacheKey(creds: ChannelCredentials): string {
  const secrets = Object.entries(creds.secrets ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify([creds.channelType, creds.mchId, creds.providerAppId, creds.gatewayUrl, secrets])).digest('hex');
}

export function buildWechatClient(creds: ChannelCredentials, options: WechatClientOptions): WechatClient {
  const secrets = readWechatSecrets(creds);
  const base = parseGatewayUrl(creds.gatewayUrl || WECHAT_API_ORIGIN);
  const pay = new WxPay({
    appid: creds.providerAppId,
    mchid: creds.mchId,
    // With serial_no given the SDK never parses publicKey, but insists on it being truthy.
    publicKey: Buffer.from(secrets.merchantCertificate ?? 'unused: serial_no is configured'),
    privateKey: Buffer.from(secrets.merchantPrivateKey),
    serial_no: secrets.merchantCertSerial,
    key: secrets.apiV3Key,
    userAgent: options.userAgent,
  });
  const transport = new WechatTransport(base, options.httpTimeoutMs);
  const signedGetHeaders = (pathWithQuery: string, accept = 'application/json'): Record<string, string> => {
    // The SDK's own public signing helpers, so these requests match every SDK-built one exactly.
    const nonce = randomBytes(16).toString('hex');
    const timestamp = Math.floor(Date.now() / 1000).toString();
    const signature = pay.getSignature('GET', nonce, timestamp, pathWithQuery);
    return { Accept: accept, 'User-Agent': options.userAgent, Authorization: pay.getAuthorization(nonce, timestamp, signature) };
  };
  const signedPostHeaders = (pathWithQuery: string, body: string): Record<string, string> => {
    const nonce = randomBytes(16).toString('hex');
    const timestamp = Math.floor(Date.now() / 1000).toString();
    // The body goes into the signature as the very string that is sent: re-serialising could reorder keys.
    const signature = pay.getSignature('POST', nonce, timestamp, pathWithQuery, body);
    return {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': options.userAgent,
      Authorization: pay.getAuthorization(nonce, timestamp, signature),
    };
  };
  const certificates = new PlatformCertificateStore({
    apiV3Key: secrets.apiV3Key,
    configured: secrets.platformCertificate ? { pem: secrets.platformCertificate, serial: secrets.platformCertSerial } : undefined,
    minRefreshIntervalMs: options.certRefreshMinIntervalMs,
    download: () => transport.send('GET', `${WECHAT_API_ORIGIN}/v3/certificates`, undefined, signedGetHeaders('/v3/certificates')),
  });
  pay.createHttp(new VerifyingPayRequest(transport, certificates));
  return { pay, mchId: creds.mchId, appId: creds.providerAppId, apiV3Key: secrets.apiV3Key, certificates, transport, signedGetHeaders, signedPostHeaders };
}

/** Small bounded cache; credential rotation creates new entries and the oldest ones fall out. */
export class WechatClientCache {
  private readonly clients = new Map<string, WechatClient>();

  constructor(
    private readonly options: WechatClientOptions,
    private readonly maxEntries = 256,
  ) {}

  get(creds: ChannelCredentials): WechatClient {
    const key = cacheKey(creds);
    let client = this.clients.get(key);
    if (client) {
      // Refresh recency (Map keeps insertion order).
      this.clients.delete(key);
    } else {
      client = buildWechatClient(creds, this.options);
    }
    this.clients.set(key, client);
    while (this.clients.size > this.maxEntries) this.clients.delete(this.clients.keys().next().value as string);
    return client;
  }
}
