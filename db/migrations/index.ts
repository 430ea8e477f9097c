/**
 * Migrations are listed here rather than discovered on disk, so the same code runs under tsx, ts-jest and the
 * compiled dist/ build without knex having to load .ts files itself.
 */
import type { Knex } from 'knex';
import * as m001 from './001_core';
import * as m002 from './002_operator';
import * as m003 from './003_refunds';
import * as m004 from './004_reconciliation';
import * as m005 from './005_transfers';
import * as m006 from './006_order_qr_code';
import * as m007 from './007_key_rotation_use';
import * as m008 from './008_rate_limits';

const migrations: Record<string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }> = {
  '001_core': m001,
  '002_operator': m002,
  '003_refunds': m003,
  '004_reconciliation': m004,
  '005_transfers': m005,
  '006_order_qr_code': m006,
  '007_key_rotation_use': m007,
  '008_rate_limits': m008,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
