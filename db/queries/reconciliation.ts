/**
 * Reconciliation runs, their discrepancies and the bill rows staged while a run compares them. The bill is
 * streamed into reconciliation_bill_rows in batches and compared with orders and refunds in SQL, so neither
 * side of a large day is ever held in memory; one run per (day, config) is replaced on every rerun.
 */
import type { Db } from '../connection';
import type { DiscrepancyKind, DiscrepancyResolution, ReconciliationRunStatus } from '../../domain/reconciliation';
import { shanghaiDayRange } from '../../domain/reconciliation';

export interface ReconciliationRunRow {
  id: number;
  day: string;
  config_id: number;
  channel_type: string;
  status: ReconciliationRunStatus;
  trigger: 'SCHEDULE' | 'ADMIN';
  requested_by: string | null;
  attempt: number;
  provider_payment_count: number | null;
  provider_payment_amount: number | null;
  provider_refund_count: number | null;
  provider_refund_amount: number | null;
  local_payment_count: number | null;
  local_payment_amount: number | null;
  local_refund_count: number | null;
  local_refund_amount: number | null;
  discrepancy_count: number | null;
  error: string | null;
  workflow_id: string;
  started_at: Date;
  finished_at: Date | null;
}

export interface DiscrepancyRow {
  id: number;
  run_id: number;
  day: string;
  config_id: number;
  kind: DiscrepancyKind;
  record_kind: 'PAYMENT' | 'REFUND';
  provider_out_trade_no: string | null;
  provider_trade_no: string | null;
  out_refund_no: string | null;
  order_id: number | null;
  refund_id: number | null;
  provider_amount: number | null;
  local_amount: number | null;
  local_status: string | null;
  resolution: DiscrepancyResolution | null;
  detail: string | null;
  created_at: Date;
}


/**
 * Starts (or restarts) the run of a day and config: one row per (day, config), its attempt counted up, its
 * previous results and staged rows cleared. Returns the run id.
 */
export async function startRun(db: Db, r: { day: string; configId: number; channelType: string; trigger: 'SCHEDULE' | 'ADMIN'; requestedBy: string | null; workflowId: string }): Promise<number> {
  return db.transaction(async (trx) => {
    const [row] = (await trx('reconciliation_runs')
      .insert({ day: r.day, config_id: r.configId, channel_type: r.channelType, status: 'RUNNING', trigger: r.trigger, requested_by: r.requestedBy, workflow_id: r.workflowId })
      .onConflict(['day', 'config_id'])
      .merge({
        status: 'RUNNING',
        trigger: r.trigger,
        requested_by: r.requestedBy,
        workflow_id: r.workflowId,
        attempt: trx.raw('reconciliation_runs.attempt + 1'),
        started_at: trx.fn.now(),
        finished_at: null,
        error: null,
        discrepancy_count: null,
        // A rerun's numbers are its own: nothing of the previous run may show while it runs or if it fails.
        provider_payment_count: null,
        provider_payment_amount: null,
        provider_refund_count: null,
        provider_refund_amount: null,
        local_payment_count: null,
        local_payment_amount: null,
        local_refund_count: null,
        local_refund_amount: null,
      })
      .returning('id')) as Array<{ id: number }>;
    await trx('reconciliation_bill_rows').where({ run_id: row.id }).delete();
    await trx('reconciliation_discrepancies').where({ run_id: row.id }).delete();
    return row.id;
  });
}

export interface StagedBillRow {
  kind: 'PAYMENT' | 'REFUND';
  providerOutTradeNo: string;
  providerTradeNo: string | null;
  outRefundNo: string | null;
  amount: number;
  at: Date | null;
}

export async function stageBillRows(db: Db, runId: number, rows: StagedBillRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db('reconciliation_bill_rows').insert(
    rows.map((r) => ({ run_id: runId, kind: r.kind, provider_out_trade_no: r.providerOutTradeNo, provider_trade_no: r.providerTradeNo, out_refund_no: r.outRefundNo, amount: r.amount, at: r.at })),
  );
}

/** Our trade number of an order and channel, in SQL (domain/order.ts providerOutTradeNo: id padded to 10 digits). */
const TRADE_NO_SQL = `'CD' || case when length(o.id::text) >= 10 then o.id::text else lpad(o.id::text, 10, '0') end || 'C' || o.channel_id`;
const REFUND_NO_SQL = `'CDR' || case when length(r.id::text) >= 10 then r.id::text else lpad(r.id::text, 10, '0') end`;
/** The order id / channel id a bill row's trade number names, or null when it is not one of ours. */
const BILL_ORDER_ID = `case when b.provider_out_trade_no ~ '^CD[0-9]{1,16}C[0-9]{1,9}$' then substring(b.provider_out_trade_no from '^CD([0-9]+)C')::bigint end`;
const BILL_CHANNEL_ID = `case when b.provider_out_trade_no ~ '^CD[0-9]{1,16}C[0-9]{1,9}$' then substring(b.provider_out_trade_no from 'C([0-9]+)$')::int end`;
const BILL_REFUND_ID = `case when b.out_refund_no ~ '^CDR[0-9]{1,16}$' then substring(b.out_refund_no from '^CDR([0-9]+)$')::bigint end`;

