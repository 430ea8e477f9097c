/**
 * Response headers of the hosted pages. The Content-Security-Policy allows scripts, styles and fetches from
 * our own origin only: no inline script, no inline event handler, no inline style attribute, images from us
 * or data: URLs. The only per-page additions are the provider gateway origins a page may submit a form to
 * and, outside production, the sandbox origin of the WeixinJSBridge stand-in (see http/pages/bridge.ts).
 */
import type { Response } from 'express';
import { setHardeningHeaders } from '../security-headers';

export interface CspOptions {
  /** Origins a provider form may be posted to (H5 `form` payloads). */
  formAction?: readonly string[];
  /** Extra script origins (development WeixinJSBridge stand-in only). */
  scriptSrc?: readonly string[];
  /** Extra frame origins (the stand-in opens the sandbox pay sheet in a frame). */
  frameSrc?: readonly string[];
}

export function contentSecurityPolicy(o: CspOptions = {}): string {
  const list = (base: string[], extra?: readonly string[]) => [...base, ...(extra ?? [])].join(' ');
  const directives = [
    "default-src 'self'",
    `script-src ${list(["'self'"], o.scriptSrc)}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    `frame-src ${o.frameSrc?.length ? o.frameSrc.join(' ') : "'none'"}`,
    "object-src 'none'",
    "base-uri 'none'",
    `form-action ${list(["'self'"], o.formAction)}`,
    "frame-ancestors 'none'",
  ];
  return directives.join('; ');
}

/** Headers every page and asset of /cashier-desk-web carries (set here too, so the pages do not rely on the app). */
export function setBaseHeaders(res: Response): void {
  setHardeningHeaders(res, 'no-referrer');
}

export function setPageHeaders(res: Response, csp: CspOptions = {}): void {
  setBaseHeaders(res);
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(csp));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
}

/** The origin of an http(s) URL, or null for anything else (javascript:, data:, garbage). */
export function httpOrigin(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null;
  } catch {
    return null;
  }
}

export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === '127.0.0.1' || host === 'localhost' || host === '::1';
  } catch {
    return false;
  }
}

/**
 * Where a provider's H5 form may go: its gateway origin, plus the provider's own cashier hosts it redirects
 * the form submission to (Chrome checks form-action on redirects too).
 */
export function formActionOrigins(gatewayUrls: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of gatewayUrls) {
    const origin = httpOrigin(g);
    if (!origin) continue;
    out.add(origin);
    const host = new URL(origin).hostname;
    if (host === 'alipay.com' || host.endsWith('.alipay.com')) out.add('https://*.alipay.com');
    if (host.endsWith('.alipaydev.com')) out.add('https://*.alipaydev.com');
  }
  return [...out];
}
