/**
 * The same provider callback delivered 10 times at once, and once more after the order completed ("a day later":
 * the stored body replayed after the workflow ended), on both wallets: one result, one notification, no exception.
 */
import { reconcile } from './reconcile';
import { openOrder, orderRow, pay, waitFor, type OpenOrder } from './support/orders';
import { startFaultSystem, type FaultSystem } from './support/system';

let sys: FaultSystem;

beforeAll(async () => {
  // Polling rarely enough that the callbacks, not a provider query, tell the workflow about the payment.
  sys = await startFaultSystem({ pollIntervalSeconds: 300 });
}, 240_000);

afterAll(async () => {
  await sys?.stop();
});

interface StoredCallback {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The callback the sandbox would have sent (the buyer paid with the notification "lost"), as stored in its log. */
async function storedCallback(o: OpenOrder): Promise<StoredCallback> {
  if (o.channel.channelType === 'ali-pay') {
    const d = sys.alipay.notifications({ outTradeNo: o.tradeNo }).find((n) => n.kind === 'lost');
    if (!d) throw new Error('no stored Alipay notification');
    return { url: d.url, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: d.body };
  }
  const d = (await sys.wechat.notifications({ outTradeNo: o.tradeNo })).find((n) => n.mode === 'lost' && n.sent);
  if (!d?.sent) throw new Error('no stored WeChat notification');
  return { url: d.url, headers: { ...d.sent.headers, 'content-type': 'application/json' }, body: d.sent.body };
}

async function deliver(cb: StoredCallback): Promise<{ status: number; text: string }> {
  const res = await fetch(cb.url, { method: 'POST', headers: cb.headers, body: cb.body });
  return { status: res.status, text: await res.text() };
}

const accepted = (channelType: string, a: { status: number; text: string }) => (channelType === 'ali-pay' ? a.status === 200 && a.text === 'success' : a.status === 200 || a.status === 204);

test.each(['ali-pay', 'wx-pay'] as const)('%s: one callback delivered 10 times concurrently, then replayed after completion', async (channelType) => {
  const order = await openOrder(sys, channelType);
  await pay(sys, order, 'lost');
  const cb = await storedCallback(order);

  const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(cb)));
  expect(answers.filter((a) => accepted(channelType, a))).toHaveLength(10);

  await waitFor('paid and acknowledged', async () => (await orderRow(sys, order.orderId))?.notify_status === 'ACKED', 90_000);
  const handle = sys.client.workflow.getHandle((await orderRow(sys, order.orderId)).workflow_id);
  await handle.result(); // acknowledged: the workflow has ended
  const mine = () => sys.merchant.deliveries.filter((d) => d.outTradeNo === order.outTradeNo);
  expect(mine().map((d) => [d.attempt, d.acknowledged])).toEqual([[1, true]]);

  // "A day later": the stored body again, after the workflow ended. Acknowledged, and nothing changes.
  const before = await orderRow(sys, order.orderId);
  const late = await deliver(cb);
  expect(accepted(channelType, late)).toBe(true);
  await new Promise((r) => setTimeout(r, 3000));
  const after = await orderRow(sys, order.orderId);
  expect({ status: after.status, notify: after.notify_status, payTime: after.pay_time?.getTime() }).toEqual({
    status: 'SUCCESS',
    notify: 'ACKED',
    payTime: before.pay_time?.getTime(),
  });
  expect(mine()).toHaveLength(1);
  expect(await sys.db('payment_exceptions').where({ order_id: order.orderId })).toEqual([]);
  const evidence = await sys.db('provider_callbacks').where({ order_id: order.orderId }).select('result');
  expect(evidence.map((e) => e.result)).toEqual(Array(11).fill('ACCEPTED'));
  await reconcile({ ...sys, deliveries: sys.merchant.deliveries }, { timeoutMs: 60_000 });
});
