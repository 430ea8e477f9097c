/** The bench's report: what one run measured, and the table the README shows. */
import type { ScaleReport, notificationLateness } from './scenarios';
import type { Summary } from './stats';
import type { StatisticsReport } from './statistics';
import type { TimeSpent } from './time-spent';

export interface Report {
  date: string;
  machine: string;
  concurrency: number;
  seconds: number;
  /** How often the engine and orders phases ran, each ratio's pair side by side in alternating order. */
  rounds: number;
  /** The Temporal server the run used (the dev server, temporal-server on PostgreSQL, or TEMPORAL_ADDRESS). */
  temporal?: string;
  engine?: { bareStart: Summary; orderShaped: Summary };
  orders?: { unifiedOrder: Summary; paidAndNotified: Summary; lateness: Awaited<ReturnType<typeof notificationLateness>>; acknowledged: number; paidOrders: number; summary: Summary };
  scale?: ScaleReport;
  statistics?: StatisticsReport;
  /** CPU ms per completed operation of each phase, by process (the whole machine's cost of one operation). */
  cpuMsPerOperation?: Record<string, Record<string, number>>;
  /** By phase: Temporal task latencies, PostgreSQL pool waits and provider queries, from the processes' metrics. */
  timeSpent?: Record<string, TimeSpent>;
  /** `rounds`: the ratio in each round, `value` their median (single figures, such as lateness, have none). */
  ratios: Record<string, { value: number; target: string; rounds?: number[] }>;
}


export function table(r: Report): string {
  const rounds = r.engine || r.orders ? `, ${r.rounds} round(s) of engine and orders (figures over all rounds)` : '';
  const server = r.temporal ? `, ${r.temporal}` : '';
  const out: string[] = [`\n${r.machine}, ${r.date}${server}, concurrency ${r.concurrency}, ${r.seconds} s per phase${rounds}\n`];
  const rows: Array<[string, Summary]> = [];
  if (r.engine) rows.push(['engine: bare workflow.start', r.engine.bareStart], ['engine: order-shaped workflow', r.engine.orderShaped]);
  if (r.orders) rows.push(['unified order', r.orders.unifiedOrder], ['paid and notified order', r.orders.paidAndNotified], ['cashier order summary', r.orders.summary]);
  if (r.scale) rows.push([`paid and notified, ${r.scale.openOrders.toLocaleString()} open`, r.scale.underLoad]);
  if (rows.length) {
    out.push('| measured | per second | p50 ms | p95 ms | p99 ms | max ms | n | errors |', '|---|---|---|---|---|---|---|---|');
    for (const [name, s] of rows) out.push(`| ${name} | ${s.perSecond} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.n} | ${s.errors} |`);
  }
  if (r.cpuMsPerOperation) {
    out.push('', 'CPU ms per operation, by process:');
    for (const [phase, per] of Object.entries(r.cpuMsPerOperation)) out.push(`  ${phase}: ${Object.entries(per).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (r.timeSpent && Object.keys(r.timeSpent).length) {
    const q = (x: { p50: number | null; p99: number | null; n: number }) => (x.n ? `${x.p50} / ${x.p99}` : '—');
    const pool = (x: TimeSpent['apiPoolWaitMs']) => (x && x.mean !== null ? `${x.mean} / ${x.p99}` : '—');
    out.push(
      '',
      'Where the time went (ms, p50 / p99; engine phases: the engine worker; pool waits: mean / p99):',
      '| phase | workflow task schedule-to-start | workflow task execution | cache misses | activity schedule-to-start | local activity | API pool wait | worker pool wait | provider queries/s |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const [phase, t] of Object.entries(r.timeSpent)) {
      out.push(`| ${phase} | ${q(t.workflowTaskScheduleToStartMs)} | ${q(t.workflowTaskExecutionMs)} | ${t.stickyCacheMisses} | ${q(t.activityScheduleToStartMs)} | ${q(t.localActivityExecutionMs)} | ${pool(t.apiPoolWaitMs)} | ${pool(t.workerPoolWaitMs)} | ${t.providerQueriesPerSecond ?? '—'} |`);
    }
    out.push(
      '',
      'Round trips per completed operation (the work it left queued included):',
      '| phase | workflow tasks | activities | local activities | API PostgreSQL queries | worker PostgreSQL queries | history events per workflow |',
      '|---|---|---|---|---|---|---|',
    );
    for (const [phase, { perOperation: p }] of Object.entries(r.timeSpent)) {
      if (p) out.push(`| ${phase} | ${p.workflowTasks} | ${p.activities} | ${p.localActivities} | ${p.apiQueries ?? '—'} | ${p.workerQueries ?? '—'} | ${p.historyEvents ?? '—'} |`);
    }
  }
  if (r.orders) {
    const l = r.orders.lateness;
    out.push('', `notification lateness (started − scheduled): ${l.attempts} attempts (${l.retries} scheduled retries), p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms, retries p99 ${l.retryP99} ms; ${r.orders.acknowledged} of ${r.orders.paidOrders} paid orders acknowledged (some at their second attempt)`);
  }
  if (r.scale) {
    const s = r.scale;
    out.push(
      '',
      `scale: ${s.openOrders.toLocaleString()} open orders created at ${s.createPerSecond}/s (${s.paying} paying, querying the provider); worker RSS ${s.workerRssMiB} MiB (peak ${s.workerPeakRssMiB}), API RSS ${s.apiRssMiB} MiB; backlog workflow ${s.backlog.workflow}, activity ${s.backlog.activity}`,
      `scale: notification lateness p50 ${s.lateness.p50} ms, p99 ${s.lateness.p99} ms (${s.lateness.attempts} attempts)`,
      `restart after SIGKILL: every open order answered a query ${s.restart.allQueriesAnsweredMs} ms after the kill (${s.restart.queryRetries} queries asked again); ${s.restart.expiring} orders expiring meanwhile all CLOSED ${s.restart.expiredClosedMs} ms after the kill (the latest ${s.restart.maxCloseLatenessMs} ms after its expiry); ${s.restart.paidWithLostCallback} payments whose callbacks were lost meanwhile found by polling ${s.restart.foundByPollingMs} ms after the kill; running payment workflows ${s.restart.runningWorkflows ?? 'n/a'}, open orders in PostgreSQL ${s.restart.openOrdersInDb}; worker RSS after ${s.restart.workerRssAfterMiB} MiB`,
    );
  }
  if (Object.keys(r.ratios).length) {
    out.push('', '| ratio | value (median round) | each round | target |', '|---|---|---|---|');
    for (const [name, v] of Object.entries(r.ratios)) out.push(`| ${name} | ${v.value} | ${v.rounds?.join(', ') ?? '—'} | ${v.target} |`);
  }
  if (r.statistics) {
    out.push('', `statistics dashboard at ${r.statistics.orders.toLocaleString()} orders (seeded in ${r.statistics.seedSeconds} s)`, '| query | p50 ms | max ms | days | paid orders in window |', '|---|---|---|---|---|');
    for (const x of r.statistics.rows) out.push(`| ${x.case} | ${x.p50Ms} | ${x.maxMs} | ${x.days} | ${x.paid.toLocaleString()} |`);
  }
  return out.join('\n') + '\n';
}

