/**
 * The signed merchant API against bad input, duplicates and races, on the real dev server and PostgreSQL.
 * Every rejected request answers its documented code and leaves no order and no workflow behind.
 */
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../domain/order';
import { signRequestHeaders, type SignType } from '../../signature';
import { requestHash } from '../../app/orders';
import { insertOrFindOrder } from '../../db/queries/orders';
import { stateQuery } from '../../workflows/messages';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;
const PATH = '/api/cashier-desk/unified/orders';

beforeAll(async () => {
  sys = await startTestSystem();
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

const validOrder = (over: Record<string, unknown> = {}) => ({
  amount: 1999,
  goodsDesc: '商品',
  orderTitle: '标题',
  outTradeNo: `B${randomBytes(5).toString('hex')}`,
  thirdPartyUser: 'u',
  ...over,
});

async function post(body: string | Buffer, opts: { appId?: string; appKey?: string; signType?: SignType; now?: number; nonce?: string; path?: string; tamper?: (h: Record<string, string>) => void } = {}) {
  const path = opts.path ?? PATH;
  const headers = signRequestHeaders({ method: 'POST', pathWithQuery: path, appId: opts.appId ?? app.appId, appKey: opts.appKey ?? app.appKey, signType: opts.signType, body, now: opts.now, nonce: opts.nonce });
  opts.tamper?.(headers);
  const res = await fetch(`${sys.apiUrl}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as { code: number; msg: string } };
}

async function orderCount() {
  return Number((await sys.t.db('orders').count({ n: '*' }).first())!.n);
}

describe('every bad-input class answers its documented code and writes nothing', () => {
  const cases: Array<[string, () => Promise<{ status: number; body: { code: number } }>, number]> = [
    ['bad signature', () => post(JSON.stringify(validOrder()), { tamper: (h) => (h['x-cashier-signature'] = '0'.repeat(64)) }), 4010],
    ['body changed after signing', async () => {
      const body = JSON.stringify(validOrder());
      const headers = signRequestHeaders({ method: 'POST', pathWithQuery: PATH, appId: app.appId, appKey: app.appKey, body });
      const res = await fetch(`${sys.apiUrl}${PATH}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: body.replace('1999', '1') });
      return { status: res.status, body: (await res.json()) as { code: number } };
    }, 4010],
    ['stale timestamp', () => post(JSON.stringify(validOrder()), { now: Date.now() - 301_000 }), 4010],
    ['unknown app', () => post(JSON.stringify(validOrder()), { appId: '99999999' }), 4010],
    ['wrong key', () => post(JSON.stringify(validOrder()), { appKey: 'not-the-key' }), 4010],
    ['sign type the app does not use', () => post(JSON.stringify(validOrder()), { signType: 'HMAC-SM3' }), 4010],
    ['missing signature headers', async () => {
      const res = await fetch(`${sys.apiUrl}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(validOrder()) });
      return { status: res.status, body: (await res.json()) as { code: number } };
    }, 4010],
    ['amount zero', () => post(JSON.stringify(validOrder({ amount: 0 }))), 4000],
    ['fractional amount', () => post(JSON.stringify(validOrder({ amount: 19.99 }))), 4000],
    ['amount as a string', () => post(JSON.stringify(validOrder({ amount: '1999' }))), 4000],
    ['amount above the maximum', () => post(JSON.stringify(validOrder({ amount: 10_000_000_001 }))), 4000],
    ['unknown field', () => post(JSON.stringify(validOrder({ discount: 1 }))), 4000],
    ['server-owned field', () => post(JSON.stringify(validOrder({ status: 'SUCCESS' }))), 4000],
    ['non-http notify URL', () => post(JSON.stringify(validOrder({ notifyUrl: 'ftp://merchant.example/notify' }))), 4000],
    ['malformed JSON', () => post('{"amount":'), 4000],
    ['oversized body', () => post(JSON.stringify(validOrder({ goodsDesc: 'x'.repeat(70_000) }))), 4130],
  ];
  test.each(cases)('%s', async (_name, send, code) => {
    const before = await orderCount();
    const res = await send();
    expect(res.body.code).toBe(code);
    expect(res.status).toBe(Math.floor(code / 10));
    expect(JSON.stringify(res.body)).not.toMatch(/stack|select |insert |appKey|at .*\.ts/i);
    expect(await orderCount()).toBe(before);
  });

  test('reused nonce', async () => {
    const nonce = randomBytes(12).toString('hex');
    const first = await post(JSON.stringify(validOrder()), { nonce });
    expect(first.body.code).toBe(1000);
    const before = await orderCount();
    const replay = await post(JSON.stringify(validOrder()), { nonce });
    expect(replay.body.code).toBe(4010);
    expect(replay.body).toMatchObject({ msg: expect.stringContaining('REPLAYED_NONCE') });
    expect(await orderCount()).toBe(before);
  });
});

test('concurrent duplicate unified orders yield exactly one order and one workflow', async () => {
  const body = validOrder();
  const results = await Promise.all(Array.from({ length: 8 }, () => merchant.sdk.unifiedOrder(body as never)));
  expect(new Set(results.map((r) => r.token)).size).toBe(1);
  expect(await sys.t.db('orders').where({ out_trade_no: body.outTradeNo }).count({ n: '*' }).first()).toEqual({ n: 1 });
  const ids: string[] = [];
  await waitFor('visibility', async () => {
    ids.length = 0;
    for await (const wf of sys.client.workflow.list({ query: `OutTradeNo = "${body.outTradeNo}"` })) ids.push(wf.workflowId);
    return ids.length > 0;
  });
  expect(ids).toEqual([`payment:${app.appId}:${body.outTradeNo}`]);
});

test('a crash between the order row and the workflow start heals: by the merchant retry or by the reconciler', async () => {
  // The row exists (the request that inserted it died before starting the workflow) …
  const body = validOrder({ notifyUrl: merchant.notifyUrl });
  const { row } = await insertOrFindOrder(sys.t.db, {
    app_id: app.appId, out_trade_no: body.outTradeNo, amount: body.amount, order_title: body.orderTitle, goods_desc: body.goodsDesc,
    third_party_user: body.thirdPartyUser, notify_url: merchant.notifyUrl, return_url: null,
    request_hash: requestHash(body as never, merchant.notifyUrl, null),
    token: randomBytes(16).toString('hex').toUpperCase(), expire_at: new Date(Date.now() + 600_000), workflow_id: `payment:${app.appId}:${body.outTradeNo}`,
  });
  // … and the merchant's retry returns that order and starts its one workflow.
  const retried = await merchant.sdk.unifiedOrder(body as never);
  expect([Number(retried.orderId), retried.token]).toEqual([row.id, row.token]);
  expect((await sys.client.workflow.getHandle(row.workflow_id).query(stateQuery)).orderId).toBe(row.id);

  // Without a retry, the worker's reconciler starts it; running it twice changes nothing.
  const orphanBody = validOrder();
  const { row: orphan } = await insertOrFindOrder(sys.t.db, {
    app_id: app.appId, out_trade_no: orphanBody.outTradeNo, amount: 1, order_title: 't', goods_desc: 'g', third_party_user: 'u', notify_url: null, return_url: null,
    request_hash: 'h'.repeat(64), token: randomBytes(16).toString('hex').toUpperCase(), expire_at: new Date(Date.now() + 600_000), workflow_id: `payment:${app.appId}:${orphanBody.outTradeNo}`,
  });
  expect(await sys.useCases.orders.startLostWorkflows(0)).toBeGreaterThanOrEqual(1);
  expect(await sys.useCases.orders.startLostWorkflows(0)).toBe(0);
  expect((await sys.client.workflow.getHandle(orphan.workflow_id).query(stateQuery)).orderId).toBe(orphan.id);
});

test('ten concurrent duplicate provider callbacks give one SUCCESS and one notification sequence', async () => {
  const order = await merchant.sdk.unifiedOrder(validOrder() as never);
  const pay = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  expect(((await pay.json()) as { code: number }).code).toBe(1000);
  const tradeNo = providerOutTradeNo(Number(order.orderId), app.channels[0].channelId);
  // The sandbox pays but "loses" its notification; we replay the exact signed body ten times at once.
  await sys.alipay.pay(tradeNo, { notify: 'lost' });
  const [lost] = sys.alipay.notifications({ outTradeNo: tradeNo });
  const url = lost.url;
  const answers = await Promise.all(
    Array.from({ length: 10 }, () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: lost.body }).then((r) => r.text())),
  );
  expect(answers).toEqual(Array(10).fill('success'));
  const handle = sys.client.workflow.getHandle(`payment:${app.appId}:${order.signature.outTradeNo}`);
  const final = await handle.result();
  expect(final.status).toBe('SUCCESS');
  expect(final.notifyAttempts).toHaveLength(1);
  expect(merchant.notifications.filter((n) => n.outTradeNo === order.signature.outTradeNo)).toHaveLength(1);
  const callbacks = await sys.t.db('provider_callbacks').where({ order_id: Number(order.orderId) });
  expect(callbacks).toHaveLength(10);
  expect(new Set(callbacks.map((c) => c.result))).toEqual(new Set(['ACCEPTED']));
});

test('a tampered callback is refused and a genuinely signed one with the wrong amount changes nothing', async () => {
  const order = await merchant.sdk.unifiedOrder(validOrder() as never);
  await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  const tradeNo = providerOutTradeNo(Number(order.orderId), app.channels[0].channelId);
  const handle = sys.client.workflow.getHandle(`payment:${app.appId}:${order.signature.outTradeNo}`);

  await sys.alipay.pay(tradeNo, { notify: 'lost', amountOverrideFen: 1 });
  await sys.alipay.idle();
  const [wrong] = sys.alipay.notifications({ outTradeNo: tradeNo });
  // Signed by the provider but for 0.01 yuan: acknowledged (so it stops), recorded as a mismatch, not applied.
  const ack = await fetch(wrong.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: wrong.body });
  expect(await ack.text()).toBe('success');
  expect((await handle.query(stateQuery)).status).toBe('PAYING');
  expect(await sys.t.db('provider_callbacks').where({ order_id: Number(order.orderId), result: 'MISMATCH' })).toHaveLength(1);

  // A forged body (signature no longer matches) is answered `fail` and recorded as rejected.
  const forged = wrong.body.replace(/total_amount=[^&]+/, 'total_amount=19.99');
  const refused = await fetch(wrong.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: forged });
  expect(await refused.text()).toBe('fail');
  expect((await handle.query(stateQuery)).status).toBe('PAYING');
  expect((await sys.t.db('provider_callbacks').where({ result: 'REJECTED' })).length).toBeGreaterThan(0);
  await handle.terminate('test done');
});
