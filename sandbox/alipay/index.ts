/**
 * Protocol-faithful local Alipay (OpenAPI v2, RSA2 public-key mode) for development and integration tests.
 *
 * Browser/app side: wap.pay cashier page (GET/POST /gateway.do), QR "scan" page (/qr/<code>), app pay
 * (/__sim/app-pay with the sdkExec order string), buyer pay/cancel buttons (/cashier/<token>/…).
 * Server side: /gateway.do (GET or POST) with alipay.trade.precreate / query / close / refund /
 * fastpay.refund.query / alipay.data.dataservice.bill.downloadurl.query / alipay.fund.trans.uni.transfer /
 * alipay.fund.trans.common.query, verifying the app's signature and
 * signing every answer with the sandbox's own "Alipay" key; the trade bills' ZIP files at
 * /downloadBillFile.resource. Outbound: real signed trade_status_sync notifications (payments, closes, refunds)
 * with retries. Control API: /__sim/* (loopback only, JSON) and the typed handle.
 *
 * Deliberately modelled traps of the real gateway: a precreate trade does not exist until the QR is scanned
 * (query/close → ACQ.TRADE_NOT_EXIST); empty parameter values are dropped before verifying the signature;
 * responses escape `/`; notifications need the exact body `success`; a refund's answer can be lost after
 * the refund was applied (faults http502AfterProcessing / dropAfterProcessing), and so can a transfer's; a
 * transfer pays once per out_biz_no from the app's balance to a known account whose real name must match; bills exist for finished days
 * only, behind links valid for 30 s, as ZIPs whose entries are named in GBK without the UTF-8 flag and hold GBK
 * CSV with tab-padded values.
 *
 * Modules: state.ts (stores, persistence, faults), notify.ts (notifications), trades.ts (trade lifecycle),
 * refunds.ts (refund, refund query), transfers.ts (transfers, transfer query, balances, payees), bills.ts and zip.ts (trade bills and their anomalies), request.ts
 * (signed-request checks), gateway.ts (server API), cashier.ts (browser/app pages), sim.ts (control API and
 * handle methods). This file starts the server and wires them together.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BILL_DOWNLOAD_PATH, handleBillDownload } from './bills';
import { handleCashierAction, handleCashierPage, handleScanPage } from './cashier';
import type { AlipayContext } from './context';
import { SimError } from './errors';
import { handleGateway } from './gateway';
import { isLoopback, readBody, sendJson } from './http';
import { SandboxChaos } from '../chaos';
import { Notifier } from './notify';
import { handleControl, simHandleMethods } from './sim';
import { AlipayState, BillUrlStore, FaultQueue } from './state';
import { expireIfDue } from './trades';
import type { AlipaySandboxHandle, AlipaySandboxOptions } from './types';

export type * from './types';

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000, 32000, 64000];
const DEFAULT_NOTIFY_TIMEOUT_MS = 5000;
/** Alipay refuses requests whose timestamp is too far from its clock (roughly ±15 minutes). */
const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const SWEEP_INTERVAL_MS = 1000;
/** Alipay: "账单下载地址链接，获取连接后30秒后未下载，链接地址失效". */
const DEFAULT_BILL_URL_TTL_MS = 30_000;

async function route(ctx: AlipayContext, localUrl: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', localUrl);
  const method = req.method ?? 'GET';
  const p = url.pathname;

  if (p === '/gateway.do') {
    const body = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    return handleGateway(ctx, req, res, url, body);
  }
  if (method === 'GET' && p === BILL_DOWNLOAD_PATH) return handleBillDownload(ctx, req, res, url);
  let m: RegExpExecArray | null;
  if (method === 'GET' && (m = /^\/qr\/([A-Za-z0-9_-]+)$/.exec(p))) return handleScanPage(ctx, res, m[1]);
  if (method === 'GET' && (m = /^\/cashier\/([A-Za-z0-9_-]+)$/.exec(p))) return handleCashierPage(ctx, res, m[1]);
  if (method === 'POST' && (m = /^\/cashier\/([A-Za-z0-9_-]+)\/(pay|cancel)$/.exec(p))) {
    await readBody(req);
    return handleCashierAction(ctx, res, m[1], m[2] as 'pay' | 'cancel');
  }
  if (p.startsWith('/__sim/')) {
    // The control API can pay any trade: never reachable from anywhere but this machine.
    if (!isLoopback(req.socket.remoteAddress)) throw new SimError(403, 'control API is loopback only');
    const body = method === 'POST' || method === 'DELETE' ? await readBody(req) : Buffer.alloc(0);
    return handleControl(ctx, res, method, url, body);
  }
  sendJson(res, 404, { error: `no route ${method} ${p}` });
}

export async function startAlipaySandbox(opts: AlipaySandboxOptions = {}): Promise<AlipaySandboxHandle> {
  const state = new AlipayState(opts.stateFile);
  const chaos = new SandboxChaos();
  const notifier = new Notifier(state, {
    chaos,
    retryDelaysMs: opts.notifyRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    timeoutMs: opts.notifyTimeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS,
  });

  // The request listener is attached once the context (which needs the bound port) exists, in the same
  // synchronous step that follows listen(), so no request can arrive before it.
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const localUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx: AlipayContext = {
    state,
    notifier,
    faults: new FaultQueue(),
    chaos,
    baseUrl: (opts.publicUrl ?? localUrl).replace(/\/+$/, ''),
    maxSkewMs: opts.maxTimestampSkewMs ?? DEFAULT_MAX_SKEW_MS,
    billUrls: new BillUrlStore(opts.billUrlTtlMs ?? DEFAULT_BILL_URL_TTL_MS),
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    route(ctx, localUrl, req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof SimError) sendJson(res, err.status, { error: err.message });
      else {
        console.error('[alipay-sandbox] internal error', err);
        sendJson(res, 500, { error: 'internal sandbox error' });
      }
    });
  });

  // Resume notifications that were pending when the previous process stopped.
  notifier.resume();

  // Close unpaid trades whose time_expire passed, even when nobody looks at them.
  const sweeper = setInterval(() => {
    for (const t of state.trades.values()) expireIfDue(ctx, t);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  return {
    url: ctx.baseUrl,
    localUrl,
    alipayPublicKey: state.alipayPublicKey,
    ...simHandleMethods(ctx),
    close: async () => {
      if (state.closed) return;
      state.closed = true;
      clearInterval(sweeper);
      notifier.shutdown();
      try {
        state.saveNow();
      } catch (err) {
        console.error(`[alipay-sandbox] cannot write state file: ${(err as Error).message}`);
      }
      notifier.events.emit('change');
      // urllib keeps connections alive: without this, close() would wait for idle sockets to time out.
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
