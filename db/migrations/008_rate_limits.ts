import type { Knex } from 'knex';

/**
 * Rate-limit counters shared by every API process (rate-limiter-flexible's RateLimiterPostgres, told the table
 * exists): one row per limited key and window. Expired rows are deleted by the limiter (index on expire).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary(); // "<limiter>:<client IP or app id>"
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire'); // epoch ms the window ends
    t.index(['expire']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_limits');
}
