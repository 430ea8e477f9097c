/**
 * The real API process (api/main.ts) on SIGTERM (then SIGINT too): a unified order whose body is still arriving completes (signed
 * 1000, the order written and its workflow started), new connections are refused from the signal on, an idle
 * keep-alive connection does not hold the process, and it exits 0 soon after the last response.
 */
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hashPasswordSync } from '../../security/password';
import { signRequestHeaders, verifySignedHeaders } from '../../signature';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, type SeededApp } from '../support/fixtures';
import { waitFor } from '../support/system';

const ROOT = path.resolve(__dirname, '..', '..');
const GRACE_SECONDS = 20;
let t: TestDb;
let app: SeededApp;
let child: ChildProcess | undefined;

beforeAll(async () => {
  t = await createTestDb();
  app = await seedApp(t);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await t?.destroy();
});

function startApi(): { proc: ChildProcess; logs: Array<Record<string, unknown>>; exited: Promise<number | null> } {
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
      TEMPORAL_TASK_QUEUE: `shutdown-${randomBytes(4).toString('hex')}`, // no worker: the workflow just waits
      CASHIER_MASTER_KEY: t.masterKey.toString('base64'),
      PUBLIC_BASE_URL: 'http://127.0.0.1:1',
      ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }),
      CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'api-shutdown-')),
      SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
      LOG_LEVEL: 'info',
    },
  });
  child = proc;
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, logs, exited };
}

const logged = (logs: Array<Record<string, unknown>>, msg: string) => logs.find((l) => l.msg === msg);

test('SIGTERM: the request in flight completes, new connections are refused, the process exits 0', async () => {
  const api = startApi();
  const listening = await waitFor('api listening', async () => logged(api.logs, 'api listening'), 60_000);
  const base = String(listening.url);
  const { port } = new URL(base);

  // An idle keep-alive connection, as a load balancer or an SDK's agent keeps them.
  const agent = new http.Agent({ keepAlive: true });
  const health = await new Promise<number>((resolve, reject) => http.get(`${base}/healthz`, { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode!))).on('error', reject));
  expect(health).toBe(200);

  // A unified order whose body arrives in two parts, the second after the signal.
  const outTradeNo = `SHUT${randomBytes(4).toString('hex')}`;
  const pathWithQuery = '/api/cashier-desk/unified/orders';
  const body = Buffer.from(JSON.stringify({ amount: 1999, goodsDesc: '测试商品', orderTitle: '停机测试', outTradeNo, thirdPartyUser: 'user-1' }), 'utf8');
  const headers = signRequestHeaders({ method: 'POST', pathWithQuery, appId: app.appId, appKey: app.appKey, signType: 'HMAC-SHA256', body });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; raw: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: pathWithQuery, agent: false, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(body.subarray(0, 20));
    setTimeout(() => {
      api.proc.kill('SIGTERM');
      void waitFor('api shutting down', async () => logged(api.logs, 'api shutting down'))
        .then(async (shuttingDown) => {
          expect(shuttingDown.inFlight).toBe(1);
          api.proc.kill('SIGINT'); // Ctrl-C under `npm start` also delivers a second signal: it must change nothing
          // Stopped accepting at the signal: a new connection is refused while the order is still arriving.
          const refused = await fetch(`${base}/healthz`).then(
            () => 'accepted',
            (err: Error & { cause?: { code?: string } }) => err.cause?.code,
          );
          expect(refused).toBe('ECONNREFUSED');
          req.end(body.subarray(20));
        })
        .catch(reject);
    }, 500);
  });

  const answer = await response;
  const answeredAt = Date.now();
  expect(answer.status).toBe(200);
  expect(answer.headers.connection).toBe('close');
  const envelope = JSON.parse(answer.raw) as { code: number; data: { token: string } };
  expect(envelope.code).toBe(1000);
  expect(verifySignedHeaders({ kind: 'response', pathWithQuery, headers: answer.headers, body: answer.raw, keys: [app.appKey], now: Date.now() }).ok).toBe(true);

  // Exits 0 promptly: neither the idle keep-alive connection nor the grace period holds it.
  expect(await api.exited).toBe(0);
  expect(Date.now() - answeredAt).toBeLessThan(GRACE_SECONDS * 1000 / 2);
  expect(logged(api.logs, 'api stopped')).toBeTruthy();
  expect(logged(api.logs, 'shutdown grace period over: requests cut')).toBeUndefined();
  agent.destroy();

  const row = await t.db('orders').where({ app_id: app.appId, out_trade_no: outTradeNo }).first();
  expect(row.token).toBe(envelope.data.token);
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  try {
    const handle = new Client({ connection }).workflow.getHandle(row.workflow_id);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test done');
  } finally {
    await connection.close();
  }
});
