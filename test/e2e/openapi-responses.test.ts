/**
 * The OpenAPI document against real answers: a whole flow on the real system (dev server, PostgreSQL, Alipay
 * sandbox, worker) — registration, administrator approval and channel setup, binding, unified order, cashier,
 * payment, query, refunds, statement, transfers with approval, reconciliation, statistics, exports, audit, and
 * error answers of every kind — records every answer, and validates each one against the documented response of
 * its route and status (ajv, JSON Schema 2020-12): the status must be documented, the body must match its schema
 * exactly (no undocumented field), and a success must carry the documented headers.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { randomBytes } from 'node:crypto';
import { OPENAPI_PATH } from '../../domain/urls';
import { providerOutTradeNo } from '../../domain/order';
import { shanghaiDay } from '../../domain/reconciliation';
import type { OpenApiDocument } from '../../http/openapi/document';
import { signRequestHeaders } from '../../signature';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

interface Recorded {
  method: string;
  path: string;
  status: number;
  contentType: string;
  text: string;
  headers: Headers;
}

let sys: TestSystem;
let app: SeededApp;
let doc: OpenApiDocument;
const recorded: Recorded[] = [];
const admin = { cookie: '', csrf: '' };

beforeAll(async () => {
  sys = await startTestSystem({ pollIntervalSeconds: 1 });
  const ali = await sys.alipay.createMerchant();
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: ali }] });
  doc = (await (await fetch(`${sys.apiUrl}${OPENAPI_PATH}`)).json()) as OpenApiDocument;
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

/** One HTTP call as a client makes it, recorded for validation. `as`: a signed merchant call, the administrator, or anyone. */
async function call(method: string, path: string, opts: { body?: unknown; as?: 'merchant' | 'admin' | 'anon'; signer?: { appId: string; appKey: string }; headers?: Record<string, string> } = {}): Promise<Recorded> {
  const raw = opts.body === undefined ? '' : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(raw ? { 'content-type': 'application/json' } : {}) };
  if (opts.as === 'merchant') Object.assign(headers, signRequestHeaders({ method, pathWithQuery: path, appId: (opts.signer ?? app).appId, appKey: (opts.signer ?? app).appKey, body: raw }));
  if (opts.as === 'admin') {
    if (admin.cookie) headers.cookie = admin.cookie;
    if (method !== 'GET') Object.assign(headers, { origin: sys.apiUrl, ...(admin.csrf ? { 'x-csrf-token': admin.csrf } : {}) });
  }
  Object.assign(headers, opts.headers ?? {});
  const res = await fetch(`${sys.apiUrl}${path}`, { method, headers, body: raw || undefined, redirect: 'manual' });
  const r: Recorded = { method, path, status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text(), headers: res.headers };
  recorded.push(r);
  return r;
}

const json = <T = Record<string, unknown>>(r: Recorded) => JSON.parse(r.text) as { code: number; msg: string; data: T };
const ok = <T = Record<string, unknown>>(r: Recorded): T => {
  expect({ path: r.path, status: r.status, body: r.text.slice(0, 300) }).toMatchObject({ status: 200 });
  return r.contentType.startsWith('application/json') ? json<T>(r).data : (r.text as unknown as T);
};
const A = '/api/cashier-desk-admin';
const M = '/api/cashier-desk';
const SA = '/api/cashier-desk-sa';
const yesterday = () => shanghaiDay(Date.now() - 86_400_000);

