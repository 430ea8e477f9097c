/** The response envelope, the async route wrapper and the one error middleware of the HTTP app. */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { DomainError, ErrorCode, fromTemporalFailure, httpStatusFor, DEFAULT_MESSAGES, type ErrorCodeValue } from '../domain/errors';
import type { Logger } from '../observability/logger';

export interface Envelope<T = unknown> {
  code: number;
  msg: string;
  data?: T;
  responseTime: number;
}

export function envelope<T>(data?: T): Envelope<T> {
  return { code: ErrorCode.OK, msg: DEFAULT_MESSAGES[ErrorCode.OK], ...(data === undefined ? {} : { data }), responseTime: Date.now() };
}

export function errorEnvelope(code: ErrorCodeValue, msg?: string): Envelope {
  return { code, msg: msg ?? DEFAULT_MESSAGES[code], responseTime: Date.now() };
}

/** The client's address as the audit log and rate limits record it (IPv4-mapped IPv6 unwrapped). */
export function clientIp(req: Request): string {
  return (req.ip ?? req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}

/** Express 5 forwards rejected promises, but an explicit wrapper keeps handler types simple. */
export function route(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}

/** PostgreSQL's SQLSTATE for text it cannot store in the database encoding (e.g. a NUL byte). */
const PG_UNTRANSLATABLE_CHARACTER = '22021';

/** Converts anything thrown into a DomainError: known failures keep their code, the rest become 5000. */
export function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return new DomainError(ErrorCode.TOO_LARGE);
  if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new DomainError(ErrorCode.VALIDATION, '请求体不是合法的 JSON');
  // PostgreSQL refused text it cannot store (a NUL from a path parameter): nothing was written by that statement.
  if ((e as { code?: unknown })?.code === PG_UNTRANSLATABLE_CHARACTER) return new DomainError(ErrorCode.VALIDATION, '参数包含无法存储的字符');
  // The router could not percent-decode a path parameter (e.g. %E0%A4%A): the client's mistake, not ours.
  if (err instanceof URIError && e.status === 400) return new DomainError(ErrorCode.VALIDATION, '请求路径的百分号编码无效');
  return fromTemporalFailure(err) ?? new DomainError(ErrorCode.INTERNAL);
}

/**
 * The one place errors become HTTP: stable code, matching status, no stack trace, SQL or secret in the body.
 * Responses on signed merchant routes are signed by the `signBytes` hook the signature middleware installs.
 */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const domain = toDomainError(err);
    if (domain.code >= 5000) log.error('request failed', { method: req.method, path: req.path, code: domain.code, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    // A streamed answer (a CSV export) that fails half way cannot change its status: cut it, so the client sees
    // an incomplete download instead of waiting forever.
    if (res.headersSent) return void res.destroy(err instanceof Error ? err : undefined);
    const body = errorEnvelope(domain.code, domain.message);
    const signer = res.locals.signBytes as ((status: number, bytes: Buffer, contentType: string) => void) | undefined;
    if (signer) signer(httpStatusFor(domain.code), Buffer.from(JSON.stringify(body), 'utf8'), 'application/json; charset=utf-8');
    else res.status(httpStatusFor(domain.code)).json(body);
  };
}
