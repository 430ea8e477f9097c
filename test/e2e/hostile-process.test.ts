/**
 * Hostile clients against the real API process (api/main.ts, its own HTTP server settings): a signed request
 * replayed after the process was restarted is refused (the nonce is in PostgreSQL), a slow-loris client that
 * never finishes its headers or its body is cut off at HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS, and
 * headers over HTTP_MAX_HEADER_BYTES get 431 — each without disturbing the other requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hashPasswordSync } from '../../security/password';
import { signRequestHeaders } from '../../signature';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, type SeededApp } from '../support/fixtures';
import { waitFor } from '../support/system';

const ROOT = path.resolve(__dirname, '..', '..');
let t: TestDb;
let app: SeededApp;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await createTestDb();
  app = await seedApp(t);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await t?.destroy();
});

const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;

/** Starts api/main.ts on a free port with short server timeouts; resolves with its base URL. */
async function startApi(): Promise<{ proc: ChildProcess; base: string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api', 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: t.url,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `hostile-${randomBytes(4).toString('hex')}`, // no worker: workflows just wait
      CASHIER_MASTER_KEY: t.masterKey.toString('base64'),
      PUBLIC_BASE_URL: 'http://127.0.0.1:1',
      ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }),
      CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'api-hostile-')),
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_MAX_HEADER_BYTES: '8192',
      LOG_LEVEL: 'info',
    },
  });
  children.push(proc);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let buffered = '';
  let url: string | null = null;
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const m = /"msg":"api listening"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(buffered) ?? /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"api listening"/.exec(buffered);
    if (m) url = m[1];
  });
  const base = await waitFor('api listening', async () => url, 60_000);
  return { proc, base, exited };
}

async function stopApi(api: { proc: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  api.proc.kill('SIGTERM');
  expect(await api.exited).toBe(0);
}

/** Opens a raw connection, writes `parts` with `gapMs` between them, and returns what the server sent and when it closed. */
function rawExchange(base: string, parts: string[], gapMs: number): Promise<{ text: string; closedAfterMs: number }> {
  const { port } = new URL(base);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let text = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < parts.length && !s.destroyed) s.write(parts[i++]);
    }, gapMs);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('close', () => {
      clearInterval(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    s.on('error', (err) => (err as NodeJS.ErrnoException).code === 'ECONNRESET' || reject(err));
  });
}

const health = async (base: string) => (await fetch(`${base}/healthz`)).status;

test('a signed request replayed after the API process restarted is refused (4010 REPLAYED_NONCE); nothing is written', async () => {
  const pathWithQuery = '/api/cashier-desk/unified/orders';
  const body = JSON.stringify({ amount: 1999, goodsDesc: '重放', orderTitle: '重放测试', outTradeNo: `RP${randomBytes(4).toString('hex')}`, thirdPartyUser: 'u' });
  const headers = { ...signRequestHeaders({ method: 'POST', pathWithQuery, appId: app.appId, appKey: app.appKey, body }), 'content-type': 'application/json' };

  const first = await startApi();
  const ok = await fetch(`${first.base}${pathWithQuery}`, { method: 'POST', headers, body });
  expect(((await ok.json()) as { code: number }).code).toBe(1000);
  await stopApi(first);
  const orders = await t.db('orders').count({ n: '*' }).first();

  // A new process knows nothing in memory; the nonce claimed in PostgreSQL still refuses the same bytes.
  const second = await startApi();
  const replay = await fetch(`${second.base}${pathWithQuery}`, { method: 'POST', headers, body });
  expect(replay.status).toBe(401);
  expect(await replay.json()).toMatchObject({ code: 4010, msg: expect.stringContaining('REPLAYED_NONCE') });
  expect(await t.db('orders').count({ n: '*' }).first()).toEqual(orders);
  await stopApi(second);
});

describe('slow and oversized clients against the real server', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    api = await startApi();
  }, 90_000);
  afterAll(async () => {
    if (api) await stopApi(api);
  });

  test('slow-loris headers (one header line every 500 ms, never finished): 408 and closed at HTTP_HEADERS_TIMEOUT_MS', async () => {
    const parts = ['GET /healthz HTTP/1.1\r\n', 'Host: x\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: y\r\n`)];
    const slow = rawExchange(api.base, parts, 500);
    // Meanwhile the server answers everyone else.
    expect(await health(api.base)).toBe(200);
    const { text, closedAfterMs } = await slow;
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  test('slow-loris body (a byte every 500 ms of a declared 1 KiB): 408 and closed at HTTP_REQUEST_TIMEOUT_MS', async () => {
    const head = 'POST /api/cashier-desk/unified/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n';
    const { text, closedAfterMs } = await rawExchange(api.base, [head, ...Array.from({ length: 60 }, () => ' ')], 500);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    expect(await health(api.base)).toBe(200);
  });

  test('headers over HTTP_MAX_HEADER_BYTES: 431 and closed, before any route runs; the server goes on', async () => {
    const { text } = await rawExchange(api.base, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`], 10);
    expect(text).toMatch(/^HTTP\/1\.1 431/);
    const many = await rawExchange(api.base, [`GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 1500 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`], 10);
    expect(many.text).toMatch(/^HTTP\/1\.1 431/);
    expect(await health(api.base)).toBe(200);
  });

  test('a body declared over MAX_BODY_BYTES: 4130 at once and the connection closed', async () => {
    const head = 'POST /api/cashier-desk/unified/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n{';
    const { text, closedAfterMs } = await rawExchange(api.base, [head], 10);
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(text).toContain('"code":4130');
    expect(closedAfterMs).toBeLessThan(1500);
  });
});