export interface ComparisonResult {
  localPaymentCount: number;
  localPaymentAmount: number;
  localRefundCount: number;
  localRefundAmount: number;
  discrepancyCount: number;
  /** MISSING_LOCAL payments: each is healed by a provider query or raised as a payment exception. */
  missingLocalPayments: number[];
}

/**
 * Compares the staged bill of a run with PostgreSQL, in one transaction: every bill row is matched by our trade
 * or refund number, regardless of the day we recorded it; our payments and refunds of the day (Asia/Shanghai)
 * through this config must be in the bill. Replaces the run's discrepancies and drops its staged rows.
 */
export async function compareRun(db: Db, runId: number, day: string, configId: number): Promise<ComparisonResult> {
  const { start, end } = shanghaiDayRange(day);
  return db.transaction(async (trx) => {
    const p = { run: runId, day, cfg: configId, start, end };
    await trx('reconciliation_discrepancies').where({ run_id: runId }).delete();
    const insert = `insert into reconciliation_discrepancies
      (run_id, day, config_id, kind, record_kind, provider_out_trade_no, provider_trade_no, out_refund_no, order_id, refund_id, provider_amount, local_amount, local_status, detail)`;
    // Bill payments: known when the order is paid through that channel, or recorded as a payment exception.
    await trx.raw(
      `${insert}
       select :run, :day, :cfg,
              case when paid.id is null then 'MISSING_LOCAL' else 'AMOUNT_MISMATCH' end, 'PAYMENT',
              b.provider_out_trade_no, b.provider_trade_no, null, o.id, null, b.amount, o.amount, o.status,
              case when o.id is null then 'no such order' when paid.id is null then 'order not paid through this channel' else 'amounts differ' end
         from reconciliation_bill_rows b
         left join orders o on o.id = ${BILL_ORDER_ID}
         left join orders paid on paid.id = o.id and paid.channel_id = ${BILL_CHANNEL_ID} and paid.status in ('SUCCESS', 'FINISH')
        where b.run_id = :run and b.kind = 'PAYMENT'
          and (paid.id is null or paid.amount <> b.amount)
          and not (paid.id is null and exists (
                select 1 from payment_exceptions pe where pe.config_id = :cfg and pe.provider_out_trade_no = b.provider_out_trade_no))`,
      p,
    );
    // Our payments of the day through this config that the bill lacks.
    await trx.raw(
      `${insert}
       select :run, :day, :cfg, 'MISSING_PROVIDER', 'PAYMENT', ${TRADE_NO_SQL}, o.provider_trade_no, null, o.id, null, null, o.amount, o.status, 'not in the provider bill'
         from orders o join channels c on c.id = o.channel_id
        where c.config_id = :cfg and o.status in ('SUCCESS', 'FINISH') and o.pay_time >= :start and o.pay_time < :end
          and not exists (select 1 from reconciliation_bill_rows b where b.run_id = :run and b.kind = 'PAYMENT' and b.provider_out_trade_no = ${TRADE_NO_SQL})`,
      p,
    );
    // Bill refunds, matched by the refund number we sent.
    await trx.raw(
      `${insert}
       select :run, :day, :cfg,
              case when r.id is null then 'MISSING_LOCAL' when r.status <> 'SUCCESS' then 'STATUS_MISMATCH' else 'AMOUNT_MISMATCH' end, 'REFUND',
              b.provider_out_trade_no, b.provider_trade_no, b.out_refund_no, r.order_id, r.id, b.amount, r.amount, r.status,
              case when r.id is null then 'no such refund' when r.status <> 'SUCCESS' then 'refund not SUCCESS here' else 'amounts differ' end
         from reconciliation_bill_rows b
         left join refunds r on r.id = ${BILL_REFUND_ID} and r.config_id = :cfg
        where b.run_id = :run and b.kind = 'REFUND'
          and (r.id is null or r.status <> 'SUCCESS' or r.amount <> b.amount)`,
      p,
    );
    // Our successful refunds of the day through this config that the bill lacks.
    await trx.raw(
      `${insert}
       select :run, :day, :cfg, 'MISSING_PROVIDER', 'REFUND', r.provider_out_trade_no, null, ${REFUND_NO_SQL}, r.order_id, r.id, null, r.amount, r.status, 'not in the provider bill'
         from refunds r
        where r.config_id = :cfg and r.status = 'SUCCESS' and r.refund_time >= :start and r.refund_time < :end
          and not exists (select 1 from reconciliation_bill_rows b where b.run_id = :run and b.kind = 'REFUND' and b.out_refund_no = ${REFUND_NO_SQL})`,
      p,
    );
    const local = (
      await trx.raw(
        `select
           (select count(*) from orders o join channels c on c.id = o.channel_id
             where c.config_id = :cfg and o.status in ('SUCCESS', 'FINISH') and o.pay_time >= :start and o.pay_time < :end) as pay_n,
           (select coalesce(sum(o.amount), 0) from orders o join channels c on c.id = o.channel_id
             where c.config_id = :cfg and o.status in ('SUCCESS', 'FINISH') and o.pay_time >= :start and o.pay_time < :end) as pay_sum,
           (select count(*) from refunds r where r.config_id = :cfg and r.status = 'SUCCESS' and r.refund_time >= :start and r.refund_time < :end) as ref_n,
           (select coalesce(sum(r.amount), 0) from refunds r where r.config_id = :cfg and r.status = 'SUCCESS' and r.refund_time >= :start and r.refund_time < :end) as ref_sum,
           (select count(*) from reconciliation_discrepancies d where d.run_id = :run) as disc_n`,
        p,
      )
    ).rows[0];
    const missing = (await trx('reconciliation_discrepancies')
      .where({ run_id: runId, kind: 'MISSING_LOCAL', record_kind: 'PAYMENT' })
      .orderBy('id')
      .select('id')) as Array<{ id: number }>;
    await trx('reconciliation_bill_rows').where({ run_id: runId }).delete();
    const result: ComparisonResult = {
      localPaymentCount: Number(local.pay_n),
      localPaymentAmount: Number(local.pay_sum),
      localRefundCount: Number(local.ref_n),
      localRefundAmount: Number(local.ref_sum),
      discrepancyCount: Number(local.disc_n),
      missingLocalPayments: missing.map((m) => m.id),
    };
    await trx('reconciliation_runs').where({ id: runId }).update({
      local_payment_count: result.localPaymentCount,
      local_payment_amount: result.localPaymentAmount,
      local_refund_count: result.localRefundCount,
      local_refund_amount: result.localRefundAmount,
      discrepancy_count: result.discrepancyCount,
    });
    return result;
  });
}

