/**
 * Merchant API rate limits on real PostgreSQL, through two API instances (two HTTP apps, two pools) sharing one
 * database as two API processes would: per client IP before authentication (a client-chosen app id buys
 * nothing), per verified app after it (4290 signed with the app's key), both counted across instances.
 */
import { Client, Connection } from '@temporalio/client';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { createDb, type Db } from '../../db/connection';
import { createLogger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import { hashPasswordSync } from '../../security/password';
import { signRequestHeaders, verifySignedHeaders } from '../../signature';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, seedOrder, type SeededApp } from '../support/fixtures';
import { buildHttpApp, testConfig } from '../support/system';

const PER_IP = 10;
const PER_APP = 5;

let t: TestDb;
let secondPool: Db;
let client: Client;
const servers: http.Server[] = [];
const urls: string[] = [];
let appA: SeededApp;
let appB: SeededApp;

beforeAll(async () => {
  t = await createTestDb();
  secondPool = createDb(t.url, 5);
  // Never dialled: these routes answer from PostgreSQL alone.
  client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const config = testConfig({
    PUBLIC_BASE_URL: 'http://127.0.0.1:1',
    RATE_LIMIT_PER_IP_PER_MINUTE: String(PER_IP),
    RATE_LIMIT_PER_MINUTE: String(PER_APP),
    ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }),
    CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'rl-')),
  });
  for (const db of [t.db, secondPool]) {
    const { app } = buildHttpApp({ t: { ...t, db }, client, taskQueue: 'unused', providers: createDefaultProviders(), log: createLogger({ write: () => {} }) }, config);
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  appA = await seedApp(t);
  appB = await seedApp(t);
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await secondPool?.destroy();
  await t?.destroy();
});

const PATH = '/api/cashier-desk/out-trade-no/query-pay-result/NO-SUCH-ORDER';

/** A signed query on instance `i` (0 or 1), as client IP `ip` (the API trusts X-Forwarded-For from loopback only). */
async function query(i: number, ip: string, signer: { appId: string; appKey: string }) {
  const headers = signRequestHeaders({ method: 'GET', pathWithQuery: PATH, appId: signer.appId, appKey: signer.appKey, signType: 'HMAC-SHA256', body: '' });
  const res = await fetch(urls[i] + PATH, { headers: { ...headers, 'x-forwarded-for': ip } });
  const raw = await res.text();
  return { status: res.status, code: (JSON.parse(raw) as { code: number }).code, retryAfter: res.headers.get('retry-after'), headers: res.headers, raw };
}

test('random app ids from one IP hit the per-IP limit, counted across both instances; other IPs are unaffected', async () => {
  const ip = '203.0.113.7';
  const random = () => ({ appId: String(randomInt(10_000_000, 99_999_999)), appKey: 'guess' });
  const answers = [];
  for (let n = 0; n < PER_IP + 3; n++) answers.push(await query(n % 2, ip, random()));
  expect(answers.slice(0, PER_IP).map((a) => a.code)).toEqual(Array(PER_IP).fill(4010));
  for (const a of answers.slice(PER_IP)) {
    expect([a.status, a.code]).toEqual([429, 4290]);
    expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(a.retryAfter)).toBeLessThanOrEqual(60);
  }
  // A real app from that IP is refused too (the IP's budget is spent), one from another IP is not.
  expect((await query(0, ip, appA)).code).toBe(4290);
  expect((await query(1, '203.0.113.8', random())).code).toBe(4010);
  // The shared state grew by one key per client IP, not per app id tried.
  const keys = (await t.db('rate_limits').select('key')).map((r: { key: string }) => r.key).sort();
  expect(keys).toEqual(['ip:203.0.113.7', 'ip:203.0.113.8']);
});

test('a verified app over its limit is refused (signed 4290, Retry-After) on both instances while another app is not', async () => {
  // Each request from its own IP, so only the per-app limit can refuse.
  let n = 0;
  const ip = () => `198.51.100.${++n}`;
  for (let i = 0; i < PER_APP; i++) expect((await query(i % 2, ip(), appA)).code).toBe(4040);
  for (const i of [0, 1]) {
    const refused = await query(i, ip(), appA);
    expect([refused.status, refused.code]).toEqual([429, 4290]);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    const check = verifySignedHeaders({ kind: 'response', pathWithQuery: PATH, headers: refused.headers, body: refused.raw, keys: [appA.appKey], now: Date.now() });
    expect(check.ok).toBe(true);
  }
  expect((await query(0, ip(), appB)).code).toBe(4040);
  expect((await query(1, ip(), appB)).code).toBe(4040);
  const appKeys = (await t.db('rate_limits').where('key', 'like', 'app:%').select('key')).map((r: { key: string }) => r.key).sort();
  expect(appKeys).toEqual([`app:${appA.appId}`, `app:${appB.appId}`].sort());
});

test('the cashier poll is limited per client IP in each process: no rate_limits row, and the shared IP budget untouched', async () => {
  const order = await seedOrder(t, { appId: appA.appId, expireAt: new Date(Date.now() + 600_000) });
  const ip = '192.0.2.44';
  const poll = async (i: number) => {
    const res = await fetch(`${urls[i]}/api/cashier-desk/cashier/${order.token}`, { headers: { 'x-forwarded-for': ip } });
    // Each answer carries the server clock: no body hash is computed for an ETag that could never match.
    expect(res.headers.get('etag')).toBeNull();
    return { status: res.status, code: ((await res.json()) as { code: number }).code, retryAfter: res.headers.get('retry-after') };
  };
  for (let n = 0; n < PER_IP; n++) expect((await poll(0)).code).toBe(1000);
  const refused = await poll(0);
  expect([refused.status, refused.code]).toEqual([429, 4290]);
  expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
  // The other process counts its own polls.
  expect((await poll(1)).code).toBe(1000);
  expect(await t.db('rate_limits').where({ key: `ip:${ip}` }).first()).toBeUndefined();
  // The merchant API from that IP still has its whole (PostgreSQL-counted) budget.
  expect((await query(0, ip, { appId: String(randomInt(10_000_000, 99_999_999)), appKey: 'guess' })).code).toBe(4010);
});
