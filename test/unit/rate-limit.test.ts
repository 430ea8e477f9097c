/** The rate-limit middleware answers 4290/429 with Retry-After once a key's window is used up (counter faked here; the PostgreSQL one is in test/integration/rate-limit.test.ts). */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { errorMiddleware } from '../../http/envelope';
import { createProcessRateLimiter, rateLimit, type RateLimiter } from '../../http/rate-limit';
import { createLogger } from '../../observability/logger';

test('the (max+1)-th request in a window is 4290 with Retry-After; other clients are unaffected', async () => {
  const app = express();
  const counts = new Map<string, number>();
  const limiter: RateLimiter = {
    consume: async (key) => {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return { allowed: counts.get(key)! <= 3, msBeforeNext: 42_000 };
    },
  };
  app.use(rateLimit({ limiter, key: (req) => String(req.headers['x-client']) }));
  app.get('/x', (_req, res) => void res.json({ code: 1000 }));
  app.use(errorMiddleware(createLogger({ write: () => {} })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  try {
    const hit = (client: string) => fetch(url, { headers: { 'x-client': client } });
    for (let i = 0; i < 3; i++) expect((await hit('a')).status).toBe(200);
    const limited = await hit('a');
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { code: number }).code).toBe(4290);
    expect(limited.headers.get('retry-after')).toBe('42');
    expect((await hit('b')).status).toBe(200);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a failing counter lets the request through (fail open) and logs it', async () => {
  const app = express();
  const logged: string[] = [];
  app.use(rateLimit({ limiter: { consume: () => Promise.reject(new Error('pool exhausted')) }, key: () => 'k', log: createLogger({ write: (l) => logged.push(l) }) }));
  app.get('/x', (_req, res) => void res.json({ code: 1000 }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    expect((await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`)).status).toBe(200);
    expect(logged.join('\n')).toContain('rate limit not checked');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

describe('createProcessRateLimiter (the cashier poll’s per-process counter)', () => {
  test('allows `points` per window per key, refuses the next with the time to the window’s end, and starts over when it ends', async () => {
    let t = 1_000_000;
    const limiter = createProcessRateLimiter({ points: 2, durationSeconds: 60, now: () => t });
    expect(await limiter.consume('a')).toEqual({ allowed: true, msBeforeNext: 60_000 });
    t += 10_000;
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect(await limiter.consume('a')).toEqual({ allowed: false, msBeforeNext: 50_000 });
    expect((await limiter.consume('b')).allowed).toBe(true);
    t += 50_000;
    expect(await limiter.consume('a')).toEqual({ allowed: true, msBeforeNext: 60_000 });
  });

  test('at maxKeys it sweeps expired windows; a new client beyond live ones is let through uncounted', async () => {
    let t = 0;
    const limiter = createProcessRateLimiter({ points: 1, durationSeconds: 1, maxKeys: 2, now: () => t });
    await limiter.consume('a');
    await limiter.consume('b');
    // Full of live windows: 'c' passes every time (not counted), 'a' is still counted and refused.
    expect((await limiter.consume('c')).allowed).toBe(true);
    expect((await limiter.consume('c')).allowed).toBe(true);
    expect((await limiter.consume('a')).allowed).toBe(false);
    t = 1500; // both windows over: the sweep frees room, so 'c' is counted now
    expect((await limiter.consume('c')).allowed).toBe(true);
    expect((await limiter.consume('c')).allowed).toBe(false);
  });
});
