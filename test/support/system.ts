/**
 * The whole system in one test process, on real parts: the suite's Temporal dev server and PostgreSQL,
 * the real provider adapters (real SDKs) against the real sandboxes, a worker and the Express API on
 * 127.0.0.1. Each test file gets its own database and task queue.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createActivities } from '../../activities';
import { createBindingActivities } from '../../activities/binding';
import type { AdminConfig } from '../../config';
import { hashPasswordSync } from '../../security/password';
import { createApiApp, type ApiDeps } from '../../http/app';
import { createLogger, type Logger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';
import { createPaymentWorker, WORKFLOWS_PATH } from '../../worker/create-worker';
import { createTestDb, type TestDb } from './db';

export interface TestSystem {
  t: TestDb;
  apiUrl: string;
  gateway: string;
  client: Client;
  taskQueue: string;
  alipay: AlipaySandboxHandle;
  wechat: WechatSandboxHandle;
  logs: string[];
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** The administrator of every test system (admin/): username and password for the console and its API. */
export const TEST_ADMIN = { username: 'admin', password: 'correct horse battery staple' } as const;
let testAdminHash: string | undefined;

export async function startTestSystem(
  opts: { pollIntervalSeconds?: number; rateLimitPerMinute?: number; admin?: Partial<AdminConfig> } = {},
): Promise<TestSystem> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run through jest (global setup starts the dev server)');
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  const t = await createTestDb();
  const taskQueue = `e2e-${randomBytes(4).toString('hex')}`;
  const logs: string[] = [];
  const log: Logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const alipay = await startAlipaySandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  const wechat = await startWechatSandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  const providers = createDefaultProviders();

  // Listen first, so the public base URL (callback and return URLs) is known before anything uses it.
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Low scrypt cost keeps logins fast in tests; production hashes use DEFAULT_SCRYPT.
  testAdminHash ??= hashPasswordSync(TEST_ADMIN.password, { N: 1024, r: 8, p: 1 });
  const config: ApiDeps['config'] & { admin: Partial<AdminConfig> } = {
    publicBaseUrl: apiUrl,
    taskQueue,
    orderDefaultExpireSeconds: 1800,
    providerPollIntervalSeconds: opts.pollIntervalSeconds ?? 60,
    allowPrivateNotifyUrls: true,
    maxBodyBytes: 65_536,
    rateLimitPerMinute: opts.rateLimitPerMinute,
    admin: { username: TEST_ADMIN.username, passwordHash: testAdminHash, ...opts.admin },
  };
  const { app } = createApiApp({ db: t.db, secretBox: t.box, temporal: client, providers, log, config });
  server.on('request', app);

  let nativeConnection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const system: TestSystem = {
    t,
    apiUrl,
    gateway: `${apiUrl}/api/cashier-desk`,
    client,
    taskQueue,
    alipay,
    wechat,
    logs,
    async startWorker() {
      nativeConnection ??= await NativeConnection.connect({ address });
      worker = await createPaymentWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        activities: {
          ...createActivities({ db: t.db, secretBox: t.box, providers, publicBaseUrl: apiUrl, notifyTimeoutMs: 5000 }),
          ...createBindingActivities({ db: t.db }),
        },
        workflowBundle: await bundle!,
      });
      running = worker.run();
    },
    async stopWorker() {
      worker?.shutdown();
      await running;
      worker = undefined;
    },
    async stop() {
      await system.stopWorker();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await nativeConnection?.close();
      await connection.close();
      await alipay.close();
      await wechat.close();
      await t.destroy();
    },
  };
  await system.startWorker();
  return system;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
