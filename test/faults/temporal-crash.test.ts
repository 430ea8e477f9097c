/**
 * The Temporal server is SIGKILLed mid-flow and started again on the same database file and port: orders opened,
 * paid and notified before, during and after the outage all settle, exactly once.
 */
import { reconcile } from './reconcile';
import { channelOf, chooseChannel, createOrder, openOrder, orderRow, pay, waitFor, type OpenOrder } from './support/orders';
import { startFaultSystem, type FaultSystem } from './support/system';

let sys: FaultSystem;

beforeAll(async () => {
  sys = await startFaultSystem({ pollIntervalSeconds: 3 });
}, 240_000);

afterAll(async () => {
  await sys?.stop();
});

afterEach(() => {
  if (process.env.FAULTS_VERBOSE) process.stderr.write(sys.logs.slice(-40).join('\n') + '\n');
});

test('Temporal SIGKILLed with payments in flight, restarted on the same database file: nothing lost, nothing twice', async () => {
  // Before: two paying orders whose buyers pay just before the kill, two that pay during the outage.
  const before: OpenOrder[] = [];
  for (const ch of ['ali-pay', 'wx-pay', 'ali-pay', 'wx-pay'] as const) before.push(await openOrder(sys, ch));
  await pay(sys, before[0]);
  await pay(sys, before[1]);
  await sys.killTemporal();

  // During: callbacks cannot be signalled (the API answers the provider "retry"); new orders get a clean error.
  await pay(sys, before[2]);
  await pay(sys, before[3]);
  const during = `TDOWN${Date.now()}`;
  const attempt = await createOrder(sys, { outTradeNo: during }).then(
    () => 'created',
    (err: Error & { code?: number; httpStatus?: number }) => ({ code: err.code, httpStatus: err.httpStatus, error: `${err.name}: ${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` }),
  );
  // A clean, documented error envelope (not a hang, not a dropped connection); the row may exist without a workflow.
  expect(attempt).toMatchObject({ code: expect.any(Number), httpStatus: expect.any(Number) });
  expect((attempt as { httpStatus: number }).httpStatus).toBeGreaterThanOrEqual(500);
  expect(sys.api!.child.exitCode).toBeNull(); // the API is still up
  await new Promise((r) => setTimeout(r, 3000));

  await sys.startTemporal();
  // The merchant retries the order it got an error for: the same order, one workflow.
  const retried = await waitFor('order retry after the restart', () => createOrder(sys, { outTradeNo: during }), 60_000, 1000);
  const ali = channelOf(sys, 'ali-pay');
  const chosen = await waitFor('channel chosen after the restart', async () => (await chooseChannel(sys, retried.token, ali)).code === 1000, 60_000, 1000);
  expect(chosen).toBe(true);
  const after = await openOrder(sys, 'wx-pay');
  await pay(sys, after);

  for (const o of [...before, after]) {
    await waitFor(`order ${o.outTradeNo} paid`, async () => (await orderRow(sys, o.orderId))?.status === 'SUCCESS', 120_000, 500);
  }
  const report = await reconcile({ ...sys, deliveries: sys.merchant.deliveries }, { timeoutMs: 120_000 });
  expect(report).toMatchObject({ orders: 6, paid: 5, open: 1 });
});