test('a whole flow through every API (answers recorded)', async () => {
  // ---- operations and administrator session
  ok(await call('GET', '/healthz'));
  ok(await call('GET', OPENAPI_PATH));
  expect((await call('GET', `${A}/session`, { as: 'admin' })).status).toBe(401);
  expect((await call('POST', `${A}/login`, { as: 'admin', body: { username: TEST_ADMIN.username, password: 'wrong' } })).status).toBe(401);
  const login = await call('POST', `${A}/login`, { as: 'admin', body: { username: TEST_ADMIN.username, password: TEST_ADMIN.password } });
  admin.csrf = ok<{ csrfToken: string }>(login).csrfToken;
  admin.cookie = login.headers.getSetCookie()[0].split(';')[0];
  ok(await call('GET', `${A}/session`, { as: 'admin' }));
  ok(await call('GET', `${A}/overview`, { as: 'admin' }));
  expect((await call('POST', `${A}/apps/00000000/approve`, { as: 'admin', headers: { 'x-csrf-token': 'forged' } })).status).toBe(403);

  // ---- registration → approval → channel config and scenes → binding applications
  expect((await call('POST', `${SA}/register`, { body: { name: 'x', notifyUrl: 'http://127.0.0.1:9/n', contact: 'c', status: 'APPROVED' } })).status).toBe(400);
  const reg = ok<{ appId: string; appKey: string }>(await call('POST', `${SA}/register`, { body: { name: '文档商户', notifyUrl: 'http://127.0.0.1:9/notify', returnUrl: 'https://merchant.example.com/done', contact: '张三' } }));
  const registered = { appId: reg.appId, appKey: reg.appKey };
  expect((await call('POST', `${SA}/apply/binding-channel`, { as: 'merchant', signer: registered, body: { channelId: 1 } })).status).toBe(403);
  ok(await call('GET', `${A}/apps?status=PENDING`, { as: 'admin' }));
  ok(await call('GET', `${A}/apps/${registered.appId}`, { as: 'admin' }));
  ok(await call('POST', `${A}/apps/${registered.appId}/approve`, { as: 'admin' }));
  ok(await call('PATCH', `${A}/apps/${registered.appId}`, { as: 'admin', body: { name: '文档商户A' } }));
  expect((await call('PATCH', `${A}/apps/${registered.appId}`, { as: 'admin', body: {} })).status).toBe(400);
  ok(await call('GET', `${A}/channel-configs`, { as: 'admin' }));
  ok(await call('GET', `${A}/channel-configs/${app.channels[0].configId}`, { as: 'admin' }));
  const creds = await sys.alipay.createMerchant();
  const config = ok<{ id: number }>(await call('POST', `${A}/channel-configs`, { as: 'admin', body: { channelType: 'ali-pay', name: '文档配置', mchId: creds.mchId, providerAppId: creds.providerAppId, gatewayUrl: creds.gatewayUrl, secrets: creds.secrets } }));
  ok(await call('PATCH', `${A}/channel-configs/${config.id}`, { as: 'admin', body: { name: '文档配置A' } }));
  const h5 = ok<{ id: number }>(await call('POST', `${A}/channel-configs/${config.id}/channels`, { as: 'admin', body: { sceneCode: 'h5', channelName: '支付宝H5' } }));
  const native = ok<{ id: number }>(await call('POST', `${A}/channel-configs/${config.id}/channels`, { as: 'admin', body: { sceneCode: 'native', channelName: '支付宝扫码' } }));
  ok(await call('PATCH', `${A}/channels/${h5.id}`, { as: 'admin', body: { sort: 5 } }));
  expect((await call('GET', `${A}/channel-configs/987654`, { as: 'admin' })).status).toBe(404);
  ok(await call('POST', `${SA}/apply/binding-channel`, { as: 'merchant', signer: registered, body: { channelIds: [h5.id, native.id] } }));
  const bindings = ok<{ items: Array<{ id: number; channelId: number }> }>(await call('GET', `${A}/bindings?appId=${registered.appId}`, { as: 'admin' }));
  ok(await call('POST', `${A}/bindings/${bindings.items.find((b) => b.channelId === h5.id)!.id}/approve`, { as: 'admin', body: { note: '资料齐全' } }));
  ok(await call('POST', `${A}/bindings/${bindings.items.find((b) => b.channelId === native.id)!.id}/reject`, { as: 'admin' }));
  ok(await call('GET', `${A}/apps/${registered.appId}`, { as: 'admin' }));
  ok(await call('POST', `${A}/apps/${registered.appId}/rotate-key`, { as: 'admin', body: { graceSeconds: 60 } }));
  ok(await call('POST', `${A}/apps/${registered.appId}/disable`, { as: 'admin' }));

  // ---- merchant: order → cashier → pay → query → refunds → statement
  const outTradeNo = `DOC${randomBytes(4).toString('hex')}`;
  expect((await call('POST', `${M}/unified/orders`, { as: 'merchant', body: { amount: 0, goodsDesc: 'g', orderTitle: 't', outTradeNo, thirdPartyUser: 'u' } })).status).toBe(400);
  expect((await call('POST', `${M}/unified/orders`, { as: 'merchant', signer: { appId: app.appId, appKey: 'not-the-key' }, body: { amount: 1 } })).status).toBe(401);
  const order = ok<{ token: string; orderId: number }>(await call('POST', `${M}/unified/orders`, { as: 'merchant', body: { amount: 1999, goodsDesc: '文档商品', orderTitle: '文档订单', outTradeNo, thirdPartyUser: 'u-1' } }));
  expect((await call('POST', `${M}/unified/orders`, { as: 'merchant', body: { amount: 2000, goodsDesc: '文档商品', orderTitle: '文档订单', outTradeNo, thirdPartyUser: 'u-1' } })).status).toBe(409);
  ok(await call('POST', `${M}/payment/list`, { as: 'merchant', body: { token: order.token, channelIds: [app.channels[0].channelId] } }));
  ok(await call('GET', `${M}/cashier/${order.token}`));
  expect((await call('GET', `${M}/cashier/${'0'.repeat(32)}`)).status).toBe(404);
  expect((await call('POST', `${M}/ali-pay/native`, { body: { token: 'nope' } })).status).toBe(400);
  ok(await call('POST', `${M}/ali-pay/native`, { body: { token: order.token } }));
  ok(await call('GET', `${M}/out-trade-no/query-pay-result/${outTradeNo}`, { as: 'merchant' }));
  await sys.alipay.pay(providerOutTradeNo(order.orderId, app.channels[0].channelId));
  await waitFor('paid', async () => (await sys.t.db('orders').where({ id: order.orderId }).first()).status === 'SUCCESS');
  ok(await call('GET', `${M}/out-trade-no/query-pay-result/${outTradeNo}`, { as: 'merchant' }));
  expect((await call('GET', `${M}/out-trade-no/query-pay-result/NO-SUCH-ORDER`, { as: 'merchant' })).status).toBe(404);
  const outRefundNo = `R${outTradeNo}`;
  ok(await call('POST', `${M}/refunds`, { as: 'merchant', body: { outTradeNo, outRefundNo, amount: 500, reason: '七天无理由' } }));
  expect((await call('POST', `${M}/refunds`, { as: 'merchant', body: { outTradeNo, outRefundNo: `${outRefundNo}-2`, amount: 5000 } })).status).toBe(409);
  await waitFor('refunded', async () => (await sys.t.db('refunds').where({ out_refund_no: outRefundNo }).first())?.status === 'SUCCESS');
  ok(await call('GET', `${M}/refunds/${outRefundNo}`, { as: 'merchant' }));
  expect((await call('GET', `${M}/refunds/NO-SUCH-REFUND`, { as: 'merchant' })).status).toBe(404);
  expect(ok<string>(await call('GET', `${M}/bills/${yesterday()}`, { as: 'merchant' }))).toContain('totalPaymentCount');
  expect((await call('GET', `${M}/bills/${shanghaiDay(Date.now())}`, { as: 'merchant' })).status).toBe(404);

  // ---- transfers: off → settings → direct and approved / rejected payouts
  const transfer = (outBizNo: string, amount: number) => ({ outBizNo, channelType: 'ali-pay', amount, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark: '推广奖励' });
  expect((await call('POST', `${M}/transfers`, { as: 'merchant', body: transfer('W-OFF', 100) })).status).toBe(403);
  ok(await call('PUT', `${A}/apps/${app.appId}/transfer-settings`, { as: 'admin', body: { enabled: true, maxPerTransfer: 100_000, dailyLimit: 1_000_000, approvalThreshold: 1000 } }));
  ok(await call('GET', `${A}/apps/${app.appId}/transfer-settings`, { as: 'admin' }));
  ok(await call('POST', `${M}/transfers`, { as: 'merchant', body: transfer('W-DIRECT', 500) }));
  await waitFor('transfer final', async () => (await sys.t.db('transfers').where({ out_biz_no: 'W-DIRECT' }).first())?.status === 'SUCCESS');
  ok(await call('GET', `${M}/transfers/W-DIRECT`, { as: 'merchant' }));
  const big = ok<{ transferId: number; status: string }>(await call('POST', `${M}/transfers`, { as: 'merchant', body: transfer('W-BIG', 5000) }));
  expect(big.status).toBe('PENDING_APPROVAL');
  const rejectMe = ok<{ transferId: number }>(await call('POST', `${M}/transfers`, { as: 'merchant', body: transfer('W-NO', 6000) }));
  ok(await call('POST', `${A}/transfers/${big.transferId}/approve`, { as: 'admin', body: { note: '已核实' } }));
  ok(await call('POST', `${A}/transfers/${rejectMe.transferId}/reject`, { as: 'admin' }));
  expect((await call('POST', `${A}/transfers/${rejectMe.transferId}/reject`, { as: 'admin' })).status).toBe(409);
  ok(await call('GET', `${A}/transfers?appId=${app.appId}`, { as: 'admin' }));
  ok(await call('GET', `${A}/transfers/${big.transferId}`, { as: 'admin' }));

  // ---- administrator: orders, refunds, exceptions, reconciliation, statistics, exports, audit
  const orders = ok<{ items: Array<{ id: number }> }>(await call('GET', `${A}/orders?outTradeNo=${outTradeNo}`, { as: 'admin' }));
  expect(orders.items.map((o) => o.id)).toEqual([order.orderId]);
  expect((await call('GET', `${A}/orders?createdFrom=not-a-date`, { as: 'admin' })).status).toBe(400);
  ok(await call('GET', `${A}/orders/${order.orderId}`, { as: 'admin' }));
  // The order has no notify URL: nothing to notify again.
  expect((await call('POST', `${A}/orders/${order.orderId}/renotify`, { as: 'admin' })).status).toBe(409);
  const adminRefund = ok<{ refundId: number }>(await call('POST', `${A}/orders/${order.orderId}/refunds`, { as: 'admin', body: { amount: 100, reason: '客服退款', requestId: `doc-${randomBytes(4).toString('hex')}` } }));
  ok(await call('GET', `${A}/refunds?outTradeNo=${outTradeNo}`, { as: 'admin' }));
  ok(await call('GET', `${A}/refunds/${adminRefund.refundId}`, { as: 'admin' }));
  ok(await call('GET', `${A}/payment-exceptions`, { as: 'admin' }));
  expect((await call('POST', `${A}/payment-exceptions/987654/refund`, { as: 'admin' })).status).toBe(404);
  ok(await call('POST', `${A}/reconciliations`, { as: 'admin', body: { day: yesterday(), configId: app.channels[0].configId } }));
  await waitFor('reconciled', async () => (await sys.t.db('reconciliation_runs').where({ config_id: app.channels[0].configId }).first())?.status === 'DONE', 60_000);
  ok(await call('GET', `${A}/reconciliations`, { as: 'admin' }));
  ok(await call('GET', `${A}/reconciliations/discrepancies?day=${yesterday()}`, { as: 'admin' }));
  ok(await call('GET', `${A}/statistics`, { as: 'admin' }));
  const today = shanghaiDay(Date.now());
  expect(ok<string>(await call('GET', `${A}/exports/orders.csv?from=${today}&to=${today}`, { as: 'admin' }))).toContain(outTradeNo);
  ok(await call('GET', `${A}/exports/refunds.csv?from=${today}&to=${today}`, { as: 'admin' }));
  expect((await call('GET', `${A}/exports/orders.csv?from=${today}`, { as: 'admin' })).status).toBe(400);
  ok(await call('GET', `${A}/audit?pageSize=100`, { as: 'admin' }));
  ok(await call('POST', `${A}/logout`, { as: 'admin' }));
  expect((await call('GET', `${A}/overview`, { as: 'admin' })).status).toBe(401);
});

