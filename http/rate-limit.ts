/**
 * Rate limits as Express middleware over a shared counter (db/queries/rate-limits.ts: PostgreSQL, so a limit holds
 * across every API process). Keys must be facts the server has established: the client IP before
 * authentication, the verified app after it (http/signed.ts) — never a client-supplied header, which a client
 * could vary to escape its limit and to make the server count (and look up) arbitrary keys.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { RateLimiter } from '../db/queries/rate-limits';
import { DomainError, ErrorCode } from '../domain/errors';
import type { Logger } from '../observability/logger';

export type { RateLimiter };

/** Counts the request under `key`; refuses it with 4290 and Retry-After once the key's window is used up. */
export async function enforceRateLimit(limiter: RateLimiter, key: string, res: Response, log?: Logger): Promise<void> {
  let verdict;
  try {
    verdict = await limiter.consume(key);
  } catch (err) {
    // Fail open: the limiter protects PostgreSQL and Temporal; when PostgreSQL itself is failing the request will
    // fail on its own, and a limiter outage alone must not take the API down.
    log?.warn('rate limit not checked', { error: err instanceof Error ? err.message : String(err) });
    return;
  }
  if (!verdict.allowed) {
    res.setHeader('Retry-After', Math.max(1, Math.ceil(verdict.msBeforeNext / 1000)));
    throw new DomainError(ErrorCode.RATE_LIMITED);
  }
}

export function rateLimit(opts: { limiter: RateLimiter; key: (req: Request) => string; log?: Logger }): RequestHandler {
  return (req, res, next) => void enforceRateLimit(opts.limiter, opts.key(req), res, opts.log).then(() => next(), next);
}
