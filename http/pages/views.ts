/**
 * The hosted pages (zh-CN, mobile first). Server-rendered with auto-escaping templates; behaviour lives in
 * /cashier-desk-web/static/cashier.js, driven by data-* attributes (no inline script or event handler).
 */
import { fenToYuanString } from '../../domain/money';
import { cashierPagePath } from '../../domain/urls';
import { html, raw, type SafeHtml } from './html';
import { alipayIcon, clockIcon, lockIcon, resultIcons, shieldIcon, storeIcon, wechatIcon } from './icons';

export interface Assets {
  css: string;
  js: string;
}

export interface Brand {
  key: 'alipay' | 'wechat';
  name: string;
  app: string;
  payLabel: string;
  icon: SafeHtml;
}

export const BRANDS: Record<string, Brand> = {
  'ali-pay': { key: 'alipay', name: '支付宝', app: '支付宝', payLabel: '支付宝支付', icon: alipayIcon },
  'wx-pay': { key: 'wechat', name: '微信支付', app: '微信', payLabel: '微信支付', icon: wechatIcon },
};

const SCENE_HINTS: Record<string, Record<string, string>> = {
  'ali-pay': { h5: '跳转支付宝完成付款', native: '支付宝扫码付款', app: '打开支付宝 App 付款', jsapi: '在支付宝内付款' },
  'wx-pay': { h5: '跳转微信完成付款', native: '微信扫一扫付款', app: '打开微信 App 付款', jsapi: '在微信内完成付款' },
};

export function brandOf(channelType: string | null | undefined): Brand | null {
  return (channelType && BRANDS[channelType]) || null;
}


function yuan(fen: number): string {
  return fenToYuanString(fen);
}

/** "29:59" below an hour, "1:29:59" above. */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${p(m)}:${p(s)}` : `${p(m)}:${p(s)}`;
}

interface LayoutOptions {
  title: string;
  assets: Assets;
  /** data-* attributes of <body> (escaped). */
  data?: Record<string, string | number | null | undefined>;
  /** Scripts to load before cashier.js (the development WeixinJSBridge stand-in only). */
  extraScripts?: readonly string[];
  bodyClass?: string;
  main: SafeHtml;
  /** Whether the page needs cashier.js at all. */
  script?: boolean;
}

function layout(o: LayoutOptions): SafeHtml {
  const data = Object.entries(o.data ?? {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => html` data-${k}="${String(v)}"`);
  return html`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="format-detection" content="telephone=no">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta name="theme-color" content="#f5f6f8">
