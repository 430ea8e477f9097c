/** HTTP clients for the operator side in tests: an administrator session (cookie + CSRF) and signed merchant calls. */
import { providerOutTradeNo } from '../../domain/order';
import type { PaySdk } from '../../sdk';
import { signRequestHeaders } from '../../signature';
import type { TestSystem } from './system';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: { code: number; msg: string; data?: T; responseTime: number };
  headers: Headers;
}

async function answer<T>(res: Response): Promise<Answer<T>> {
  const text = await res.text();
  let body: Answer<T>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, body, headers: res.headers };
}

export class AdminClient {
  cookie: string | null = null;
  csrfToken: string | null = null;
  readonly api: string;

  constructor(
    readonly baseUrl: string,
    /** Sent as Origin on state-changing requests (a browser always does). */
    public origin: string | null = baseUrl,
  ) {
    this.api = `${baseUrl}/api/cashier-desk-admin`;
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== 'GET') {
      if (this.csrfToken && !('x-csrf-token' in extra)) headers['x-csrf-token'] = this.csrfToken;
      if (this.origin && !('origin' in extra)) headers.origin = this.origin;
    }
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
    const res = await fetch(`${this.api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    const setCookie = res.headers.getSetCookie();
    for (const c of setCookie) {
      const [pair] = c.split(';');
      if (/=$/.test(pair) || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookie = null;
      else this.cookie = pair;
    }
    return answer<T>(res);
  }

  get<T = Record<string, unknown>>(path: string, extra?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, extra);
  }

  post<T = Record<string, unknown>>(path: string, body?: unknown, extra?: Record<string, string>) {
    return this.request<T>('POST', path, body, extra);
  }

  patch<T = Record<string, unknown>>(path: string, body?: unknown, extra?: Record<string, string>) {
    return this.request<T>('PATCH', path, body, extra);
  }

  async login(username: string, password: string): Promise<Answer<{ csrfToken: string; username: string }>> {
    const res = await this.post<{ csrfToken: string; username: string }>('/login', { username, password });
    if (res.body.code === 1000) this.csrfToken = res.body.data!.csrfToken;
    return res;
  }
}

/** A Signature v1 request of a merchant app (raw fetch, so tests see status and envelope as sent). */
export async function signedCall<T = Record<string, unknown>>(
  baseUrl: string,
  app: { appId: string; appKey: string; signType?: 'HMAC-SHA256' | 'HMAC-SM3' },
  method: string,
  pathWithQuery: string,
  body?: unknown,
): Promise<Answer<T>> {
  const raw = body === undefined ? '' : JSON.stringify(body);
  const headers = signRequestHeaders({ method, pathWithQuery, appId: app.appId, appKey: app.appKey, signType: app.signType, body: raw });
  const res = await fetch(`${baseUrl}${pathWithQuery}`, {
    method,
    headers: { ...headers, ...(raw ? { 'content-type': 'application/json' } : {}) },
    body: raw || undefined,
  });
  return answer<T>(res);
}

/** A paid order whose merchant refuses every notification, so its workflow stays in the notification loop. */
export async function paidOrderWithRefusingMerchant(
  sys: TestSystem,
  sdk: PaySdk,
  channelId: number,
  outTradeNo: string,
  amount = 1999,
): Promise<{ orderId: number }> {
  const order = await sdk.unifiedOrder({ amount, goodsDesc: '月卡会员', orderTitle: '会员充值', outTradeNo, thirdPartyUser: 'u-1' });
  await sdk.getPaymentListUrl(order);
  const res = await fetch(`${sys.gateway}/ali-pay/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: order.token }) });
  if (res.status !== 200) throw new Error(`prepay failed: ${res.status} ${await res.text()}`);
  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), channelId));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const attempts = await sys.t.db('notification_attempts').where({ order_id: Number(order.orderId) });
    if (attempts.length > 0) return { orderId: Number(order.orderId) };
    if (Date.now() > deadline) throw new Error('no notification attempt');
    await new Promise((r) => setTimeout(r, 100));
  }
}
