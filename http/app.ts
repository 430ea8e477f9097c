/**
 * The one HTTP application: merchant API, cashier endpoints, provider callbacks, hosted pages, registration
 * and the administrator console. Each router gets the narrow dependencies it uses; no I/O happens here (the
 * composition root, api/main.ts, builds the dependencies).
 */
import express, { type Express } from 'express';
import type { UseCases } from '../app';
import type { Config } from '../config';
import { pingDatabase, type Db } from '../db/connection';
import { createRateLimiter } from '../db/queries/rate-limits';
import { DomainError, ErrorCode } from '../domain/errors';
import { MERCHANT_API_BASE } from '../domain/urls';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { ProviderRegistry } from '../providers/registry';
import type { AdminCredential } from '../security/admin-credential';
import type { SecretBox } from '../security/secret-box';
import { callbackRouter } from './callbacks';
import { cashierRouter, cashierSummaryRouter } from './cashier';
import { createConsoleRouter } from './console';
import { clientIp, errorMiddleware } from './envelope';
import { merchantRouter } from './merchant';
import { metricsRoute, requestObservability } from './observability';
import { openApiRouter } from './openapi';
import { createPagesRouter } from './pages';
import { createProcessRateLimiter, rateLimit } from './rate-limit';
import { registrationRouter } from './registration';
import { requestIdMiddleware } from './request-id';
import { setApiHeaders } from './security-headers';
import { signedRoutes } from './signed';
import { assertStorableText } from './strict-json';

export interface HttpDeps {
  config: Config;
  db: Db;
  secretBox: SecretBox;
  providers: ProviderRegistry;
  useCases: UseCases;
  adminCredential: AdminCredential;
  /** The Temporal namespace, for the console's links into the Web UI. */
  temporalNamespace: string;
  log: Logger;
  /** Request metrics, and GET /metrics unless the composition root serves it on a port of its own. */
  metrics?: Metrics;
  /** Whether tracing is on (a server span per request); off: no span work at all. */
  tracing?: boolean;
}

export function createHttpApp(deps: HttpDeps): Express {
  const { config, useCases } = deps;
  const app = express();
  app.disable('x-powered-by');
  // No automatic ETag (a hash of every JSON and HTML body): every response below is `Cache-Control: no-store`
  // (setApiHeaders), so no client keeps a copy to revalidate, and signed answers and the cashier summary change with
  // every response anyway (nonce, timestamp, server clock). Static assets set their own (http/static-assets.ts).
  app.set('etag', false);
  app.set('trust proxy', 'loopback');
  app.use(requestIdMiddleware());
  if (deps.metrics || deps.tracing) app.use(requestObservability({ metrics: deps.metrics, tracing: deps.tracing ?? false }));
  app.use((req, res, next) => {
    setApiHeaders(res);
    // Query strings reach searches and page lookups: text PostgreSQL cannot store is a 4000 here, not a 5000 there.
    assertStorableText(req.query);
    next();
  });
  // Before every router and outside merchant auth: Prometheus scrapes it (METRICS_TOKEN, if set, guards it).
  if (deps.metrics && !config.observability.apiMetrics) app.get('/metrics', metricsRoute(deps.metrics, config.observability.metricsToken));

  app.get('/healthz', async (_req, res) => {
    await pingDatabase(deps.db);
    res.json({ status: 'ok' });
  });

  const limitLog = deps.log.child({ component: 'rate-limit' });
  // Counted in PostgreSQL so the limits hold across API processes (db/queries/rate-limits.ts).
  const limiter = (name: string, points: number, durationSeconds = 60) => createRateLimiter(deps.db, { name, points, durationSeconds });
  // Signature v1 verification (apps and nonces in PostgreSQL), shared by the merchant and registration APIs; it
  // applies the per-app limit once the signature holds.
  const signed = signedRoutes({ db: deps.db, secretBox: deps.secretBox, maxBodyBytes: config.maxBodyBytes, appLimiter: limiter('app', config.rateLimit.perAppPerMinute), log: limitLog });
  // Per client IP before anything is looked up: varying X-Cashier-App-Id buys an attacker nothing.
  const perIp = rateLimit({ limiter: limiter('ip', config.rateLimit.perIpPerMinute), key: (req) => clientIp(req), log: limitLog });
  // The cashier page's poll, the most frequent request of all, is matched first; it is counted per client IP in
  // this process, not in PostgreSQL (http/cashier.ts).
  const pollLimiter = createProcessRateLimiter({ points: config.rateLimit.perIpPerMinute, durationSeconds: 60 });
  app.use(MERCHANT_API_BASE, cashierSummaryRouter({ orders: useCases.orders, pollLimiter, log: limitLog }));
  // Provider callbacks come before the limiter: a provider's burst of notifications must never be refused.
  app.use(MERCHANT_API_BASE, callbackRouter({ callbacks: useCases.callbacks }));
  // The API description is a static document built once: no rate limit or lookup on its path.
  app.use(openApiRouter({ allowPrivateNotifyUrls: config.allowPrivateNotifyUrls, channelTypes: deps.providers.channelTypes(), publicBaseUrl: config.publicBaseUrl }));
  app.use(MERCHANT_API_BASE, perIp);
  app.use(MERCHANT_API_BASE, merchantRouter({ orders: useCases.orders, refunds: useCases.refunds, transfers: useCases.transfers, statements: useCases.statements, channelTypes: deps.providers.channelTypes(), signed, allowPrivateNotifyUrls: config.allowPrivateNotifyUrls }));
  app.use(MERCHANT_API_BASE, cashierRouter({ orders: useCases.orders, providers: deps.providers }));
  app.use(createPagesRouter({ orders: useCases.orders, config, log: deps.log.child({ component: 'web' }) }));
  app.use(
    registrationRouter({
      registration: useCases.registration,
      signed,
      config,
      limiters: { register: limiter('register', config.admin.registerPerHour, 3600), apply: limiter('apply', 120) },
      log: limitLog,
    }),
  );
  app.use(createConsoleRouter({ db: deps.db, operator: useCases.operator, providers: deps.providers, config, credential: deps.adminCredential, namespace: deps.temporalNamespace, log: deps.log.child({ component: 'admin' }), limiter: limiter('admin', 600) }));
  app.use(MERCHANT_API_BASE, (_req, _res, next) => next(new DomainError(ErrorCode.NOT_FOUND, '接口不存在')));
  app.use(errorMiddleware(deps.log.child({ component: 'api' })));
  return app;
}
