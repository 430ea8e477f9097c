import type { Knex } from 'knex';

/** Core schema: apps, channel configs and channels, bindings, orders, notification attempts, nonces, callbacks. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('apps', (t) => {
    t.string('app_id', 32).primary();
    t.string('name', 64).notNullable();
    t.string('status', 16).notNullable().defaultTo('PENDING'); // PENDING | APPROVED | DISABLED
    t.string('notify_url', 512);
    t.string('return_url', 512);
    t.string('contact', 128);
    t.string('sign_type', 16).notNullable().defaultTo('HMAC-SHA256');
    t.text('app_key_enc').notNullable(); // AES-256-GCM under the master key
    t.text('previous_app_key_enc'); // still valid until previous_key_valid_until (key rotation)
    t.timestamp('previous_key_valid_until', { useTz: true });
    t.timestamps(true, true);
  });
  await knex.schema.createTable('channel_configs', (t) => {
    t.increments('id').primary();
    t.string('channel_type', 16).notNullable(); // ali-pay | wx-pay
    t.string('name', 64).notNullable();
    t.string('mch_id', 64).notNullable();
    t.string('provider_app_id', 64).notNullable();
    t.string('gateway_url', 512).notNullable();
    t.text('secrets_enc').notNullable(); // JSON of provider secrets, AES-256-GCM under the master key
    t.string('status', 16).notNullable().defaultTo('ACTIVE'); // ACTIVE | DISABLED
    t.timestamps(true, true);
  });
  await knex.schema.createTable('channels', (t) => {
    t.increments('id').primary();
    t.integer('config_id').notNullable().references('id').inTable('channel_configs');
    t.string('channel_type', 16).notNullable();
    t.string('channel_name', 64).notNullable();
    t.string('scene_code', 16).notNullable(); // h5 | native | app | jsapi
    t.string('scene_name', 32).notNullable();
    t.integer('sort').notNullable().defaultTo(1);
    t.string('status', 16).notNullable().defaultTo('ACTIVE');
    t.timestamps(true, true);
    t.unique(['config_id', 'scene_code']);
  });
  await knex.schema.createTable('app_channels', (t) => {
    t.increments('id').primary();
    t.string('app_id', 32).notNullable().references('app_id').inTable('apps');
    t.integer('channel_id').notNullable().references('id').inTable('channels');
    t.string('status', 16).notNullable().defaultTo('PENDING'); // PENDING | APPROVED | REJECTED
    t.integer('sort').notNullable().defaultTo(1);
    t.timestamps(true, true);
    t.unique(['app_id', 'channel_id']);
  });
  await knex.schema.createTable('orders', (t) => {
    t.bigIncrements('id').primary();
    t.string('app_id', 32).notNullable().references('app_id').inTable('apps');
    t.string('out_trade_no', 64).notNullable();
    t.bigInteger('amount').notNullable(); // integer fen
    t.string('order_title', 128).notNullable();
    t.string('goods_desc', 256).notNullable();
    t.string('third_party_user', 64).notNullable();
    t.string('notify_url', 512);
    t.string('return_url', 512);
    t.string('request_hash', 64).notNullable(); // sha256 of the canonical request: same outTradeNo, other content → 4090
    t.string('token', 64).notNullable().unique();
    t.timestamp('expire_at', { useTz: true }).notNullable();
    t.string('status', 16).notNullable().defaultTo('CREATED'); // CREATED | PAYING | SUCCESS | FAIL | CLOSED | FINISH
    t.jsonb('allowed_channel_ids'); // set by /payment/list
    t.integer('channel_id');
    t.string('channel_type', 16);
    t.string('mch_id', 64);
    t.string('provider_trade_no', 64);
    t.timestamp('pay_time', { useTz: true });
    t.string('result_error_code', 64);
    t.string('result_error_msg', 256);
    t.string('notify_status', 24).notNullable().defaultTo('NONE'); // NONE | PENDING | ACKED | NOTIFY_EXHAUSTED | STOPPED
    t.string('workflow_id', 200).notNullable();
    t.timestamp('workflow_started_at', { useTz: true });
    t.timestamps(true, true);
    t.unique(['app_id', 'out_trade_no']);
    t.index(['status', 'created_at']);
  });
  await knex.schema.createTable('notification_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('order_id').notNullable().references('id').inTable('orders');
    t.integer('attempt').notNullable();
    t.string('trigger', 16).notNullable(); // SCHEDULE | RENOTIFY
    t.timestamp('scheduled_at', { useTz: true }).notNullable(); // workflow clock
    t.timestamp('started_at', { useTz: true }).notNullable(); // activity clock
    t.integer('http_status');
    t.integer('latency_ms').notNullable();
    t.boolean('acknowledged').notNullable();
    t.string('error', 512);
    t.unique(['order_id', 'attempt']);
  });
  await knex.schema.createTable('nonces', (t) => {
    t.string('app_id', 32).notNullable();
    t.string('nonce', 64).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
    t.primary(['app_id', 'nonce']);
  });
  await knex.schema.createTable('provider_callbacks', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('order_id').references('id').inTable('orders');
    t.integer('config_id').notNullable();
    t.string('channel_type', 16).notNullable();
    t.string('event_id', 128);
    t.string('out_trade_no', 64);
    t.string('outcome', 16); // SUCCESS | FINISH | FAIL | CLOSED | ...
    t.string('result', 24).notNullable(); // ACCEPTED | REJECTED | MISMATCH
    t.string('detail', 512);
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['provider_callbacks', 'nonces', 'notification_attempts', 'orders', 'app_channels', 'channels', 'channel_configs', 'apps']) {
    await knex.schema.dropTableIfExists(table);
  }
}
