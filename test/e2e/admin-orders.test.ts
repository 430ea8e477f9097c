/**
 * Orders in the administrator API, end to end: search by outTradeNo, status, app and creation time with
 * pagination; the detail with every notification attempt and the Temporal Web UI link; renotify as a signal
 * to the running PaymentWorkflow (a merchant that refuses notifications keeps it in the notification loop).
 */
import { randomBytes } from 'node:crypto';
import { stopNotifySignal } from '../../workflows/messages';
import { AdminClient, paidOrderWithRefusingMerchant } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

interface OrderItem {
  id: number;
  outTradeNo: string;
  status: string;
  appId: string;
  amount: number;
  workflowUrl: string;
}
interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}
interface Detail {
  id: number;
  status: string;
  notifyStatus: string;
  canRenotify: boolean;
  attempts: Array<{ attempt: number; trigger: string; acknowledged: boolean; httpStatus: number | null; error: string | null }>;
  workflow: { id: string; url: string; status: string | null; nextNotifyAt: string | null };
}

let sys: TestSystem;
let app: SeededApp;
let merchant: SdkMerchant;
let admin: AdminClient;
const prefix = `AO${randomBytes(3).toString('hex')}`;
let paidId: number;

beforeAll(async () => {
  sys = await startTestSystem({ admin: { temporalUiUrl: 'http://temporal-ui.local:8233' } });
  app = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  merchant = await startSdkMerchant(sys.gateway, app.appId, app.appKey);
  merchant.failNext = 1_000_000; // refuses every notification
  admin = new AdminClient(sys.apiUrl);
  await admin.login(TEST_ADMIN.username, TEST_ADMIN.password);
  ({ orderId: paidId } = await paidOrderWithRefusingMerchant(sys, merchant.sdk, app.channels[0].channelId, `${prefix}-PAID`));
  for (const n of [1, 2]) await merchant.sdk.unifiedOrder({ amount: 100 * n, goodsDesc: 'g', orderTitle: `未支付 ${n}`, outTradeNo: `${prefix}-OPEN${n}`, thirdPartyUser: 'u' });
});

afterAll(async () => {
  await merchant?.close();
  await sys?.stop();
});

test('search: outTradeNo, status, app, created-time range, pagination', async () => {
  const byNo = await admin.get<Page<OrderItem>>(`/orders?outTradeNo=${prefix}-PAID`);
  expect(byNo.body.data!.items).toEqual([expect.objectContaining({ id: paidId, outTradeNo: `${prefix}-PAID`, status: 'SUCCESS', appId: app.appId, amount: 1999 })]);
  expect(byNo.body.data!.items[0].workflowUrl).toBe(`http://temporal-ui.local:8233/namespaces/default/workflows/${encodeURIComponent(`payment:${app.appId}:${prefix}-PAID`)}`);

  expect((await admin.get<Page<OrderItem>>('/orders?status=SUCCESS')).body.data!.items.map((o) => o.id)).toEqual([paidId]);
  expect((await admin.get<Page<OrderItem>>('/orders?status=CREATED')).body.data!.total).toBe(2);
  expect((await admin.get<Page<OrderItem>>(`/orders?appId=${app.appId}`)).body.data!.total).toBe(3);
  expect((await admin.get<Page<OrderItem>>('/orders?appId=00000000')).body.data!.total).toBe(0);

  const page1 = await admin.get<Page<OrderItem>>(`/orders?appId=${app.appId}&pageSize=2&page=1`);
  const page2 = await admin.get<Page<OrderItem>>(`/orders?appId=${app.appId}&pageSize=2&page=2`);
  expect([page1.body.data!.items.length, page2.body.data!.items.length, page1.body.data!.total]).toEqual([2, 1, 3]);
  // Newest first, and the pages do not overlap.
  expect(page1.body.data!.items.map((o) => o.outTradeNo)).toEqual([`${prefix}-OPEN2`, `${prefix}-OPEN1`]);
  expect(page2.body.data!.items.map((o) => o.outTradeNo)).toEqual([`${prefix}-PAID`]);

  const rows = await sys.t.db('orders').orderBy('created_at');
  const created = rows.map((r) => r.created_at as Date);
  const from = encodeURIComponent(created[1].toISOString());
  expect((await admin.get<Page<OrderItem>>(`/orders?createdFrom=${from}`)).body.data!.total).toBe(2);
  expect((await admin.get<Page<OrderItem>>(`/orders?createdTo=${from}`)).body.data!.total).toBe(1);
  expect((await admin.get<Page<OrderItem>>(`/orders?createdFrom=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`)).body.data!.total).toBe(0);

  expect((await admin.get('/orders?createdFrom=not-a-date')).body.code).toBe(4000);
  expect((await admin.get('/orders?status=PAID')).body.code).toBe(4000);
  expect((await admin.get('/orders?pageSize=1000')).body.code).toBe(4000);
  expect((await admin.get(`/orders?createdFrom=${from}&createdTo=2000-01-01T00:00:00Z`)).body.code).toBe(4000);
});