export async function recordProviderTotals(db: Db, runId: number, t: { paymentCount: number; paymentAmountFen: number; refundCount: number; refundAmountFen: number }): Promise<void> {
  await db('reconciliation_runs').where({ id: runId }).update({
    provider_payment_count: t.paymentCount,
    provider_payment_amount: t.paymentAmountFen,
    provider_refund_count: t.refundCount,
    provider_refund_amount: t.refundAmountFen,
  });
}

export async function finishRun(db: Db, runId: number, status: 'DONE' | 'FAILED', error: string | null = null): Promise<void> {
  await db('reconciliation_runs').where({ id: runId }).update({ status, error: error?.slice(0, 512) ?? null, finished_at: db.fn.now() });
  if (status === 'FAILED') await db('reconciliation_bill_rows').where({ run_id: runId }).delete();
}

export async function findDiscrepancy(db: Db, id: number): Promise<DiscrepancyRow | null> {
  return ((await db('reconciliation_discrepancies').where({ id }).first()) as DiscrepancyRow | undefined) ?? null;
}

export async function resolveDiscrepancy(db: Db, id: number, resolution: DiscrepancyResolution, detail: string): Promise<void> {
  await db('reconciliation_discrepancies').where({ id }).update({ resolution, detail: detail.slice(0, 256) });
}

export async function findRun(db: Db, id: number): Promise<ReconciliationRunRow | null> {
  return ((await db('reconciliation_runs').where({ id }).first()) as ReconciliationRunRow | undefined) ?? null;
}

export async function findRunOf(db: Db, day: string, configId: number): Promise<ReconciliationRunRow | null> {
  return ((await db('reconciliation_runs').where({ day, config_id: configId }).first()) as ReconciliationRunRow | undefined) ?? null;
}

export async function searchRuns(db: Db, f: { day?: string; configId?: number; status?: string; page: number; pageSize: number }): Promise<{ items: ReconciliationRunRow[]; total: number }> {
  const q = db('reconciliation_runs');
  if (f.day) q.where({ day: f.day });
  if (f.configId) q.where({ config_id: f.configId });
  if (f.status) q.where({ status: f.status });
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q.select('*').orderBy([{ column: 'day', order: 'desc' }, { column: 'config_id', order: 'asc' }]).limit(f.pageSize).offset((f.page - 1) * f.pageSize)) as ReconciliationRunRow[];
  return { items, total: Number(n) };
}

export async function searchDiscrepancies(
  db: Db,
  f: { runId?: number; day?: string; configId?: number; kind?: string; recordKind?: string; page: number; pageSize: number },
): Promise<{ items: DiscrepancyRow[]; total: number }> {
  const q = db('reconciliation_discrepancies');
  if (f.runId) q.where({ run_id: f.runId });
  if (f.day) q.where({ day: f.day });
  if (f.configId) q.where({ config_id: f.configId });
  if (f.kind) q.where({ kind: f.kind });
  if (f.recordKind) q.where({ record_kind: f.recordKind });
  const [{ n }] = (await q.clone().count({ n: '*' })) as Array<{ n: string | number }>;
  const items = (await q.select('*').orderBy('id').limit(f.pageSize).offset((f.page - 1) * f.pageSize)) as DiscrepancyRow[];
  return { items, total: Number(n) };
}
