/**
 * The statistics dashboard at volume: seeds BENCH_ORDERS (default 1,000,000) orders with their notification
 * attempts and refunds into a database of its own (an embedded PostgreSQL, never the system's: seeded orders
 * have no workflows) and times the dashboard's 30-day queries, unfiltered and with each filter.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { seedVolume } from '../../db/bench-seed';
import { createDb, migrateLatest } from '../../db/connection';
import { bindChannel } from '../../db/queries/app-channels';
import { createApp } from '../../db/queries/apps';
import { createChannelConfig } from '../../db/queries/channel-configs';
import { createChannel } from '../../db/queries/channels';
import { dailyStats, type StatsFilter } from '../../db/queries/statistics';
import { shanghaiDay, shanghaiDayRange } from '../../domain/reconciliation';
import { SecretBox } from '../../security/secret-box';
import { startPostgresService } from '../lib/postgres-service';
import { freePort } from '../toolchain';

const RUNS = 5;

export interface StatisticsReport {
  orders: number;
  seedSeconds: number;
  rows: Array<{ case: string; p50Ms: number; maxMs: number; days: number; paid: number }>;
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

/** Always on a fresh embedded PostgreSQL of its own (DATABASE_URL is the system's database). */
export async function benchStatistics(orders: number, log: (l: string) => void): Promise<StatisticsReport> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-bench-stats-'));
  const pg = await startPostgresService({ dataDir, port: await freePort(), persistent: false, database: 'cashier_desk_bench_stats' });
  const db = createDb(pg.url, 4);
  try {
    await migrateLatest(db);
    const box = new SecretBox(randomBytes(32));
    const { appId } = await createApp(db, box, { name: 'bench', status: 'APPROVED' });
    const channels: Array<{ channelId: number; channelType: string; mchId: string; configId: number; sceneCode: string }> = [];
    for (const [channelType, sceneCode] of [['ali-pay', 'native'], ['wx-pay', 'h5']] as const) {
      const configId = await createChannelConfig(db, box, { channelType, name: `bench ${channelType}`, mchId: `m-${channelType}`, providerAppId: 'a', gatewayUrl: 'http://127.0.0.1:9', secrets: {} });
      const channelId = await createChannel(db, { configId, channelType, channelName: channelType, sceneCode });
      await bindChannel(db, appId, channelId, 'APPROVED', 1);
      channels.push({ channelId, channelType, mchId: `m-${channelType}`, configId, sceneCode });
    }
    log(`statistics: seeding ${orders.toLocaleString()} orders…`);
    const seeded = await time(() => seedVolume(db, { appId, channels, orders }));
    log(`statistics: seeded in ${(seeded.ms / 1000).toFixed(1)} s`);

    const today = shanghaiDay(Date.now());
    const from = shanghaiDayRange(shanghaiDay(Date.now() - 29 * 86_400_000)).start;
    const to = shanghaiDayRange(today).end;
    const cases: Array<[string, StatsFilter]> = [
      ['30 days, all', { from, to }],
      ['30 days, app', { from, to, appId }],
      ['30 days, channel type', { from, to, channelType: 'wx-pay' }],
      ['30 days, scene', { from, to, sceneCode: 'native' }],
    ];
    const rows: StatisticsReport['rows'] = [];
    for (const [name, f] of cases) {
      const times: number[] = [];
      let days = 0;
      let paid = 0;
      for (let i = 0; i < RUNS; i++) {
        const r = await time(() => dailyStats(db, f));
        times.push(r.ms);
        days = r.result.length;
        paid = r.result.reduce((a, d) => a + d.paidCount, 0);
      }
      times.sort((a, b) => a - b);
      rows.push({ case: name, p50Ms: Math.round(times[Math.floor(RUNS / 2)]), maxMs: Math.round(times[RUNS - 1]), days, paid });
    }
    return { orders, seedSeconds: Math.round(seeded.ms / 100) / 10, rows };
  } finally {
    await db.destroy();
    await pg.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