test('detail: every notification attempt, the running workflow and its Web UI link', async () => {
  const res = await admin.get<Detail>(`/orders/${paidId}`);
  expect(res.body.code).toBe(1000);
  const d = res.body.data!;
  expect(d).toMatchObject({ id: paidId, status: 'SUCCESS', notifyStatus: 'PENDING', canRenotify: true });
  expect(d.attempts[0]).toMatchObject({ attempt: 1, trigger: 'SCHEDULE', acknowledged: false, httpStatus: 500 });
  expect(d.workflow).toMatchObject({ id: `payment:${app.appId}:${prefix}-PAID`, status: 'RUNNING', nextNotifyAt: expect.any(String) });
  expect(d.workflow.url).toContain('/namespaces/default/workflows/payment%3A');
  expect(JSON.stringify(d)).not.toMatch(/token|request_hash/i);
  expect((await admin.get('/orders/999999')).body.code).toBe(4040);
  expect((await admin.get('/orders/abc')).body.code).toBe(4040);
});

test('renotify: a signal while the PaymentWorkflow runs, a one-shot workflow after it ended; audited; refused when it cannot help', async () => {
  const before = (await admin.get<Detail>(`/orders/${paidId}`)).body.data!.attempts.length;
  const res = await admin.post(`/orders/${paidId}/renotify`);
  expect(res.body).toMatchObject({ code: 1000, data: { workflowId: `payment:${app.appId}:${prefix}-PAID`, signalled: true } });
  const attempts = await waitFor('renotify attempt', async () => {
    const a = (await admin.get<Detail>(`/orders/${paidId}`)).body.data!.attempts;
    return a.length > before ? a : null;
  });
  expect(attempts[attempts.length - 1]).toMatchObject({ trigger: 'RENOTIFY', acknowledged: false });
  const audit = await admin.get<Page<{ action: string; actor: string; targetId: string; detail: Record<string, unknown> }>>(`/audit?action=order.renotify`);
  expect(audit.body.data!.items[0]).toMatchObject({ actor: TEST_ADMIN.username, targetId: String(paidId), detail: { outTradeNo: `${prefix}-PAID` } });

  // An order without a result yet: nothing to notify.
  const open = (await admin.get<Page<OrderItem>>(`/orders?outTradeNo=${prefix}-OPEN1`)).body.data!.items[0];
  expect((await admin.post(`/orders/${open.id}/renotify`)).body.code).toBe(4090);
  expect((await admin.post('/orders/999999/renotify')).body.code).toBe(4040);

  // Once the workflow has ended (here: stopped), renotify runs a one-shot renotify workflow: one more
  // signed attempt, recorded like the others; a double click does not send it twice.
  const handle = sys.client.workflow.getHandle(`payment:${app.appId}:${prefix}-PAID`);
  await handle.signal(stopNotifySignal);
  await handle.result();
  const ended = await admin.get<Detail>(`/orders/${paidId}`);
  expect(ended.body.data).toMatchObject({ notifyStatus: 'STOPPED', canRenotify: true, workflow: { status: 'COMPLETED' } });
  const countBefore = ended.body.data!.attempts.length;
  const [again, doubleClick] = await Promise.all([admin.post(`/orders/${paidId}/renotify`), admin.post(`/orders/${paidId}/renotify`)]);
  expect(again.body).toMatchObject({ code: 1000, data: { signalled: false, workflowId: `renotify:${app.appId}:${prefix}-PAID:${countBefore + 1}` } });
  expect(doubleClick.body.data).toEqual(again.body.data);
  await sys.client.workflow.getHandle(`renotify:${app.appId}:${prefix}-PAID:${countBefore + 1}`).result();
  const after = (await admin.get<Detail>(`/orders/${paidId}`)).body.data!.attempts;
  expect(after).toHaveLength(countBefore + 1);
  expect(after[after.length - 1]).toMatchObject({ attempt: countBefore + 1, trigger: 'RENOTIFY' });
});

test('overview counts', async () => {
  const res = await admin.get<{ pendingApps: number; pendingBindings: number; ordersToday: number; notifyProblems: number }>('/overview');
  expect(res.body.data).toMatchObject({ pendingApps: 0, pendingBindings: 0, ordersToday: 3 });
});
