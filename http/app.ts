/** Builds the Express application from its dependencies (no I/O here: see api/main.ts for wiring). */
import express, { type Express, type RequestHandler } from 'express';
import { createAdminRouter } from './console';
import { createWebRouter } from './pages';
import type { Client } from '@temporalio/client';
import type { AdminConfig } from '../config';
import type { Db } from '../db/connection';
import { DomainError, ErrorCode } from '../domain/errors';
import type { Logger } from '../observability/logger';
import type { ProviderRegistry } from '../providers/registry';
import type { SecretBox } from '../security/secret-box';
import { errorMiddleware } from './envelope';
import { createPayments, type Payments } from '../app/orders';
import { rateLimit } from './rate-limit';
import { callbackRouter } from './callbacks';
import { cashierRouter } from './cashier';
import { merchantRouter } from './merchant';

export interface ApiDeps {
  db: Db;
  secretBox: SecretBox;
  temporal: Client;
  providers: ProviderRegistry;
  log: Logger;
  config: {
    publicBaseUrl: string;
    taskQueue: string;
    orderDefaultExpireSeconds: number;
    providerPollIntervalSeconds: number;
    allowPrivateNotifyUrls: boolean;
    maxBodyBytes: number;
    rateLimitPerMinute?: number;
    /** 'production' disables development aids (e.g. the WeChat sandbox's JS bridge on the cashier page). */
    env?: 'development' | 'test' | 'production';
    /** Operator side settings (admin/); defaults apply when absent. */
    admin?: Partial<AdminConfig>;
    /** Where the development administrator password is kept (default .data/). */
    adminDataDir?: string;
    /** Development only: a WeixinJSBridge stand-in the cashier page loads for JSAPI (see web/bridge.ts). */
    jsBridgeUrl?: string;
  };
}

/** What the page and operator routers get: everything the API has, plus the payment use-cases. */
export type WebDeps = ApiDeps & { payments: Payments };

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

export function createApiApp(deps: ApiDeps): { app: Express; payments: Payments } {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(securityHeaders);
  const payments = createPayments({
    db: deps.db,
    temporal: deps.temporal,
    taskQueue: deps.config.taskQueue,
    publicBaseUrl: deps.config.publicBaseUrl,
    orderDefaultExpireSeconds: deps.config.orderDefaultExpireSeconds,
    providerPollIntervalSeconds: deps.config.providerPollIntervalSeconds,
    log: deps.log,
  });

  app.get('/healthz', async (_req, res) => {
    await deps.db.raw('select 1');
    res.json({ status: 'ok' });
  });

  const base = '/api/cashier-desk';
  const limiter = rateLimit({ windowMs: 60_000, max: deps.config.rateLimitPerMinute ?? 600, key: (req) => `${req.ip}|${req.get('x-cashier-app-id') ?? ''}` });
  // Provider callbacks come before the limiter: a provider's burst of notifications must never be refused.
  app.use(base, callbackRouter({ db: deps.db, secretBox: deps.secretBox, providers: deps.providers, temporal: deps.temporal, log: deps.log.child({ component: 'callbacks' }) }));
  app.use(base, limiter);
  app.use(base, merchantRouter({ db: deps.db, secretBox: deps.secretBox, payments, maxBodyBytes: deps.config.maxBodyBytes, allowPrivateNotifyUrls: deps.config.allowPrivateNotifyUrls }));
  app.use(base, cashierRouter({ db: deps.db, payments }));
  app.use(createWebRouter({ ...deps, payments }));
  app.use(createAdminRouter({ ...deps, payments }));
  app.use(base, (_req, _res, next) => next(new DomainError(ErrorCode.NOT_FOUND, '接口不存在')));
  app.use(errorMiddleware(deps.log.child({ component: 'api' })));
  return { app, payments };
}