<title>${o.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${o.assets.css}">
</head>
<body class="${o.bodyClass ?? ''}"${data}>
<header class="topbar"><span class="topbar-title">${lockIcon}收银台</span></header>
<main class="wrap">
${o.main}
</main>
<footer class="trust">${shieldIcon}<span>收银台提供安全支付服务</span></footer>
${(o.extraScripts ?? []).map((src) => html`<script src="${src}"></script>\n`)}${o.script === false ? '' : html`<script src="${o.assets.js}" defer></script>`}
</body>
</html>
`;
}

// ─────────────────────────────── payment page ───────────────────────────────

export interface PaymentChannel {
  channelId: number;
  channelType: string;
  sceneCode: string;
}

export interface OrderInfo {
  token: string;
  orderTitle: string;
  goodsDesc: string;
  amount: number;
  outTradeNo: string;
  appName: string | null;
  returnUrl: string | null;
}

function orderCard(o: OrderInfo, extra?: SafeHtml): SafeHtml {
  return html`<section class="card order" aria-label="订单信息">
  ${o.appName ? html`<p class="payee">${storeIcon}<span>${o.appName}</span></p>` : ''}
  <p class="amount" id="amount" data-fen="${o.amount}"><span class="cur">¥</span><span class="num">${yuan(o.amount)}</span></p>
  <h1 class="order-title" id="order-title">${o.orderTitle}</h1>
  ${o.goodsDesc && o.goodsDesc !== o.orderTitle ? html`<p class="order-desc" id="goods-desc">${o.goodsDesc}</p>` : ''}
  <dl class="meta">
    <div><dt>订单号</dt><dd class="mono">${o.outTradeNo}</dd></div>
    ${extra ?? ''}
  </dl>
</section>`;
}

export function paymentPage(p: {
  assets: Assets;
  order: OrderInfo;
  channels: PaymentChannel[];
  remainingMs: number;
  openid: string | null;
  jsBridgeUrl: string | null;
}): SafeHtml {
  const { order } = p;
  const usable = p.channels.filter((c) => brandOf(c.channelType));
  const first = usable.find((c) => c.sceneCode !== 'jsapi' || p.openid) ?? usable[0];
  const countdown = html`<div class="countdown-row"><dt>剩余支付时间</dt><dd>${clockIcon}<span id="countdown" data-remaining-ms="${Math.max(0, p.remainingMs)}">${formatRemaining(p.remainingMs)}</span></dd></div>`;
  const methods = usable.length
    ? html`<ul class="method-list" role="radiogroup" aria-label="支付方式">
${usable.map((c) => {
  const b = brandOf(c.channelType)!;
  const needsOpenid = c.sceneCode === 'jsapi' && !p.openid;
  return html`  <li><label class="method brand-${b.key}${needsOpenid ? ' is-disabled' : ''}" id="method-${c.channelType}-${c.sceneCode}">
    <input type="radio" name="channel" value="${c.channelId}" data-channel-type="${c.channelType}" data-scene="${c.sceneCode}" data-brand="${b.key}" data-brand-name="${b.name}" data-app-name="${b.app}"${c === first ? raw(' checked') : ''}${needsOpenid ? raw(' disabled') : ''}>
    <span class="method-icon">${b.icon}</span>
    <span class="method-text"><span class="method-name">${b.name}</span><span class="method-hint" data-default-hint="${SCENE_HINTS[c.channelType]?.[c.sceneCode] ?? ''}">${needsOpenid ? '请在微信内打开本页面' : (SCENE_HINTS[c.channelType]?.[c.sceneCode] ?? '')}</span></span>
    <span class="radio" aria-hidden="true"></span>
  </label></li>
`;
})}</ul>`
    : html`<p class="empty" id="no-channels">暂无可用的支付方式，请联系商户。</p>`;
  const firstBrand = first ? brandOf(first.channelType) : null;
  return layout({
    title: `${order.orderTitle} - 收银台`,
    assets: p.assets,
    extraScripts: p.jsBridgeUrl ? [p.jsBridgeUrl] : [],
    data: { page: 'payment', token: order.token, openid: p.openid, amount: yuan(order.amount) },
    main: html`${orderCard(order, countdown)}
<section class="card methods" id="methods" aria-label="选择支付方式">
  <h2 class="section-title">选择支付方式</h2>
  ${methods}
</section>
<section class="card qr-view" id="qr-view" hidden aria-live="polite">
  <p class="qr-head"><span class="qr-brand-icon" id="qr-brand-icon"></span><span id="qr-title">扫码支付</span></p>
  <div class="qr-frame"><img id="qr-img" alt="支付二维码" width="216" height="216"></div>
  <p class="qr-tip" id="qr-tip">请使用手机扫描二维码完成支付</p>
  <p class="qr-status" id="qr-status"><span class="spinner" aria-hidden="true"></span><span>等待支付…</span></p>
  <button type="button" class="btn btn-ghost" id="qr-back">更换支付方式</button>
</section>
<div class="expired-note" id="expired-note" hidden role="alert">订单已超时，请返回商户重新下单</div>
<div class="paybar" id="paybar">
  <button type="button" class="btn btn-primary brand-${firstBrand?.key ?? 'none'}" id="pay-btn"${first ? '' : raw(' disabled')}>${firstBrand ? `${firstBrand.payLabel} ¥${yuan(order.amount)}` : '暂无可用支付方式'}</button>
</div>
<div class="toast" id="toast" role="alert" hidden></div>
<div class="hidden-icons" hidden>${Object.values(BRANDS).map((b) => html`<span data-icon="${b.key}">${b.icon}</span>`)}</div>`,
  });
}

// ─────────────────────────────── processing page (App) ───────────────────────────────

export function processingPage(p: { assets: Assets; order: OrderInfo; channelType: string | null }): SafeHtml {
  const b = brandOf(p.channelType);
  return layout({
    title: '支付处理中 - 收银台',
    assets: p.assets,
    data: { page: 'processing', token: p.order.token, poll: '1' },
    main: html`<section class="card state state-pending brand-${b?.key ?? 'none'}" id="processing">
  <div class="big-spinner" aria-hidden="true"></div>
  <h1 class="state-title" id="state-title" data-state="processing">支付处理中</h1>
  <p class="state-msg"><span>请在${b ? `${b.app} App` : '支付 App'} 中完成支付</span><span>支付完成后本页面将自动更新</span></p>
  <p class="amount amount-sm"><span class="cur">¥</span><span class="num">${yuan(p.order.amount)}</span></p>
  <p class="state-sub">${p.order.orderTitle}</p>
</section>
<div class="actions">
  <button type="button" class="btn btn-primary brand-${b?.key ?? 'none'}" id="check-btn">我已完成支付</button>
  <a class="btn btn-ghost" id="repay-link" href="${cashierPagePath('payment', p.order.token)}">重新选择支付方式</a>
</div>`,
  });
}

// ─────────────────────────────── result pages ───────────────────────────────

export type ResultKind = 'SUCCESS' | 'FAIL' | 'CLOSED' | 'PENDING';

export function resultPage(p: {
  assets: Assets;
  order: OrderInfo;
  kind: ResultKind;
  channelType: string | null;
  payTime: string | null;
  errorMsg: string | null;
}): SafeHtml {
  const b = brandOf(p.channelType);
  const token = p.order.token;
  const back = p.order.returnUrl ? html`<a class="btn btn-primary brand-${b?.key ?? 'none'}" id="return-btn" href="${cashierPagePath('return', token)}">返回商户</a>` : '';
  let card: SafeHtml;
  let actions: SafeHtml;
  let data: Record<string, string> = { page: 'result', token };
  const meta = (rows: Array<[string, string | null | undefined, string?]>) =>
    html`<dl class="meta">${rows.filter(([, v]) => v).map(([k, v, cls]) => html`<div><dt>${k}</dt><dd class="${cls ?? ''}">${v}</dd></div>`)}</dl>`;
  const amount = html`<p class="amount amount-md"><span class="cur">¥</span><span class="num">${yuan(p.order.amount)}</span></p>`;

  switch (p.kind) {
    case 'SUCCESS':
      card = html`<section class="card state state-success brand-${b?.key ?? 'none'}">
  <div class="state-icon">${resultIcons.success}</div>
  <h1 class="state-title" id="result-title" data-status="SUCCESS">支付成功</h1>
  ${amount}
  ${meta([
    ['收款方', p.order.appName],
    ['商品', p.order.orderTitle],
    ['支付方式', b?.name],
    ['支付时间', p.payTime],
    ['订单号', p.order.outTradeNo, 'mono'],
  ])}
</section>`;
      if (p.order.returnUrl) {
        actions = html`<div class="actions">${back}<p class="redirect-note" id="redirect-note"><span id="redirect-seconds">3</span> 秒后自动返回商户</p></div>`;
        data = { ...data, redirect: cashierPagePath('return', token), 'redirect-seconds': '3' };
      } else {
        actions = html`<div class="actions"><p class="done-note" id="done-note">支付已完成，您可以关闭此页面</p></div>`;
      }
      break;
    case 'FAIL':
      card = html`<section class="card state state-fail">
  <div class="state-icon">${resultIcons.fail}</div>
  <h1 class="state-title" id="result-title" data-status="FAIL">支付失败</h1>
  ${amount}
  <p class="state-msg">${p.errorMsg || '本次支付未成功，请返回商户重新下单'}</p>
  ${meta([
    ['商品', p.order.orderTitle],
    ['订单号', p.order.outTradeNo, 'mono'],
  ])}
</section>`;
      actions = html`<div class="actions">${back || html`<p class="done-note">如需继续购买，请返回商户重新下单</p>`}</div>`;
      break;
    case 'CLOSED':
      card = html`<section class="card state state-muted">
  <div class="state-icon">${resultIcons.clock}</div>
  <h1 class="state-title" id="result-title" data-status="CLOSED">订单已关闭</h1>
  <p class="state-msg">订单已超时关闭，未发生扣款。如需购买，请返回商户重新下单</p>
  ${meta([
    ['商品', p.order.orderTitle],
    ['订单号', p.order.outTradeNo, 'mono'],
  ])}
</section>`;
      actions = html`<div class="actions">${back}</div>`;
      break;
    default:
      data = { ...data, poll: '1' };
      card = html`<section class="card state state-pending brand-${b?.key ?? 'none'}">
  <div class="big-spinner" aria-hidden="true"></div>
  <h1 class="state-title" id="result-title" data-status="PENDING">支付结果确认中</h1>
  <p class="state-msg">正在向${b ? b.name : '支付机构'}确认支付结果，请勿重复付款</p>
  ${amount}
  ${meta([
    ['商品', p.order.orderTitle],
    ['订单号', p.order.outTradeNo, 'mono'],
  ])}
</section>`;
      actions = html`<div class="actions"><button type="button" class="btn btn-ghost" id="check-btn">刷新支付结果</button></div>`;
  }
  return layout({ title: `${p.kind === 'SUCCESS' ? '支付成功' : p.kind === 'FAIL' ? '支付失败' : p.kind === 'CLOSED' ? '订单已关闭' : '支付结果确认中'} - 收银台`, assets: p.assets, data, main: html`${card}\n${actions}` });
}

// ─────────────────────────────── message pages (expired, invalid, errors) ───────────────────────────────

export type MessageKind = 'expired' | 'not-found' | 'bad-return' | 'no-channel' | 'error' | 'done';

const MESSAGES: Record<MessageKind, { title: string; msg: string; icon: SafeHtml; cls: string }> = {
  expired: { title: '订单已过期', msg: '支付时间已过，订单已失效，不会发生扣款。如需购买，请返回商户重新下单。', icon: resultIcons.clock, cls: 'state-muted' },
  'not-found': { title: '链接无效', msg: '订单不存在或支付链接已失效，请返回商户重新发起支付。', icon: resultIcons.search, cls: 'state-muted' },
  'bad-return': { title: '无法确认支付结果', msg: '支付返回的参数未通过校验，本页不会据此显示结果，请以订单状态为准。', icon: resultIcons.warn, cls: 'state-warn' },
  'no-channel': { title: '暂无可用的支付方式', msg: '商户暂未开通可用的支付方式，请联系商户。', icon: resultIcons.warn, cls: 'state-warn' },
  error: { title: '系统繁忙', msg: '服务暂时不可用，请稍后刷新重试。您的资金安全不受影响。', icon: resultIcons.warn, cls: 'state-warn' },
  done: { title: '支付流程已结束', msg: '您可以关闭此页面，返回商户查看订单。', icon: resultIcons.success, cls: 'state-muted' },
};

export function messagePage(p: { assets: Assets; kind: MessageKind; order?: OrderInfo; actions?: Array<{ href: string; text: string; id: string; primary?: boolean }> }): SafeHtml {
  const m = MESSAGES[p.kind];
  return layout({
    title: `${m.title} - 收银台`,
    assets: p.assets,
    script: false,
    data: { page: 'message' },
    main: html`<section class="card state ${m.cls}">
  <div class="state-icon">${m.icon}</div>
  <h1 class="state-title" id="state-title" data-state="${p.kind}">${m.title}</h1>
  <p class="state-msg">${m.msg}</p>
  ${
    p.order
      ? html`<dl class="meta">
    <div><dt>商品</dt><dd>${p.order.orderTitle}</dd></div>
    <div><dt>金额</dt><dd>¥${yuan(p.order.amount)}</dd></div>
    <div><dt>订单号</dt><dd class="mono">${p.order.outTradeNo}</dd></div>
  </dl>`
      : ''
  }
</section>
${p.actions?.length ? html`<div class="actions">${p.actions.map((a) => html`<a class="btn ${a.primary ? 'btn-primary brand-none' : 'btn-ghost'}" id="${a.id}" href="${a.href}">${a.text}</a>`)}</div>` : ''}`,
  });
}
