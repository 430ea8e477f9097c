/**
 * `npm run bench`: measures, never asserts. Starts the whole system as separate processes (or uses
 * TEMPORAL_ADDRESS / DATABASE_URL), then in one run, on the same Temporal server:
 *   engine      bare workflow.start; an order-shaped workflow (start → update + activity → signal → activity)
 *   orders      unified orders; whole paid-and-notified orders; notification lateness; the cashier summary
 *   scale       BENCH_OPEN_ORDERS (10,000) open orders, RSS, backlog, paid orders on top, worker SIGKILL + restart
 *   statistics  the dashboard's queries over BENCH_ORDERS (1,000,000) seeded orders, on a database of its own
 * `--only=engine,orders` picks sections; `--json` prints JSON instead of the table. BENCH_CONCURRENCY (16) and
 * BENCH_SECONDS (20) set the load of each measured phase.
 */
import os from 'node:os';
import { startBenchMerchant } from './merchant';
import { bareStart, merchantSdk, notificationLateness, orderShaped, paidAndNotified, scale, summaryPolls, unifiedOrders, type LoadOptions, type ScaleReport } from './scenarios';
import { ratio, type Summary } from './stats';
import { benchStatistics, type StatisticsReport } from './statistics';
import { startBenchSystem } from './system';

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

interface Report {
  date: string;
  machine: string;
  concurrency: number;
  seconds: number;
  engine?: { bareStart: Summary; orderShaped: Summary };
  orders?: { unifiedOrder: Summary; paidAndNotified: Summary; lateness: Awaited<ReturnType<typeof notificationLateness>>; acknowledged: number; summary: Summary };
  scale?: ScaleReport;
  statistics?: StatisticsReport;
  ratios: Record<string, { value: number; target: string }>;
}

async function main(): Promise<void> {
  const opts = options();
  const log = (l: string) => !opts.json && process.stderr.write(`[bench] ${l}\n`);
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
      // Each phase measures alone, so neither steals the other's cores; the order alternates engine/project.
      if (opts.sections.has('engine') || opts.sections.has('orders')) {
        log('bare workflow.start…');
        const bare = await bareStart(sys, opts.load);
        log('unified orders…');
        const unified = await unifiedOrders(sdk, opts.load);
        log('order-shaped engine workflow…');
        const shaped = await orderShaped(sys, opts.load);
        log('paid-and-notified orders…');
        const paid = await paidAndNotified(sys, sdk, merchant, opts.load);
        log('cashier summary polls…');
        const tokens = [...unified.orders.map((o) => o.token)];
        const summary = await summaryPolls(sys, tokens, opts.load);
        await new Promise((r) => setTimeout(r, 20_000)); // the refused first attempts' retries, 15 s later
        const lateness = await notificationLateness(sys, paid.outTradeNos);
        for (const [name, s] of Object.entries({ bare, unified, shaped, paid, summary })) if (s.errors) log(`${name}: ${s.errors} errors, e.g. ${s.firstErrors.join(' | ')}`);
        report.engine = { bareStart: strip(bare), orderShaped: strip(shaped) };
        report.orders = { unifiedOrder: strip(unified), paidAndNotified: strip(paid), lateness, acknowledged: paid.outTradeNos.filter((n) => merchant.acknowledged.has(n)).length, summary: strip(summary) };
        report.ratios['paid-and-notified / order-shaped rate'] = { value: ratio(paid.perSecond, shaped.perSecond), target: '≥ 0.8' };
        report.ratios['unified order / bare start rate'] = { value: ratio(unified.perSecond, bare.perSecond), target: '≥ 0.9' };
        report.ratios['unified order / bare start p99'] = { value: ratio(unified.p99, bare.p99), target: '≤ 1.2' };
        report.ratios['cashier summary / unified order rate'] = { value: ratio(summary.perSecond, unified.perSecond), target: '≥ 20' };
        report.ratios['notification lateness p99 (ms)'] = { value: lateness.p99, target: '≤ 1000' };
      }
      if (opts.sections.has('scale')) {
        log(`scale: ${opts.openOrders} open orders…`);
        report.scale = await scale(sys, sdk, merchant, opts.openOrders, opts.load, log);
        report.ratios['worker RSS at scale (MiB)'] = { value: report.scale.workerPeakRssMiB, target: '≤ 1024' };
        report.ratios['notification lateness p99 at scale (ms)'] = { value: report.scale.lateness.p99, target: '≤ 1000' };
      }
    } finally {
      await merchant.stop();
      await sys.stop();
    }
  }
  if (opts.sections.has('statistics')) report.statistics = await benchStatistics(opts.statisticsOrders, log);
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(table(report));
}

