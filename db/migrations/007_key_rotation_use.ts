import type { Knex } from 'knex';

/**
 * Key rotation without breaking notifications: when the app first authenticated a request with its current key
 * while the previous key was still valid. Until then notifications stay signed with the previous key, the one
 * the merchant is known to hold (db/queries/apps.ts notificationKey). Reset by every rotation.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('apps', (t) => {
    t.timestamp('new_key_first_used_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('apps', (t) => {
    t.dropColumn('new_key_first_used_at');
  });
}
