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
import { httpServerOptions } from '../../http/server-options';
import { createLogger, type Logger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import type { ProviderRegistry } from '../../providers/registry';
import { resolveAdminCredential } from '../../security/admin-credential';
import { createTemporalGateway } from '../../temporal/client';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { startWechatSandbox } from '../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../sandbox/wechat/types';
import { createPaymentWorker, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_TRACING_INTERCEPTORS, WORKFLOWS_PATH } from '../../worker/create-worker';
import { createMetrics, type Metrics } from '../../observability/metrics';
import { startMetricsServer, workerExposition, type MetricsServer } from '../../observability/metrics-server';
import type { Tracing } from '../../observability/tracing';
import { createClient } from '../../temporal/client';
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
  /** With `metrics`: the API's and the worker's registries, and the worker's /metrics URL (the API serves /metrics itself). */
  metrics?: { api: Metrics; worker: Metrics; workerUrl: string };
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
let tracedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

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
export function workerActivities(parts: { t: TestDb; providers: ProviderRegistry; useCases: UseCases; publicBaseUrl?: string; allowPrivateNotifyUrls?: boolean; resolveHost?: ResolveHost; metrics?: Metrics }) {
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
    metrics: parts.metrics,
  });
}

/** The HTTP app exactly as api/main.ts builds it, over a test system's database, Temporal client and providers. */
export function buildHttpApp(parts: { t: TestDb; client: Client; taskQueue: string; providers: ProviderRegistry; log: Logger; metrics?: Metrics; tracing?: boolean }, config: Config) {
  const temporal = createTemporalGateway({ client: parts.client, taskQueue: parts.taskQueue });
  const useCases = createUseCases({ db: parts.t.db, secretBox: parts.t.box, temporal, providers: parts.providers, log: parts.log, config, metrics: parts.metrics });
  const app = createHttpApp({
    config,
    db: parts.t.db,
    secretBox: parts.t.box,
    providers: parts.providers,
    useCases,
    adminCredential: resolveAdminCredential(config, config.dataDir),
    temporalNamespace: temporal.namespace,
    log: parts.log,
    metrics: parts.metrics,
    tracing: parts.tracing,
  });
  return { app, useCases };
}

/** The administrator of every test system (admin/): username and password for the console and its API. */
export const TEST_ADMIN = { username: 'admin', password: 'correct horse battery staple' } as const;
let testAdminHash: string | undefined;

export async function startTestSystem(
  opts: {
    pollIntervalSeconds?: number;
    rateLimitPerMinute?: number;
    admin?: Partial<AdminConfig>;
    /** Separate API and worker registries as the two processes have, the worker's /metrics on a free port. */
    metrics?: { env?: Record<string, string>; sdkMetricsPort?: number };
    /** Tracing set up by the test (setupTracing with an in-memory exporter): traced client, HTTP app and worker. */
    tracing?: Tracing;
    /** A Temporal server of the test's own instead of global setup's dev server. */
    temporalAddress?: string;
  } = {},
): Promise<TestSystem> {
  const address = opts.temporalAddress ?? process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run through jest (global setup starts the dev server)');
  if (opts.tracing) tracedBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_TRACING_INTERCEPTORS], logger: quietLogger });
  else bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: quietLogger });
  const workflowBundle = opts.tracing ? tracedBundle! : bundle!;
  const t = await createTestDb();
  const taskQueue = `e2e-${randomBytes(4).toString('hex')}`;
  const logs: string[] = [];
  const log: Logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const connection = await Connection.connect({ address });
  const client = createClient({ connection, tracing: opts.tracing !== undefined });
  const alipay = await startAlipaySandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  const wechat = await startWechatSandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  const apiMetrics = opts.metrics ? createMetrics({ service: 'api' }) : undefined;
  const workerMetrics = opts.metrics ? createMetrics({ service: 'worker' }) : undefined;
  // The API's and the worker's provider calls are counted apart, as in two processes.
  const providers = createDefaultProviders({ metrics: apiMetrics });
  const workerProviders = opts.metrics ? createDefaultProviders({ metrics: workerMetrics }) : providers;

  // Listen first, so the public base URL (callback and return URLs) is known before anything uses it.
  // The same server limits as api/main.ts (they do not depend on the URL, which is known only once listening).
  const server = http.createServer(httpServerOptions(testConfig({}).httpServer));
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
      ...opts.metrics?.env,
    },
    { username: TEST_ADMIN.username, ...opts.admin },
  );
  const { app, useCases } = buildHttpApp({ t, client, taskQueue, providers, log, metrics: apiMetrics, tracing: opts.tracing !== undefined }, config);
  server.on('request', app);
  let workerMetricsServer: MetricsServer | undefined;
  if (workerMetrics) {
    workerMetricsServer = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      token: config.observability.metricsToken,
      render: workerExposition(workerMetrics, opts.metrics?.sdkMetricsPort ?? 1),
    });
  }

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
    metrics: apiMetrics && workerMetrics ? { api: apiMetrics, worker: workerMetrics, workerUrl: `http://127.0.0.1:${workerMetricsServer!.port}/metrics` } : undefined,
    async startWorker() {
      nativeConnection ??= await NativeConnection.connect({ address });
      worker = await createPaymentWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        activities: workerActivities({ t, providers: workerProviders, useCases, publicBaseUrl: apiUrl, metrics: workerMetrics }),
        workflowBundle: await workflowBundle,
        tracing: opts.tracing,
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
      await workerMetricsServer?.close();
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
