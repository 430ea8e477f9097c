/**
 * The sandbox's in-memory stores, optionally persisted as one JSON file so keys, merchants and trades
 * survive a restart (pending notification retries do not: they are timers). Refunds persist with their
 * pending automatic completion, which the sandbox re-arms when it starts again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { NotificationAttempt, SimPayee, SimRefund, SimTrade, SimTransferBill, WechatBillAnomaly, WechatBillSeed } from './types';

export interface KeyedCertificate {
  serial: string;
  certificatePem: string;
  privateKeyPem: string;
  notBefore: string;
  notAfter: string;
}

export interface MerchantRecord {
  mchid: string;
  name: string;
  appids: string[];
  apiV3Key: string;
  /** Merchant API certificates (public part only: WeChat never holds apiclient_key.pem). */
  certificates: { serial: string; certificatePem: string }[];
}

/** A notification event as issued; retries and resends reuse its id and plaintext. */
export interface StoredEvent {
  id: string;
  mchid: string;
  outTradeNo: string;
  createTime: string;
  /** Payment events (TRANSACTION.SUCCESS): the decrypted `transaction` resource (before any per-delivery fault). */
  transaction?: Record<string, unknown>;
  /** Refund events (REFUND.*): which refund, the envelope's event_type/summary and the decrypted `refund` resource. */
  refund?: { outRefundNo: string; eventType: string; summary: string; resource: Record<string, unknown> };
  /** Transfer events (MCHTRANSFER.BILL.FINISHED): which bill and the decrypted `mch_payment` resource. */
  transfer?: { outBillNo: string; resource: Record<string, unknown> };
}

export interface PersistedState {
  version: 1;
  ca: KeyedCertificate;
  /** Oldest first. */
  platforms: KeyedCertificate[];
  /**
   * The platform certificate that signs answers and notifications; absent (state files written before staged
   * rotation) = the newest.
   */
  signingSerial?: string;
  merchants: MerchantRecord[];
  trades: SimTrade[];
  /** Absent in state files written before refunds existed. */
  refunds?: SimRefund[];
  events: StoredEvent[];
  notifications: NotificationAttempt[];
  /** Trade bill differences and synthetic lines (absent in state files written before bills existed). */
  billAnomalies?: WechatBillAnomaly[];
  billSeeds?: StoredBillSeed[];
  /** 商家转账 bills, merchant balances and payees (absent in state files written before transfers existed). */
  transferBills?: SimTransferBill[];
  transferBalances?: TransferAccount[];
  transferPayees?: SimPayee[];
}

/** A merchant's 运营账户 as far as transfers are concerned (fen). Locked amounts live on their bills. */
export interface TransferAccount {
  mchid: string;
  availableFen: number;
  paidOutFen: number;
}

/** A WechatBillSeed as stored: refunds and the out_trade_no prefix resolved. */
export type StoredBillSeed = WechatBillSeed & { refunds: number; outTradeNoPrefix: string };

/** Keeps the log bounded in long-running dev sandboxes. */
const MAX_LOG = 5000;

export class SandboxState {
  readonly merchants = new Map<string, MerchantRecord>();
  /** key `${mchid}\n${out_trade_no}` */
  readonly trades = new Map<string, SimTrade>();
  /** key `${mchid}\n${out_refund_no}`: out_refund_no is unique per merchant (its idempotency key). */
  readonly refunds = new Map<string, SimRefund>();
  readonly events = new Map<string, StoredEvent>();
  notifications: NotificationAttempt[] = [];
  billAnomalies: WechatBillAnomaly[] = [];
  billSeeds: StoredBillSeed[] = [];
  /** key `${mchid}\n${out_bill_no}`: out_bill_no is unique per merchant (its idempotency key). */
  readonly transferBills = new Map<string, SimTransferBill>();
  readonly transferAccounts = new Map<string, TransferAccount>();
  /** key openid. */
  readonly transferPayees = new Map<string, SimPayee>();
  platforms: KeyedCertificate[];
  /** See PersistedState.signingSerial. */
  signingSerial?: string;
  readonly ca: KeyedCertificate;
  private readonly keyCache = new Map<string, KeyObject>();
  private saveScheduled = false;
  private stopped = false;

