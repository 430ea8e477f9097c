/**
 * `npm run bench`: measures, never asserts. Starts the whole system as separate processes (or uses
 * TEMPORAL_ADDRESS / DATABASE_URL), then in one run, on the same Temporal server:
 *   engine      bare workflow.start; an order-shaped workflow (start → update + activity → signal → activity)
 *   orders      unified orders; whole paid-and-notified orders; notification lateness; the cashier summary
 *   scale       BENCH_OPEN_ORDERS (10,000) open orders, RSS, backlog, paid orders on top, worker SIGKILL + restart
 *   statistics  the dashboard's queries over BENCH_ORDERS (1,000,000) seeded orders, on a database of its own
 * `--only=engine,orders` picks sections; `--json` prints JSON on stdout (the table goes to stderr then). BENCH_CONCURRENCY (16) and
 * BENCH_SECONDS (20) set the load of each measured phase.
 */
import os from 'node:os';
import { cpuPerOperation, cpuSnapshot } from './cpu';
import { startBenchMerchant } from './merchant';
import { bareStart, merchantSdk, notificationLateness, orderShaped, paidAndNotified, scale, settle, summaryPolls, unifiedOrders, type LoadOptions, type Measure } from './scenarios';
import { table, type Report } from './report';
import { ratio, strip } from './stats';
import { benchStatistics } from './statistics';
import { startBenchSystem } from './system';
import { scrapeMetrics, timeSpent, type TimeSpent } from './time-spent';

const SECTIONS = ['engine', 'orders', 'scale', 'statistics'] as const;
type Section = (typeof SECTIONS)[number];

function options() {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const sections = new Set<Section>((only ?? SECTIONS) as Section[]);
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; one of ${SECTIONS.join(', ')}`);
  const num = (name: string, d: number) => {
    const v = Number(process.env[name] ?? d);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
    return v;
  };
  return {
    json: process.argv.includes('--json'),
    sections,
    load: { concurrency: num('BENCH_CONCURRENCY', 16), durationMs: num('BENCH_SECONDS', 20) * 1000, warmupMs: 3000 } satisfies LoadOptions,
    openOrders: num('BENCH_OPEN_ORDERS', 10_000),
    statisticsOrders: num('BENCH_ORDERS', 1_000_000),
  };
}

async function main(): Promise<void> {
  const opts = options();
  const log = (l: string) => process.stderr.write(`[bench] ${l}\n`);
  const report: Report = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    concurrency: opts.load.concurrency,
    seconds: opts.load.durationMs / 1000,
    ratios: {},
  };
  const needsSystem = ['engine', 'orders', 'scale'].some((s) => opts.sections.has(s as Section));
  if (needsSystem) {
    log('starting Temporal dev server, PostgreSQL, sandboxes, worker, API…');
    const sys = await startBenchSystem({ log });
    const merchant = await startBenchMerchant(`${sys.apiUrl}/api/cashier-desk`, sys.appId, sys.appKey);
    const sdk = merchantSdk(sys, merchant);
    try {
      const cpu: Record<string, Record<string, number>> = {};
      const spent: Record<string, TimeSpent> = {};
      // Each phase runs alone and is charged for the work it leaves queued (settle), so one phase's backlog
      // neither slows the next nor escapes its own CPU account; the processes' metrics say where its time went.
      const measured: Measure = async (name, phase, o = {}) => {
        log(`${name}…`);
        const before = await cpuSnapshot();
        const metricsBefore = await scrapeMetrics(sys.metricsUrls);
        const r = await phase();
        await settle(sys);
        cpu[name] = cpuPerOperation(before, await cpuSnapshot(), r.completed);
        spent[name] = timeSpent(metricsBefore, await scrapeMetrics(sys.metricsUrls), o.engine === true, r.completed);
        return r;
      };
      report.cpuMsPerOperation = cpu;
      report.timeSpent = spent;
      if (opts.sections.has('engine') || opts.sections.has('orders')) {
        const shaped = await sys.withEngineWorker(() => measured('order-shaped workflow', () => orderShaped(sys, opts.load), { engine: true }));
        const bare = await sys.withEngineWorker(() => measured('bare workflow.start', () => bareStart(sys, opts.load), { engine: true }));
        const paid = await measured('paid and notified order', () => paidAndNotified(sys, sdk, merchant, opts.load));
        const unified = await measured('unified order', () => unifiedOrders(sdk, opts.load));
        const tokens = [...unified.orders.map((o) => o.token)];
        const summary = await measured('cashier order summary', () => summaryPolls(sys, tokens, opts.load));
        await new Promise((r) => setTimeout(r, 20_000)); // the refused first attempts' retries, 15 s later
        const lateness = await notificationLateness(sys, paid.outTradeNos);
        for (const [name, s] of Object.entries({ bare, unified, shaped, paid, summary })) if (s.errors) log(`${name}: ${s.errors} errors, e.g. ${s.firstErrors.join(' | ')}`);
        report.engine = { bareStart: strip(bare), orderShaped: strip(shaped) };
        report.orders = { unifiedOrder: strip(unified), paidAndNotified: strip(paid), lateness, acknowledged: paid.outTradeNos.filter((n) => merchant.acknowledged.has(n)).length, paidOrders: paid.outTradeNos.length, summary: strip(summary) };
        report.ratios['paid-and-notified / order-shaped rate'] = { value: ratio(paid.perSecond, shaped.perSecond), target: '≥ 0.8' };
        report.ratios['unified order / bare start rate'] = { value: ratio(unified.perSecond, bare.perSecond), target: '≥ 0.9' };
        report.ratios['unified order / bare start p99'] = { value: ratio(unified.p99, bare.p99), target: '≤ 1.2' };
        report.ratios['cashier summary / unified order rate'] = { value: ratio(summary.perSecond, unified.perSecond), target: '≥ 20' };
        report.ratios['notification lateness p99 (ms)'] = { value: lateness.p99, target: '≤ 1000' };
      }
      if (opts.sections.has('scale')) {
        log(`scale: ${opts.openOrders} open orders…`);
        report.scale = await scale(sys, sdk, merchant, opts.openOrders, opts.load, log, measured);
        report.ratios['worker RSS at scale (MiB)'] = { value: report.scale.workerPeakRssMiB, target: '≤ 1024' };
        report.ratios['notification lateness p99 at scale (ms)'] = { value: report.scale.lateness.p99, target: '≤ 1000' };
      }
    } finally {
      await merchant.stop();
      await sys.stop();
    }
  }
  if (opts.sections.has('statistics')) report.statistics = await benchStatistics(opts.statisticsOrders, log);
  // --json: JSON on stdout (for tools), the table still on stderr (for people).
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  (opts.json ? process.stderr : process.stdout).write(table(report));
}

main().catch((err) => {
  console.error('bench failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
