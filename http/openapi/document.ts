/**
 * Builds the OpenAPI 3.1 document of the merchant, cashier, registration and administrator APIs from the route
 * table (./routes.ts): request schemas are the zod schemas the handlers parse, converted with zod's own
 * `z.toJSONSchema` (draft 2020-12, the dialect of OpenAPI 3.1); responses are the envelope around the zod
 * response schemas of ./responses.ts; errors are the stable codes of domain/errors.ts at their HTTP statuses.
 */
import { z } from 'zod';
import { DEFAULT_MESSAGES, ErrorCode, httpStatusFor, type ErrorCodeValue } from '../../domain/errors';
import { CANONICAL_HEADER, SIGN_TYPES } from '../../signature';
import { envelopeSchema, errorEnvelopeSchema, healthData } from './responses';
import { COMMON_ERRORS, routeTable, type RouteDoc, type Tag } from './routes';

export type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: '3.1.0';
  info: Record<string, unknown>;
  servers: Array<{ url: string; description?: string }>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};
type Operation = Record<string, unknown> & { operationId: string; responses: Record<string, ResponseObject | { $ref: string }> };
type ResponseObject = { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: JsonSchema; example?: unknown }> };

/** What each code means, for the document (the README's error table says the same). */
const ERROR_MEANINGS: Record<ErrorCodeValue, string> = {
  1000: 'success',
  4000: 'validation failed (the message names each field), malformed JSON',
  4010: 'bad or missing signature, stale timestamp, reused nonce, unknown app, sign type the app does not use; for the administrator API: not logged in or bad credential',
  4030: 'app pending or disabled, channel not bound/approved or not offered for this order, transfers off; administrator API: CSRF or Origin check failed, merchant signature headers on admin routes',
  4040: 'order or route not found (including another app’s order)',
  4090: 'same merchant number with different content; order already final or expired; refund of an unpaid or FINISH order or above what is left; already decided',
  4130: 'body larger than MAX_BODY_BYTES',
  4290: 'rate limited (Retry-After says when to try again)',
  5000: 'internal error (logged; no stack trace, SQL or secret in the answer)',
  5030: 'the payment provider is unavailable or answered with a bad signature; nothing was half-written, try again',
};

const TAGS: Record<Tag, string> = {
  merchant: '商户接口 Merchant API: every request and answer signed (Signature v1).',
  cashier: '收银台 Endpoints the hosted cashier page calls with the order token (no merchant signature: the token is the capability).',
  registration: '入驻与绑定 Merchant registration and channel binding applications.',
  admin: '管理接口 Administrator API behind the console: session cookie, X-CSRF-Token and a same-origin Origin on every state change.',
  callbacks: '渠道回调 Provider notifications (Alipay, WeChat Pay), verified with the channel config’s keys.',
  operations: '运维 Health check and this document.',
};

const SIGNATURE_SCHEMES = {
  CashierAppId: [CANONICAL_HEADER.appId, 'The app id.'],
  CashierTimestamp: [CANONICAL_HEADER.timestamp, 'Epoch milliseconds; accepted within ±300 s.'],
  CashierNonce: [CANONICAL_HEADER.nonce, '16–64 of [A-Za-z0-9], never reused by the app within 10 minutes.'],
  CashierSignType: [CANONICAL_HEADER.signType, `${SIGN_TYPES.join(' or ')}; must be the app’s sign type.`],
  CashierSignature: [CANONICAL_HEADER.signature, 'Lowercase hex HMAC of `METHOD\\npathWithQuery\\nappId\\ntimestamp\\nnonce\\nbody` with the appKey (UTF-8) as key.'],
} as const;

