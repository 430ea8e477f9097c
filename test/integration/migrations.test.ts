/** Every migration goes up, all the way down, and up again on a real PostgreSQL. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { migrateLatest, migrateRollbackAll } from '../../db/connection';
import { createTestDb, type TestDb } from '../support/db';

const ROOT = path.resolve(__dirname, '..', '..');
let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(); // already migrated to latest
});
afterAll(async () => t?.destroy());

const tables = async () =>
  (await t.db.raw(`select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'knex_%' order by 1`)).rows.map((r: { table_name: string }) => r.table_name);

test('down removes every table, up restores the same schema', async () => {
  const before = await tables();
  expect(before).toEqual(expect.arrayContaining(['apps', 'channel_configs', 'channels', 'app_channels', 'orders', 'notification_attempts', 'nonces', 'provider_callbacks']));
  await migrateRollbackAll(t.db);
  expect(await tables()).toEqual([]);
  await migrateLatest(t.db);
  expect(await tables()).toEqual(before);
});

test('npm run migrate (the compose `migrate` service) applies pending migrations, is a no-op after, and exits 1 on failure', async () => {
  const before = await tables();
  await migrateRollbackAll(t.db);
  const migrate = (databaseUrl: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' }, encoding: 'utf8', timeout: 60_000 });
  const first = migrate(t.url);
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  expect(first.stdout).toContain('migrations applied');
  expect(await tables()).toEqual(before);
  const again = migrate(t.url);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('schema up to date');
  const bad = new URL(t.url);
  bad.pathname = '/no_such_database';
  const failed = migrate(bad.toString());
  expect(failed.status).toBe(1);
  expect(failed.stderr).toContain('migrate failed');
});
