/**
 * WeChat Pay platform certificates (平台证书) of one merchant, used to verify response and notification
 * signatures. Deliberately independent of the SDK's static `Pay.certificates` map, which is shared by every
 * merchant in the process and never expires entries.
 *
 * Sources:
 * - configured: secrets.platformCertificate (+ platformCertSerial), trusted as configured;
 * - downloaded: GET /v3/certificates, each certificate AEAD-decrypted with the merchant's APIv3 key (tag
 *   checked). Only WeChat and the merchant know that key, which is what makes a downloaded certificate
 *   trustworthy; the download's own signature is then checked with the certificates it carries.
 * An unknown Wechatpay-Serial (platform certificate rotation) triggers one rate-limited re-download.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { ProviderError, type ProviderErrorKind } from '../types';
import { buildResponseSignatureMessage, decryptAeadAes256Gcm, isTimestampFresh, normalizeSerial, verifyRsaSha256 } from './crypto';
import type { RawResponse, ResponseVerifier } from './http';

export interface PlatformCertificate {
  serial: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  source: 'configured' | 'downloaded';
}

export interface PlatformCertificateStoreOptions {
  apiV3Key: string;
  configured?: { pem: string; serial?: string };
  /** Performs the signed GET /v3/certificates (unverified raw answer). */
  download: () => Promise<RawResponse>;
  /** Minimum time between two downloads: an attacker posting callbacks with random serials must not make us hammer WeChat. */
  minRefreshIntervalMs: number;
  now?: () => number;
}

/** Parses a PEM certificate into a store entry; throws RangeError when it is not a certificate. */
export function parsePlatformCertificate(pem: string, source: PlatformCertificate['source']): PlatformCertificate {
  const x = new X509Certificate(pem);
  return {
    serial: normalizeSerial(x.serialNumber),
    publicKey: x.publicKey,
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    source,
  };
}

interface CertificatesAnswer {
  data?: Array<{
    serial_no?: string;
    encrypt_certificate?: { algorithm?: string; nonce?: string; associated_data?: string; ciphertext?: string };
  }>;
}

