/** The API's limiter answers 4290/429 with Retry-After once a client exceeds its window. */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { errorMiddleware } from '../../http/envelope';
import { rateLimit } from '../../http/rate-limit';
import { createLogger } from '../../observability/logger';

test('the (max+1)-th request in a window is 4290 with Retry-After; other clients are unaffected', async () => {
  const app = express();
  app.use(rateLimit({ windowMs: 60_000, max: 3, key: (req) => String(req.headers['x-client']) }));
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
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await hit('b')).status).toBe(200);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
