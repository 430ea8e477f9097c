import type { Knex } from 'knex';

/**
 * Reconciliation (对账): one run per (day, channel config), replaced when the day is reconciled again, its
 * discrepancies, and the bill rows staged while a run compares them (streamed in, compared in SQL, deleted).
 * Plus the indexes the statistics and the merchant statement read by.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('reconciliation_runs', (t) => {
    t.bigIncrements('id').primary();
    t.date('day').notNullable(); // Asia/Shanghai business day of the bill
    t.integer('config_id').notNullable().references('id').inTable('channel_configs');
    t.string('channel_type', 16).notNullable();
    t.string('status', 16).notNullable(); // RUNNING | DONE | FAILED
    t.string('trigger', 16).notNullable(); // SCHEDULE | ADMIN
    t.string('requested_by', 64);
    t.integer('attempt').notNullable().defaultTo(1); // how many times this day was reconciled
    t.integer('provider_payment_count');
    t.bigInteger('provider_payment_amount');
    t.integer('provider_refund_count');
    t.bigInteger('provider_refund_amount');
    t.integer('local_payment_count');
    t.bigInteger('local_payment_amount');
    t.integer('local_refund_count');
    t.bigInteger('local_refund_amount');
    t.integer('discrepancy_count');
    t.string('error', 512);
    t.string('workflow_id', 200).notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.unique(['day', 'config_id']);
  });
  await knex.schema.createTable('reconciliation_discrepancies', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('run_id').notNullable().references('id').inTable('reconciliation_runs').onDelete('CASCADE');
    t.date('day').notNullable();
    t.integer('config_id').notNullable();
    t.string('kind', 24).notNullable(); // MISSING_LOCAL | MISSING_PROVIDER | AMOUNT_MISMATCH | STATUS_MISMATCH
    t.string('record_kind', 16).notNullable(); // PAYMENT | REFUND
    t.string('provider_out_trade_no', 64);
    t.string('provider_trade_no', 64);
    t.string('out_refund_no', 64); // the refund request number sent to the provider
    t.bigInteger('order_id');
    t.bigInteger('refund_id');
    t.bigInteger('provider_amount');
    t.bigInteger('local_amount');
    t.string('local_status', 16);
    t.string('resolution', 24); // HEALED | EXCEPTION | UNKNOWN_TRADE | NOT_PAID | null (open)
    t.string('detail', 256);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['day', 'config_id']);
    t.index(['kind', 'created_at']);
  });
  await knex.schema.createTable('reconciliation_bill_rows', (t) => {
    t.bigInteger('run_id').notNullable().references('id').inTable('reconciliation_runs').onDelete('CASCADE');
    t.string('kind', 8).notNullable(); // PAYMENT | REFUND
    t.string('provider_out_trade_no', 64).notNullable();
    t.string('provider_trade_no', 64);
    t.string('out_refund_no', 64);
    t.bigInteger('amount').notNullable();
    t.timestamp('at', { useTz: true });
    t.index(['run_id', 'kind', 'provider_out_trade_no']);
  });
  // Notification health per order, kept by the notification-attempt writer, so statistics read orders alone.
  await knex.schema.alterTable('orders', (t) => {
    t.boolean('first_notify_acked'); // attempt 1 acknowledged (null: no attempt yet)
    t.integer('notify_ack_ms'); // ms from payment to the first acknowledged attempt
  });
  await knex.raw(`update orders o set first_notify_acked = a.acknowledged from notification_attempts a where a.order_id = o.id and a.refund_id is null and a.attempt = 1`);
  await knex.raw(`update orders o set notify_ack_ms = greatest(0, floor(extract(epoch from (a.at - o.pay_time)) * 1000))::int
                    from (select order_id, min(started_at) as at from notification_attempts where refund_id is null and acknowledged group by order_id) a
                   where a.order_id = o.id and o.pay_time is not null`);
  // Statistics and statements read orders by payment day and refunds by refund day. The paid-orders index
  // covers every column the dashboard aggregates, so a 30-day window is an index-only scan.
  await knex.raw(
    `create index orders_paid_by_pay_time on orders (pay_time)
       include (amount, app_id, channel_type, channel_id, notify_status, first_notify_acked, notify_ack_ms)
       where status in ('SUCCESS', 'FINISH')`,
  );
  await knex.raw('create index orders_created_at on orders (created_at) include (app_id, channel_type, channel_id)');
  await knex.raw('create index refunds_refund_time on refunds (refund_time) where refund_time is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists refunds_refund_time');
  await knex.raw('drop index if exists orders_created_at');
  await knex.raw('drop index if exists orders_paid_by_pay_time');
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('first_notify_acked');
    t.dropColumn('notify_ack_ms');
  });
  await knex.schema.dropTableIfExists('reconciliation_bill_rows');
  await knex.schema.dropTableIfExists('reconciliation_discrepancies');
  await knex.schema.dropTableIfExists('reconciliation_runs');
}
