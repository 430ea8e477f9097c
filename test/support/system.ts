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
import type { ResolveHost } from '../../activities/notify-transport';
import { createUseCases, type UseCases } from '../../app';
import { loadConfig, type AdminConfig, type Config } from '../../config';
import { hashPasswordSync } from '../../security/password';
import { createHttpApp } from '../../http/app';
import { createLogger, type Logger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import type { ProviderRegistry } from '../../providers/registry';
import { resolveAdminCredential } from '../../security/admin-credential';
import { createTemporalGateway } from '../../temporal/client';
import { requestIdClientInterceptor } from '../../temporal/request-id';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';
import { createPaymentWorker, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../../worker/create-worker';
import { createTestDb, type TestDb } from './db';
import { quietLogger } from './quiet-logger';

export interface TestSystem {
  t: TestDb;
  apiUrl: string;
  gateway: string;
  client: Client;
  taskQueue: string;
  /** The use-cases the HTTP app calls, for tests that act without HTTP. */
  useCases: UseCases;
  alipay: AlipaySandboxHandle;
  wechat: WechatSandboxHandle;
  logs: string[];
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * A test configuration: parsed by the same loadConfig as production, from an environment of test values,
 * with operator settings a test wants to tighten applied on top.
 */
export function testConfig(env: Record<string, string>, admin: Partial<AdminConfig> = {}): Config {
  const config = loadConfig({ NODE_ENV: 'test', ...env });
  return { ...config, admin: { ...config.admin, ...admin } };
}

/**
 * The use-cases as a composition root builds them, over a test database and a Temporal client (the dev server's
 * or the time-skipping environment's): workflow tests pass `exceptions` to createActivities as worker/main.ts does.
 */
export function testUseCases(parts: { t: TestDb; client: Client; taskQueue: string; providers: ProviderRegistry }, env: Record<string, string> = {}): UseCases {
  const temporal = createTemporalGateway({ client: parts.client, taskQueue: parts.taskQueue });
  const config = testConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:1', ...env });
  return createUseCases({ db: parts.t.db, secretBox: parts.t.box, temporal, providers: parts.providers, log: createLogger({ level: 'error', write: () => {} }), config });
}

/**
 * The worker's activities as worker/main.ts builds them, over test dependencies and the use-cases they call back
 * into. Test merchants listen on 127.0.0.1, so private notify destinations are allowed unless a test says otherwise.
 */
export function workerActivities(parts: { t: TestDb; providers: ProviderRegistry; useCases: UseCases; publicBaseUrl?: string; allowPrivateNotifyUrls?: boolean; resolveHost?: ResolveHost }) {
  return createActivities({
    db: parts.t.db,
    secretBox: parts.t.box,
    providers: parts.providers,
    exceptions: parts.useCases.exceptions,
    healer: parts.useCases.reconciliation,
    publicBaseUrl: parts.publicBaseUrl ?? 'http://127.0.0.1:1',
    notifyTimeoutMs: 5000,
    allowPrivateNotifyUrls: parts.allowPrivateNotifyUrls ?? true,
    resolveHost: parts.resolveHost,
  });
}

/** The HTTP app exactly as api/main.ts builds it, over a test system's database, Temporal client and providers. */
export function buildHttpApp(parts: { t: TestDb; client: Client; taskQueue: string; providers: ProviderRegistry; log: Logger }, config: Config) {
  const temporal = createTemporalGateway({ client: parts.client, taskQueue: parts.taskQueue });
  const useCases = createUseCases({ db: parts.t.db, secretBox: parts.t.box, temporal, providers: parts.providers, log: parts.log, config });
  const app = createHttpApp({
    config,
    db: parts.t.db,
    secretBox: parts.t.box,
    providers: parts.providers,
    useCases,
    adminCredential: resolveAdminCredential(config, config.dataDir),
    temporalNamespace: temporal.namespace,
    log: parts.log,
  });
  return { app, useCases };
}

/** The administrator of every test system (admin/): username and password for the console and its API. */
export const TEST_ADMIN = { username: 'admin', password: 'correct horse battery staple' } as const;
let testAdminHash: string | undefined;

export async function startTestSystem(
  opts: { pollIntervalSeconds?: number; rateLimitPerMinute?: number; admin?: Partial<AdminConfig> } = {},
): Promise<TestSystem> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run through jest (global setup starts the dev server)');
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: quietLogger });
  const t = await createTestDb();
  const taskQueue = `e2e-${randomBytes(4).toString('hex')}`;
  const logs: string[] = [];
  const log: Logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, interceptors: { workflow: [requestIdClientInterceptor()] } });
  const alipay = await startAlipaySandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  const wechat = await startWechatSandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  const providers = createDefaultProviders();

  // Listen first, so the public base URL (callback and return URLs) is known before anything uses it.
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Low scrypt cost keeps logins fast in tests; production hashes use DEFAULT_SCRYPT.
  testAdminHash ??= hashPasswordSync(TEST_ADMIN.password, { N: 1024, r: 8, p: 1 });
  const config = testConfig(
    {
      PUBLIC_BASE_URL: apiUrl,
      PROVIDER_POLL_INTERVAL_SECONDS: String(opts.pollIntervalSeconds ?? 60),
      ADMIN_PASSWORD_HASH: testAdminHash,
      ...(opts.rateLimitPerMinute ? { RATE_LIMIT_PER_MINUTE: String(opts.rateLimitPerMinute) } : {}),
    },
    { username: TEST_ADMIN.username, ...opts.admin },
  );
  const { app, useCases } = buildHttpApp({ t, client, taskQueue, providers, log }, config);
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
    useCases,
    alipay,
    wechat,
    logs,
    async startWorker() {
      nativeConnection ??= await NativeConnection.connect({ address });
      worker = await createPaymentWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        activities: workerActivities({ t, providers, useCases, publicBaseUrl: apiUrl }),
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
