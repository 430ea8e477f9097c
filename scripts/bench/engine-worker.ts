/** The baseline worker process of `npm run bench`: its own task queue, the payment worker's tuning and SDK metrics. */
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../../config';
import { sdkMetricsTelemetry, workerTuning } from '../../worker/create-worker';

async function main() {
  const [address, taskQueue, sdkMetricsPort] = process.argv.slice(2);
  // The SDK's task latencies with the payment worker's buckets, read by the bench like the payment worker's.
  Runtime.install({ telemetryOptions: sdkMetricsTelemetry(Number(sdkMetricsPort)) });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./engine-workflows'),
    activities: { step: async (name: string) => name },
    ...workerTuning(loadConfig().worker),
  });
  process.stdout.write('ready\n');
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error('engine worker failed:', err);
  process.exit(1);
});
