/**
 * Authorization of the administrator API and console: anonymous callers, wrong credentials, merchant keys,
 * CSRF (token and Origin), session cookie attributes, logout, idle and absolute expiry, login throttling
 * per username and per IP, and the audit trail. Times are moved in PostgreSQL, never waited for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../db/queries/apps';
import { createLogger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import { hashPasswordSync, parsePasswordHash, verifyPassword } from '../../security/password';
import { resolveAdminCredential } from '../../security/admin-credential';
import { loadConfig } from '../../config';
import { AdminClient, signedCall } from '../support/admin-client';
import { buildHttpApp, startTestSystem, testConfig, TEST_ADMIN, type TestSystem } from '../support/system';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let sys: TestSystem;
let pendingAppId: string;

beforeAll(async () => {
  sys = await startTestSystem({ admin: { loginMaxFailures: 3, loginMaxFailuresPerIp: 8, loginWindowSeconds: 900, sessionIdleSeconds: 1800, sessionMaxSeconds: 7200 } });
  pendingAppId = (await createApp(sys.t.db, sys.t.box, { name: '待审应用', status: 'PENDING' })).appId;
});

afterAll(async () => {
  await sys?.stop();
});

async function loggedIn(): Promise<AdminClient> {
  const c = new AdminClient(sys.apiUrl);
  const res = await c.login(TEST_ADMIN.username, TEST_ADMIN.password);
  expect(res.body.code).toBe(1000);
  return c;
}

test('anonymous: every admin route is 4010; nothing changes', async () => {
  const anon = new AdminClient(sys.apiUrl);
  for (const [method, p] of [
    ['GET', '/session'],
    ['GET', '/apps'],
    ['GET', '/orders'],
    ['GET', '/audit'],
    ['GET', '/channel-configs'],
    ['GET', '/bindings'],
    ['POST', `/apps/${pendingAppId}/approve`],
    ['POST', `/apps/${pendingAppId}/rotate-key`],
    ['PATCH', `/apps/${pendingAppId}`],
    ['POST', '/channel-configs'],
    ['POST', '/bindings/1/approve'],
    ['POST', '/orders/1/renotify'],
    ['POST', '/logout'],
    ['GET', '/no-such-route'],
  ] as const) {
    const res = await anon.request(method, p, method === 'GET' ? undefined : {});
    expect([p, res.status, res.body.code]).toEqual([p, 401, 4010]);
    expect(JSON.stringify(res.body)).not.toMatch(/stack|select |at .*\.ts/i);
  }
  // A forged cookie is no better.
  anon.cookie = `cashier_admin=${'A'.repeat(43)}`;
  expect((await anon.get('/apps')).body.code).toBe(4010);
  expect((await sys.t.db('apps').where({ app_id: pendingAppId }).first()).status).toBe('PENDING');
});

test('wrong credentials: 4010, no cookie, audited as DENIED without the password', async () => {
  const c = new AdminClient(sys.apiUrl);
  const wrongPass = await c.login(TEST_ADMIN.username, 'not-the-password');
  expect([wrongPass.status, wrongPass.body.code]).toEqual([401, 4010]);
  expect(wrongPass.headers.getSetCookie()).toEqual([]);
  const wrongUser = await c.login('root', TEST_ADMIN.password);
  expect(wrongUser.body.code).toBe(4010);
  expect(wrongUser.body.msg).toBe(wrongPass.body.msg); // no hint which part was wrong
  expect((await c.login(TEST_ADMIN.username, '')).body.code).toBe(4010);
  expect((await c.post('/login', { username: TEST_ADMIN.username, password: 'x', extra: 1 })).body.code).toBe(4000);
  expect(c.cookie).toBeNull();
  const denied = await sys.t.db('admin_audit_log').where({ action: 'admin.login', outcome: 'DENIED' });
  expect(denied.map((d) => d.actor)).toEqual(expect.arrayContaining([TEST_ADMIN.username, 'root']));
  expect(JSON.stringify(await sys.t.db('admin_audit_log'))).not.toContain('not-the-password');
  expect(JSON.stringify(await sys.t.db('admin_login_attempts'))).not.toContain('not-the-password');
  await sys.t.db('admin_login_attempts').delete();
});

test('login: session cookie HttpOnly + SameSite=Strict, id stored hashed, CSRF token returned; GET works without it', async () => {
  const c = new AdminClient(sys.apiUrl);
  const res = await c.login(TEST_ADMIN.username, TEST_ADMIN.password);
  expect(res.body).toMatchObject({ code: 1000, data: { username: TEST_ADMIN.username, csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } });
  const [cookie] = res.headers.getSetCookie();
  expect(cookie).toMatch(/^cashier_admin=[A-Za-z0-9_-]{43}; Max-Age=7200; Path=\/; Expires=.*; HttpOnly; SameSite=Strict$/);
  expect(cookie).not.toMatch(/Secure/); // http base URL here; see the https test below
  const id = c.cookie!.split('=')[1];
  const rows = await sys.t.db('admin_sessions');
  expect(rows.some((r) => r.id_hash === id)).toBe(false);
  expect(rows.some((r) => r.csrf_token === res.body.data!.csrfToken)).toBe(true);
  const session = await c.get('/session');
  expect(session.body.data).toMatchObject({ username: TEST_ADMIN.username, csrfToken: res.body.data!.csrfToken });
});

test("a merchant's signed request is refused on admin routes (4030), even next to a valid session", async () => {
  const app = await createApp(sys.t.db, sys.t.box, { name: 'merchant', status: 'APPROVED' });
  for (const [method, p] of [
    ['GET', '/api/cashier-desk-admin/apps'],
    ['POST', `/api/cashier-desk-admin/apps/${pendingAppId}/approve`],
    ['POST', '/api/cashier-desk-admin/login'],
  ] as const) {
    const res = await signedCall(sys.apiUrl, app, method, p, method === 'GET' ? undefined : {});
    expect([p, res.status, res.body.code]).toEqual([p, 403, 4030]);
  }
  const c = await loggedIn();
  const withSession = await c.post(`/apps/${pendingAppId}/approve`, undefined, { 'x-cashier-app-id': app.appId, 'x-cashier-signature': 'ab' });
  expect(withSession.body.code).toBe(4030);
  expect((await sys.t.db('apps').where({ app_id: pendingAppId }).first()).status).toBe('PENDING');
});

test('CSRF: token missing or wrong, another session’s token, missing or foreign Origin → 4030; JSON only', async () => {
  const c = await loggedIn();
  const other = await loggedIn();
  const url = `/apps/${pendingAppId}/approve`;
  const cases: Array<[string, Record<string, string>]> = [
    ['no token', { 'x-csrf-token': '' }],
    ['wrong token', { 'x-csrf-token': 'x'.repeat(43) }],
    ["another session's token", { 'x-csrf-token': other.csrfToken! }],
    ['no Origin', { origin: '' }],
    ['foreign Origin', { origin: 'https://evil.example' }],
    ['null Origin', { origin: 'null' }],
    ['foreign Referer, no Origin', { origin: '', referer: 'https://evil.example/page' }],
  ];
  for (const [what, headers] of cases) {
    const res = await c.post(url, undefined, headers);
    expect([what, res.status, res.body.code]).toEqual([what, 403, 4030]);
  }
  expect((await sys.t.db('apps').where({ app_id: pendingAppId }).first()).status).toBe('PENDING');
  // A form post (text/plain) is not accepted as a state change even with the token.
  const form = await fetch(`${c.api}/apps/${pendingAppId}`, {
    method: 'PATCH',
    headers: { cookie: c.cookie!, origin: sys.apiUrl, 'x-csrf-token': c.csrfToken!, 'content-type': 'text/plain' },
    body: '{"name":"x"}',
  });
  expect(((await form.json()) as { code: number }).code).toBe(4000);
  // Same-origin Referer without Origin, and the right token: accepted.
  const ok = await c.post(url, undefined, { origin: '', referer: `${sys.apiUrl}/cashier-desk-admin` });
  expect(ok.body).toMatchObject({ code: 1000, data: { status: 'APPROVED' } });
  await sys.t.db('apps').where({ app_id: pendingAppId }).update({ status: 'PENDING' });
});

test('logout ends the session server-side; idle and absolute expiry end it too', async () => {
  const c = await loggedIn();
  const stolen = c.cookie!;
  expect((await c.post('/logout')).body.code).toBe(1000);
  expect(c.cookie).toBeNull();
  const replay = new AdminClient(sys.apiUrl);
  replay.cookie = stolen;
  expect((await replay.get('/apps')).body.code).toBe(4010);

  const idle = await loggedIn();
  await sys.t.db('admin_sessions').update({ last_seen_at: new Date(Date.now() - 1801_000) });
  expect((await idle.get('/apps')).body.code).toBe(4010);

  const old = await loggedIn();
  await sys.t.db('admin_sessions').update({ expires_at: new Date(Date.now() - 1000) });
  expect((await old.get('/apps')).body.code).toBe(4010);
  expect(await sys.t.db('admin_sessions')).toHaveLength(0); // expired sessions are deleted when seen
});

test('login throttling: per username (then the window passes), per IP; 4290 with Retry-After even for the right password', async () => {
  await sys.t.db('admin_login_attempts').delete();
  const c = new AdminClient(sys.apiUrl);
  for (let i = 0; i < 3; i++) expect((await c.login(TEST_ADMIN.username, `wrong-${i}`)).body.code).toBe(4010);
  const locked = await c.login(TEST_ADMIN.username, TEST_ADMIN.password);
  expect([locked.status, locked.body.code]).toEqual([429, 4290]);
  expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(locked.headers.getSetCookie()).toEqual([]);
  // The window passes (moved in the database, not waited for): the right password works and clears the count.
  await sys.t.db('admin_login_attempts').update({ at: new Date(Date.now() - 901_000) });
  expect((await c.login(TEST_ADMIN.username, TEST_ADMIN.password)).body.code).toBe(1000);

  // Per IP: many usernames from one address.
  await sys.t.db('admin_login_attempts').delete();
  for (let i = 0; i < 8; i++) expect((await new AdminClient(sys.apiUrl).login(`guess${i}`, 'x')).body.code).toBe(4010);
  const ipLocked = await new AdminClient(sys.apiUrl).login(TEST_ADMIN.username, TEST_ADMIN.password);
  expect(ipLocked.body.code).toBe(4290);
  // An existing session keeps working: throttling guards the login only.
  expect((await c.get('/apps')).body.code).toBe(1000);
  await sys.t.db('admin_login_attempts').delete();
});

test('audit log: login and logout with who, when, IP', async () => {
  const c = await loggedIn();
  const res = await c.get<{ items: Array<{ actor: string; action: string; ip: string; at: string; outcome: string }> }>('/audit?action=admin.');
  const mine = res.body.data!.items.filter((e) => e.outcome === 'OK');
  expect(mine[0]).toMatchObject({ actor: TEST_ADMIN.username, action: 'admin.login', ip: '127.0.0.1', at: expect.stringMatching(/^\d{4}-/) });
  expect(res.body.data!.items.map((e) => e.action)).toContain('admin.logout');
});

test('console page: strict CSP (no inline script or style), no framing, same-origin referrer for the Origin check', async () => {
  const res = await fetch(`${sys.apiUrl}/cashier-desk-admin`);
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('referrer-policy')).toBe('same-origin');
  const html = await res.text();
  expect(html).toContain('lang="zh-CN"');
  expect(html).not.toMatch(/<script>|<style>|\son[a-z]+=|style=/);
  const js = await fetch(`${sys.apiUrl}/cashier-desk-admin/assets/admin.js`);
  expect(js.headers.get('content-type')).toContain('javascript');
  expect(await js.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function/);
  expect((await fetch(`${sys.apiUrl}/cashier-desk-admin/assets/../../package.json`)).status).not.toBe(200);
});

test('https public base URL: Secure cookie with the __Host- prefix', async () => {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const config = testConfig({ PUBLIC_BASE_URL: 'https://pay.example.com', ADMIN_USERNAME: 'admin', ADMIN_PASSWORD_HASH: hashPasswordSync('pw-for-https', { N: 1024, r: 8, p: 1 }) });
  const { app } = buildHttpApp({ t: sys.t, client: sys.client, taskQueue: sys.taskQueue, providers: createDefaultProviders(), log: createLogger({ write: () => {} }) }, config);
  server.on('request', app);
  try {
    const c = new AdminClient(`http://127.0.0.1:${port}`, 'https://pay.example.com');
    const res = await c.login('admin', 'pw-for-https');
    expect(res.body.code).toBe(1000);
    expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-cashier_admin=[^;]+; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('password hashes: scrypt$N$r$p$salt$hash, verified in constant time; development password kept in .data (mode 600)', async () => {
  const hash = hashPasswordSync('s3cret-password', { N: 1024, r: 8, p: 1 });
  expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  expect(parsePasswordHash(hash)).not.toBeNull();
  expect(await verifyPassword('s3cret-password', hash)).toBe(true);
  expect(await verifyPassword('s3cret-passwore', hash)).toBe(false);
  expect(await verifyPassword('x', 'scrypt$3$8$1$abc$def')).toBe(false);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'admin-cred-'));
  const first = resolveAdminCredential({ env: 'development', admin: { username: 'admin' } }, dir);
  expect(first).toMatchObject({ source: 'file', username: 'admin' });
  expect(statSync(path.join(dir, 'admin-password')).mode & 0o777).toBe(0o600);
  const again = resolveAdminCredential({ env: 'development', admin: { username: 'admin' } }, dir);
  expect(again.password).toBe(first.password);
  expect(readFileSync(path.join(dir, 'admin-password'), 'utf8').trim()).toBe(first.password);
  expect(await verifyPassword(first.password!, again.passwordHash)).toBe(true);
  expect(() => resolveAdminCredential({ env: 'production', admin: { username: 'admin' } }, dir)).toThrow(/ADMIN_PASSWORD_HASH/);
  expect(resolveAdminCredential({ env: 'production', admin: { username: 'ops', passwordHash: hash } }, dir)).toMatchObject({ source: 'config', username: 'ops', passwordHash: hash });

  // Configuration fails fast: production needs a hash, and a malformed one is refused anywhere.
  const prod = { NODE_ENV: 'production', CASHIER_MASTER_KEY: 'a'.repeat(64), DATABASE_URL: 'postgres://x', PUBLIC_BASE_URL: 'https://pay.example.com' };
  expect(() => loadConfig(prod)).toThrow(/ADMIN_PASSWORD_HASH is required/);
  expect(loadConfig({ ...prod, ADMIN_PASSWORD_HASH: hash }).admin).toMatchObject({ username: 'admin', passwordHash: hash, bindingAutoApproveSeconds: 259_200, keyRotationGraceSeconds: 86_400 });
  expect(() => loadConfig({ ADMIN_PASSWORD_HASH: 'plaintext' })).toThrow(/ADMIN_PASSWORD_HASH/);
  expect(loadConfig({ BINDING_AUTO_APPROVE_SECONDS: '5', TEMPORAL_UI_URL: 'http://ui.local:8080/' }).admin).toMatchObject({ bindingAutoApproveSeconds: 5, temporalUiUrl: 'http://ui.local:8080' });
});

test('registration is rate-limited per IP (REGISTER_RATE_LIMIT_PER_HOUR, 20 by default): 4290 with Retry-After', async () => {
  const register = () =>
    fetch(`${sys.apiUrl}/api/cashier-desk-sa/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '批量注册', notifyUrl: 'https://m.example.com/n', contact: 'c' }),
    });
  const codes: number[] = [];
  for (let i = 0; i < 21; i++) {
    const res = await register();
    codes.push(((await res.json()) as { code: number }).code);
    if (i === 20) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  expect(codes.slice(0, 20).every((c) => c === 1000)).toBe(true);
  expect(codes[20]).toBe(4290);
  expect(await sys.t.db('apps').where({ name: '批量注册' })).toHaveLength(20);
});
