import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, Worker, type TelemetryOptions, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../activities';
import { loadConfig, type WorkerSizing } from '../config';
import type { Tracing } from '../observability/tracing';
import { requestIdActivityInterceptor } from './request-id';

export const WORKFLOWS_PATH = require.resolve('../workflows');
/** Workflow interceptor modules: bundles built ahead (tests, bundleWorkflowCode) must list them too. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/request-id')];
/** The workflow interceptors of a traced worker; a pre-built bundle must include them (`workflowInterceptorModules`). */
export const WORKFLOW_TRACING_INTERCEPTORS = require.resolve('./workflow-interceptors');

/**
 * Milliseconds. The SDK's own task-latency buckets start at 100 ms (schedule-to-start) or jump 200 → 500 → 1000 ms
 * (task execution), so a healthy worker's whole distribution sits in one bucket and its p99 cannot be read; these
 * resolve what a payment workflow's tasks take, from a millisecond to the minute a starved worker reaches.
 */
const SDK_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 60_000];
const SDK_LATENCY_BUCKET_OVERRIDES = Object.fromEntries(
  [
    'workflow_task_schedule_to_start_latency',
    'workflow_task_execution_latency',
    'workflow_task_replay_latency',
    'activity_schedule_to_start_latency',
    'activity_execution_latency',
    'local_activity_execution_latency',
  ].map((name) => [name, SDK_LATENCY_BUCKETS_MS]),
);

/**
 * The Temporal SDK's own metrics (workflow task latency, poll results, slots, sticky cache…): its Prometheus
 * exporter on loopback port `sdkPort`, which the worker's /metrics reads and appends (worker/main.ts). Merged into
 * Runtime.install's telemetryOptions; nothing without a port (worker metrics off).
 */
export function sdkMetricsTelemetry(sdkPort: number | undefined): Pick<TelemetryOptions, 'metrics'> {
  return sdkPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkPort}`, histogramBucketOverrides: SDK_LATENCY_BUCKET_OVERRIDES } } } : {};
}

/** The activity interceptors of a traced worker (activity spans); workflow spans reach the exporter through the sink. */
function tracingActivityInterceptors(): NonNullable<NonNullable<WorkerOptions['interceptors']>['activity']> {
  return [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })];
}

/** How long in-flight activities may finish after a shutdown signal before they are cancelled (`npm start` waits 35 s). */
export const WORKER_SHUTDOWN_GRACE_SECONDS = 30;

/** Worker sizing shared by the payment worker and the bench's engine baseline, so both run on equal terms. */
export function workerTuning(sizing: WorkerSizing): Partial<WorkerOptions> {
  return {
    maxCachedWorkflows: sizing.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: sizing.maxConcurrentWorkflowTasks,
    maxConcurrentActivityTaskExecutions: sizing.maxConcurrentActivities,
    // Database writes and provider calls run as local activities inside workflow tasks.
    maxConcurrentLocalActivityExecutions: sizing.maxConcurrentActivities,
  };
}

/** The one place worker options live, shared by worker/main.ts and the tests. */
export async function createPaymentWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Every workflow's activities (createActivities). */
  activities: Activities;
  /** Default: the configuration's defaults (tests). */
  sizing?: WorkerSizing;
  /** Pre-built bundle (tests bundle once per file; production may ship one); else bundled from source. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Tracing on: spans for workflows and activities, joined to the caller's trace (a pre-built bundle must include WORKFLOW_TRACING_INTERCEPTORS). */
  tracing?: Tracing;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // A pre-built bundle carries its workflow interceptors already (the SDK ignores workflowModules beside it).
    interceptors: {
      activity: [requestIdActivityInterceptor, ...(opts.tracing ? tracingActivityInterceptors() : [])],
      ...(opts.workflowBundle ? {} : { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES, ...(opts.tracing ? [WORKFLOW_TRACING_INTERCEPTORS] : [])] }),
    },
    // Let an in-flight notification POST finish on shutdown instead of being cut off mid-request.
    shutdownGraceTime: `${WORKER_SHUTDOWN_GRACE_SECONDS}s`,
    ...workerTuning(opts.sizing ?? loadConfig({}).worker),
    ...(opts.tracing ? { sinks: { exporter: makeWorkflowExporter(opts.tracing.spanProcessor, opts.tracing.resource) } } : {}),
  });
}
