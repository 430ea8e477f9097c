import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../activities';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** How long in-flight activities may finish after a shutdown signal before they are cancelled (`npm start` waits 35 s). */
export const WORKER_SHUTDOWN_GRACE_SECONDS = 30;

/** The one place worker options live, shared by worker/main.ts and the tests. */
export async function createPaymentWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Every workflow's activities (createActivities). */
  activities: Activities;
  /** Pre-built bundle (tests bundle once per file; production may ship one); else bundled from source. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Let an in-flight notification POST finish on shutdown instead of being cut off mid-request.
    shutdownGraceTime: `${WORKER_SHUTDOWN_GRACE_SECONDS}s`,
  });
}
