/**
 * The HTTP layer handed to wechatpay-node-v3 through `pay.createHttp()` (the SDK's own layer cannot target a
 * custom gateway and never checks answer signatures).
 *
 * Why our own instead of the SDK's superagent-based PayRequest:
 * - the SDK hard-codes https://api.mch.weixin.qq.com; the channel config decides the gateway (sandbox in
 *   tests), and rewriting here keeps the SDK's request signature valid (it signs path+query only);
 * - response signatures can only be verified over the exact bytes received, which superagent discards
 *   after parsing; the SDK itself never verifies responses;
 * - bounded timeouts and response sizes, and no redirects (a redirect would forward the Authorization).
 */
import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { IPayRequest, Output } from 'wechatpay-node-v3/dist/define';
import { ProviderError } from '../types';

/** The host the SDK writes into every URL; only URLs under it are ever sent anywhere. */
export const WECHAT_API_ORIGIN = 'https://api.mch.weixin.qq.com';
/** Responses are small JSON documents; anything bigger is not an API answer we want in memory. */
const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

export interface RawResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** Validates a channel's gatewayUrl: an http(s) origin only, since the SDK's signature covers the path. */
export function parseGatewayUrl(gatewayUrl: string): URL {
  let url: URL;
  try {
    url = new URL(gatewayUrl);
  } catch {
    throw new ProviderError('REJECTED', 'gatewayUrl is not a valid URL', 'CONFIG_ERROR');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    // A path prefix would be missing from the signed path+query and every request would fail SIGN_ERROR.
    throw new ProviderError('REJECTED', 'gatewayUrl must be a bare http(s) origin such as https://api.mch.weixin.qq.com', 'CONFIG_ERROR');
  }
  return url;
}

/** A response whose body is handed over as a stream (bill files): the caller reads it and must destroy it. */
export interface StreamedResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** The body with any Content-Encoding already removed; destroying it closes the connection. */
  body: Readable;
}

export class WechatTransport {
  constructor(
    private readonly base: URL,
    private readonly timeoutMs: number,
  ) {}

  /** The configured gateway (sandbox in tests, https://api.mch.weixin.qq.com in production). */
  get gateway(): URL {
    return this.base;
  }

