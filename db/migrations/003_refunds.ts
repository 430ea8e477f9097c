import type { Knex } from 'knex';

/**
 * Refunds and payment exceptions. The refund invariant (SUCCESS + PROCESSING refunds ≤ paid amount) is held
 * by a reservation counter on the refunded row (orders / payment_exceptions) that every refund moves in the
 * same transaction as its own row, with a CHECK constraint as the last line of defence.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.bigInteger('refund_reserved').notNullable().defaultTo(0); // fen of SUCCESS + PROCESSING refunds
  });
  await knex.raw('alter table orders add constraint orders_refund_reserved_within_amount check (refund_reserved >= 0 and refund_reserved <= amount)');

  await knex.schema.createTable('payment_exceptions', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('order_id').notNullable().references('id').inTable('orders');
    t.string('app_id', 32).notNullable();
    t.string('kind', 24).notNullable(); // LATE_PAYMENT | DUPLICATE_PAYMENT | AMOUNT_MISMATCH
    t.integer('channel_id').notNullable();
    t.string('channel_type', 16).notNullable();
    t.string('scene_code', 16).notNullable();
    t.integer('config_id').notNullable();
    t.string('mch_id', 64).notNullable();
    t.string('provider_out_trade_no', 64).notNullable(); // the trade that took the money
    t.string('provider_trade_no', 64);
    t.bigInteger('amount').notNullable(); // fen the provider reports paid
    t.string('order_status', 16).notNullable(); // the order's result when the money arrived
    t.string('detected_by', 64).notNullable(); // callback <event id> | query | ...
    t.string('status', 16).notNullable().defaultTo('OPEN'); // OPEN | REFUNDING | REFUNDED | REFUND_FAILED
    t.bigInteger('refund_reserved').notNullable().defaultTo(0);
    t.timestamps(true, true);
    // One exception per provider trade and kind: a redelivered callback finds the one recorded.
    t.unique(['config_id', 'provider_out_trade_no', 'kind']);
    t.index(['status', 'created_at']);
    t.index(['order_id']);
  });
  await knex.raw('alter table payment_exceptions add constraint payment_exceptions_refund_reserved_within_amount check (refund_reserved >= 0 and refund_reserved <= amount)');

  await knex.schema.createTable('refunds', (t) => {
    t.bigIncrements('id').primary(); // refundId
    t.string('app_id', 32).notNullable().references('app_id').inTable('apps');
    t.string('out_refund_no', 64).notNullable(); // merchant's, or `exception:<id>` for automatic refunds
    t.bigInteger('order_id').notNullable().references('id').inTable('orders');
    t.bigInteger('payment_exception_id').references('id').inTable('payment_exceptions'); // set: refunds that exception's money
    t.string('source', 16).notNullable(); // MERCHANT | ADMIN | EXCEPTION
    t.string('created_by', 64); // administrator username for ADMIN refunds
    t.bigInteger('amount').notNullable(); // integer fen
    t.string('reason', 128);
    t.string('notify_url', 512);
    t.string('request_hash', 64).notNullable(); // same outRefundNo, other content → 4090
    // The paid provider trade being refunded and the channel it was paid through.
    t.integer('channel_id').notNullable();
    t.string('channel_type', 16).notNullable();
    t.string('scene_code', 16).notNullable();
    t.integer('config_id').notNullable();
    t.string('mch_id', 64).notNullable();
    t.string('provider_out_trade_no', 64).notNullable();
    t.bigInteger('trade_amount').notNullable(); // the trade's paid total (WeChat wants it with each refund)
    t.string('provider_refund_id', 64); // the provider's own refund id, once known
    t.string('status', 16).notNullable().defaultTo('PROCESSING'); // PROCESSING | SUCCESS | FAIL
    t.timestamp('refund_time', { useTz: true });
    t.string('result_error_code', 64);
    t.string('result_error_msg', 256);
    t.string('notify_status', 24).notNullable().defaultTo('NONE');
    t.string('workflow_id', 200).notNullable();
    t.timestamp('workflow_started_at', { useTz: true });
    t.timestamps(true, true);
    t.unique(['app_id', 'out_refund_no']);
    t.index(['order_id']);
    t.index(['status', 'created_at']);
  });
  await knex.raw("alter table refunds add constraint refunds_amount_positive check (amount > 0)");

  // Notification attempts of refunds live beside the orders' (same schedule, same evidence).
  await knex.schema.alterTable('notification_attempts', (t) => {
    t.bigInteger('refund_id').references('id').inTable('refunds');
    t.dropUnique(['order_id', 'attempt']);
  });
  await knex.raw('create unique index notification_attempts_subject_attempt on notification_attempts (order_id, refund_id, attempt) nulls not distinct');

  await knex.schema.alterTable('provider_callbacks', (t) => {
    t.string('kind', 16).notNullable().defaultTo('PAYMENT'); // PAYMENT | REFUND
    t.string('out_refund_no', 64);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('provider_callbacks', (t) => {
    t.dropColumn('kind');
    t.dropColumn('out_refund_no');
  });
  await knex('notification_attempts').whereNotNull('refund_id').delete();
  await knex.raw('drop index notification_attempts_subject_attempt');
  await knex.schema.alterTable('notification_attempts', (t) => {
    t.dropColumn('refund_id');
    t.unique(['order_id', 'attempt']);
  });
  await knex.schema.dropTableIfExists('refunds');
  await knex.schema.dropTableIfExists('payment_exceptions');
  await knex.raw('alter table orders drop constraint orders_refund_reserved_within_amount');
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('refund_reserved');
  });
}
