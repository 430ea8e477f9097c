/**
 * Where a phase's time went, from the processes' own metrics scraped before and after it: the Temporal SDK's task
 * latencies (the payment worker's, or the engine worker's for the engine phases), how long queries waited for a
 * PostgreSQL connection in the API and the worker, and how often the worker queried the providers.
 */
import { histogramDelta, histogramMean, histogramOf, histogramQuantile, parseExposition, sumOf, type Sample } from './prometheus';

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
}

const POOL_WAIT = 'cashier_db_pool_acquire_seconds';

/** What a histogram observed between two scrapes of one process. */
const observed = (before: Sample[], after: Sample[], name: string) => histogramDelta(histogramOf(before, name), histogramOf(after, name));
/** Rounded to 0.1, scaled to ms (`perUnit`: 1000 for a histogram in seconds). */
const ms = (x: number | null, perUnit = 1) => (x === null ? null : Math.round(x * perUnit * 10) / 10);

function quantiles(before: Sample[], after: Sample[], name: string): Quantiles {
  const d = observed(before, after, name);
  return { p50: ms(histogramQuantile(0.5, d)), p99: ms(histogramQuantile(0.99, d)), n: d.count };
}

function poolWait(before: Sample[], after: Sample[]): TimeSpent['apiPoolWaitMs'] {
  if (!after.length) return null;
  const d = observed(before, after, POOL_WAIT);
  return { mean: ms(histogramMean(d), 1000), p99: ms(histogramQuantile(0.99, d), 1000) };
}

/**
 * The engine phases read the engine worker; the others the payment worker, the API and their pools. `operations`
 * is what the phase completed (its round trips are counted per operation).
 */
export function timeSpent(before: MetricsScrape, after: MetricsScrape, engine: boolean, operations: number): TimeSpent {
  const [b, a] = engine ? [before.engine, after.engine] : [before.worker, after.worker];
  const seconds = (after.at - before.at) / 1000;
  const queries = (s: Sample[]) => sumOf(s, 'cashier_provider_calls_total', { operation: 'query' });
  const taskExecution = quantiles(b, a, 'temporal_workflow_task_execution_latency');
  const activityScheduleToStart = quantiles(b, a, 'temporal_activity_schedule_to_start_latency');
  const localActivities = quantiles(b, a, 'temporal_local_activity_execution_latency');
  const per = (n: number) => Math.round((n / operations) * 10) / 10;
  const dbQueries = (x: Sample[], y: Sample[]) => (engine || !y.length ? null : per(observed(x, y, POOL_WAIT).count));
  return {
    workflowTaskScheduleToStartMs: quantiles(b, a, 'temporal_workflow_task_schedule_to_start_latency'),
    workflowTaskExecutionMs: taskExecution,
    stickyCacheMisses: sumOf(a, 'temporal_sticky_cache_miss') - sumOf(b, 'temporal_sticky_cache_miss'),
    activityScheduleToStartMs: activityScheduleToStart,
    localActivityExecutionMs: localActivities,
    apiPoolWaitMs: engine ? null : poolWait(before.api, after.api),
    workerPoolWaitMs: engine ? null : poolWait(before.worker, after.worker),
    providerQueriesPerSecond: engine || seconds <= 0 ? null : ms((queries(a) - queries(b)) / seconds),
    perOperation:
      operations > 0
        ? {
            workflowTasks: per(taskExecution.n),
            activities: per(activityScheduleToStart.n),
            localActivities: per(localActivities.n),
            apiQueries: dbQueries(before.api, after.api),
            workerQueries: dbQueries(before.worker, after.worker),
          }
        : null,
  };
}
