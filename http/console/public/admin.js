/*
 * 收银台 · 管理控制台 (administrator console). No framework, no build step: views are built with DOM APIs
 * (textContent and createElement only, no HTML parsing), every call goes to /api/cashier-desk-admin with the session cookie and the
 * session's CSRF token. Routes live in the URL fragment (#/apps, #/orders/12, …).
 */
'use strict';

(function () {
  var API = '/api/cashier-desk-admin';
  var state = { session: null, overview: null, renderSeq: 0 };
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
    exceptions: 'M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z',
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
    exception: { OPEN: ['待处理', 'warn'], REFUNDING: ['退款中', 'info'], REFUNDED: ['已退款', 'ok'], REFUND_FAILED: ['退款失败', 'bad'] },
  };
  /** Who asked for a refund (chips, not states). */
  var REFUND_SOURCES = { MERCHANT: '商户接口', ADMIN: '管理员', EXCEPTION: '异常支付' };
  var EXCEPTION_KINDS = { LATE_PAYMENT: '迟到支付', DUPLICATE_PAYMENT: '重复支付', AMOUNT_MISMATCH: '金额不符' };
  var EXCEPTION_HINTS = {
    LATE_PAYMENT: '订单关闭或失败后才到账的付款',
    DUPLICATE_PAYMENT: '已支付订单又经其他渠道付款',
    AMOUNT_MISMATCH: '渠道报告的实付金额与订单金额不一致',
  };
  var CHANNEL_TYPES = { 'ali-pay': '支付宝', 'wx-pay': '微信支付' };
  var SCENES = { h5: 'H5支付', native: '扫码支付', app: 'APP支付', jsapi: '公众号/小程序支付' };
  var ACTIONS = {
    'admin.login': '登录', 'admin.logout': '退出登录', 'app.register': '应用注册', 'app.approve': '审核通过应用',
    'app.disable': '停用应用', 'app.update': '修改应用', 'app.rotate_key': '轮换密钥', 'channel_config.create': '新建渠道配置',
    'channel_config.update': '修改渠道配置', 'channel.create': '新建渠道', 'channel.update': '修改渠道', 'binding.apply': '申请绑定渠道',
    'binding.approve': '通过绑定申请', 'binding.reject': '驳回绑定申请', 'binding.auto_approve': '自动通过绑定申请', 'order.renotify': '重新通知',
    'order.refund': '订单退款', 'exception.record': '记录异常支付', 'exception.refund': '异常支付退款',
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
    ['exceptions', '异常支付', 'exceptions'],
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
      refunds: r.parts[1] ? viewRefund : viewRefunds, exceptions: viewExceptions, audit: viewAudit,
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
          tabs(action, [['', '全部'], ['admin.', '登录'], ['app.', '应用'], ['channel', '渠道'], ['binding.', '绑定'], ['order.', '订单'], ['exception.', '异常支付']], function (a) { go('audit', { action: a }); }),
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
