/** The baseline worker process of `npm run bench`: its own task queue, the payment worker's tuning. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../config';
import { workerTuning } from '../../worker/create-worker';

async function main() {
  const [address, taskQueue] = process.argv.slice(2);
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
