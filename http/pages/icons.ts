/** Inline SVG icons (no external requests). Fixed markup only: nothing here is built from request data. */
import { raw, type SafeHtml } from './html';

const svg = (body: string, viewBox = '0 0 24 24', cls = 'ico') =>
  raw(`<svg class="${cls}" viewBox="${viewBox}" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg">${body}</svg>`);

/** Alipay mark: the 支 glyph on #1677FF. */
export const alipayIcon: SafeHtml = svg(
  '<rect width="40" height="40" rx="9" fill="#1677FF"/>' +
    '<path d="M11 13.2h18M20 9v10.2M13 19.6h13.6c-2.2 6.3-7 9.8-14.2 11.6M16.4 23.4c3 3.9 7.1 6.6 12.6 7.8" fill="none" stroke="#fff" stroke-width="2.9" stroke-linecap="round" stroke-linejoin="round"/>',
  '0 0 40 40',
  'brand-ico',
);

/** WeChat Pay mark: a white tick on #07C160. */
export const wechatIcon: SafeHtml = svg(
  '<rect width="40" height="40" rx="9" fill="#07C160"/>' +
    '<path d="M10.5 20.5l6.3 6.2L30 13.6" fill="none" stroke="#fff" stroke-width="3.6" stroke-linecap="round" stroke-linejoin="round"/>',
  '0 0 40 40',
  'brand-ico',
);

export const lockIcon = svg('<rect x="5" y="10.5" width="14" height="10" rx="2.2" fill="currentColor"/><path d="M8 10.5V8a4 4 0 0 1 8 0v2.5" fill="none" stroke="currentColor" stroke-width="2"/>');
export const shieldIcon = svg('<path d="M12 2.5l7.5 3v5.7c0 4.6-3.1 8.6-7.5 10.3-4.4-1.7-7.5-5.7-7.5-10.3V5.5z" fill="currentColor"/><path d="M8.5 12l2.4 2.4 4.6-4.7" fill="none" stroke="#fff" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/>');
export const storeIcon = svg('<path d="M4 9.5V20h16V9.5M3 9.5l1.6-5h14.8l1.6 5a3 3 0 0 1-6 0 3 3 0 0 1-6 0 3 3 0 0 1-6 0z" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linejoin="round"/><path d="M10 20v-5h4v5" fill="none" stroke="currentColor" stroke-width="1.7"/>');
export const clockIcon = svg('<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="1.8"/><path d="M12 7v5.2l3.4 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>');

export const resultIcons = {
  success: svg('<circle cx="32" cy="32" r="30" fill="currentColor"/><path d="M19 33l9 9 17-18" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>', '0 0 64 64', 'result-ico'),
  fail: svg('<circle cx="32" cy="32" r="30" fill="currentColor"/><path d="M23 23l18 18M41 23L23 41" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round"/>', '0 0 64 64', 'result-ico'),
  clock: svg('<circle cx="32" cy="32" r="30" fill="currentColor"/><path d="M32 17v16l10 6" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>', '0 0 64 64', 'result-ico'),
  warn: svg('<circle cx="32" cy="32" r="30" fill="currentColor"/><path d="M32 17v19" stroke="#fff" stroke-width="5.5" stroke-linecap="round"/><circle cx="32" cy="45.5" r="3.4" fill="#fff"/>', '0 0 64 64', 'result-ico'),
  search: svg('<circle cx="32" cy="32" r="30" fill="currentColor"/><circle cx="29" cy="29" r="9.5" fill="none" stroke="#fff" stroke-width="4.6"/><path d="M36 36l8 8" stroke="#fff" stroke-width="5" stroke-linecap="round"/>', '0 0 64 64', 'result-ico'),
} as const;
