/**
 * Typed configuration, parsed once at start-up from the environment. Every process (api, worker, start)
 * calls loadConfig() in its composition root and passes the result down; nothing else reads process.env.
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** An optional port where empty and 0 both mean "off". */
const port0 = z
  .union([z.literal(''), z.coerce.number().int().min(0).max(65535)])
  .optional()
  .transform((v) => (v === '' || v === undefined || v === 0 ? undefined : v));

/** Compose passes `${VAR:-}` as an empty string: the same as not set. */
const unsetIfEmpty = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === '' ? undefined : v), t.optional());

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Public base URL of the API (cashier page links and provider callback URLs are built from it). */
  PUBLIC_BASE_URL: z.url().optional(),
  DATABASE_URL: z.string().min(1).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('cashier-desk'),
  /** 32-byte key (base64 or 64 hex chars) that encrypts app keys and channel secrets at rest. */
  CASHIER_MASTER_KEY: z.string().optional(),
  /** Orders expire after this many seconds unless the merchant passes expireSeconds. */
  ORDER_DEFAULT_EXPIRE_SECONDS: z.coerce.number().int().min(60).max(86_400).default(1800),
  /** While waiting for a provider callback the workflow queries the provider this often (lost-callback guard). */
  PROVIDER_POLL_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(500).max(30_000).default(10_000),
  /** Allow notify URLs on loopback/private networks. Defaults to true outside production. */
  ALLOW_PRIVATE_NOTIFY_URLS: bool.optional(),
  EXCEPTION_AUTO_REFUND: bool.default(true),
  RECONCILIATION_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'RECONCILIATION_TIME must be HH:mm (Asia/Shanghai)')
    .default('10:00'),
  RECONCILIATION_SCHEDULE: bool.default(true),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(65_536),
  /** HTTP server limits: a client must send its headers within / its whole request within; header bytes at most. */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(5000),
  HTTP_MAX_HEADER_BYTES: z.coerce.number().int().min(4096).max(65_536).default(16_384),
  /** Merchant API requests per verified app per minute (counted after the signature is verified). */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** Merchant API and cashier requests per client IP per minute (counted before authentication). */
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  /** Development data (master key, admin password, demo app, embedded PostgreSQL, dev server database). */
  CASHIER_DATA_DIR: z.string().min(1).optional(),
  /** Development only: the WeixinJSBridge stand-in the cashier page loads for JSAPI (see http/pages/bridge.ts). */
  DEV_JSBRIDGE_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Operator console: the administrator's login name. */
  ADMIN_USERNAME: z.string().trim().min(1).max(64).default('admin'),
  /** `scrypt$N$r$p$salt$hash` (print one with `npx tsx scripts/admin-hash-password.ts`). Required in production. */
  ADMIN_PASSWORD_HASH: z
    .string()
    .trim()
    .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=_-]+\$[A-Za-z0-9+/=_-]+$/, 'must be scrypt$N$r$p$salt$hash (see scripts/admin-hash-password.ts)')
    .optional(),
  /** Console sessions end after this long without a request… */
  ADMIN_SESSION_IDLE_SECONDS: z.coerce.number().int().min(60).max(86_400).default(1800),
  /** …and at the latest this long after login. */
  ADMIN_SESSION_MAX_SECONDS: z.coerce.number().int().min(300).max(7 * 86_400).default(43_200),
  /** Failed logins per username within the window before that username is locked until the window passes. */
  ADMIN_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  /** Failed logins per client IP within the window before that IP is locked. */
  ADMIN_LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(1000).default(20),
  ADMIN_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /** A channel-binding application approves itself after this long unless an administrator rejects it (方式二). */
  BINDING_AUTO_APPROVE_SECONDS: z.coerce.number().int().min(1).max(90 * 86_400).default(3 * 86_400),
  /** After a key rotation the previous app key stays valid this long (the console may choose less, down to 0). */
  KEY_ROTATION_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 86_400).default(86_400),
  /** App registrations per client IP per hour. */
  REGISTER_RATE_LIMIT_PER_HOUR: z.coerce.number().int().min(1).max(10_000).default(20),
  /** On SIGTERM/SIGINT the API finishes requests in flight for at most this long, then cuts what is left. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(20),
  /** Temporal Web UI base URL for the console's workflow links. */
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  // Worker sizing: workflows kept in memory between tasks (an evicted one replays its short history on its next
  // task), and concurrent workflow tasks / activities per worker process.
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(800),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(1000).default(40),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(2000).default(100),
  /** Bearer token /metrics requires on the API and the worker; unset: /metrics answers anyone who reaches it. */
  METRICS_TOKEN: unsetIfEmpty(z.string().trim().min(16, 'METRICS_TOKEN must be at least 16 characters')),
  /** The API's /metrics on a port of its own (METRICS_HOST) instead of the public port; empty or 0: on the API port. */
  METRICS_PORT: port0,
  METRICS_HOST: z.string().min(1).optional(),
  /** The worker's /metrics port (its own metrics plus the Temporal SDK's); empty or 0: no metrics endpoint. */
  WORKER_METRICS_PORT: port0,
  /** Loopback port of the Temporal SDK's own Prometheus exporter, read by the worker's /metrics; default WORKER_METRICS_PORT + 1. */
  WORKER_SDK_METRICS_PORT: port0,
  /** OTLP/HTTP endpoint (e.g. http://otel-collector:4318); traces are exported only when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfEmpty(z.url()),
  /** Overrides the per-process service name of exported spans (cashier-desk-api, cashier-desk-worker). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});

export interface Config {
  env: 'development' | 'test' | 'production';
  host: string;
  port: number;
  publicBaseUrl: string;
  databaseUrl?: string;
  databasePoolMax: number;
  temporal: { address: string; namespace: string; taskQueue: string };
  masterKey?: Buffer;
  orderDefaultExpireSeconds: number;
  providerPollIntervalSeconds: number;
  notifyTimeoutMs: number;
  allowPrivateNotifyUrls: boolean;
  /** Refund late and duplicate payments in full automatically (payment exceptions). */
  exceptionAutoRefund: boolean;
  /** The daily reconciliation Schedule: whether the worker keeps it, and its time of day in Asia/Shanghai. */
  reconciliation: { schedule: boolean; hour: number; minute: number };
  maxBodyBytes: number;
  /** Slow or oversized clients (api/ applies these to its HTTP server). */
  httpServer: HttpServerLimits;
  /** Requests per minute on /api/cashier-desk: per client IP before authentication, per verified app after it. */
  rateLimit: { perIpPerMinute: number; perAppPerMinute: number };
  dataDir: string;
  jsBridgeUrl?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** How long the API drains requests in flight on SIGTERM/SIGINT. */
  shutdownGraceSeconds: number;
  admin: AdminConfig;
  worker: WorkerSizing;
  observability: ObservabilityConfig;
}