export class PlatformCertificateStore implements ResponseVerifier {
  private readonly certs = new Map<string, PlatformCertificate>();
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: PlatformCertificateStoreOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.configured) {
      let cert: PlatformCertificate;
      try {
        cert = parsePlatformCertificate(opts.configured.pem, 'configured');
      } catch {
        throw new ProviderError('REJECTED', 'platformCertificate is not a valid PEM certificate', 'CONFIG_ERROR');
      }
      if (opts.configured.serial && normalizeSerial(opts.configured.serial) !== cert.serial) {
        // A mismatch means the config pairs the wrong files; verifying with it would fail confusingly later.
        throw new ProviderError('REJECTED', 'platformCertSerial does not match platformCertificate', 'CONFIG_ERROR');
      }
      this.certs.set(cert.serial, cert);
    }
  }

  /** Serials currently trusted (for diagnostics; never contains key material). */
  serials(): string[] {
    return [...this.certs.keys()];
  }

  private usable(serial: string): PlatformCertificate | undefined {
    const cert = this.certs.get(normalizeSerial(serial));
    if (!cert) return undefined;
    const t = this.now();
    // An expired (or not yet valid) platform certificate must not vouch for anything.
    return t >= cert.notBefore.getTime() && t <= cert.notAfter.getTime() ? cert : undefined;
  }

  /**
   * Finds the certificate for `serial`, downloading the current list once if it is unknown and the rate
   * limit allows. Returns undefined when it stays unknown.
   */
  async find(serial: string): Promise<PlatformCertificate | undefined> {
    const known = this.usable(serial);
    if (known) return known;
    if (this.inflight) {
      await this.inflight;
    } else if (this.now() - this.lastRefreshAt >= this.opts.minRefreshIntervalMs) {
      await this.refresh();
    }
    return this.usable(serial);
  }

  /**
   * The certificate to encrypt sensitive request fields with (e.g. 商家转账 user_name), its serial going into the
   * Wechatpay-Serial request header: the valid one issued last, as WeChat asks during a rotation. When none is
   * valid, the list is downloaded once (rate limit permitting). Throws UNAVAILABLE when there still is none.
   */
  async encryptionCertificate(): Promise<PlatformCertificate> {
    const newest = (): PlatformCertificate | undefined =>
      [...this.certs.keys()]
        .map((serial) => this.usable(serial))
        .filter((c): c is PlatformCertificate => c !== undefined)
        .sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime())[0];
    let cert = newest();
    if (!cert) {
      if (this.inflight) await this.inflight;
      else if (this.now() - this.lastRefreshAt >= this.opts.minRefreshIntervalMs) await this.refresh();
      cert = newest();
    }
    if (!cert) throw new ProviderError('UNAVAILABLE', 'no valid WeChat Pay platform certificate to encrypt with');
    return cert;
  }

  /** Downloads /v3/certificates now (coalescing concurrent callers). */
  refresh(): Promise<void> {
    if (!this.inflight) {
      this.lastRefreshAt = this.now();
      this.inflight = this.download().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async download(): Promise<void> {
    const res = await this.opts.download();
    if (res.status !== 200) {
      const kind: ProviderErrorKind = res.status >= 500 || res.status === 429 ? 'UNAVAILABLE' : 'REJECTED';
      throw new ProviderError(kind, `GET /v3/certificates: WeChat Pay HTTP ${res.status}`);
    }
    let answer: CertificatesAnswer;
    try {
      answer = JSON.parse(res.body.toString('utf8')) as CertificatesAnswer;
    } catch {
      throw new ProviderError('BAD_RESPONSE', 'GET /v3/certificates: answer is not JSON');
    }
    if (!Array.isArray(answer.data) || answer.data.length === 0) {
      throw new ProviderError('BAD_RESPONSE', 'GET /v3/certificates: no certificates in the answer');
    }
    const fresh = new Map<string, PlatformCertificate>();
    for (const item of answer.data) {
      const enc = item.encrypt_certificate;
      if (!enc || typeof enc.ciphertext !== 'string' || typeof enc.nonce !== 'string' || typeof item.serial_no !== 'string') {
        throw new ProviderError('BAD_RESPONSE', 'GET /v3/certificates: malformed certificate entry');
      }
      let pem: string;
      try {
        pem = decryptAeadAes256Gcm(
          { algorithm: enc.algorithm, ciphertext: enc.ciphertext, nonce: enc.nonce, associated_data: enc.associated_data },
          this.opts.apiV3Key,
        ).toString('utf8');
      } catch {
        // Either the APIv3 key in the channel config is wrong or the answer was tampered with.
        throw new ProviderError('BAD_RESPONSE', 'GET /v3/certificates: certificate decryption failed (check the APIv3 key)');
      }
      let cert: PlatformCertificate;
      try {
        cert = parsePlatformCertificate(pem, 'downloaded');
      } catch {
        throw new ProviderError('BAD_RESPONSE', 'GET /v3/certificates: decrypted data is not a certificate');
      }
      if (cert.serial !== normalizeSerial(item.serial_no)) {
        throw new ProviderError('BAD_RESPONSE', 'GET /v3/certificates: serial_no does not match the certificate');
      }
      fresh.set(cert.serial, cert);
    }
    // The answer must be signed by one of the certificates it delivers (or one we already trust).
    const serial = res.headers['wechatpay-serial'] ?? '';
    const signer = fresh.get(normalizeSerial(serial)) ?? this.usable(serial);
    this.checkSignature(res, signer, 'BAD_RESPONSE');
    for (const [k, v] of fresh) this.certs.set(k, v);
  }

  /** ResponseVerifier: checks Wechatpay-Timestamp/-Nonce/-Serial/-Signature of an API answer. */
  verifyResponse(res: RawResponse): Promise<void> {
    return this.verifySigned(res, 'BAD_RESPONSE');
  }

  /**
   * Verifies a signed message (API answer or notification): headers present, timestamp fresh, then the
   * certificate (possibly re-downloading on an unknown serial), then the signature. The cheap checks come
   * first so a stale or header-less message cannot trigger a certificate download.
   */
  async verifySigned(msg: { headers: Record<string, string | undefined>; body: Buffer }, kind: 'BAD_RESPONSE' | 'BAD_CALLBACK'): Promise<void> {
    const h = this.signedHeaders(msg, kind);
    const cert = await this.find(h.serial);
    this.checkSignature(msg, cert, kind);
  }

  private signedHeaders(msg: { headers: Record<string, string | undefined> }, kind: 'BAD_RESPONSE' | 'BAD_CALLBACK') {
    const what = kind === 'BAD_RESPONSE' ? 'response' : 'callback';
    const timestamp = msg.headers['wechatpay-timestamp'];
    const nonce = msg.headers['wechatpay-nonce'];
    const signature = msg.headers['wechatpay-signature'];
    const serial = msg.headers['wechatpay-serial'];
    if (!timestamp || !nonce || !signature || !serial) {
      throw new ProviderError(kind, `${what} is not signed (missing Wechatpay-Timestamp/-Nonce/-Serial/-Signature)`);
    }
    // Replay window: a captured, validly signed message must not be accepted minutes later.
    if (!isTimestampFresh(timestamp, this.now())) throw new ProviderError(kind, `${what} Wechatpay-Timestamp outside ±5 minutes`);
    return { timestamp, nonce, signature, serial };
  }

  /** Verifies `${timestamp}\n${nonce}\n${body}\n` against `cert`. */
  checkSignature(
    msg: { headers: Record<string, string | undefined>; body: Buffer },
    cert: PlatformCertificate | undefined,
    kind: 'BAD_RESPONSE' | 'BAD_CALLBACK',
  ): void {
    const what = kind === 'BAD_RESPONSE' ? 'response' : 'callback';
    const { timestamp, nonce, signature } = this.signedHeaders(msg, kind);
    if (!cert) throw new ProviderError(kind, `${what} signed with an unknown platform certificate serial`);
    if (!verifyRsaSha256(buildResponseSignatureMessage(timestamp, nonce, msg.body), signature, cert.publicKey)) {
      throw new ProviderError(kind, `${what} signature does not verify`);
    }
  }
}
