/**
 * Typed configuration, parsed once at start-up from the environment. Every process (api, worker, start)
 * calls loadConfig() in its composition root and passes the result down; nothing else reads process.env.
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

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
  PROVIDER_POLL_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(500).max(30_000).default(10_000),
  /** Allow notify URLs on loopback/private networks. Defaults to true outside production. */
  ALLOW_PRIVATE_NOTIFY_URLS: bool.optional(),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(65_536),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
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
  maxBodyBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
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
  if (e.NODE_ENV === 'production') {
    // Fail fast: production must never fall back to development defaults for secrets or storage.
    if (!masterKey) throw new ConfigError('CASHIER_MASTER_KEY is required in production');
    if (!e.DATABASE_URL) throw new ConfigError('DATABASE_URL is required in production');
    if (!e.PUBLIC_BASE_URL) throw new ConfigError('PUBLIC_BASE_URL is required in production');
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
    maxBodyBytes: e.MAX_BODY_BYTES,
    logLevel: e.LOG_LEVEL,
  };
}
