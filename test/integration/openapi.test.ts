/**
 * The OpenAPI document against the HTTP app exactly as api/main.ts builds it: every API route the Express routers
 * mount is documented and every documented operation is mounted; the document is valid OpenAPI 3.1 (checked by a
 * maintained validator, which also rejects a broken copy); and it and its documentation page are served from our
 * origin under their policies.
 */
import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildOpenApiDocument, type OpenApiDocument } from '../../http/openapi/document';
import { API_DOCS_BASE, OPENAPI_PATH } from '../../domain/urls';
import { createLogger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import { hashPasswordSync } from '../../security/password';
import { createTestDb, type TestDb } from '../support/db';
import { buildHttpApp, testConfig } from '../support/system';

let t: TestDb;
let app: Express;
let server: http.Server;
let base: string;

beforeAll(async () => {
  t = await createTestDb();
  // Never dialled: nothing here starts or asks a workflow.
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const config = testConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:1', ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }), CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'oa-')) });
  app = buildHttpApp({ t, client, taskQueue: 'unused', providers: createDefaultProviders(), log: createLogger({ write: () => {} }) }, config).app;
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.destroy();
});

interface Layer {
  rawPath?: string | string[];
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (METHOD, path) the app's router stack mounts, with mount prefixes joined and `:param` as `{param}`. */
function mountedRoutes(root: Express): string[] {
  const out: string[] = [];
  const join = (a: string, b: string) => (a + (b === '/' ? '' : b)).replace(/\/{2,}/g, '/') || '/';
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const here = (p: string | string[] | undefined) => (Array.isArray(p) ? p : [p ?? '/']);
      if (layer.route) {
        for (const p of here(layer.route.path)) for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${join(prefix, p).replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) {
        for (const p of here(layer.rawPath)) walk(layer.handle.stack, join(prefix, p));
      }
    }
  };
  walk((root as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}

/** HTML pages and their assets are not API operations: the cashier pages, the console shell and this document's page. */
const PAGE_PREFIXES = ['/cashier-desk-web', '/cashier-desk-admin', API_DOCS_BASE];
const isPage = (route: string) => PAGE_PREFIXES.some((p) => route.split(' ')[1] === p || route.split(' ')[1].startsWith(`${p}/`));

function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
}

/** The validator runs in its own Node process (it is an ES module), asynchronously so the server keeps serving. */
function validate(doc: unknown): Promise<{ valid: boolean; version: string; errors: unknown[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'support', 'validate-openapi.mjs')], { stdio: ['pipe', 'pipe', 'inherit'], timeout: 60_000 });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(Buffer.concat(out).toString('utf8'))) : reject(new Error(`validator exited with ${code}`))));
    child.stdin.end(JSON.stringify(doc));
  });
}

