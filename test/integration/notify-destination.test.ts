/**
 * The notify activity against real HTTP servers on 127.0.0.1 and a real PostgreSQL: outside development
 * (ALLOW_PRIVATE_NOTIFY_URLS=false) a notify URL whose host is, or resolves to, a non-public address is
 * refused as a failed attempt and the merchant server is never hit; the connection goes to the address that
 * was checked (one DNS lookup); redirects are not followed; the answer read is capped; timeouts are attempts.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import dns from 'node:dns';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { createNotifyActivities, type PaymentNotifyArgs } from '../../activities/notify';
import type { ResolveHost, ResolvedAddress } from '../../activities/notify-transport';
import { isPublicAddress } from '../../domain/network-address';
import type { NotifyResult } from '../../domain/payment';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { startMerchantServer, type MerchantServer } from '../support/merchant-server';

let t: TestDb;
let app: SeededApp;
let merchant: MerchantServer;
let port: number;

beforeAll(async () => {
  t = await createTestDb();
  app = await seedApp(t);
  merchant = await startMerchantServer();
  port = Number(new URL(merchant.url).port);
});
afterAll(async () => {
  await merchant?.close();
  await t?.destroy();
});
beforeEach(() => {
  merchant.received.length = 0;
});

/** A resolver that answers from a table and counts its lookups (names it does not know do not exist). */
function fakeDns(table: Record<string, string[] | ((n: number) => string[])>): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const entry = table[hostname];
    const list = typeof entry === 'function' ? entry(calls.filter((c) => c === hostname).length) : entry;
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

async function attempt(notifyUrl: string, opts: { allowPrivate: boolean; resolveHost?: ResolveHost; timeoutMs?: number }): Promise<NotifyResult> {
  const order = await seedOrder(t, { appId: app.appId, notifyUrl, expireAt: new Date(Date.now() + 60_000) });
  const activities = createNotifyActivities({ db: t.db, secretBox: t.box, notifyTimeoutMs: opts.timeoutMs ?? 3000, allowPrivateNotifyUrls: opts.allowPrivate, resolveHost: opts.resolveHost });
  const args: PaymentNotifyArgs = {
    orderId: order.id,
    attempt: 1,
    scheduledAt: Date.now(),
    state: { status: 'SUCCESS', channel: null, payTime: Date.now(), errorCode: null, errorMsg: null },
  };
  return new MockActivityEnvironment().run(activities.notifyMerchant, args);
}

/** A throw-away server for answers the merchant fixture cannot give (redirects, floods, silence). */
async function startServer(handler: http.RequestListener): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('production policy (ALLOW_PRIVATE_NOTIFY_URLS=false)', () => {
  test('a DNS name that resolves to 127.0.0.1 is refused as a failed attempt; the merchant is never hit', async () => {
    const dns = fakeDns({ 'merchant.example.test': ['127.0.0.1'] });
    const r = await attempt(`http://merchant.example.test:${port}/notify`, { allowPrivate: false, resolveHost: dns });
    expect(r).toMatchObject({ httpStatus: null, acknowledged: false });
    expect(r.error).toMatch(/^DESTINATION_REFUSED: notify host merchant\.example\.test resolves to 127\.0\.0\.1: loopback/);
    expect(dns.calls).toEqual(['merchant.example.test']);
    expect(merchant.received).toHaveLength(0);
  });

  test("the system resolver: this machine's host name resolves to a non-public address and is refused", async () => {
    // On the project's machines /etc/hosts maps the host name to 127.0.0.1 (a container maps it to a private address).
    const own = await dns.promises.lookup(os.hostname(), { all: true }).catch(() => []);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((a) => !isPublicAddress(a.address))).toBe(true);
    const r = await attempt(`http://${os.hostname()}:${port}/notify`, { allowPrivate: false });
    expect(r.error).toMatch(new RegExp(`^DESTINATION_REFUSED: notify host ${os.hostname().replace(/\./g, '\\.')} resolves to `));
    expect(merchant.received).toHaveLength(0);
  });

  test('localhost (local by name) is refused, and so is every IP literal form of loopback', async () => {
    for (const url of [`http://localhost:${port}/notify`, `http://127.0.0.1:${port}/notify`, `http://[::1]:${port}/notify`, `http://[::ffff:127.0.0.1]:${port}/notify`, `http://2130706433:${port}/notify`]) {
      const r = await attempt(url, { allowPrivate: false });
      expect(r.acknowledged).toBe(false);
      expect(r.error).toMatch(/^DESTINATION_REFUSED: /);
    }
    expect(merchant.received).toHaveLength(0);
  });

  test('private, link-local, metadata, CGNAT, ULA and mapped answers are refused by name; a mixed answer too', async () => {
    const answers: Record<string, string[]> = {
      'rfc1918.example.test': ['10.1.2.3'],
      'metadata.example.test': ['169.254.169.254'],
      'cgnat.example.test': ['100.100.100.200'],
      'ula.example.test': ['fd00:ec2::254'],
      'linklocal6.example.test': ['fe80::1'],
      'mapped.example.test': ['::ffff:127.0.0.1'],
      'mixed.example.test': ['93.184.216.34', '127.0.0.1'],
    };
    const dns = fakeDns(answers);
    const reasons: Record<string, string> = {};
    for (const host of Object.keys(answers)) {
      const r = await attempt(`http://${host}:${port}/notify`, { allowPrivate: false, resolveHost: dns });
      expect(r.acknowledged).toBe(false);
      reasons[host] = r.error ?? '';
    }
    expect(reasons['rfc1918.example.test']).toContain('private (10.0.0.0/8)');
    expect(reasons['metadata.example.test']).toContain('cloud metadata');
    expect(reasons['cgnat.example.test']).toContain('CGNAT');
    expect(reasons['ula.example.test']).toContain('unique-local');
    expect(reasons['linklocal6.example.test']).toContain('link-local');
    expect(reasons['mapped.example.test']).toContain('IPv4-mapped');
    expect(reasons['mixed.example.test']).toContain('resolves to 127.0.0.1: loopback');
    for (const e of Object.values(reasons)) expect(e).toMatch(/^DESTINATION_REFUSED: /);
    expect(merchant.received).toHaveLength(0);
  });

  test('a resolver that never answers ends the attempt at its timeout', async () => {
    const r = await attempt(`http://slow.example.test:${port}/notify`, { allowPrivate: false, resolveHost: () => new Promise(() => {}), timeoutMs: 300 });
    expect(r).toMatchObject({ httpStatus: null, acknowledged: false, error: 'TimeoutError: no answer within 300 ms' });
  });

  test('a name that does not resolve is a failed attempt naming the lookup', async () => {
    const r = await attempt(`http://nowhere.example.test:${port}/notify`, { allowPrivate: false, resolveHost: fakeDns({}) });
    expect(r).toMatchObject({ httpStatus: null, acknowledged: false });
    expect(r.error).toMatch(/^ENOTFOUND: DNS lookup of nowhere\.example\.test failed/);
  });
});

