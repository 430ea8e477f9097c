/**
 * The API description page (/api-docs) in headless Chromium: Swagger UI, served from our origin, renders every
 * operation of the document under the page's strict CSP — no CSP violation, no script error, no request to another
 * origin — while operations, schemas and examples are opened; it offers no "try it out" and no credential field.
 * Screenshots (1440×900) go to test-results/screenshots/api-docs-*.png.
 */
import { Client, Connection } from '@temporalio/client';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { API_DOCS_BASE, OPENAPI_PATH } from '../../domain/urls';
import type { OpenApiDocument } from '../../http/openapi/document';
import { createLogger } from '../../observability/logger';
import { createDefaultProviders } from '../../providers';
import { hashPasswordSync } from '../../security/password';
import { consolePage, launchBrowser, SCREENSHOT_DIR } from '../support/browser';
import { createTestDb, type TestDb } from '../support/db';
import { buildHttpApp, testConfig } from '../support/system';

let t: TestDb;
let server: http.Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  t = await createTestDb();
  // Never dialled: the page and the document need no workflow.
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const config = testConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:1', ADMIN_PASSWORD_HASH: hashPasswordSync('x', { N: 1024, r: 8, p: 1 }), CASHIER_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'docs-')) });
  const { app } = buildHttpApp({ t, client, taskQueue: 'unused', providers: createDefaultProviders(), log: createLogger({ write: () => {} }) }, config);
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.destroy();
});

test('Swagger UI renders every operation from our origin under the strict CSP', async () => {
  const doc = (await (await fetch(`${base}${OPENAPI_PATH}`)).json()) as OpenApiDocument;
  const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);

  const { context, page, problems } = await consolePage(browser);
  const requests: string[] = [];
  page.on('request', (req) => requests.push(req.url()));
  try {
    const res = await page.goto(`${base}${API_DOCS_BASE}`);
    expect(res?.status()).toBe(200);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('.opblock').count()).toBe(operations);
    await expect(page.title()).resolves.toContain('API');
    expect(await page.locator('.info .title').textContent()).toContain('Cashier Desk');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'api-docs-overview.png') });

    // Open a signed merchant call, a cashier call and an administrator call, with their schemas and examples.
    for (const id of ['operations-merchant-unifiedOrder', 'operations-cashier-payWithChannel', 'operations-admin-adminGetOrder']) {
      const block = page.locator(`#${id}`);
      await block.locator('.opblock-summary').click();
      await block.locator('.opblock-body').waitFor();
      await block.locator('.responses-wrapper').waitFor();
      const schemaTabs = block.locator('button[data-name="model"]');
      for (let i = 0; i < (await schemaTabs.count()); i += 1) await schemaTabs.nth(i).click();
    }
    const order = page.locator('#operations-merchant-unifiedOrder');
    // The request schema from http/validation.ts and the documented error codes are shown.
    await expect(order.locator('.responses-table').first().textContent()).resolves.toContain('409');
    expect(await order.textContent()).toContain('outTradeNo');
    await order.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'api-docs-unified-order.png') });

    // Documentation only: no "try it out", and no field asking for a key or a session.
    expect(await page.locator('.try-out__btn').count()).toBe(0);
    expect(await page.locator('.auth-wrapper .authorize').isVisible()).toBe(false);
    // Opening the component schemas renders them too.
    await page.locator('section.models h4 button').click();
    const schema = page.locator('section.models article.json-schema-2020-12', { hasText: 'UnifiedOrderData' }).first();
    await schema.locator('.json-schema-2020-12-expand-deep-button').first().click();
    await expect(schema.textContent()).resolves.toContain('channels');

    await page.waitForTimeout(500);
    expect(problems).toEqual([]);
    const foreign = requests.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
    expect(requests.some((u) => u.startsWith(`${base}${API_DOCS_BASE}/assets/swagger-ui-bundle.js`))).toBe(true);
    expect(requests).toContain(`${base}${OPENAPI_PATH}`);
  } finally {
    await context.close();
  }
});
