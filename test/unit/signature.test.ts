/**
 * Signature v1 — published test vectors and verification behaviour.
 *
 * The expected hex values were computed independently of Node's crypto: HMAC-SHA256 with Python's
 * `hmac`/`hashlib`, HMAC-SM3 with a pure-Python SM3 (checked against the GB/T 32905 vectors for "abc"
 * and "abcd"×16) and a hand-written RFC 2104 HMAC (block size 64), cross-checked with OpenSSL
 * (`openssl dgst -sm3 -hmac 000000`).
 */
import {
  CANONICAL_HEADER,
  HEADER,
  MemoryNonceStore,
  NONCE_TTL_MS,
  SIGN_TYPES,
  SignType,
  TIMESTAMP_TOLERANCE_MS,
  generateNonce,
  getHeader,
  isValidNonce,
  orderStringToSign,
  requestStringToSign,
  responseStringToSign,
  sign,
  signOrder,
  signRequestHeaders,
  signResponseHeaders,
  signaturesEqual,
  verifyOrder,
  verifySignedHeaders,
  verifySignedMessage,
} from '../../signature';

const APP_ID = '10123';
const APP_KEY = '000000';
const TS = 1617096420811;
const NONCE = 'a1B2c3D4e5F6g7H8';
const PATH = '/api/cashier-desk/unified/orders';
const QUERY_PATH = '/api/cashier-desk/out-trade-no/query-pay-result/110';
const BODY = '{"amount":1}';
const CN_BODY = '{"goodsDesc":"收银台","amount":1}';
const TOKEN = '8FD92320C51048D1B69264E5899B6DBF';
const OUT_TRADE_NO = '110';
const LONG_KEY = 'k'.repeat(70) + '密钥'; // longer than the 64-byte HMAC block: hashed first

const VECTORS: Array<{ name: string; key: string; data: () => Buffer; sha256: string; sm3: string }> = [
  {
    name: 'request POST',
    key: APP_KEY,
    data: () => requestStringToSign({ method: 'post', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: BODY }),
    sha256: '89e29dfe66b84c09d95adedf9bcc0cd735d789898f5374a7397c6ebca5aa3fc5',
    sm3: 'ffe813a5d9e7c1e5f810a18a6cc337cd16e1ad636f6a46371d95d91c2b5dd665',
  },
  {
    name: 'request GET, empty body',
    key: APP_KEY,
    data: () => requestStringToSign({ method: 'GET', pathWithQuery: QUERY_PATH, appId: APP_ID, timestamp: TS, nonce: NONCE }),
    sha256: 'b9063e503ed3979d5ce67c53bf2e0c92259c3900abeeb96a6b2d64daf4831cff',
    sm3: 'fd7fe09f5c1eae74fe092109b9a93b6aea18672a14d75fdb0bef407a35067dda',
  },
  {
    name: 'response',
    key: APP_KEY,
    data: () => responseStringToSign({ pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: BODY }),
    sha256: '6b59dd24de0cc15d7539a7b346188b468c82d60ccf4315bb8680ea9c00a4fd0e',
    sm3: '9eb48f1adccc62f8f751b086b868eff905d372499d21c4c4ce4bbecd1fb2e5c3',
  },
  {
    name: 'order block',
    key: APP_KEY,
    data: () => orderStringToSign({ appId: APP_ID, outTradeNo: OUT_TRADE_NO, token: TOKEN, timestamp: TS, nonce: NONCE }),
    sha256: '58018786e6c19d37e319df1297f2ff796d0c7f6ecafa9f08486f43976001e0ee',
    sm3: 'dfbeb428e7406e9c79bd7e529931784abed31203d643f7af51ecce4b4129bf19',
  },
  {
    name: 'request POST, UTF-8 body',
    key: APP_KEY,
    data: () => requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: CN_BODY }),
    sha256: '162bff86167e839847a9b7719e5fed73baae0528bf743375169c6ea89c391228',
    sm3: 'fd2bc31d843766f43a17fd0e2c164f7a3d044e7ea04e3209653a9975690f6007',
  },
  {
    name: 'request POST, 72-char key',
    key: LONG_KEY,
    data: () => requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: BODY }),
    sha256: '5d37fe59ded7466b72f6d7cb5a8257043d04922e42446058a67f8841cfd54fc1',
    sm3: 'b0edbc4a02905cd17c7d42d972934f02df35942db5c57f2a8c49b23529af095b',
  },
];