/** Prometheus endpoints and OpenTelemetry export (README: Metrics and tracing). */
export interface ObservabilityConfig {
  metricsToken?: string;
  /** The API's /metrics on its own listener; absent: a route of the API's own port. */
  apiMetrics?: { host: string; port: number };
  /** The worker's /metrics listener and the loopback port of the Temporal SDK's exporter; absent: off. */
  workerMetrics?: { host: string; port: number; sdkPort: number };
  /** Absent: tracing off (no provider, no interceptors, no spans). */
  otlpEndpoint?: string;
  serviceName?: string;
}

export interface HttpServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
}

/** How much one worker process takes on at once (worker/create-worker.ts). */
export interface WorkerSizing {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTasks: number;
  maxConcurrentActivities: number;
}

/** Operator side (http/console): console login, sessions, binding approval, key rotation. */
export interface AdminConfig {
  username: string;
  /** scrypt$N$r$p$salt$hash; absent outside production means "generate one into .data/admin-password". */
  passwordHash?: string;
  sessionIdleSeconds: number;
  sessionMaxSeconds: number;
  loginMaxFailures: number;
  loginMaxFailuresPerIp: number;
  loginWindowSeconds: number;
  bindingAutoApproveSeconds: number;
  keyRotationGraceSeconds: number;
  registerPerHour: number;
  temporalUiUrl: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseMasterKey(raw: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError('CASHIER_MASTER_KEY must be 32 bytes, as base64 or 64 hex characters');
  return key;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const masterKey = e.CASHIER_MASTER_KEY ? parseMasterKey(e.CASHIER_MASTER_KEY) : undefined;
  // Node refuses a headers timeout longer than the request timeout.
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  if (e.NODE_ENV === 'production') {
    // Fail fast: production must never fall back to development defaults for secrets or storage.
    if (!masterKey) throw new ConfigError('CASHIER_MASTER_KEY is required in production');
    if (!e.DATABASE_URL) throw new ConfigError('DATABASE_URL is required in production');
    if (!e.PUBLIC_BASE_URL) throw new ConfigError('PUBLIC_BASE_URL is required in production');
    if (!e.ADMIN_PASSWORD_HASH) throw new ConfigError('ADMIN_PASSWORD_HASH is required in production (npx tsx scripts/admin-hash-password.ts)');
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE },
    masterKey,
    orderDefaultExpireSeconds: e.ORDER_DEFAULT_EXPIRE_SECONDS,
    providerPollIntervalSeconds: e.PROVIDER_POLL_INTERVAL_SECONDS,
    notifyTimeoutMs: e.NOTIFY_TIMEOUT_MS,
    allowPrivateNotifyUrls: e.ALLOW_PRIVATE_NOTIFY_URLS ?? e.NODE_ENV !== 'production',
    exceptionAutoRefund: e.EXCEPTION_AUTO_REFUND,
    reconciliation: { schedule: e.RECONCILIATION_SCHEDULE, hour: Number(e.RECONCILIATION_TIME.slice(0, 2)), minute: Number(e.RECONCILIATION_TIME.slice(3, 5)) },
    maxBodyBytes: e.MAX_BODY_BYTES,
    httpServer: { headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS, maxHeaderBytes: e.HTTP_MAX_HEADER_BYTES },
    rateLimit: { perIpPerMinute: e.RATE_LIMIT_PER_IP_PER_MINUTE, perAppPerMinute: e.RATE_LIMIT_PER_MINUTE },
    dataDir: path.resolve(e.CASHIER_DATA_DIR ?? path.join(__dirname, '..', '.data')),
    jsBridgeUrl: e.DEV_JSBRIDGE_URL,
    logLevel: e.LOG_LEVEL,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    admin: {
      username: e.ADMIN_USERNAME,
      passwordHash: e.ADMIN_PASSWORD_HASH,
      sessionIdleSeconds: e.ADMIN_SESSION_IDLE_SECONDS,
      sessionMaxSeconds: Math.max(e.ADMIN_SESSION_MAX_SECONDS, e.ADMIN_SESSION_IDLE_SECONDS),
      loginMaxFailures: e.ADMIN_LOGIN_MAX_FAILURES,
      loginMaxFailuresPerIp: e.ADMIN_LOGIN_MAX_FAILURES_PER_IP,
      loginWindowSeconds: e.ADMIN_LOGIN_WINDOW_SECONDS,
      bindingAutoApproveSeconds: e.BINDING_AUTO_APPROVE_SECONDS,
      keyRotationGraceSeconds: e.KEY_ROTATION_GRACE_SECONDS,
      registerPerHour: e.REGISTER_RATE_LIMIT_PER_HOUR,
      temporalUiUrl: e.TEMPORAL_UI_URL.replace(/\/+$/, ''),
    },
    worker: {
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
    },
    observability: {
      metricsToken: e.METRICS_TOKEN,
      apiMetrics: e.METRICS_PORT ? { host: e.METRICS_HOST ?? e.HOST, port: e.METRICS_PORT } : undefined,
      workerMetrics: e.WORKER_METRICS_PORT
        ? { host: e.METRICS_HOST ?? e.HOST, port: e.WORKER_METRICS_PORT, sdkPort: e.WORKER_SDK_METRICS_PORT ?? (e.WORKER_METRICS_PORT === 65535 ? 65534 : e.WORKER_METRICS_PORT + 1) }
        : undefined,
      otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: e.OTEL_SERVICE_NAME,
    },
  };
}
