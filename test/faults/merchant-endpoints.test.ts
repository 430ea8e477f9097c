/**
 * Merchant endpoints that misbehave on the first notification attempt: one that hangs, one that answers slowly
 * (within the timeout, and past it), one that answers 200 with a body that is no acknowledgement, one that
 * redirects, one that answers a huge body. The desk's transport (10 s in production, 3 s here; no redirects; a
 * 16 KiB cap) ends each attempt on its own terms and the schedule acknowledges attempt 2 at +15 s.
 */
import { reconcile } from './reconcile';
import type { Misbehaviour } from './support/merchant';
import { openOrder, orderRow, pay, waitFor } from './support/orders';
import { startFaultSystem, type FaultSystem } from './support/system';

let sys: FaultSystem;

beforeAll(async () => {
  sys = await startFaultSystem({ pollIntervalSeconds: 5, notifyTimeoutMs: 3000 });
}, 240_000);

afterAll(async () => {
  await sys?.stop();
});

const attemptsOf = (orderId: number) => sys.db('notification_attempts').where({ order_id: orderId, refund_id: null }).orderBy('attempt');

test('hanging, slow, wrong-body, redirecting and huge merchant endpoints: each attempt ends in time, then one acknowledgement', async () => {
  const kinds: Misbehaviour[] = ['hang', 'slow', 'too-slow', 'wrong-body', 'redirect', 'huge'];
  const orders = await Promise.all(
    kinds.map(async (kind, i) => {
      const o = await openOrder(sys, i % 2 ? 'wx-pay' : 'ali-pay', { notifyUrl: sys.merchant.misbehavingUrl(kind, `o${i}`) });
      await pay(sys, o);
      return { kind, ...o };
    }),
  );
  const settled = await Promise.all(
    orders.map((o) =>
      waitFor(`${o.kind}: acknowledged`, async () => {
        const r = await attemptsOf(o.orderId);
        return r.some((a) => a.acknowledged) ? r : null;
      }, 120_000, 500),
    ),
  );
  const byKind = Object.fromEntries(orders.map((o, i) => [o.kind, settled[i]]));

  // Slow but in time: acknowledged on attempt 1.
  expect(byKind.slow.map((a) => a.acknowledged)).toEqual([true]);
  for (const kind of ['hang', 'too-slow', 'wrong-body', 'redirect', 'huge'] as const) {
    const rows = byKind[kind];
    expect({ kind, acked: rows.map((a) => a.acknowledged) }).toEqual({ kind, acked: [false, true] });
    expect(rows[1].scheduled_at.getTime() - rows[0].scheduled_at.getTime()).toBe(15_000);
  }
  // The hanging and too-slow endpoints were given up on at the timeout, not waited for.
  for (const kind of ['hang', 'too-slow'] as const) {
    expect(byKind[kind][0].http_status).toBeNull();
    expect(byKind[kind][0].latency_ms).toBeGreaterThanOrEqual(2900);
    expect(byKind[kind][0].latency_ms).toBeLessThan(5000);
  }
  expect(byKind['wrong-body'][0].http_status).toBe(200);
  expect(byKind.redirect[0].http_status).toBe(302);
  // The huge answer was cut at the cap: judged (not an acknowledgement) long before 8 MiB could arrive.
  expect(byKind.huge[0].http_status).toBe(200);
  expect(byKind.huge[0].latency_ms).toBeLessThan(2000);
  // The redirect was not followed: the endpoint it pointed to never heard of these orders.
  expect(sys.merchant.requestsByPath.get('/pay/notify') ?? 0).toBe(0);

  for (const o of orders) {
    expect((await orderRow(sys, o.orderId)).notify_status).toBe('ACKED');
    // The merchant's verified view: exactly one acknowledged delivery per order.
    expect(sys.merchant.deliveries.filter((d) => d.outTradeNo === o.outTradeNo && d.acknowledged)).toHaveLength(1);
  }
  await reconcile({ ...sys, deliveries: sys.merchant.deliveries }, { timeoutMs: 60_000 });
  expect(sys.worker!.child.exitCode).toBeNull();
});
