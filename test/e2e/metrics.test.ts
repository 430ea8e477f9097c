/**
 * Prometheus metrics end to end: an order is created through the signed API, paid at the Alipay sandbox and
 * acknowledged by the merchant; then the API's /metrics and the worker's /metrics (its own registry plus the
 * Temporal SDK's exporter, installed through Runtime.install as worker/main.ts does) are scraped and parsed,
 * and the counters that this order moved have moved. Both endpoints sit behind METRICS_TOKEN here.
 */
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { providerOutTradeNo } from '../../domain/order';
import { sdkMetricsTelemetry } from '../../worker/create-worker';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

const TOKEN = 'metrics-test-token-0123456789';
let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

beforeAll(async () => {
  // As worker/main.ts: the SDK's own Prometheus exporter on a loopback port, read by the worker's /metrics.
  const sdkMetricsPort = await freePort();
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: sdkMetricsTelemetry(sdkMetricsPort) });
  sys = await startTestSystem({ metrics: { env: { METRICS_TOKEN: TOKEN }, sdkMetricsPort } });
  const ali = await sys.alipay.createMerchant();
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: ali }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

test('both /metrics endpoints refuse a scrape without the token', async () => {
  for (const url of [`${sys.apiUrl}/metrics`, sys.metrics!.workerUrl]) {
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  }
});

test('created, paid and notified: the API and worker counters move, the SDK metrics are appended', async () => {
  const apiBefore = (await scrape(`${sys.apiUrl}/metrics`)).samples;
  const workerBefore = (await scrape(sys.metrics!.workerUrl)).samples;

  const outTradeNo = `M${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  // The same request again is not a new order.
  await merchant.sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  const prepay = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(prepay.status).toBe(200);
  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), app.channels[0].channelId));
  await waitFor('merchant notification', async () => merchant.notifications.find((n) => n.outTradeNo === outTradeNo));
  await waitFor('acknowledgement recorded', async () => (await sys.t.db('orders').where({ out_trade_no: outTradeNo }).first())?.notify_status === 'ACKED');
  await sys.client.workflow.getHandle(`payment:${app.appId}:${outTradeNo}`).result();

  const api = await scrape(`${sys.apiUrl}/metrics`);
  const moved = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

  // API: one order created (the repeat is not counted), requests by route pattern and status, the callback verified.
  expect(moved(apiBefore, api.samples, 'cashier_orders_created_total', { service: 'api' })).toBe(1);
  const unified = { method: 'POST', route: '/api/cashier-desk/unified/orders', status_code: '200' };
  expect(moved(apiBefore, api.samples, 'cashier_http_requests_total', unified)).toBe(2);
  expect(moved(apiBefore, api.samples, 'cashier_http_request_duration_seconds_count', unified)).toBe(2);
  expect(moved(apiBefore, api.samples, 'cashier_http_requests_total', { method: 'POST', route: '/api/cashier-desk/:channelType/:sceneCode', status_code: '200' })).toBe(1);
  expect(moved(apiBefore, api.samples, 'cashier_provider_calls_total', { provider: 'ali-pay', operation: 'verifyCallback', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
  // Bounded labels: no order number, token or raw path ever becomes a route.
  const routes = new Set(api.samples.filter((s) => s.name === 'cashier_http_requests_total').map((s) => s.labels.route));
  for (const r of routes) expect(r.includes(outTradeNo) || r.includes(order.token)).toBe(false);
  expect(api.text).toMatch(/^process_cpu_user_seconds_total\{service="api"\} /m);

  // Worker: provider calls at the edge, the paid result, the acknowledged attempt and its time to acknowledgement.
  const worker = await waitFor('worker counters', async () => {
    const w = await scrape(sys.metrics!.workerUrl);
    return total(w.samples, 'cashier_notification_attempts_total', { event_type: 'payment', outcome: 'acknowledged' }) > total(workerBefore, 'cashier_notification_attempts_total', { event_type: 'payment', outcome: 'acknowledged' }) ? w : null;
  });
  expect(moved(workerBefore, worker.samples, 'cashier_provider_calls_total', { service: 'worker', provider: 'ali-pay', operation: 'prepay', outcome: 'ok' })).toBe(1);
  expect(moved(workerBefore, worker.samples, 'cashier_provider_call_duration_seconds_count', { provider: 'ali-pay', operation: 'prepay', outcome: 'ok' })).toBe(1);
  expect(moved(workerBefore, worker.samples, 'cashier_order_results_total', { status: 'SUCCESS' })).toBe(1);
  expect(moved(workerBefore, worker.samples, 'cashier_notification_attempts_total', { event_type: 'payment', outcome: 'acknowledged' })).toBe(1);
  expect(moved(workerBefore, worker.samples, 'cashier_notification_time_to_ack_seconds_count', { event_type: 'payment' })).toBe(1);
  // Acknowledged at the first attempt: well inside the first (1 s) bucket's neighbourhood, never negative.
  expect(moved(workerBefore, worker.samples, 'cashier_notification_time_to_ack_seconds_bucket', { event_type: 'payment', le: '15' })).toBe(1);
  // The prepay ran in the worker, not the API: the API's registry has no prepay.
  expect(total(api.samples, 'cashier_provider_calls_total', { operation: 'prepay' })).toBe(0);

  // The Temporal SDK's own metrics, appended by the worker's endpoint.
  expect(total(worker.samples, 'cashier_temporal_sdk_metrics_up')).toBe(1);
  const sdkNames = new Set(worker.samples.filter((s) => s.name.startsWith('temporal_')).map((s) => s.name));
  expect(sdkNames.size).toBeGreaterThan(3);
  expect([...sdkNames].some((n) => n.startsWith('temporal_workflow_completed') || n.startsWith('temporal_request'))).toBe(true);
});
