/**
 * Hostile input against the whole system in one process (real PostgreSQL, dev server, sandboxes): property-based
 * (fast-check) signature headers and merchant bodies, prototype-pollution keys, oversized and chunked bodies,
 * path parameters and percent-encoding, path traversal on the static routes, administrator session fixation,
 * cross-site console requests and a concurrent login burst. Every refusal is its documented code, and nothing
 * changes in the database.
 */
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { sign, signRequestHeaders } from '../../signature';
import { AdminClient } from '../support/admin-client';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startTestSystem, TEST_ADMIN, type TestSystem } from '../support/system';

let sys: TestSystem;
let app: SeededApp;
const ORDERS = '/api/cashier-desk/unified/orders';
const REFUNDS = '/api/cashier-desk/refunds';

beforeAll(async () => {
  sys = await startTestSystem({ admin: { loginMaxFailures: 3, loginMaxFailuresPerIp: 1000 } });
  app = await seedApp(sys.t);
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

interface Reply {
  status: number;
  body: { code: number; msg: string };
}

/** Every table a refused merchant request could write to, counted. */
async function snapshot(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['orders', 'refunds', 'transfers', 'notification_attempts', 'payment_exceptions']) out[table] = Number((await sys.t.db(table).count({ n: '*' }).first())!.n);
  return out;
}

async function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  const res = await fetch(`${sys.apiUrl}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body });
  const text = await res.text();
  let parsed: Reply['body'];
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`not a JSON envelope (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
  expect(text).not.toMatch(/stack|select |insert |appKey|at .*\.ts|node_modules/i);
  return { status: res.status, body: parsed };
}

/** A correctly signed merchant call with exactly these bytes. */
const signed = (method: string, path: string, body: string | Buffer = '') =>
  send(method, path, signRequestHeaders({ method, pathWithQuery: path, appId: app.appId, appKey: app.appKey, body }), method === 'GET' ? undefined : body);

const validOrder = (over: Record<string, unknown> = {}) => ({ amount: 1999, goodsDesc: '商品', orderTitle: '标题', outTradeNo: `H${randomBytes(6).toString('hex')}`, thirdPartyUser: 'u', ...over });

/** Byte strings a header may carry (fetch refuses controls, DEL and anything above U+00FF). */
const headerValue = fc
  .oneof(
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa1, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'abcXYZ0189'), minLength: 15, maxLength: 65 }),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
    fc.constantFrom('0', '-1', '1e13', '0x1', 'NaN', 'Infinity', '9007199254740993', 'hmac-sha256', 'HMAC-SM3', 'HMAC-SHA256\t1', '../../etc/passwd'),
  )
  // HTTP strips surrounding whitespace and an empty header is a missing one (covered in merchant-api.test.ts).
  .map((v) => v.trim())
  .filter((v) => v.length > 0);

describe('Signature v1 headers', () => {
  const HEADERS = ['x-cashier-app-id', 'x-cashier-timestamp', 'x-cashier-nonce', 'x-cashier-sign-type', 'x-cashier-signature'] as const;

  test('any one header replaced by a hostile value: 4010, nothing written', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HEADERS), headerValue, async (name, value) => {
        const body = JSON.stringify(validOrder());
        const headers: Record<string, string> = { ...signRequestHeaders({ method: 'POST', pathWithQuery: ORDERS, appId: app.appId, appKey: app.appKey, body }) };
        // HTTP trims surrounding whitespace: a value equal to the original after that is the original.
        fc.pre(value.trim() !== headers[name]);
        headers[name] = value;
        const res = await send('POST', ORDERS, headers, body);
        expect([res.status, res.body.code]).toEqual([401, 4010]);
      }),
      { numRuns: 120 },
    );
    expect(await snapshot()).toEqual(before);
  });

  test('hostile header values signed correctly with the app key are still refused (format, window): 4010', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, async (timestamp, nonce) => {
        const now = Date.now();
        // Only values a valid request could carry are allowed through; everything else must be refused.
        const plausible = /^[0-9]{1,16}$/.test(timestamp) && Math.abs(Number(timestamp) - now) <= 300_000 && /^[A-Za-z0-9]{16,64}$/.test(nonce);
        fc.pre(!plausible);
        const body = JSON.stringify(validOrder());
        const signature = sign('HMAC-SHA256', app.appKey, Buffer.from(`POST\n${ORDERS}\n${app.appId}\n${timestamp}\n${nonce}\n${body}`, 'utf8'));
        const res = await send('POST', ORDERS, { 'x-cashier-app-id': app.appId, 'x-cashier-timestamp': timestamp, 'x-cashier-nonce': nonce, 'x-cashier-sign-type': 'HMAC-SHA256', 'x-cashier-signature': signature }, body);
        expect([res.status, res.body.code]).toEqual([401, 4010]);
      }),
      { numRuns: 80 },
    );
    expect(await snapshot()).toEqual(before);
  });

  test('a header repeated with two values, or far longer than any valid one: 4010', async () => {
    const before = await snapshot();
    const body = JSON.stringify(validOrder());
    const good = signRequestHeaders({ method: 'POST', pathWithQuery: ORDERS, appId: app.appId, appKey: app.appKey, body });
    for (const name of ['x-cashier-nonce', 'x-cashier-signature', 'x-cashier-app-id', 'x-cashier-timestamp'] as const) {
      const h = new Headers({ ...good, 'content-type': 'application/json' });
      h.append(name, good[name]);
      const res = await fetch(`${sys.apiUrl}${ORDERS}`, { method: 'POST', headers: h, body });
      expect([name, res.status, ((await res.json()) as { code: number }).code]).toEqual([name, 401, 4010]);
    }
    const long = await send('POST', ORDERS, { ...good, 'x-cashier-app-id': '9'.repeat(8000) }, body);
    expect(long.body.code).toBe(4010);
    expect(await snapshot()).toEqual(before);
  });
});

