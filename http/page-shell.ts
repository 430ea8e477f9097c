/**
 * The HTML document of the single-page screens served from our own origin (the administrator console, the API
 * docs): our stylesheets and deferred scripts by URL, no inline script or style, so each router's CSP allows
 * 'self' only and needs no nonce. Built once per process; the routers set their own CSP and hardening headers.
 */
import { html, type SafeHtml } from './pages/html';

export interface PageShell {
  title: string;
  /** Further `<meta name content>` after charset and viewport, in order. */
  meta?: ReadonlyArray<readonly [name: string, content: string]>;
  icon: { href: string; type: string };
  stylesheets: readonly string[];
  /** Loaded with `defer`, in order. */
  scripts: readonly string[];
  /** The content of `<body>`. */
  body: SafeHtml;
}

/** The page as UTF-8 bytes; every interpolated value is escaped (see ./pages/html). */
export function renderPageShell(p: PageShell): Buffer {
  const page = html`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${(p.meta ?? []).map(([name, content]) => html`<meta name="${name}" content="${content}">\n`)}<title>${p.title}</title>
<link rel="icon" href="${p.icon.href}" type="${p.icon.type}">
${p.stylesheets.map((href) => html`<link rel="stylesheet" href="${href}">\n`)}${p.scripts.map((src) => html`<script src="${src}" defer></script>\n`)}</head>
<body>
${p.body}
</body>
</html>
`;
  return Buffer.from(page.value, 'utf8');
}
