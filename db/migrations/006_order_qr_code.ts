import type { Knex } from 'knex';

/**
 * The QR payload (Native code_url / qr_code) the provider returned for an order's latest QR prepay. The hosted
 * cashier's qr.svg draws only this, so the endpoint cannot be used to put arbitrary links in a QR code on our
 * domain.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.text('qr_code');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('qr_code');
  });
}