  constructor(
    init: Pick<PersistedState, 'ca' | 'platforms'> & Partial<PersistedState>,
    private readonly file?: string,
  ) {
    this.ca = init.ca;
    this.platforms = init.platforms;
    this.signingSerial = init.signingSerial;
    for (const m of init.merchants ?? []) this.merchants.set(m.mchid, m);
    for (const t of init.trades ?? []) this.trades.set(tradeKey(t.mchid, t.out_trade_no), t);
    for (const r of init.refunds ?? []) this.refunds.set(refundKey(r.mchid, r.out_refund_no), r);
    for (const e of init.events ?? []) this.events.set(e.id, e);
    this.notifications = init.notifications ?? [];
    this.billAnomalies = init.billAnomalies ?? [];
    this.billSeeds = init.billSeeds ?? [];
    for (const b of init.transferBills ?? []) this.transferBills.set(transferKey(b.mchid, b.out_bill_no), b);
    for (const a of init.transferBalances ?? []) this.transferAccounts.set(a.mchid, a);
    for (const p of init.transferPayees ?? []) this.transferPayees.set(p.openid, p);
  }

  static load(file: string): PersistedState | undefined {
    if (!fs.existsSync(file)) return undefined;
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as PersistedState;
    if (parsed.version !== 1) throw new Error(`unsupported WeChat sandbox state version in ${file}`);
    return parsed;
  }

  get signingPlatform(): KeyedCertificate {
    return this.platforms.find((p) => p.serial === this.signingSerial) ?? this.platforms[this.platforms.length - 1];
  }

  privateKey(pem: string): KeyObject {
    let k = this.keyCache.get(pem);
    if (!k) this.keyCache.set(pem, (k = createPrivateKey(pem)));
    return k;
  }

  publicKeyOfCert(pem: string): KeyObject {
    let k = this.keyCache.get(pem);
    if (!k) this.keyCache.set(pem, (k = createPublicKey(pem)));
    return k;
  }

  addNotification(a: NotificationAttempt): void {
    this.notifications.push(a);
    if (this.notifications.length > MAX_LOG) this.notifications.splice(0, this.notifications.length - MAX_LOG);
    this.save();
  }

  snapshot(): PersistedState {
    return {
      version: 1,
      ca: this.ca,
      platforms: this.platforms,
      ...(this.signingSerial ? { signingSerial: this.signingSerial } : {}),
      merchants: [...this.merchants.values()],
      trades: [...this.trades.values()],
      refunds: [...this.refunds.values()],
      events: [...this.events.values()],
      notifications: this.notifications,
      billAnomalies: this.billAnomalies,
      billSeeds: this.billSeeds,
      transferBills: [...this.transferBills.values()],
      transferBalances: [...this.transferAccounts.values()],
      transferPayees: [...this.transferPayees.values()],
    };
  }

  /** Coalesces many mutations in one tick into one write. */
  save(): void {
    if (!this.file || this.saveScheduled || this.stopped) return;
    this.saveScheduled = true;
    setImmediate(() => {
      this.saveScheduled = false;
      this.flush();
    });
  }

  /**
   * Final write, then no more: a save still queued from before close() must not recreate a state file
   * (with private keys in it) that the owner has already deleted.
   */
  stop(): void {
    this.flush();
    this.stopped = true;
  }

  /** Writes atomically (temp file + rename) so a crash mid-write never leaves a truncated state file. */
  flush(): void {
    if (!this.file || this.stopped) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.snapshot()), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}

export function tradeKey(mchid: string, outTradeNo: string): string {
  return `${mchid}\n${outTradeNo}`;
}

export function refundKey(mchid: string, outRefundNo: string): string {
  return `${mchid}\n${outRefundNo}`;
}

export function transferKey(mchid: string, outBillNo: string): string {
  return `${mchid}\n${outBillNo}`;
}