describe('Signature v1 test vectors', () => {
  it('Node provides SM3', () => {
    expect(sign('HMAC-SM3', 'k', 'x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(VECTORS)('$name', ({ key, data, sha256, sm3 }) => {
    expect(sign('HMAC-SHA256', key, data())).toBe(sha256);
    expect(sign('HMAC-SM3', key, data())).toBe(sm3);
  });

  it('builds the exact strings to sign', () => {
    expect(requestStringToSign({ method: 'post', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: BODY }).toString()).toBe(
      `POST\n${PATH}\n10123\n1617096420811\n${NONCE}\n{"amount":1}`,
    );
    // GET: empty body, so the string ends with the separator
    expect(requestStringToSign({ method: 'GET', pathWithQuery: QUERY_PATH, appId: APP_ID, timestamp: String(TS), nonce: NONCE, body: '' }).toString()).toBe(
      `GET\n${QUERY_PATH}\n10123\n1617096420811\n${NONCE}\n`,
    );
    expect(responseStringToSign({ pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: BODY }).toString()).toBe(
      `RESPONSE\n${PATH}\n10123\n1617096420811\n${NONCE}\n{"amount":1}`,
    );
    expect(orderStringToSign({ appId: APP_ID, outTradeNo: OUT_TRADE_NO, token: TOKEN, timestamp: TS, nonce: NONCE }).toString()).toBe(
      `ORDER\n10123\n110\n${TOKEN}\n1617096420811\n${NONCE}`,
    );
  });

  it('signs the UTF-8 bytes of the body; Buffer and string bodies agree', () => {
    const asString = requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: CN_BODY });
    const asBuffer = requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: Buffer.from(CN_BODY, 'utf8') });
    expect(asString.equals(asBuffer)).toBe(true);
    expect(asString.length).toBe(Buffer.byteLength(`POST\n${PATH}\n10123\n1617096420811\n${NONCE}\n`) + Buffer.byteLength(CN_BODY, 'utf8'));
    // a different encoding of the same text is a different message
    const utf16 = requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: APP_ID, timestamp: TS, nonce: NONCE, body: Buffer.from(CN_BODY, 'utf16le') });
    expect(sign('HMAC-SHA256', APP_KEY, utf16)).not.toBe(VECTORS[4].sha256);
  });

  it('rejects fields that would make the string ambiguous', () => {
    expect(() => requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: '10\n123', timestamp: TS, nonce: NONCE })).toThrow(TypeError);
    expect(() => requestStringToSign({ method: 'POST', pathWithQuery: 'no-slash', appId: APP_ID, timestamp: TS, nonce: NONCE })).toThrow(TypeError);
    expect(() => requestStringToSign({ method: 'POST', pathWithQuery: PATH, appId: APP_ID, timestamp: 1.5, nonce: NONCE })).toThrow(TypeError);
    expect(() => sign('HMAC-MD5' as SignType, APP_KEY, 'x')).toThrow(TypeError);
    expect(() => sign('HMAC-SHA256', '', 'x')).toThrow(TypeError);
  });
});