const SIGNATURE_DESCRIPTION = `Every merchant request and every answer to it is signed with the app's \`appKey\`: HMAC-SHA256 (default) or
HMAC-SM3, lowercase hex, key = the appKey's UTF-8 bytes, over the fields joined with \`\\n\`:

| message | string to sign |
|---|---|
| request | \`METHOD\\npathWithQuery\\nappId\\ntimestamp\\nnonce\\nbody\` |
| answer to a signed request | \`RESPONSE\\npathWithQuery-of-the-request\\nappId\\ntimestamp\\nnonce\\nbody\` |
| unified-order \`data.signature\` | \`ORDER\\nappId\\noutTradeNo\\ntoken\\ntimestamp\\nnonce\` |

\`pathWithQuery\` is the request target exactly as sent; the body is the exact raw bytes (empty for GET). The
five headers ${Object.values(CANONICAL_HEADER)
  .map((h) => `\`${h}\``)
  .join(', ')} carry the signature both ways. Test vectors are in the README (Signature v1).`;

function errorTable(): string {
  const rows = (Object.values(ErrorCode) as ErrorCodeValue[]).map((c) => `| ${c} | ${httpStatusFor(c)} | ${DEFAULT_MESSAGES[c]} — ${ERROR_MEANINGS[c]} |`);
  return ['| code | HTTP | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** zod → JSON Schema (2020-12) as OpenAPI 3.1 embeds it: no `$schema`, dates as date-time strings. */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    // Refinements and transforms have no JSON Schema form: the base type is documented, the rule in descriptions.
    unrepresentable: 'any',
    override: (ctx) => {
      if ((ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def.type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' });
    },
  }) as JsonSchema;
  delete json.$schema;
  // Embedded schemas cannot carry their own $defs references: every schema here must inline completely.
  if (JSON.stringify(json).includes('"$ref"')) throw new Error('a request or response schema produced a $ref; inline it');
  return json;
}

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
const dataName = (operationId: string) => `${operationId[0].toUpperCase()}${operationId.slice(1)}Data`;

function signedHeaders(required: boolean): Record<string, unknown> {
  return Object.fromEntries(Object.values(CANONICAL_HEADER).map((h) => [h, required ? ref('headers', h) : { ...ref('headers', h), description: `${h} (present once the app is known and the request verified)` }]));
}

/** The document for a configuration (channel types and whether private notify URLs are allowed shape the schemas). */
export function buildOpenApiDocument(opts: { allowPrivateNotifyUrls: boolean; channelTypes: readonly string[]; serverUrl: string; version?: string }): OpenApiDocument {
  const routes = routeTable(opts);
  const schemas: Record<string, JsonSchema> = {};
  const named = new Map<z.ZodType, string>();

  // One error response per code, and its signed variant for Signature v1 routes (answers signed once the app is known).
  const errorResponses: Record<string, ResponseObject> = {};
  for (const code of Object.values(ErrorCode) as ErrorCodeValue[]) {
    if (code === ErrorCode.OK) continue;
    schemas[`Error${code}`] = toJsonSchema(errorEnvelopeSchema(code), 'output');
    for (const signed of [false, true]) {
      const headers: Record<string, unknown> = signed ? signedHeaders(false) : {};
      if (code === ErrorCode.RATE_LIMITED) headers['Retry-After'] = ref('headers', 'Retry-After');
      errorResponses[`${signed ? 'Signed' : ''}Error${code}`] = {
        description: `${code} ${DEFAULT_MESSAGES[code]}: ${ERROR_MEANINGS[code]}`,
        ...(Object.keys(headers).length ? { headers } : {}),
        content: { 'application/json': { schema: ref('schemas', `Error${code}`), example: { code, msg: DEFAULT_MESSAGES[code], responseTime: 1764669600000 } } },
      };
    }
  }

  const nameOf = (schema: z.ZodType, operationId: string): string => {
    let name = named.get(schema);
    if (!name) {
      name = dataName(operationId);
      named.set(schema, name);
      schemas[name] = toJsonSchema(schema, 'output');
    }
    return name;
  };

  const envelopeWith = (route: RouteDoc): JsonSchema => {
    if (!route.data) return toJsonSchema(envelopeSchema(), 'output');
    const json = toJsonSchema(envelopeSchema(z.null()), 'output') as { properties: Record<string, unknown> };
    json.properties.data = ref('schemas', nameOf(route.data, route.operationId));
    return json;
  };

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const op: Operation = { operationId: route.operationId, tags: [route.tag], summary: route.summary, responses: {} };
    const description = [route.description, route.auth === 'admin' && route.method !== 'get' ? 'State change: needs the session’s `X-CSRF-Token` and a same-origin `Origin` (or `Referer`).' : undefined, route.auth === 'admin-login' ? 'Needs a same-origin `Origin` (or `Referer`).' : undefined].filter(Boolean).join('\n\n');
    if (description) op.description = description;
    op.security = route.auth === 'signed' ? [Object.fromEntries(Object.keys(SIGNATURE_SCHEMES).map((k) => [k, []]))] : route.auth === 'admin' ? [{ AdminSession: [] }] : [];

    const parameters: unknown[] = [];
    for (const [name, p] of Object.entries(route.params ?? {})) parameters.push({ name, in: 'path', required: true, schema: toJsonSchema(p.schema, 'input'), ...(p.description ? { description: p.description } : {}) });
    if (route.query) {
      const q = toJsonSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) parameters.push({ name, in: 'query', required: (q.required ?? []).includes(name), schema });
    }
    if (route.auth === 'admin' && route.method !== 'get') parameters.push(ref('parameters', 'CsrfToken'));
    if (parameters.length) op.parameters = parameters;

    if (route.body) {
      const schema = toJsonSchema(route.body, 'input') as { required?: string[] };
      op.requestBody = {
        required: (schema.required ?? []).length > 0,
        content: { 'application/json': { schema, ...(route.bodyExample === undefined ? {} : { example: route.bodyExample }) } },
      };
    } else if (route.raw === 'provider-ack') {
      op.requestBody = {
        required: true,
        description: 'The provider’s notification exactly as sent (Alipay: form parameters; WeChat Pay: JSON with an encrypted resource).',
        content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', additionalProperties: { type: 'string' } } }, 'application/json': { schema: { type: 'object' } } },
      };
    }

    const signed = route.auth === 'signed';
    const responses = op.responses;
    switch (route.raw) {
      case 'csv':
        responses['200'] = {
          description: signed ? 'CSV (UTF-8), signed over its exact bytes' : 'CSV (UTF-8), streamed',
          headers: signed ? signedHeaders(true) : { 'Content-Disposition': { schema: { type: 'string' }, description: 'attachment; filename="…csv"' }, 'X-Total-Rows': { schema: { type: 'integer' }, description: 'rows in the file' } },
          content: { 'text/csv': { schema: { type: 'string' }, ...(route.csvExample ? { example: route.csvExample } : {}) } },
        };
        break;
      case 'provider-ack':
        responses['200'] = {
          description: 'Acknowledged (or refused) in the provider’s own format; a non-200 answer makes the provider retry',
          content: { 'text/plain': { schema: { type: 'string' }, example: 'success' }, 'application/json': { schema: { type: 'object' }, example: { code: 'SUCCESS', message: '成功' } } },
        };
        responses['404'] = { description: 'unknown channel type', content: { 'text/plain': { schema: { type: 'string' }, example: 'unknown channel type' } } };
        responses.default = { description: 'a failure answer in the provider’s format (the provider retries)', content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } };
        break;
      case 'openapi':
        responses['200'] = { description: 'This OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } };
        break;
      case 'health':
        responses['200'] = { description: 'PostgreSQL answers', content: { 'application/json': { schema: toJsonSchema(healthData, 'output'), example: { status: 'ok' } } } };
        break;
      default:
        responses['200'] = {
          description: DEFAULT_MESSAGES[ErrorCode.OK],
          ...(signed ? { headers: signedHeaders(true) } : {}),
          content: {
            'application/json': {
              schema: envelopeWith(route),
              ...(route.dataExample === undefined ? {} : { example: { code: ErrorCode.OK, msg: DEFAULT_MESSAGES[ErrorCode.OK], data: route.dataExample, responseTime: 1764669600000 } }),
            },
          },
        };
    }

    const codes = [...new Set([...(route.raw === 'openapi' || route.raw === 'health' || route.raw === 'provider-ack' ? [] : COMMON_ERRORS[route.auth]), ...(route.errors ?? []), ...(route.raw === 'health' ? [ErrorCode.INTERNAL] : [])])].sort();
    for (const code of codes) responses[String(httpStatusFor(code))] = ref('responses', `${signed ? 'Signed' : ''}Error${code}`);
    (paths[route.path] ??= {})[route.method] = op;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Cashier Desk (收银台) API',
      version: opts.version ?? '0.1.0',
      description: [
        'An aggregated payment gateway: merchant API, cashier page endpoints, registration and channel binding, and the administrator API. Generated from the zod schemas that validate each request.',
        '## Envelope',
        'Every JSON answer is `{"code": <int>, "msg": <string>, "data": <object, absent on errors>, "responseTime": <epoch ms>}`; `code` 1000 is success, any other code an error whose HTTP status is `code / 10`. Money is integer fen (分) everywhere.',
        '## Error codes',
        errorTable(),
        '## Signature v1',
        SIGNATURE_DESCRIPTION,
      ].join('\n\n'),
    },
    servers: [{ url: opts.serverUrl, description: 'PUBLIC_BASE_URL' }],
    tags: (Object.entries(TAGS) as Array<[Tag, string]>).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        ...Object.fromEntries(Object.entries(SIGNATURE_SCHEMES).map(([k, [name, description]]) => [k, { type: 'apiKey', in: 'header', name, description: `Signature v1: ${description}` }])),
        AdminSession: { type: 'apiKey', in: 'cookie', name: 'cashier_admin', description: 'The administrator session cookie set by login (`__Host-cashier_admin` behind https); HttpOnly, SameSite=Strict.' },
      },
      parameters: {
        CsrfToken: { name: 'X-CSRF-Token', in: 'header', required: true, description: 'The session’s CSRF token (from login or GET /session).', schema: { type: 'string' } },
      },
      headers: {
        ...Object.fromEntries(Object.entries(SIGNATURE_SCHEMES).map(([, [name, description]]) => [name, { description: `Answer signature (RESPONSE string): ${description}`, schema: { type: 'string' } }])),
        'Retry-After': { description: 'Seconds until the rate-limit window ends', schema: { type: 'integer' } },
      },
      responses: errorResponses,
      schemas,
    },
  };
}
