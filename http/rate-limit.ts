/**
 * A per-client fixed-window limiter (in memory, per API process). It protects PostgreSQL and Temporal from
 * a runaway merchant loop; for a multi-instance deployment put a shared limiter at the edge as well.
 */
import type { RequestHandler } from 'express';
import { DomainError, ErrorCode } from '../domain/errors';

export function rateLimit(opts: { windowMs: number; max: number; key: (req: Parameters<RequestHandler>[0]) => string }): RequestHandler {
  const hits = new Map<string, { count: number; resetAt: number }>();
  return (req, res, next) => {
    const now = Date.now();
    if (hits.size > 50_000) for (const [k, v] of hits) if (v.resetAt <= now) hits.delete(k);
    const key = opts.key(req);
    let entry = hits.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + opts.windowMs };
      hits.set(key, entry);
    }
    entry.count++;
    if (entry.count > opts.max) {
      res.setHeader('Retry-After', Math.ceil((entry.resetAt - now) / 1000));
      next(new DomainError(ErrorCode.RATE_LIMITED));
      return;
    }
    next();
  };
}
