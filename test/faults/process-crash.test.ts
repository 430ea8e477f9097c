/**
 * The API and the worker are SIGKILLed at the worst moments: the API with merchant requests and a channel choice in
 * flight; the worker between a prepay and its callback (callback delivered, and callback lost), and between two
 * notification attempts. Each ends with the reconciliation check.
 */
import { providerOutTradeNo } from '../../domain/order';
import { reconcile } from './reconcile';
import { channelOf, chooseChannel, createOrder, openOrder, orderRow, pay, uniqueNo, waitFor } from './support/orders';
import { startFaultSystem, type FaultSystem } from './support/system';

let sys: FaultSystem;
const target = () => ({ ...sys, deliveries: sys.merchant.deliveries });

beforeAll(async () => {
  sys = await startFaultSystem({ pollIntervalSeconds: 3 });
}, 240_000);

afterAll(async () => {
  await sys?.stop();
});

afterEach(() => {
  if (process.env.FAULTS_VERBOSE) process.stderr.write(sys.logs.slice(-40).join('\n') + '\n');
});

test('API SIGKILLed with orders and a channel choice in flight: retries find the same orders, one workflow each', async () => {
  const paying = await createOrder(sys);
  const ali = channelOf(sys, 'ali-pay');
  const nos = Array.from({ length: 12 }, () => uniqueNo('KA'));
  // Twelve merchant requests and a consumer's channel choice race the kill.
  const inflight = nos.map((no) => createOrder(sys, { outTradeNo: no }).then(() => 'ok', (e: Error) => e.message));
  const choice = chooseChannel(sys, paying.token, ali).then((a) => String(a.code), (e: Error) => e.message);
  await new Promise((r) => setTimeout(r, 40));
  await sys.killApi();
  const outcomes = await Promise.all([...inflight, choice]);
  expect(outcomes.length).toBe(13);

  await sys.startApi();
  // The merchant retries every request (same outTradeNo, same body): whatever the kill left, each is one order.
  const orders = await Promise.all(nos.map((no) => waitFor(`retry ${no}`, () => createOrder(sys, { outTradeNo: no }), 90_000, 500)));
  expect(new Set(orders.map((o) => o.orderId)).size).toBe(nos.length);
  // The consumer presses the button again: the choice goes through once.
  expect((await chooseChannel(sys, paying.token, ali)).code).toBe(1000);
  await pay(sys, { channel: ali, tradeNo: providerOutTradeNo(paying.orderId, ali.channelId) });
  await waitFor('paid after the API restart', async () => (await orderRow(sys, paying.orderId))?.status === 'SUCCESS', 90_000);
  // Rows whose workflow start died with the API are started by the merchant's retry (or the worker's reconciler).
  const report = await reconcile(target(), { timeoutMs: 150_000 });
  expect(report.orders).toBe(nos.length + 1);
});

test('worker SIGKILLed between the prepay and the callback: the callback waits in Temporal, a lost one is found by polling', async () => {
  const delivered = await openOrder(sys, 'ali-pay');
  const lost = await openOrder(sys, 'wx-pay');
  await sys.killWorker();
  // With the worker down the API still signals the workflow and acknowledges the provider.
  await pay(sys, delivered);
  await waitFor('Alipay callback acknowledged', async () => sys.alipay.notifications({ outTradeNo: delivered.tradeNo }).some((d) => d.accepted), 30_000);
  await pay(sys, lost, 'lost');
  expect((await orderRow(sys, delivered.orderId)).status).toBe('PAYING');
  await sys.startWorker();
  for (const o of [delivered, lost]) await waitFor(`order ${o.outTradeNo} paid`, async () => (await orderRow(sys, o.orderId))?.status === 'SUCCESS', 120_000);
  // The lost callback was never delivered: the workflow learnt the payment from its own provider query.
  expect((await sys.wechat.notifications({ outTradeNo: lost.tradeNo })).every((n) => n.mode === 'lost')).toBe(true);
  await reconcile(target(), { timeoutMs: 120_000 });
});

test('worker SIGKILLed between notification attempts: attempt 2 comes at its offset, acknowledged once', async () => {
  const order = await openOrder(sys, 'wx-pay');
  sys.merchant.refuse = (n) => n.attempt === 1 && 'outTradeNo' in n && n.outTradeNo === order.outTradeNo;
  await pay(sys, order);
  const attempts = () => sys.db('notification_attempts').where({ order_id: order.orderId, refund_id: null }).orderBy('attempt');
  await waitFor('attempt 1 recorded', async () => (await attempts()).length === 1, 90_000);
  await sys.killWorker();
  await new Promise((r) => setTimeout(r, 3000));
  await sys.startWorker();
  const rows = await waitFor('attempt 2 acknowledged', async () => {
    const r = await attempts();
    return r.length >= 2 && r[1].acknowledged ? r : null;
  }, 90_000);
  expect(rows.map((r) => r.acknowledged)).toEqual([false, true]);
  expect(rows[1].scheduled_at.getTime() - rows[0].scheduled_at.getTime()).toBe(15_000);
  const mine = sys.merchant.deliveries.filter((d) => d.outTradeNo === order.outTradeNo);
  expect(mine.map((d) => [d.attempt, d.acknowledged])).toEqual([[1, false], [2, true]]);
  sys.merchant.refuse = () => false;
  await reconcile(target(), { timeoutMs: 120_000 });
});
