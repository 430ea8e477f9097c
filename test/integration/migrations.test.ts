/** Every migration goes up, all the way down, and up again on a real PostgreSQL. */
import { migrateLatest, migrateRollbackAll } from '../../db/connection';
import { createTestDb, type TestDb } from '../support/db';

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
