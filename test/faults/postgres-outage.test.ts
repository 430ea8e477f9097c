/**
 * PostgreSQL stopped for 30 s under load, then started again: the API answers clean error envelopes while it is
 * down (never a dropped connection, never a crash), the worker's activities retry, callbacks that could not be
 * taken are redelivered or found by polling, and every order the merchant retried settles exactly once.
 */
import { reconcile } from './reconcile';
import { failureKind } from './support/load';
import { chooseChannel, createOrder, orderRow, pay, uniqueNo, waitFor, channelOf } from './support/orders';
import { startFaultSystem, type FaultSystem } from './support/system';
import { providerOutTradeNo } from '../../domain/order';

let sys: FaultSystem;

beforeAll(async () => {
  sys = await startFaultSystem({ pollIntervalSeconds: 3 });
}, 240_000);

afterAll(async () => {
  await sys?.stop();
});

interface Flow {
  outTradeNo: string;
  channelType: 'ali-pay' | 'wx-pay';
  orderId?: number;
  token?: string;
  paid: boolean;
}

test('PostgreSQL down for 30 s during load: clean errors while down, everything settles after', async () => {
  const flows: Flow[] = [];
  const failures: Array<{ phase: string; kind: string; message: string; down: boolean }> = [];
  let down = false;
  let running = true;

  // One merchant lane's step: order → channel choice → the buyer pays; a failed step is retried on the next round.
  const step = async (f: Flow) => {
    if (f.orderId === undefined) {
      const o = await createOrder(sys, { outTradeNo: f.outTradeNo });
      f.orderId = o.orderId;
      f.token = o.token;
      return;
    }
    const channel = channelOf(sys, f.channelType);
    const answer = await chooseChannel(sys, f.token!, channel);
    if (answer.code !== 1000) throw Object.assign(new Error(`choose: ${answer.code} ${answer.msg}`), { name: 'CashierDeskError', code: answer.code, httpStatus: 500 });
    await pay(sys, { channel, tradeNo: providerOutTradeNo(f.orderId, channel.channelId) });
    f.paid = true;
  };
  const lane = async (n: number) => {
    for (let i = 0; running; i++) {
      let f = flows.find((x) => x.outTradeNo.endsWith(`-${n}`) && !x.paid);
      if (!f) {
        f = { outTradeNo: `${uniqueNo('PG')}-${n}`, channelType: i % 2 === 0 ? 'ali-pay' : 'wx-pay', paid: false };
        flows.push(f);
      }
      const wasDown = down;
      try {
        await step(f);
      } catch (err) {
        failures.push({ phase: f.orderId === undefined ? 'order' : 'choose', kind: failureKind(err as Error), message: (err as Error).message, down: wasDown || down });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const lanes = Promise.all([0, 1, 2, 3].map(lane));

  await new Promise((r) => setTimeout(r, 5000));
  down = true;
  await sys.stopPostgres();
  const downSince = Date.now();
  // While down, the cashier page's read path answers too (no hang, an envelope).
  const page = await fetch(`${sys.gateway}/cashier/${flows[0].token ?? 'X'}`);
  expect(page.headers.get('content-type')).toMatch(/json/);
  await new Promise((r) => setTimeout(r, 30_000 - (Date.now() - downSince)));
  expect(sys.api!.child.exitCode).toBeNull();
  expect(sys.worker!.child.exitCode).toBeNull();
  await sys.startPostgres();
  down = false;
  await new Promise((r) => setTimeout(r, 10_000));
  running = false;
  await lanes;

  // Errors while down were clean envelopes; no request was left without an answer.
  const whileDown = failures.filter((f) => f.down);
  expect(whileDown.length).toBeGreaterThan(0);
  expect(whileDown.filter((f) => f.kind !== 'envelope')).toEqual([]);
  expect(sys.api!.child.exitCode).toBeNull();
  expect(sys.worker!.child.exitCode).toBeNull();

  // The merchant retries the orders whose creation failed; the buyers of open orders never came back (they expire).
  for (const f of flows.filter((x) => x.orderId === undefined)) await waitFor(`retry ${f.outTradeNo}`, () => createOrder(sys, { outTradeNo: f.outTradeNo }), 60_000, 500);
  const paid = flows.filter((f) => f.paid);
  expect(paid.length).toBeGreaterThan(4);
  for (const f of paid) await waitFor(`order ${f.outTradeNo} paid`, async () => (await orderRow(sys, f.orderId!))?.status === 'SUCCESS', 120_000, 500);
  const report = await reconcile({ ...sys, deliveries: sys.merchant.deliveries }, { timeoutMs: 180_000 });
  expect(report.paid).toBe(paid.length);
});
