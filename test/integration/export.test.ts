/**
 * Exports stream: 100,000 orders leave PostgreSQL a bounded page at a time, every row exactly once, with the heap
 * never holding the whole range.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { seedVolume } from '../../db/bench-seed';
import { countOrdersForExport, exportOrders } from '../../db/queries/statistics';
import { createTestDb, type TestDb } from '../support/db';
import { seedApp } from '../support/fixtures';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => t?.destroy());

test('an export of 100,000 orders streams in pages, each row once, in bounded memory', async () => {
  const app = await seedApp(t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native' }, { channelType: 'wx-pay', sceneCode: 'h5' }] });
  await seedVolume(t.db, { appId: app.appId, channels: app.channels.map((c) => ({ ...c })), orders: 100_000 });
  const range = { from: new Date(Date.now() - 61 * 86_400_000), to: new Date(Date.now() + 60_000), appId: app.appId };
  expect(await countOrdersForExport(t.db, range)).toBe(100_000);
  // Retained memory, not garbage: collect before every sample.
  v8.setFlagsFromString('--expose_gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = 0;
  let rows = 0;
  let pages = 0;
  let lastId = 0;
  for await (const page of exportOrders(t.db, range)) {
    pages++;
    expect(page.length).toBeLessThanOrEqual(2000);
    for (const r of page) {
      // Strictly increasing ids: nothing repeated, nothing skipped between pages.
      expect(r.id as number).toBeGreaterThan(lastId);
      lastId = r.id as number;
    }
    rows += page.length;
    if (pages % 5 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
    }
  }
  expect(rows).toBe(100_000);
  expect(pages).toBe(50);
  // The whole range as objects would be ~100 MB; a page is ~1 MB. A generous bound that still fails if the
  // export ever materialized the range.
  expect(peak).toBeLessThan(30 * 1024 * 1024);
}, 120_000);
