/**
 * Outbound trade_status_sync notifications: built from a trade, signed with the sandbox's "Alipay" key,
 * POSTed to the trade's notify_url and retried until the merchant answers exactly `success`. Every attempt
 * (and every simulated lost / tampered / duplicate delivery) is recorded in the delivery log.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { fenToYuanString } from '../../domain/money';
import type { SandboxChaos } from '../chaos';
import type { NotifyMode } from '../types';
import * as wire from './protocol';
import { MAX_LOGGED_DELIVERIES, type AlipayState, type NotifyJob, type TradeRecord } from './state';
import type { SimDeliveryKind, SimNotificationDelivery, SimTransitionOptions } from './types';

export interface NotifierOptions {
  /** Delays between attempts; attempts = length + 1. */
  retryDelaysMs: number[];
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Drops a share of normal deliveries when a test asks for it. */
  chaos?: SandboxChaos;
}

export class Notifier {
  /** 'delivery' (with the new log entry) for every recorded delivery; 'change' when jobs or the log change. */
  readonly events = new EventEmitter();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<http.ClientRequest>();
  private readonly retryDelays: number[];
  private readonly maxAttempts: number;
  private readonly notifyTimeoutMs: number;
  private readonly chaos: SandboxChaos | undefined;

  constructor(
    private readonly state: AlipayState,
    opts: NotifierOptions,
  ) {
    this.events.setMaxListeners(0);
    this.retryDelays = opts.retryDelaysMs;
    this.maxAttempts = opts.retryDelaysMs.length + 1;
    this.notifyTimeoutMs = opts.timeoutMs;
    this.chaos = opts.chaos;
  }

  /** True when no notification is scheduled or in flight. */
  isIdle(): boolean {
    return this.state.jobs.length === 0 && this.inflight.size === 0;
  }

  /** Schedules the notifications that were pending when the previous process stopped. */
  resume(): void {
    for (const job of this.state.jobs) this.schedule(job, this.retryDelays[0] ?? 1000);
  }

