import type { Response } from 'express';

/**
 * The hardening headers every HTML page and asset carries (cashier pages, console). The referrer policy is
 * the one knob: the console needs same-origin so its own POSTs keep an Origin for the CSRF check.
 */
export function setHardeningHeaders(res: Response, referrerPolicy: 'no-referrer' | 'same-origin' = 'no-referrer'): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', referrerPolicy);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

/** Every response of the HTTP app starts with these; pages and the console add their CSP on top. */
export function setApiHeaders(res: Response): void {
  setHardeningHeaders(res);
  res.setHeader('Cache-Control', 'no-store');
}
