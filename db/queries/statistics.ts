/**
 * The console's statistics and exports. Statistics group live rows by Asia/Shanghai day, from orders alone: each
 * order carries its notification health (first_notify_acked, notify_ack_ms, kept by the attempt writer), and the
 * covering partial indexes of migration 004 make a 30-day window an index-only scan however many orders exist
 * (measured in `npm run bench`). Exports page through rows by id, so any date range streams
 * in bounded memory.
 */
import type { Db } from '../connection';

export interface StatsFilter {
  from: Date;
  to: Date;
  appId?: string;
  channelType?: string;
  sceneCode?: string;
}

export interface DailyStats {
  day: string;
  created: number;
  paidCount: number;
  paidAmount: number;
  refundCount: number;
  refundAmount: number;
  /** Paid orders whose first notification attempt was made / acknowledged. */
  notified: number;
  firstAttemptAcked: number;
  exhausted: number;
  /** p95 of (first acknowledged attempt start − pay time), ms; null without acknowledgements. */
  p95AckMs: number | null;
}

/** The Asia/Shanghai date of a timestamp; grouped on as a date and formatted only once per day (to_char per row is costly). */
const DAY_SQL = (col: string) => `(${col} at time zone 'Asia/Shanghai')::date`;

/** Filters on orders `o` joined to their chosen channel `c` (scene lives on the channel). */
function orderFilter(f: StatsFilter): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  const add = (sql: string, key: string, value: string | undefined) => {
    if (value === undefined) return;
    parts.push(sql);
    params[key] = value;
  };
  add('o.app_id = :appId', 'appId', f.appId);
  add('o.channel_type = :channelType', 'channelType', f.channelType);
  add('c.scene_code = :sceneCode', 'sceneCode', f.sceneCode);
  return { sql: parts.map((p) => ` and ${p}`).join(''), params };
}

export async function dailyStats(db: Db, f: StatsFilter): Promise<DailyStats[]> {
  const of = orderFilter(f);
  const p = { from: f.from, to: f.to, ...of.params };
  const join = f.sceneCode ? 'join channels c on c.id = o.channel_id' : '';
  const [created, paid, refunds] = await Promise.all([
    db.raw(`select ${DAY_SQL('o.created_at')} as day, count(*) as n from orders o ${join} where o.created_at >= :from and o.created_at < :to${of.sql} group by 1`, p),
    db.raw(
      `select ${DAY_SQL('o.pay_time')} as day, count(*) as n, coalesce(sum(o.amount), 0) as amount,
              count(o.first_notify_acked) as notified,
              count(*) filter (where o.first_notify_acked) as first_acked,
              count(*) filter (where o.notify_status = 'NOTIFY_EXHAUSTED') as exhausted,
              percentile_cont(0.95) within group (order by o.notify_ack_ms) as p95_ack_ms
         from orders o ${join}
        where o.pay_time >= :from and o.pay_time < :to and o.status in ('SUCCESS', 'FINISH')${of.sql}
        group by 1`,
      p,
    ),
    db.raw(
      `select ${DAY_SQL('r.refund_time')} as day, count(*) as n, coalesce(sum(r.amount), 0) as amount
         from refunds r
        where r.refund_time >= :from and r.refund_time < :to and r.status = 'SUCCESS' and r.payment_exception_id is null
          ${f.appId ? 'and r.app_id = :appId' : ''} ${f.channelType ? 'and r.channel_type = :channelType' : ''} ${f.sceneCode ? 'and r.scene_code = :sceneCode' : ''}
        group by 1`,
      p,
    ),
  ]);
  const days = new Map<string, DailyStats>();
  const at = (day: string) => {
    let d = days.get(day);
    if (!d) days.set(day, (d = { day, created: 0, paidCount: 0, paidAmount: 0, refundCount: 0, refundAmount: 0, notified: 0, firstAttemptAcked: 0, exhausted: 0, p95AckMs: null }));
    return d;
  };
  const dayOf = (d: string) => d; // date columns arrive as yyyy-MM-dd (db/connection.ts)
  for (const r of created.rows) at(dayOf(r.day)).created = Number(r.n);
  for (const r of paid.rows) {
    Object.assign(at(dayOf(r.day)), {
      paidCount: Number(r.n),
      paidAmount: Number(r.amount),
      notified: Number(r.notified),
      firstAttemptAcked: Number(r.first_acked),
      exhausted: Number(r.exhausted),
      p95AckMs: r.p95_ack_ms === null ? null : Math.round(Number(r.p95_ack_ms)),
    });
  }
  for (const r of refunds.rows) Object.assign(at(dayOf(r.day)), { refundCount: Number(r.n), refundAmount: Number(r.amount) });
  return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
}

export interface ExportFilter {
  from: Date;
  to: Date;
  appId?: string;
}

const EXPORT_PAGE = 2000;

/** The columns of each export, in order (also the CSV header, written even for an empty range). */
export const ORDER_EXPORT_COLUMNS = ['id', 'app_id', 'out_trade_no', 'amount', 'status', 'channel_type', 'mch_id', 'provider_trade_no', 'pay_time', 'refund_reserved', 'notify_status', 'created_at'] as const;
export const REFUND_EXPORT_COLUMNS = ['id', 'app_id', 'out_refund_no', 'out_trade_no', 'source', 'amount', 'status', 'channel_type', 'refund_time', 'result_error_code', 'created_at'] as const;

export async function countOrdersForExport(db: Db, f: ExportFilter): Promise<number> {
  const q = db('orders').where('created_at', '>=', f.from).where('created_at', '<', f.to);
  if (f.appId) q.where({ app_id: f.appId });
  return Number((await q.count({ n: '*' }).first())!.n);
}

/** Orders created in [from, to), a page at a time by id: memory stays bounded for any range. */
export async function* exportOrders(db: Db, f: ExportFilter): AsyncGenerator<Record<string, unknown>[]> {
  let after = 0;
  for (;;) {
    const q = db('orders')
      .where('created_at', '>=', f.from)
      .where('created_at', '<', f.to)
      .where('id', '>', after)
      .orderBy('id')
      .limit(EXPORT_PAGE)
      .select(...ORDER_EXPORT_COLUMNS);
    if (f.appId) q.where({ app_id: f.appId });
    const rows = (await q) as Array<Record<string, unknown> & { id: number }>;
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1].id;
  }
}

export async function countRefundsForExport(db: Db, f: ExportFilter): Promise<number> {
  const q = db('refunds').where('created_at', '>=', f.from).where('created_at', '<', f.to);
  if (f.appId) q.where({ app_id: f.appId });
  return Number((await q.count({ n: '*' }).first())!.n);
}

export async function* exportRefunds(db: Db, f: ExportFilter): AsyncGenerator<Record<string, unknown>[]> {
  let after = 0;
  for (;;) {
    const q = db('refunds as r')
      .join('orders as o', 'o.id', 'r.order_id')
      .where('r.created_at', '>=', f.from)
      .where('r.created_at', '<', f.to)
      .where('r.id', '>', after)
      .orderBy('r.id')
      .limit(EXPORT_PAGE)
      .select(REFUND_EXPORT_COLUMNS.map((c) => (c === 'out_trade_no' ? 'o.out_trade_no' : `r.${c}`)));
    if (f.appId) q.where('r.app_id', f.appId);
    const rows = (await q) as Array<Record<string, unknown> & { id: number }>;
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1].id;
  }
}
