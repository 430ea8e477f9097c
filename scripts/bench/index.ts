/**
 * `npm run bench`: measures, never asserts. Starts the whole system as separate processes (or uses
 * TEMPORAL_ADDRESS / DATABASE_URL), then in one run, on the same Temporal server:
 *   engine      bare workflow.start; an order-shaped workflow (start → update + activity → signal → activity)
 *   orders      unified orders; whole paid-and-notified orders; notification lateness; the cashier summary
 *   scale       BENCH_OPEN_ORDERS (10,000) open orders, RSS, backlog, paid orders on top, worker SIGKILL + restart
 *   statistics  the dashboard's queries over BENCH_ORDERS (1,000,000) seeded orders, on a database of its own
 * `--only=engine,orders` picks sections; `--json` prints JSON on stdout (the table goes to stderr then). BENCH_CONCURRENCY (16) and
 * BENCH_SECONDS (20) set the load of each measured phase; BENCH_ROUNDS (3) how often engine and orders are repeated.
 * BENCH_TEMPORAL=cluster runs temporal-server on PostgreSQL (the compose stack's kind) instead of the dev server.
 */
import os from 'node:os';
import { addCpu, cpuPerOperation, cpuSnapshot, cpuUsed } from './cpu';
import { startBenchMerchant } from './merchant';
import { bareStart, historyEvents, merchantSdk, notificationLateness, orderShaped, paidAndNotified, scale, settle, summaryPolls, unifiedOrders, type LoadOptions, type Measure } from './scenarios';
import { table, type Report } from './report';
import { median, pooled, ratio, type LoadRun } from './stats';
import { benchStatistics } from './statistics';
import { startBenchSystem, type BenchTemporal } from './system';
import { scrapeMetrics, timeSpent, type MetricsInterval, type TimeSpent } from './time-spent';

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
  const rounds = num('BENCH_ROUNDS', 3);
  if (!Number.isInteger(rounds)) throw new Error('BENCH_ROUNDS must be a whole number');
  const temporal = process.env.BENCH_TEMPORAL || 'dev';
  if (temporal !== 'dev' && temporal !== 'cluster') throw new Error('BENCH_TEMPORAL must be dev or cluster');
  return {
    rounds,
    temporal: temporal as BenchTemporal,
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
    rounds: opts.rounds,
    ratios: {},
  };
  const needsSystem = ['engine', 'orders', 'scale'].some((s) => opts.sections.has(s as Section));
  if (needsSystem) {
    log(`starting Temporal (${opts.temporal}), PostgreSQL, sandboxes, worker, API…`);
    const sys = await startBenchSystem({ log, temporal: opts.temporal });
    report.temporal = sys.temporalServer;
    const merchant = await startBenchMerchant(`${sys.apiUrl}/api/cashier-desk`, sys.appId, sys.appKey);
    const sdk = merchantSdk(sys, merchant);
    try {
      // Everything a phase cost, over all its rounds: CPU by process, operations completed, the processes'
      // metrics before and after each round, and the workflows it finished (their histories are counted).
      const accounts = new Map<string, { engine: boolean; cpu: Record<string, number>; completed: number; intervals: MetricsInterval[]; workflows: string[]; rounds: Array<{ cpu: Record<string, number>; completed: number }> }>();
      // Each phase runs alone and is charged for the work it leaves queued (settle), so one phase's backlog
      // neither slows the next nor escapes its own CPU account; the processes' metrics say where its time went.
      const measured: Measure = async (name, phase, o = {}) => {
        log(`${name}…`);
        const cpuBefore = await cpuSnapshot();
        const before = await scrapeMetrics(sys.metricsUrls);
        const r = await phase();
        await settle(sys);
        const used = cpuUsed(cpuBefore, await cpuSnapshot());
        const after = await scrapeMetrics(sys.metricsUrls);
        const account = accounts.get(name) ?? { engine: o.engine === true, cpu: {}, completed: 0, intervals: [], workflows: [], rounds: [] };
        account.cpu = addCpu(account.cpu, used);
        account.rounds.push({ cpu: used, completed: r.completed });
        account.completed += r.completed;
        account.intervals.push({ before, after });
        account.workflows.push(...(r.finishedWorkflows ?? []));
        accounts.set(name, account);
        if (r.errors) log(`${name}: ${r.errors} errors, e.g. ${r.firstErrors?.join(' | ')}`);
        return r;
      };
      if (opts.sections.has('engine') || opts.sections.has('orders')) {
        const rounds: Array<Record<'shaped' | 'paid' | 'bare' | 'unified' | 'summary', LoadRun>> = [];
        const paidOrders: string[] = [];
        // Each ratio's two phases run next to each other, in alternating order (A B, B A, A B…): the speed of these
        // shared cores drifts over minutes, and a fixed order would hand that drift to one side of a ratio.
        const pair = async <A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> => {
          if (round % 2 === 0) {
            const first = await a();
            return [first, await b()];
          }
          const second = await b();
          return [await a(), second];
        };
        for (let round = 0; round < opts.rounds; round++) {
          log(`round ${round + 1} of ${opts.rounds}`);
          const [shaped, paid] = await pair(
            round,
            () => sys.withEngineWorker(() => measured('order-shaped workflow', () => orderShaped(sys, opts.load), { engine: true })),
            () => measured('paid and notified order', () => paidAndNotified(sys, sdk, merchant, opts.load)),
          );
          const [bare, unified] = await pair(
            round,
            () => sys.withEngineWorker(() => measured('bare workflow.start', () => bareStart(sys, opts.load), { engine: true })),
            () => measured('unified order', () => unifiedOrders(sdk, opts.load)),
          );
          const tokens = unified.orders.map((o) => o.token);
          const summary = await measured('cashier order summary', () => summaryPolls(sys, tokens, opts.load));
          paidOrders.push(...paid.outTradeNos);
          rounds.push({ shaped, paid, bare, unified, summary });
        }
        await new Promise((r) => setTimeout(r, 20_000)); // the refused first attempts' retries, 15 s later
        const lateness = await notificationLateness(sys, paidOrders);
        const all = (k: keyof (typeof rounds)[number]) => pooled(rounds.map((r) => r[k]));
        report.engine = { bareStart: all('bare'), orderShaped: all('shaped') };
        report.orders = { unifiedOrder: all('unified'), paidAndNotified: all('paid'), lateness, acknowledged: paidOrders.filter((n) => merchant.acknowledged.has(n)).length, paidOrders: paidOrders.length, summary: all('summary') };
        // A ratio is taken within each round, and the median round's reported: one round disturbed by the
        // machine moves the figure less than it would move a ratio of rates pooled over the whole run.
        const ratioOfRounds = (target: string, of: (r: (typeof rounds)[number]) => number) => {
          const values = rounds.map(of);
          return { value: median(values), target, rounds: values };
        };
        report.ratios['paid-and-notified / order-shaped rate'] = ratioOfRounds('≥ 0.8', (r) => ratio(r.paid.perSecond, r.shaped.perSecond));
        report.ratios['unified order / bare start rate'] = ratioOfRounds('≥ 0.9', (r) => ratio(r.unified.perSecond, r.bare.perSecond));
        report.ratios['unified order / bare start p99'] = ratioOfRounds('≤ 1.2', (r) => ratio(r.unified.p99, r.bare.p99));
        report.ratios['cashier summary / unified order rate'] = ratioOfRounds('≥ 20', (r) => ratio(r.summary.perSecond, r.unified.perSecond));
        report.ratios['notification lateness p99 (ms)'] = { value: lateness.p99, target: '≤ 1000' };
      }
      if (opts.sections.has('scale')) {
        log(`scale: ${opts.openOrders} open orders…`);
        report.scale = await scale(sys, sdk, merchant, opts.openOrders, opts.load, log, measured);
        report.ratios['worker RSS at scale (MiB)'] = { value: report.scale.workerPeakRssMiB, target: '≤ 1024' };
        report.ratios['notification lateness p99 at scale (ms)'] = { value: report.scale.lateness.p99, target: '≤ 1000' };
      }
      const cpu: Record<string, Record<string, number>> = {};
      const spent: Record<string, TimeSpent> = {};
      for (const [name, a] of accounts) {
        cpu[name] = cpuPerOperation(a.cpu, a.completed);
        spent[name] = timeSpent(a.intervals, a.engine, a.completed);
        const perOperation = spent[name].perOperation;
        if (perOperation && a.workflows.length) perOperation.historyEvents = await historyEvents(sys, a.workflows);
      }
      report.cpuMsPerOperation = cpu;
      // Where Temporal is the limit (workers scaled out on machines of their own), the rates go as Temporal's CPU
      // per operation: the server's and, on PostgreSQL, its database's. Taken within each round, like the rates.
      const temporalCost = (phase: string, round: number) => {
        const r = accounts.get(phase)?.rounds[round];
        return r && r.completed > 0 ? ((r.cpu.temporal ?? 0) + (r.cpu['temporal postgres'] ?? 0)) / r.completed : 0;
      };
      const whereTemporalLimits = (name: string, ours: string, engine: string, target: string) => {
        const values = Array.from({ length: accounts.get(ours)?.rounds.length ?? 0 }, (_, i) => ratio(temporalCost(engine, i), temporalCost(ours, i)));
        if (values.length && values.every((v) => Number.isFinite(v) && v > 0)) report.ratios[`${name} where Temporal is the limit (its CPU per operation)`] = { value: median(values), target, rounds: values };
      };
      whereTemporalLimits('paid / order-shaped', 'paid and notified order', 'order-shaped workflow', '≥ 0.8');
      whereTemporalLimits('unified order / bare start', 'unified order', 'bare workflow.start', '≥ 0.9');
      report.timeSpent = spent;
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
