/**
 * Request metrics, request spans and the `/metrics` route of the HTTP app. Routes are labelled with the Express
 * route pattern that handled the request (`/api/cashier-desk/out-trade-no/query-pay-result/:outTradeNo`), never
 * the raw URL, so the number of series stays bounded whatever clients send; unmatched requests share one label.
 */
import { SpanKind, SpanStatusCode, context, propagation, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Request, RequestHandler } from 'express';
import { exposition, type Metrics } from '../observability/metrics';
import { metricsAuthorized } from '../observability/metrics-server';

const UNMATCHED = 'unmatched';

/**
 * Remembers the full pattern (mount path + route path) of the last route that dispatched the request. Express
 * restores `req.baseUrl` when an error leaves a mounted router, so reading both at `finish` would lose the mount.
 */
function trackRoute(req: Request): () => string {
  let matched: string | undefined;
  let current: unknown = undefined;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set(v: { path?: unknown } | undefined) {
      current = v;
      if (v && v.path !== undefined) matched = `${req.baseUrl}${String(v.path)}`;
    },
  });
  return () => matched ?? UNMATCHED;
}

/** Counts and times every request by method, route pattern and status code, and names its span after the route. */
export function requestObservability(opts: { metrics?: Metrics; tracing: boolean }): RequestHandler {
  const { metrics, tracing } = opts;
  const tracer = trace.getTracer('cashier-desk-api');
  return (req, res, next) => {
    const routeOf = trackRoute(req);
    const started = process.hrtime.bigint();
    // Spans only when tracing is configured: otherwise not even a no-op span per request.
    const span = tracing
      ? tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } }, propagation.extract(ROOT_CONTEXT, req.headers))
      : undefined;
    res.on('finish', () => {
      const route = routeOf();
      const status = String(res.statusCode);
      if (metrics) {
        const labels = { method: req.method, route, status_code: status };
        metrics.httpRequests.inc(labels);
        metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      }
      if (span) {
        span.updateName(`${req.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    });
    if (!span) return next();
    const ctx = trace.setSpan(context.active(), span);
    // The body arrives through the request's events, which would otherwise run outside this request's context.
    context.bind(ctx, req);
    context.bind(ctx, res);
    context.with(ctx, next);
  };
}

/** GET /metrics: the process's exposition, behind the bearer token when METRICS_TOKEN is set. */
export function metricsRoute(metrics: Metrics, token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!metricsAuthorized(req.headers.authorization, token)) {
      res.status(401).set('www-authenticate', 'Bearer').type('text/plain').send('unauthorized\n');
      return;
    }
    exposition(metrics).then((e) => res.status(200).set('content-type', e.contentType).send(e.body), next);
  };
}
