/** The merchant statement of one day: an app's payments and successful refunds, by time (Asia/Shanghai day). */
import type { Db } from '../connection';

export interface StatementRow {
  type: 'PAYMENT' | 'REFUND';
  order_id: number;
  out_trade_no: string;
  refund_id: number | null;
  out_refund_no: string | null;
  channel_type: string | null;
  provider_trade_no: string | null;
  amount: number;
  at: Date;
}

/**
 * Payments (orders paid that day) and refunds (of those orders' own money, succeeded that day). Exception money
 * (late or duplicate payments and their refunds) never touched the merchant's orders and is not listed.
 */
export async function statementRows(db: Db, appId: string, start: Date, end: Date): Promise<StatementRow[]> {
  const { rows } = await db.raw(
    `select 'PAYMENT' as type, o.id as order_id, o.out_trade_no, null::bigint as refund_id, null as out_refund_no, o.channel_type,
            o.provider_trade_no, o.amount, o.pay_time as at
       from orders o
      where o.app_id = :appId and o.status in ('SUCCESS', 'FINISH') and o.pay_time >= :start and o.pay_time < :end
     union all
     select 'REFUND', r.order_id, o.out_trade_no, r.id, r.out_refund_no, r.channel_type, o.provider_trade_no, r.amount, r.refund_time
       from refunds r join orders o on o.id = r.order_id
      where r.app_id = :appId and r.status = 'SUCCESS' and r.payment_exception_id is null and r.refund_time >= :start and r.refund_time < :end
     order by at, type, order_id, refund_id`,
    { appId, start, end },
  );
  return rows as StatementRow[];
}
