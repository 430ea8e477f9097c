/** The bench's per-phase figures from scrapes of each process before and after each round: latencies, pool waits and round trips per operation. */
import { parseExposition } from '../../scripts/bench/prometheus';
import { timeSpent, type MetricsScrape } from '../../scripts/bench/time-spent';

/** A histogram in exposition text whose observations all fall into its first bucket. */
const histogram = (name: string, count: number, le = '0.001') => `${name}_bucket{le="${le}"} ${count}\n${name}_bucket{le="+Inf"} ${count}\n${name}_sum ${count * 0.0005}\n${name}_count ${count}\n`;

function scrape(at: number, o: { tasks: number; activities: number; local: number; apiQueries: number; workerQueries: number; providerQueries: number }): MetricsScrape {
  const worker =
    histogram('temporal_workflow_task_execution_latency', o.tasks, '1') +
    histogram('temporal_workflow_task_schedule_to_start_latency', o.tasks, '1') +
    histogram('temporal_activity_schedule_to_start_latency', o.activities, '1') +
    histogram('temporal_local_activity_execution_latency', o.local, '1') +
    histogram('cashier_db_pool_acquire_seconds', o.workerQueries) +
    `cashier_provider_calls_total{operation="query",provider="ali-pay",outcome="ok"} ${o.providerQueries}\n`;
  return { at, api: parseExposition(histogram('cashier_db_pool_acquire_seconds', o.apiQueries)), worker: parseExposition(worker), engine: parseExposition(worker) };
}

test('round trips are counted per completed operation between the scrapes', () => {
  const before = scrape(0, { tasks: 100, activities: 10, local: 50, apiQueries: 1000, workerQueries: 300, providerQueries: 7 });
  const after = scrape(10_000, { tasks: 160, activities: 30, local: 110, apiQueries: 1440, workerQueries: 420, providerQueries: 27 });
  const t = timeSpent([{ before, after }], false, 20);
  expect(t.perOperation).toEqual({ workflowTasks: 3, activities: 1, localActivities: 3, apiQueries: 22, workerQueries: 6 });
  expect(t.providerQueriesPerSecond).toBe(2);
  expect(t.workflowTaskExecutionMs.n).toBe(60);
});

test('engine phases count the engine worker only, and nothing is per operation when nothing completed', () => {
  const before = scrape(0, { tasks: 0, activities: 0, local: 0, apiQueries: 0, workerQueries: 0, providerQueries: 0 });
  const after = scrape(1000, { tasks: 30, activities: 20, local: 0, apiQueries: 5, workerQueries: 5, providerQueries: 0 });
  expect(timeSpent([{ before, after }], true, 10).perOperation).toEqual({ workflowTasks: 3, activities: 2, localActivities: 0, apiQueries: null, workerQueries: null });
  expect(timeSpent([{ before, after }], true, 0).perOperation).toBeNull();
});

test('a phase run in rounds counts every round and nothing between them', () => {
  const round1 = {
    before: scrape(0, { tasks: 0, activities: 0, local: 0, apiQueries: 0, workerQueries: 0, providerQueries: 0 }),
    after: scrape(10_000, { tasks: 40, activities: 10, local: 30, apiQueries: 200, workerQueries: 80, providerQueries: 10 }),
  };
  // Between the rounds other phases ran: 1,000 tasks and queries that belong to them, not to this phase.
  const round2 = {
    before: scrape(50_000, { tasks: 1040, activities: 510, local: 530, apiQueries: 1200, workerQueries: 1080, providerQueries: 110 }),
    after: scrape(60_000, { tasks: 1080, activities: 520, local: 560, apiQueries: 1400, workerQueries: 1160, providerQueries: 120 }),
  };
  const t = timeSpent([round1, round2], false, 20);
  expect(t.perOperation).toEqual({ workflowTasks: 4, activities: 1, localActivities: 3, apiQueries: 20, workerQueries: 8 });
  expect(t.workflowTaskExecutionMs.n).toBe(80);
  expect(t.providerQueriesPerSecond).toBe(1); // 20 queries over the 20 s the two rounds lasted
});
