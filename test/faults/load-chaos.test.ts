/**
 * 1,000 orders at concurrency 32 while both sandboxes answer a share of API calls with 5xx and drop a share of
 * their payment callbacks (the sandboxes' chaos control). Prepays and queries retry; orders whose callback was
 * lost are settled by the workflow's provider polling; the reconciliation check holds for all of them.
 */
import { reconcile } from './reconcile';
import { failureKind, mapConcurrent } from './support/load';
import { chooseChannel, createOrder, channelOf, pay, uniqueNo, type OpenOrder } from './support/orders';
import { startFaultSystem, type FaultSystem } from './support/system';
import { providerOutTradeNo } from '../../domain/order';

const ORDERS = Number(process.env.FAULTS_LOAD_ORDERS ?? 1000);
const CONCURRENCY = 32;
let sys: FaultSystem;

beforeAll(async () => {
  sys = await startFaultSystem({ pollIntervalSeconds: 5 });
}, 240_000);

afterAll(async () => {
  await sys?.stop();
});

async function retrying<T>(what: string, fn: () => Promise<T>, retryable: (err: Error) => boolean, tries = 10): Promise<{ value: T; retries: number }> {
  for (let i = 0; ; i++) {
    try {
      return { value: await fn(), retries: i };
    } catch (err) {
      if (i + 1 >= tries || !retryable(err as Error)) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250 * (i + 1)));
    }
  }
}

test(`${ORDERS} orders at concurrency ${CONCURRENCY} with random provider 5xx and lost callbacks`, async () => {
  const chaos = { http5xxRate: 0.1, callbackDropRate: 0.2 };
  sys.alipay.setChaos(chaos);
  await sys.wechat.setChaos(chaos);
  const t0 = Date.now();
  let retries = 0;

  const results = await mapConcurrent(ORDERS, CONCURRENCY, async (i): Promise<OpenOrder> => {
    const channel = channelOf(sys, i % 2 ? 'wx-pay' : 'ali-pay');
    const outTradeNo = uniqueNo('L');
    // A merchant retries a request that got no answer (the SDK's 10 s timeout under load): same outTradeNo, same order.
    const created = await retrying('order', () => createOrder(sys, { outTradeNo, amount: 1 + (i % 5000) }), (e) => failureKind(e) === 'network');
    // The consumer presses the button again when the provider was unavailable (5030).
    const chosen = await retrying(
      'choose',
      async () => {
        const a = await chooseChannel(sys, created.value.token, channel);
        if (a.code !== 1000) throw Object.assign(new Error(`${a.code} ${a.msg}`), { code: a.code });
        return a;
      },
      (e) => (e as Error & { code?: number }).code === 5030,
    );
    retries += created.retries + chosen.retries;
    const o: OpenOrder = { ...created.value, outTradeNo, channel, tradeNo: providerOutTradeNo(created.value.orderId, channel.channelId) };
    await pay(sys, o);
    return o;
  });
  const failed = results.filter((r) => !r.ok);
  expect(failed.map((r) => (r.ok ? '' : r.error.message)).slice(0, 5)).toEqual([]);
  const opened = results.flatMap((r) => (r.ok ? [r.value] : []));
  const loadMs = Date.now() - t0;

  // Every paid order settles (callback, or provider polling when the callback was dropped), chaos still on.
  const deadline = Date.now() + 10 * 60_000;
  let paid = 0;
  while (Date.now() < deadline) {
    paid = Number((await sys.db('orders').where({ app_id: sys.app.appId }).whereIn('status', ['SUCCESS']).count<{ count: string }[]>('* as count'))[0].count);
    if (paid >= ORDERS) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  expect(paid).toBe(ORDERS);
  const settleMs = Date.now() - t0;
  const faults = { alipay: sys.alipay.setChaos({}).counts, wechat: (await sys.wechat.setChaos({})).counts };
  sys.alipay.setChaos({ http5xxRate: 0, callbackDropRate: 0 });
  await sys.wechat.setChaos({ http5xxRate: 0, callbackDropRate: 0 });
  // The faults really happened, on both wallets.
  for (const f of [faults.alipay, faults.wechat]) {
    expect(f.http5xx).toBeGreaterThan(0);
    expect(f.callbacksDropped).toBeGreaterThan(0);
  }
  // Orders whose only callback was dropped were found by polling.
  const droppedAli = opened.filter((o) => o.channel.channelType === 'ali-pay' && sys.alipay.notifications({ outTradeNo: o.tradeNo }).every((d) => d.kind === 'lost'));
  expect(droppedAli.length).toBeGreaterThan(0);

  const report = await reconcile({ ...sys, deliveries: sys.merchant.deliveries }, { timeoutMs: 300_000 });
  expect(report).toMatchObject({ orders: ORDERS, paid: ORDERS, open: 0 });
  process.stderr.write(
    `[faults] ${ORDERS} orders: opened and paid in ${Math.round(loadMs / 1000)} s, all SUCCESS after ${Math.round(settleMs / 1000)} s; ` +
      `client retries ${retries}; 5xx alipay ${faults.alipay.http5xx} wechat ${faults.wechat.http5xx}; dropped callbacks alipay ${faults.alipay.callbacksDropped} wechat ${faults.wechat.callbacksDropped}\n`,
  );
}, 20 * 60_000);
