/*
 * 收银台 · 管理控制台 (administrator console). No framework, no build step: views are built with DOM APIs
 * (textContent and createElement only, no HTML parsing), every call goes to /api/cashier-desk-admin with the session cookie and the
 * session's CSRF token. Routes live in the URL fragment (#/apps, #/orders/12, …).
 */
'use strict';

(function () {
  var API = '/api/cashier-desk-admin';
  var state = { session: null, overview: null, renderSeq: 0, lastReconciliation: null, exportUrl: null, transferDecisions: {} };
  var root = document.getElementById('app');

  // ---------------------------------------------------------------- DOM helpers
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'value') el.value = v;
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(el, c); });
    else if (typeof child === 'string' || typeof child === 'number') el.appendChild(document.createTextNode(String(child)));
    else el.appendChild(child);
  }
  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var ICONS = {
    overview: 'M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z',
    apps: 'M4 8h4V4H4v4zm6 12h4v-4h-4v4zm-6 0h4v-4H4v4zm0-6h4v-4H4v4zm6 0h4v-4h-4v4zm6-10v4h4V4h-4zm-6 4h4V4h-4v4zm6 6h4v-4h-4v4zm0 6h4v-4h-4v4z',
    channels: 'M20 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2zm0 14H4v-6h16v6zm0-10H4V6h16v2z',
    bindings: 'M3.9 12c0-1.7 1.4-3.1 3.1-3.1h4V7H7c-2.8 0-5 2.2-5 5s2.2 5 5 5h4v-1.9H7c-1.7 0-3.1-1.4-3.1-3.1zM8 13h8v-2H8v2zm9-6h-4v1.9h4c1.7 0 3.1 1.4 3.1 3.1s-1.4 3.1-3.1 3.1h-4V17h4c2.8 0 5-2.2 5-5s-2.2-5-5-5z',
    orders: 'M19 3H5c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h14c1.1 0 2-.9 2-2V5c0-1.1-.9-2-2-2zm-5 14H7v-2h7v2zm3-4H7v-2h10v2zm0-4H7V7h10v2z',
    refunds: 'M12.5 8c-2.65 0-5.05.99-6.9 2.6L2 7v9h9l-3.62-3.62c1.39-1.16 3.16-1.88 5.12-1.88 3.54 0 6.55 2.31 7.6 5.5l2.37-.78C21.08 11.03 17.15 8 12.5 8z',
    transfers: 'M6.99 11L3 15l3.99 4v-3H14v-2H6.99v-3zM21 9l-3.99-4v3H10v2h7.01v3L21 9z',
    exceptions: 'M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z',
    reconciliations: 'M20 3H4c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V5c0-1.1-.9-2-2-2zM10 17H5v-2h5v2zm0-4H5v-2h5v2zm0-4H5V7h5v2zm4.82 6L12 12.16l1.41-1.41 1.41 1.42L17.99 9l1.42 1.42L14.82 15z',
    statistics: 'M19 3H5c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h14c1.1 0 2-.9 2-2V5c0-1.1-.9-2-2-2zM9 17H7v-7h2v7zm4 0h-2V7h2v10zm4 0h-2v-4h2v4z',
    download: 'M19 9h-4V3H9v6H5l7 7 7-7zM5 18v2h14v-2H5z',
    rerun: 'M17.65 6.35C16.2 4.9 14.21 4 12 4c-4.42 0-7.99 3.58-7.99 8s3.57 8 7.99 8c3.73 0 6.84-2.55 7.73-6h-2.08c-.82 2.33-3.04 4-5.65 4-3.31 0-6-2.69-6-6s2.69-6 6-6c1.66 0 3.14.69 4.22 1.78L13 11h7V4l-2.35 2.35z',
    audit: 'M12 1L3 5v6c0 5.6 3.8 10.7 9 12 5.2-1.3 9-6.4 9-12V5l-9-4zm0 10.99h7c-.53 4.12-3.28 7.79-7 8.94V12H5V6.3l7-3.11v8.8z',
    logout: 'M10.09 15.59L11.5 17l5-5-5-5-1.41 1.41L12.67 11H3v2h9.67l-2.58 2.59zM19 3H5c-1.11 0-2 .9-2 2v4h2V5h14v14H5v-4H3v4c0 1.1.89 2 2 2h14c1.1 0 2-.9 2-2V5c0-1.1-.9-2-2-2z',
    external: 'M19 19H5V5h7V3H5c-1.11 0-2 .9-2 2v14c0 1.1.89 2 2 2h14c1.1 0 2-.9 2-2v-7h-2v7zM14 3v2h3.59l-9.83 9.83 1.41 1.41L19 6.41V10h2V3h-7z',
  };
  function icon(name) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    var path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  // ---------------------------------------------------------------- formatting
  var timeFmt = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });
  function fmtTime(iso) {
    if (!iso) return '—';
    var parts = {};
    timeFmt.formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + '-' + parts.month + '-' + parts.day + ' ' + (parts.hour === '24' ? '00' : parts.hour) + ':' + parts.minute + ':' + parts.second;
  }
  function fmtMoney(fen) {
    var yuan = (Number(fen) / 100).toFixed(2).split('.');
    return '¥' + yuan[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + yuan[1];
  }
  function fmtDuration(seconds) {
    seconds = Number(seconds);
    if (seconds % 86400 === 0 && seconds >= 86400) return seconds / 86400 + ' 天';
    if (seconds % 3600 === 0 && seconds >= 3600) return seconds / 3600 + ' 小时';
    if (seconds % 60 === 0 && seconds >= 60) return seconds / 60 + ' 分钟';
    return seconds + ' 秒';
  }
  /**
   * Yuan as typed ("12.34", "0.5", "100") to integer fen by string handling only, so no binary floating point
   * ever touches money: null unless it is a plain decimal with at most two decimals.
   */
  function yuanToFen(text) {
    var m = /^(\d{1,10})(?:\.(\d{0,2}))?$/.exec(String(text).trim().replace(/^¥/, ''));
    if (!m) return null;
    return parseInt(m[1] + (m[2] || '').concat('00').slice(0, 2), 10);
  }
  /** A datetime-local value read as Beijing time (the console shows every time in Asia/Shanghai). */
  function shanghaiInputToIso(v) {
    return v ? new Date(v + (v.length === 16 ? ':00' : '') + '+08:00').toISOString() : '';
  }

  var LABELS = {
    app: { PENDING: ['待审核', 'warn'], APPROVED: ['已通过', 'ok'], DISABLED: ['已停用', 'muted'] },
    binding: { PENDING: ['待审核', 'warn'], APPROVED: ['已通过', 'ok'], REJECTED: ['已驳回', 'bad'] },
    order: { CREATED: ['待支付', 'muted'], PAYING: ['支付中', 'info'], SUCCESS: ['支付成功', 'ok'], FAIL: ['支付失败', 'bad'], CLOSED: ['已关闭', 'muted'], FINISH: ['交易完结', 'ok'] },
    notify: { NONE: ['无需通知', 'muted'], PENDING: ['通知中', 'warn'], ACKED: ['商户已确认', 'ok'], NOTIFY_EXHAUSTED: ['通知失败', 'bad'], STOPPED: ['已停止', 'muted'] },
    active: { ACTIVE: ['启用', 'ok'], DISABLED: ['停用', 'muted'] },
    workflow: { RUNNING: ['运行中', 'info'], COMPLETED: ['已完成', 'ok'], FAILED: ['失败', 'bad'], TERMINATED: ['已终止', 'bad'], CANCELLED: ['已取消', 'muted'], TIMED_OUT: ['超时', 'bad'], CONTINUED_AS_NEW: ['已续期', 'muted'] },
    outcome: { OK: ['成功', 'ok'], DENIED: ['拒绝', 'bad'], FAILED: ['失败', 'bad'] },
    refund: { PROCESSING: ['退款中', 'info'], SUCCESS: ['退款成功', 'ok'], FAIL: ['退款失败', 'bad'] },
    transfer: { PENDING_APPROVAL: ['待审批', 'warn'], PROCESSING: ['处理中', 'info'], WAIT_USER_CONFIRM: ['待收款人确认', 'info'], SUCCESS: ['成功', 'ok'], FAIL: ['失败', 'bad'], CANCELLED: ['已取消', 'muted'] },
    decision: { NONE: ['免审批', 'muted'], PENDING: ['待审批', 'warn'], APPROVED: ['已批准', 'ok'], REJECTED: ['已驳回', 'bad'], TIMED_OUT: ['审批超时', 'bad'], UNDECIDED: ['未审批', 'muted'] },
    exception: { OPEN: ['待处理', 'warn'], REFUNDING: ['退款中', 'info'], REFUNDED: ['已退款', 'ok'], REFUND_FAILED: ['退款失败', 'bad'] },
    reconciliation: { RUNNING: ['对账中', 'info'], DONE: ['已完成', 'ok'], FAILED: ['对账失败', 'bad'] },
    resolution: { OPEN: ['待处理', 'warn'], HEALED: ['已修复', 'ok'], EXCEPTION: ['已转异常支付', 'info'], UNKNOWN_TRADE: ['未知交易', 'bad'], NOT_PAID: ['渠道未支付', 'muted'] },
  };
  /** Who asked for a refund (chips, not states). */
  var REFUND_SOURCES = { MERCHANT: '商户接口', ADMIN: '管理员', EXCEPTION: '异常支付' };
  var EXCEPTION_KINDS = { LATE_PAYMENT: '迟到支付', DUPLICATE_PAYMENT: '重复支付', AMOUNT_MISMATCH: '金额不符' };
  var EXCEPTION_HINTS = {
    LATE_PAYMENT: '订单关闭或失败后才到账的付款',
    DUPLICATE_PAYMENT: '已支付订单又经其他渠道付款',
    AMOUNT_MISMATCH: '渠道报告的实付金额与订单金额不一致',
  };
  var RUN_TRIGGERS = { SCHEDULE: '每日定时', ADMIN: '管理员发起' };
  var RECORD_KINDS = { PAYMENT: '支付', REFUND: '退款' };
  var DISCREPANCY_KINDS = { MISSING_LOCAL: '本地缺失', MISSING_PROVIDER: '渠道缺失', AMOUNT_MISMATCH: '金额不符', STATUS_MISMATCH: '状态不符' };
  /** What the bill and our records disagree about, and what an administrator does about it. */
  var DISCREPANCY_HINTS = {
    MISSING_LOCAL: '渠道有款项、本地没有：已自动向渠道查询，已付款的修复订单或转为异常支付；仍待处理的请按渠道交易号人工核实',
    MISSING_PROVIDER: '本地成功、渠道账单没有：请在渠道商户后台查询该交易（可能次日入账），确认未收款后联系商户',
    AMOUNT_MISMATCH: '双方金额不同：以渠道实收金额为准核对，多收的款项在异常支付中退回',
    STATUS_MISMATCH: '渠道已退款、本地退款仍为处理中或失败：打开退款详情核实，退款查询会更新本地状态',
  };
  var CHANNEL_TYPES = { 'ali-pay': '支付宝', 'wx-pay': '微信支付' };
  /** How a transfer names its payee (which wallet pays which kind: domain/transfer.ts). */
  var PAYEE_TYPES = { ALIPAY_LOGON_ID: '支付宝账号', ALIPAY_USER_ID: '支付宝用户ID', WX_OPENID: '微信 OpenID' };
  /** Transfer states after which nothing changes by itself (WAIT_USER_CONFIRM waits for the payee, not for us). */
  var TRANSFER_SETTLED = { SUCCESS: true, FAIL: true, CANCELLED: true, WAIT_USER_CONFIRM: true };
  var SCENES = { h5: 'H5支付', native: '扫码支付', app: 'APP支付', jsapi: '公众号/小程序支付' };
  var ACTIONS = {
    'admin.login': '登录', 'admin.logout': '退出登录', 'app.register': '应用注册', 'app.approve': '审核通过应用',
    'app.disable': '停用应用', 'app.update': '修改应用', 'app.rotate_key': '轮换密钥', 'channel_config.create': '新建渠道配置',
    'channel_config.update': '修改渠道配置', 'channel.create': '新建渠道', 'channel.update': '修改渠道', 'binding.apply': '申请绑定渠道',
    'binding.approve': '通过绑定申请', 'binding.reject': '驳回绑定申请', 'binding.auto_approve': '自动通过绑定申请', 'order.renotify': '重新通知',
    'order.refund': '订单退款', 'exception.record': '记录异常支付', 'exception.refund': '异常支付退款',
    'reconciliation.run': '发起对账', 'export.orders': '导出订单', 'export.refunds': '导出退款',
    'transfer.approve': '批准转账', 'transfer.reject': '驳回转账', 'transfer.settings': '修改转账设置',
  };
  function badge(kind, value) {
    var l = (LABELS[kind] || {})[value] || [value || '—', 'muted'];
    return h('span', { class: 'badge badge-' + l[1], 'data-status': value || '' }, l[0]);
  }
  function mono(text) {
    return h('span', { class: 'mono' }, text);
  }
  function sourceChip(source) {
    return h('span', { class: 'chip chip-source-' + String(source || '').toLowerCase(), 'data-source': source || '' }, REFUND_SOURCES[source] || source || '—');
  }
  function kindChip(kind) {
    return h('span', { class: 'chip chip-kind', 'data-kind': kind || '', title: EXCEPTION_HINTS[kind] || '' }, EXCEPTION_KINDS[kind] || kind || '—');
  }
  function discrepancyChip(kind) {
    return h('span', { class: 'chip chip-discrepancy chip-discrepancy-' + String(kind || '').toLowerCase().replace(/_/g, '-'), 'data-kind': kind || '', title: DISCREPANCY_HINTS[kind] || '' }, DISCREPANCY_KINDS[kind] || kind || '—');
  }
  function triggerChip(trigger) {
    return h('span', { class: 'chip chip-trigger-' + String(trigger || '').toLowerCase(), 'data-trigger': trigger || '' }, RUN_TRIGGERS[trigger] || trigger || '—');
  }
  function fmtPercent(rate, digits) {
    if (rate === null || rate === undefined) return '—';
    return (Number(rate) * 100).toFixed(digits === undefined ? 1 : digits) + '%';
  }
  function fmtSeconds(ms) {
    return ms === null || ms === undefined ? '—' : (Number(ms) / 1000).toFixed(1) + ' 秒';
  }
  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  }
  /** Today as yyyy-MM-dd in Asia/Shanghai (the business day of every statistic and bill). */
  function shanghaiToday() {
    return fmtTime(new Date().toISOString()).slice(0, 10);
  }
  /** A yyyy-MM-dd day moved by `n` days (calendar arithmetic in UTC, so no time zone shifts it). */
  function addDays(day, n) {
    return new Date(Date.parse(day + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10);
  }

  // ---------------------------------------------------------------- API
  function ApiError(code, msg) {
    this.code = code;
    this.message = msg;
  }
  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && state.session) headers['x-csrf-token'] = state.session.csrfToken;
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      referrerPolicy: 'same-origin',
      cache: 'no-store',
    }).then(function (res) {
      return res.json().catch(function () { return { code: 5000, msg: '服务器返回了无法解析的响应 (HTTP ' + res.status + ')' }; });
    }, function () {
      return { code: 5000, msg: '网络错误，请检查连接后重试' };
    }).then(function (json) {
      if (json.code === 1000) return json.data;
      if (json.code === 4010 && path !== '/login' && state.session) {
        state.session = null;
        renderLogin('登录已过期，请重新登录');
      }
      throw new ApiError(json.code, json.msg || '操作失败');
    });
  }
  function qs(params) {
    var u = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== null && params[k] !== '') u.set(k, params[k]);
    });
    var s = u.toString();
    return s ? '?' + s : '';
  }

  // ---------------------------------------------------------------- toast and modal
  var toastBox;
  function toast(msg, kind) {
    if (!toastBox) {
      toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
      document.body.appendChild(toastBox);
    }
    var t = h('div', { class: 'toast toast-' + (kind || 'ok') }, msg);
    toastBox.appendChild(t);
    setTimeout(function () { t.classList.add('toast-out'); }, 3200);
    setTimeout(function () { if (t.parentNode) t.parentNode.removeChild(t); }, 3600);
  }
  function failed(err) {
    toast(err && err.message ? err.message : '操作失败', 'bad');
  }

  /** A modal dialog. `body` is a node; `actions` [{label, kind, onclick(close, setError, button)}]. */
  function modal(title, body, actions, opts) {
    var dlg = h('dialog', { class: 'modal' + (opts && opts.wide ? ' modal-wide' : ''), 'aria-label': title });
    var error = h('div', { class: 'form-error', role: 'alert', hidden: true });
    function close() {
      dlg.close();
      if (dlg.parentNode) dlg.parentNode.removeChild(dlg);
    }
    function setError(msg) {
      error.textContent = msg || '';
      error.hidden = !msg;
    }
    var buttons = (actions || []).map(function (a) {
      var b = h('button', { type: 'button', class: 'btn ' + (a.kind ? 'btn-' + a.kind : 'btn-primary') }, a.label);
      b.addEventListener('click', function () {
        if (!a.onclick) return close();
        setError('');
        b.disabled = true;
        Promise.resolve(a.onclick(close, setError, b)).catch(function (e) { setError(e && e.message ? e.message : '操作失败'); }).then(function () { b.disabled = false; });
      });
      return b;
    });
    append(dlg, [
      h('header', { class: 'modal-head' }, h('h2', null, title), h('button', { type: 'button', class: 'icon-btn', 'aria-label': '关闭', onclick: close }, '×')),
      h('div', { class: 'modal-body' }, body, error),
      h('footer', { class: 'modal-foot' }, h('button', { type: 'button', class: 'btn btn-ghost', onclick: close }, (opts && opts.cancelLabel) || '取消'), buttons),
    ]);
    dlg.addEventListener('cancel', function (e) {
      e.preventDefault();
      close();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    var first = dlg.querySelector('input, textarea, select');
    if (first) first.focus();
    return { close: close, setError: setError, dialog: dlg };
  }
  function field(label, input, hint) {
    return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint ? h('span', { class: 'field-hint' }, hint) : null);
  }
  function input(name, value, attrs) {
    var a = { name: name, class: 'input', value: value === null || value === undefined ? '' : String(value), autocomplete: 'off' };
    Object.keys(attrs || {}).forEach(function (k) { a[k] = attrs[k]; });
    return h('input', a);
  }
  function select(name, options, value) {
    var s = h('select', { name: name, class: 'input' });
    options.forEach(function (o) {
      var opt = h('option', { value: o[0] }, o[1]);
      if (String(o[0]) === String(value === undefined || value === null ? '' : value)) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }
  function copyButton(getText) {
    return h('button', {
      type: 'button', class: 'btn btn-small btn-ghost',
      onclick: function (e) {
        var text = getText();
        var btn = e.currentTarget;
        var done = function () { btn.textContent = '已复制'; setTimeout(function () { btn.textContent = '复制'; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () { toast('复制失败，请手动选择复制', 'bad'); });
        else toast('当前页面不是安全上下文，请手动选择复制', 'warn');
      },
    }, '复制');
  }

  // ---------------------------------------------------------------- login
  function renderLogin(message) {
    document.title = '登录 · 收银台管理控制台';
    var user = input('username', '', { autocomplete: 'username', required: true, maxlength: 64, id: 'login-username' });
    var pass = input('password', '', { type: 'password', autocomplete: 'current-password', required: true, maxlength: 256, id: 'login-password' });
    var error = h('div', { class: 'form-error', role: 'alert', hidden: !message }, message || '');
    var submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', id: 'login-submit' }, '登录');
    var form = h('form', { class: 'login-form', novalidate: true },
      field('用户名', user),
      field('密码', pass),
      error,
      submit);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      submit.textContent = '正在登录…';
      api('POST', '/login', { username: user.value, password: pass.value }).then(function (s) {
        state.session = s;
        pass.value = '';
        if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
        renderShell();
      }, function (err) {
        error.textContent = err.message;
        error.hidden = false;
        submit.disabled = false;
        submit.textContent = '登录';
        pass.value = '';
        pass.focus();
      });
    });
    clear(root).className = 'login-page';
    append(root, h('div', { class: 'login-card' },
      h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark' }, '收'), h('div', null, h('div', { class: 'brand-name' }, '收银台'), h('div', { class: 'brand-sub' }, '管理控制台'))),
      h('p', { class: 'login-intro' }, '应用审核、渠道配置、绑定申请与订单运维。'),
      form,
      h('p', { class: 'login-foot' }, '仅限授权管理员使用，所有操作均记入审计日志。')));
    user.focus();
  }

  // ---------------------------------------------------------------- shell and routing
  var NAV = [
    ['overview', '概览', 'overview'],
    ['apps', '应用管理', 'apps'],
    ['channels', '渠道配置', 'channels'],
    ['bindings', '绑定申请', 'bindings'],
    ['orders', '订单查询', 'orders'],
    ['refunds', '退款管理', 'refunds'],
    ['transfers', '转账管理', 'transfers'],
    ['exceptions', '异常支付', 'exceptions'],
    ['reconciliations', '对账', 'reconciliations'],
    ['statistics', '统计', 'statistics'],
    ['audit', '审计日志', 'audit'],
  ];
  var shell = null;
  function renderShell() {
    var navLinks = NAV.map(function (n) {
      return h('a', { href: '#/' + n[0], class: 'nav-link', 'data-route': n[0] }, icon(n[2]), h('span', null, n[1]), h('span', { class: 'nav-count', hidden: true }));
    });
    var title = h('h1', { class: 'page-title' });
    var view = h('main', { class: 'content', id: 'view', tabindex: '-1' });
    clear(root).className = 'layout';
    append(root, [
      h('aside', { class: 'sidebar' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, '收'), h('div', null, h('div', { class: 'brand-name' }, '收银台'), h('div', { class: 'brand-sub' }, '管理控制台'))),
        h('nav', { class: 'nav', 'aria-label': '主导航' }, navLinks),
        h('div', { class: 'sidebar-foot' }, h('a', { href: state.session.temporalUiUrl, target: '_blank', rel: 'noopener noreferrer', class: 'nav-link nav-ext' }, icon('external'), h('span', null, 'Temporal Web UI')))),
      h('div', { class: 'main' },
        h('header', { class: 'topbar' }, title,
          h('div', { class: 'topbar-user' },
            h('span', { class: 'avatar', 'aria-hidden': 'true' }, (state.session.username || '?').slice(0, 1).toUpperCase()),
            h('span', { class: 'username' }, state.session.username),
            h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'logout', onclick: logout }, icon('logout'), '退出'))),
        view),
    ]);
    shell = { title: title, view: view, nav: navLinks };
    route();
    refreshCounts();
  }
  function refreshCounts() {
    if (!shell) return;
    var setCount = function (routeName, n) {
      shell.nav.forEach(function (a) {
        if (a.getAttribute('data-route') !== routeName) return;
        var c = a.querySelector('.nav-count');
        c.textContent = String(n);
        c.hidden = !n;
      });
    };
    api('GET', '/overview').then(function (o) {
      state.overview = o;
      setCount('apps', o.pendingApps);
      setCount('bindings', o.pendingBindings);
    }, function () {});
    // Payment exceptions waiting for a person (an amount mismatch is never refunded by itself).
    api('GET', '/payment-exceptions' + qs({ status: 'OPEN', pageSize: 1 })).then(function (d) { if (shell) setCount('exceptions', d.total); }, function () {});
    // Transfers above their app's approval threshold, waiting for an administrator (cancelled after 24 hours).
    api('GET', '/transfers' + qs({ status: 'PENDING_APPROVAL', pageSize: 1 })).then(function (d) { if (shell) setCount('transfers', d.total); }, function () {});
    // Days whose reconciliation failed (a later successful run of the day replaces the failed one).
    api('GET', '/reconciliations' + qs({ status: 'FAILED', pageSize: 1 })).then(function (d) { if (shell) setCount('reconciliations', d.total); }, function () {});
  }
  function logout() {
    api('POST', '/logout').then(function () {
      state.session = null;
      shell = null;
      location.hash = '';
      renderLogin('您已安全退出');
    }, failed);
  }
  function parseHash() {
    var raw = location.hash.replace(/^#\/?/, '');
    var q = raw.indexOf('?');
    var path = q >= 0 ? raw.slice(0, q) : raw;
    return { parts: path.split('/').filter(Boolean), params: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
  }
  function go(path, params) {
    location.hash = '#/' + path + (params ? qs(params) : '');
  }
  function route() {
    if (!shell) return;
    var r = parseHash();
    var name = r.parts[0] || 'overview';
    shell.nav.forEach(function (a) { a.classList.toggle('active', a.getAttribute('data-route') === name); });
    var seq = ++state.renderSeq;
    var views = {
      overview: viewOverview, apps: viewApps, channels: viewChannels, bindings: viewBindings, orders: r.parts[1] ? viewOrder : viewOrders,
      refunds: r.parts[1] ? viewRefund : viewRefunds, transfers: r.parts[1] ? viewTransfer : viewTransfers, exceptions: viewExceptions,
      reconciliations: r.parts[1] === 'discrepancies' ? viewDiscrepancies : viewReconciliations, statistics: viewStatistics, audit: viewAudit,
    };
    var fn = views[name] || viewOverview;
    clear(shell.view);
    shell.view.appendChild(h('div', { class: 'loading' }, '加载中…'));
    Promise.resolve(fn(r, seq)).catch(function (err) {
      if (seq !== state.renderSeq || !shell) return;
      clear(shell.view).appendChild(h('div', { class: 'empty empty-error' }, err && err.message ? err.message : '加载失败'));
    });
  }
  function render(seq, title, nodes) {
    if (seq !== state.renderSeq || !shell) return false;
    shell.title.textContent = title;
    document.title = title + ' · 收银台管理控制台';
    append(clear(shell.view), nodes);
    return true;
  }
  window.addEventListener('hashchange', route);

  // ---------------------------------------------------------------- shared view parts
  function table(columns, rows, empty) {
    if (!rows.length) return h('div', { class: 'empty' }, empty || '暂无数据');
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null, columns.map(function (c) { return h('th', { class: c.cls || null }, c.label); }))),
      h('tbody', null, rows.map(function (row) {
        return h('tr', { 'data-id': row.id !== undefined ? String(row.id) : null }, columns.map(function (c) { return h('td', { class: c.cls || null }, c.render(row)); }));
      }))));
  }
  function pager(data, onPage) {
    var pages = Math.max(1, Math.ceil(data.total / data.pageSize));
    return h('div', { class: 'pager' },
      h('span', { class: 'pager-info' }, '共 ' + data.total + ' 条 · 第 ' + data.page + ' / ' + pages + ' 页'),
      h('div', { class: 'pager-buttons' },
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', disabled: data.page <= 1, onclick: function () { onPage(data.page - 1); } }, '上一页'),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', disabled: data.page >= pages, onclick: function () { onPage(data.page + 1); } }, '下一页')));
  }
  function tabs(current, items, onPick) {
    return h('div', { class: 'tabs', role: 'tablist' }, items.map(function (t) {
      return h('button', { type: 'button', role: 'tab', class: 'tab' + (current === t[0] ? ' active' : ''), 'aria-selected': current === t[0] ? 'true' : 'false', onclick: function () { onPick(t[0]); } }, t[1]);
    }));
  }
  function card(title, body, extra) {
    return h('section', { class: 'card' }, title ? h('header', { class: 'card-head' }, h('h2', null, title), extra || null) : null, h('div', { class: 'card-body' }, body));
  }
  function workflowLink(url, label) {
    if (!url) return '—';
    return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'ext-link', title: '在 Temporal Web UI 中查看工作流' }, label || '工作流', icon('external'));
  }
  function btn(label, kind, onclick, attrs) {
    var a = { type: 'button', class: 'btn btn-small btn-' + (kind || 'ghost'), onclick: onclick };
    Object.keys(attrs || {}).forEach(function (k) { a[k] = attrs[k]; });
    return h('button', a, label);
  }
  function dl(pairs, cls) {
    return h('dl', { class: 'dl' + (cls ? ' ' + cls : '') }, pairs.map(function (p) { return h('div', { class: 'dl-row' }, h('dt', null, p[0]), h('dd', null, p[1] === null || p[1] === undefined || p[1] === '' ? '—' : p[1])); }));
  }

  // ---------------------------------------------------------------- 概览
  function viewOverview(_r, seq) {
    return Promise.all([api('GET', '/overview'), api('GET', '/audit?pageSize=8')]).then(function (res) {
      var o = res[0];
      var stat = function (label, value, hint, href, kind) {
        return h('a', { class: 'stat stat-' + kind, href: href }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, String(value)), h('div', { class: 'stat-hint' }, hint));
      };
      render(seq, '概览', [
        h('div', { class: 'stats' },
          stat('待审核应用', o.pendingApps, '注册后等待管理员审核', '#/apps?status=PENDING', o.pendingApps ? 'warn' : 'plain'),
          stat('待审核绑定申请', o.pendingBindings, '到期未驳回将自动通过', '#/bindings?status=PENDING', o.pendingBindings ? 'warn' : 'plain'),
          stat('近 24 小时订单', o.ordersToday, '全部应用', '#/orders', 'plain'),
          stat('通知中 / 失败', o.notifyProblems, '商户尚未确认的支付结果通知', '#/orders', o.notifyProblems ? 'bad' : 'plain')),
        card('最近操作', auditTable(res[1].items, true), h('a', { href: '#/audit', class: 'card-link' }, '查看全部')),
      ]);
    });
  }

  // ---------------------------------------------------------------- 应用管理
  function viewApps(r, seq) {
    var status = r.params.get('status') || '';
    var q = r.params.get('q') || '';
    var page = Number(r.params.get('page') || 1);
    return api('GET', '/apps' + qs({ status: status, q: q, page: page })).then(function (data) {
      var search = input('q', q, { placeholder: '应用ID / 名称 / 联系人', type: 'search', class: 'input input-search' });
      var form = h('form', { class: 'toolbar-search' }, search, h('button', { type: 'submit', class: 'btn btn-ghost' }, '查询'));
      form.addEventListener('submit', function (e) { e.preventDefault(); go('apps', { status: status, q: search.value.trim() }); });
      render(seq, '应用管理', [
        h('div', { class: 'toolbar' },
          tabs(status, [['', '全部'], ['PENDING', '待审核'], ['APPROVED', '已通过'], ['DISABLED', '已停用']], function (s) { go('apps', { status: s, q: q }); }),
          form),
        card(null, [
          table([
            { label: '应用', render: function (a) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, a.name), h('div', { class: 'cell-sub' }, mono(a.appId), ' · ' + a.signType)); } },
            { label: '状态', render: function (a) {
              return h('div', { class: 'cell-badges' }, badge('app', a.status),
                a.previousKeyValidUntil ? h('span', { class: 'badge badge-info', title: '旧密钥有效至 ' + fmtTime(a.previousKeyValidUntil) }, '轮换宽限中') : null);
            } },
            { label: '联系人', render: function (a) { return h('span', { class: 'truncate truncate-sm', title: a.contact || '' }, a.contact || '—'); } },
            { label: '通知地址', cls: 'col-url', render: function (a) { return h('span', { class: 'truncate mono', title: a.notifyUrl || '' }, a.notifyUrl || '—'); } },
            { label: '渠道', render: function (a) { return h('div', { class: 'cell-main' }, h('div', null, a.bindingsApproved + ' 已绑定'), a.bindingsPending ? h('div', { class: 'cell-sub' }, a.bindingsPending + ' 待审核') : null); } },
            { label: '注册时间', render: function (a) { var t = fmtTime(a.createdAt).split(' '); return h('div', { class: 'cell-main' }, h('div', null, t[0]), h('div', { class: 'cell-sub' }, t[1])); } },
            { label: '操作', cls: 'col-actions', render: appActions },
          ], data.items.map(function (a) { a.id = a.appId; return a; }), status === 'PENDING' ? '没有待审核的应用' : '没有符合条件的应用'),
          pager(data, function (p) { go('apps', { status: status, q: q, page: p }); }),
        ]),
      ]);
    });
  }
  function appActions(a) {
    var out = [];
    if (a.status !== 'APPROVED') out.push(btn('审核通过', 'primary', function () { appStatus(a, 'approve'); }, { 'data-action': 'approve' }));
    if (a.status !== 'DISABLED') out.push(btn('停用', 'danger-ghost', function () { appStatus(a, 'disable'); }, { 'data-action': 'disable' }));
    out.push(btn('编辑', 'ghost', function () { editApp(a); }, { 'data-action': 'edit' }));
    out.push(btn('轮换密钥', 'ghost', function () { rotateKey(a); }, { 'data-action': 'rotate' }));
    out.push(btn('转账设置', 'ghost', function () { transferSettings(a); }, { 'data-action': 'transfer-settings' }));
    return h('div', { class: 'actions' }, out);
  }
  function appStatus(a, action) {
    var approve = action === 'approve';
    modal(approve ? '审核通过应用' : '停用应用',
      h('p', null, approve ? '通过后，应用 ' : '停用后，应用 ', h('strong', null, a.name + '（' + a.appId + '）'), approve ? ' 即可使用 appId / appKey 调用收银台接口。' : ' 的所有商户接口请求将被拒绝（4030），可随时重新审核通过。'),
      [{ label: approve ? '确认通过' : '确认停用', kind: approve ? 'primary' : 'danger', onclick: function (close) {
        return api('POST', '/apps/' + encodeURIComponent(a.appId) + '/' + action).then(function () {
          close();
          toast(approve ? '应用已审核通过' : '应用已停用');
          refreshCounts();
          route();
        });
      } }]);
  }
  function editApp(a) {
    var name = input('name', a.name, { maxlength: 64 });
    var contact = input('contact', a.contact, { maxlength: 128 });
    var notify = input('notifyUrl', a.notifyUrl, { maxlength: 512, placeholder: 'https://merchant.example.com/pay/notify' });
    var ret = input('returnUrl', a.returnUrl, { maxlength: 512, placeholder: '留空表示支付后不跳转' });
    modal('编辑应用 · ' + a.appId, h('div', { class: 'form' },
      field('应用名称', name), field('联系人', contact),
      field('支付结果通知地址 (notifyUrl)', notify, '收银台以签名的 POST 请求通知支付结果'),
      field('支付完成跳转地址 (returnUrl)', ret)),
    [{ label: '保存', onclick: function (close) {
      var patch = {};
      if (name.value.trim() !== a.name) patch.name = name.value.trim();
      if (contact.value.trim() !== (a.contact || '')) patch.contact = contact.value.trim() || null;
      if (notify.value.trim() !== (a.notifyUrl || '')) patch.notifyUrl = notify.value.trim() || null;
      if (ret.value.trim() !== (a.returnUrl || '')) patch.returnUrl = ret.value.trim() || null;
      if (!Object.keys(patch).length) { close(); return; }
      return api('PATCH', '/apps/' + encodeURIComponent(a.appId), patch).then(function () { close(); toast('应用信息已保存'); route(); });
    } }]);
  }
  function rotateKey(a) {
    var grace = input('graceSeconds', state.session.keyRotationGraceSeconds, { type: 'number', min: 0, max: 2592000, step: 1 });
    var m = modal('轮换密钥 · ' + a.appId, h('div', { class: 'form' },
      h('p', null, '将为 ', h('strong', null, a.name), ' 生成新的 appKey。新密钥只显示一次；旧密钥在宽限期内仍然有效，便于商户平滑切换。'),
      field('旧密钥宽限期（秒）', grace, '默认 ' + fmtDuration(state.session.keyRotationGraceSeconds) + '；填 0 立即作废旧密钥（密钥泄露时）')),
    [{ label: '生成新密钥', kind: 'danger', onclick: function (close) {
      return api('POST', '/apps/' + encodeURIComponent(a.appId) + '/rotate-key', { graceSeconds: Number(grace.value) }).then(function (res) {
        close();
        showNewKey(a, res);
        route();
      });
    } }]);
    return m;
  }
  function showNewKey(a, res) {
    var key = h('code', { class: 'secret', id: 'new-app-key' }, res.appKey);
    modal('新密钥 · 仅显示一次', h('div', { class: 'form' },
      h('div', { class: 'callout callout-warn' }, '请立即复制并妥善保管。关闭此窗口后将无法再次查看。'),
      dl([['appId', mono(a.appId)], ['appKey', h('div', { class: 'secret-row' }, key, copyButton(function () { return res.appKey; }))],
        ['旧密钥有效至', res.graceSeconds > 0 ? fmtTime(res.previousKeyValidUntil) + '（' + fmtDuration(res.graceSeconds) + '）' : '已立即作废']])),
    [], { cancelLabel: '我已保存' });
  }

  // ---------------------------------------------------------------- 渠道配置
  function viewChannels(_r, seq) {
    return api('GET', '/channel-configs').then(function (data) {
      render(seq, '渠道配置', [
        h('div', { class: 'toolbar' },
          h('p', { class: 'toolbar-note' }, '商户信息配置化管理：商户号、密钥与证书加密存储，保存后不再回显。'),
          btn('新建渠道配置', 'primary', function () { editConfig(null); }, { id: 'new-config' })),
        data.items.length ? data.items.map(configCard) : h('div', { class: 'empty' }, '还没有渠道配置'),
      ]);
    });
  }
  function configCard(c) {
    var scene = select('sceneCode', Object.keys(SCENES).map(function (k) { return [k, SCENES[k] + ' (' + k + ')']; }), 'h5');
    var name = input('channelName', '', { placeholder: '渠道名称，如 ' + (CHANNEL_TYPES[c.channelType] || '') + 'H5', maxlength: 64 });
    var sort = input('sort', c.channels.length + 1, { type: 'number', min: 1, max: 999, class: 'input input-narrow' });
    var addForm = h('form', { class: 'inline-form' }, scene, name, sort, h('button', { type: 'submit', class: 'btn btn-small btn-primary' }, '添加渠道'));
    addForm.addEventListener('submit', function (e) {
      e.preventDefault();
      api('POST', '/channel-configs/' + c.id + '/channels', { sceneCode: scene.value, channelName: name.value.trim(), sort: Number(sort.value) }).then(function () { toast('渠道已添加'); route(); }, failed);
    });
    return h('section', { class: 'card config-card', 'data-config-id': String(c.id) },
      h('header', { class: 'card-head' },
        h('div', { class: 'config-title' }, h('span', { class: 'chip chip-' + c.channelType }, CHANNEL_TYPES[c.channelType] || c.channelType), h('h2', null, c.name), badge('active', c.status), h('span', { class: 'muted' }, 'ID ' + c.id)),
        h('div', { class: 'actions' },
          btn('编辑', 'ghost', function () { editConfig(c); }),
          btn(c.status === 'ACTIVE' ? '停用' : '启用', c.status === 'ACTIVE' ? 'danger-ghost' : 'ghost', function () {
            api('PATCH', '/channel-configs/' + c.id, { status: c.status === 'ACTIVE' ? 'DISABLED' : 'ACTIVE' }).then(function () { toast('已保存'); route(); }, failed);
          }))),
      h('div', { class: 'card-body' },
        dl([
          ['商户号 (mchId)', mono(c.mchId)],
          ['服务商应用ID', mono(c.providerAppId)],
          ['网关地址', h('span', { class: 'mono truncate', title: c.gatewayUrl }, c.gatewayUrl)],
          ['密钥字段', c.secretFields.length ? h('span', { class: 'chips' }, c.secretFields.map(function (f) { return h('span', { class: 'chip chip-secret' }, f + ' ••••'); })) : h('span', { class: 'muted' }, '未配置')],
          ['更新时间', fmtTime(c.updatedAt)],
        ], 'dl-stacked'),
        h('h3', { class: 'sub-title' }, '支付渠道（场景）'),
        table([
          { label: '渠道ID', render: function (ch) { return mono(String(ch.id)); } },
          { label: '名称', render: function (ch) { return ch.channelName; } },
          { label: '场景', render: function (ch) { return ch.sceneName + ' (' + ch.sceneCode + ')'; } },
          { label: '排序', render: function (ch) { return String(ch.sort); } },
          { label: '状态', render: function (ch) { return badge('active', ch.status); } },
          { label: '操作', cls: 'col-actions', render: function (ch) {
            return h('div', { class: 'actions' },
              btn('重命名', 'ghost', function () { renameChannel(ch); }),
              btn(ch.status === 'ACTIVE' ? '停用' : '启用', 'ghost', function () {
                api('PATCH', '/channels/' + ch.id, { status: ch.status === 'ACTIVE' ? 'DISABLED' : 'ACTIVE' }).then(function () { toast('已保存'); route(); }, failed);
              }));
          } },
        ], c.channels, '还没有渠道'),
        addForm));
  }
  function renameChannel(ch) {
    var name = input('channelName', ch.channelName, { maxlength: 64 });
    var sort = input('sort', ch.sort, { type: 'number', min: 1, max: 999 });
    modal('编辑渠道 · ' + ch.id, h('div', { class: 'form' }, field('渠道名称', name), field('排序（越小越靠前）', sort)),
      [{ label: '保存', onclick: function (close) {
        return api('PATCH', '/channels/' + ch.id, { channelName: name.value.trim(), sort: Number(sort.value) }).then(function () { close(); toast('已保存'); route(); });
      } }]);
  }
  function editConfig(c) {
    var type = select('channelType', [['ali-pay', '支付宝 (ali-pay)'], ['wx-pay', '微信支付 (wx-pay)']], c ? c.channelType : 'ali-pay');
    if (c) type.disabled = true;
    var name = input('name', c && c.name, { maxlength: 64, placeholder: '如：支付宝-直连商户' });
    var mch = input('mchId', c && c.mchId, { maxlength: 64 });
    var appId = input('providerAppId', c && c.providerAppId, { maxlength: 64 });
    var gw = input('gatewayUrl', c && c.gatewayUrl, { maxlength: 512, placeholder: 'https://openapi.alipay.com/gateway.do' });
    var secrets = h('textarea', { name: 'secrets', class: 'input textarea mono', rows: '7', spellcheck: 'false', autocomplete: 'off',
      placeholder: c ? '留空则保持原有密钥不变；填写则整体替换为新的 JSON' : '{\n  "appPrivateKey": "-----BEGIN PRIVATE KEY-----…",\n  "alipayPublicKey": "…"\n}' });
    modal(c ? '编辑渠道配置 · ' + c.name : '新建渠道配置', h('div', { class: 'form form-grid' },
      field('支付类型', type), field('配置名称', name), field('商户号 (mchId)', mch), field('服务商应用ID (providerAppId)', appId),
      h('div', { class: 'span-2' }, field('网关地址 (gatewayUrl)', gw)),
      h('div', { class: 'span-2' }, field('密钥 JSON (secrets)', secrets, c ? '已存字段：' + (c.secretFields.join('、') || '无') + '。密钥加密存储，不会回显。' : '字段名→字符串值，如私钥、平台证书、APIv3 密钥；加密存储，保存后不再显示。'))),
    [{ label: c ? '保存' : '创建', onclick: function (close, setError) {
      var body = { name: name.value.trim(), mchId: mch.value.trim(), providerAppId: appId.value.trim(), gatewayUrl: gw.value.trim() };
      var raw = secrets.value.trim();
      if (raw || !c) {
        try {
          body.secrets = JSON.parse(raw || '{}');
        } catch (e) {
          setError('密钥不是合法的 JSON');
          return;
        }
      }
      if (!c) body.channelType = type.value;
      return api(c ? 'PATCH' : 'POST', c ? '/channel-configs/' + c.id : '/channel-configs', body).then(function () {
        close();
        toast(c ? '渠道配置已保存' : '渠道配置已创建');
        route();
      });
    } }], { wide: true });
  }

  // ---------------------------------------------------------------- 绑定申请
  function viewBindings(r, seq) {
    var status = r.params.has('status') ? r.params.get('status') : 'PENDING';
    var page = Number(r.params.get('page') || 1);
    return api('GET', '/bindings' + qs({ status: status, page: page })).then(function (data) {
      render(seq, '绑定申请', [
        h('div', { class: 'toolbar' },
          tabs(status, [['PENDING', '待审核'], ['APPROVED', '已通过'], ['REJECTED', '已驳回'], ['', '全部']], function (s) { go('bindings', { status: s }); }),
          h('p', { class: 'toolbar-note' }, '方式一：管理员审核；方式二：等待期满（' + fmtDuration(state.session.bindingAutoApproveSeconds) + '）未被驳回则自动通过。')),
        card(null, [
          table([
            { label: '应用', render: function (b) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, b.appName), h('div', { class: 'cell-sub mono' }, b.appId)); } },
            { label: '渠道', render: function (b) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, b.channelName), h('div', { class: 'cell-sub' }, (CHANNEL_TYPES[b.channelType] || b.channelType) + ' · ' + b.sceneName + ' · 渠道ID ' + b.channelId)); } },
            { label: '商户号', render: function (b) { return mono(b.mchId); } },
            { label: '申请时间', render: function (b) { return fmtTime(b.appliedAt); } },
            { label: '自动通过时间', render: function (b) { return b.autoApproveAt ? fmtTime(b.autoApproveAt) : '—'; } },
            { label: '状态', render: function (b) { return badge('binding', b.status); } },
            { label: '处理', render: function (b) { return b.decidedBy ? h('div', { class: 'cell-main' }, h('div', null, b.decidedBy === 'system:auto-approve' ? '自动审核' : b.decidedBy), h('div', { class: 'cell-sub' }, fmtTime(b.decidedAt) + (b.decisionNote ? ' · ' + b.decisionNote : ''))) : '—'; } },
            { label: '工作流', render: function (b) { return workflowLink(b.workflowUrl); } },
            { label: '操作', cls: 'col-actions', render: function (b) {
              if (b.status !== 'PENDING') return h('span', { class: 'muted' }, '—');
              return h('div', { class: 'actions' },
                btn('通过', 'primary', function () { decideBinding(b, 'approve'); }, { 'data-action': 'approve' }),
                btn('驳回', 'danger-ghost', function () { decideBinding(b, 'reject'); }, { 'data-action': 'reject' }));
            } },
          ], data.items, status === 'PENDING' ? '没有待审核的绑定申请' : '暂无绑定申请'),
          pager(data, function (p) { go('bindings', { status: status, page: p }); }),
        ]),
      ]);
    });
  }
  function decideBinding(b, action) {
    var approve = action === 'approve';
    var note = h('textarea', { name: 'note', class: 'input textarea', rows: '3', maxlength: 256, placeholder: approve ? '可选' : '请填写驳回原因，商户可据此修改后重新申请' });
    modal(approve ? '通过绑定申请' : '驳回绑定申请', h('div', { class: 'form' },
      dl([['应用', b.appName + '（' + b.appId + '）'], ['渠道', b.channelName + ' · ' + (CHANNEL_TYPES[b.channelType] || '') + ' ' + b.sceneName], ['商户号', b.mchId]]),
      field('备注', note)),
    [{ label: approve ? '确认通过' : '确认驳回', kind: approve ? 'primary' : 'danger', onclick: function (close, setError) {
      if (!approve && !note.value.trim()) { setError('请填写驳回原因'); return; }
      return api('POST', '/bindings/' + b.id + '/' + action, note.value.trim() ? { note: note.value.trim() } : {}).then(function (res) {
        close();
        toast(res.status === 'PENDING' ? '已发送审核信号，工作流处理中' : (approve ? '绑定申请已通过' : '绑定申请已驳回'));
        refreshCounts();
        route();
      });
    } }]);
  }

  // ---------------------------------------------------------------- 订单
  function viewOrders(r, seq) {
    var p = r.params;
    var filters = { outTradeNo: p.get('outTradeNo') || '', status: p.get('status') || '', appId: p.get('appId') || '', from: p.get('from') || '', to: p.get('to') || '' };
    var page = Number(p.get('page') || 1);
    return api('GET', '/orders' + qs({ outTradeNo: filters.outTradeNo, status: filters.status, appId: filters.appId, createdFrom: shanghaiInputToIso(filters.from), createdTo: shanghaiInputToIso(filters.to), page: page })).then(function (data) {
      var f = {
        outTradeNo: input('outTradeNo', filters.outTradeNo, { placeholder: '商户订单号', id: 'filter-out-trade-no' }),
        status: select('status', [['', '全部状态']].concat(Object.keys(LABELS.order).map(function (k) { return [k, LABELS.order[k][0]]; })), filters.status),
        appId: input('appId', filters.appId, { placeholder: '应用ID' }),
        from: input('from', filters.from, { type: 'datetime-local', title: '创建时间起（北京时间）' }),
        to: input('to', filters.to, { type: 'datetime-local', title: '创建时间止（北京时间）' }),
      };
      var form = h('form', { class: 'filters' },
        field('商户订单号', f.outTradeNo), field('状态', f.status), field('应用ID', f.appId),
        field('创建时间起（北京时间）', f.from), field('创建时间止', f.to),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'order-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('orders'); } }, '重置')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        go('orders', { outTradeNo: f.outTradeNo.value.trim(), status: f.status.value, appId: f.appId.value.trim(), from: f.from.value, to: f.to.value });
      });
      var keep = { outTradeNo: filters.outTradeNo, status: filters.status, appId: filters.appId, from: filters.from, to: filters.to };
      render(seq, '订单查询', [
        card(null, form),
        card(null, [
          table([
            { label: '商户订单号', render: function (o) { return h('a', { href: '#/orders/' + o.id, class: 'mono link-strong' }, o.outTradeNo); } },
            { label: '应用', render: function (o) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, o.appName), h('div', { class: 'cell-sub mono' }, o.appId)); } },
            { label: '订单标题', render: function (o) { return h('span', { class: 'truncate', title: o.orderTitle }, o.orderTitle); } },
            { label: '金额', cls: 'col-num', render: function (o) { return h('span', { class: 'amount' }, fmtMoney(o.amount)); } },
            { label: '状态', render: function (o) { return badge('order', o.status); } },
            { label: '渠道', render: function (o) { return o.channelType ? CHANNEL_TYPES[o.channelType] || o.channelType : '—'; } },
            { label: '通知', render: function (o) { return badge('notify', o.notifyStatus); } },
            { label: '创建时间', render: function (o) { return fmtTime(o.createdAt); } },
            { label: '', cls: 'col-actions', render: function (o) { return h('div', { class: 'actions' }, h('a', { href: '#/orders/' + o.id, class: 'btn btn-small btn-ghost' }, '详情'), workflowLink(o.workflowUrl, 'Temporal')); } },
          ], data.items, '没有符合条件的订单'),
          pager(data, function (pg) { keep.page = pg; go('orders', keep); }),
        ]),
      ]);
    });
  }
  function viewOrder(r, seq) {
    var id = r.parts[1];
    return api('GET', '/orders/' + encodeURIComponent(id)).then(function (o) {
      var renotify = btn('重新通知', 'primary', function () { doRenotify(o); }, { id: 'renotify', disabled: !o.canRenotify, title: o.canRenotify ? '向商户立即再发送一次支付结果通知' : '订单尚无支付结果或没有通知地址' });
      render(seq, '订单详情', [
        h('div', { class: 'detail-head' },
          h('a', { href: '#/orders', class: 'back-link' }, '‹ 返回订单列表'),
          h('div', { class: 'detail-title' }, h('h2', { class: 'mono' }, o.outTradeNo), badge('order', o.status), badge('notify', o.notifyStatus)),
          h('div', { class: 'actions' }, renotify, h('a', { href: o.workflow.url, target: '_blank', rel: 'noopener noreferrer', class: 'btn btn-ghost', id: 'temporal-link' }, '在 Temporal 中查看', icon('external')))),
        h('div', { class: 'grid-2' },
          card('订单信息', dl([
            ['订单号 (orderId)', mono(String(o.id))],
            ['应用', (o.appName || '') + '（' + o.appId + '）'],
            ['订单标题', o.orderTitle], ['商品描述', o.goodsDesc],
            ['金额', h('span', { class: 'amount amount-large' }, fmtMoney(o.amount))],
            ['第三方用户', o.thirdPartyUser],
            ['创建时间', fmtTime(o.createdAt)], ['过期时间', fmtTime(o.expireAt)],
          ])),
          card('支付结果', dl([
            ['状态', badge('order', o.status)],
            ['渠道', o.channelType ? (CHANNEL_TYPES[o.channelType] || o.channelType) + ' · 渠道ID ' + o.channelId : null],
            ['商户号', o.mchId ? mono(o.mchId) : null], ['渠道交易号', o.providerTradeNo ? mono(o.providerTradeNo) : null],
            ['支付时间', o.payTime ? fmtTime(o.payTime) : null],
            ['错误', o.resultErrorCode ? o.resultErrorCode + '：' + (o.resultErrorMsg || '') : null],
            ['通知地址', o.notifyUrl ? h('span', { class: 'mono truncate', title: o.notifyUrl }, o.notifyUrl) : null],
            ['工作流', h('span', null, o.workflow.status ? badge('workflow', o.workflow.status) : h('span', { class: 'muted' }, '未知'), ' ', mono(o.workflow.id))],
            ['下次通知', o.workflow.nextNotifyAt ? fmtTime(o.workflow.nextNotifyAt) : null],
          ]))),
        orderRefundsCard(o),
        o.exceptions.length ? orderExceptionsCard(o) : null,
        card('通知记录（' + o.attempts.length + ' 次）', attemptsTable(o.attempts, '尚未通知商户'), h('span', { class: 'muted attempts-note' }, NOTIFY_SCHEDULE_NOTE)),
      ]);
    });
  }
  var NOTIFY_SCHEDULE_NOTE = '通知频率：15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h';
  /** Notification attempts of a payment or a refund (the same schedule and evidence). */
  function attemptsTable(attempts, empty) {
    return table([
      { label: '#', render: function (a) { return String(a.attempt); } },
      { label: '触发', render: function (a) { return a.trigger === 'RENOTIFY' ? h('span', { class: 'badge badge-info' }, '手动重发') : h('span', { class: 'badge badge-muted' }, '按计划'); } },
      { label: '计划时间', render: function (a) { return fmtTime(a.scheduledAt); } },
      { label: '发送时间', render: function (a) { return fmtTime(a.startedAt); } },
      { label: 'HTTP', render: function (a) { return a.httpStatus === null ? '—' : mono(String(a.httpStatus)); } },
      { label: '耗时', cls: 'col-num', render: function (a) { return a.latencyMs + ' ms'; } },
      { label: '结果', render: function (a) { return a.acknowledged ? h('span', { class: 'badge badge-ok' }, '已确认') : h('span', { class: 'badge badge-bad' }, '失败'); } },
      { label: '错误', render: function (a) { return a.error ? h('span', { class: 'truncate error-text', title: a.error }, a.error) : '—'; } },
    ], attempts.map(function (a) { a.id = a.attempt; return a; }), empty);
  }

  // ---------------------------------------------------------------- 订单退款 / 异常支付（订单详情内）
  function errorCell(code, msg) {
    if (!code) return '—';
    var text = code + (msg ? '：' + msg : '');
    return h('span', { class: 'truncate truncate-sm error-text', title: text }, text);
  }
  function orderRefundsCard(o) {
    var processing = o.refunds.reduce(function (n, x) { return x.status === 'PROCESSING' && !x.paymentExceptionId ? n + Number(x.amount) : n; }, 0);
    var why = o.refundable > 0 ? null
      : o.status === 'FINISH' ? '交易已完结，不能再退款'
        : o.status !== 'SUCCESS' ? '订单未支付成功，不能退款'
          : '已无可退金额';
    var open = o.refundable > 0 ? btn('退款', 'primary', function () { refundOrder(o); }, { id: 'refund-open', title: '原路退回付款人，并通知商户' }) : null;
    var c = card('退款（' + o.refunds.length + ' 笔）', [
      dl([
        ['订单金额', h('span', { class: 'amount' }, fmtMoney(o.amount))],
        ['已退款', h('span', { class: 'amount', id: 'refunded-amount', 'data-fen': String(o.refundedAmount) }, fmtMoney(o.refundedAmount))],
        ['退款中', processing ? h('span', { class: 'amount amount-info' }, fmtMoney(processing)) : h('span', { class: 'muted' }, fmtMoney(0))],
        ['可退金额', h('span', null, h('span', { class: 'amount' + (o.refundable > 0 ? ' amount-ok' : ''), id: 'refundable-amount', 'data-fen': String(o.refundable) }, fmtMoney(o.refundable)), why ? h('span', { class: 'cell-sub' }, '（' + why + '）') : null)],
      ], 'dl-stacked'),
      table([
        { label: '退款单号', render: function (x) {
          return h('div', { class: 'cell-main' }, h('a', { href: '#/refunds/' + x.id, class: 'mono link-strong' }, x.outRefundNo), x.reason ? h('span', { class: 'cell-sub truncate', title: x.reason }, x.reason) : null);
        } },
        { label: '金额', cls: 'col-num', render: function (x) { return h('span', { class: 'amount' }, fmtMoney(x.amount)); } },
        { label: '状态', render: function (x) { return badge('refund', x.status); } },
        { label: '来源', render: function (x) { return h('div', { class: 'cell-main' }, h('div', null, sourceChip(x.source)), x.createdBy ? h('div', { class: 'cell-sub' }, x.createdBy) : null); } },
        { label: '退款时间', render: function (x) { return h('div', { class: 'cell-main' }, h('div', null, x.refundTime ? fmtTime(x.refundTime) : '—'), h('div', { class: 'cell-sub' }, '发起 ' + fmtTime(x.createdAt))); } },
        { label: '错误', render: function (x) { return errorCell(x.resultErrorCode, x.resultErrorMsg); } },
        { label: '通知', render: function (x) { return badge('notify', x.notifyStatus); } },
        { label: '', cls: 'col-actions', render: function (x) { return h('div', { class: 'actions' }, h('a', { href: '#/refunds/' + x.id, class: 'btn btn-small btn-ghost' }, '详情'), workflowLink(x.workflowUrl, 'Temporal')); } },
      ], o.refunds, '暂无退款'),
    ], open);
    c.id = 'order-refunds';
    return c;
  }
  /** Columns of a payment-exception table; `withOrder` adds the order and app (the list page). */
  function exceptionColumns(withOrder, outTradeNo) {
    var cols = [];
    if (withOrder) {
      cols.push({ label: '商户订单号', render: function (e) { return h('a', { href: '#/orders/' + e.orderId, class: 'mono link-strong' }, e.outTradeNo || String(e.orderId)); } });
      cols.push({ label: '应用', render: function (e) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, e.appName || '—'), h('div', { class: 'cell-sub mono' }, e.appId)); } });
    }
    return cols.concat([
      { label: '类型', render: function (e) { return kindChip(e.kind); } },
      { label: '状态', render: function (e) { return badge('exception', e.status); } },
      { label: '金额', cls: 'col-num', render: function (e) { return h('span', { class: 'amount' }, fmtMoney(e.amount)); } },
      { label: '渠道交易', render: function (e) {
        return h('div', { class: 'cell-main' },
          h('div', null, (CHANNEL_TYPES[e.channelType] || e.channelType) + ' · ', mono(e.providerOutTradeNo)),
          h('div', { class: 'cell-sub' }, '渠道交易号 ', e.providerTradeNo ? mono(e.providerTradeNo) : '—'));
      } },
      { label: '到账时订单', render: function (e) { return badge('order', e.orderStatus); } },
      { label: '发现', render: function (e) { return h('div', { class: 'cell-main' }, h('span', { class: 'truncate truncate-sm mono', title: e.detectedBy }, e.detectedBy), h('div', { class: 'cell-sub' }, fmtTime(e.createdAt))); } },
      { label: '操作', cls: 'col-actions', render: function (e) {
        if (!e.canRefund) return h('span', { class: 'muted' }, '—');
        return h('div', { class: 'actions' }, btn(e.status === 'REFUND_FAILED' ? '重新退款' : '退款', 'danger-ghost', function () { refundException(e, outTradeNo || e.outTradeNo); }, { 'data-action': 'refund-exception' }));
      } },
    ]);
  }
  function orderExceptionsCard(o) {
    var c = card('异常支付（' + o.exceptions.length + ' 笔）', [
      h('p', { class: 'card-note' }, '渠道在不应收款时收到的款项：迟到支付与重复支付会自动全额退回，金额不符需人工核对后退款。'),
      table(exceptionColumns(false, o.outTradeNo), o.exceptions, '没有异常支付'),
    ], h('a', { href: '#/exceptions' + qs({ outTradeNo: o.outTradeNo }), class: 'card-link' }, '在异常支付中查看'));
    c.id = 'order-exceptions';
    return c;
  }
  /** 12 random bytes as hex: one per opened refund form, so a double submit is the same refund. */
  function newRequestId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return 'web-' + Array.prototype.map.call(bytes, function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join('');
  }
  /** Integer fen as a yuan string for an input ("1234" → "12.34"), without floating point. */
  function fenToYuanText(fen) {
    var s = String(Math.max(0, Math.trunc(Number(fen)))).padStart(3, '0');
    return s.slice(0, -2) + '.' + s.slice(-2);
  }
  function refundOrder(o) {
    var requestId = newRequestId();
    var amount = input('amount', '', { inputmode: 'decimal', placeholder: '0.00', maxlength: 14, id: 'refund-amount' });
    var reason = h('textarea', { name: 'reason', class: 'input textarea', rows: '3', maxlength: 128, placeholder: '如：客户申请退货', id: 'refund-reason' });
    var all = h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'refund-all', onclick: function () { amount.value = fenToYuanText(o.refundable); amount.focus(); } }, '全部可退');
    modal('订单退款 · ' + o.outTradeNo, h('div', { class: 'form' },
      dl([
        ['订单金额', fmtMoney(o.amount)],
        ['已退款', fmtMoney(o.refundedAmount)],
        ['可退金额', h('strong', { class: 'amount' }, fmtMoney(o.refundable))],
        ['渠道', o.channelType ? (CHANNEL_TYPES[o.channelType] || o.channelType) + (o.providerTradeNo ? ' · ' + o.providerTradeNo : '') : null],
      ]),
      field('退款金额（元）', h('span', { class: 'input-affix' }, h('span', { class: 'affix' }, '¥'), amount, all), '以元为单位，最多两位小数，如 12.34。原路退回付款人，结果会通知商户。'),
      field('退款原因', reason, '必填，最多 128 字，记入审计日志')),
    [{ label: '确认退款', kind: 'danger', onclick: function (close, setError) {
      var fen = yuanToFen(amount.value);
      if (fen === null) { setError('请输入正确的退款金额：以元为单位，最多两位小数'); amount.focus(); return; }
      if (fen <= 0) { setError('退款金额必须大于 0'); amount.focus(); return; }
      var why = reason.value.trim();
      if (!why) { setError('请填写退款原因'); reason.focus(); return; }
      // The refundable amount shown may be stale (the merchant refunds too): the server decides and says why (4090).
      return api('POST', '/orders/' + o.id + '/refunds', { amount: fen, reason: why, requestId: requestId }).then(function (res) {
        close();
        toast(res.status === 'SUCCESS' ? '退款成功：' + fmtMoney(res.amount) : '退款 ' + fmtMoney(res.amount) + ' 已提交，渠道处理中');
        route();
        if (res.status === 'PROCESSING') refreshWhenSettled(res.refundId);
      });
    } }]);
  }
  /** Re-renders the current view once a just-created refund has a final result (a few seconds at most). */
  function refreshWhenSettled(refundId) {
    var hash = location.hash;
    var tries = 0;
    var poll = function () {
      if (location.hash !== hash || !shell) return;
      api('GET', '/refunds/' + refundId).then(function (x) {
        if (location.hash !== hash) return;
        if (x.status !== 'PROCESSING') {
          // Not under an open dialog: the administrator may be typing into it.
          if (!document.querySelector('dialog[open]')) route();
        } else if (++tries < 10) setTimeout(poll, 1000);
      }, function () {});
    };
    setTimeout(poll, 800);
  }
  function refundException(e, outTradeNo) {
    modal('异常支付退款', h('div', { class: 'form' },
      h('p', null, '将把这笔异常款项 ', h('strong', null, fmtMoney(e.amount)), ' 全额原路退回付款人。不通知商户，操作记入审计日志。'),
      dl([
        ['类型', kindChip(e.kind)],
        ['商户订单号', outTradeNo ? mono(outTradeNo) : null],
        ['渠道', CHANNEL_TYPES[e.channelType] || e.channelType],
        ['渠道订单号', mono(e.providerOutTradeNo)],
        ['渠道交易号', e.providerTradeNo ? mono(e.providerTradeNo) : null],
        ['退款金额', h('strong', { class: 'amount' }, fmtMoney(e.amount))],
      ]),
      e.kind === 'AMOUNT_MISMATCH' ? h('div', { class: 'callout callout-warn' }, '金额不符：请先与渠道账单核对实收金额，确认后再退款。') : null),
    [{ label: '确认退款', kind: 'danger', onclick: function (close) {
      return api('POST', '/payment-exceptions/' + e.id + '/refund').then(function (res) {
        close();
        toast(res.status === 'SUCCESS' ? '异常款项已退回：' + fmtMoney(res.amount) : '异常款项退款 ' + fmtMoney(res.amount) + ' 已提交，渠道处理中');
        refreshCounts();
        route();
        if (res.status === 'PROCESSING') refreshWhenSettled(res.refundId);
      });
    } }]);
  }

  // ---------------------------------------------------------------- 退款管理
  function viewRefunds(r, seq) {
    var p = r.params;
    var filters = { outRefundNo: p.get('outRefundNo') || '', outTradeNo: p.get('outTradeNo') || '', status: p.get('status') || '', source: p.get('source') || '', appId: p.get('appId') || '' };
    var page = Number(p.get('page') || 1);
    return api('GET', '/refunds' + qs({ outRefundNo: filters.outRefundNo, outTradeNo: filters.outTradeNo, status: filters.status, source: filters.source, appId: filters.appId, page: page })).then(function (data) {
      var f = {
        outRefundNo: input('outRefundNo', filters.outRefundNo, { placeholder: '商户退款单号', id: 'filter-out-refund-no' }),
        outTradeNo: input('outTradeNo', filters.outTradeNo, { placeholder: '商户订单号', id: 'filter-out-trade-no' }),
        status: select('status', [['', '全部状态']].concat(Object.keys(LABELS.refund).map(function (k) { return [k, LABELS.refund[k][0]]; })), filters.status),
        source: select('source', [['', '全部来源']].concat(Object.keys(REFUND_SOURCES).map(function (k) { return [k, REFUND_SOURCES[k]]; })), filters.source),
        appId: input('appId', filters.appId, { placeholder: '应用ID' }),
      };
      var form = h('form', { class: 'filters filters-plain' },
        field('商户退款单号', f.outRefundNo), field('商户订单号', f.outTradeNo), field('状态', f.status), field('来源', f.source), field('应用ID', f.appId),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'refund-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('refunds'); } }, '重置')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        go('refunds', { outRefundNo: f.outRefundNo.value.trim(), outTradeNo: f.outTradeNo.value.trim(), status: f.status.value, source: f.source.value, appId: f.appId.value.trim() });
      });
      var keep = { outRefundNo: filters.outRefundNo, outTradeNo: filters.outTradeNo, status: filters.status, source: filters.source, appId: filters.appId };
      render(seq, '退款管理', [
        card(null, form),
        card(null, [
          table([
            { label: '商户退款单号', render: function (x) { return h('a', { href: '#/refunds/' + x.id, class: 'mono link-strong' }, x.outRefundNo); } },
            { label: '商户订单号', render: function (x) { return h('a', { href: '#/orders/' + x.orderId, class: 'mono' }, x.outTradeNo); } },
            { label: '应用', render: function (x) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, x.appName), h('div', { class: 'cell-sub mono' }, x.appId)); } },
            { label: '金额', cls: 'col-num', render: function (x) { return h('span', { class: 'amount' }, fmtMoney(x.amount)); } },
            { label: '状态', render: function (x) { return h('div', { class: 'cell-badges' }, badge('refund', x.status), x.resultErrorCode ? h('span', { class: 'cell-sub error-text' }, x.resultErrorCode) : null); } },
            { label: '来源 / 渠道', render: function (x) { return h('div', { class: 'cell-main' }, h('div', null, sourceChip(x.source)), h('div', { class: 'cell-sub' }, CHANNEL_TYPES[x.channelType] || x.channelType || '—')); } },
            { label: '通知', render: function (x) { return badge('notify', x.notifyStatus); } },
            { label: '创建 / 退款时间', render: function (x) { return h('div', { class: 'cell-main' }, h('div', null, fmtTime(x.createdAt)), h('div', { class: 'cell-sub' }, x.refundTime ? '退款 ' + fmtTime(x.refundTime) : '—')); } },
            { label: '', cls: 'col-actions', render: function (x) { return h('div', { class: 'actions' }, h('a', { href: '#/refunds/' + x.id, class: 'btn btn-small btn-ghost' }, '详情'), workflowLink(x.workflowUrl, 'Temporal')); } },
          ], data.items, '没有符合条件的退款'),
          pager(data, function (pg) { keep.page = pg; go('refunds', keep); }),
        ]),
      ]);
    });
  }
  function viewRefund(r, seq) {
    var id = r.parts[1];
    return api('GET', '/refunds/' + encodeURIComponent(id)).then(function (x) {
      render(seq, '退款详情', [
        h('div', { class: 'detail-head' },
          h('a', { href: '#/refunds', class: 'back-link' }, '‹ 返回退款列表'),
          h('div', { class: 'detail-title' }, h('h2', { class: 'mono' }, x.outRefundNo), badge('refund', x.status), badge('notify', x.notifyStatus)),
          h('div', { class: 'actions' },
            h('a', { href: '#/orders/' + x.orderId, class: 'btn btn-ghost', id: 'refund-order-link' }, '查看订单'),
            h('a', { href: x.workflow.url, target: '_blank', rel: 'noopener noreferrer', class: 'btn btn-ghost', id: 'temporal-link' }, '在 Temporal 中查看', icon('external')))),
        h('div', { class: 'grid-2' },
          card('退款信息', dl([
            ['退款ID (refundId)', mono(String(x.id))],
            ['商户退款单号', mono(x.outRefundNo)],
            ['商户订单号', h('a', { href: '#/orders/' + x.orderId, class: 'mono' }, x.outTradeNo)],
            ['应用', mono(x.appId)],
            ['退款金额', h('span', { class: 'amount amount-large' }, fmtMoney(x.amount))],
            ['来源', h('span', null, sourceChip(x.source), x.createdBy ? ' ' + x.createdBy : '')],
            ['退款原因', x.reason],
            ['异常支付', x.paymentExceptionId ? h('a', { href: '#/exceptions' + qs({ outTradeNo: x.outTradeNo }) }, '异常支付 #' + x.paymentExceptionId) : null],
            ['创建时间', fmtTime(x.createdAt)],
          ])),
          card('退款结果', dl([
            ['状态', badge('refund', x.status)],
            ['渠道', CHANNEL_TYPES[x.channelType] || x.channelType],
            ['渠道订单号', x.providerOutTradeNo ? mono(x.providerOutTradeNo) : null],
            ['渠道退款号', x.providerRefundId ? mono(x.providerRefundId) : null],
            ['退款时间', x.refundTime ? fmtTime(x.refundTime) : null],
            ['错误', x.resultErrorCode ? h('span', { class: 'error-text' }, x.resultErrorCode + '：' + (x.resultErrorMsg || '')) : null],
            ['通知地址', x.notifyUrl ? h('span', { class: 'mono truncate', title: x.notifyUrl }, x.notifyUrl) : h('span', { class: 'muted' }, '不通知商户')],
            ['工作流', h('span', null, x.workflow.status ? badge('workflow', x.workflow.status) : h('span', { class: 'muted' }, '未知'), ' ', mono(x.workflow.id))],
            ['渠道调用', x.workflow.providerCalls === null || x.workflow.providerCalls === undefined ? null : x.workflow.providerCalls + ' 次（退款申请与查询）'],
            ['下次通知', x.workflow.nextNotifyAt ? fmtTime(x.workflow.nextNotifyAt) : null],
          ]))),
        card('通知记录（' + x.attempts.length + ' 次）', attemptsTable(x.attempts, x.notifyUrl ? '尚未通知商户' : '该退款不通知商户'), x.notifyUrl ? h('span', { class: 'muted attempts-note' }, NOTIFY_SCHEDULE_NOTE) : null),
      ]);
    });
  }

  // ---------------------------------------------------------------- 转账
  /** Where a transfer stands with its approval: a key of LABELS.decision. */
  function transferDecision(x) {
    if (!x.needsApproval) return 'NONE';
    if (x.resultErrorCode === 'APPROVAL_REJECTED') return 'REJECTED';
    if (x.resultErrorCode === 'APPROVAL_TIMEOUT') return 'TIMED_OUT';
    if (x.decidedBy) return 'APPROVED';
    return x.status === 'PENDING_APPROVAL' ? 'PENDING' : 'UNDECIDED';
  }
  function decisionBadge(x) {
    var d = transferDecision(x);
    var l = LABELS.decision[d];
    return h('span', { class: 'badge badge-' + l[1], 'data-decision': d }, l[0]);
  }
  function payeeCell(x) {
    return h('div', { class: 'cell-main' },
      h('div', { class: 'cell-title' }, x.payeeName || h('span', { class: 'muted' }, '未提供姓名')),
      h('div', { class: 'cell-sub' }, (PAYEE_TYPES[x.payeeType] || x.payeeType) + ' · ', mono(x.payeeAccount)));
  }
  function viewTransfers(r, seq) {
    var p = r.params;
    var filters = { outBizNo: p.get('outBizNo') || '', status: p.get('status') || '', appId: p.get('appId') || '' };
    var page = Number(p.get('page') || 1);
    return api('GET', '/transfers' + qs({ outBizNo: filters.outBizNo, status: filters.status, appId: filters.appId, page: page })).then(function (data) {
      var f = {
        outBizNo: input('outBizNo', filters.outBizNo, { placeholder: '商户转账单号', id: 'filter-out-biz-no' }),
        status: select('status', [['', '全部状态']].concat(Object.keys(LABELS.transfer).map(function (k) { return [k, LABELS.transfer[k][0]]; })), filters.status),
        appId: input('appId', filters.appId, { placeholder: '应用ID', id: 'filter-app-id' }),
      };
      f.status.id = 'filter-transfer-status';
      var form = h('form', { class: 'filters filters-plain' },
        field('商户转账单号', f.outBizNo), field('状态', f.status), field('应用ID', f.appId),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'transfer-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('transfers'); } }, '重置')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        go('transfers', { outBizNo: f.outBizNo.value.trim(), status: f.status.value, appId: f.appId.value.trim() });
      });
      var keep = { outBizNo: filters.outBizNo, status: filters.status, appId: filters.appId };
      render(seq, '转账管理', [
        h('div', { class: 'toolbar' }, h('p', { class: 'toolbar-note' }, '商户经签名接口发起的转账（付款到支付宝账户或微信用户）。单笔金额超过应用审批阈值的转账，管理员批准后才会付款；24 小时内无人审批自动取消。')),
        card(null, form),
        card(null, [
          table([
            { label: '商户转账单号', render: function (x) {
              return h('div', { class: 'cell-main' }, h('a', { href: '#/transfers/' + x.id, class: 'mono link-strong' }, x.outBizNo), x.remark ? h('span', { class: 'cell-sub truncate', title: x.remark }, x.remark) : null);
            } },
            { label: '应用', render: function (x) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title' }, x.appName), h('div', { class: 'cell-sub mono' }, x.appId)); } },
            { label: '金额', cls: 'col-num', render: function (x) { return h('span', { class: 'amount' }, fmtMoney(x.amount)); } },
            { label: '收款人', render: payeeCell },
            { label: '状态', render: function (x) {
              return h('div', { class: 'cell-badges' }, badge('transfer', x.status), x.resultErrorCode ? h('span', { class: 'cell-sub error-text truncate truncate-sm', title: x.resultErrorCode + (x.resultErrorMsg ? '：' + x.resultErrorMsg : '') }, x.resultErrorCode) : null);
            } },
            { label: '审批', render: function (x) {
              return h('div', { class: 'cell-badges' }, decisionBadge(x), x.decidedBy ? h('span', { class: 'cell-sub' }, x.decidedBy + ' · ' + fmtTime(x.decidedAt).slice(5, 16)) : null);
            } },
            { label: '渠道 / 通知', render: function (x) { return h('div', { class: 'cell-badges' }, h('span', { class: 'chip chip-' + x.channelType }, CHANNEL_TYPES[x.channelType] || x.channelType), badge('notify', x.notifyStatus)); } },
            { label: '创建 / 到账时间', render: function (x) { return h('div', { class: 'cell-main' }, h('div', null, fmtTime(x.createdAt)), h('div', { class: 'cell-sub' }, x.transferTime ? '到账 ' + fmtTime(x.transferTime) : '—')); } },
            { label: '', cls: 'col-actions', render: function (x) {
              return h('div', { class: 'actions' },
                x.canDecide ? h('a', { href: '#/transfers/' + x.id, class: 'btn btn-small btn-primary', 'data-action': 'decide' }, '审批') : null,
                h('a', { href: '#/transfers/' + x.id, class: 'btn btn-small btn-ghost' }, '详情'),
                workflowLink(x.workflowUrl, 'Temporal'));
            } },
          ], data.items, filters.status === 'PENDING_APPROVAL' ? '没有待审批的转账' : '没有符合条件的转账'),
          pager(data, function (pg) { keep.page = pg; go('transfers', keep); }),
        ]),
      ]);
    });
  }
  function viewTransfer(r, seq) {
    var id = r.parts[1];
    return api('GET', '/transfers/' + encodeURIComponent(id)).then(function (x) {
      // A decision just sent: the workflow records it within moments, until then the transfer still reads PENDING_APPROVAL.
      var sent = x.canDecide ? state.transferDecisions[x.id] : null;
      if (!x.canDecide) delete state.transferDecisions[x.id];
      var started = x.workflow.startTime || x.createdAt;
      var deadline = started ? new Date(Date.parse(started) + 24 * 3600000).toISOString() : null;
      var callout = null;
      if (sent) {
        callout = h('div', { class: 'callout callout-info', id: 'transfer-decision-sent' }, sent === 'approve' ? '已批准，工作流正在处理，付款结果稍后显示。' : '已驳回，工作流正在取消这笔转账。');
      } else if (x.canDecide) {
        callout = h('div', { class: 'callout callout-warn', id: 'transfer-approval-note' },
          '金额 ', h('strong', null, fmtMoney(x.amount)), ' 超过应用的审批阈值：批准后才会向收款人付款，驳回则取消转账并通知商户。',
          deadline ? '约 ' + fmtTime(deadline) + ' 前无人审批将自动取消。' : '');
      }
      render(seq, '转账详情', [
        h('div', { class: 'detail-head' },
          h('a', { href: '#/transfers', class: 'back-link' }, '‹ 返回转账列表'),
          h('div', { class: 'detail-title' }, h('h2', { class: 'mono' }, x.outBizNo), badge('transfer', x.status), badge('notify', x.notifyStatus)),
          h('div', { class: 'actions' },
            x.canDecide && !sent ? btn('批准', 'primary', function () { decideTransfer(x, true); }, { id: 'transfer-approve', title: '批准后立即向收款人付款' }) : null,
            x.canDecide && !sent ? btn('驳回', 'danger-ghost', function () { decideTransfer(x, false); }, { id: 'transfer-reject', title: '取消这笔转账，不付款' }) : null,
            h('a', { href: x.workflow.url, target: '_blank', rel: 'noopener noreferrer', class: 'btn btn-ghost', id: 'temporal-link' }, '在 Temporal 中查看', icon('external')))),
        callout,
        h('div', { class: 'grid-2' },
          card('转账信息', dl([
            ['转账ID (transferId)', mono(String(x.id))],
            ['商户转账单号', mono(x.outBizNo)],
            ['应用', h('a', { href: '#/transfers' + qs({ appId: x.appId }), class: 'mono', title: '该应用的全部转账' }, x.appId)],
            ['转账金额', h('span', { class: 'amount amount-large', id: 'transfer-amount', 'data-fen': String(x.amount) }, fmtMoney(x.amount))],
            ['渠道', h('span', { class: 'chip chip-' + x.channelType }, CHANNEL_TYPES[x.channelType] || x.channelType)],
            ['收款方式', PAYEE_TYPES[x.payeeType] || x.payeeType],
            ['收款账号', mono(x.payeeAccount)],
            ['收款人姓名', x.payeeName],
            ['备注', x.remark],
            ['当日已占用额度', h('span', null, h('span', { class: 'amount', id: 'transfer-daily-reserved', 'data-fen': String(x.dailyReserved) }, fmtMoney(x.dailyReserved)), h('span', { class: 'cell-sub' }, '（' + x.day + '，北京时间）'))],
            ['创建时间', fmtTime(x.createdAt)],
          ])),
          card('转账结果', dl([
            ['状态', badge('transfer', x.status)],
            ['审批', h('span', { id: 'transfer-decision' }, decisionBadge(x), x.decidedBy ? ' ' + x.decidedBy + ' · ' + fmtTime(x.decidedAt) : '')],
            ['审批备注', x.decisionNote],
            ['渠道转账单号', x.providerTransferId ? mono(x.providerTransferId) : null],
            ['到账时间', x.transferTime ? fmtTime(x.transferTime) : null],
            ['错误', x.resultErrorCode ? h('span', { class: 'error-text', id: 'transfer-error' }, x.resultErrorCode + (x.resultErrorMsg ? '：' + x.resultErrorMsg : '')) : null],
            ['工作流', h('span', null, x.workflow.status ? badge('workflow', x.workflow.status) : h('span', { class: 'muted' }, '未知'), ' ', mono(x.workflow.id))],
            ['工作流时间', x.workflow.startTime ? fmtTime(x.workflow.startTime) + (x.workflow.closeTime ? ' 至 ' + fmtTime(x.workflow.closeTime) : ' 起') : null],
          ]))),
        card('通知记录（' + x.attempts.length + ' 次）', attemptsTable(x.attempts, '尚未通知商户'), h('span', { class: 'muted attempts-note' }, NOTIFY_SCHEDULE_NOTE)),
      ]);
    });
  }
  /** 批准 / 驳回: an optional note; a rejection is confirmed with a tick. The server's refusal (4090: decided already) stays in the dialog. */
  function decideTransfer(x, approve) {
    var note = h('textarea', { name: 'note', class: 'input textarea', rows: '3', maxlength: 256, id: 'transfer-note', placeholder: approve ? '可选，如：已核对佣金结算单' : '可选，驳回原因会作为错误信息通知商户' });
    var confirm = approve ? null : h('input', { type: 'checkbox', name: 'confirm', id: 'transfer-reject-confirm' });
    modal(approve ? '批准转账' : '驳回转账', h('div', { class: 'form' },
      dl([
        ['商户转账单号', mono(x.outBizNo)],
        ['应用', mono(x.appId)],
        ['金额', h('strong', { class: 'amount' }, fmtMoney(x.amount))],
        ['收款人', h('span', null, (x.payeeName ? x.payeeName + ' · ' : '') + (PAYEE_TYPES[x.payeeType] || x.payeeType) + ' ', mono(x.payeeAccount))],
        ['备注', x.remark],
        ['当日已占用额度', fmtMoney(x.dailyReserved) + '（' + x.day + '）'],
      ]),
      h('div', { class: 'callout ' + (approve ? 'callout-info' : 'callout-warn') }, approve
        ? '批准后立即经' + (CHANNEL_TYPES[x.channelType] || x.channelType) + '向收款人付款 ' + fmtMoney(x.amount) + '，付款后不能撤回。'
        : '驳回后转账取消，不会付款；商户会收到“已取消”的转账结果通知。'),
      field('审批备注', note, '可选，最多 256 字，记入审计日志'),
      confirm ? h('label', { class: 'check' }, confirm, h('span', null, '我确认驳回这笔转账')) : null),
    [{ label: approve ? '确认批准' : '确认驳回', kind: approve ? 'primary' : 'danger', onclick: function (close, setError) {
      if (confirm && !confirm.checked) { setError('请先勾选“我确认驳回这笔转账”'); confirm.focus(); return; }
      var text = note.value.trim();
      return api('POST', '/transfers/' + x.id + '/' + (approve ? 'approve' : 'reject'), text ? { note: text } : {}).then(function () {
        close();
        state.transferDecisions[x.id] = approve ? 'approve' : 'reject';
        toast(approve ? '已批准：' + fmtMoney(x.amount) + ' 正在付款' : '已驳回，转账将被取消');
        refreshCounts();
        route();
        followTransfer(x.id, x.status);
      }, function (err) {
        // Decided elsewhere or ended meanwhile: the page behind catches up once the dialog is closed.
        if (err && err.code === 4090) followTransfer(x.id, x.status);
        throw err;
      });
    } }]);
  }
  /**
   * Re-renders a transfer's detail whenever its status differs from the one shown (the workflow records a decision,
   * then the provider pays: seconds), until it is settled; never under an open dialog.
   */
  function followTransfer(id, shown) {
    var hash = location.hash;
    var tries = 0;
    var poll = function () {
      if (location.hash !== hash || !shell) return;
      api('GET', '/transfers/' + id).then(function (x) {
        if (location.hash !== hash || !shell) return;
        var open = !!document.querySelector('dialog[open]');
        if (x.status !== shown && !open) {
          if (shown === 'PENDING_APPROVAL') refreshCounts();
          shown = x.status;
          route();
        }
        if ((x.status === shown && TRANSFER_SETTLED[x.status]) || ++tries >= 60) return;
        setTimeout(poll, 1000);
      }, function () {});
    };
    setTimeout(poll, 600);
  }

  /** An app's transfer settings: amounts typed in yuan, sent as integer fen; the server checks the rules and says why. */
  function transferSettings(a) {
    return api('GET', '/apps/' + encodeURIComponent(a.appId) + '/transfer-settings').then(function (s) {
      var blank = !s.enabled && !s.maxPerTransfer && !s.dailyLimit && !s.approvalThreshold;
      var money = function (name, fen, id) {
        return input(name, blank ? '' : fenToYuanText(fen), { inputmode: 'decimal', placeholder: '0.00', maxlength: 14, id: id });
      };
      var affix = function (el) { return h('span', { class: 'input-affix' }, h('span', { class: 'affix' }, '¥'), el); };
      var enabled = h('input', { type: 'checkbox', name: 'enabled', id: 'transfer-enabled', role: 'switch' });
      enabled.checked = !!s.enabled;
      var max = money('maxPerTransfer', s.maxPerTransfer, 'transfer-max');
      var daily = money('dailyLimit', s.dailyLimit, 'transfer-daily');
      var threshold = money('approvalThreshold', s.approvalThreshold, 'transfer-threshold');
      var summary = h('div', { class: 'settings-summary', id: 'transfer-settings-summary', 'aria-live': 'polite' });
      var describe = function () {
        var m = yuanToFen(max.value);
        var t = yuanToFen(threshold.value);
        var text = !enabled.checked ? '未开通：该应用的转账请求将被拒绝（4030）。'
          : m === null || t === null ? '开通后：单笔不超过上限、当日累计不超过限额的转账会被受理。'
            : t >= m ? '开通后：单笔不超过 ' + fmtMoney(m) + ' 的转账全部自动付款，无需审批。'
              : t === 0 ? '开通后：每笔转账都需管理员批准后才付款。'
                : '开通后：' + fmtMoney(t) + ' 及以下自动付款；超过 ' + fmtMoney(t) + '（至 ' + fmtMoney(m) + '）需管理员批准。';
        summary.textContent = text;
        summary.classList.toggle('settings-summary-off', !enabled.checked);
      };
      [enabled, max, threshold].forEach(function (el) { el.addEventListener(el === enabled ? 'change' : 'input', describe); });
      describe();
      var fields = [['maxPerTransfer', max, '单笔上限'], ['dailyLimit', daily, '每日限额'], ['approvalThreshold', threshold, '审批阈值']];
      modal('转账设置 · ' + a.name, h('div', { class: 'form', id: 'transfer-settings-form' },
        h('p', null, '允许应用 ', h('strong', null, a.name + '（' + a.appId + '）'), ' 通过签名接口向支付宝账户或微信用户转账。保存后立即生效，修改前后的设置记入审计日志。'),
        h('label', { class: 'switch' }, enabled, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', { class: 'switch-label' }, '开通转账')),
        h('div', { class: 'form form-grid' },
          field('单笔上限（元）', affix(max), '每笔转账金额不得超过此值'),
          field('每日限额（元）', affix(daily), '北京时间每日累计，不得低于单笔上限'),
          h('div', { class: 'span-2' }, field('审批阈值（元）', affix(threshold), '单笔金额超过此值的转账需管理员批准后才付款；填 0 表示每笔都需审批'))),
        summary),
      [{ label: '保存', onclick: function (close, setError) {
        var body = { enabled: enabled.checked };
        for (var i = 0; i < fields.length; i++) {
          var el = fields[i][1];
          // Switched off, an empty amount is 0; switched on, every amount is needed.
          var fen = !enabled.checked && el.value.trim() === '' ? 0 : yuanToFen(el.value);
          if (fen === null) { setError('请输入正确的' + fields[i][2] + '：以元为单位，最多两位小数'); el.focus(); return; }
          body[fields[i][0]] = fen;
        }
        return api('PUT', '/apps/' + encodeURIComponent(a.appId) + '/transfer-settings', body).then(function (saved) {
          close();
          toast(saved.enabled ? '转账已开通：单笔上限 ' + fmtMoney(saved.maxPerTransfer) + '，每日限额 ' + fmtMoney(saved.dailyLimit) : '转账设置已保存（未开通）');
          route();
        }, function (err) {
          // The server names the rule it applied (4000); the rule in words beside it.
          setError(err && err.code === 4000 ? err.message + '（开通转账时，单笔上限须大于 0，每日限额不得低于单笔上限）' : err && err.message ? err.message : '操作失败');
        });
      } }], { wide: true });
    }, failed);
  }

  // ---------------------------------------------------------------- 异常支付
  function viewExceptions(r, seq) {
    var p = r.params;
    var filters = { kind: p.get('kind') || '', status: p.get('status') || '', appId: p.get('appId') || '', outTradeNo: p.get('outTradeNo') || '' };
    var page = Number(p.get('page') || 1);
    return api('GET', '/payment-exceptions' + qs({ kind: filters.kind, status: filters.status, appId: filters.appId, outTradeNo: filters.outTradeNo, page: page })).then(function (data) {
      var f = {
        kind: select('kind', [['', '全部类型']].concat(Object.keys(EXCEPTION_KINDS).map(function (k) { return [k, EXCEPTION_KINDS[k]]; })), filters.kind),
        status: select('status', [['', '全部状态']].concat(Object.keys(LABELS.exception).map(function (k) { return [k, LABELS.exception[k][0]]; })), filters.status),
        appId: input('appId', filters.appId, { placeholder: '应用ID' }),
        outTradeNo: input('outTradeNo', filters.outTradeNo, { placeholder: '商户订单号', id: 'filter-out-trade-no' }),
      };
      var form = h('form', { class: 'filters filters-plain' },
        field('类型', f.kind), field('状态', f.status), field('应用ID', f.appId), field('商户订单号', f.outTradeNo),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'exception-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('exceptions'); } }, '重置')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        go('exceptions', { kind: f.kind.value, status: f.status.value, appId: f.appId.value.trim(), outTradeNo: f.outTradeNo.value.trim() });
      });
      var keep = { kind: filters.kind, status: filters.status, appId: filters.appId, outTradeNo: filters.outTradeNo };
      render(seq, '异常支付', [
        h('div', { class: 'toolbar' }, h('p', { class: 'toolbar-note' }, '迟到支付（订单关闭后到账）与重复支付会自动全额退回；金额不符需人工与渠道核对后退款。')),
        card(null, form),
        card(null, [
          table(exceptionColumns(true), data.items, '没有符合条件的异常支付'),
          pager(data, function (pg) { keep.page = pg; go('exceptions', keep); }),
        ]),
      ]);
    });
  }
  function doRenotify(o) {
    modal('重新通知商户', h('p', null, '将向 ', h('span', { class: 'mono' }, o.notifyUrl || ''), ' 立即再发送一次签名的支付结果通知（不影响原有通知计划）。'),
      [{ label: '发送通知', onclick: function (close) {
        return api('POST', '/orders/' + o.id + '/renotify').then(function () {
          close();
          toast('已发送重新通知信号');
          var before = o.attempts.length;
          var tries = 0;
          var poll = function () {
            api('GET', '/orders/' + o.id).then(function (n) {
              if (n.attempts.length > before || ++tries >= 10) route();
              else setTimeout(poll, 700);
            }, function () { route(); });
          };
          setTimeout(poll, 500);
        });
      } }]);
  }

  // ---------------------------------------------------------------- 对账
  function reconTabs(current) {
    return tabs(current, [['runs', '对账批次'], ['discrepancies', '差异明细']], function (t) { go(t === 'runs' ? 'reconciliations' : 'reconciliations/discrepancies'); });
  }
  function configName(configs, id) {
    var c = configs.filter(function (x) { return String(x.id) === String(id); })[0];
    return c ? (CHANNEL_TYPES[c.channelType] || c.channelType) + ' · ' + c.name : '渠道配置 ' + id;
  }
  function configCell(configs, id, channelType) {
    var c = configs.filter(function (x) { return String(x.id) === String(id); })[0];
    var type = c ? c.channelType : channelType;
    return h('div', { class: 'cell-main' },
      h('div', null, h('span', { class: 'chip chip-' + type }, CHANNEL_TYPES[type] || type || '—'), ' ', c ? c.name : ''),
      h('div', { class: 'cell-sub' }, 'ID ' + id + (c ? ' · ' + c.mchId : '')));
  }
  function configOptions(configs, all) {
    return (all ? [['', all]] : []).concat(configs.map(function (c) { return [c.id, (CHANNEL_TYPES[c.channelType] || c.channelType) + ' · ' + c.name + '（ID ' + c.id + '）']; }));
  }
  /** Payment and refund totals of one side of a run (null until the bill has been read). */
  function billTotals(t, other) {
    if (!t || t.paymentCount === null || t.paymentCount === undefined) return h('span', { class: 'muted' }, '—');
    var differs = function (k) { return other && other.paymentCount !== null && other.paymentCount !== undefined && Number(other[k]) !== Number(t[k]); };
    return h('div', { class: 'cell-main' },
      h('div', { class: differs('paymentCount') || differs('paymentAmount') ? 'cell-diff' : null }, '支付 ' + t.paymentCount + ' 笔 · ', h('span', { class: 'amount' }, fmtMoney(t.paymentAmount))),
      h('div', { class: 'cell-sub' + (differs('refundCount') || differs('refundAmount') ? ' cell-diff' : '') }, '退款 ' + t.refundCount + ' 笔 · ' + fmtMoney(t.refundAmount)));
  }
  /** The server's refusal in words an administrator can act on (its 4000 names the rule in English). */
  function reconcileError(err) {
    if (err && err.code === 4000) return '只能对已经结束的日期对账（北京时间今天之前），请重新选择账单日';
    return err && err.message ? err.message : '操作失败';
  }
  function runState(x) {
    return x.status + ':' + x.attempt + ':' + x.startedAt;
  }
  /**
   * Shows a just-started run and re-renders once it has a result (a workflow reads the bill; seconds to minutes).
   * `before`: the day's previous run (runState), whose result is not the new one's.
   */
  function reconciliationStarted(day, configId, res, before) {
    state.lastReconciliation = { day: day, configId: configId, workflowId: res.workflowId, workflowUrl: res.workflowUrl };
    toast('已发起 ' + day + ' 的对账');
    route();
    var hash = location.hash;
    var tries = 0;
    var seen = null;
    // Re-rendered when the list shows the run otherwise than it is, or (not listed) when it appeared, restarted or
    // ended since the last look; never under an open dialog or while nothing changed (the form may be in use).
    var poll = function () {
      if (location.hash !== hash || !shell) return;
      api('GET', '/reconciliations' + qs({ day: day, configId: configId, pageSize: 1 })).then(function (d) {
        if (location.hash !== hash || !shell) return;
        var run = d.items[0];
        var now = run ? runState(run) : '';
        var listed = run ? shell.view.querySelector('tr[data-id="' + run.id + '"] [data-run-state]') : null;
        var stale = listed ? listed.getAttribute('data-run-state') !== now : seen !== null && now !== seen;
        if (stale && !document.querySelector('dialog[open]')) route();
        // A failed or repaired day changes the navigation's count of failed runs.
        if (run && run.status !== 'RUNNING' && now !== before && now !== seen) refreshCounts();
        seen = now;
        if ((!run || run.status === 'RUNNING' || now === before) && ++tries < 40) setTimeout(poll, 1500);
      }, function () {});
    };
    poll();
  }
  function reconcileCard(configs) {
    var yesterday = addDays(shanghaiToday(), -1);
    var config = select('configId', configOptions(configs), configs.length ? configs[0].id : '');
    config.id = 'reconcile-config';
    var day = input('day', yesterday, { type: 'date', max: yesterday, id: 'reconcile-day' });
    var error = h('div', { class: 'form-error', role: 'alert', id: 'reconcile-error', hidden: true });
    var submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'reconcile-submit', disabled: !configs.length }, icon('rerun'), '开始对账');
    var form = h('form', { class: 'filters filters-plain', id: 'reconcile-form', novalidate: true },
      field('渠道配置', config), field('账单日（北京时间）', day),
      h('div', { class: 'filters-actions' }, submit));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      error.hidden = true;
      if (!day.value) { error.textContent = '请选择账单日'; error.hidden = false; return; }
      submit.disabled = true;
      var configId = Number(config.value);
      var when = day.value;
      var before = null;
      // The day's run as it was, so the page can tell the new run's result from the previous one.
      api('GET', '/reconciliations' + qs({ day: when, configId: configId, pageSize: 1 })).then(function (d) {
        before = d.items[0] ? runState(d.items[0]) : null;
      }, function () {}).then(function () {
        return api('POST', '/reconciliations', { day: when, configId: configId });
      }).then(function (res) {
        reconciliationStarted(when, configId, res, before);
      }, function (err) {
        submit.disabled = false;
        error.textContent = reconcileError(err);
        error.hidden = false;
      });
    });
    var last = state.lastReconciliation;
    var result = last ? h('div', { class: 'callout callout-ok', id: 'reconcile-result', 'data-workflow-id': last.workflowId },
      h('span', null, '已发起对账：', h('strong', null, last.day), ' · ' + configName(configs, last.configId) + ' · 工作流 ', mono(last.workflowId), ' '),
      workflowLink(last.workflowUrl, 'Temporal'),
      h('button', { type: 'button', class: 'icon-btn callout-close', 'aria-label': '关闭', onclick: function () { state.lastReconciliation = null; if (result.parentNode) result.parentNode.removeChild(result); } }, '×')) : null;
    return card('发起对账', [
      h('p', { class: 'card-note' }, '下载渠道在该日的对账单，与本地的支付和退款逐笔比对。每天凌晨自动对账前一日；重新对账会替换该日此前的汇总与差异记录。'),
      configs.length ? form : h('div', { class: 'empty' }, '还没有渠道配置'),
      error,
      result,
    ]);
  }
  function rerunReconciliation(x, configs) {
    modal('重新对账 · ' + x.day, h('div', { class: 'form' },
      h('p', null, '将重新下载 ', h('strong', null, x.day), ' 的渠道账单并与本地记录比对，本次结果会替换该日此前的汇总与差异记录。'),
      dl([
        ['账单日', mono(x.day)],
        ['渠道配置', configName(configs, x.configId)],
        ['上次结果', h('span', null, badge('reconciliation', x.status), x.discrepancyCount !== null && x.discrepancyCount !== undefined ? ' 差异 ' + x.discrepancyCount + ' 条' : '')],
        ['已对账次数', String(x.attempt)],
      ])),
    [{ label: '重新对账', onclick: function (close, setError) {
      return api('POST', '/reconciliations', { day: x.day, configId: x.configId }).then(function (res) {
        close();
        reconciliationStarted(x.day, x.configId, res, runState(x));
      }, function (err) { setError(reconcileError(err)); });
    } }]);
  }
  function viewReconciliations(r, seq) {
    var p = r.params;
    var filters = { day: p.get('day') || '', configId: p.get('configId') || '', status: p.get('status') || '' };
    var page = Number(p.get('page') || 1);
    return Promise.all([
      api('GET', '/reconciliations' + qs({ day: filters.day, configId: filters.configId, status: filters.status, page: page })),
      api('GET', '/channel-configs'),
    ]).then(function (res) {
      var data = res[0];
      var configs = res[1].items;
      var f = {
        day: input('day', filters.day, { type: 'date', id: 'run-filter-day' }),
        configId: select('configId', configOptions(configs, '全部渠道配置'), filters.configId),
        status: select('status', [['', '全部状态']].concat(Object.keys(LABELS.reconciliation).map(function (k) { return [k, LABELS.reconciliation[k][0]]; })), filters.status),
      };
      f.configId.id = 'run-filter-config';
      f.status.id = 'run-filter-status';
      var form = h('form', { class: 'filters filters-plain' },
        field('账单日', f.day), field('渠道配置', f.configId), field('状态', f.status),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'run-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('reconciliations'); } }, '重置')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        go('reconciliations', { day: f.day.value, configId: f.configId.value, status: f.status.value });
      });
      var keep = { day: filters.day, configId: filters.configId, status: filters.status };
      render(seq, '对账', [
        h('div', { class: 'toolbar' }, reconTabs('runs'), h('p', { class: 'toolbar-note' }, '按北京时间的自然日，逐个渠道配置核对渠道账单与本地记录。')),
        reconcileCard(configs),
        card(null, form),
        card(null, [
          table([
            { label: '账单日', render: function (x) { return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title mono' }, x.day), h('div', { class: 'cell-sub' }, '第 ' + x.attempt + ' 次对账 · 批次 #' + x.id)); } },
            { label: '渠道配置', render: function (x) { return configCell(configs, x.configId, x.channelType); } },
            { label: '状态 / 触发', render: function (x) {
              return h('div', { class: 'cell-badges', 'data-run-state': runState(x) },
                badge('reconciliation', x.status),
                h('span', { class: 'cell-sub' }, triggerChip(x.trigger), x.requestedBy ? ' ' + x.requestedBy : null),
                x.error ? h('span', { class: 'cell-sub error-text truncate cell-detail', title: x.error }, x.error) : null);
            } },
            // Totals of a run still reading the bill (or one that failed) would be an earlier run's: not shown.
            { label: '渠道账单', render: function (x) { return x.status === 'DONE' ? billTotals(x.provider, x.local) : h('span', { class: 'muted' }, '—'); } },
            { label: '本地记录', render: function (x) { return x.status === 'DONE' ? billTotals(x.local, x.provider) : h('span', { class: 'muted' }, '—'); } },
            { label: '差异', cls: 'col-num', render: function (x) {
              if (x.discrepancyCount === null || x.discrepancyCount === undefined) return h('span', { class: 'muted' }, '—');
              return h('a', { href: '#/reconciliations/discrepancies' + qs({ runId: x.id }), class: 'badge ' + (x.discrepancyCount ? 'badge-bad' : 'badge-ok'), 'data-discrepancies': String(x.discrepancyCount) }, x.discrepancyCount + ' 条');
            } },
            { label: '完成时间', render: function (x) {
              return h('div', { class: 'cell-main' }, h('div', null, x.finishedAt ? fmtTime(x.finishedAt).slice(5) : '—'), h('div', { class: 'cell-sub' }, '开始 ' + fmtTime(x.startedAt).slice(5)));
            } },
            { label: '', cls: 'col-actions', render: function (x) {
              return h('div', { class: 'actions' },
                btn('重新对账', 'ghost', function () { rerunReconciliation(x, configs); }, { 'data-action': 'rerun', disabled: x.status === 'RUNNING', title: x.status === 'RUNNING' ? '该日的对账正在进行' : '重新下载账单并比对' }),
                workflowLink(x.workflowUrl, 'Temporal'));
            } },
          ], data.items, '没有符合条件的对账批次'),
          pager(data, function (pg) { keep.page = pg; go('reconciliations', keep); }),
        ]),
      ]);
    });
  }
  function viewDiscrepancies(r, seq) {
    var p = r.params;
    var filters = { runId: p.get('runId') || '', day: p.get('day') || '', configId: p.get('configId') || '', kind: p.get('kind') || '', recordKind: p.get('recordKind') || '' };
    var page = Number(p.get('page') || 1);
    return Promise.all([
      api('GET', '/reconciliations/discrepancies' + qs({ runId: filters.runId, day: filters.day, configId: filters.configId, kind: filters.kind, recordKind: filters.recordKind, page: page })),
      api('GET', '/channel-configs'),
    ]).then(function (res) {
      var data = res[0];
      var configs = res[1].items;
      var f = {
        runId: input('runId', filters.runId, { inputmode: 'numeric', placeholder: '批次号', id: 'disc-filter-run' }),
        day: input('day', filters.day, { type: 'date', id: 'disc-filter-day' }),
        configId: select('configId', configOptions(configs, '全部渠道配置'), filters.configId),
        kind: select('kind', [['', '全部类型']].concat(Object.keys(DISCREPANCY_KINDS).map(function (k) { return [k, DISCREPANCY_KINDS[k]]; })), filters.kind),
        recordKind: select('recordKind', [['', '支付和退款']].concat(Object.keys(RECORD_KINDS).map(function (k) { return [k, RECORD_KINDS[k]]; })), filters.recordKind),
      };
      f.configId.id = 'disc-filter-config';
      f.kind.id = 'disc-filter-kind';
      f.recordKind.id = 'disc-filter-record';
      var form = h('form', { class: 'filters filters-plain' },
        field('对账批次', f.runId), field('账单日', f.day), field('渠道配置', f.configId), field('差异类型', f.kind), field('记录', f.recordKind),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'disc-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('reconciliations/discrepancies'); } }, '重置')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        go('reconciliations/discrepancies', { runId: f.runId.value.trim(), day: f.day.value, configId: f.configId.value, kind: f.kind.value, recordKind: f.recordKind.value });
      });
      var keep = { runId: filters.runId, day: filters.day, configId: filters.configId, kind: filters.kind, recordKind: filters.recordKind };
      var amounts = function (d) {
        var differs = d.providerAmount !== null && d.localAmount !== null && Number(d.providerAmount) !== Number(d.localAmount);
        return h('div', { class: 'cell-main' },
          h('div', { class: differs ? 'cell-diff' : null }, '渠道 ', h('span', { class: 'amount' }, d.providerAmount === null ? '—' : fmtMoney(d.providerAmount))),
          h('div', { class: 'cell-sub' }, '本地 ' + (d.localAmount === null ? '—' : fmtMoney(d.localAmount))));
      };
      render(seq, '对账', [
        h('div', { class: 'toolbar' }, reconTabs('discrepancies'), h('p', { class: 'toolbar-note' }, '渠道账单与本地记录不一致的每一笔：本地缺失的支付会自动向渠道查询并修复或转为异常支付。')),
        card(null, form),
        card(null, [
          table([
            { label: '账单日', render: function (d) {
              return h('div', { class: 'cell-main' }, h('div', { class: 'cell-title mono' }, d.day),
                h('a', { href: '#/reconciliations/discrepancies' + qs({ runId: d.runId }), class: 'cell-sub' }, '批次 #' + d.runId),
                h('span', { class: 'cell-sub', title: '发现时间 ' + fmtTime(d.createdAt) }, '发现 ' + fmtTime(d.createdAt).slice(5, 16)));
            } },
            { label: '差异', render: function (d) { return h('div', { class: 'cell-badges' }, discrepancyChip(d.kind), h('span', { class: 'cell-sub', 'data-record-kind': d.recordKind }, RECORD_KINDS[d.recordKind] || d.recordKind)); } },
            { label: '渠道交易', render: function (d) {
              return h('div', { class: 'cell-main' },
                h('div', null, d.providerOutTradeNo ? mono(d.providerOutTradeNo) : '—'),
                h('div', { class: 'cell-sub' }, '渠道交易号 ', d.providerTradeNo ? mono(d.providerTradeNo) : '—'),
                d.outRefundNo ? h('div', { class: 'cell-sub' }, '退款请求号 ', mono(d.outRefundNo)) : null);
            } },
            { label: '金额', cls: 'col-num', render: amounts },
            { label: '本地状态', render: function (d) { return d.localStatus ? badge(d.recordKind === 'REFUND' ? 'refund' : 'order', d.localStatus) : h('span', { class: 'muted' }, '无记录'); } },
            { label: '处理结果', render: function (d) {
              return h('div', { class: 'cell-badges' }, badge('resolution', d.resolution || 'OPEN'), d.detail ? h('span', { class: 'cell-sub truncate cell-detail', title: d.detail }, d.detail) : null);
            } },
            { label: '关联', render: function (d) {
              var links = [];
              if (d.orderId) links.push(h('a', { href: '#/orders/' + d.orderId, 'data-link': 'order' }, '订单 #' + d.orderId));
              if (d.refundId) links.push(h('a', { href: '#/refunds/' + d.refundId, 'data-link': 'refund' }, '退款 #' + d.refundId));
              return links.length ? h('div', { class: 'cell-main' }, links) : h('span', { class: 'muted' }, '—');
            } },
            { label: '处理建议', cls: 'col-hint', render: function (d) { return DISCREPANCY_HINTS[d.kind] || '—'; } },
          ], data.items, '没有符合条件的差异'),
          pager(data, function (pg) { keep.page = pg; go('reconciliations/discrepancies', keep); }),
        ]),
      ]);
    });
  }

  // ---------------------------------------------------------------- 统计
  /** An SVG element built with DOM calls; attributes are geometry and presentation attributes, never `style`. */
  function svg(tag, attrs) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, String(attrs[k]));
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
  }
  /** 0 and four or five round steps up to at least `max` (whole numbers for counts and fen). */
  function niceTicks(max, integer) {
    var raw = max > 0 ? max / 4 : 1;
    var mag = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).filter(function (v) { return v >= raw * 0.999 && (!integer || v === Math.round(v)); })[0] || 1;
    var top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
    var ticks = [];
    for (var i = 0; i * step <= top + step / 1000; i++) ticks.push(Math.round(i * step * 1e6) / 1e6);
    return ticks;
  }
  function fmtAxisMoney(fen) {
    return fen % 100 === 0 ? '¥' + String(fen / 100).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : fmtMoney(fen);
  }
  var RATE_AXIS = { ticks: [0, 0.25, 0.5, 0.75, 1], fmt: function (v) { return fmtPercent(v, 0); } };
  /**
   * A chart of daily values as SVG: bars and lines over the days, value ticks on the left (and right) axis, a day
   * label every few days, and a <title> (the browser's tooltip) on every bar, point and day column.
   * opts: { id, label, days, left: axis, right: axis, series: [{ key, name, type: 'bar'|'line', axis, cls, value(day) → number|null, fmt(v) }] },
   * an axis: { integer, fmt(v) } with ticks from the data, or { ticks, fmt } fixed.
   */
  function chart(opts) {
    var W = 640, H = 230, L = 62, R = opts.right ? 52 : 16, T = 14, B = 30;
    var days = opts.days;
    var n = Math.max(1, days.length);
    var pw = W - L - R, ph = H - T - B, base = T + ph;
    var slot = pw / n;
    // Axis settings are shared between charts: each chart works on its own copy.
    var axes = {};
    ['left', 'right'].forEach(function (a) {
      if (!opts[a]) return;
      var ax = axes[a] = { ticks: opts[a].ticks, integer: opts[a].integer, fmt: opts[a].fmt };
      if (ax.ticks) return;
      var max = 0;
      opts.series.forEach(function (s) {
        if ((s.axis || 'left') !== a) return;
        days.forEach(function (d) { var v = s.value(d); if (v !== null && v > max) max = v; });
      });
      ax.ticks = niceTicks(max, ax.integer);
    });
    var y = function (ax, v) { return base - (v / ax.ticks[ax.ticks.length - 1]) * ph; };
    var cx = function (i) { return L + slot * (i + 0.5); };
    var r1 = function (v) { return Math.round(v * 10) / 10; };
    var root = svg('svg', { class: 'chart', id: opts.id, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': opts.label, preserveAspectRatio: 'xMidYMid meet' });
    var grid = svg('g', { class: 'chart-axes' });
    axes.left.ticks.forEach(function (t) {
      var yy = r1(y(axes.left, t));
      grid.appendChild(svg('line', { class: t === 0 ? 'chart-axis' : 'chart-grid', x1: L, x2: W - R, y1: yy, y2: yy }));
      grid.appendChild(svg('text', { class: 'chart-tick', x: L - 8, y: yy, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, axes.left.fmt(t)));
    });
    if (axes.right) {
      axes.right.ticks.forEach(function (t) {
        grid.appendChild(svg('text', { class: 'chart-tick chart-tick-right', x: W - R + 8, y: r1(y(axes.right, t)), 'text-anchor': 'start', 'dominant-baseline': 'middle' }, axes.right.fmt(t)));
      });
    }
    var every = Math.max(1, Math.ceil(days.length / 8));
    days.forEach(function (d, i) {
      if (i % every !== 0) return;
      grid.appendChild(svg('line', { class: 'chart-tick-mark', x1: r1(cx(i)), x2: r1(cx(i)), y1: base, y2: base + 4 }));
      grid.appendChild(svg('text', { class: 'chart-day', x: r1(cx(i)), y: H - 8, 'text-anchor': 'middle' }, d.day.slice(5)));
    });
    root.appendChild(grid);
    // Day columns under the marks: hovering anywhere in a day shows all of its values.
    var hits = svg('g', { class: 'chart-hits' });
    days.forEach(function (d, i) {
      hits.appendChild(svg('rect', { class: 'chart-hit', x: r1(L + slot * i), y: T, width: r1(slot), height: ph, 'data-day': d.day },
        svg('title', null, d.day + opts.series.map(function (s) { return '\n' + s.name + '：' + s.fmt(s.value(d)); }).join(''))));
    });
    root.appendChild(hits);
    var bars = opts.series.filter(function (s) { return s.type === 'bar'; });
    var bw = Math.min(36, (slot * 0.7) / Math.max(1, bars.length));
    var pad = (slot - bw * bars.length) / 2;
    bars.forEach(function (s, k) {
      var ax = axes[s.axis || 'left'];
      var g = svg('g', { class: 'chart-series', 'data-series': s.key });
      days.forEach(function (d, i) {
        var v = s.value(d);
        if (v === null) return;
        var top = y(ax, v);
        g.appendChild(svg('rect', { class: 'chart-bar chart-' + s.cls, x: r1(L + slot * i + pad + k * bw), y: r1(top), width: r1(Math.max(1, bw)), height: r1(base - top), 'data-day': d.day, 'data-value': v },
          svg('title', null, d.day + ' ' + s.name + '：' + s.fmt(v))));
      });
      root.appendChild(g);
    });
    opts.series.filter(function (s) { return s.type === 'line'; }).forEach(function (s) {
      var ax = axes[s.axis || 'left'];
      var g = svg('g', { class: 'chart-series', 'data-series': s.key });
      var path = '';
      var pen = false;
      var points = [];
      days.forEach(function (d, i) {
        var v = s.value(d);
        if (v === null) { pen = false; return; }
        path += (pen ? 'L' : 'M') + r1(cx(i)) + ' ' + r1(y(ax, v));
        pen = true;
        points.push(svg('circle', { class: 'chart-point chart-' + s.cls, cx: r1(cx(i)), cy: r1(y(ax, v)), r: 3, 'data-day': d.day, 'data-value': v },
          svg('title', null, d.day + ' ' + s.name + '：' + s.fmt(v))));
      });
      if (path) g.appendChild(svg('path', { class: 'chart-line chart-' + s.cls, d: path }));
      points.forEach(function (pt) { g.appendChild(pt); });
      root.appendChild(g);
    });
    return root;
  }
  function chartCard(title, note, opts) {
    var legend = h('div', { class: 'chart-legend', 'aria-hidden': 'true' }, opts.series.map(function (s) {
      return h('span', { class: 'legend-item' }, h('span', { class: 'legend-swatch legend-' + s.cls + (s.type === 'line' ? ' legend-line' : '') }), s.name);
    }));
    var c = card(title, [legend, h('div', { class: 'chart-wrap' }, chart(opts)), note ? h('p', { class: 'chart-note' }, note) : null]);
    c.classList.add('chart-card');
    return c;
  }
  function statCard(id, label, value, raw, hint, kind) {
    return h('div', { class: 'stat stat-' + kind, id: id, 'data-value': raw === null || raw === undefined ? '' : String(raw) },
      h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-hint' }, hint));
  }
  function viewStatistics(r, seq) {
    var p = r.params;
    var filters = { from: p.get('from') || '', to: p.get('to') || '', appId: p.get('appId') || '', channelType: p.get('channelType') || '', sceneCode: p.get('sceneCode') || '' };
    return Promise.all([api('GET', '/statistics' + qs(filters)), api('GET', '/apps' + qs({ pageSize: 100 }))]).then(function (res) {
      var data = res[0];
      var days = data.days;
      var t = data.totals;
      var today = shanghaiToday();
      var from = filters.from || (days.length ? days[0].day : '');
      var to = filters.to || (days.length ? days[days.length - 1].day : '');
      var apps = res[1].items.map(function (a) { return [a.appId, a.name + '（' + a.appId + '）']; });
      if (filters.appId && !apps.some(function (a) { return a[0] === filters.appId; })) apps.push([filters.appId, filters.appId]);
      var f = {
        appId: select('appId', [['', '全部应用']].concat(apps), filters.appId),
        channelType: select('channelType', [['', '全部渠道']].concat(Object.keys(CHANNEL_TYPES).map(function (k) { return [k, CHANNEL_TYPES[k]]; })), filters.channelType),
        sceneCode: select('sceneCode', [['', '全部场景']].concat(Object.keys(SCENES).map(function (k) { return [k, SCENES[k] + ' (' + k + ')']; })), filters.sceneCode),
        from: input('from', from, { type: 'date', max: today, id: 'stats-from' }),
        to: input('to', to, { type: 'date', max: today, id: 'stats-to' }),
      };
      f.appId.id = 'stats-app';
      f.channelType.id = 'stats-channel';
      f.sceneCode.id = 'stats-scene';
      var error = h('div', { class: 'form-error', role: 'alert', id: 'stats-error', hidden: true });
      var form = h('form', { class: 'filters filters-plain', novalidate: true },
        field('应用', f.appId), field('渠道', f.channelType), field('场景', f.sceneCode), field('开始日期', f.from), field('结束日期', f.to),
        h('div', { class: 'filters-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', id: 'stats-search' }, '查询'),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: function () { go('statistics'); } }, '重置')));
      var keep = { appId: filters.appId, channelType: filters.channelType, sceneCode: filters.sceneCode };
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var a = f.from.value;
        var b = f.to.value;
        var msg = a && b && a > b ? '开始日期不能晚于结束日期'
          : a && b && Date.parse(b) - Date.parse(a) > 365 * 86400000 ? '时间范围最长一年'
            : null;
        error.textContent = msg || '';
        error.hidden = !msg;
        if (!msg) go('statistics', { from: a, to: b, appId: f.appId.value, channelType: f.channelType.value, sceneCode: f.sceneCode.value });
      });
      var quick = ['7', '30', '90'].filter(function (n) { return to === today && from === addDays(today, 1 - Number(n)); })[0] || '';
      var pickRange = function (n) {
        go('statistics', { from: addDays(today, 1 - Number(n)), to: today, appId: keep.appId, channelType: keep.channelType, sceneCode: keep.sceneCode });
      };
      var range = from + ' 至 ' + to;
      var money = { integer: true, fmt: fmtAxisMoney };
      var count = { integer: true, fmt: function (v) { return String(v); } };
      var countFmt = function (unit) { return function (v) { return v === null ? '—' : v + ' ' + unit; }; };
      var charts = [
        chartCard('支付金额', '按支付时间归日；不含异常支付。', {
          id: 'chart-paid-amount', label: '每日支付金额柱状图，' + range + '，合计 ' + fmtMoney(t.paidAmount), days: days, left: money,
          series: [{ key: 'paidAmount', name: '支付金额', type: 'bar', cls: 'paid', value: function (d) { return d.paidAmount; }, fmt: fmtMoney }],
        }),
        chartCard('订单数', '创建按创建时间、支付成功按支付时间归日。', {
          id: 'chart-orders', label: '每日创建订单数与支付成功笔数折线图，' + range + '，共创建 ' + t.created + ' 笔，支付成功 ' + t.paidCount + ' 笔', days: days, left: count,
          series: [
            { key: 'created', name: '创建订单', type: 'line', cls: 'created', value: function (d) { return d.created; }, fmt: countFmt('笔') },
            { key: 'paidCount', name: '支付成功', type: 'line', cls: 'paid', value: function (d) { return d.paidCount; }, fmt: countFmt('笔') },
          ],
        }),
        chartCard('退款', '退款成功的金额，按退款时间归日；不含异常支付的退款。', {
          id: 'chart-refunds', label: '每日退款金额柱状图，' + range + '，共 ' + t.refundCount + ' 笔 ' + fmtMoney(t.refundAmount), days: days, left: money,
          series: [{ key: 'refundAmount', name: '退款金额', type: 'bar', cls: 'refund', value: function (d) { return d.refundAmount; }, fmt: fmtMoney }],
        }),
        chartCard('支付成功率', '当日支付成功笔数 ÷ 当日创建订单数；没有订单的日期不画点。', {
          id: 'chart-success-rate', label: '每日支付成功率折线图，' + range + '，整体 ' + fmtPercent(t.successRate), days: days, left: RATE_AXIS,
          series: [{ key: 'successRate', name: '支付成功率', type: 'line', cls: 'rate', value: function (d) { return d.successRate; }, fmt: function (v) { return fmtPercent(v); } }],
        }),
        chartCard('通知健康', '首次通知即被商户确认的比例（折线，左轴）与重试用尽仍未确认的订单数（柱，右轴）。', {
          id: 'chart-notify', label: '每日首次通知确认率与通知失败数，' + range + '，首次确认率 ' + fmtPercent(t.firstAttemptAckRate) + '，通知失败 ' + t.exhausted + ' 笔', days: days,
          left: RATE_AXIS, right: { integer: true, fmt: function (v) { return v + ' 笔'; } },
          series: [
            { key: 'exhausted', name: '通知失败', type: 'bar', axis: 'right', cls: 'exhausted', value: function (d) { return d.exhausted; }, fmt: countFmt('笔') },
            { key: 'firstAttemptAckRate', name: '首次通知确认率', type: 'line', cls: 'ack', value: function (d) { return d.firstAttemptAckRate; }, fmt: function (v) { return fmtPercent(v); } },
          ],
        }),
        chartCard('通知确认耗时 P95', '从支付成功到商户确认通知的第 95 百分位耗时（秒）。', {
          id: 'chart-ack-p95', label: '每日通知确认耗时 P95 折线图（秒），' + range, days: days, left: { fmt: function (v) { return v + 's'; } },
          series: [{ key: 'p95AckSeconds', name: 'P95 确认耗时', type: 'line', cls: 'p95', value: function (d) { return d.p95AckMs === null ? null : d.p95AckMs / 1000; }, fmt: function (v) { return v === null ? '—' : fmtSeconds(v * 1000); } }],
        }),
      ];
      var active = days.filter(function (d) { return d.created || d.paidCount || d.refundCount || d.exhausted || d.notified; }).slice().reverse();
      render(seq, '统计', [
        h('div', { class: 'toolbar' },
          tabs(quick, [['7', '近 7 天'], ['30', '近 30 天'], ['90', '近 90 天']], pickRange),
          h('p', { class: 'toolbar-note' }, '按北京时间归日：订单按创建时间，支付按支付时间，退款按退款时间。')),
        card(null, [form, error]),
        h('div', { class: 'stats stats-wide', id: 'stats-totals' },
          statCard('stat-paid-amount', '支付金额', fmtMoney(t.paidAmount), t.paidAmount, t.paidCount + ' 笔支付成功', 'plain'),
          statCard('stat-paid-count', '支付成功笔数', String(t.paidCount), t.paidCount, '创建订单 ' + t.created + ' 笔', 'plain'),
          statCard('stat-success-rate', '支付成功率', fmtPercent(t.successRate), t.successRate, '支付成功 ÷ 创建订单', 'plain'),
          statCard('stat-refund-amount', '退款金额', fmtMoney(t.refundAmount), t.refundAmount, t.refundCount + ' 笔退款成功', 'plain'),
          statCard('stat-first-ack', '首次通知确认率', fmtPercent(t.firstAttemptAckRate), t.firstAttemptAckRate, '首次通知即被商户确认', t.firstAttemptAckRate !== null && t.firstAttemptAckRate < 0.9 ? 'warn' : 'plain'),
          statCard('stat-exhausted', '通知失败', String(t.exhausted), t.exhausted, '重试用尽仍未确认的订单', t.exhausted ? 'bad' : 'plain')),
        h('div', { class: 'charts' }, charts),
        exportCard({ from: from, to: to, appId: filters.appId }, filters.channelType || filters.sceneCode),
        card('每日明细', table([
          { label: '日期', render: function (d) { return mono(d.day); } },
          { label: '创建', cls: 'col-num', render: function (d) { return String(d.created); } },
          { label: '支付成功', cls: 'col-num', render: function (d) { return String(d.paidCount); } },
          { label: '支付金额', cls: 'col-num', render: function (d) { return h('span', { class: 'amount' }, fmtMoney(d.paidAmount)); } },
          { label: '成功率', cls: 'col-num', render: function (d) { return fmtPercent(d.successRate); } },
          { label: '退款', cls: 'col-num', render: function (d) { return d.refundCount ? d.refundCount + ' 笔 · ' + fmtMoney(d.refundAmount) : '—'; } },
          { label: '首次确认率', cls: 'col-num', render: function (d) { return fmtPercent(d.firstAttemptAckRate); } },
          { label: '通知失败', cls: 'col-num', render: function (d) { return String(d.exhausted); } },
          { label: 'P95 确认耗时', cls: 'col-num', render: function (d) { return fmtSeconds(d.p95AckMs); } },
        ], active.map(function (d) { d.id = d.day; return d; }), '该时间段内没有订单'), h('span', { class: 'muted' }, range)),
      ]);
    });
  }

  // ---------------------------------------------------------------- CSV 导出
  /** Orders or refunds created in a day range as CSV, streamed with a progress bar, then saved from a Blob URL. */
  function exportCard(range, narrowed) {
    var progress = h('progress', { class: 'export-progress', id: 'export-progress', max: '100', value: '0' });
    var status = h('div', { class: 'export-status', id: 'export-status', role: 'status', 'aria-live': 'polite' });
    var box = h('div', { class: 'export-box', hidden: true }, progress, status);
    var controller = null;
    var cancel = btn('取消', 'ghost', function () { if (controller) controller.abort(); }, { id: 'export-cancel', hidden: true });
    var buttons = [['orders', '导出订单 CSV'], ['refunds', '导出退款 CSV']].map(function (x) {
      var b = h('button', { type: 'button', class: 'btn btn-ghost', id: 'export-' + x[0], 'data-export': x[0] }, icon('download'), x[1]);
      b.addEventListener('click', function () {
        controller = new AbortController();
        buttons.forEach(function (o) { o.disabled = true; });
        cancel.hidden = false;
        box.hidden = false;
        downloadCsv(x[0], range, controller, {
          progress: function (bytes, rows, total) {
            if (total) progress.value = Math.min(100, Math.floor((rows / total) * 100));
            else progress.removeAttribute('value');
            status.setAttribute('data-state', 'running');
            status.setAttribute('data-rows', String(rows));
            clear(status).appendChild(document.createTextNode('正在接收 ' + fmtBytes(bytes) + ' · ' + rows + (total !== null ? ' / ' + total : '') + ' 行' + (total ? '（' + progress.value + '%）' : '')));
          },
          done: function (url, filename, bytes, rows, total) {
            var complete = total === null || rows >= total;
            progress.value = total ? Math.min(100, Math.floor((rows / total) * 100)) : 100;
            status.setAttribute('data-state', complete ? 'done' : 'partial');
            status.setAttribute('data-rows', String(rows));
            append(clear(status), [
              h('span', { class: complete ? null : 'error-text' }, (complete ? '导出完成：' : '导出不完整：') + rows + (total !== null ? ' / ' + total : '') + ' 行 · ' + fmtBytes(bytes) + '（' + progress.value + '%） '),
              h('a', { href: url, download: filename, class: 'ext-link', id: 'export-file' }, icon('download'), filename),
            ]);
          },
          failed: function (err) {
            status.setAttribute('data-state', 'failed');
            clear(status).appendChild(h('span', { class: 'error-text' }, err && err.name === 'AbortError' ? '导出已取消' : '导出失败：' + (err && err.message ? err.message : '网络错误')));
          },
          always: function () {
            controller = null;
            buttons.forEach(function (o) { o.disabled = false; });
            cancel.hidden = true;
          },
        });
      });
      return b;
    });
    return card('数据导出', [
      h('p', { class: 'card-note' }, '导出 ' + range.from + ' 至 ' + range.to + '（北京时间，按创建时间）' + (range.appId ? '应用 ' + range.appId + ' ' : '全部应用') + '的订单或退款明细，金额单位为分。' + (narrowed ? '渠道与场景条件不适用于导出。' : '')),
      h('div', { class: 'export-actions' }, buttons, cancel),
      box,
    ]);
  }
  function downloadCsv(what, range, controller, ui) {
    var total = null;
    var bytes = 0;
    var newlines = 0;
    var chunks = [];
    var filename = what + '-' + range.from + '-' + range.to + '.csv';
    var rows = function () { return Math.max(0, newlines - 1); };
    fetch(API + '/exports/' + what + '.csv' + qs({ from: range.from, to: range.to, appId: range.appId }), {
      method: 'GET',
      headers: { accept: 'text/csv' },
      credentials: 'same-origin',
      referrerPolicy: 'same-origin',
      cache: 'no-store',
      signal: controller.signal,
    }).then(function (res) {
      if (!res.ok || (res.headers.get('content-type') || '').indexOf('text/csv') !== 0) {
        return res.json().catch(function () { return { code: 5000, msg: '服务器返回了无法解析的响应 (HTTP ' + res.status + ')' }; }).then(function (json) {
          if (json.code === 4010 && state.session) {
            state.session = null;
            renderLogin('登录已过期，请重新登录');
          }
          throw new ApiError(json.code, json.msg || '导出失败');
        });
      }
      var header = res.headers.get('x-total-rows');
      total = header !== null && /^\d+$/.test(header) ? Number(header) : null;
      var named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
      if (named) filename = named[1];
      ui.progress(0, 0, total);
      var reader = res.body.getReader();
      var pump = function () {
        return reader.read().then(function (step) {
          if (step.done) return;
          var chunk = step.value;
          chunks.push(chunk);
          bytes += chunk.length;
          for (var i = 0; i < chunk.length; i++) if (chunk[i] === 10) newlines++;
          ui.progress(bytes, rows(), total);
          return pump();
        });
      };
      return pump();
    }).then(function () {
      if (state.exportUrl) URL.revokeObjectURL(state.exportUrl);
      var url = URL.createObjectURL(new Blob(chunks, { type: 'text/csv;charset=utf-8' }));
      state.exportUrl = url;
      ui.done(url, filename, bytes, rows(), total);
      var a = h('a', { href: url, download: filename, hidden: true });
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
    }, function (err) {
      ui.failed(err);
    }).then(ui.always, ui.always);
  }

  // ---------------------------------------------------------------- 审计日志
  function actorLabel(actor) {
    if (actor === 'system:auto-approve') return '系统（自动审核）';
    if (actor === 'system') return '系统';
    if (actor === 'anonymous') return h('span', { class: 'muted' }, '匿名');
    if (actor.slice(0, 4) === 'app:') return h('span', null, '应用 ', mono(actor.slice(4)));
    return actor;
  }
  function auditTable(items, compact) {
    var cols = [
      { label: '时间', render: function (e) { return fmtTime(e.at); } },
      { label: '操作人', render: function (e) { return actorLabel(e.actor); } },
      { label: '操作', render: function (e) { return h('span', { title: e.action }, ACTIONS[e.action] || e.action); } },
      { label: '对象', render: function (e) { return e.targetType ? h('span', { class: 'mono' }, e.targetType + ':' + (e.targetId || '')) : '—'; } },
      { label: '结果', render: function (e) { return badge('outcome', e.outcome); } },
    ];
    if (!compact) {
      cols.push({ label: 'IP', render: function (e) { return e.ip ? mono(e.ip) : '—'; } });
      cols.push({ label: '详情', cls: 'col-detail', render: function (e) { var s = e.detail ? JSON.stringify(e.detail) : ''; return s ? h('code', { class: 'detail-json', title: s }, s) : '—'; } });
    }
    return table(cols, items, '暂无操作记录');
  }
  function viewAudit(r, seq) {
    var action = r.params.get('action') || '';
    var page = Number(r.params.get('page') || 1);
    return api('GET', '/audit' + qs({ action: action, page: page, pageSize: 30 })).then(function (data) {
      render(seq, '审计日志', [
        h('div', { class: 'toolbar' },
          tabs(action, [['', '全部'], ['admin.', '登录'], ['app.', '应用'], ['channel', '渠道'], ['binding.', '绑定'], ['order.', '订单'], ['exception.', '异常支付'], ['transfer.', '转账'], ['reconciliation.', '对账'], ['export.', '导出']], function (a) { go('audit', { action: a }); }),
          h('p', { class: 'toolbar-note' }, '记录每一次管理员操作：操作人、操作、对象、时间、来源 IP（不含任何密钥）。')),
        card(null, [auditTable(data.items, false), pager(data, function (p) { go('audit', { action: action, page: p }); })]),
      ]);
    });
  }

  // ---------------------------------------------------------------- boot
  api('GET', '/session').then(function (s) {
    state.session = s;
    renderShell();
  }, function () {
    renderLogin();
  });
})();
