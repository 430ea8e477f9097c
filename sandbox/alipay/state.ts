/**
 * The sandbox's stores: its "Alipay" key pair, merchants, trades, refunds, the notification delivery log and
 * pending notification jobs, optionally persisted as one JSON file (written debounced, and at once on demand).
 * Injected gateway faults live here too but are never persisted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type {
  SimBillAdjustment,
  SimFault,
  SimMerchant,
  SimNotificationDelivery,
  SimPayee,
  SimRefund,
  SimTrade,
  SimTransfer,
  SimTransferMode,
} from './types';

/** The persisted log keeps this many deliveries; in memory it may grow to twice as many before trimming. */
export const MAX_LOGGED_DELIVERIES = 5000;

/** An app's balance for transfers until set otherwise: 1,000,000.00 yuan, plenty for any test that does not ask. */
export const DEFAULT_TRANSFER_BALANCE_FEN = 100_000_000;

/**
 * Accounts every sandbox knows, so tests and demos can pay someone without registering a payee first. Fixed user
 * ids (not generated) so a test can pay by ALIPAY_USER_ID too.
 */
export const DEFAULT_PAYEES: readonly SimPayee[] = [
  { logonId: 'payee@example.com', userId: '2088102100000001', name: '张三' },
  { logonId: '13800138000', userId: '2088102100000002', name: '李四' },
  { logonId: 'company@example.com', userId: '2088102100000003', name: '杭州示例科技有限公司' },
];

export interface TradeRecord extends SimTrade {
  payToken: string;
  qrToken?: string;
}

export interface NotifyJob {
  id: string;
  notifyId: string;
  appId: string;
  outTradeNo: string;
  tradeStatus: string;
  url: string;
  body: string;
  attempts: number;
  duplicateAfterSuccess: boolean;
  tamperedBody?: string;
}

interface PersistedState {
  version: 1;
  alipayPrivateKey: string;
  alipayPublicKey: string;
  merchants: SimMerchant[];
  trades: TradeRecord[];
  /** Absent in files written before refunds existed. */
  refunds?: SimRefund[];
  /** Absent in files written before bills existed. */
  billAdjustments?: SimBillAdjustment[];
  /** Absent in files written before transfers existed (then: no transfers, default payees and balances). */
  transfers?: SimTransfer[];
  payees?: SimPayee[];
  /** appId → balance for transfers (fen); apps not listed have DEFAULT_TRANSFER_BALANCE_FEN. */
  balances?: Record<string, number>;
  transferModes?: Record<string, SimTransferMode>;
  deliveries: SimNotificationDelivery[];
  jobs: NotifyJob[];
  seq: number;
}

export function tradeKey(appId: string, outTradeNo: string): string {
  return `${appId}\u0000${outTradeNo}`;
}

/** A trade as the control API and the handle show it: a copy without the page tokens. */
export function publicView(t: TradeRecord): SimTrade {
  const { payToken: _p, qrToken: _q, ...view } = t;
  void _p;
  void _q;
  return structuredClone(view);
}

