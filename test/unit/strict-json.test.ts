/**
 * The strict JSON reader of signed merchant bodies (http/strict-json.ts), property-based: every integer-only JSON
 * value a client can serialise reads back unchanged, and each hostile variant is a 4000. Also the HTTP server
 * limits' configuration.
 */
import fc from 'fast-check';
import { loadConfig } from '../../config';
import { DomainError } from '../../domain/errors';
import { httpServerOptions } from '../../http/server-options';
import { parseStrictJson, storableTextReviver } from '../../http/strict-json';

const read = (text: string | Buffer) => parseStrictJson(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
const refusal = (text: string | Buffer): string | null => {
  try {
    read(text);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe(4000);
    return (err as DomainError).message;
  }
};

/** JSON a merchant may send: objects with distinct keys, safe integers, well-formed text without NUL, shallow. */
const text = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\u0000'));
const merchantJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.maxSafeInteger(),
    text,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
})).value;

test('every integer-only, duplicate-free JSON value reads back unchanged, however it is spaced', () => {
  fc.assert(
    fc.property(merchantJson, fc.constantFrom(undefined, 1, '\t'), (value, space) => {
      const json = JSON.stringify(value, null, space);
      expect(read(json)).toEqual(JSON.parse(json));
    }),
    { numRuns: 500 },
  );
});

test('a duplicate key anywhere is refused, also when the two spellings differ only in escapes', () => {
  fc.assert(
    fc.property(merchantJson, text, merchantJson, (inner, key, value) => {
      const dup = `{${JSON.stringify(key)}:${JSON.stringify(value)},"x":${JSON.stringify(inner)},${JSON.stringify(key)}:0}`;
      expect(refusal(dup)).toMatch(/duplicate key/);
      expect(refusal(`[1,{"a":${dup}}]`)).toMatch(/duplicate key/);
    }),
  );
  expect(refusal('{"a":1,"\\u0061":2}')).toMatch(/duplicate key/);
  expect(refusal('{"a\\"b":1,"a\\"b":2}')).toMatch(/duplicate key/);
  // The same key in sibling objects is not a duplicate; a key-like string value is not a key.
  expect(read('[{"a":1},{"a":2},{"b":"a","c":"a"}]')).toEqual([{ a: 1 }, { a: 2 }, { b: 'a', c: 'a' }]);
});

test('numbers must be safe integer literals', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isSafeInteger(d)), (d) => {
      expect(refusal(`{"amount":${JSON.stringify(d)}}`)).not.toBeNull();
    }),
  );
  for (const literal of ['1999.0', '1.999e3', '1E3', '-0', '9007199254740992', '-9007199254740992', '1e400', '0.1']) expect([literal, refusal(`{"amount":${literal}}`)]).toEqual([literal, expect.any(String)]);
  expect(read('{"amount":-9007199254740991,"b":[0,9007199254740991],"s":"1.5e3"}')).toEqual({ amount: -9007199254740991, b: [0, 9007199254740991], s: '1.5e3' });
});

test('text must be storable UTF-8: no NUL, no lone surrogate, no invalid bytes', () => {
  expect(refusal('{"a":"x\\u0000"}')).toMatch(/NUL/);
  expect(refusal('{"x\\u0000":1}')).toMatch(/NUL/);
  expect(refusal('{"a":"\\ud800"}')).toMatch(/surrogate/);
  expect(refusal('{"a":"\\udc00x"}')).toMatch(/surrogate/);
  expect(read('{"a":"\\ud83d\\udca5"}')).toEqual({ a: '💥' });
  expect(refusal(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]))).toMatch(/UTF-8/);
  expect(refusal(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]))).toMatch(/syntax/);
  expect(() => JSON.parse('{"a":"\\u0000"}', storableTextReviver)).toThrow(SyntaxError);
  expect(JSON.parse('{"a":"收银台"}', storableTextReviver)).toEqual({ a: '收银台' });
});

test('nesting deeper than 16 is refused without exhausting the stack', () => {
  expect(read(`${'['.repeat(16)}${']'.repeat(16)}`)).toBeDefined();
  expect(refusal(`${'['.repeat(17)}${']'.repeat(17)}`)).toMatch(/nested/);
  expect(refusal(`${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`)).not.toBeNull();
});

test('HTTP server limits: defaults, overrides, and a headers timeout longer than the request timeout refused', () => {
  expect(httpServerOptions(loadConfig({}).httpServer)).toEqual({
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5000,
    maxHeaderSize: 16_384,
    connectionsCheckingInterval: 1000,
  });
  expect(loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_REQUEST_TIMEOUT_MS: '4000', HTTP_MAX_HEADER_BYTES: '8192' }).httpServer).toMatchObject({ headersTimeoutMs: 2000, requestTimeoutMs: 4000, maxHeaderBytes: 8192 });
  expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(/must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  expect(() => loadConfig({ HTTP_MAX_HEADER_BYTES: '100' })).toThrow(/HTTP_MAX_HEADER_BYTES/);
});
