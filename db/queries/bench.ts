/** Read-only queries of `npm run bench`: what its orders became, by the merchant's order numbers. */
import type { Db } from '../connection';

/** Each notification attempt of these orders' payment results: attempt number and lateness (started − scheduled). */
export async function notificationLateness(db: Db, outTradeNos: readonly string[]): Promise<Array<{ attempt: number; lateMs: number }>> {
  const rows = (await db('notification_attempts as a')
    .join('orders as o', 'o.id', 'a.order_id')
    .whereIn('o.out_trade_no', outTradeNos)
    .whereNull('a.refund_id')
    .select('a.attempt', db.raw('extract(epoch from (a.started_at - a.scheduled_at)) * 1000 as late_ms'))) as Array<{ attempt: number; late_ms: string }>;
  return rows.map((r) => ({ attempt: r.attempt, lateMs: Number(r.late_ms) }));
}

export async function countOrdersIn(db: Db, outTradeNos: readonly string[], statuses: readonly string[]): Promise<number> {
  const r = (await db('orders').whereIn('out_trade_no', outTradeNos).whereIn('status', statuses).count('* as n').first()) as { n: string };
  return Number(r.n);
}

export async function countOpenOrders(db: Db): Promise<number> {
  const r = (await db('orders').whereIn('status', ['CREATED', 'PAYING']).count('* as n').first()) as { n: string };
  return Number(r.n);
}

/** The latest last write after expiry among these orders (for orders without notifications: their closing). */
export async function maxMsAfterExpiry(db: Db, outTradeNos: readonly string[]): Promise<number | null> {
  const r = (await db('orders').whereIn('out_trade_no', outTradeNos).max({ ms: db.raw('extract(epoch from (updated_at - expire_at)) * 1000') }).first()) as { ms: string | null };
  return r.ms === null ? null : Math.round(Number(r.ms));
}

export async function workflowIdsOf(db: Db, outTradeNos: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  // In slices: a parameter list of 10,000 is fine for PostgreSQL, but keep each statement modest.
  for (let i = 0; i < outTradeNos.length; i += 1000) {
    const rows = (await db('orders').whereIn('out_trade_no', outTradeNos.slice(i, i + 1000)).select('workflow_id')) as Array<{ workflow_id: string }>;
    ids.push(...rows.map((r) => r.workflow_id));
  }
  return ids;
}