export class AlipayState {
  readonly alipayPrivateKey: string;
  /** SPKI PEM of the sandbox's "Alipay" key. */
  readonly alipayPublicKey: string;
  readonly merchants = new Map<string, SimMerchant>();
  /** Keyed by tradeKey(appId, outTradeNo). */
  readonly trades = new Map<string, TradeRecord>();
  /** Every applied refund, oldest first. Persisted: a restarted sandbox must still refuse a second refund. */
  refunds: SimRefund[] = [];
  /**
   * What bills say beyond the trades and refunds (anomalies, seeded lines). Persisted: a restarted sandbox serves
   * the same bill it served before. Small: a seed of any size is one entry.
   */
  billAdjustments: SimBillAdjustment[] = [];
  /**
   * Every accepted transfer, oldest first. Persisted: a restarted sandbox must answer a repeated out_biz_no with
   * the transfer it already made, never pay it again.
   */
  transfers: SimTransfer[] = [];
  /** The accounts transfers can reach. */
  payees: SimPayee[] = DEFAULT_PAYEES.map((p) => ({ ...p }));
  /** Set balances (fen) by app id; see balanceOf. */
  readonly balances = new Map<string, number>();
  readonly transferModes = new Map<string, SimTransferMode>();
  deliveries: SimNotificationDelivery[] = [];
  jobs: NotifyJob[] = [];
  /** Last delivery sequence number handed out. */
  seq = 0;
  /** Set once the sandbox closes: no more debounced saves, no more notification attempts. */
  closed = false;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly stateFile: string | undefined) {
    const loaded = stateFile ? loadState(stateFile) : undefined;
    if (loaded) {
      // Reusing the persisted key matters: channel configs stored elsewhere hold its public half.
      this.alipayPrivateKey = loaded.alipayPrivateKey;
      this.alipayPublicKey = loaded.alipayPublicKey;
      for (const m of loaded.merchants) this.merchants.set(m.appId, m);
      // Trades saved before refunds existed have no refundedFen.
      for (const t of loaded.trades) this.trades.set(tradeKey(t.appId, t.outTradeNo), { ...t, refundedFen: t.refundedFen ?? 0 });
      this.refunds = loaded.refunds ?? [];
      this.billAdjustments = loaded.billAdjustments ?? [];
      this.transfers = loaded.transfers ?? [];
      if (loaded.payees) this.payees = loaded.payees;
      for (const [appId, fen] of Object.entries(loaded.balances ?? {})) this.balances.set(appId, fen);
      for (const [appId, mode] of Object.entries(loaded.transferModes ?? {})) this.transferModes.set(appId, mode);
      this.deliveries = loaded.deliveries;
      this.jobs = loaded.jobs;
      this.seq = loaded.seq;
    } else {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.alipayPrivateKey = String(pair.privateKey.export({ type: 'pkcs8', format: 'pem' })).trim();
      this.alipayPublicKey = String(pair.publicKey.export({ type: 'spki', format: 'pem' })).trim();
    }
  }

  private snapshot(): PersistedState {
    return {
      version: 1,
      alipayPrivateKey: this.alipayPrivateKey,
      alipayPublicKey: this.alipayPublicKey,
      merchants: [...this.merchants.values()],
      trades: [...this.trades.values()],
      refunds: this.refunds,
      billAdjustments: this.billAdjustments,
      transfers: this.transfers,
      payees: this.payees,
      balances: Object.fromEntries(this.balances),
      transferModes: Object.fromEntries(this.transferModes),
      deliveries: this.deliveries.slice(-MAX_LOGGED_DELIVERIES),
      jobs: this.jobs,
      seq: this.seq,
    };
  }

  /** The refund a trade already has under this request number, if any. */
  refundOf(t: SimTrade, outRequestNo: string): SimRefund | undefined {
    return this.refunds.find((r) => r.appId === t.appId && r.outTradeNo === t.outTradeNo && r.outRequestNo === outRequestNo);
  }

  /** An app's balance for transfers (fen). */
  balanceOf(appId: string): number {
    return this.balances.get(appId) ?? DEFAULT_TRANSFER_BALANCE_FEN;
  }

  /** The transfer an app already has under this out_biz_no, if any. */
  transferOf(appId: string, outBizNo: string): SimTransfer | undefined {
    return this.transfers.find((t) => t.appId === appId && t.outBizNo === outBizNo);
  }

  /** Writes the state file now (no-op without one), cancelling a pending debounced save. */
  saveNow(): void {
    if (!this.stateFile) return;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    fs.mkdirSync(path.dirname(this.stateFile), { recursive: true });
    // Write-then-rename so a crash mid-write never leaves a truncated state file behind.
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.snapshot()), { mode: 0o600 });
    fs.renameSync(tmp, this.stateFile);
  }

  /** Schedules a write 25 ms from now unless one is already pending; errors are logged, not thrown. */
  save(): void {
    if (!this.stateFile || this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      try {
        this.saveNow();
      } catch (err) {
        console.error(`[alipay-sandbox] cannot write state file: ${(err as Error).message}`);
      }
    }, 25);
  }
}

function loadState(file: string): PersistedState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as PersistedState;
  if (state.version !== 1 || !state.alipayPrivateKey || !state.alipayPublicKey) {
    throw new Error(`unsupported Alipay sandbox state file ${file}`);
  }
  return {
    ...state,
    deliveries: state.deliveries ?? [],
    jobs: state.jobs ?? [],
    merchants: state.merchants ?? [],
    trades: state.trades ?? [],
    refunds: state.refunds ?? [],
    billAdjustments: state.billAdjustments ?? [],
    transfers: state.transfers ?? [],
  };
}

export type ActiveFault = Required<Omit<SimFault, 'method'>> & { method?: string };

/** Injected gateway faults, consumed in order by matching server API calls. */
export class FaultQueue {
  list: ActiveFault[] = [];

  add(fault: ActiveFault): void {
    this.list.push(fault);
  }

  clear(): void {
    this.list = [];
  }

  /**
   * Uses up one count of the first fault matching `method` (or any method) and returns it. `exactOnly`: only faults
   * naming this method match (the bill file download, which is no gateway call and must not use up theirs).
   */
  take(method: string, exactOnly = false): SimFault | undefined {
    const i = this.list.findIndex((f) => (exactOnly ? f.method === method : !f.method || f.method === method));
    if (i < 0) return undefined;
    const f = this.list[i];
    f.count -= 1;
    if (f.count <= 0) this.list.splice(i, 1);
    return f;
  }
}

/** What a bill_download_url grants: one app's bill of one day, until `expiresAt` (epoch ms). */
export interface BillUrlGrant {
  appId: string;
  day: string;
  expiresAt: number;
}

/**
 * The bill_download_url tokens handed out. Alipay's links expire (30 s after they are issued); a token is good for
 * any number of downloads until then, and forgotten after.
 */
export class BillUrlStore {
  private readonly grants = new Map<string, BillUrlGrant>();

  constructor(readonly ttlMs: number) {}

  issue(appId: string, day: string, now = Date.now()): { token: string; grant: BillUrlGrant } {
    for (const [token, g] of this.grants) if (g.expiresAt <= now) this.grants.delete(token);
    const token = randomBytes(24).toString('hex');
    const grant = { appId, day, expiresAt: now + this.ttlMs };
    this.grants.set(token, grant);
    return { token, grant };
  }

  /** The grant of a token still valid at `now`; undefined for unknown or expired ones. */
  lookup(token: string, now = Date.now()): BillUrlGrant | undefined {
    const g = this.grants.get(token);
    if (g && g.expiresAt <= now) this.grants.delete(token);
    return g && g.expiresAt > now ? g : undefined;
  }
}
