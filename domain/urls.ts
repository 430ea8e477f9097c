/**
 * The public URL paths of Cashier Desk, in one place: the HTTP routers mount on them, and activities and
 * use-cases build absolute URLs (provider callbacks, return pages, cashier links) from them. Pure.
 */
export const MERCHANT_API_BASE = '/api/cashier-desk';
export const REGISTRATION_API_BASE = '/api/cashier-desk-sa';
export const ADMIN_API_BASE = '/api/cashier-desk-admin';
export const CASHIER_WEB_BASE = '/cashier-desk-web';
export const CONSOLE_BASE = '/cashier-desk-admin';
/** The OpenAPI document of the HTTP APIs and the page that renders it. */
export const OPENAPI_PATH = `${MERCHANT_API_BASE}/openapi.json`;
export const API_DOCS_BASE = '/api-docs';

/** The cashier pages a token opens (`/cashier-desk-web/{page}?token=…`). */
export type CashierPage = 'payment' | 'processing' | 'alipay-return' | 'result' | 'return';

export const cashierPagePath = (page: CashierPage, token: string) => `${CASHIER_WEB_BASE}/${page}?token=${encodeURIComponent(token)}`;

/** Where a provider posts its notifications for one channel config (the id selects the verifying keys). */
export const providerCallbackPath = (channelType: string, configId: number | string) => `${MERCHANT_API_BASE}/callbacks/${channelType}/${configId}`;

/** Where a provider posts its refund notifications for one channel config (no query string: WeChat forbids it). */
export const providerRefundCallbackPath = (channelType: string, configId: number | string) => `${providerCallbackPath(channelType, configId)}/refunds`;

/** Where a provider posts its transfer notifications for one channel config (WeChat's transfer-bill results). */
export const providerTransferCallbackPath = (channelType: string, configId: number | string) => `${providerCallbackPath(channelType, configId)}/transfers`;

/** The endpoint the cashier page calls to pay with a channel's scene. */
export const payWithChannelPath = (channelType: string, sceneCode: string) => `${MERCHANT_API_BASE}/${channelType}/${sceneCode}`;
