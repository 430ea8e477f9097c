/**
 * The real processes with OTEL_EXPORTER_OTLP_ENDPOINT set: api/main.ts and worker/main.ts export their spans over
 * OTLP/HTTP (JSON) to an OTLP receiver on 127.0.0.1 that records what arrives at /v1/traces. The consumer's
 * channel choice, sent to the API process, is one trace across both services: the API request and the update in
 * cashier-desk-api, the workflow's update handler, the prepay activity and the Alipay sandbox call in
 * cashier-desk-worker. Spans still batched at SIGTERM are flushed before the processes exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { PaySdk } from '../../sdk';
import { hashPasswordSync } from '../../security/password';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp, type SeededApp } from '../support/fixtures';
import { waitFor } from '../support/system';
import { PAYMENT_WORKFLOW_TYPE } from '../../temporal/workflow-types';

const ROOT = path.resolve(__dirname, '..', '..');

interface ExportedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

let t: TestDb;
let alipay: AlipaySandboxHandle;
let app: SeededApp;
let receiver: http.Server;
let otlpUrl: string;
const exported: ExportedSpan[] = [];
const paths: string[] = [];
const procs: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }>;
  }>;
}

beforeAll(async () => {
  t = await createTestDb();
  alipay = await startAlipaySandbox();
  app = await seedApp(t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await alipay.createMerchant() }] });
  // An OTLP/HTTP trace receiver: records the spans of every export request and answers as a collector does.
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson;
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) exported.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  otlpUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  receiver?.closeAllConnections();
  receiver?.close();
  await alipay?.close();
  await t?.destroy();
});

function start(entry: 'api' | 'worker', env: Record<string, string>) {
  const logs: string[] = [];
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry, 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', DATABASE_URL: t.url, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, CASHIER_MASTER_KEY: t.masterKey.toString('base64'), RECONCILIATION_SCHEDULE: 'false', LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, ...env },
  });
  procs.push(proc);
  proc.stdout!.on('data', (c: Buffer) => logs.push(...c.toString('utf8').split('\n').filter(Boolean)));
  return { proc, logs, exited: new Promise<number | null>((r) => proc.once('exit', (code) => r(code))) };
}

test('one trace across the API and worker processes, exported over OTLP/HTTP', async () => {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const taskQueue = `otlp-${randomBytes(4).toString('hex')}`;
  const worker = start('worker', { TEMPORAL_TASK_QUEUE: taskQueue, PUBLIC_BASE_URL: apiUrl });
  const api = start('api', {
    TEMPORAL_TASK_QUEUE: taskQueue,
    PORT: String(port),
    PUBLIC_BASE_URL: apiUrl,
    ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }),
    CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'api-otlp-')),
  });
  await waitFor('worker running', async () => worker.logs.some((l) => l.includes('"worker running"')), 90_000);
  await waitFor('api listening', async () => api.logs.some((l) => l.includes('"api listening"')), 90_000);

  const sdk = new PaySdk({ gateway: `${apiUrl}/api/cashier-desk`, appId: app.appId, appKey: app.appKey, signType: 'HMAC-SHA256', notifyUrl: 'http://127.0.0.1:9/notify' });
  const order = await sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo: `O${randomBytes(5).toString('hex')}`, thirdPartyUser: 'u-1' });
  const prepay = await fetch(`${apiUrl}/api/cashier-desk/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(((await prepay.json()) as { code: number }).code).toBe(1000);

  // Stopping flushes what is still batched.
  api.proc.kill('SIGTERM');
  worker.proc.kill('SIGTERM');
  expect(await api.exited).toBe(0);
  expect(await worker.exited).toBe(0);
  expect(paths.length).toBeGreaterThan(0);
  for (const p of paths) expect(p).toMatch(/^POST \/v1\/traces application\/json/);

  const choose = exported.find((s) => s.service === 'cashier-desk-api' && s.name === 'POST /api/cashier-desk/:channelType/:sceneCode');
  expect(choose).toBeDefined();
  const trace = exported.filter((s) => s.traceId === choose!.traceId);
  const one = (service: string, name: string, parent: ExportedSpan) => {
    const found = trace.filter((s) => s.service === service && s.name === name && s.parentSpanId === parent.spanId);
    if (found.length !== 1) throw new Error(`expected ${name} (${service}) under ${parent.name}; the trace has ${trace.map((s) => `${s.service}:${s.name}`).join(', ')}`);
    return found[0];
  };
  const update = one('cashier-desk-api', 'StartWorkflowUpdate:chooseChannel', choose!);
  const handle = one('cashier-desk-worker', 'HandleUpdate:chooseChannel', update);
  const run = one('cashier-desk-worker', 'RunActivity:prepay', one('cashier-desk-worker', 'StartActivity:prepay', handle));
  one('cashier-desk-worker', 'ali-pay prepay', run);
  // The order's creation is its own trace, from the API's request to the workflow start.
  const created = exported.find((s) => s.service === 'cashier-desk-api' && s.name === 'POST /api/cashier-desk/unified/orders')!;
  expect(exported.some((s) => s.name === `StartWorkflow:${PAYMENT_WORKFLOW_TYPE}` && s.parentSpanId === created.spanId && s.traceId === created.traceId)).toBe(true);
});
