/**
 * The administrator console, `/cashier-desk-admin`: one HTML shell plus a small script and stylesheet of our
 * own (http/console/public). The script renders every view from the JSON API with DOM APIs only (no innerHTML), so
 * the CSP forbids inline script, inline style, framing and any origin but ours, and enforces Trusted Types.
 */
import { Router, type Response } from 'express';
import { renderPageShell } from '../page-shell';
import { html } from '../pages/html';
import { setHardeningHeaders } from '../security-headers';
import { loadStaticAssets } from '../static-assets';

import { CONSOLE_BASE } from '../../domain/urls';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

function setHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CSP);
  // same-origin (not no-referrer): the console's own POSTs must carry a real Origin header for the CSRF check.
  setHardeningHeaders(res, 'same-origin');
}

export function consoleRouter(): Router {
  const assets = loadStaticAssets(__dirname, `${CONSOLE_BASE}/assets`, [
    ['admin.js', 'application/javascript; charset=utf-8'],
    ['admin.css', 'text/css; charset=utf-8'],
    ['favicon.svg', 'image/svg+xml'],
  ]);
  const url = assets.url;
  const page = renderPageShell({
    title: '收银台 · 管理控制台',
    meta: [['referrer', 'same-origin']],
    icon: { href: url('favicon.svg'), type: 'image/svg+xml' },
    stylesheets: [url('admin.css')],
    scripts: [url('admin.js')],
    body: html`<div id="app" class="boot" aria-live="polite"><p class="boot-msg">正在加载管理控制台…</p></div>
<noscript><p class="boot-msg">管理控制台需要启用 JavaScript。</p></noscript>`,
  });
  const r = Router();
  r.get([CONSOLE_BASE, `${CONSOLE_BASE}/`], (_req, res) => {
    setHeaders(res);
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(page);
  });
  r.get(`${CONSOLE_BASE}/assets/:name`, (req, res) => {
    setHeaders(res);
    assets.serve(req, res, () => void res.status(404).type('text/plain').send('not found'));
  });
  // Deep links (#/orders/…) live in the fragment; anything else under the console is a 404 page.
  r.use(CONSOLE_BASE, (_req, res) => {
    setHeaders(res);
    res.status(404).type('html').send(Buffer.from(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title></head><body><p>页面不存在。<a href="${CONSOLE_BASE}">返回管理控制台</a></p></body></html>`));
  });
  return r;
}