describe('merchant bodies', () => {
  /** Keys no merchant body has, including the ones that pollute prototypes when merged naively. */
  const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' amount', 'AMOUNT', '\u0000', '💥');
  const anyValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.integer(),
      fc.double(),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.oneof(hostileKey, fc.string({ maxLength: 5 })), tie('value'), { maxKeys: 3 }),
    ),
  })).value;
  /** Values no field of a merchant body accepts: fractions, out-of-range integers, objects, arrays, null, booleans, unstorable or overlong text. */
  const badValue = fc.oneof(
    fc.double().filter((d) => !Number.isInteger(d)),
    fc.constantFrom(0, -1, 1e21, 2 ** 53 + 1, Number.MAX_VALUE, -(2 ** 31)),
    fc.bigInt({ min: 10n ** 11n, max: 10n ** 30n }).map((n) => Number(n)),
    fc.constantFrom(null, true, false, 'a\u0000b', 'x\ud800', 'y'.repeat(300)),
    fc.array(anyValue, { maxLength: 3 }),
    fc.dictionary(fc.oneof(hostileKey, fc.string({ maxLength: 5 })), anyValue, { maxKeys: 3 }),
  );

  /** A valid body made hostile: an extra key it cannot have, a field given a value it cannot take, or other JSON. */
  const hostileBody = (base: () => Record<string, unknown>) => {
    const fields = Object.keys(base());
    return fc.oneof(
      fc.tuple(hostileKey, anyValue).map(([k, v]) => JSON.stringify(base()).replace(/}$/, `,${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}}`)),
      fc.tuple(fc.constantFrom(...fields), badValue).map(([k, v]) => JSON.stringify({ ...base(), [k]: v })),
      fc.constantFrom(...fields).map((k) => JSON.stringify({ ...base(), [k]: undefined })),
      anyValue.map((v) => JSON.stringify(v) ?? 'null'),
    );
  };

  test('unified order: hostile fields and shapes are refused with 4000 and write nothing; no prototype is polluted', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(hostileBody(validOrder), async (body) => {
        const res = await signed('POST', ORDERS, body);
        expect([res.status, res.body.code]).toEqual([400, 4000]);
      }),
      { numRuns: 150 },
    );
    expect(await snapshot()).toEqual(before);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('refund: hostile fields and shapes are refused with 4000 and write nothing', async () => {
    const before = await snapshot();
    const validRefund = () => ({ outTradeNo: 'NOPE', outRefundNo: `R${randomBytes(5).toString('hex')}`, amount: 100 });
    await fc.assert(
      fc.asyncProperty(hostileBody(validRefund), async (body) => {
        const res = await signed('POST', REFUNDS, body);
        expect([res.status, res.body.code]).toEqual([400, 4000]);
      }),
      { numRuns: 100 },
    );
    expect(await snapshot()).toEqual(before);
  });

  test.each([
    ['__proto__ with a payload', (o: string) => o.replace(/}$/, ',"__proto__":{"polluted":"yes","amount":1}}')],
    ['constructor.prototype with a payload', (o: string) => o.replace(/}$/, ',"constructor":{"prototype":{"polluted":"yes"}}}')],
    ['a duplicate amount key (the last would win in JSON.parse)', (o: string) => o.replace(/}$/, ',"amount":1}')],
    ['a duplicate key inside a nested object', () => '{"a":{"b":1,"b":2}}'],
    ['an amount with a fraction', (o: string) => o.replace('"amount":1999', '"amount":1999.0')],
    ['an amount in exponent form', (o: string) => o.replace('"amount":1999', '"amount":1.999e3')],
    ['an amount of 2^53 + 1', (o: string) => o.replace('"amount":1999', '"amount":9007199254740993')],
    ['an amount of 1e400', (o: string) => o.replace('"amount":1999', '"amount":1e400')],
    ['an amount of -0', (o: string) => o.replace('"amount":1999', '"amount":-0')],
    ['a NUL in a text field', (o: string) => o.replace('"goodsDesc":"商品"', '"goodsDesc":"a\\u0000b"')],
    ['a lone surrogate in a text field', (o: string) => o.replace('"goodsDesc":"商品"', '"goodsDesc":"a\\ud800b"')],
    ['10,000 nested arrays', (o: string) => o.replace('"amount":1999', `"amount":${'['.repeat(10_000)}${']'.repeat(10_000)}`)],
    ['a top-level array', () => '[1,2,3]'],
    ['a top-level string', () => '"amount"'],
    ['invalid UTF-8 bytes', () => Buffer.concat([Buffer.from('{"goodsDesc":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])],
  ])('unified order with %s: 4000, nothing written, nothing polluted', async (_name, make) => {
    const before = await snapshot();
    const res = await signed('POST', ORDERS, make(JSON.stringify(validOrder())));
    expect([res.status, res.body.code]).toEqual([400, 4000]);
    expect(await snapshot()).toEqual(before);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('any Unicode text in goodsDesc either round-trips exactly or is refused with 4000 and nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('grapheme', 'binary') as unknown as fc.Arbitrary<string>, minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0), async (text) => {
        const order = validOrder({ goodsDesc: text });
        const before = await snapshot();
        const res = await signed('POST', ORDERS, JSON.stringify(order));
        if (res.body.code === 1000) {
          const row = await sys.t.db('orders').where({ app_id: app.appId, out_trade_no: order.outTradeNo }).first();
          expect(row.goods_desc).toBe(text.trim());
        } else {
          expect([res.status, res.body.code]).toEqual([400, 4000]);
          expect(await snapshot()).toEqual(before);
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('sizes and encodings', () => {
  test('a chunked body over MAX_BODY_BYTES (no Content-Length) is 4130 and writes nothing', async () => {
    const before = await snapshot();
    const big = JSON.stringify(validOrder({ goodsDesc: 'x'.repeat(80_000) }));
    const headers = signRequestHeaders({ method: 'POST', pathWithQuery: ORDERS, appId: app.appId, appKey: app.appKey, body: big });
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 8192) c.enqueue(new TextEncoder().encode(big.slice(i, i + 8192)));
        c.close();
      },
    });
    const res = await fetch(`${sys.apiUrl}${ORDERS}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect([res.status, ((await res.json()) as { code: number }).code]).toEqual([413, 4130]);
    expect(await snapshot()).toEqual(before);
  });

  test('a Content-Length of 10 GB is refused with 4130 before the body arrives', async () => {
    const { port } = new URL(sys.apiUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write(`POST ${ORDERS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"amount":`));
      let text = '';
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('end', () => resolve(text));
      s.on('error', reject);
      setTimeout(() => (s.destroy(), resolve(text)), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('"code":4130');
  });

  test.each([
    ['a NUL in the order number', '/api/cashier-desk/out-trade-no/query-pay-result/A%00B', [400, 4000]],
    ['broken percent-encoding in the order number', '/api/cashier-desk/out-trade-no/query-pay-result/%E0%A4%A', [400, 4000]],
    ['an overlong order number', `/api/cashier-desk/out-trade-no/query-pay-result/${'A'.repeat(5000)}`, [400, 4000]],
    ['a NUL in the refund number', '/api/cashier-desk/refunds/R%00', [400, 4000]],
    ['broken percent-encoding in the refund number', '/api/cashier-desk/refunds/%ZZ', [400, 4000]],
    ['a NUL in the transfer number', '/api/cashier-desk/transfers/T%00', [400, 4000]],
    ['a NUL in the statement day', '/api/cashier-desk/bills/2026-01-01%00', [400, 4000]],
    ['broken percent-encoding in the statement day', '/api/cashier-desk/bills/%C0%AF', [400, 4000]],
  ])('signed GET with %s: its documented code, no 5000', async (_name, path, [status, code]) => {
    const res = await signed('GET', path);
    expect([res.status, res.body.code]).toEqual([status, code]);
  });
});

describe('text PostgreSQL cannot store, outside the merchant API', () => {
  test('console login with a NUL in the username: 4000, no 5000, nothing recorded', async () => {
    const before = await sys.t.db('admin_login_attempts').count({ n: '*' }).first();
    const res = await fetch(`${sys.apiUrl}/api/cashier-desk-admin/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: sys.apiUrl }, body: '{"username":"ad\\u0000min","password":"x"}' });
    expect([res.status, ((await res.json()) as { code: number }).code]).toEqual([400, 4000]);
    expect(await sys.t.db('admin_login_attempts').count({ n: '*' }).first()).toEqual(before);
  });

  test('console search with a NUL in a filter: 4000, no 5000', async () => {
    const c = new AdminClient(sys.apiUrl);
    await c.login(TEST_ADMIN.username, TEST_ADMIN.password);
    for (const q of ['/orders?outTradeNo=A%00', '/refunds?outRefundNo=%00', '/audit?action=%00']) {
      const res = await c.get(q);
      expect([q, res.status, res.body.code]).toEqual([q, 400, 4000]);
    }
  });

  test('cashier endpoints and pages with a NUL or broken encoding in the token: not found, no 5000', async () => {
    for (const p of ['/api/cashier-desk/cashier/%00', '/api/cashier-desk/cashier/%E0%A4%A']) {
      const res = await fetch(`${sys.apiUrl}${p}`);
      expect([p, res.status < 500]).toEqual([p, true]);
      expect([p, [4000, 4040]]).toEqual([p, expect.arrayContaining([((await res.json()) as { code: number }).code])]);
    }
    for (const p of ['/cashier-desk-web/payment?token=%00', '/cashier-desk-web/result?token=%00', '/cashier-desk-web/qr.svg?token=%00', '/cashier-desk-web/payment?token=%E0%A4%A']) {
      const res = await fetch(`${sys.apiUrl}${p}`);
      expect([p, res.status < 500]).toEqual([p, true]);
    }
    const pay = await fetch(`${sys.apiUrl}/api/cashier-desk/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":"A\\u0000","openid":"\\u0000"}' });
    expect(pay.status).toBe(400);
  });
});

describe('path traversal on static routes', () => {
  const probes = [
    '..%2f..%2fpackage.json',
    '..%252f..%252fpackage.json',
    '..\\..\\package.json',
    '..%5c..%5cpackage.json',
    '%2e%2e%2f%2e%2e%2fpackage.json',
    '....%2f%2fpackage.json',
    'cashier.js%00.png',
    '%c0%ae%c0%ae%2fpackage.json',
    'index.ts',
    'cashier.js%2f..%2f..%2findex.ts',
  ];
  test.each(['/cashier-desk-web/static/', '/cashier-desk-admin/assets/'])('%s: only the listed files are served', async (base) => {
    for (const p of probes) {
      const res = await fetch(`${sys.apiUrl}${base}${p}`, { redirect: 'manual' });
      const text = await res.text();
      expect([p, res.status === 404 || res.status === 400]).toEqual([p, true]);
      expect(text).not.toMatch(/"name": "cashier-desk"|import |DATABASE_URL|devDependencies/);
    }
    // Dot segments collapse before routing: nothing outside the folder is reachable either way.
    for (const p of ['../../package.json', '/../../../package.json', '%2F..%2F..%2Fpackage.json', '..', '%2e%2e', '%2e%2e/%2e%2e/package.json']) {
      const res = await fetch(`${sys.apiUrl}${base}${p}`, { redirect: 'manual' });
      expect(await res.text()).not.toMatch(/"name": "cashier-desk"|devDependencies/);
    }
  });

  test('the console public files and cashier assets are still served', async () => {
    const js = await fetch(`${sys.apiUrl}/cashier-desk-web/static/cashier.js`);
    expect(js.status).toBe(200);
  });
});

describe('administrator sessions', () => {
  test('session fixation: a cookie planted before login is not adopted; login issues a fresh id and the planted one stays anonymous', async () => {
    const planted = randomBytes(32).toString('base64url');
    const c = new AdminClient(sys.apiUrl);
    c.cookie = `cashier_admin=${planted}`;
    expect((await c.get('/session')).body.code).toBe(4010);
    const res = await c.login(TEST_ADMIN.username, TEST_ADMIN.password);
    expect(res.body.code).toBe(1000);
    const issued = c.cookie!.split('=')[1];
    expect(issued).not.toBe(planted);
    expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The attacker, holding the planted value, is still anonymous; the victim's new session works.
    const attacker = new AdminClient(sys.apiUrl);
    attacker.cookie = `cashier_admin=${planted}`;
    expect((await attacker.get('/session')).body.code).toBe(4010);
    expect((await c.get('/session')).body.code).toBe(1000);
  });

  test("an attacker's own live session planted in the victim's browser is ended by the victim's login", async () => {
    const attacker = new AdminClient(sys.apiUrl);
    expect((await attacker.login(TEST_ADMIN.username, TEST_ADMIN.password)).body.code).toBe(1000);
    const victim = new AdminClient(sys.apiUrl);
    victim.cookie = attacker.cookie;
    expect((await victim.login(TEST_ADMIN.username, TEST_ADMIN.password)).body.code).toBe(1000);
    expect(victim.cookie).not.toBe(attacker.cookie);
    expect((await attacker.get('/session')).body.code).toBe(4010);
  });

  test('CSRF: a cross-site form post (urlencoded or text/plain, no custom header) changes nothing', async () => {
    const c = new AdminClient(sys.apiUrl);
    await c.login(TEST_ADMIN.username, TEST_ADMIN.password);
    const before = await sys.t.db('admin_audit_log').count({ n: '*' }).first();
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', 'x-csrf-token=' + c.csrfToken],
      ['text/plain', JSON.stringify({ note: 'x' })],
    ]) {
      const res = await fetch(`${c.api}/orders/1/renotify`, { method: 'POST', headers: { cookie: c.cookie!, origin: 'https://evil.example', 'content-type': type }, body });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: number }).code).toBe(4030);
      // Same origin but the token only in the body or the query string: refused too (JSON only, then the header).
      const sameOrigin = await fetch(`${c.api}/orders/1/renotify?x-csrf-token=${c.csrfToken}`, { method: 'POST', headers: { cookie: c.cookie!, origin: sys.apiUrl, 'content-type': type }, body });
      expect([4000, 4030]).toContain(((await sameOrigin.json()) as { code: number }).code);
      const noHeader = await fetch(`${c.api}/orders/1/renotify?x-csrf-token=${c.csrfToken}`, { method: 'POST', headers: { cookie: c.cookie!, origin: sys.apiUrl, 'content-type': 'application/json' }, body: '{}' });
      expect(((await noHeader.json()) as { code: number }).code).toBe(4030);
    }
    expect(await sys.t.db('admin_audit_log').count({ n: '*' }).first()).toEqual(before);
  });

  test('brute force: a burst of concurrent wrong passwords gets at most ADMIN_LOGIN_MAX_FAILURES password checks', async () => {
    const user = 'burst-target';
    const guess = () => new AdminClient(sys.apiUrl).login(user, `guess-${randomBytes(4).toString('hex')}`);
    const burst = (await Promise.all(Array.from({ length: 25 }, guess))).map((r) => r.body.code);
    // Then one at a time: whatever the burst left of the allowance is used up, and no more.
    const after: number[] = [];
    for (let i = 0; i < 4; i++) after.push((await guess()).body.code);
    const codes = [...burst, ...after];
    // loginMaxFailures is 3 here: exactly three wrong passwords are ever checked (4010); every other attempt is locked out.
    expect(codes.filter((c) => c === 4010)).toHaveLength(3);
    expect(codes.filter((c) => c === 4290)).toHaveLength(codes.length - 3);
    expect(after[after.length - 1]).toBe(4290);
    const denied = await sys.t.db('admin_audit_log').where({ action: 'admin.login', target_id: user, outcome: 'DENIED' }).count({ n: '*' }).first();
    expect(Number(denied!.n)).toBe(3);
  });
});
