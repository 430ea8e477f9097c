/**
 * WeChat Pay APIv3 sandbox: a protocol-faithful local stand-in for https://api.mch.weixin.qq.com that the
 * real wechatpay-node-v3 SDK talks to (through the adapter's gatewayUrl), plus the consumer-side pages a
 * browser test needs in place of the WeChat app, and a control API (/__sim) to drive payments and faults.
 * Refunds (POST /v3/refund/domestic/refunds, GET …/refunds/{out_refund_no}) are asynchronous as at WeChat:
 * PROCESSING first, then SUCCESS/ABNORMAL/CLOSED by themselves (refundDelayMs, setRefundBehaviour) or on
 * completeRefund(), each with a signed, encrypted REFUND.* notification to the refund's notify_url.
 * 商家转账 (transfer-bills, the payee's /transfer/confirm page, MCHTRANSFER.BILL.FINISHED) is in transfers.ts.
 *
 * Listens on 127.0.0.1 only. Keys and certificates are generated at start (or restored from stateFile).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { isFileAnswer, WechatBills, type FileAnswer } from './bill';
import { ChaosError, SandboxChaos, type SandboxChaosSettings } from '../chaos';
import { SandboxState } from './state';
import { createInitialPki, SimError, WechatSim, type ApiAnswer } from './sim';
import { errorPage, jsBridgeScript, paymentSheet, resultPage } from './pages';
import { TRANSFER_CONFIRM_PAGE, WechatTransfers } from './transfers';
import type {
  CompleteRefundOptions,
  NotificationFilter,
  PayOptions,
  SimPayee,
  WechatBillAnomaly,
  WechatBillCorruption,
  WechatBillSeed,
  WechatFault,
  WechatNotifyOptions,
  WechatRefundBehaviour,
  WechatRefundOutcome,
  WechatSandboxHandle,
  WechatSandboxOptions,
  WechatTransferBehaviour,
} from './types';

export type * from './types';

const MAX_BODY_BYTES = 1024 * 1024;
/** 申请退款 (POST); the query is GET on `${REFUNDS_PATH}/{out_refund_no}`. */
const REFUNDS_PATH = '/v3/refund/domestic/refunds';
/** 下载账单: the path of every download_url (WeChat: https://api.mch.weixin.qq.com/v3/billdownload/file?token=…). */
const BILL_DOWNLOAD_PATH = '/v3/billdownload/file';
const SYSTEM_ERROR: ApiAnswer = { status: 500, body: { code: 'SYSTEM_ERROR', message: '系统错误' } };

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendHtml(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Only http(s) return targets: a javascript: or data: redirect_url must not become a Location. */
function safeRedirect(url: string | undefined | null): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

export async function startWechatSandbox(opts: WechatSandboxOptions = {}): Promise<WechatSandboxHandle> {
  const persisted = opts.stateFile ? SandboxState.load(opts.stateFile) : undefined;
  let init: ConstructorParameters<typeof SandboxState>[0];
  if (persisted) {
    init = persisted;
  } else {
    const { ca, platform } = await createInitialPki();
    init = { ca, platforms: [platform] };
  }
  const state = new SandboxState(init, opts.stateFile);
  const chaos = new SandboxChaos();
  const sim = new WechatSim(state, {
    chaos,
    notifyRetryDelaysMs: opts.notifyRetryDelaysMs ?? [1000, 2000, 4000, 8000, 16000, 32000, 64000],
    notifyTimeoutMs: opts.notifyTimeoutMs ?? 5000,
    refundDelayMs: opts.refundDelayMs === undefined ? 1000 : opts.refundDelayMs,
  });
  const billReadyHourCst = opts.billReadyHourCst ?? 0;
  if (!Number.isInteger(billReadyHourCst) || billReadyHourCst < 0 || billReadyHourCst > 24) throw new RangeError('billReadyHourCst must be an hour 0-24');
  const bills = new WechatBills(state, { billReadyHourCst });
  const transfers = new WechatTransfers(state, sim, {
    confirmTimeoutMs: opts.transferConfirmTimeoutMs ?? 24 * 3600_000,
    cancelDelayMs: opts.transferCancelDelayMs ?? 1000,
    defaultBalanceFen: opts.transferBalanceFen ?? 1_000_000_000,
  });

  // ───────────── /v3 API: authenticate, maybe inject a fault, answer, sign ─────────────
  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const rawBody = (await readBody(req)).toString('utf8');
    // The merchant signed the path+query exactly as it sent it: use req.url, never a normalised form.
    const pathWithQuery = req.url ?? '/';
    let broken = false;
    let answer: ApiAnswer | FileAnswer;
    const auth = sim.authenticate(method, pathWithQuery, rawBody, req.headers.authorization);
    if ('status' in auth) {
      answer = auth;
    } else {
      // Chaos answers like an overloaded gateway, before anything is processed.
      const fault = chaos.fail5xx() ? 'http500' : sim.takeFault(auth.mchid, {
        refundApplication: method === 'POST' && url.pathname === REFUNDS_PATH,
        unsignedAnswer: method === 'GET' && url.pathname === BILL_DOWNLOAD_PATH,
      });
      broken = fault === 'badSignature';
      if (fault === 'http500') answer = SYSTEM_ERROR;
      // As WeChat answers a refund the merchant's balance cannot cover; nothing is created.
      else if (fault === 'notEnough') answer = { status: 403, body: { code: 'NOT_ENOUGH', message: '基本账户余额不足，请充值后重新发起' } };
      else answer = transfers.route(method, url, auth.mchid, rawBody, req.headers) ?? route(method, url, auth.mchid, rawBody);
      // The call took effect, only its answer is lost: a retry must find what the first call did.
      if (fault === 'http500AfterProcessing') answer = SYSTEM_ERROR;
    }
    if (isFileAnswer(answer)) return sendFile(res, answer);
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    const headers: Record<string, string> = { ...sim.signHeaders(text, { broken }), 'Request-ID': randomUUID() };
    if (text) headers['Content-Type'] = 'application/json; charset=utf-8';
    res.writeHead(answer.status, headers);
    res.end(text);
  }

  /**
   * The bill file: 200 with the raw (or gzip) bytes and no Wechatpay-* headers — WeChat does not sign it; the
   * hash from the signed apply answer vouches for it. Streamed with backpressure; a client that goes away
   * stops the generator.
   */
  function sendFile(res: http.ServerResponse, file: FileAnswer): void {
    res.writeHead(200, { 'Content-Type': file.contentType, 'Request-ID': randomUUID(), 'Cache-Control': 'no-store' });
    const source = file.body();
    if (file.breakConnection) {
      // 'RESET': what arrives is sent (with backpressure), then the connection ends without the final chunk —
      // to the client, a download broken by the network.
      const sent = file.gzip ? source.pipe(zlib.createGzip({ level: 1 })) : source;
      sent.pipe(res, { end: false });
      sent.on('end', () => (res.socket ? res.socket.end() : res.destroy()));
      res.on('close', () => source.destroy()); // a client gone early must not leave the generator suspended
      return;
    }
    const done = (err: NodeJS.ErrnoException | null) => {
      if (err) res.destroy();
    };
    // Level 1: the sandbox is about the protocol, not the ratio; it keeps large test bills cheap on CPU.
    if (file.gzip) pipeline(source, zlib.createGzip({ level: 1 }), res, done);
    else pipeline(source, res, done);
  }

  function route(method: string, url: URL, mchid: string, rawBody: string): ApiAnswer | FileAnswer {
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if (method === 'GET' && p === '/v3/bill/tradebill') return bills.apply(mchid, url.searchParams, sim.url);
    if (method === 'GET' && p === '/v3/bill/fundflowbill') return bills.applyFundFlow(mchid, url.searchParams, sim.url);
    if (method === 'GET' && p === BILL_DOWNLOAD_PATH) return bills.download(mchid, url.searchParams);
    if (method === 'GET' && p === '/v3/certificates') return sim.certificatesAnswer(mchid);
    if (method === 'POST' && (m = /^\/v3\/pay\/transactions\/(h5|native|app|jsapi)$/.exec(p))) return sim.createTransaction(m[1], mchid, rawBody);
    if (method === 'GET' && (m = /^\/v3\/pay\/transactions\/(out-trade-no|id)\/([^/]+)$/.exec(p))) {
      return sim.queryAnswer(mchid, url.searchParams.get('mchid'), m[1] as 'out-trade-no' | 'id', decodeURIComponent(m[2]));
    }
    if (method === 'POST' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(p))) {
      return sim.closeAnswer(mchid, decodeURIComponent(m[1]), rawBody);
    }
    if (method === 'POST' && p === REFUNDS_PATH) return sim.createRefund(mchid, rawBody);
    if (method === 'GET' && (m = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(p))) return sim.queryRefundAnswer(mchid, decodeURIComponent(m[1]));
    return { status: 404, body: { code: 'NOT_FOUND', message: `沙箱未实现 ${method} ${p}` } };
  }

  // ───────────── consumer pages ─────────────
  function sheetFor(res: http.ServerResponse, prepayId: string, o: { redirectUrl?: string; embed?: boolean; signatureNote?: string }) {
    const trade = sim.tradeByPrepayId(prepayId);
    if (!trade) return sendHtml(res, 404, errorPage(404, '订单不存在或链接已失效'));
    const merchant = sim.merchant(trade.mchid);
    sendHtml(res, 200, paymentSheet(trade, { merchantName: merchant?.name ?? trade.mchid, unavailable: sim.unpayableReason(trade), ...o }));
  }

  function prepayPage(res: http.ServerResponse, prepayId: string, q: URLSearchParams): void {
    const trade = sim.tradeByPrepayId(prepayId);
    if (!trade || (trade.trade_type !== 'APP' && trade.trade_type !== 'JSAPI')) return sendHtml(res, 404, errorPage(404, '预支付交易会话不存在'));
    // The WeChat client checks the merchant's client-side signature before showing the sheet.
    let note = '未携带客户端签名';
    if (trade.trade_type === 'JSAPI' && q.has('paySign')) {
      const [appId, ts, nonce, pkg] = ['appId', 'timeStamp', 'nonceStr', 'package'].map((k) => q.get(k) ?? '');
      if (appId !== trade.appid || pkg !== `prepay_id=${prepayId}`) return sendHtml(res, 400, errorPage(400, '支付参数与订单不一致'));
      if (!sim.verifyClientSignature(trade.mchid, `${appId}\n${ts}\n${nonce}\n${pkg}\n`, q.get('paySign') ?? '')) {
        return sendHtml(res, 400, errorPage(400, 'paySign 签名验证失败'));
      }
      note = 'paySign 已验证';
    } else if (trade.trade_type === 'APP' && q.has('sign')) {
      const [appid, partnerid, prepayid, ts, nonce] = ['appid', 'partnerid', 'prepayid', 'timestamp', 'noncestr'].map((k) => q.get(k) ?? '');
      if (appid !== trade.appid || partnerid !== trade.mchid || prepayid !== prepayId) return sendHtml(res, 400, errorPage(400, '支付参数与订单不一致'));
      if (!sim.verifyClientSignature(trade.mchid, `${appid}\n${ts}\n${nonce}\n${prepayid}\n`, q.get('sign') ?? '')) {
        return sendHtml(res, 400, errorPage(400, 'sign 签名验证失败'));
      }
      note = 'sign 已验证';
    }
    sheetFor(res, prepayId, { embed: q.get('embed') === '1', signatureNote: note });
  }

  async function confirm(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const trade = sim.tradeByPrepayId(form.get('prepay_id') ?? '');
    const embed = form.get('embed') === '1';
    const redirect = safeRedirect(form.get('redirect_url'));
    if (!trade) return sendHtml(res, 404, errorPage(404, '订单不存在'));
    let outcome: 'ok' | 'cancel' | 'fail' = 'cancel';
    let message = '已取消支付';
    if (form.get('action') === 'pay') {
      const reason = sim.unpayableReason(trade);
      if (reason) {
        outcome = 'fail';
        message = reason;
      } else {
        sim.pay(trade.out_trade_no, { mchid: trade.mchid });
        outcome = 'ok';
        message = '支付成功';
      }
    }
    // H5: WeChat returns the browser to redirect_url whatever happened; the merchant page must query.
    if (redirect && !embed) {
      res.writeHead(302, { Location: redirect, 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    sendHtml(res, 200, resultPage(trade, outcome, message, embed));
  }

  // ───────────── control API ─────────────
  async function control(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const raw = (await readBody(req)).toString('utf8');
    let body: Record<string, unknown> = {};
    if (raw.trim()) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new SimError(400, 'PARAM_ERROR', 'body must be JSON');
      }
    }
    const p = url.pathname.slice('/__sim'.length);
    const q = url.searchParams;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    let m: RegExpExecArray | null;

    if (method === 'GET' && p === '/health') return sendJson(res, 200, { ok: true, url: sim.url });
    if (method === 'POST' && p === '/merchants') {
      return sendJson(res, 201, await sim.createMerchant({ mchId: str(body.mchId), providerAppId: str(body.providerAppId) }));
    }
    if (method === 'GET' && p === '/trades') return sendJson(res, 200, { trades: sim.listTrades(q.get('mchid') ?? undefined) });
    if ((m = /^\/trades\/([^/]+)(?:\/(pay|fail|close|userpaying))?$/.exec(p))) {
      const outTradeNo = decodeURIComponent(m[1]);
      const mchid = str(body.mchid) ?? q.get('mchid') ?? undefined;
      if (method === 'GET' && !m[2]) {
        const t = sim.findTrade(outTradeNo, mchid);
        return t ? sendJson(res, 200, t) : sendJson(res, 404, { error: { code: 'ORDER_NOT_EXIST', message: `no trade ${outTradeNo}` } });
      }
      if (method === 'POST' && m[2] === 'pay') {
        const r = sim.pay(outTradeNo, {
          mchid,
          openid: str(body.openid),
          notify: body.notify as WechatNotifyOptions | undefined,
          successTime: str(body.successTime),
        });
        return sendJson(res, 200, r);
      }
      if (method === 'POST' && m[2] === 'fail') return sendJson(res, 200, sim.fail(outTradeNo, { mchid, reason: str(body.reason) }));
      if (method === 'POST' && m[2] === 'close') return sendJson(res, 200, sim.close(outTradeNo, { mchid }));
      if (method === 'POST' && m[2] === 'userpaying') return sendJson(res, 200, sim.setUserPaying(outTradeNo, { mchid }));
    }
    if (p === '/chaos' && (method === 'GET' || method === 'POST')) {
      if (method === 'POST') {
        try {
          chaos.set(body);
        } catch (err) {
          if (err instanceof ChaosError) throw new SimError(400, 'PARAM_ERROR', err.message);
          throw err;
        }
      }
      return sendJson(res, 200, chaos.get());
    }
    if (p === '/faults') {
      if (method === 'GET') return sendJson(res, 200, { faults: sim.listFaults() });
      if (method === 'POST') {
        sim.injectFault({ kind: body.kind as WechatFault['kind'], count: body.count as number | undefined, mchid: str(body.mchid) });
        return sendJson(res, 200, { faults: sim.listFaults() });
      }
      if (method === 'DELETE') {
        sim.clearFaults();
        return sendJson(res, 200, { faults: [] });
      }
    }
    if (method === 'GET' && p === '/refunds') {
      return sendJson(res, 200, { refunds: sim.listRefunds({ outTradeNo: q.get('out_trade_no') ?? undefined, mchid: q.get('mchid') ?? undefined }) });
    }
    if ((m = /^\/refunds\/([^/]+)(?:\/(complete))?$/.exec(p))) {
      const outRefundNo = decodeURIComponent(m[1]);
      const mchid = str(body.mchid) ?? q.get('mchid') ?? undefined;
      if (method === 'GET' && !m[2]) {
        const r = sim.findRefund(outRefundNo, mchid);
        return r ? sendJson(res, 200, r) : sendJson(res, 404, { error: { code: 'RESOURCE_NOT_EXISTS', message: `no refund ${outRefundNo}` } });
      }
      if (method === 'POST' && m[2] === 'complete') {
        const status = body.status as WechatRefundOutcome | undefined;
        return sendJson(
          res,
          200,
          sim.completeRefund(outRefundNo, { mchid, status, notify: body.notify as WechatNotifyOptions | undefined, successTime: str(body.successTime) }),
        );
      }
    }
    if (p === '/refund-behaviour') {
      if (method === 'GET') return sendJson(res, 200, sim.getRefundBehaviour());
      if (method === 'POST') return sendJson(res, 200, sim.setRefundBehaviour(body as Partial<WechatRefundBehaviour>));
    }
    if (method === 'GET' && p === '/notifications') {
      const filter: NotificationFilter = {
        outTradeNo: q.get('out_trade_no') ?? undefined,
        mchid: q.get('mchid') ?? undefined,
        eventId: q.get('event_id') ?? undefined,
        outRefundNo: q.get('out_refund_no') ?? undefined,
      };
      return sendJson(res, 200, { notifications: sim.notificationLog(filter) });
    }
    if (method === 'POST' && (m = /^\/notifications\/([^/]+)\/resend$/.exec(p))) {
      sim.resend(decodeURIComponent(m[1]), body.notify as WechatNotifyOptions | undefined);
      return sendJson(res, 202, { ok: true });
    }
    if (method === 'POST' && p === '/platform-certificates/rotate') {
      return sendJson(res, 200, await sim.rotatePlatformCertificate({ activate: body.activate === true }));
    }
    if (method === 'POST' && (m = /^\/platform-certificates\/([^/]+)\/activate$/.exec(p))) {
      return sendJson(res, 200, sim.activatePlatformCertificate(decodeURIComponent(m[1])));
    }
    // Trade bills: differences, synthetic lines, a spoiled next download, and clearing them.
    if (method === 'POST' && p === '/bills/anomalies') return sendJson(res, 200, bills.addAnomaly(body as unknown as WechatBillAnomaly));
    if (method === 'POST' && p === '/bills/seeds') return sendJson(res, 200, bills.seed(body as unknown as WechatBillSeed));
    if (method === 'POST' && p === '/bills/corrupt-next-download') {
      bills.corruptNextDownload(body as WechatBillCorruption);
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'DELETE' && p === '/bills/adjustments') {
      bills.clear({ mchid: q.get('mchid') ?? undefined, day: q.get('day') ?? undefined });
      return sendJson(res, 200, { ok: true });
    }
    const transferAnswer = transfers.control(method, p, q, body);
    if (transferAnswer) return sendJson(res, transferAnswer.status, transferAnswer.body);
    throw new SimError(404, 'NOT_FOUND', `no control endpoint ${method} ${url.pathname}`);
  }

  // ───────────── dispatch ─────────────
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const work = (async () => {
      if (url.pathname.startsWith('/v3/')) return handleApi(req, res, url);
      if (url.pathname.startsWith('/__sim/')) return control(req, res, url);
      let m: RegExpExecArray | null;
      if (method === 'GET' && (m = /^\/pay\/h5\/([^/]+)$/.exec(url.pathname))) {
        return sheetFor(res, decodeURIComponent(m[1]), { redirectUrl: safeRedirect(url.searchParams.get('redirect_url')) });
      }
      if (method === 'GET' && url.pathname === '/scan') {
        // Stand-in for scanning code_url with the WeChat app.
        const codeUrl = url.searchParams.get('code_url') ?? '';
        const pr = /^weixin:\/\/wxpay\/bizpayurl\?pr=([0-9A-Za-z]+)$/.exec(codeUrl);
        const trade = pr ? sim.tradeByCode(pr[1]) : undefined;
        if (!trade) return sendHtml(res, 404, errorPage(404, '二维码无效或已过期'));
        return sheetFor(res, trade.prepay_id, {});
      }
      if (method === 'GET' && (m = /^\/pay\/prepay\/([^/]+)$/.exec(url.pathname))) return prepayPage(res, decodeURIComponent(m[1]), url.searchParams);
      if (method === 'POST' && url.pathname === '/pay/confirm') return confirm(req, res);
      if ((method === 'GET' || method === 'POST') && url.pathname === TRANSFER_CONFIRM_PAGE) {
        // What requestMerchantTransfer opens in WeChat: GET with {mchId, appId, package}, POST from its form.
        const params = method === 'POST' ? new URLSearchParams((await readBody(req)).toString('utf8')) : url.searchParams;
        const page = transfers.page(method, params);
        return sendHtml(res, page.status, page.html);
      }
      if (method === 'GET' && url.pathname === '/jsbridge.js') {
        res.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(jsBridgeScript(sim.url));
        return;
      }
      sendHtml(res, 404, errorPage(404, '页面不存在'));
    })();
    work.catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { code: 'PARAM_ERROR', message: 'body too large' });
      if (err instanceof SimError) return sendJson(res, err.status, { error: { code: err.code, message: err.message } });
      sendJson(res, 500, { code: 'SYSTEM_ERROR', message: err instanceof Error ? err.message : 'internal error' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('WeChat sandbox: no TCP address');
  sim.url = `http://127.0.0.1:${address.port}`;
  state.save(); // persist freshly generated keys at once, so a crash right after start keeps them
  // Refunds that were due to complete while a persisted sandbox was down complete now (they were accepted).
  sim.resumePendingRefunds();
  // Likewise transfer bills whose confirmation window or cancellation ran out meanwhile.
  transfers.resume();

  // Handle methods reject (never throw synchronously), like the same operations over HTTP would.
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): Promise<R> => {
      try {
        return Promise.resolve(fn(...a));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  let closed = false;

  const handle: WechatSandboxHandle = {
    get url() {
      return sim.url;
    },
    get platformCertificateSerial() {
      return state.signingPlatform.serial;
    },
    createMerchant: (o) => sim.createMerchant(o ?? {}),
    getTrade: wrap((outTradeNo: string, mchid?: string) => sim.findTrade(outTradeNo, mchid)),
    listTrades: wrap((mchid?: string) => sim.listTrades(mchid)),
    pay: wrap((outTradeNo: string, o?: PayOptions) => sim.pay(outTradeNo, o ?? {})),
    failTrade: wrap((outTradeNo: string, o?: { mchid?: string; reason?: string }) => sim.fail(outTradeNo, o ?? {})),
    closeTrade: wrap((outTradeNo: string, o?: { mchid?: string }) => sim.close(outTradeNo, o ?? {})),
    setUserPaying: wrap((outTradeNo: string, o?: { mchid?: string }) => sim.setUserPaying(outTradeNo, o ?? {})),
    injectFault: wrap((f: WechatFault) => sim.injectFault(f)),
    clearFaults: wrap(() => sim.clearFaults()),
    setChaos: wrap((c: Partial<SandboxChaosSettings>) => {
      chaos.set(c);
      return chaos.get();
    }),
    notifications: wrap((filter?: NotificationFilter) => sim.notificationLog(filter)),
    resendNotification: wrap((eventId: string, notify?: WechatNotifyOptions) => sim.resend(eventId, notify)),
    rotatePlatformCertificate: (o?: { activate?: boolean }) => sim.rotatePlatformCertificate(o ?? {}),
    activatePlatformCertificate: wrap((serial: string) => sim.activatePlatformCertificate(serial)),
    whenNotificationsIdle: () => sim.whenIdle(),
    refunds: wrap((outTradeNo?: string, o?: { mchid?: string }) => sim.listRefunds({ outTradeNo, mchid: o?.mchid })),
    getRefund: wrap((outRefundNo: string, mchid?: string) => {
      const r = sim.findRefund(outRefundNo, mchid);
      return r ? structuredClone(r) : undefined;
    }),
    completeRefund: wrap((outRefundNo: string, o?: CompleteRefundOptions) => sim.completeRefund(outRefundNo, o ?? {})),
    setRefundBehaviour: wrap((b: Partial<WechatRefundBehaviour>) => sim.setRefundBehaviour(b ?? {})),
    addBillAnomaly: wrap((a: WechatBillAnomaly) => bills.addAnomaly(a)),
    seedBillRows: wrap((seed: WechatBillSeed) => bills.seed(seed)),
    corruptNextBillDownload: wrap((c?: WechatBillCorruption) => bills.corruptNextDownload(c ?? {})),
    clearBillAdjustments: wrap((filter?: { mchid?: string; day?: string }) => bills.clear(filter ?? {})),
    setBalance: wrap((mchid: string, fen: number) => transfers.setBalance(mchid, fen)),
    getBalance: wrap((mchid: string) => transfers.balance(mchid)),
    addPayee: wrap((payee: SimPayee) => transfers.addPayee(payee)),
    transfers: wrap((mchid?: string) => transfers.list(mchid)),
    getTransfer: wrap((outBillNo: string, mchid?: string) => {
      const b = transfers.find(outBillNo, mchid);
      return b ? structuredClone(b) : undefined;
    }),
    confirmTransfer: wrap((outBillNo: string, o?: { mchid?: string; notify?: WechatNotifyOptions }) => transfers.confirm(outBillNo, o ?? {})),
    declineTransfer: wrap((outBillNo: string, o?: { mchid?: string }) => transfers.decline(outBillNo, o ?? {})),
    setTransferBehaviour: wrap((b: Partial<WechatTransferBehaviour>) => transfers.setBehaviour(b ?? {})),
    async close() {
      if (closed) return;
      closed = true;
      sim.shutdown();
      state.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets (the adapter's agent) would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
  return handle;
}
