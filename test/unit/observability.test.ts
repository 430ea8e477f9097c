/**
 * The pieces of metrics and tracing that need no servers: configuration, the metrics token, route labels of the
 * request middleware (bounded, mount path kept when a handler fails), the provider edge's outcomes, and the
 * standalone /metrics listener.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../config';
import { metricsRoute, requestObservability } from '../../http/observability';
import { createMetrics, type Metrics } from '../../observability/metrics';
import { metricsAuthorized, startMetricsServer, workerExposition } from '../../observability/metrics-server';
import { setupTracing, withClientSpan } from '../../observability/tracing';
import { instrumentProvider } from '../../providers/registry';
import { ProviderError, type BillEntry, type PaymentProvider } from '../../providers/types';

async function value(m: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)).reduce((a, v) => a + Number(v.value), 0);
}

test('configuration: metrics ports (empty and 0 are off), the SDK port beside the worker port, token and OTLP endpoint', () => {
  expect(loadConfig({}).observability).toEqual({ metricsToken: undefined, apiMetrics: undefined, workerMetrics: undefined, otlpEndpoint: undefined, serviceName: undefined });
  expect(loadConfig({ WORKER_METRICS_PORT: '', METRICS_PORT: '0', METRICS_TOKEN: '', OTEL_EXPORTER_OTLP_ENDPOINT: '' }).observability).toMatchObject({ apiMetrics: undefined, workerMetrics: undefined, metricsToken: undefined, otlpEndpoint: undefined });
  expect(loadConfig({ WORKER_METRICS_PORT: '9464' }).observability.workerMetrics).toEqual({ host: '127.0.0.1', port: 9464, sdkPort: 9465 });
  expect(loadConfig({ WORKER_METRICS_PORT: '9464', WORKER_SDK_METRICS_PORT: '9999', METRICS_HOST: '0.0.0.0' }).observability.workerMetrics).toEqual({ host: '0.0.0.0', port: 9464, sdkPort: 9999 });
  expect(loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9100' }).observability.apiMetrics).toEqual({ host: '0.0.0.0', port: 9100 });
  expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'desk' }).observability).toMatchObject({ otlpEndpoint: 'http://collector:4318', serviceName: 'desk' });
  expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  expect(() => loadConfig({ WORKER_METRICS_PORT: '70000' })).toThrow(/WORKER_METRICS_PORT/);
});

test('metrics token: only the exact bearer token passes when one is set', () => {
  const token = 'a-metrics-token-of-some-length';
  expect(metricsAuthorized(undefined, undefined)).toBe(true);
  expect(metricsAuthorized(`Bearer ${token}`, token)).toBe(true);
  expect(metricsAuthorized(`bearer ${token}`, token)).toBe(true);
  expect(metricsAuthorized(undefined, token)).toBe(false);
  expect(metricsAuthorized(token, token)).toBe(false);
  expect(metricsAuthorized(`Bearer ${token}x`, token)).toBe(false);
  expect(metricsAuthorized(`Basic ${token}`, token)).toBe(false);
});

test('request metrics label the Express route pattern, keep the mount path when a handler fails, and pool unmatched URLs', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const app = express();
  app.use(requestObservability({ metrics, tracing: false }));
  app.get('/metrics', metricsRoute(metrics, undefined));
  const router = express.Router();
  router.get('/items/:id', (req, res) => void res.json({ id: req.params.id }));
  router.get('/boom/:id', () => {
    throw new Error('boom');
  });
  app.use('/api/x', router);
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).json({ error: err.message }));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const id of ['1', '2', '3']) expect((await fetch(`${base}/api/x/items/${id}`)).status).toBe(200);
    expect((await fetch(`${base}/api/x/boom/7`)).status).toBe(500);
    for (const junk of ['a', 'b', 'c']) expect((await fetch(`${base}/nothing/${junk}`)).status).toBe(404);
    const scrape = await (await fetch(`${base}/metrics`)).text();
    expect(scrape).toContain('cashier_http_requests_total{method="GET",route="/api/x/items/:id",status_code="200"} 3');
    expect(scrape).toContain('cashier_http_requests_total{method="GET",route="/api/x/boom/:id",status_code="500"} 1');
    expect(scrape).toContain('cashier_http_requests_total{method="GET",route="unmatched",status_code="404"} 3');
    expect(scrape).not.toMatch(/route="\/nothing|route="\/api\/x\/items\/1"/);
    expect(await value(metrics, 'cashier_http_request_duration_seconds', { route: '/api/x/items/:id' })).toBeGreaterThan(0);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('the provider edge counts every call by provider, operation and outcome; a bill counts when its stream ends', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  let queries = 0;
  const fake = {
    channelType: 'ali-pay',
    scenes: ['native'],
    prepay: async () => ({ kind: 'qr', codeUrl: 'x' }),
    query: async () => {
      queries++;
      throw new ProviderError('UNAVAILABLE', 'down');
    },
    close: async () => {
      throw new Error('plain');
    },
    verifyReturn: () => null,
    callbackAck: () => ({ status: 200, contentType: 'text/plain', body: 'success' }),
    downloadBill: async function* (): AsyncIterable<BillEntry> {
      yield { kind: 'TOTALS', paymentCount: 0, paymentAmountFen: 0, refundCount: 0, refundAmountFen: 0 };
    },
  } as unknown as PaymentProvider;
  const p = instrumentProvider(fake, metrics);
  expect(p.channelType).toBe('ali-pay');
  expect(p.callbackAck(true)).toMatchObject({ status: 200 });
  await p.prepay({} as never, {} as never);
  await expect(p.query({} as never, 'T1')).rejects.toMatchObject({ kind: 'UNAVAILABLE' });
  await expect(p.query({} as never, 'T1')).rejects.toBeInstanceOf(ProviderError);
  await expect(p.close({} as never, 'T1')).rejects.toThrow('plain');
  expect(p.verifyReturn!({} as never, {})).toBeNull();
  const bill = p.downloadBill!({} as never, '2026-01-01');
  expect(await value(metrics, 'cashier_provider_calls_total', { operation: 'downloadBill' })).toBe(0);
  const entries: BillEntry[] = [];
  for await (const e of bill) entries.push(e);
  expect(entries).toHaveLength(1);
  expect(queries).toBe(2);
  const calls = (operation: string, outcome: string) => value(metrics, 'cashier_provider_calls_total', { provider: 'ali-pay', operation, outcome });
  expect(await calls('prepay', 'ok')).toBe(1);
  expect(await calls('query', 'unavailable')).toBe(2);
  expect(await calls('close', 'error')).toBe(1);
  expect(await calls('verifyReturn', 'bad_callback')).toBe(1);
  expect(await calls('downloadBill', 'ok')).toBe(1);
});

test("the worker's /metrics listener: its registry, then the SDK's exporter or cashier_temporal_sdk_metrics_up 0", async () => {
  const metrics = createMetrics({ service: 'worker', defaultMetrics: false });
  metrics.orderResults.inc({ status: 'SUCCESS' });
  const sdk = http.createServer((_req, res) => void res.end('# TYPE temporal_request counter\ntemporal_request{service_name="temporal-core-sdk"} 7\n'));
  await new Promise<void>((r) => sdk.listen(0, '127.0.0.1', r));
  const sdkPort = (sdk.address() as AddressInfo).port;
  const up = await startMetricsServer({ host: '127.0.0.1', port: 0, token: 'worker-token-0123456789', render: workerExposition(metrics, sdkPort) });
  try {
    const url = `http://127.0.0.1:${up.port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${up.port}/other`)).status).toBe(404);
    const text = await (await fetch(url, { headers: { authorization: 'Bearer worker-token-0123456789' } })).text();
    expect(text).toContain('cashier_order_results_total{status="SUCCESS",service="worker"} 1');
    expect(text).toContain('cashier_temporal_sdk_metrics_up 1');
    expect(text.indexOf('cashier_temporal_sdk_metrics_up')).toBeLessThan(text.indexOf('temporal_request{'));
    sdk.closeAllConnections();
    await new Promise<void>((r) => sdk.close(() => r()));
    const down = await (await fetch(url, { headers: { authorization: 'Bearer worker-token-0123456789' } })).text();
    expect(down).toContain('cashier_temporal_sdk_metrics_up 0');
    expect(down).not.toContain('temporal_request{');
  } finally {
    await up.close();
    if (sdk.listening) sdk.close();
  }
});

test('client spans: recorded while tracing is set up, skipped (fn still runs) when it is off', async () => {
  const exporter = new InMemorySpanExporter();
  expect(await withClientSpan('off before', {}, async (span) => span.isRecording())).toBe(false);
  const tracing = setupTracing({ serviceName: 'unit', exporter })!;
  expect(setupTracing({ serviceName: 'unit' })).toBeUndefined();
  expect(await withClientSpan('on', { 'cashier.x': 1 }, async (span) => span.isRecording())).toBe(true);
  await expect(withClientSpan('failing', {}, async () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
  expect(exporter.getFinishedSpans().map((s) => [s.name, s.kind, s.status.code])).toEqual([
    ['on', SpanKind.CLIENT, SpanStatusCode.UNSET],
    ['failing', SpanKind.CLIENT, SpanStatusCode.ERROR],
  ]);
  await tracing.shutdown();
  expect(await withClientSpan('off after', {}, async () => 42)).toBe(42);
  expect(exporter.getFinishedSpans()).toHaveLength(0); // shutdown reset the exporter; nothing new arrived
});