  /** Cancels scheduled attempts and aborts the ones in flight (call after state.closed is set). */
  shutdown(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.inflight) r.destroy(new Error('sandbox closed'));
    this.inflight.clear();
  }

  /**
   * Notifies the trade's current status as `o.notify` says (default: normal delivery with retries). `extra`
   * adds event fields to the signed parameters (a refund's refund_fee, gmt_refund, out_biz_no).
   */
  enqueue(t: TradeRecord, o: SimTransitionOptions, extra: Record<string, string> = {}): void {
    // No notify_url in the request → Alipay has nowhere to send and sends nothing.
    if (!t.notifyUrl) return;
    const params = this.notificationParams(t, o.amountOverrideFen, extra);
    const body = new URLSearchParams(params).toString();
    let mode: NotifyMode = o.notify ?? 'normal';
    // Only payment results are dropped (refund events carry refund_fee): lost callbacks are what provider polling heals.
    if (mode === 'normal' && !extra.refund_fee && this.chaos?.dropCallback()) mode = 'lost';
    const base = { notifyId: params.notify_id, appId: t.appId, outTradeNo: t.outTradeNo, tradeStatus: t.status, url: t.notifyUrl };
    if (mode === 'lost') {
      this.record({ ...base, kind: 'lost', attempt: 0, sentAt: new Date().toISOString(), body, accepted: false });
      return;
    }
    let tamperedBody: string | undefined;
    if (mode === 'tampered') {
      // Altered after signing, as a man in the middle would: the amount changes, the signature does not.
      const forged = { ...params, total_amount: params.total_amount === '0.01' ? '0.02' : '0.01' };
      tamperedBody = new URLSearchParams(forged).toString();
    }
    const job: NotifyJob = {
      id: wire.newToken(),
      ...base,
      body,
      attempts: 0,
      duplicateAfterSuccess: mode === 'duplicate',
      tamperedBody,
    };
    this.state.jobs.push(job);
    this.state.save();
    this.schedule(job, mode === 'delayed' ? (o.delayMs ?? 2000) : 0);
  }

  private notificationParams(t: TradeRecord, amountOverrideFen: number | undefined, extra: Record<string, string>): Record<string, string> {
    const amount = amountOverrideFen !== undefined ? fenToYuanString(amountOverrideFen) : t.totalAmount;
    // Was ever paid: a trade closed by a full refund still reports what the buyer paid, unlike an unpaid close.
    const paid = t.gmtPayment !== undefined;
    const merchant = this.state.merchants.get(t.appId);
    const candidate: Record<string, string | undefined> = {
      notify_time: wire.shanghaiTime(),
      notify_type: 'trade_status_sync',
      notify_id: wire.newNotifyId(),
      app_id: t.appId,
      auth_app_id: t.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: t.tradeNo,
      out_trade_no: t.outTradeNo,
      buyer_id: t.buyerId,
      buyer_logon_id: t.buyerLogonId,
      seller_id: merchant?.sellerId,
      trade_status: t.status,
      total_amount: amount,
      receipt_amount: paid ? amount : undefined,
      invoice_amount: paid ? amount : undefined,
      buyer_pay_amount: paid ? amount : undefined,
      point_amount: paid ? '0.00' : undefined,
      subject: t.subject,
      body: t.body,
      gmt_create: t.gmtCreate,
      gmt_payment: t.gmtPayment,
      gmt_close: t.gmtClose,
      fund_bill_list: paid ? JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]) : undefined,
      ...extra,
    };
    // Alipay omits absent fields entirely; an empty value would also change the sign string.
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(candidate)) if (v !== undefined && v !== '') params[k] = v;
    params.sign = wire.rsa2Sign(wire.notifySignContent(params), this.state.alipayPrivateKey);
    return params;
  }

  private record(d: Omit<SimNotificationDelivery, 'seq' | 'params'>): SimNotificationDelivery {
    const state = this.state;
    const entry: SimNotificationDelivery = { ...d, seq: ++state.seq, params: Object.fromEntries(new URLSearchParams(d.body)) };
    state.deliveries.push(entry);
    if (state.deliveries.length > MAX_LOGGED_DELIVERIES * 2) state.deliveries = state.deliveries.slice(-MAX_LOGGED_DELIVERIES);
    state.save();
    this.events.emit('delivery', entry);
    this.events.emit('change');
    return entry;
  }

  private schedule(job: NotifyJob, delayMs: number): void {
    if (this.state.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.runAttempt(job);
    }, delayMs);
    this.timers.add(timer);
  }

  private async runAttempt(job: NotifyJob): Promise<void> {
    if (this.state.closed) return;
    if (job.tamperedBody) {
      const forged = job.tamperedBody;
      job.tamperedBody = undefined; // once; the genuine notification follows right after
      await this.deliver(job, forged, 'tampered', 0);
      if (this.state.closed) return;
    }
    job.attempts += 1;
    const d = await this.deliver(job, job.body, 'genuine', job.attempts);
    if (this.state.closed) return;
    if (d.accepted) {
      if (job.duplicateAfterSuccess) await this.deliver(job, job.body, 'duplicate', job.attempts);
      this.finishJob(job);
    } else if (job.attempts >= this.maxAttempts) {
      this.finishJob(job);
    } else {
      // Same notify_id and body on every retry, so merchants can deduplicate.
      this.schedule(job, this.retryDelays[job.attempts - 1]);
      this.state.save();
    }
  }

  private finishJob(job: NotifyJob): void {
    this.state.jobs = this.state.jobs.filter((j) => j !== job);
    this.state.save();
    this.events.emit('change');
  }

  private deliver(job: NotifyJob, body: string, kind: SimDeliveryKind, attempt: number): Promise<SimNotificationDelivery> {
    const notifyTimeoutMs = this.notifyTimeoutMs;
    const inflight = this.inflight;
    const started = Date.now();
    const sentAt = new Date(started).toISOString();
    const base = { notifyId: job.notifyId, appId: job.appId, outTradeNo: job.outTradeNo, tradeStatus: job.tradeStatus, kind, attempt, url: job.url, sentAt, body };
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(job.url);
      } catch {
        resolve(this.record({ ...base, accepted: false, error: 'invalid notify_url' }));
        return;
      }
      const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!client) {
        resolve(this.record({ ...base, accepted: false, error: `unsupported notify_url scheme ${target.protocol}` }));
        return;
      }
      const payload = Buffer.from(body, 'utf8');
      let settled = false;
      const finish = (result: Pick<SimNotificationDelivery, 'accepted' | 'httpStatus' | 'responseBody' | 'error'>) => {
        if (settled) return;
        settled = true;
        inflight.delete(req);
        resolve(this.record({ ...base, ...result, latencyMs: Date.now() - started }));
      };
      const req = client.request(
        target,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'content-length': payload.length,
            'user-agent': 'Mozilla/4.0 (alipay-sandbox)',
          },
          timeout: notifyTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < 4096) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8').slice(0, 4096);
            // Exactly "success": not "SUCCESS", not "success\n", not a JSON {"code":"success"}.
            finish({ accepted: res.statusCode === 200 && text === 'success', httpStatus: res.statusCode, responseBody: text });
          });
          res.on('error', (err) => finish({ accepted: false, httpStatus: res.statusCode, error: err.message }));
        },
      );
      inflight.add(req);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${notifyTimeoutMs} ms`)));
      req.on('error', (err) => finish({ accepted: false, error: err.message }));
      req.end(payload);
    });
  }
}
