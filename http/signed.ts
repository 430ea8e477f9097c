/**
 * Signature v1 on merchant routes (rule and vectors in the README): verifies the request over its raw bytes, claims the nonce
 * in PostgreSQL, counts the request against the app's rate limit, checks the app is approved, and signs every answer
 * (success or error) with the key the request was verified with. Failures are 4010 and change nothing.
 */
import express, { type RequestHandler, type Response } from 'express';
import type { Db } from '../db/connection';
import { findAppWithKeys, markNewKeyInUse, type AppWithKeys } from '../db/queries/apps';
import { PgNonceStore } from '../db/queries/nonces';
import type { RateLimiter } from '../db/queries/rate-limits';
import { DomainError, ErrorCode } from '../domain/errors';
import type { Logger } from '../observability/logger';
import type { SecretBox } from '../security/secret-box';
import { HEADER, NONCE_TTL_MS, getHeader, signResponseHeaders, verifySignedHeaders, type SignType } from '../signature';
import type { Envelope } from './envelope';
import { enforceRateLimit } from './rate-limit';
import { parseStrictJson } from './strict-json';

export interface SignedContext {
  app: AppWithKeys;
  keyIndex: number;
  signType: SignType;
  /** The parsed JSON body ({} for GET). */
  body: unknown;
}

export function signedContext(res: Response): SignedContext {
  return res.locals.signed as SignedContext;
}

/** Sends a success envelope on a signed route, signed like every answer there. */
export function sendSigned(res: Response, body: Envelope, status = 200): void {
  sendSignedBytes(res, Buffer.from(JSON.stringify(body), 'utf8'), 'application/json; charset=utf-8', status);
}

/** Sends exact bytes (e.g. a CSV statement) with a RESPONSE signature over them. */
export function sendSignedBytes(res: Response, bytes: Buffer, contentType: string, status = 200): void {
  (res.locals.signBytes as (status: number, bytes: Buffer, contentType: string) => void)(status, bytes, contentType);
}

export function signedRoutes(deps: {
  db: Db;
  secretBox: SecretBox;
  maxBodyBytes: number;
  /** Requests per verified app (keyed by appId once the signature holds); absent in tests that need none. */
  appLimiter?: RateLimiter;
  log?: Logger;
}): RequestHandler[] {
  const nonces = new PgNonceStore(deps.db);
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  // A body declared larger than the limit is refused at once, and the connection closed: the body parser would
  // first read (and discard) every byte the client claims it will send.
  const declaredSize: RequestHandler = (req, res, next) => {
    if (Number(req.headers['content-length']) > deps.maxBodyBytes) {
      res.setHeader('Connection', 'close');
      return next(new DomainError(ErrorCode.TOO_LARGE));
    }
    next();
  };
  const verify = async (req: express.Request, res: Response): Promise<void> => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const appId = getHeader(req.headers, HEADER.appId);
    // Unknown app and bad signature answer the same, so the API does not reveal which app ids exist.
    const app = appId ? await findAppWithKeys(deps.db, deps.secretBox, appId) : null;
    if (!app) throw new DomainError(ErrorCode.UNAUTHORIZED, '签名校验失败: UNKNOWN_APP_OR_BAD_SIGNATURE');
    const result = verifySignedHeaders({
      kind: 'request',
      method: req.method,
      pathWithQuery: req.originalUrl,
      headers: req.headers,
      body: rawBody,
      keys: app.keys,
      now: Date.now(),
    });
    if (!result.ok) throw new DomainError(ErrorCode.UNAUTHORIZED, `签名校验失败: ${result.reason}`);
    if (result.signType !== app.signType) throw new DomainError(ErrorCode.UNAUTHORIZED, `签名校验失败: SIGN_TYPE_NOT_ALLOWED (app uses ${app.signType})`);

    res.locals.signBytes = (status: number, bytes: Buffer, contentType: string) => {
      const headers = signResponseHeaders({ pathWithQuery: req.originalUrl, appId: app.appId, appKey: app.keys[result.keyIndex], signType: result.signType, body: bytes });
      res.status(status).set(headers).type(contentType).send(bytes);
    };
    // Only now is the app known to be who it says (the signature holds): claim the nonce (once per app, so a
    // replay is refused), count the request against the app's limit (answered signed like any error from here
    // on), and, if the merchant has deployed a rotated key, sign its notifications with it from now on
    // (notificationKey). Three independent writes, made together: one database round trip of latency.
    const [claimed] = await Promise.all([
      nonces.claim(app.appId, result.nonce, new Date(Date.now() + NONCE_TTL_MS)),
      deps.appLimiter ? enforceRateLimit(deps.appLimiter, app.appId, res, deps.log) : undefined,
      result.keyIndex === 0 ? markNewKeyInUse(deps.db, app) : undefined,
    ]);
    if (!claimed) throw new DomainError(ErrorCode.UNAUTHORIZED, '签名校验失败: REPLAYED_NONCE');
    if (app.status !== 'APPROVED') throw new DomainError(ErrorCode.FORBIDDEN, app.status === 'PENDING' ? '应用尚未审核通过' : '应用已停用');

    const body: unknown = rawBody.length > 0 ? parseStrictJson(rawBody) : {};
    res.locals.signed = { app, keyIndex: result.keyIndex, signType: result.signType, body } satisfies SignedContext;
  };
  return [declaredSize, raw, (req, res, next) => void verify(req, res).then(() => next(), next)];
}
