/*
 * Cashier Desk (收银台) hosted pages: behaviour. Plain ES2017, no framework, no build step.
 * Loaded with `defer` from our own origin (CSP script-src 'self'); reads its inputs from data-* attributes
 * rendered (escaped) by the server, and never trusts itself with a payment result: results always come
 * from the server's order summary (GET /api/cashier-desk/cashier/:token).
 */
(function () {
  'use strict';

  var BASE = '/cashier-desk-web';
  var API = '/api/cashier-desk';
  var FINAL = { SUCCESS: true, FINISH: true, FAIL: true, CLOSED: true };
  var POLL_MS = 2000;

  var body = document.body;
  var page = body.getAttribute('data-page');
  var token = body.getAttribute('data-token') || '';

  function $(id) {
    return document.getElementById(id);
  }
  function pageUrl(name) {
    return BASE + '/' + name + '?token=' + encodeURIComponent(token);
  }
  function monotonicNow() {
    return window.performance && performance.now ? performance.now() : Date.now();
  }

  // A page restored from the back/forward cache would show stale state (a busy button, an old countdown).
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) location.reload();
  });

  var toastTimer = null;
  function toast(message) {
    var t = $('toast');
    if (!t) return;
    t.textContent = message;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      t.hidden = true;
    }, 2800);
  }

  function fetchSummary() {
    return fetch(API + '/cashier/' + encodeURIComponent(token), { headers: { accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        return res.json();
      })
      .then(function (env) {
        if (!env || env.code !== 1000 || !env.data) throw new Error('summary unavailable');
        return env.data;
      });
  }

  /** Polls the order summary until its status is final; backs off on network errors; polls at once when the page is shown again. */
  function poller(onFinal) {
    var timer = null;
    var stopped = true;
    var inflight = false;
    var delay = POLL_MS;
    function schedule() {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(tick, delay);
    }
    function tick() {
      if (stopped || inflight) return;
      inflight = true;
      fetchSummary().then(
        function (s) {
          inflight = false;
          delay = POLL_MS;
          if (FINAL[s.status]) {
            stopped = true;
            onFinal(s);
          } else schedule();
        },
        function () {
          inflight = false;
          delay = Math.min(delay * 2, 15000);
          schedule();
        },
      );
    }
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && !stopped) {
        clearTimeout(timer);
        tick();
      }
    });
    return {
      start: function () {
        stopped = false;
        schedule();
      },
      now: function () {
        stopped = false;
        clearTimeout(timer);
        tick();
      },
      stop: function () {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  function formatRemaining(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var p = function (n) {
      return (n < 10 ? '0' : '') + n;
    };
    return h > 0 ? h + ':' + p(m) + ':' + p(s) : p(m) + ':' + p(s);
  }

  /** Friendly zh-CN text for the pay endpoint's error codes (the raw message may be technical). */
  function payErrorText(env) {
    var code = env && env.code;
    if (code === 4030) return '该支付方式暂不可用，请更换其他支付方式';
    if (code === 4040) return '订单不存在或链接已失效';
    if (code === 4290) return '操作过于频繁，请稍后再试';
    if (code === 5030) return '支付渠道繁忙，请稍后重试或更换支付方式';
    return '支付创建失败，请稍后重试';
  }

  // ───────────────────────────── payment page ─────────────────────────────
  function initPayment() {
    var payBtn = $('pay-btn');
    var methods = $('methods');
    var paybar = $('paybar');
    var qrView = $('qr-view');
    var amount = body.getAttribute('data-amount') || '';
    var openid = body.getAttribute('data-openid') || '';
    var radios = Array.prototype.slice.call(document.querySelectorAll('input[name="channel"]'));
    var expired = false;
    var busy = false;
    var startedPayment = false;
    var qrPoller = null;

    // JSAPI works only inside WeChat (its in-app browser provides WeixinJSBridge) or with the development stand-in.
    var hasBridge = (window.WeixinJSBridge && typeof window.WeixinJSBridge.invoke === 'function') || /MicroMessenger/i.test(navigator.userAgent);
    radios.forEach(function (r) {
      if (r.getAttribute('data-scene') === 'jsapi' && !r.disabled && !hasBridge) {
        r.disabled = true;
        r.checked = false;
        var label = r.closest('.method');
        if (label) {
          label.classList.add('is-disabled');
          var hint = label.querySelector('.method-hint');
          if (hint) hint.textContent = '请在微信内打开本页面';
        }
      }
    });
    function selected() {
      for (var i = 0; i < radios.length; i++) if (radios[i].checked && !radios[i].disabled) return radios[i];
      return null;
    }
    if (!selected()) {
      for (var i = 0; i < radios.length; i++) {
        if (!radios[i].disabled) {
          radios[i].checked = true;
          break;
        }
      }
    }

    function payLabel(r) {
      return r.getAttribute('data-brand') === 'alipay' ? '支付宝支付' : '微信支付';
    }
    function refreshButton() {
      if (!payBtn) return;
      var r = selected();
      payBtn.classList.remove('brand-alipay', 'brand-wechat', 'brand-none', 'is-busy');
      if (expired || !r) {
        payBtn.disabled = true;
        payBtn.classList.add('brand-none');
        payBtn.textContent = expired ? '订单已过期' : '暂无可用支付方式';
        return;
      }
      payBtn.disabled = false;
      payBtn.classList.add('brand-' + r.getAttribute('data-brand'));
      payBtn.textContent = payLabel(r) + ' ¥' + amount;
    }
    function setBusy(on, text) {
      busy = on;
      if (!payBtn) return;
      if (on) {
        payBtn.classList.add('is-busy');
        payBtn.textContent = text;
      } else refreshButton();
    }
    radios.forEach(function (r) {
      r.addEventListener('change', refreshButton);
    });
    refreshButton();

    // Countdown from the server's remaining time, on the monotonic clock (the phone's wall clock may be wrong).
    var cd = $('countdown');
    if (cd) {
      var deadline = monotonicNow() + Number(cd.getAttribute('data-remaining-ms') || 0);
      var tickCountdown = function () {
        var left = deadline - monotonicNow();
        cd.textContent = formatRemaining(left);
        cd.classList.toggle('is-urgent', left < 5 * 60 * 1000);
        if (left <= 0) return onExpired();
        setTimeout(tickCountdown, (left % 1000) + 20);
      };
      tickCountdown();
    }
    function onExpired() {
      expired = true;
      // A payment may have been made at the last second: the result page asks the server.
      if (startedPayment) return location.replace(pageUrl('result'));
      radios.forEach(function (r) {
        r.disabled = true;
      });
      var note = $('expired-note');
      if (note) note.hidden = false;
      refreshButton();
    }

    if (!payBtn) return;
    payBtn.addEventListener('click', function () {
      var r = selected();
      if (!r || busy || expired) return;
      setBusy(true, '正在创建支付…');
      var req = { token: token, channelId: Number(r.value) };
      if (r.getAttribute('data-scene') === 'jsapi' && openid) req.openid = openid;
      fetch(API + '/' + encodeURIComponent(r.getAttribute('data-channel-type')) + '/' + encodeURIComponent(r.getAttribute('data-scene')), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(req),
        credentials: 'same-origin',
        cache: 'no-store',
      })
        .then(function (res) {
          return res.json().catch(function () {
            return { code: res.status };
          });
        })
        .then(
          function (env) {
            if (!env || env.code !== 1000 || !env.data) return failed(env);
            startedPayment = true;
            proceed(r, env.data);
          },
          function () {
            setBusy(false);
            toast('网络异常，请检查网络后重试');
          },
        );
    });

    function failed(env) {
      // 4090: the order ended or expired meanwhile: the server renders its real state.
      if (env && env.code === 4090) return location.reload();
      setBusy(false);
      toast(payErrorText(env));
    }

    function proceed(r, data) {
      var appName = r.getAttribute('data-app-name');
      switch (data.kind) {
        case 'redirect':
          if (!/^https?:\/\//i.test(data.url || '')) return failed();
          setBusy(true, '正在前往' + appName + '…');
          location.assign(data.url);
          return;
        case 'form':
          return submitProviderForm(data.html);
        case 'qr':
          return showQr(r, data.codeUrl);
        case 'app':
          setBusy(true, '正在打开' + appName + '…');
          handOverToApp(r, data);
          location.assign(pageUrl('processing'));
          return;
        case 'jsapi':
          return invokeJsapi(data.params);
        default:
          return failed();
      }
    }

    /** H5 form payloads: rebuilt field by field (never inserted as HTML), then submitted (CSP form-action lists the gateway). */
    function submitProviderForm(markup) {
      var src = new DOMParser().parseFromString(String(markup || ''), 'text/html').querySelector('form');
      var action = src && src.getAttribute('action');
      if (!src || !/^https?:\/\//i.test(action || '')) return failed();
      var form = document.createElement('form');
      form.method = src.getAttribute('method') || 'POST';
      form.action = action;
      form.acceptCharset = src.getAttribute('accept-charset') || 'utf-8';
      form.hidden = true;
      Array.prototype.forEach.call(src.querySelectorAll('input[name], textarea[name]'), function (el) {
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = el.getAttribute('name');
        input.value = el.tagName === 'TEXTAREA' ? el.textContent : el.getAttribute('value') || '';
        form.appendChild(input);
      });
      document.body.appendChild(form);
      setBusy(true, '正在前往支付…');
      form.submit();
    }

    function brandIcon(brand) {
      var holder = document.querySelector('.hidden-icons [data-icon="' + brand + '"]');
      return holder && holder.firstElementChild ? holder.firstElementChild.cloneNode(true) : document.createTextNode('');
    }

    function showQr(r, codeUrl) {
      var brand = r.getAttribute('data-brand');
      var appName = r.getAttribute('data-app-name');
      setBusy(false);
      methods.hidden = true;
      paybar.hidden = true;
      body.classList.add('is-qr');
      qrView.className = 'card qr-view brand-' + brand;
      $('qr-brand-icon').replaceChildren(brandIcon(brand));
      $('qr-title').textContent = appName + '扫码支付';
      $('qr-tip').textContent = '请打开' + appName + '，使用“扫一扫”完成支付';
      var img = $('qr-img');
      img.src = BASE + '/qr.svg?token=' + encodeURIComponent(token) + '&c=' + encodeURIComponent(codeUrl);
      var frame = img.parentNode;
      var old = frame.querySelector('.qr-logo');
      if (old) old.remove();
      var logo = document.createElement('span');
      logo.className = 'qr-logo';
      logo.appendChild(brandIcon(brand));
      frame.appendChild(logo);
      qrView.hidden = false;
      window.scrollTo(0, 0);
      if (qrPoller) qrPoller.stop();
      qrPoller = poller(function () {
        location.replace(pageUrl('result'));
      });
      qrPoller.start();
    }

    $('qr-back').addEventListener('click', function () {
      if (qrPoller) qrPoller.stop();
      qrView.hidden = true;
      methods.hidden = false;
      paybar.hidden = false;
      body.classList.remove('is-qr');
      refreshButton();
    });

    /** App scene inside a merchant's app WebView: hand the signed payload to the host app, which opens the wallet. */
    function handOverToApp(r, data) {
      var message = JSON.stringify({ type: 'cashier-desk:app-pay', channelType: r.getAttribute('data-channel-type'), payload: data });
      try {
        if (window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.cashierDesk) window.webkit.messageHandlers.cashierDesk.postMessage(message);
        else if (window.CashierDeskApp && typeof window.CashierDeskApp.pay === 'function') window.CashierDeskApp.pay(message);
        else if (window.ReactNativeWebView && typeof window.ReactNativeWebView.postMessage === 'function') window.ReactNativeWebView.postMessage(message);
      } catch (e) {
        /* the processing page polls the server either way */
      }
    }

    function invokeJsapi(params) {
      setBusy(true, '请在微信中完成支付…');
      var go = function () {
        window.WeixinJSBridge.invoke('getBrandWCPayRequest', params, function (res) {
          var msg = (res && res.err_msg) || '';
          // ok only means the sheet closed after paying: the result page asks the server for the real status.
          if (/:ok$/.test(msg)) return location.assign(pageUrl('result'));
          setBusy(false);
          toast(/:cancel$/.test(msg) ? '已取消支付' : '支付未完成，请重试');
        });
      };
      if (window.WeixinJSBridge && typeof window.WeixinJSBridge.invoke === 'function') go();
      else document.addEventListener('WeixinJSBridgeReady', go, { once: true });
    }
  }

  // ───────────────────────────── processing / result pages ─────────────────────────────
  function initPolling() {
    var p = poller(function () {
      location.replace(pageUrl('result'));
    });
    p.start();
    var check = $('check-btn');
    if (check) {
      check.addEventListener('click', function () {
        check.classList.add('is-busy');
        setTimeout(function () {
          check.classList.remove('is-busy');
        }, 1200);
        p.now();
      });
    }
  }

  function initRedirect() {
    var target = body.getAttribute('data-redirect');
    if (!target || target.indexOf(BASE + '/') !== 0) return;
    var seconds = Number(body.getAttribute('data-redirect-seconds') || 3);
    var label = $('redirect-seconds');
    var deadline = monotonicNow() + seconds * 1000;
    var tick = function () {
      var left = Math.ceil((deadline - monotonicNow()) / 1000);
      if (label) label.textContent = String(Math.max(0, left));
      if (left <= 0) return location.assign(target);
      setTimeout(tick, 250);
    };
    tick();
  }

  if (page === 'payment') initPayment();
  if (body.getAttribute('data-poll') === '1') initPolling();
  if (page === 'result') initRedirect();
})();
