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

/**
 * A fixed-window counter kept in this process only, for reads cheaper than a PostgreSQL write (the cashier
 * page's order-summary poll: counting it in PostgreSQL cost more than serving it). Behind N API processes a
 * client gets N × `points` per window. The map holds one entry per client seen in the current window; when it
 * reaches `maxKeys`, expired windows are swept (at most once a second), and a new client beyond that is let
 * through uncounted — the same fail-open posture as the PostgreSQL counter's outage.
 */
export function createProcessRateLimiter(opts: { points: number; durationSeconds: number; maxKeys?: number; now?: () => number }): RateLimiter {
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxKeys ?? 100_000;
  const windowMs = opts.durationSeconds * 1000;
  const windows = new Map<string, { count: number; endsAt: number }>();
  let sweptAt = -Infinity;
  const sweep = (t: number) => {
    if (t - sweptAt < 1000) return;
    sweptAt = t;
    for (const [key, w] of windows) if (w.endsAt <= t) windows.delete(key);
  };
  return {
    consume: async (key) => {
      const t = now();
      let w = windows.get(key);
      if (!w || w.endsAt <= t) {
        if (!w && windows.size >= maxKeys) sweep(t);
        if (!w && windows.size >= maxKeys) return { allowed: true, msBeforeNext: windowMs };
        w = { count: 0, endsAt: t + windowMs };
        windows.set(key, w);
      }
      w.count++;
      return { allowed: w.count <= opts.points, msBeforeNext: w.endsAt - t };
    },
  };
}
