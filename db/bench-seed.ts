/**
 * Synthetic volume for `npm run bench`: orders, notification attempts and refunds spread over the last 60 days,
 * generated inside PostgreSQL (generate_series), so a million rows take seconds and never pass through Node.
 */
import type { Db } from './connection';

export async function seedVolume(db: Db, opts: { appId: string; channels: Array<{ channelId: number; channelType: string; mchId: string; configId: number; sceneCode: string }>; orders: number }): Promise<void> {
  const [a, b] = opts.channels;
  await db.raw(
    `insert into orders (app_id, out_trade_no, amount, order_title, goods_desc, third_party_user, request_hash, token, expire_at, status,
                         channel_id, channel_type, mch_id, provider_trade_no, pay_time, notify_status, first_notify_acked, notify_ack_ms,
                         workflow_id, workflow_started_at, created_at, updated_at)
     select :appId, 'B' || g, 100 + (g * 7919) % 99900, 'bench', 'bench', 'u', 'x', md5('t' || g), now(),
            case when g % 10 < 7 then 'SUCCESS' when g % 10 < 9 then 'CLOSED' else 'PAYING' end,
            case when g % 2 = 0 then cast(:chA as int) else cast(:chB as int) end, case when g % 2 = 0 then cast(:typeA as text) else cast(:typeB as text) end,
            case when g % 2 = 0 then cast(:mchA as text) else cast(:mchB as text) end,
            case when g % 10 < 7 then 'P' || g end,
            case when g % 10 < 7 then now() - ((g * 104729) % (60 * 86400)) * interval '1 second' + interval '30 second' end,
            case when g % 10 < 6 then 'ACKED' when g % 10 = 6 then 'NOTIFY_EXHAUSTED' else 'NONE' end,
            case when g % 10 < 7 then g % 10 < 6 end, case when g % 10 < 6 then 200 + (g % 5000) end,
            'bench:' || g, now(), now() - ((g * 104729) % (60 * 86400)) * interval '1 second', now()
       from generate_series(1::bigint, cast(:n as bigint)) g`,
    { appId: opts.appId, n: opts.orders, chA: a.channelId, chB: b.channelId, typeA: a.channelType, typeB: b.channelType, mchA: a.mchId, mchB: b.mchId },
  );
  await db.raw(
    `insert into notification_attempts (order_id, attempt, trigger, scheduled_at, started_at, http_status, latency_ms, acknowledged)
     select o.id, 1, 'SCHEDULE', o.pay_time, o.pay_time + interval '200 millisecond', case when o.notify_status = 'ACKED' then 200 else 500 end, 50, o.notify_status = 'ACKED'
       from orders o where o.app_id = :appId and o.pay_time is not null`,
    { appId: opts.appId },
  );
  await db.raw(
    `insert into refunds (app_id, out_refund_no, order_id, source, amount, request_hash, channel_id, channel_type, scene_code, config_id, mch_id,
                          provider_out_trade_no, trade_amount, status, refund_time, notify_status, workflow_id, workflow_started_at, created_at, updated_at)
     select o.app_id, 'BR' || o.id, o.id, 'MERCHANT', greatest(1, o.amount / 2), 'x', o.channel_id, o.channel_type,
            case when o.channel_id = cast(:chA as int) then cast(:sceneA as text) else cast(:sceneB as text) end,
            case when o.channel_id = cast(:chA as int) then cast(:cfgA as int) else cast(:cfgB as int) end, o.mch_id,
            'CD' || lpad(o.id::text, 10, '0') || 'C' || o.channel_id, o.amount, 'SUCCESS', o.pay_time + interval '1 hour', 'ACKED', 'bench-refund:' || o.id, now(), o.pay_time, now()
       from orders o where o.app_id = :appId and o.status = 'SUCCESS' and o.id % 20 = 0`,
    { appId: opts.appId, chA: a.channelId, sceneA: a.sceneCode, cfgA: a.configId, sceneB: b.sceneCode, cfgB: b.configId },
  );
  await db.raw('update orders set refund_reserved = greatest(1, amount / 2) where app_id = ? and status = ? and id % 20 = 0', [opts.appId, 'SUCCESS']);
  // What autovacuum does to a live database: statistics, and the visibility map index-only scans rely on.
  await db.raw('vacuum analyze orders');
  await db.raw('vacuum analyze notification_attempts');
  await db.raw('vacuum analyze refunds');
}
