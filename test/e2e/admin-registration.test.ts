/**
 * Operator side end to end on the dev server + PostgreSQL: an app registers (PENDING, 4030 everywhere), an
 * administrator approves it, configures a channel, the app applies for channels (ChannelBindingWorkflow with
 * its auto-approval timer), the administrator approves one and rejects the other, the app orders; key
 * rotation keeps the old key valid for the grace period only.
 */
import { randomBytes } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { verifySignedHeaders } from '../../signature';
import { WorkflowIds } from '../../temporal/workflow-ids';
import { bindingStateQuery } from '../../workflows/channel-binding';
import { AdminClient, signedCall } from '../support/admin-client';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

const GRACE_SECONDS = 3600;
let sys: TestSystem;
let admin: AdminClient;

beforeAll(async () => {
  sys = await startTestSystem({ admin: { keyRotationGraceSeconds: GRACE_SECONDS, registerPerHour: 50 } });
  admin = new AdminClient(sys.apiUrl);
  expect((await admin.login(TEST_ADMIN.username, TEST_ADMIN.password)).body.code).toBe(1000);
});

afterAll(async () => {
  await sys?.stop();
});

const SA = '/api/cashier-desk-sa';

async function register(name = '测试商户') {
  const res = await fetch(`${sys.apiUrl}${SA}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, notifyUrl: 'http://127.0.0.1:9/notify', returnUrl: 'https://merchant.example.com/done', contact: '张三 13800000000' }),
  });
  const body = (await res.json()) as { code: number; msg: string; data: { appId: string; appKey: string; status: string }; responseTime: number };
  return { status: res.status, body };
}

/** Every merchant endpoint, signed correctly by the app: code per endpoint. */
async function merchantCodes(app: { appId: string; appKey: string }) {
  const calls = await Promise.all([
    signedCall(sys.apiUrl, app, 'POST', '/api/cashier-desk/unified/orders', { amount: 100, goodsDesc: 'g', orderTitle: 't', outTradeNo: `P${randomBytes(4).toString('hex')}`, thirdPartyUser: 'u' }),
    signedCall(sys.apiUrl, app, 'POST', '/api/cashier-desk/payment/list', { token: 'A'.repeat(32), channelIds: [1] }),
    signedCall(sys.apiUrl, app, 'GET', '/api/cashier-desk/out-trade-no/query-pay-result/NOPE1'),
    signedCall(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelIds: [1] }),
  ]);
  return calls.map((c) => [c.status, c.body.code]);
}

test('register → PENDING: appId and appKey once, 4030 on every merchant endpoint → approve → 1000 → disable → 4030', async () => {
  // Strict schema: unknown or server-owned fields are rejected.
  const bad = await fetch(`${sys.apiUrl}${SA}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', notifyUrl: 'http://127.0.0.1:9/n', contact: 'c', status: 'APPROVED' }) });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { code: number }).code).toBe(4000);
  const notUrl = await fetch(`${sys.apiUrl}${SA}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', notifyUrl: 'javascript:alert(1)', contact: 'c' }) });
  expect(((await notUrl.json()) as { code: number }).code).toBe(4000);

  const { status, body } = await register();
  expect(status).toBe(200);
  expect(body).toMatchObject({ code: 1000, msg: '操作成功', data: { status: 'PENDING' } });
  expect(typeof body.responseTime).toBe('number');
  expect(body.data.appId).toMatch(/^\d{8}$/);
  expect(body.data.appKey.length).toBeGreaterThanOrEqual(32);
  const app = { appId: body.data.appId, appKey: body.data.appKey };
  // The key is stored encrypted, never in clear.
  const row = await sys.t.db('apps').where({ app_id: app.appId }).first();
  expect(row.status).toBe('PENDING');
  expect(row.app_key_enc).not.toContain(app.appKey);
  expect(JSON.stringify((await admin.get(`/apps/${app.appId}`)).body)).not.toContain(app.appKey);

  // PENDING: every merchant endpoint answers 4030 (signed, so the merchant can trust the refusal).
  expect(await merchantCodes(app)).toEqual(Array(4).fill([403, 4030]));
  const refused = await signedCall(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelId: 1 });
  expect(refused.body.msg).toContain('尚未审核');
  // A wrong key is 4010, not 4030: the status is only revealed to the key holder.
  expect((await signedCall(sys.apiUrl, { ...app, appKey: 'x'.repeat(32) }, 'GET', '/api/cashier-desk/out-trade-no/query-pay-result/NOPE1')).body.code).toBe(4010);

  // The administrator approves it.
  const approved = await admin.post(`/apps/${app.appId}/approve`);
  expect(approved.body).toMatchObject({ code: 1000, data: { appId: app.appId, status: 'APPROVED' } });
  expect((await admin.post(`/apps/${app.appId}/approve`)).body.code).toBe(4090);
  const query = await signedCall(sys.apiUrl, app, 'GET', '/api/cashier-desk/out-trade-no/query-pay-result/NOPE1');
  expect(query.body.code).toBe(4040); // authorized now: the order simply does not exist
  const apply = await signedCall(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelIds: [] });
  expect(apply.body.code).toBe(4000);

  // Disabled: 4030 again, everywhere; approved again: back.
  expect((await admin.post(`/apps/${app.appId}/disable`)).body).toMatchObject({ code: 1000, data: { status: 'DISABLED' } });
  const disabled = await merchantCodes(app);
  expect(disabled).toEqual(Array(4).fill([403, 4030]));
  expect((await signedCall(sys.apiUrl, app, 'GET', '/api/cashier-desk/out-trade-no/query-pay-result/NOPE1')).body.msg).toContain('停用');
  expect((await admin.post(`/apps/${app.appId}/approve`)).body.data).toMatchObject({ status: 'APPROVED' });

  const audit = await admin.get<{ items: Array<{ action: string; actor: string; targetId: string; ip: string }> }>(`/audit?targetType=app&targetId=${app.appId}`);
  expect(audit.body.data!.items.map((e) => e.action).reverse()).toEqual(['app.register', 'app.approve', 'app.disable', 'app.approve']);
  expect(audit.body.data!.items[0]).toMatchObject({ actor: TEST_ADMIN.username, ip: '127.0.0.1' });
});

test('edit notify/return URLs: validated, applied, audited', async () => {
  const { body } = await register('改地址商户');
  const appId = body.data.appId;
  expect((await admin.patch(`/apps/${appId}`, { notifyUrl: 'ftp://x' })).body.code).toBe(4000);
  expect((await admin.patch(`/apps/${appId}`, { appKey: 'mine' })).body.code).toBe(4000);
  expect((await admin.patch(`/apps/${appId}`, {})).body.code).toBe(4000);
  const res = await admin.patch(`/apps/${appId}`, { notifyUrl: 'https://merchant.example.com/v2/notify', returnUrl: null });
  expect(res.body).toMatchObject({ code: 1000, data: { notifyUrl: 'https://merchant.example.com/v2/notify', returnUrl: null } });
  const row = await sys.t.db('apps').where({ app_id: appId }).first();
  expect([row.notify_url, row.return_url]).toEqual(['https://merchant.example.com/v2/notify', null]);
  const audit = await admin.get<{ items: Array<{ action: string; detail: Record<string, unknown> }> }>(`/audit?action=app.update&targetId=${appId}`);
  expect(audit.body.data!.items[0].detail).toEqual({
    notifyUrl: { from: 'http://127.0.0.1:9/notify', to: 'https://merchant.example.com/v2/notify' },
    returnUrl: { from: 'https://merchant.example.com/done', to: null },
  });
  expect((await admin.patch('/apps/99999999', { name: 'x' })).body.code).toBe(4040);
});

test('channel config (secrets encrypted, never shown back) → channels → binding applications: approve one, reject one, idempotent, timer pending', async () => {
  const secret = `-----BEGIN PRIVATE KEY-----${randomBytes(24).toString('base64')}-----END PRIVATE KEY-----`;
  const created = await admin.post<{ id: number; secretFields: string[] }>('/channel-configs', {
    channelType: 'ali-pay',
    name: '支付宝测试配置',
    mchId: '2088000000000001',
    providerAppId: '2021000000000001',
    gatewayUrl: sys.alipay.url,
    secrets: { appPrivateKey: secret, alipayPublicKey: 'PUBLIC-KEY-VALUE' },
  });
  expect(created.body.code).toBe(1000);
  const configId = created.body.data!.id;
  expect(created.body.data!.secretFields).toEqual(['alipayPublicKey', 'appPrivateKey']);
  expect(JSON.stringify(created.body)).not.toContain(secret);
  const stored = await sys.t.db('channel_configs').where({ id: configId }).first();
  expect(stored.secrets_enc).not.toContain('BEGIN PRIVATE KEY');
  expect(JSON.parse(sys.t.box.open(stored.secrets_enc))).toEqual({ appPrivateKey: secret, alipayPublicKey: 'PUBLIC-KEY-VALUE' });

  // Edit without secrets keeps them; with secrets replaces them; nothing secret in lists or the audit log.
  expect((await admin.patch(`/channel-configs/${configId}`, { name: '支付宝测试配置A' })).body.code).toBe(1000);
  expect(JSON.parse(sys.t.box.open((await sys.t.db('channel_configs').where({ id: configId }).first()).secrets_enc)).appPrivateKey).toBe(secret);
  const creds = await sys.alipay.createMerchant();
  expect((await admin.patch(`/channel-configs/${configId}`, { secrets: creds.secrets, mchId: creds.mchId, providerAppId: creds.providerAppId, gatewayUrl: creds.gatewayUrl })).body.code).toBe(1000);
  const list = await admin.get('/channel-configs');
  const audit = await admin.get('/audit?action=channel_config');
  for (const text of [JSON.stringify(list.body), JSON.stringify(audit.body)]) {
    expect(text).not.toContain(secret);
    for (const v of Object.values(creds.secrets)) expect(text).not.toContain(v);
  }
  expect(JSON.stringify(audit.body)).toContain('secretsReplaced');
  expect((await admin.post('/channel-configs', { channelType: 'ali-pay', name: 'x', mchId: '1', providerAppId: '1', gatewayUrl: 'http://x', secrets: { 'bad key': 'v' } })).body.code).toBe(4000);

  const h5 = await admin.post<{ id: number }>(`/channel-configs/${configId}/channels`, { sceneCode: 'h5', channelName: '支付宝H5', sort: 1 });
  const native = await admin.post<{ id: number }>(`/channel-configs/${configId}/channels`, { sceneCode: 'native', channelName: '支付宝扫码', sort: 2 });
  expect([h5.body.code, native.body.code]).toEqual([1000, 1000]);
  expect((await admin.post(`/channel-configs/${configId}/channels`, { sceneCode: 'h5', channelName: 'dup' })).body.code).toBe(4090);
  const [h5Id, nativeId] = [h5.body.data!.id, native.body.data!.id];

  const { body } = await register('绑定商户');
  const app = { appId: body.data.appId, appKey: body.data.appKey };
  await admin.post(`/apps/${app.appId}/approve`);

  // Applications: each PENDING with its own workflow; unknown channels are 4040 and change nothing.
  expect((await signedCall(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelIds: [h5Id, 999999] })).body.code).toBe(4040);
  expect(await sys.t.db('app_channels').where({ app_id: app.appId })).toHaveLength(0);
  const applied = await signedCall<{ applications: Array<{ channelId: number; status: string; autoApproveAt: string }> }>(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelIds: [h5Id, nativeId] });
  expect(applied.body.code).toBe(1000);
  expect(verifySignedHeaders({ kind: 'response', pathWithQuery: `${SA}/apply/binding-channel`, headers: Object.fromEntries(applied.headers), body: JSON.stringify(applied.body), keys: [app.appKey] }).ok).toBe(true);
  expect(applied.body.data!.applications).toEqual([
    { channelId: h5Id, status: 'PENDING', autoApproveAt: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) },
    { channelId: nativeId, status: 'PENDING', autoApproveAt: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) },
  ]);
  const h5Handle = sys.client.workflow.getHandle(WorkflowIds.binding(app.appId, h5Id));
  const first = await h5Handle.describe();
  expect(first.status.name).toBe('RUNNING');
  expect(await first.staticSummary()).toContain(`应用 ${app.appId}`);
  // The auto-approval is a durable timer of BINDING_AUTO_APPROVE_SECONDS (3 days by default), labelled for the Web UI.
  const timer = await waitFor('timer started', async () => (await h5Handle.fetchHistory()).events?.find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED));
  expect(Number(timer.timerStartedEventAttributes!.startToFireTimeout!.seconds)).toBe(3 * 86_400);
  expect(Buffer.from(timer.userMetadata!.summary!.data!).toString('utf8')).toContain('auto-approve after 259200s unless rejected');
  expect((await h5Handle.query(bindingStateQuery)).status).toBe('PENDING');

  // Idempotent: the same application again changes nothing and starts nothing new.
  const again = await signedCall<{ applications: Array<{ status: string }> }>(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelId: h5Id });
  expect(again.body.data!.applications).toEqual([applied.body.data!.applications[0]]);
  expect((await h5Handle.describe()).runId).toBe(first.runId);
  // Nothing is bound yet: ordering is refused.
  const order = { amount: 1999, goodsDesc: '月卡', orderTitle: '会员', thirdPartyUser: 'u-1' };
  expect((await signedCall(sys.apiUrl, app, 'POST', '/api/cashier-desk/unified/orders', { ...order, outTradeNo: 'B1' })).body.code).toBe(4030);

  // The administrator's list; approve one (方式一), reject the other.
  const pending = await admin.get<{ items: Array<{ id: number; channelId: number; workflowUrl: string; autoApproveAt: string }> }>(`/bindings?status=PENDING&appId=${app.appId}`);
  expect(pending.body.data!.items.map((b) => b.channelId).sort()).toEqual([h5Id, nativeId].sort());
  const h5Binding = pending.body.data!.items.find((b) => b.channelId === h5Id)!;
  const nativeBinding = pending.body.data!.items.find((b) => b.channelId === nativeId)!;
  expect(h5Binding.workflowUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(`binding:${app.appId}:${h5Id}`)}`);
  const approved = await admin.post(`/bindings/${h5Binding.id}/approve`, { note: '资料齐全' });
  expect(approved.body).toMatchObject({ code: 1000, data: { status: 'APPROVED', appId: app.appId, channelId: h5Id } });
  const rejected = await admin.post(`/bindings/${nativeBinding.id}/reject`, { note: '扫码场景未开通' });
  expect(rejected.body).toMatchObject({ code: 1000, data: { status: 'REJECTED' } });
  expect((await admin.post(`/bindings/${h5Binding.id}/reject`)).body.code).toBe(4090);
  expect((await admin.post('/bindings/987654/approve')).body.code).toBe(4040);

  const h5Result = await h5Handle.result();
  expect(h5Result).toMatchObject({ status: 'APPROVED', recordedStatus: 'APPROVED', decision: { decidedBy: TEST_ADMIN.username, note: '资料齐全', auto: false } });
  const rows = await sys.t.db('app_channels').where({ app_id: app.appId }).orderBy('channel_id');
  expect(rows.map((r) => [r.channel_id, r.status, r.decided_by, r.decision_note])).toEqual([
    [h5Id, 'APPROVED', TEST_ADMIN.username, '资料齐全'],
    [nativeId, 'REJECTED', TEST_ADMIN.username, '扫码场景未开通'],
  ]);

  // The app can order now, with exactly the approved channel.
  const ordered = await signedCall<{ channels: Array<{ channelId: number; sceneCode: string }> }>(sys.apiUrl, app, 'POST', '/api/cashier-desk/unified/orders', { ...order, outTradeNo: 'B2' });
  expect(ordered.body.code).toBe(1000);
  expect(ordered.body.data!.channels.map((c) => [c.channelId, c.sceneCode])).toEqual([[h5Id, 'h5']]);

  // Applying again: the approved one stays approved; the rejected one is a fresh application (new run).
  const reapplied = await signedCall<{ applications: Array<{ channelId: number; status: string }> }>(sys.apiUrl, app, 'POST', `${SA}/apply/binding-channel`, { channelIds: [h5Id, nativeId] });
  expect(reapplied.body.data!.applications.map((a) => [a.channelId, a.status])).toEqual([
    [h5Id, 'APPROVED'],
    [nativeId, 'PENDING'],
  ]);
  const nativeHandle = sys.client.workflow.getHandle(WorkflowIds.binding(app.appId, nativeId));
  expect((await nativeHandle.describe()).status.name).toBe('RUNNING');

  const log = await admin.get<{ items: Array<{ action: string; actor: string; targetId: string }> }>('/audit?action=binding');
  const actions = log.body.data!.items.map((e) => `${e.action} ${e.actor}`);
  expect(actions).toEqual(expect.arrayContaining([`binding.approve ${TEST_ADMIN.username}`, `binding.reject ${TEST_ADMIN.username}`, `binding.apply app:${app.appId}`]));
});

