import { NativeConnection, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../activities';
import { loadConfig, type WorkerSizing } from '../config';
import { requestIdActivityInterceptor } from './request-id';

export const WORKFLOWS_PATH = require.resolve('../workflows');
/** Workflow interceptor modules: bundles built ahead (tests, bundleWorkflowCode) must list them too. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/request-id')];

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
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // A pre-built bundle carries its workflow interceptors already (the SDK ignores workflowModules beside it).
    interceptors: { activity: [requestIdActivityInterceptor], ...(opts.workflowBundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }) },
    // Let an in-flight notification POST finish on shutdown instead of being cut off mid-request.
    shutdownGraceTime: `${WORKER_SHUTDOWN_GRACE_SECONDS}s`,
    ...workerTuning(opts.sizing ?? loadConfig({}).worker),
  });
}
