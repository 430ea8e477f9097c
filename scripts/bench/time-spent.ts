/**
 * Where a phase's time went, from the processes' own metrics scraped before and after it: the Temporal SDK's task
 * latencies (the payment worker's, or the engine worker's for the engine phases), how long queries waited for a
 * PostgreSQL connection in the API and the worker, and how often the worker queried the providers.
 */
import { histogramAdd, histogramDelta, histogramMean, histogramOf, histogramQuantile, parseExposition, sumOf, type Histogram, type Sample } from './prometheus';

export interface MetricsScrape {
  at: number;
  api: Sample[];
  worker: Sample[];
  engine: Sample[];
}

export interface MetricsUrls {
  api: string;
  worker: string;
  /** The engine worker's SDK exporter while an engine phase runs. */
  engine: () => string | null;
}

async function scrape(url: string | null): Promise<Sample[]> {
  if (!url) return [];
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? parseExposition(await res.text()) : [];
  } catch {
    return []; // a process that is down (the worker during the restart) has nothing to say
  }
}

export async function scrapeMetrics(urls: MetricsUrls): Promise<MetricsScrape> {
  const [api, worker, engine] = await Promise.all([scrape(urls.api), scrape(urls.worker), scrape(urls.engine())]);
  return { at: performance.now(), api, worker, engine };
}

type Quantiles = { p50: number | null; p99: number | null; n: number };

export interface TimeSpent {
  /** Workflow tasks: waiting in the queue for a worker slot, and running in the worker (activations, local activities' results). */
  workflowTaskScheduleToStartMs: Quantiles;
  workflowTaskExecutionMs: Quantiles;
  /** Workflow tasks for a workflow not in the worker's cache, which replayed its whole history first. */
  stickyCacheMisses: number;
  activityScheduleToStartMs: Quantiles;
  localActivityExecutionMs: Quantiles;
  /** Time a query waited for a pooled PostgreSQL connection, per process (null: no query or no database). */
  apiPoolWaitMs: { mean: number | null; p99: number | null } | null;
  workerPoolWaitMs: { mean: number | null; p99: number | null } | null;
  /** Provider queries per second the worker made (open orders polling). */
  providerQueriesPerSecond: number | null;
  /**
   * Round trips per completed operation, the work left queued included: counts, so unlike the rates they do not
   * move with the machine's speed, and a change that adds a task or a query to the hot path shows here first.
   */
  perOperation: RoundTrips | null;
}

export interface RoundTrips {
  workflowTasks: number;
  activities: number;
  localActivities: number;
  /** PostgreSQL queries (pool acquisitions); null for a process not in the phase (the engine's). */
  apiQueries: number | null;
  workerQueries: number | null;
  /** Mean events in a sampled finished workflow's history (from Temporal, set by the bench); null when not sampled. */
  historyEvents?: number | null;
}

const POOL_WAIT = 'cashier_db_pool_acquire_seconds';

/** Scrapes before and after one run of a phase (a phase measured in rounds has one interval per round). */
export interface MetricsInterval {
  before: MetricsScrape;
  after: MetricsScrape;
}

type Process = 'api' | 'worker' | 'engine';

/** What a histogram of one process observed within the intervals, together. */
function observed(intervals: readonly MetricsInterval[], process: Process, name: string): Histogram {
  const empty: Histogram = { buckets: new Map(), count: 0, sum: 0 };
  return intervals.reduce((sum, i) => histogramAdd(sum, histogramDelta(histogramOf(i.before[process], name), histogramOf(i.after[process], name))), empty);
}

/** Whether the process answered any scrape (the engine worker only runs in engine phases). */
const scraped = (intervals: readonly MetricsInterval[], process: Process) => intervals.some((i) => i.after[process].length > 0);

/** How much a counter of one process grew within the intervals. */
const grew = (intervals: readonly MetricsInterval[], process: Process, name: string, match: Record<string, string> = {}) =>
  intervals.reduce((sum, i) => sum + sumOf(i.after[process], name, match) - sumOf(i.before[process], name, match), 0);

/** Rounded to 0.1, scaled to ms (`perUnit`: 1000 for a histogram in seconds). */
const ms = (x: number | null, perUnit = 1) => (x === null ? null : Math.round(x * perUnit * 10) / 10);

function quantiles(h: Histogram): Quantiles {
  return { p50: ms(histogramQuantile(0.5, h)), p99: ms(histogramQuantile(0.99, h)), n: h.count };
}

function poolWait(intervals: readonly MetricsInterval[], process: Process): TimeSpent['apiPoolWaitMs'] {
  if (!scraped(intervals, process)) return null;
  const h = observed(intervals, process, POOL_WAIT);
  return { mean: ms(histogramMean(h), 1000), p99: ms(histogramQuantile(0.99, h), 1000) };
}

/**
 * The engine phases read the engine worker; the others the payment worker, the API and their pools. `operations`
 * is what the phase completed in all its intervals (its round trips are counted per operation).
 */
export function timeSpent(intervals: readonly MetricsInterval[], engine: boolean, operations: number): TimeSpent {
  const sdk: Process = engine ? 'engine' : 'worker';
  const seconds = intervals.reduce((sum, i) => sum + (i.after.at - i.before.at) / 1000, 0);
  const taskExecution = observed(intervals, sdk, 'temporal_workflow_task_execution_latency');
  const activityScheduleToStart = observed(intervals, sdk, 'temporal_activity_schedule_to_start_latency');
  const localActivities = observed(intervals, sdk, 'temporal_local_activity_execution_latency');
  const per = (n: number) => Math.round((n / operations) * 10) / 10;
  const dbQueries = (p: Process) => (engine || !scraped(intervals, p) ? null : per(observed(intervals, p, POOL_WAIT).count));
  return {
    workflowTaskScheduleToStartMs: quantiles(observed(intervals, sdk, 'temporal_workflow_task_schedule_to_start_latency')),
    workflowTaskExecutionMs: quantiles(taskExecution),
    stickyCacheMisses: grew(intervals, sdk, 'temporal_sticky_cache_miss'),
    activityScheduleToStartMs: quantiles(activityScheduleToStart),
    localActivityExecutionMs: quantiles(localActivities),
    apiPoolWaitMs: engine ? null : poolWait(intervals, 'api'),
    workerPoolWaitMs: engine ? null : poolWait(intervals, 'worker'),
    providerQueriesPerSecond: engine || seconds <= 0 ? null : ms(grew(intervals, 'worker', 'cashier_provider_calls_total', { operation: 'query' }) / seconds),
    perOperation:
      operations > 0
        ? {
            workflowTasks: per(taskExecution.count),
            activities: per(activityScheduleToStart.count),
            localActivities: per(localActivities.count),
            apiQueries: dbQueries('api'),
            workerQueries: dbQueries('worker'),
          }
        : null,
  };
}
