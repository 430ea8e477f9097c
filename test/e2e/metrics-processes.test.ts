/**
 * The real processes' metrics wiring (api/main.ts, worker/main.ts): the worker's WORKER_METRICS_PORT serves its own
 * registry with the Temporal SDK's exporter (Runtime.install telemetryOptions) appended; the API's METRICS_PORT
 * serves /metrics on a listener of its own, and the public port then has none. Both behind METRICS_TOKEN; both
 * listeners are gone after SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hashPasswordSync } from '../../security/password';
import { connectTemporal } from '../../temporal/client';
import { createTestDb, type TestDb } from '../support/db';
import { waitFor } from '../support/system';

const ROOT = path.resolve(__dirname, '..', '..');
const TOKEN = 'process-metrics-token-0123456789';
let t: TestDb;
const procs: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function start(entry: 'api' | 'worker', env: Record<string, string>): { proc: ChildProcess; logs: string[]; exited: Promise<number | null> } {
  const logs: string[] = [];
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry, 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: t.url,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `metrics-${randomBytes(4).toString('hex')}`,
      CASHIER_MASTER_KEY: t.masterKey.toString('base64'),
      PUBLIC_BASE_URL: 'http://127.0.0.1:1',
      RECONCILIATION_SCHEDULE: 'false',
      METRICS_TOKEN: TOKEN,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  procs.push(proc);
  proc.stdout!.on('data', (c: Buffer) => logs.push(...c.toString('utf8').split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, logs, exited };
}

const scrape = (url: string, token = TOKEN) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  t = await createTestDb();
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await t?.destroy();
});

test('worker: WORKER_METRICS_PORT serves its registry and the SDK metrics; gone after SIGTERM', async () => {
  const [port, sdkPort] = [await freePort(), await freePort()];
  const taskQueue = `metrics-${randomBytes(4).toString('hex')}`;
  const w = start('worker', { WORKER_METRICS_PORT: String(port), WORKER_SDK_METRICS_PORT: String(sdkPort), TEMPORAL_TASK_QUEUE: taskQueue });
  await waitFor('worker metrics listening', async () => w.logs.some((l) => l.includes('"worker metrics listening"')), 90_000);
  const url = `http://127.0.0.1:${port}/metrics`;
  expect((await fetch(url)).status).toBe(401);
  // The SDK's exporter fills in once the worker has polled.
  const text = await waitFor('SDK metrics', async () => {
    const body = await (await scrape(url)).text();
    return /^temporal_num_pollers\{/m.test(body) ? body : null;
  });
  expect(text).toContain('# TYPE cashier_provider_calls_total counter');
  expect(text).toContain('# TYPE cashier_notification_time_to_ack_seconds histogram');
  expect(text).toMatch(/^process_resident_memory_bytes\{service="worker"\} \d+/m);
  expect(text).toContain('cashier_temporal_sdk_metrics_up 1');
  // Its migrations went through the instrumented pool.
  expect(text).toMatch(/^cashier_db_pool_acquire_seconds_count\{service="worker"\} [1-9]\d*$/m);
  expect(text).toMatch(/^cashier_db_pool_connections\{state="pending",service="worker"\} 0$/m);
  // A workflow task polled (of a type it does not know: only the task's latency matters here) lands in the finer
  // schedule-to-start buckets the worker gives the SDK (its own start at 100 ms).
  const temporal = await connectTemporal({ address: process.env.TEMPORAL_ADDRESS!, namespace: 'default' });
  const handle = await temporal.client.workflow.start('noSuchWorkflowType', { taskQueue, workflowId: `metrics-buckets-${randomBytes(4).toString('hex')}` });
  try {
    const withTask = await waitFor('a workflow task latency', async () => {
      const body = await (await scrape(url)).text();
      return /^temporal_workflow_task_schedule_to_start_latency_count\{.*\} [1-9]/m.test(body) ? body : null;
    });
    expect(withTask).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{.*le="1"\} \d+$/m);
    expect(withTask).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{.*le="25"\} \d+$/m);
  } finally {
    await handle.terminate('test done').catch(() => {});
    await temporal.close();
  }
  // The SDK's exporter itself listens on loopback only, at the configured port.
  expect((await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).status).toBe(200);
  w.proc.kill('SIGTERM');
  expect(await w.exited).toBe(0);
  await expect(fetch(url)).rejects.toThrow();
});

test('API: METRICS_PORT serves /metrics on its own listener; the public port has none', async () => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const a = start('api', {
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }),
    CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'api-metrics-')),
  });
  await waitFor('api listening', async () => a.logs.some((l) => l.includes('"api listening"')), 90_000);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  expect((await fetch(url)).status).toBe(401);
  expect((await scrape(url, 'wrong-token-wrong-token-wrong')).status).toBe(401);
  const text = await (await scrape(url)).text();
  expect(text).toContain('cashier_http_requests_total{method="GET",route="/healthz",status_code="200",service="api"} 1');
  const publicMetrics = await scrape(`http://127.0.0.1:${port}/metrics`);
  expect(publicMetrics.status).toBe(404);
  expect(await publicMetrics.text()).not.toContain('cashier_http_requests_total');
  a.proc.kill('SIGTERM');
  expect(await a.exited).toBe(0);
  await expect(fetch(url)).rejects.toThrow();
});
