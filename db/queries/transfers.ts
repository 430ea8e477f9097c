/**
 * Transfers, their per-app settings and the per-day reservation. Creating a transfer inserts it and reserves
 * its amount on the app's day in one transaction (a conditional upsert PostgreSQL row-locks), so concurrent
 * requests through any number of API processes never take a day past its limit. A FAIL or CANCELLED transfer
 * gives its amount back in the transaction that records it.
 */
import type { Db } from '../connection';
import type { NotifyStatus } from '../../domain/order';
import { releasesReservation, type TransferResult, type TransferSettings, type TransferStatus } from '../../domain/transfer';

export interface TransferRow {
  id: number;
  app_id: string;
  out_biz_no: string;
  channel_type: string;
  config_id: number;
  mch_id: string;
  amount: number;
  payee_type: string;
  payee_account: string;
  payee_name: string | null;
  remark: string;
  notify_url: string | null;
  request_hash: string;
  day: string;
  needs_approval: boolean;
  status: TransferStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  provider_transfer_id: string | null;
  confirm: Record<string, string> | null;
  transfer_time: Date | null;
  result_error_code: string | null;
  result_error_msg: string | null;
  notify_status: NotifyStatus;
  workflow_id: string;
  workflow_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type NewTransfer = Pick<
  TransferRow,
  'app_id' | 'out_biz_no' | 'channel_type' | 'config_id' | 'mch_id' | 'amount' | 'payee_type' | 'payee_account' | 'payee_name' | 'remark' | 'notify_url' | 'request_hash' | 'day' | 'needs_approval' | 'status' | 'workflow_id'
>;

export async function getTransferSettings(db: Db, appId: string): Promise<TransferSettings | null> {
  const r = await db('app_transfer_settings').where({ app_id: appId }).first();
  return r ? { enabled: r.enabled, maxPerTransfer: Number(r.max_per_transfer), dailyLimit: Number(r.daily_limit), approvalThreshold: Number(r.approval_threshold) } : null;
}

export async function saveTransferSettings(db: Db, appId: string, s: TransferSettings, by: string): Promise<void> {
  const row = { app_id: appId, enabled: s.enabled, max_per_transfer: s.maxPerTransfer, daily_limit: s.dailyLimit, approval_threshold: s.approvalThreshold, updated_by: by, updated_at: db.fn.now() };
  await db('app_transfer_settings').insert(row).onConflict('app_id').merge();
}

export type CreateTransferOutcome = { outcome: 'CREATED'; row: TransferRow } | { outcome: 'EXISTS'; row: TransferRow } | { outcome: 'OVER_DAILY_LIMIT'; reserved: number };

class OverLimit extends Error {
  constructor(readonly reserved: number) {
    super('over the daily limit');
  }
}

export async function createTransferWithReservation(db: Db, t: NewTransfer, dailyLimit: number): Promise<CreateTransferOutcome> {
  try {
    return await db.transaction(async (trx) => {
      // Insert first: a concurrent twin with the same outBizNo waits on the unique index, then finds this one.
      const inserted = (await trx('transfers').insert(t).onConflict(['app_id', 'out_biz_no']).ignore().returning('*')) as TransferRow[];
      if (inserted.length === 0) {
        const existing = await findTransferByOutBizNo(trx, t.app_id, t.out_biz_no);
        if (!existing) throw new Error('transfer vanished between insert and select');
        return { outcome: 'EXISTS' as const, row: existing };
      }
      const reserved = await trx.raw(
        `insert into transfer_daily_totals (app_id, day, reserved) select :app, :day, cast(:amount as bigint) where cast(:amount as bigint) <= cast(:limit as bigint)
         on conflict (app_id, day) do update set reserved = transfer_daily_totals.reserved + excluded.reserved
          where transfer_daily_totals.reserved + excluded.reserved <= cast(:limit as bigint)
         returning reserved`,
        { app: t.app_id, day: t.day, amount: t.amount, limit: dailyLimit },
      );
      if (reserved.rows.length === 0) {
        const cur = await trx('transfer_daily_totals').where({ app_id: t.app_id, day: t.day }).first('reserved');
        throw new OverLimit(Number(cur?.reserved ?? 0));
      }
      return { outcome: 'CREATED' as const, row: inserted[0] };
    });
  } catch (err) {
    if (err instanceof OverLimit) return { outcome: 'OVER_DAILY_LIMIT', reserved: err.reserved };
    throw err;
  }
}

export async function findTransferByOutBizNo(db: Db, appId: string, outBizNo: string): Promise<TransferRow | null> {
  return ((await db<TransferRow>('transfers').where({ app_id: appId, out_biz_no: outBizNo }).first()) as TransferRow | undefined) ?? null;
}

export async function findTransferById(db: Db, id: number): Promise<TransferRow | null> {
  return ((await db<TransferRow>('transfers').where({ id }).first()) as TransferRow | undefined) ?? null;
}

export async function markTransferWorkflowStarted(db: Db, id: number): Promise<void> {
  await db('transfers').where({ id }).whereNull('workflow_started_at').update({ workflow_started_at: db.fn.now() });
}

export async function findTransfersWithoutWorkflow(db: Db, olderThan: Date, limit = 100): Promise<TransferRow[]> {
  return (await db<TransferRow>('transfers').whereNull('workflow_started_at').where('created_at', '<', olderThan).orderBy('id').limit(limit)) as TransferRow[];
}

/**
 * Claims the decision of a transfer waiting for approval: only the first administrator's claim succeeds, so two
 * concurrent decisions cannot both be audited as taken (the workflow applies only the first signal anyway).
 */
export async function claimTransferDecision(db: Db, id: number, d: { by: string; note: string | null }): Promise<boolean> {
  return (await db('transfers').where({ id, status: 'PENDING_APPROVAL' }).whereNull('decided_by').update({ decided_by: d.by, decided_at: db.fn.now(), decision_note: d.note, updated_at: db.fn.now() })) === 1;
}

/** An administrator's decision, as the workflow applied it. */
export async function recordTransferDecision(db: Db, id: number, d: { approved: boolean; by: string; note: string | null }): Promise<void> {
  await db('transfers')
    .where({ id, status: 'PENDING_APPROVAL' })
    .update({ decided_by: d.by, decision_note: d.note, decided_at: db.raw('coalesce(decided_at, now())'), ...(d.approved ? { status: 'PROCESSING' } : {}), updated_at: db.fn.now() });
}

/** A non-final state (PROCESSING / WAIT_USER_CONFIRM with what the payee's client needs). */
export async function recordTransferProgress(db: Db, id: number, p: { status: 'PROCESSING' | 'WAIT_USER_CONFIRM'; providerTransferId: string | null; confirm: Record<string, string> | null }): Promise<void> {
  await db('transfers')
    .where({ id })
    .whereIn('status', ['PENDING_APPROVAL', 'PROCESSING', 'WAIT_USER_CONFIRM'])
    .update({
      status: p.status,
      provider_transfer_id: db.raw('coalesce(?, provider_transfer_id)', [p.providerTransferId]),
      confirm: p.confirm ? JSON.stringify(p.confirm) : null,
      updated_at: db.fn.now(),
    });
}

/** Records the final result once; FAIL and CANCELLED give the amount back to the day in the same transaction. */
export async function recordTransferResult(db: Db, id: number, r: TransferResult): Promise<boolean> {
  return db.transaction(async (trx) => {
    const updated = (await trx('transfers')
      .where({ id })
      .whereIn('status', ['PENDING_APPROVAL', 'PROCESSING', 'WAIT_USER_CONFIRM'])
      .update({
        status: r.status,
        transfer_time: r.transferTime === null ? null : new Date(r.transferTime),
        provider_transfer_id: trx.raw('coalesce(?, provider_transfer_id)', [r.providerTransferId]),
        result_error_code: r.errorCode,
        result_error_msg: r.errorMsg?.slice(0, 256) ?? null,
        confirm: null,
        updated_at: trx.fn.now(),
      })
      .returning(['app_id', 'day', 'amount'])) as Array<{ app_id: string; day: string; amount: number }>;
    if (updated.length === 0) return false;
    if (releasesReservation(r.status)) {
      await trx('transfer_daily_totals').where({ app_id: updated[0].app_id, day: updated[0].day }).update({ reserved: trx.raw('reserved - ?', [updated[0].amount]) });
    }
    return true;
  });
}

export async function setTransferNotifyStatus(db: Db, id: number, status: NotifyStatus): Promise<void> {
  await db('transfers').where({ id }).update({ notify_status: status, updated_at: db.fn.now() });
}

export async function dailyReserved(db: Db, appId: string, day: string): Promise<number> {
  return Number((await db('transfer_daily_totals').where({ app_id: appId, day }).first('reserved'))?.reserved ?? 0);
}

export async function searchTransfers(db: Db, f: { outBizNo?: string; status?: string; appId?: string; page: number; pageSize: number }): Promise<{ items: Array<TransferRow & { app_name: string }>; total: number }> {
  const q = db('transfers as t').join('apps as a', 'a.app_id', 't.app_id');
  if (f.outBizNo) q.where('t.out_biz_no', f.outBizNo);
  if (f.status) q.where('t.status', f.status);
  if (f.appId) q.where('t.app_id', f.appId);
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = await q.select('t.*', 'a.name as app_name').orderBy([{ column: 't.created_at', order: 'desc' }, { column: 't.id', order: 'desc' }]).limit(f.pageSize).offset((f.page - 1) * f.pageSize);
  return { items, total: Number(n) };
}