function strip<T extends Summary>(s: T): Summary {
  const { n, errors, perSecond, p50, p95, p99, max } = s;
  return { n, errors, perSecond, p50, p95, p99, max };
}

function table(r: Report): string {
  const out: string[] = [`\n${r.machine}, ${r.date}, concurrency ${r.concurrency}, ${r.seconds} s per phase\n`];
  const rows: Array<[string, Summary]> = [];
  if (r.engine) rows.push(['engine: bare workflow.start', r.engine.bareStart], ['engine: order-shaped workflow', r.engine.orderShaped]);
  if (r.orders) rows.push(['unified order', r.orders.unifiedOrder], ['paid and notified order', r.orders.paidAndNotified], ['cashier order summary', r.orders.summary]);
  if (r.scale) rows.push([`paid and notified, ${r.scale.openOrders.toLocaleString()} open`, r.scale.underLoad]);
  if (rows.length) {
    out.push('| measured | per second | p50 ms | p95 ms | p99 ms | max ms | n | errors |', '|---|---|---|---|---|---|---|---|');
    for (const [name, s] of rows) out.push(`| ${name} | ${s.perSecond} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.n} | ${s.errors} |`);
  }
  if (r.orders) {
    const l = r.orders.lateness;
    out.push('', `notification lateness (started − scheduled): ${l.attempts} attempts (${l.retries} scheduled retries), p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms, retries p99 ${l.retryP99} ms; ${r.orders.acknowledged}/${r.orders.paidAndNotified.n} acknowledged`);
  }
  if (r.scale) {
    const s = r.scale;
    out.push(
      '',
      `scale: ${s.openOrders.toLocaleString()} open orders created at ${s.createPerSecond}/s (${s.paying} paying, querying the provider); worker RSS ${s.workerRssMiB} MiB (peak ${s.workerPeakRssMiB}), API RSS ${s.apiRssMiB} MiB; backlog workflow ${s.backlog.workflow}, activity ${s.backlog.activity}`,
      `scale: notification lateness p50 ${s.lateness.p50} ms, p99 ${s.lateness.p99} ms (${s.lateness.attempts} attempts)`,
      `restart after SIGKILL: every open order answered a query ${s.restart.allQueriesAnsweredMs} ms after the kill; ${s.restart.expiring} orders expiring meanwhile all CLOSED after ${s.restart.expiredClosedMs} ms (latest ${s.restart.maxCloseLatenessMs} ms after its expiry); ${s.restart.paidWithLostCallback} payments with lost callbacks found by polling after ${s.restart.foundByPollingMs} ms; running payment workflows ${s.restart.runningWorkflows ?? 'n/a'}, open orders in PostgreSQL ${s.restart.openOrdersInDb}; worker RSS after ${s.restart.workerRssAfterMiB} MiB`,
    );
  }
  if (Object.keys(r.ratios).length) {
    out.push('', '| ratio | value | target |', '|---|---|---|');
    for (const [name, v] of Object.entries(r.ratios)) out.push(`| ${name} | ${v.value} | ${v.target} |`);
  }
  if (r.statistics) {
    out.push('', `statistics dashboard at ${r.statistics.orders.toLocaleString()} orders (seeded in ${r.statistics.seedSeconds} s)`, '| query | p50 ms | max ms | days | paid orders in window |', '|---|---|---|---|---|');
    for (const x of r.statistics.rows) out.push(`| ${x.case} | ${x.p50Ms} | ${x.maxMs} | ${x.days} | ${x.paid.toLocaleString()} |`);
  }
  return out.join('\n') + '\n';
}

main().catch((err) => {
  console.error('bench failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
