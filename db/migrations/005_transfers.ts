import type { Knex } from 'knex';

/**
 * Transfers (转账): per-app settings (off by default), the transfers, and the per-day reservation that keeps an
 * app's PROCESSING and SUCCESS transfers of a day within its daily limit under any concurrency (one conditional
 * upsert per transfer, row-locked by PostgreSQL). Notification attempts gain transfers as a subject.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('app_transfer_settings', (t) => {
    t.string('app_id', 32).primary().references('app_id').inTable('apps');
    t.boolean('enabled').notNullable().defaultTo(false);
    t.bigInteger('max_per_transfer').notNullable().defaultTo(0); // fen
    t.bigInteger('daily_limit').notNullable().defaultTo(0); // fen, Asia/Shanghai day
    t.bigInteger('approval_threshold').notNullable().defaultTo(0); // fen; above it an administrator decides
    t.string('updated_by', 64);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('transfer_daily_totals', (t) => {
    t.string('app_id', 32).notNullable();
    t.date('day').notNullable();
    t.bigInteger('reserved').notNullable().defaultTo(0); // fen of the day's PENDING/PROCESSING/SUCCESS transfers
    t.primary(['app_id', 'day']);
  });
  await knex.raw('alter table transfer_daily_totals add constraint transfer_daily_totals_reserved_non_negative check (reserved >= 0)');
  await knex.schema.createTable('transfers', (t) => {
    t.bigIncrements('id').primary(); // transferId
    t.string('app_id', 32).notNullable().references('app_id').inTable('apps');
    t.string('out_biz_no', 64).notNullable();
    t.string('channel_type', 16).notNullable();
    t.integer('config_id').notNullable();
    t.string('mch_id', 64).notNullable();
    t.bigInteger('amount').notNullable();
    t.string('payee_type', 24).notNullable();
    t.string('payee_account', 128).notNullable();
    t.string('payee_name', 64);
    t.string('remark', 128).notNullable();
    t.string('notify_url', 512);
    t.string('request_hash', 64).notNullable();
    t.date('day').notNullable(); // the Asia/Shanghai day its amount counts against
    t.boolean('needs_approval').notNullable();
    t.string('status', 24).notNullable(); // PENDING_APPROVAL | PROCESSING | WAIT_USER_CONFIRM | SUCCESS | FAIL | CANCELLED
    t.string('decided_by', 64);
    t.timestamp('decided_at', { useTz: true });
    t.string('decision_note', 256);
    t.string('provider_transfer_id', 64);
    t.jsonb('confirm'); // what the payee's client needs while WAIT_USER_CONFIRM
    t.timestamp('transfer_time', { useTz: true });
    t.string('result_error_code', 64);
    t.string('result_error_msg', 256);
    t.string('notify_status', 24).notNullable().defaultTo('NONE');
    t.string('workflow_id', 200).notNullable();
    t.timestamp('workflow_started_at', { useTz: true });
    t.timestamps(true, true);
    t.unique(['app_id', 'out_biz_no']);
    t.index(['status', 'created_at']);
  });
  await knex.raw('alter table transfers add constraint transfers_amount_positive check (amount > 0)');

  await knex.schema.alterTable('notification_attempts', (t) => {
    t.bigInteger('transfer_id').references('id').inTable('transfers');
  });
  await knex.raw('alter table notification_attempts alter column order_id drop not null');
  await knex.raw('drop index notification_attempts_subject_attempt');
  await knex.raw('create unique index notification_attempts_subject_attempt on notification_attempts (order_id, refund_id, transfer_id, attempt) nulls not distinct');
  await knex.raw('alter table notification_attempts add constraint notification_attempts_one_subject check (order_id is not null or transfer_id is not null)');
}

export async function down(knex: Knex): Promise<void> {
  await knex('notification_attempts').whereNotNull('transfer_id').delete();
  await knex.raw('alter table notification_attempts drop constraint notification_attempts_one_subject');
  await knex.raw('drop index notification_attempts_subject_attempt');
  await knex.raw('create unique index notification_attempts_subject_attempt on notification_attempts (order_id, refund_id, attempt) nulls not distinct');
  await knex.raw('alter table notification_attempts alter column order_id set not null');
  await knex.schema.alterTable('notification_attempts', (t) => {
    t.dropColumn('transfer_id');
  });
  await knex.schema.dropTableIfExists('transfers');
  await knex.schema.dropTableIfExists('transfer_daily_totals');
  await knex.schema.dropTableIfExists('app_transfer_settings');
}
