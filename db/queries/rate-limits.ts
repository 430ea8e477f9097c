/**
 * Fixed-window rate limits counted in PostgreSQL (table `rate_limits`, migration 007), so a limit holds across
 * every API process and a process keeps no per-client state beyond the keys it has just refused.
 * rate-limiter-flexible does the counting: one atomic upsert per request and key.
 */
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../connection';

export interface RateLimitVerdict {
  allowed: boolean;
  /** Until the window ends (the Retry-After of a refused request). */
  msBeforeNext: number;
}

export interface RateLimiter {
  /** Counts one request for `key`; refused once the window's `points` are used. */
  consume(key: string): Promise<RateLimitVerdict>;
}

export function createRateLimiter(db: Db, opts: { name: string; points: number; durationSeconds: number }): RateLimiter {
  const limiter = new RateLimiterPostgres({
    storeClient: db,
    storeType: 'knex',
    tableName: 'rate_limits',
    tableCreated: true, // the migration owns the table
    keyPrefix: opts.name,
    points: opts.points,
    duration: opts.durationSeconds,
    // A key over its limit is refused from memory until its window ends: a flood costs no further queries.
    // Only refused keys are kept, and they expire with their window.
    inMemoryBlockOnConsumed: opts.points + 1,
    // Deletes rows expired an hour ago every 5 minutes (unref'd timer), so the table stays small.
    clearExpiredByTimeout: true,
  });
  return {
    async consume(key) {
      try {
        const res = await limiter.consume(key);
        return { allowed: true, msBeforeNext: res.msBeforeNext };
      } catch (err) {
        // The library rejects with a RateLimiterRes when the limit is reached, with an Error when the store fails.
        if (err instanceof RateLimiterRes) return { allowed: false, msBeforeNext: err.msBeforeNext };
        throw err;
      }
    },
  };
}
