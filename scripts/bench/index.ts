/**
 * `npm run bench`: measures, never asserts. Today it covers the statistics dashboard at volume: it seeds
 * BENCH_ORDERS (default 1,000,000) orders with their notification attempts and refunds into a fresh database
 * (an embedded PostgreSQL unless DATABASE_URL is set) and times the dashboard's 30-day queries, unfiltered and
 * with each filter. Prints a table; `--json` prints JSON instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { seedVolume } from '../../db/bench-seed';
import { createDb, migrateLatest } from '../../db/connection';
import { createApp } from '../../db/queries/apps';
import { bindChannel } from '../../db/queries/app-channels';
import { createChannelConfig } from '../../db/queries/channel-configs';
import { createChannel } from '../../db/queries/channels';
import { dailyStats, type StatsFilter } from '../../db/queries/statistics';
import { shanghaiDay, shanghaiDayRange } from '../../domain/reconciliation';
import { SecretBox } from '../../security/secret-box';
import { startPostgresService } from '../lib/postgres-service';
import { freePort } from '../toolchain';
import { randomBytes } from 'node:crypto';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const RUNS = 5;

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const log = (l: string) => !json && process.stderr.write(`[bench] ${l}\n`);
  let url = process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | null = null;
  let dataDir: string | null = null;
  if (!url) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-bench-pg-'));
    const pg = await startPostgresService({ dataDir, port: await freePort(), persistent: false, database: 'cashier_desk_bench' });
    url = pg.url;
    stop = pg.stop;
  }
  const db = createDb(url, 4);
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
    log(`seeding ${ORDERS.toLocaleString()} orders…`);
    const seeded = await time(() => seedVolume(db, { appId, channels, orders: ORDERS }));
    log(`seeded in ${(seeded.ms / 1000).toFixed(1)} s`);

    const today = shanghaiDay(Date.now());
    const from = shanghaiDayRange(shanghaiDay(Date.now() - 29 * 86_400_000)).start;
    const to = shanghaiDayRange(today).end;
    const cases: Array<[string, StatsFilter]> = [
      ['30 days, all', { from, to }],
      ['30 days, app', { from, to, appId }],
      ['30 days, channel type', { from, to, channelType: 'wx-pay' }],
      ['30 days, scene', { from, to, sceneCode: 'native' }],
    ];
    const rows: Array<{ case: string; p50Ms: number; maxMs: number; days: number; paid: number }> = [];
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
    const report = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`, orders: ORDERS, seedSeconds: Math.round(seeded.ms / 100) / 10, statistics: rows };
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      process.stdout.write(`\nstatistics dashboard at ${ORDERS.toLocaleString()} orders (${report.machine}, ${report.date})\n`);
      process.stdout.write(`| query | p50 ms | max ms | days | paid orders in window |\n|---|---|---|---|---|\n`);
      for (const r of rows) process.stdout.write(`| ${r.case} | ${r.p50Ms} | ${r.maxMs} | ${r.days} | ${r.paid.toLocaleString()} |\n`);
    }
  } finally {
    await db.destroy();
    if (stop) await stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('bench failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
