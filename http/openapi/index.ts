/**
 * The API description: `GET /api/cashier-desk/openapi.json` (the OpenAPI 3.1 document, built once per process from
 * the route table) and `/api-docs`, a page that renders it with Swagger UI (npm swagger-ui-dist) served from our
 * own origin: no CDN, no inline script, no request leaves the origin.
 */
import path from 'node:path';
import { Router, type Response } from 'express';
import { API_DOCS_BASE, OPENAPI_PATH } from '../../domain/urls';
import { renderPageShell } from '../page-shell';
import { html } from '../pages/html';
import { setHardeningHeaders } from '../security-headers';
import { loadStaticAssets } from '../static-assets';
import { buildOpenApiDocument } from './document';

export { buildOpenApiDocument } from './document';
export { routeTable, type RouteDoc } from './routes';

/**
 * The console's policy without Trusted Types: Swagger UI writes rendered Markdown through innerHTML, which
 * `require-trusted-types-for 'script'` would refuse. Scripts and styles stay 'self' only (React sets its styles
 * through the CSSOM, which the policy allows); the stylesheet draws icons from data: URIs.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

function setDocsHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', DOCS_CSP);
  setHardeningHeaders(res);
}

export function openApiRouter(deps: { allowPrivateNotifyUrls: boolean; channelTypes: readonly string[]; publicBaseUrl: string }): Router {
  const document = Buffer.from(JSON.stringify(buildOpenApiDocument({ allowPrivateNotifyUrls: deps.allowPrivateNotifyUrls, channelTypes: deps.channelTypes, serverUrl: deps.publicBaseUrl })), 'utf8');
  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const assets = loadStaticAssets(__dirname, `${API_DOCS_BASE}/assets`, [
    ['swagger-ui-bundle.js', 'application/javascript; charset=utf-8', path.join(swaggerDir, 'swagger-ui-bundle.js')],
    ['swagger-ui.css', 'text/css; charset=utf-8', path.join(swaggerDir, 'swagger-ui.css')],
    ['favicon-32x32.png', 'image/png', path.join(swaggerDir, 'favicon-32x32.png')],
    ['api-docs.js', 'application/javascript; charset=utf-8'],
    ['api-docs.css', 'text/css; charset=utf-8'],
  ]);
  const url = assets.url;
  const page = renderPageShell({
    title: '收银台 · API 文档 (OpenAPI)',
    icon: { href: url('favicon-32x32.png'), type: 'image/png' },
    stylesheets: [url('swagger-ui.css'), url('api-docs.css')],
    scripts: [url('swagger-ui-bundle.js'), url('api-docs.js')],
    body: html`<div id="swagger-ui" data-spec-url="${OPENAPI_PATH}"></div>
<noscript><p>API 文档需要启用 JavaScript；机器可读的文档见 <a href="${OPENAPI_PATH}">${OPENAPI_PATH}</a>。</p></noscript>`,
  });

  const r = Router();
  r.get(OPENAPI_PATH, (_req, res) => {
    // Data, never a document a browser should run anything in.
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    res.type('application/json; charset=utf-8').send(document);
  });
  r.get([API_DOCS_BASE, `${API_DOCS_BASE}/`], (_req, res) => {
    setDocsHeaders(res);
    res.type('html').send(page);
  });
  r.get(`${API_DOCS_BASE}/assets/:name`, (req, res) => {
    setDocsHeaders(res);
    assets.serve(req, res, () => void res.status(404).type('text/plain').send('not found'));
  });
  return r;
}
