/** A merchant's notify endpoint on 127.0.0.1 for tests: records every request and answers as scripted. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown>;
  path: string;
  /** Whatever the test's clock says at arrival (the time-skipping server's time in workflow tests). */
  at: number;
}

export interface MerchantServer {
  url: string;
  received: ReceivedNotification[];
  /** Decides the answer for the n-th request (1-based); may take its time. Default: acknowledge. */
  respond: (n: number) => { status: number; body: string } | Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export async function startMerchantServer(clock: () => Promise<number> | number = () => Date.now()): Promise<MerchantServer> {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(rawBody);
      } catch {
        /* recorded as empty */
      }
      received.push({ headers: req.headers, rawBody, body, path: req.url ?? '', at: await clock() });
      const answer = await merchant.respond(received.length);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const merchant: MerchantServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
    received,
    respond: () => ({ status: 200, body: JSON.stringify({ code: 1000, msg: '操作成功' }) }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return merchant;
}

export const ACK = { status: 200, body: JSON.stringify({ code: 1000, msg: '操作成功' }) };
export const FAIL = { status: 500, body: JSON.stringify({ code: 5000, msg: 'busy' }) };
