/** A fresh, migrated database per test file on the suite's PostgreSQL (see global-setup.ts). */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { createDb, migrateLatest, type Db } from '../../db/connection';
import { SecretBox } from '../../security/secret-box';

export interface TestDb {
  db: Db;
  url: string;
  box: SecretBox;
  masterKey: Buffer;
  destroy(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
  const base = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!base) throw new Error('DATABASE_URL is not set: run the tests through jest (global setup starts PostgreSQL)');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: base, pool: { min: 0, max: 1 } });
  await admin.raw(`create database "${name}"`);
  await admin.destroy();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), 5);
  await migrateLatest(db);
  const masterKey = randomBytes(32);
  return {
    db,
    url: url.toString(),
    box: new SecretBox(masterKey),
    masterKey,
    destroy: async () => {
      await db.destroy();
      const a = knexFactory({ client: 'pg', connection: base, pool: { min: 0, max: 1 } });
      await a.raw(`drop database if exists "${name}" with (force)`);
      await a.destroy();
    },
  };
}