describe('signaturesEqual', () => {
  const sig = VECTORS[0].sha256;
  it('compares decoded bytes', () => {
    expect(signaturesEqual(sig, sig)).toBe(true);
    expect(signaturesEqual(sig, sig.toUpperCase())).toBe(true);
    expect(signaturesEqual(sig, sig.slice(0, -1) + (sig.endsWith('5') ? '4' : '5'))).toBe(false);
    expect(signaturesEqual(sig, '0' + sig.slice(1))).toBe(false);
  });
  it('is false on length mismatch, odd length, non-hex and empty input', () => {
    expect(signaturesEqual(sig, sig.slice(0, 62))).toBe(false);
    expect(signaturesEqual(sig, sig + '00')).toBe(false);
    expect(signaturesEqual(sig.slice(0, 63), sig.slice(0, 63))).toBe(false);
    expect(signaturesEqual('zz' + sig.slice(2), 'zz' + sig.slice(2))).toBe(false);
    expect(signaturesEqual(sig.slice(0, 62) + 'zz', sig)).toBe(false);
    expect(signaturesEqual('', '')).toBe(false);
    expect(signaturesEqual(undefined as unknown as string, sig)).toBe(false);
  });
  it('compares with crypto.timingSafeEqual over the full length', () => {
    const crypto = require('crypto') as typeof import('crypto');
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      signaturesEqual(sig, 'ff' + sig.slice(2)); // differs in the first byte: still a full-length compare
      expect(spy).toHaveBeenCalled();
      const [a, b] = spy.mock.calls[spy.mock.calls.length - 1];
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('nonces', () => {
  it('generates valid random nonces', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = generateNonce();
      expect(n).toMatch(/^[A-Za-z0-9]{32}$/);
      seen.add(n);
    }
    expect(seen.size).toBe(200);
    expect(generateNonce(16)).toHaveLength(16);
    expect(generateNonce(64)).toHaveLength(64);
    expect(() => generateNonce(15)).toThrow(RangeError);
    expect(() => generateNonce(65)).toThrow(RangeError);
  });
  it('validates 16–64 of [A-Za-z0-9]', () => {
    expect(isValidNonce(NONCE)).toBe(true);
    expect(isValidNonce('a'.repeat(64))).toBe(true);
    expect(isValidNonce('a'.repeat(15))).toBe(false);
    expect(isValidNonce('a'.repeat(65))).toBe(false);
    expect(isValidNonce('a1B2c3D4e5F6g7H-')).toBe(false);
    expect(isValidNonce('a1B2c3D4e5F6g7H8 ')).toBe(false);
    expect(isValidNonce('收银台收银台收银台收银台收银台收银台')).toBe(false);
    expect(isValidNonce(1234567890123456)).toBe(false);
  });
  it('MemoryNonceStore accepts a nonce once per app until it expires', async () => {
    let now = 1_000_000;
    const store = new MemoryNonceStore({ now: () => now });
    const exp = new Date(now + NONCE_TTL_MS);
    expect(await store.claim(APP_ID, NONCE, exp)).toBe(true);
    expect(await store.claim(APP_ID, NONCE, exp)).toBe(false);
    expect(await store.claim('10124', NONCE, exp)).toBe(true); // per app
    now += NONCE_TTL_MS;
    expect(await store.claim(APP_ID, NONCE, new Date(now + NONCE_TTL_MS))).toBe(true);
    now += NONCE_TTL_MS + 60_001;
    await store.claim(APP_ID, 'x'.repeat(16), new Date(now + NONCE_TTL_MS)); // sweeps expired entries
    expect(store.size).toBe(1);
  });
});

describe('signRequestHeaders / verifySignedHeaders', () => {
  const NOW = TS + 1000;
  const signed = (signType: SignType = 'HMAC-SHA256', key = APP_KEY, extra: Partial<{ body: string; method: string; now: number }> = {}) =>
    signRequestHeaders({
      method: extra.method ?? 'POST',
      pathWithQuery: PATH,
      appId: APP_ID,
      appKey: key,
      signType,
      body: extra.body ?? BODY,
      now: extra.now ?? TS,
      nonce: NONCE,
    });
  const verify = (headers: Record<string, string>, over: Partial<Parameters<typeof verifySignedHeaders>[0]> = {}) =>
    verifySignedHeaders({ kind: 'request', method: 'POST', pathWithQuery: PATH, headers, body: BODY, keys: [APP_KEY], now: NOW, ...over });

  it('produces the vector signature in the documented headers', () => {
    expect(signed()).toEqual({
      'x-cashier-app-id': APP_ID,
      'x-cashier-timestamp': String(TS),
      'x-cashier-nonce': NONCE,
      'x-cashier-sign-type': 'HMAC-SHA256',
      'x-cashier-signature': VECTORS[0].sha256,
    });
    expect(signed('HMAC-SM3')[HEADER.signature]).toBe(VECTORS[0].sm3);
    expect(Object.values(CANONICAL_HEADER).map((h) => h.toLowerCase())).toEqual(Object.values(HEADER));
    const fresh = signRequestHeaders({ method: 'GET', pathWithQuery: QUERY_PATH, appId: APP_ID, appKey: APP_KEY });
    expect(isValidNonce(fresh[HEADER.nonce])).toBe(true);
    expect(Math.abs(Number(fresh[HEADER.timestamp]) - Date.now())).toBeLessThan(5000);
  });

  it.each(SIGN_TYPES)('accepts a good %s signature', (signType) => {
    expect(verify(signed(signType))).toEqual({ ok: true, appId: APP_ID, timestamp: TS, nonce: NONCE, signType, keyIndex: 0 });
  });

  it('treats header names case-insensitively (plain object, fetch Headers)', () => {
    const h = signed();
    const canonical = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase()), v]));
    expect(Object.keys(canonical)).toContain('X-Cashier-App-Id');
    expect(verify(canonical).ok).toBe(true);
    const shouting = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify(shouting).ok).toBe(true);
    expect(verify({}, { headers: new Headers(canonical) }).ok).toBe(true);
    expect(getHeader({ 'X-Cashier-Nonce': [NONCE] }, HEADER.nonce)).toBe(NONCE);
    expect(getHeader({ 'x-cashier-nonce': [NONCE, NONCE] }, HEADER.nonce)).toBeUndefined(); // repeated header
  });

  it('rejects a wrong key, a tampered body/path/method and a swapped algorithm', () => {
    expect(verify(signed('HMAC-SHA256', '000001'))).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify(signed(), { body: '{"amount":2}' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify(signed(), { body: BODY + ' ' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify(signed(), { pathWithQuery: PATH + '?x=1' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify(signed(), { method: 'PUT' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ ...signed(), [HEADER.signType]: 'HMAC-SM3' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify(signed(), { keys: [] })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify(signed(), { keys: [''] })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    // a request signature is not a response signature (and vice versa)
    expect(verify(signed(), { kind: 'response' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('accepts the second key during a rotation and reports which key verified', () => {
    const byNewKey = signed('HMAC-SM3', 'new-key-after-rotation');
    expect(verify(byNewKey, { keys: [APP_KEY, 'new-key-after-rotation'] })).toMatchObject({ ok: true, keyIndex: 1 });
    expect(verify(signed(), { keys: [APP_KEY, 'new-key-after-rotation'] })).toMatchObject({ ok: true, keyIndex: 0 });
    expect(verify(byNewKey, { keys: [APP_KEY] })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('enforces the ±300 s timestamp window', () => {
    const h = signed();
    expect(verify(h, { now: TS + TIMESTAMP_TOLERANCE_MS }).ok).toBe(true);
    expect(verify(h, { now: TS - TIMESTAMP_TOLERANCE_MS }).ok).toBe(true);
    expect(verify(h, { now: TS + TIMESTAMP_TOLERANCE_MS + 1 })).toEqual({ ok: false, reason: 'STALE_TIMESTAMP' });
    expect(verify(h, { now: new Date(TS - TIMESTAMP_TOLERANCE_MS - 1) })).toEqual({ ok: false, reason: 'STALE_TIMESTAMP' });
    expect(verify({ ...h, [HEADER.timestamp]: '1617096420.811' })).toEqual({ ok: false, reason: 'BAD_TIMESTAMP' });
    expect(verify({ ...h, [HEADER.timestamp]: '-1617096420811' })).toEqual({ ok: false, reason: 'BAD_TIMESTAMP' });
    expect(verify({ ...h, [HEADER.timestamp]: '99999999999999999' })).toEqual({ ok: false, reason: 'BAD_TIMESTAMP' });
  });

  it('reports missing headers, bad sign type, bad nonce and app mismatch', () => {
    const h = signed();
    for (const name of Object.values(HEADER)) {
      const rest = Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));
      expect(verify(rest)).toEqual({ ok: false, reason: 'MISSING_HEADER' });
      expect(verify({ ...h, [name]: '' })).toEqual({ ok: false, reason: 'MISSING_HEADER' });
    }
    expect(verify({ ...h, [HEADER.signType]: 'hmac-sha256' })).toEqual({ ok: false, reason: 'BAD_SIGN_TYPE' });
    expect(verify({ ...h, [HEADER.signType]: 'RSA2' })).toEqual({ ok: false, reason: 'BAD_SIGN_TYPE' });
    expect(verify({ ...h, [HEADER.nonce]: 'short' })).toEqual({ ok: false, reason: 'BAD_NONCE' });
    expect(verify({ ...h, [HEADER.nonce]: 'a1B2c3D4e5F6g7H8!' })).toEqual({ ok: false, reason: 'BAD_NONCE' });
    expect(verify(h, { expectedAppId: '10124' })).toEqual({ ok: false, reason: 'APP_MISMATCH' });
    expect(verify(h, { expectedAppId: APP_ID }).ok).toBe(true);
    expect(() => verify(h, { method: undefined })).toThrow(TypeError);
  });

  it('verifies a GET with an empty body (undefined, empty string or empty Buffer)', () => {
    const h = signRequestHeaders({ method: 'get', pathWithQuery: QUERY_PATH, appId: APP_ID, appKey: APP_KEY, now: TS, nonce: NONCE });
    expect(h[HEADER.signature]).toBe(VECTORS[1].sha256);
    for (const body of [undefined, '', Buffer.alloc(0)]) {
      expect(verify(h, { method: 'GET', pathWithQuery: QUERY_PATH, body }).ok).toBe(true);
    }
    expect(verify(h, { method: 'GET', pathWithQuery: QUERY_PATH, body: '{}' }).ok).toBe(false);
  });

  it('verifies non-ASCII bodies over their UTF-8 bytes', () => {
    const h = signed('HMAC-SM3', APP_KEY, { body: CN_BODY });
    expect(h[HEADER.signature]).toBe(VECTORS[4].sm3);
    expect(verify(h, { body: Buffer.from(CN_BODY, 'utf8') }).ok).toBe(true);
    expect(verify(h, { body: CN_BODY }).ok).toBe(true);
    expect(verify(h, { body: Buffer.from(CN_BODY, 'utf8').subarray(0, -1) }).ok).toBe(false);
  });

  it('signs and verifies responses with the RESPONSE string', () => {
    const h = signResponseHeaders({ pathWithQuery: PATH, appId: APP_ID, appKey: APP_KEY, signType: 'HMAC-SM3', body: BODY, now: TS, nonce: NONCE });
    expect(h[HEADER.signature]).toBe(VECTORS[2].sm3);
    expect(verifySignedHeaders({ kind: 'response', pathWithQuery: PATH, headers: h, body: BODY, keys: [APP_KEY], now: NOW, expectedAppId: APP_ID }).ok).toBe(true);
    expect(verifySignedHeaders({ kind: 'response', pathWithQuery: QUERY_PATH, headers: h, body: BODY, keys: [APP_KEY], now: NOW }).ok).toBe(false);
  });

  it('verifySignedMessage claims the nonce only after a valid signature', async () => {
    const store = new MemoryNonceStore({ now: () => NOW });
    const forged = { ...signed(), [HEADER.signature]: 'ab'.repeat(32) };
    const base = { kind: 'request' as const, method: 'POST', pathWithQuery: PATH, body: BODY, keys: [APP_KEY], now: NOW, nonceStore: store };
    expect(await verifySignedMessage({ ...base, headers: forged })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(await verifySignedMessage({ ...base, headers: signed() })).toMatchObject({ ok: true });
    expect(await verifySignedMessage({ ...base, headers: signed() })).toEqual({ ok: false, reason: 'REPLAYED_NONCE' });
  });
});

describe('order signature block', () => {
  it('signOrder produces the vector; verifyOrder checks it', () => {
    const block = signOrder({ appId: APP_ID, appKey: APP_KEY, outTradeNo: OUT_TRADE_NO, token: TOKEN, now: TS, nonce: NONCE });
    expect(block).toEqual({ appId: APP_ID, nonce: NONCE, timestamp: TS, outTradeNo: OUT_TRADE_NO, signature: VECTORS[3].sha256 });
    const sm3 = signOrder({ appId: APP_ID, appKey: APP_KEY, outTradeNo: OUT_TRADE_NO, token: TOKEN, now: TS, nonce: NONCE, signType: 'HMAC-SM3' });
    expect(sm3.signature).toBe(VECTORS[3].sm3);
    expect(verifyOrder({ block, token: TOKEN, keys: [APP_KEY], expectedAppId: APP_ID, expectedOutTradeNo: OUT_TRADE_NO })).toBe(true);
    expect(verifyOrder({ block: sm3, token: TOKEN, keys: [APP_KEY], signType: 'HMAC-SM3' })).toBe(true);
    expect(verifyOrder({ block: sm3, token: TOKEN, keys: [APP_KEY] })).toBe(false);
    expect(verifyOrder({ block, token: TOKEN.toLowerCase(), keys: [APP_KEY] })).toBe(false);
    expect(verifyOrder({ block, token: TOKEN, keys: ['000001'] })).toBe(false);
    expect(verifyOrder({ block, token: TOKEN, keys: ['000001', APP_KEY] })).toBe(true);
    expect(verifyOrder({ block: { ...block, outTradeNo: '111' }, token: TOKEN, keys: [APP_KEY] })).toBe(false);
    expect(verifyOrder({ block, token: TOKEN, keys: [APP_KEY], expectedAppId: '10124' })).toBe(false);
    expect(verifyOrder({ block: { ...block, timestamp: String(TS) as unknown as number }, token: TOKEN, keys: [APP_KEY] })).toBe(true);
    expect(verifyOrder({ block: null, token: TOKEN, keys: [APP_KEY] })).toBe(false);
  });
});