describe('development policy (private destinations allowed)', () => {
  test('the connection goes to the address that was checked: one lookup, a second answer never used', async () => {
    // Rebinding: the first answer is the merchant (127.0.0.1), any later one an address nothing listens on.
    const dns = fakeDns({ 'merchant.example.test': (n) => (n === 1 ? ['127.0.0.1'] : ['127.0.0.2']) });
    const r = await attempt(`http://merchant.example.test:${port}/notify?x=1`, { allowPrivate: true, resolveHost: dns });
    expect(r).toMatchObject({ httpStatus: 200, acknowledged: true, error: null });
    expect(dns.calls).toEqual(['merchant.example.test']);
    expect(merchant.received).toHaveLength(1);
    // The request still names the merchant's host (virtual hosting, TLS SNI) and is signed over the path and query.
    expect(merchant.received[0].headers.host).toBe(`merchant.example.test:${port}`);
    expect(merchant.received[0].path).toBe('/notify?x=1');
    expect(merchant.received[0].headers['x-cashier-app-id']).toBe(app.appId);
  });

  test('127.0.0.1 merchants keep working (tests and npm start)', async () => {
    expect(await attempt(merchant.url, { allowPrivate: true })).toMatchObject({ httpStatus: 200, acknowledged: true });
    expect(merchant.received).toHaveLength(1);
  });

  test('a redirect is not followed: the attempt fails with its status and the target is never hit', async () => {
    const target = await startServer((_req, res) => res.writeHead(200).end(JSON.stringify({ code: 1000 })));
    const redirector = await startServer((_req, res) => res.writeHead(307, { location: `${target.url}/notify` }).end());
    try {
      const r = await attempt(`${redirector.url}/notify`, { allowPrivate: true });
      expect(r).toMatchObject({ httpStatus: 307, acknowledged: false, error: 'HTTP 307' });
      expect(redirector.hits()).toBe(1);
      expect(target.hits()).toBe(0);
    } finally {
      await target.close();
      await redirector.close();
    }
  });

  test('an endless answer is read only up to the cap: the attempt ends promptly as not JSON', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const flood = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"code":1000,"pad":"');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    try {
      const started = Date.now();
      const r = await attempt(`${flood.url}/notify`, { allowPrivate: true, timeoutMs: 10_000 });
      expect(r).toMatchObject({ httpStatus: 200, acknowledged: false, error: 'response is not JSON' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await flood.close();
    }
  });

  test('a merchant that never answers is a timed-out attempt', async () => {
    const silent = await startServer(() => {});
    try {
      const r = await attempt(`${silent.url}/notify`, { allowPrivate: true, timeoutMs: 300 });
      expect(r).toMatchObject({ httpStatus: null, acknowledged: false, error: 'TimeoutError: no answer within 300 ms' });
    } finally {
      await silent.close();
    }
  });
});