test('every recorded answer matches the documented response of its route and status', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi');
  const pointer = (parts: string[]) => `openapi#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  // Concrete paths before templated ones, as OpenAPI matches them.
  const templates = Object.keys(doc.paths)
    .map((p) => ({ p, params: (p.match(/\{/g) ?? []).length, re: new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}$`) }))
    .sort((a, b) => a.params - b.params);

  const problems: string[] = [];
  const validated = new Map<string, Set<number>>();
  for (const r of recorded) {
    const bare = r.path.replace(/\?.*$/, '');
    const tpl = templates.find((t) => t.re.test(bare) && doc.paths[t.p][r.method.toLowerCase()]);
    if (!tpl) {
      problems.push(`${r.method} ${r.path}: no documented operation`);
      continue;
    }
    const op = doc.paths[tpl.p][r.method.toLowerCase()];
    const status = op.responses[String(r.status)] ? String(r.status) : 'default';
    // A shared response (the error envelopes) is a $ref into components.responses: follow it.
    const entry = op.responses[status] as { $ref?: string } | undefined;
    const location = entry?.$ref ? entry.$ref.slice(2).split('/') : ['paths', tpl.p, r.method.toLowerCase(), 'responses', status];
    const documented = location.reduce<Record<string, unknown> | undefined>((o, k) => o?.[k] as Record<string, unknown> | undefined, doc as unknown as Record<string, unknown>) as
      | { content?: Record<string, unknown>; headers?: Record<string, unknown> }
      | undefined;
    if (!entry || !documented) {
      problems.push(`${r.method} ${tpl.p}: status ${r.status} is not documented`);
      continue;
    }
    const mediaType = Object.keys(documented.content ?? {}).find((t) => r.contentType.startsWith(t));
    if (!mediaType) {
      problems.push(`${r.method} ${tpl.p} ${r.status}: content type ${r.contentType} is not documented`);
      continue;
    }
    if (mediaType === 'application/json') {
      const ref = pointer([...location, 'content', mediaType, 'schema']);
      const check = ajv.getSchema(ref) ?? (ajv.addSchema({ $ref: ref }, ref), ajv.getSchema(ref)!);
      // The answer is quoted for diagnosis, with keys shown once (registration, rotation) blanked out.
      if (!check(JSON.parse(r.text))) problems.push(`${r.method} ${tpl.p} ${r.status}: ${ajv.errorsText(check.errors)} in ${r.text.replace(/"appKey":"[^"]*"/g, '"appKey":"…"').slice(0, 400)}`);
    }
    if (r.status === 200) for (const h of Object.keys(documented.headers ?? {})) if (!r.headers.has(h)) problems.push(`${r.method} ${tpl.p} 200: header ${h} missing`);
    const key = `${r.method} ${tpl.p}`;
    validated.set(key, (validated.get(key) ?? new Set()).add(r.status));
  }
  expect(problems).toEqual([]);

  // The flow reached every JSON and CSV operation with a success (provider callbacks are the providers' to make).
  const withoutSuccess = Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, tag: (op.tags as string[])[0] })))
    .filter((o) => o.tag !== 'callbacks' && !validated.get(o.key)?.has(200))
    .map((o) => o.key)
    .sort();
  // Refunding a payment exception needs money paid where none was wanted: covered by its 404 here.
  // An order without a notify URL has nothing to notify again: renotify is covered by its 409.
  expect(withoutSuccess).toEqual(['POST /api/cashier-desk-admin/orders/{id}/renotify', 'POST /api/cashier-desk-admin/payment-exceptions/{id}/refund']);
  // And errors of each kind were checked against their documented envelopes.
  const statuses = new Set([...validated.values()].flatMap((s) => [...s]));
  for (const s of [400, 401, 403, 404, 409]) expect(statuses).toContain(s);
});