  /**
   * A GET whose body is streamed instead of buffered (a bill file can be hundreds of MB). The deadline covers
   * connecting and the response headers only: how long the body takes depends on how fast the caller
   * consumes it, so the caller applies its own idle timeout while it waits for data.
   */
  openStream(pathWithQuery: string, headers: Record<string, string>): Promise<StreamedResponse> {
    if (!pathWithQuery.startsWith('/')) throw new ProviderError('REJECTED', 'not a path on the WeChat Pay API', 'CONFIG_ERROR');
    const lib = this.base.protocol === 'https:' ? https : http;
    const what = `GET ${pathWithQuery.split('?')[0]}`;
    return new Promise<StreamedResponse>((resolve, reject) => {
      let settled = false;
      const deadline = setTimeout(() => {
        req.destroy();
        fail(`${what}: no answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(new ProviderError('UNAVAILABLE', message));
      };
      const req = lib.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || undefined,
          // Exactly the string that was signed.
          path: pathWithQuery,
          method: 'GET',
          headers,
        },
        (res) => {
          if (settled) {
            res.destroy();
            return;
          }
          settled = true;
          clearTimeout(deadline);
          const h: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(res.headers)) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
          const encoding = String(h['content-encoding'] ?? 'identity').toLowerCase();
          const decoder =
            encoding === 'gzip' || encoding === 'x-gzip'
              ? zlib.createGunzip()
              : encoding === 'deflate'
                ? zlib.createInflate()
                : encoding === 'br'
                  ? zlib.createBrotliDecompress()
                  : undefined;
          // pipeline: an error on either side reaches the reader, and destroying the reader closes the socket.
          const body = decoder ? pipeline(res, decoder, () => undefined) : res;
          resolve({ status: res.statusCode ?? 0, headers: h, body });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => fail(`${what}: network error ${err.code ?? err.message}`));
      req.end();
    });
  }

  /** Maps an SDK URL (always under WECHAT_API_ORIGIN) to the path+query the SDK signed. */
  static pathOf(sdkUrl: string): string {
    if (!sdkUrl.startsWith(`${WECHAT_API_ORIGIN}/`)) {
      // E.g. downloadBill's download_url from a response: never send our Authorization to another host.
      throw new ProviderError('REJECTED', 'refusing to call a URL outside the WeChat Pay API', 'CONFIG_ERROR');
    }
    return sdkUrl.slice(WECHAT_API_ORIGIN.length);
  }

  send(method: 'GET' | 'POST', sdkUrl: string, body: string | undefined, headers: Record<string, unknown>): Promise<RawResponse> {
    const path = WechatTransport.pathOf(sdkUrl);
    const outHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) outHeaders[k] = String(v);
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    if (payload) outHeaders['Content-Length'] = String(payload.length);
    const lib = this.base.protocol === 'https:' ? https : http;

    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      // One deadline for the whole exchange (connect, headers, body): an idle timeout alone would let a
      // server that trickles bytes hold an activity slot indefinitely.
      const deadline = setTimeout(() => {
        req.destroy();
        fail(`${method} ${path.split('?')[0]}: timed out after ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(new ProviderError('UNAVAILABLE', message));
      };
      const req = lib.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || undefined,
          // Exactly the string the SDK signed: no URL normalisation may touch it.
          path,
          method,
          headers: outHeaders,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
          let stream: NodeJS.ReadableStream = res;
          // The SDK asks for gzip (Accept-Encoding: gzip); signatures cover the decoded body.
          if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(zlib.createGunzip());
          else if (encoding === 'deflate') stream = res.pipe(zlib.createInflate());
          else if (encoding === 'br') stream = res.pipe(zlib.createBrotliDecompress());
          stream.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy();
              fail(`${method} ${path.split('?')[0]}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
              return;
            }
            chunks.push(chunk);
          });
          stream.on('error', (err: NodeJS.ErrnoException) => fail(`${method} ${path.split('?')[0]}: ${err.code ?? err.message}`));
          stream.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(deadline);
            const h: Record<string, string | undefined> = {};
            for (const [k, v] of Object.entries(res.headers)) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
            resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => fail(`${method} ${path.split('?')[0]}: network error ${err.code ?? err.message}`));
      if (payload) req.write(payload);
      req.end();
    });
  }
}

/** Verifies the Wechatpay-* headers of a response; throws ProviderError('BAD_RESPONSE') when they fail. */
export interface ResponseVerifier {
  verifyResponse(res: RawResponse): Promise<void>;
}

export function hasSignatureHeaders(headers: Record<string, string | undefined>): boolean {
  return Boolean(headers['wechatpay-signature'] || headers['wechatpay-serial'] || headers['wechatpay-timestamp'] || headers['wechatpay-nonce']);
}

/** Extra data we put into Output.errRaw for non-2xx answers (the SDK passes Output through unchanged). */
export interface ErrorDetail {
  /** True when the error answer carried a verified WeChat signature; false when it was unsigned. */
  signed: boolean;
}

/**
 * True when a non-2xx answer carried a verified WeChat signature. Only such answers may support a conclusion
 * ("no such order", "refund refused"): an unsigned 4xx could come from a proxy or anyone on the path.
 */
export function isSignedError(out: Output): boolean {
  return Boolean((out.errRaw as ErrorDetail | undefined)?.signed);
}

export class VerifyingPayRequest implements IPayRequest {
  constructor(
    private readonly transport: WechatTransport,
    private readonly verifier: ResponseVerifier,
  ) {}

  post(url: string, params: Record<string, unknown>, headers: Record<string, unknown>): Promise<Output> {
    // The SDK signed JSON.stringify(params); sending the same string keeps the body byte-identical.
    return this.exchange('POST', url, JSON.stringify(params), headers);
  }

  get(url: string, headers: Record<string, unknown>): Promise<Output> {
    return this.exchange('GET', url, undefined, headers);
  }

  upload(): Promise<Output> {
    return Promise.reject(new ProviderError('REJECTED', 'file upload is not supported by the Cashier Desk WeChat client', 'UNSUPPORTED'));
  }

  private async exchange(method: 'GET' | 'POST', url: string, body: string | undefined, headers: Record<string, unknown>): Promise<Output> {
    const res = await this.transport.send(method, url, body, headers);
    const text = res.body.toString('utf8');
    if (res.status >= 200 && res.status < 300) {
      // Every success answer must be signed by a platform certificate we trust: it is what we act on.
      await this.verifier.verifyResponse(res);
      if (text.length === 0) return { status: res.status, data: {} };
      try {
        return { status: res.status, data: JSON.parse(text) as unknown };
      } catch {
        throw new ProviderError('BAD_RESPONSE', `${method} ${WechatTransport.pathOf(url).split('?')[0]}: success answer is not JSON`);
      }
    }
    if (res.status >= 400 && res.status < 500) {
      // WeChat signs error answers to authenticated requests; a present-but-wrong signature is an attack
      // or a misconfiguration, never a business error. Unsigned 4xx (e.g. from a proxy) are reported as
      // such so callers never draw a positive conclusion (ORDER_NOT_EXIST → "closed") from them.
      const signed = hasSignatureHeaders(res.headers);
      if (signed) await this.verifier.verifyResponse(res);
      const detail: ErrorDetail = { signed };
      return { status: res.status, error: text.slice(0, 2000), errRaw: detail };
    }
    // 5xx and anything else: nothing is concluded from the body, so it need not be verified.
    return { status: res.status, error: text.slice(0, 2000), errRaw: { signed: false } satisfies ErrorDetail };
  }
}
