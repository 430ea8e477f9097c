/**
 * Hosted cashier pages (/cashier-desk-web), zh-CN and mobile first:
 *   GET /payment?token=…        the cashier page: order, amount, countdown, the merchant's chosen channels
 *   GET /processing?token=…     支付处理中 (App scene): polls until the order has a result
 *   GET /alipay-return?token=…  Alipay sync return (同步返回): verifies the signed parameters, then shows the
 *                               status from the server (workflow / database), never from the query string
 *   GET /result?token=…         the result page (success / failed / closed / still confirming)
 *   GET /return?token=…         the final redirect to the merchant's returnUrl (a done page when it is null)
 *   GET /qr.svg?token=…&c=…     Native QR code of the order's own provider payload, rendered here as SVG (no
 *                               external service); `c`, when given, must be that payload
 *   GET /static/…               cashier.css and cashier.js (content-hashed URLs, cached immutably)
 * Every page carries a strict CSP (http/pages/security.ts); unknown paths and failures render zh-CN pages.
 */
import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import type { CashierOrderView, OrderService } from '../../app/orders';
import type { Config } from '../../config';
import { formatShanghai, isPaid } from '../../domain/order';
import { CASHIER_WEB_BASE, cashierPagePath } from '../../domain/urls';
import type { Logger } from '../../observability/logger';
import { loadStaticAssets } from '../static-assets';
import { devJsBridgeUrl } from './bridge';
import type { SafeHtml } from './html';
import { formActionOrigins, httpOrigin, setBaseHeaders, setPageHeaders, type CspOptions } from './security';
import { messagePage, paymentPage, processingPage, resultPage, type Assets, type OrderInfo, type ResultKind } from './views';

const TOKEN_RE = /^[0-9A-F]{32}$/;
const OPENID_RE = /^[A-Za-z0-9_-]{1,128}$/;
/** The shape of a QR payload (`c`): provider code URLs only (Alipay http(s) QR URLs, WeChat weixin://wxpay/...). */
const CODE_URL_RE = /^(?:https?:\/\/|weixin:\/\/wxpay\/)[\x21-\x7e]{1,1000}$/;
/** Parameters Alipay appends on the sync return; their presence means there is a signature to check. */
const ALIPAY_RETURN_MARKERS = ['sign', 'out_trade_no', 'trade_no', 'app_id', 'total_amount'];

type Phase = 'paid' | 'failed' | 'closed' | 'expired' | 'open';

function phaseOf(v: CashierOrderView, now = Date.now()): Phase {
  if (isPaid(v.status)) return 'paid';
  if (v.status === 'FAIL') return 'failed';
  if (v.status === 'CLOSED') return 'closed';
  return v.row.expire_at.getTime() <= now ? 'expired' : 'open';
}

function orderInfo(v: CashierOrderView): OrderInfo {
  return {
    token: v.row.token,
    orderTitle: v.row.order_title,
    goodsDesc: v.row.goods_desc,
    amount: v.row.amount,
    outTradeNo: v.row.out_trade_no,
    appName: v.appName,
    returnUrl: v.row.return_url && httpOrigin(v.row.return_url) ? v.row.return_url : null,
  };
}

function queryString(req: Request, name: string): string | null {
  const v = req.query[name];
  return typeof v === 'string' ? v : null;
}

