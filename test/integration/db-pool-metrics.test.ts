/**
 * The PostgreSQL pool's metrics on a real database: a query that finds the only connection taken waits, is counted
 * as pending while it does, and its wait is observed once it gets the connection.
 */
import { createDb, type Db } from '../../db/connection';
import { instrumentDbPool } from '../../observability/db-pool';
import { createMetrics } from '../../observability/metrics';
import { parseExposition, sumOf } from '../../scripts/bench/prometheus';
import { createTestDb, type TestDb } from '../support/db';

let t: TestDb;
let db: Db;
beforeAll(async () => {
  t = await createTestDb();
  db = createDb(t.url, 1);
});
afterAll(async () => {
  await db?.destroy();
  await t?.destroy();
});

test('a query waiting for the only pooled connection is pending, then observed with at least the time it waited', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  instrumentDbPool(db, metrics);
  const scrape = async () => parseExposition(await metrics.registry.metrics());

  await db.raw('select 1'); // a free connection: a wait close to nothing
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const holding = db.transaction(async (trx) => {
    await trx.raw('select 1');
    await held;
  });
  const pool = (db.client as { pool: { numUsed(): number; numPendingAcquires(): number } }).pool;
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 5));
  };
  // The transaction has the connection once its first statement ran; the next query must wait for it.
  await until(() => pool.numUsed() === 1);
  const waiting = db.raw('select 2 as two').then((r: { rows: unknown[] }) => r.rows); // knex runs a query once it is awaited
  await until(() => pool.numPendingAcquires() === 1);
  const during = await scrape();
  expect(sumOf(during, 'cashier_db_pool_connections', { state: 'used' })).toBe(1);
  expect(sumOf(during, 'cashier_db_pool_connections', { state: 'pending' })).toBe(1);
  expect(sumOf(during, 'cashier_db_pool_connections', { state: 'free' })).toBe(0);

  const heldFor = 100;
  await new Promise((r) => setTimeout(r, heldFor));
  release();
  await holding;
  expect(await waiting).toEqual([{ two: 2 }]);

  const after = await scrape();
  expect(sumOf(after, 'cashier_db_pool_connections', { state: 'pending' })).toBe(0);
  expect(sumOf(after, 'cashier_db_pool_connections', { state: 'used' })).toBe(0);
  expect(sumOf(after, 'cashier_db_pool_connections', { state: 'free' })).toBe(1);
  // Three acquisitions (the first query, the transaction, the waiting query); the last waited at least heldFor.
  expect(sumOf(after, 'cashier_db_pool_acquire_seconds_count')).toBe(3);
  expect(sumOf(after, 'cashier_db_pool_acquire_seconds_sum')).toBeGreaterThanOrEqual(heldFor / 1000);
  expect(sumOf(after, 'cashier_db_pool_acquire_seconds_bucket', { le: '0.05' })).toBeLessThan(3);
});