async function served(): Promise<OpenApiDocument> {
  const res = await fetch(`${base}${OPENAPI_PATH}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as OpenApiDocument;
}

test('every mounted API route is documented, and every documented operation is mounted', async () => {
  const mounted = mountedRoutes(app);
  // The walk itself must see the routers (a walk that found nothing would make this test pass vacuously).
  expect(mounted).toContain('POST /api/cashier-desk/unified/orders');
  expect(mounted).toContain('GET /api/cashier-desk-admin/orders/{id}');
  expect(mounted).toContain('POST /api/cashier-desk-sa/register');
  expect(mounted.filter(isPage).length).toBeGreaterThan(0);

  const documented = documentedRoutes(await served());
  const api = mounted.filter((r) => !isPage(r));
  expect(api.filter((r) => !documented.includes(r))).toEqual([]);
  expect(documented.filter((r) => !api.includes(r))).toEqual([]);
  expect(documented.length).toBe(api.length);
});

test('every path template parameter is declared, and every declared path parameter is in its template', async () => {
  const doc = await served();
  for (const [p, ops] of Object.entries(doc.paths)) {
    const inTemplate = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [method, op] of Object.entries(ops)) {
      const declared = ((op.parameters ?? []) as Array<{ in?: string; name?: string }>).filter((x) => x.in === 'path').map((x) => x.name).sort();
      expect({ op: `${method} ${p}`, declared }).toEqual({ op: `${method} ${p}`, declared: inTemplate });
    }
  }
});

test('the served document is valid OpenAPI 3.1, and the validator rejects a broken copy', async () => {
  const doc = await served();
  expect(doc.openapi).toBe('3.1.0');
  const result = await validate(doc);
  expect(result.errors).toEqual([]);
  expect(result.valid).toBe(true);
  expect(result.version).toBe('3.1');

  // An operation without responses and a parameter without its `in` are not OpenAPI: the check has teeth.
  const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses?: unknown; parameters?: Array<Record<string, unknown>> }>> };
  delete broken.paths['/api/cashier-desk/unified/orders'].post.responses;
  delete broken.paths['/api/cashier-desk/refunds/{outRefundNo}'].get.parameters![0].in;
  const rejected = await validate(broken);
  expect(rejected.valid).toBe(false);
  expect(rejected.errors.length).toBeGreaterThan(0);
});

test('requests are documented from the schemas the handlers parse; errors, envelope and signature headers are described', async () => {
  const doc = await served();
  const order = doc.paths["/api/cashier-desk/unified/orders"].post as unknown as { requestBody: { content: Record<string, { schema: Record<string, unknown>; example: unknown }> }; responses: Record<string, { headers?: Record<string, unknown> }>; security: unknown[] };
  const body = order.requestBody.content['application/json'].schema as { properties: Record<string, { minimum?: number; maximum?: number; pattern?: string }>; required: string[]; additionalProperties: boolean };
  // The limits of http/validation.ts, not a copy of them.
  expect(body.properties.amount).toMatchObject({ type: 'integer', minimum: 1, maximum: 10_000_000_000 });
  expect(body.properties.outTradeNo.pattern).toBe('^[A-Za-z0-9_\\-|*.]{1,64}$');
  expect(body.required.sort()).toEqual(['amount', 'goodsDesc', 'orderTitle', 'outTradeNo', 'thirdPartyUser']);
  expect(body.additionalProperties).toBe(false);
  expect(order.requestBody.content['application/json'].example).toBeDefined();
  expect(Object.keys(order.responses).sort()).toEqual(['200', '400', '401', '403', '409', '413', '429', '500']);
  expect(Object.keys(order.responses['200'].headers ?? {})).toEqual(['X-Cashier-App-Id', 'X-Cashier-Timestamp', 'X-Cashier-Nonce', 'X-Cashier-Sign-Type', 'X-Cashier-Signature']);
  expect(order.security).toEqual([{ CashierAppId: [], CashierTimestamp: [], CashierNonce: [], CashierSignType: [], CashierSignature: [] }]);
  expect(Object.keys(doc.components.schemas).filter((n) => /^Error\d+$/.test(n)).sort()).toEqual(['Error4000', 'Error4010', 'Error4030', 'Error4040', 'Error4090', 'Error4130', 'Error4290', 'Error5000', 'Error5030']);
  // Configuration shapes the document: the channel types come from the provider registry.
  const pay = doc.paths["/api/cashier-desk/{channelType}/{sceneCode}"].post as unknown as { parameters: Array<{ name: string; schema: { enum?: string[] } }> };
  expect(pay.parameters.find((p) => p.name === 'channelType')!.schema.enum).toEqual(createDefaultProviders().channelTypes());
  // The administrator API's state changes carry the CSRF header; its reads do not.
  const approve = doc.paths["/api/cashier-desk-admin/apps/{appId}/approve"].post as unknown as { parameters: unknown[] };
  expect(approve.parameters).toContainEqual({ $ref: '#/components/parameters/CsrfToken' });
  expect(JSON.stringify(doc.paths['/api/cashier-desk-admin/apps'].get)).not.toContain('CsrfToken');
});

test('every example in the document is valid against the schema beside it', async () => {
  const doc = await served();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi');
  const pointer = (parts: string[]) => `openapi#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  const checked: string[] = [];
  const problems: string[] = [];
  const visit = (node: unknown, at: string[]) => {
    if (!node || typeof node !== 'object') return;
    const media = node as { schema?: unknown; example?: unknown };
    // A media type object: `schema` and `example` side by side (CSV and plain-text examples are strings of strings).
    if (media.schema && media.example !== undefined && at.at(-2) === 'content' && at.at(-1) === 'application/json') {
      const check = ajv.compile({ $ref: pointer([...at, 'schema']) });
      if (!check(media.example)) problems.push(`${at.join(' ')}: ${ajv.errorsText(check.errors)}`);
      checked.push(at.join(' '));
    }
    for (const [k, v] of Object.entries(node)) if (k !== 'schema') visit(v, [...at, k]);
  };
  visit(doc.paths, ['paths']);
  visit(doc.components.responses, ['components', 'responses']);
  expect(problems).toEqual([]);
  // Request bodies, success answers and every error envelope carry examples.
  expect(checked.filter((c) => c.includes('requestBody')).length).toBeGreaterThanOrEqual(8);
  expect(checked.filter((c) => c.includes('responses 200')).length).toBeGreaterThanOrEqual(8);
  expect(checked.filter((c) => c.startsWith('components responses')).length).toBe(18);
});

test('the document built directly equals the one served (built once, from configuration)', async () => {
  const doc = await served();
  const direct = buildOpenApiDocument({ allowPrivateNotifyUrls: true, channelTypes: createDefaultProviders().channelTypes(), serverUrl: 'http://127.0.0.1:1' });
  expect(doc).toEqual(JSON.parse(JSON.stringify(direct)));
});

test('the documentation page and every asset it loads come from our origin under a strict CSP', async () => {
  const res = await fetch(`${base}${API_DOCS_BASE}`);
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  const html = await res.text();
  // No inline script or style, and nothing from another origin.
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/<style|style=/);
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  expect(html).toContain(`data-spec-url="${OPENAPI_PATH}"`);

  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => u.startsWith(`${API_DOCS_BASE}/assets/`));
  expect(urls.map((u) => u.replace(/\?.*/, '')).sort()).toEqual(
    ['api-docs.css', 'api-docs.js', 'favicon-32x32.png', 'swagger-ui-bundle.js', 'swagger-ui.css'].map((n) => `${API_DOCS_BASE}/assets/${n}`),
  );
  for (const u of urls) {
    const asset = await fetch(`${base}${u}`);
    expect({ u, status: asset.status }).toEqual({ u, status: 200 });
    expect(asset.headers.get('content-security-policy')).toBe(csp);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    if (u.includes('swagger-ui-bundle.js')) expect((await asset.text()).length).toBeGreaterThan(500_000);
    else await asset.arrayBuffer();
  }
  expect((await fetch(`${base}${API_DOCS_BASE}/assets/nope.js`)).status).toBe(404);

  // The document itself is data: no page may run in it.
  const json = await fetch(`${base}${OPENAPI_PATH}`);
  expect(json.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
});