export function createPagesRouter(deps: { orders: OrderService; config: Pick<Config, 'env' | 'jsBridgeUrl'>; log: Logger }): Router {
  const staticFiles = loadStaticAssets(__dirname, `${CASHIER_WEB_BASE}/static`, [
    ['cashier.css', 'text/css; charset=utf-8'],
    ['cashier.js', 'application/javascript; charset=utf-8'],
  ]);
  const assets: Assets = { css: staticFiles.url('cashier.css'), js: staticFiles.url('cashier.js') };
  const { log } = deps;
  const web = Router();

  const send = (res: Response, status: number, page: SafeHtml, csp?: CspOptions) => {
    setPageHeaders(res, csp);
    res.status(status).send(page.value);
  };
  const notFound = (res: Response) => send(res, 404, messagePage({ assets, kind: 'not-found' }));

  async function load(req: Request): Promise<CashierOrderView | null> {
    const token = queryString(req, 'token');
    if (!token || !TOKEN_RE.test(token)) return null;
    return deps.orders.cashierOrder(token);
  }

  const returnAction = (info: OrderInfo) => (info.returnUrl ? [{ href: cashierPagePath('return', info.token), text: '返回商户', id: 'return-btn', primary: true }] : []);

  function renderResult(res: Response, v: CashierOrderView, status = 200) {
    const phase = phaseOf(v);
    const kind: ResultKind = phase === 'paid' ? 'SUCCESS' : phase === 'failed' ? 'FAIL' : phase === 'closed' ? 'CLOSED' : 'PENDING';
    const payTime = v.payTime;
    send(
      res,
      status,
      resultPage({
        assets,
        order: orderInfo(v),
        kind,
        channelType: v.channel?.channelType ?? v.row.channel_type,
        payTime: payTime === null ? null : formatShanghai(payTime),
        errorMsg: v.errorMsg,
      }),
    );
  }

  web.use((_req, res, next) => {
    setBaseHeaders(res);
    next();
  });

  web.get('/static/:name', (req, res) => staticFiles.serve(req, res, () => notFound(res)));

  web.get('/payment', async (req, res) => {
    const v = await load(req);
    if (!v) return notFound(res);
    const info = orderInfo(v);
    switch (phaseOf(v)) {
      case 'paid':
        return renderResult(res, v);
      case 'failed':
        return renderResult(res, v, 410);
      case 'expired':
        // A trade was opened at a provider: the buyer may have paid at the last second; the result page waits for
        // the workflow's verdict (it queries the provider once more before closing).
        if (v.status === 'PAYING') return res.redirect(303, cashierPagePath('result', v.row.token));
        return send(res, 410, messagePage({ assets, kind: 'expired', order: info, actions: returnAction(info) }));
      case 'closed':
        return send(res, 410, messagePage({ assets, kind: 'expired', order: info, actions: returnAction(info) }));
      default:
        break;
    }
    if (v.channels.length === 0) return send(res, 503, messagePage({ assets, kind: 'no-channel', order: info, actions: returnAction(info) }));
    const gateways = await deps.orders.channelGateways(v);
    const jsapi = v.channels.some((c) => c.channelType === 'wx-pay' && c.sceneCode === 'jsapi');
    const jsBridgeUrl = jsapi ? devJsBridgeUrl(deps.config, gateways) : null;
    const bridgeOrigin = jsBridgeUrl ? httpOrigin(jsBridgeUrl) : null;
    const openid = queryString(req, 'openid');
    send(
      res,
      200,
      paymentPage({
        assets,
        order: info,
        channels: v.channels.map((c) => ({ channelId: c.channelId, channelType: c.channelType, sceneCode: c.sceneCode })),
        remainingMs: v.row.expire_at.getTime() - Date.now(),
        openid: openid && OPENID_RE.test(openid) ? openid : null,
        jsBridgeUrl,
      }),
      {
        formAction: formActionOrigins(gateways.map((g) => g.gatewayUrl)),
        scriptSrc: bridgeOrigin ? [bridgeOrigin] : [],
        frameSrc: bridgeOrigin ? [bridgeOrigin] : [],
      },
    );
  });

  web.get('/processing', async (req, res) => {
    const v = await load(req);
    if (!v) return notFound(res);
    const phase = phaseOf(v);
    if (phase !== 'open' && v.status === 'CREATED') {
      // Expired without a trade ever being opened: nothing can still be paid.
      const info = orderInfo(v);
      return send(res, 410, messagePage({ assets, kind: 'expired', order: info, actions: returnAction(info) }));
    }
    if (phase !== 'open') return res.redirect(303, cashierPagePath('result', v.row.token));
    send(res, 200, processingPage({ assets, order: orderInfo(v), channelType: v.channel?.channelType ?? v.row.channel_type }));
  });

  web.get('/result', async (req, res) => {
    const v = await load(req);
    if (!v) return notFound(res);
    renderResult(res, v);
  });

  web.get('/alipay-return', async (req, res) => {
    const v = await load(req);
    if (!v) return notFound(res);
    // WeChat H5 returns here too (redirect_url) without parameters: then there is nothing to verify.
    if (ALIPAY_RETURN_MARKERS.some((k) => k in req.query)) {
      const verdict = await verifyReturn(v, req.query);
      if (verdict !== 'ok') {
        log.warn('alipay sync return rejected', { orderId: v.row.id, reason: verdict });
        const info = orderInfo(v);
        return send(
          res,
          400,
          messagePage({ assets, kind: 'bad-return', order: info, actions: [{ href: cashierPagePath('result', info.token), text: '查看订单状态', id: 'status-btn', primary: true }] }),
        );
      }
    }
    renderResult(res, v);
  });

  /** Only single-valued parameters can be signed ones; anything else is refused before verification. */
  async function verifyReturn(v: CashierOrderView, query: Request['query']): Promise<'ok' | string> {
    const params: Record<string, string> = {};
    for (const [k, val] of Object.entries(query)) {
      if (typeof val !== 'string') return `parameter ${k} is not a single string`;
      params[k] = val;
    }
    return deps.orders.verifyProviderReturn(v, params);
  }

  web.get('/return', async (req, res) => {
    const v = await load(req);
    if (!v) return notFound(res);
    const info = orderInfo(v);
    if (info.returnUrl) return res.redirect(303, info.returnUrl);
    send(res, 200, messagePage({ assets, kind: 'done', order: info }));
  });

  web.get('/qr.svg', async (req, res) => {
    const v = await load(req);
    const code = queryString(req, 'c');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    if (!v) return void res.status(404).type('text/plain').send('not found');
    if (phaseOf(v) !== 'open') return void res.status(410).type('text/plain').send('order is no longer payable');
    if (code !== null && !CODE_URL_RE.test(code)) return void res.status(400).type('text/plain').send('bad code');
    // Only the payload the provider returned for this order's prepay is drawn: a token must not turn any link
    // into a QR code on our domain. `c` is optional and, when given, must be that payload.
    const own = v.row.qr_code;
    if (!own || (code !== null && code !== own)) return void res.status(404).type('text/plain').send('no such QR code for this order');
    const svg = await QRCode.toString(own, { type: 'svg', errorCorrectionLevel: 'H', margin: 0, color: { dark: '#111111ff', light: '#ffffffff' } });
    res.setHeader('Cache-Control', 'no-store');
    res.type('image/svg+xml').send(svg);
  });

  web.use((_req, res) => notFound(res));

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    // A path the router cannot percent-decode (e.g. %c0%ae), or a token PostgreSQL cannot even compare (a NUL,
    // SQLSTATE 22021), names no page: the client's mistake, not an outage.
    if ((err instanceof URIError || (err as { code?: unknown })?.code === '22021') && !res.headersSent) return notFound(res);
    log.error('page failed', { path: req.path, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    if (res.headersSent) return void res.end();
    send(res, 500, messagePage({ assets, kind: 'error' }));
  };
  web.use(onError);

  const router = Router();
  router.use(CASHIER_WEB_BASE, web);
  return router;
}
