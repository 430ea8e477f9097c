/**
 * Consumer-side pages of the WeChat sandbox (zh-CN, mobile): they stand in for the WeChat client, which a
 * browser test cannot run. Stable element ids for tests: #wx-pay-confirm, #wx-pay-cancel, #wx-amount,
 * #wx-pay-unavailable, #wx-pay-result[data-result], #wx-error; the JSAPI bridge frame is #wechat-sandbox-frame.
 */
import type { SimTrade } from './types';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Integer arithmetic only: amounts are fen and must not pass through float formatting. */
export function fenToYuan(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

const STYLE = `
  *{box-sizing:border-box}body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#ededed;color:#191919}
  main{max-width:480px;margin:0 auto;padding:24px 16px}
  .brand{display:flex;align-items:center;gap:8px;color:#07c160;font-weight:600;font-size:15px}
  .brand small{color:#999;font-weight:400}
  .card{background:#fff;border-radius:8px;padding:24px 16px;margin-top:16px;text-align:center}
  .merchant{color:#555;font-size:14px;margin:0}.desc{color:#888;font-size:13px;margin:6px 0 0}
  .amount{font-size:36px;font-weight:600;margin:16px 0 4px}.amount span{font-size:22px;margin-right:2px}
  button{display:block;width:100%;border:0;border-radius:6px;padding:13px;font-size:17px;margin-top:12px;cursor:pointer}
  .primary{background:#07c160;color:#fff}.secondary{background:#f2f2f2;color:#07c160}
  .notice{color:#fa5151;font-size:15px}.ok{color:#07c160;font-size:20px;font-weight:600}
  .meta{color:#aaa;font-size:12px;margin-top:16px;word-break:break-all}`;

export function layout(title: string, body: string, extraHead = ''): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style>${extraHead}</head>
<body><main><div class="brand">微信支付 <small>WeChat Pay 沙箱</small></div>${body}</main></body></html>`;
}

export interface SheetOptions {
  merchantName: string;
  /** Why the trade cannot be paid now (paid, closed, expired…), if so. */
  unavailable?: string;
  redirectUrl?: string;
  embed?: boolean;
  /** Signature check result for App/JSAPI client parameters, shown for transparency. */
  signatureNote?: string;
}

/** The payment sheet the buyer sees after opening h5_url, scanning code_url or invoking App/JSAPI pay. */
export function paymentSheet(trade: SimTrade, o: SheetOptions): string {
  const hidden = (name: string, value: string | undefined) =>
    value ? `<input type="hidden" name="${name}" value="${escapeHtml(value)}">` : '';
  const actions = o.unavailable
    ? `<p class="notice" id="wx-pay-unavailable">${escapeHtml(o.unavailable)}</p>
       <form method="post" action="/pay/confirm">${hidden('prepay_id', trade.prepay_id)}${hidden('redirect_url', o.redirectUrl)}${hidden('embed', o.embed ? '1' : undefined)}
       <button class="secondary" id="wx-pay-cancel" name="action" value="cancel" type="submit">返回</button></form>`
    : `<form method="post" action="/pay/confirm">
       ${hidden('prepay_id', trade.prepay_id)}${hidden('redirect_url', o.redirectUrl)}${hidden('embed', o.embed ? '1' : undefined)}
       <button class="primary" id="wx-pay-confirm" name="action" value="pay" type="submit">确认支付</button>
       <button class="secondary" id="wx-pay-cancel" name="action" value="cancel" type="submit">取消</button></form>`;
  return layout(
    '微信支付',
    `<div class="card" data-out-trade-no="${escapeHtml(trade.out_trade_no)}" data-trade-state="${trade.trade_state}">
      <p class="merchant">${escapeHtml(o.merchantName)}</p>
      <p class="desc">${escapeHtml(trade.description)}</p>
      <p class="amount" id="wx-amount"><span>¥</span>${fenToYuan(trade.amount_total)}</p>
      ${actions}
      <p class="meta">${escapeHtml(trade.trade_type)} · ${escapeHtml(trade.out_trade_no)}${o.signatureNote ? ` · ${escapeHtml(o.signatureNote)}` : ''}</p>
    </div>`,
  );
}

export type PayOutcome = 'ok' | 'cancel' | 'fail';

/** Result after 确认支付 / 取消; in embed mode it reports to the page that hosts the JSAPI bridge frame. */
export function resultPage(trade: SimTrade | undefined, result: PayOutcome, message: string, embed: boolean): string {
  const script = embed
    ? `<script>parent.postMessage(${JSON.stringify({ source: 'wechat-sandbox', prepayId: trade?.prepay_id ?? null, result })}, '*');</script>`
    : '';
  const cls = result === 'ok' ? 'ok' : 'notice';
  return layout(
    result === 'ok' ? '支付成功' : '支付未完成',
    `<div class="card"><p class="${cls}" id="wx-pay-result" data-result="${result}">${escapeHtml(message)}</p>
     ${trade ? `<p class="amount"><span>¥</span>${fenToYuan(trade.amount_total)}</p><p class="desc">${escapeHtml(trade.description)}</p>` : ''}
     ${script}</div>`,
  );
}

export function errorPage(status: number, message: string): string {
  return layout('出错了', `<div class="card"><p class="notice" id="wx-error" data-status="${status}">${escapeHtml(message)}</p></div>`);
}

/**
 * Stand-in for the WeChat in-app browser's WeixinJSBridge. invoke('getBrandWCPayRequest', params, cb) opens
 * the sandbox prepay page in an overlay frame (the "WeChat pay sheet"); the page verifies paySign, lets the
 * buyer pay or cancel, and posts the outcome back; cb gets {err_msg:'get_brand_wcpay_request:ok|cancel|fail'}
 * exactly like the real bridge. Fires WeixinJSBridgeReady like WeChat does.
 */
export function jsBridgeScript(sandboxUrl: string): string {
  return `/* WeChat Pay sandbox: WeixinJSBridge stand-in (test use only) */
(function () {
  var SANDBOX = ${JSON.stringify(sandboxUrl)};
  var ORIGIN = new URL(SANDBOX).origin;
  function invoke(api, params, cb) {
    cb = typeof cb === 'function' ? cb : function () {};
    if (api !== 'getBrandWCPayRequest') { cb({ err_msg: api + ':fail_not_supported_in_sandbox' }); return; }
    var pkg = params && params['package'];
    var m = /^prepay_id=(.+)$/.exec(pkg || '');
    if (!m) { cb({ err_msg: 'get_brand_wcpay_request:fail_invalid_package' }); return; }
    var prepayId = m[1];
    var q = new URLSearchParams();
    ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'].forEach(function (k) {
      if (params[k] !== undefined) q.set(k, String(params[k]));
    });
    q.set('embed', '1');
    var overlay = document.createElement('div');
    overlay.id = 'wechat-sandbox-overlay';
    overlay.setAttribute('style', 'position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147483647;display:flex;align-items:flex-end;justify-content:center');
    var frame = document.createElement('iframe');
    frame.id = 'wechat-sandbox-frame';
    frame.title = '微信支付';
    frame.src = SANDBOX + '/pay/prepay/' + encodeURIComponent(prepayId) + '?' + q.toString();
    frame.setAttribute('style', 'width:100%;max-width:480px;height:70vh;border:0;border-radius:12px 12px 0 0;background:#ededed');
    overlay.appendChild(frame);
    function onMessage(ev) {
      if (ev.origin !== ORIGIN || !ev.data || ev.data.source !== 'wechat-sandbox' || ev.data.prepayId !== prepayId) return;
      window.removeEventListener('message', onMessage);
      overlay.remove();
      var r = ev.data.result === 'ok' ? 'ok' : ev.data.result === 'cancel' ? 'cancel' : 'fail';
      cb({ err_msg: 'get_brand_wcpay_request:' + r });
    }
    window.addEventListener('message', onMessage);
    document.body.appendChild(overlay);
  }
  window.WeixinJSBridge = { invoke: invoke, call: function () {}, on: function () {} };
  function ready() { document.dispatchEvent(new Event('WeixinJSBridgeReady')); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready); else setTimeout(ready, 0);
})();
`;
}