test('key rotation: new key shown once, old key valid during the grace period and rejected after it; grace 0 revokes at once', async () => {
  const { body } = await register('轮换商户');
  const app = { appId: body.data.appId, appKey: body.data.appKey };
  await admin.post(`/apps/${app.appId}/approve`);
  const probe = async (key: string) => (await signedCall(sys.apiUrl, { appId: app.appId, appKey: key }, 'GET', '/api/cashier-desk/out-trade-no/query-pay-result/NOPE2')).body.code;
  expect(await probe(app.appKey)).toBe(4040);

  // Default grace from configuration (KEY_ROTATION_GRACE_SECONDS).
  const byDefault = await admin.post<{ appKey: string; graceSeconds: number; previousKeyValidUntil: string }>(`/apps/${app.appId}/rotate-key`);
  expect(byDefault.body.data!.graceSeconds).toBe(GRACE_SECONDS);
  const key2 = byDefault.body.data!.appKey;
  expect(key2).not.toBe(app.appKey);
  expect([await probe(app.appKey), await probe(key2)]).toEqual([4040, 4040]);

  // A short grace: both keys work at first, then only the new one. (Rotating again drops the oldest key at once.)
  const short = await admin.post<{ appKey: string; graceSeconds: number }>(`/apps/${app.appId}/rotate-key`, { graceSeconds: 2 });
  const key3 = short.body.data!.appKey;
  expect(await probe(app.appKey)).toBe(4010);
  expect(await probe(key2)).toBe(4040);
  expect(await probe(key3)).toBe(4040);
  await waitFor('old key to expire', async () => (await probe(key2)) === 4010, 15_000);
  expect(await probe(key3)).toBe(4040);
  const stored = await sys.t.db('apps').where({ app_id: app.appId }).first();
  expect(JSON.stringify(stored)).not.toContain(key3);

  // Grace 0 (a leaked key): the old key is refused immediately.
  const now = await admin.post<{ appKey: string }>(`/apps/${app.appId}/rotate-key`, { graceSeconds: 0 });
  expect(await probe(key3)).toBe(4010);
  expect(await probe(now.body.data!.appKey)).toBe(4040);

  const audit = await admin.get<{ items: Array<{ action: string; detail: Record<string, unknown> }> }>(`/audit?action=app.rotate_key&targetId=${app.appId}`);
  expect(audit.body.data!.items.map((e) => e.detail.graceSeconds)).toEqual([0, 2, GRACE_SECONDS]);
  expect(JSON.stringify(audit.body)).not.toMatch(new RegExp([app.appKey, key2, key3].map((k) => k.replace(/[-]/g, '\\-')).join('|')));
});
