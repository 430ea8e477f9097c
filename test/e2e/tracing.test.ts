/**
 * OpenTelemetry end to end, exported to memory: the traced HTTP app, Temporal client and worker (interceptors,
 * workflow span sink, workflow interceptors in the bundle) carry one trace from the API request through the
 * workflow and its activities to the provider and merchant calls, with parent links all the way.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../domain/order';
import { setupTracing, type Tracing } from '../../observability/tracing';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';
import { PAYMENT_WORKFLOW_TYPE } from '../../temporal/workflow-types';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;

beforeAll(async () => {
  tracing = setupTracing({ serviceName: 'cashier-desk-test', exporter })!;
  sys = await startTestSystem({ tracing });
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
  await tracing?.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const byName = (list: ReadableSpan[], name: string) => list.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanId;

/** The one span named `name` in `trace` whose parent is `parent`. */
function childOf(trace: ReadableSpan[], parent: ReadableSpan, name: string): ReadableSpan {
  const found = byName(trace, name).filter((s) => parentOf(s) === parent.spanContext().spanId);
  if (found.length !== 1) throw new Error(`expected one ${name} under ${parent.name}; the trace has: ${trace.map((s) => s.name).join(', ')}`);
  return found[0];
}

test('an order: POST /unified/orders → StartWorkflow → RunWorkflow → activities → merchant notify POST, one trace', async () => {
  const outTradeNo = `T${randomBytes(5).toString('hex')}`;
  const order = await merchant.sdk.unifiedOrder({ amount: 1999, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  const prepay = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(prepay.status).toBe(200);
  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), app.channels[0].channelId));
  await waitFor('merchant notification', async () => merchant.notifications.find((n) => n.outTradeNo === outTradeNo));
  await sys.client.workflow.getHandle(`payment:${app.appId}:${outTradeNo}`).result();

  // The order's own trace starts at the API request that created it.
  const created = await waitFor('the unified order request span', async () => byName(spans(), 'POST /api/cashier-desk/unified/orders').find((s) => s.attributes['http.response.status_code'] === 200));
  const traceId = created.spanContext().traceId;
  // Workflow spans leave through the sink after the workflow's last activation.
  const trace = await waitFor('the workflow run span', async () => {
    const t = spans().filter((s) => s.spanContext().traceId === traceId);
    return byName(t, `RunWorkflow:${PAYMENT_WORKFLOW_TYPE}`).length ? t : null;
  });
  expect(parentOf(created)).toBeUndefined();
  const start = childOf(trace, created, `StartWorkflow:${PAYMENT_WORKFLOW_TYPE}`);
  const run = childOf(trace, start, `RunWorkflow:${PAYMENT_WORKFLOW_TYPE}`);
  const scheduleNotify = childOf(trace, run, 'StartActivity:notifyMerchant');
  const notify = childOf(trace, scheduleNotify, 'RunActivity:notifyMerchant');
  const post = childOf(trace, notify, 'notify POST');
  expect(post.attributes).toMatchObject({ 'http.response.status_code': 200, 'cashier.notify.acknowledged': true });
  // Every span of the trace hangs off another span of it (no orphan), and the services are ours.
  const ids = new Set(trace.map((s) => s.spanContext().spanId));
  for (const s of trace) if (s !== created) expect(ids.has(parentOf(s)!)).toBe(true);

  // The consumer's channel choice is its own trace: API → update → prepay activity → the provider's prepay call.
  const choose = byName(spans(), 'POST /api/cashier-desk/:channelType/:sceneCode').at(-1)!;
  const chooseTrace = spans().filter((s) => s.spanContext().traceId === choose.spanContext().traceId);
  const update = childOf(chooseTrace, choose, 'StartWorkflowUpdate:chooseChannel');
  const handle = childOf(chooseTrace, update, 'HandleUpdate:chooseChannel');
  const runPrepay = childOf(chooseTrace, childOf(chooseTrace, handle, 'StartActivity:prepay'), 'RunActivity:prepay');
  const providerCall = childOf(chooseTrace, runPrepay, 'ali-pay prepay');
  expect(providerCall.attributes).toMatchObject({ 'cashier.provider': 'ali-pay', 'cashier.provider.operation': 'prepay' });
});
