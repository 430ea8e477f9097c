import type { Knex } from 'knex';

/**
 * Operator side: administrator sessions, login attempts (rate limiting), the audit log, and the
 * bookkeeping of channel-binding applications and app key rotation on the existing tables.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('admin_sessions', (t) => {
    t.string('id_hash', 64).primary(); // sha256 of the cookie value: a database dump holds no usable session
    t.string('username', 64).notNullable();
    t.string('csrf_token', 64).notNullable(); // synchronizer token, sent back in X-CSRF-Token
    t.string('ip', 64);
    t.string('user_agent', 256);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()); // idle expiry
    t.timestamp('expires_at', { useTz: true }).notNullable().index(); // absolute expiry
  });
  await knex.schema.createTable('admin_login_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.string('username', 64).notNullable(); // as typed (lower-cased, truncated); never the password
    t.string('ip', 64).notNullable();
    t.boolean('success').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['username', 'at']);
    t.index(['ip', 'at']);
  });
  await knex.schema.createTable('admin_audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).index();
    t.string('actor', 64).notNullable(); // administrator username, `app:<appId>`, `system` or `anonymous`
    t.string('action', 48).notNullable(); // e.g. app.approve, binding.reject, order.renotify
    t.string('target_type', 32);
    t.string('target_id', 128);
    t.string('ip', 64);
    t.string('outcome', 16).notNullable().defaultTo('OK'); // OK | DENIED | FAILED
    t.jsonb('detail'); // field names and non-secret values only
    t.index(['target_type', 'target_id']);
    t.index(['action', 'at']);
  });
  await knex.schema.alterTable('app_channels', (t) => {
    t.timestamp('applied_at', { useTz: true });
    t.timestamp('auto_approve_at', { useTz: true }); // when 方式二 approves it unless rejected (the workflow's timer decides)
    t.timestamp('decided_at', { useTz: true });
    t.string('decided_by', 64); // administrator username or system:auto-approve
    t.string('decision_note', 256);
    t.string('workflow_id', 200);
    t.index(['status', 'applied_at']);
  });
  await knex.schema.alterTable('apps', (t) => {
    t.timestamp('key_rotated_at', { useTz: true });
    t.timestamp('status_changed_at', { useTz: true });
    t.index(['status', 'created_at']);
  });
  await knex.schema.alterTable('orders', (t) => {
    t.index(['out_trade_no']);
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['out_trade_no']);
    t.dropIndex(['created_at']);
  });
  await knex.schema.alterTable('apps', (t) => {
    t.dropIndex(['status', 'created_at']);
    t.dropColumns('key_rotated_at', 'status_changed_at');
  });
  await knex.schema.alterTable('app_channels', (t) => {
    t.dropIndex(['status', 'applied_at']);
    t.dropColumns('applied_at', 'auto_approve_at', 'decided_at', 'decided_by', 'decision_note', 'workflow_id');
  });
  for (const table of ['admin_audit_log', 'admin_login_attempts', 'admin_sessions']) await knex.schema.dropTableIfExists(table);
}
