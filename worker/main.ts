/** Composition root of the worker process: config, pool, Temporal connection, providers, activities. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import path from 'node:path';
import { createActivities } from '../activities';
import { createBindingActivities } from '../activities/binding';
import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/connection';
import { createLogger } from '../observability/logger';
import { createDefaultProviders } from '../providers';
import { ensureSearchAttributes } from '../scripts/lib/temporal-dev-server';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { reconcileUnstartedOrders } from '../temporal/client';
import { createPaymentWorker } from './create-worker';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, base: { service: 'worker' } });
  // The SDK's info level narrates bundling and state changes; keep its warnings and errors (workflow
  // mismatches, failed activities) unless debugging.
  Runtime.install({ logger: new DefaultLogger(config.logLevel === 'debug' ? 'DEBUG' : config.logLevel === 'error' ? 'ERROR' : 'WARN') });
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set (npm start provides an embedded PostgreSQL)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  const applied = await migrateLatest(db);
  if (applied.length) log.info('migrations applied', { applied });
  const secretBox = new SecretBox(resolveMasterKey(config, path.resolve(__dirname, '..', '.data')));
  await ensureSearchAttributes(config.temporal.address, config.temporal.namespace);

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const activities = {
    ...createActivities({ db, secretBox, providers: createDefaultProviders(), publicBaseUrl: config.publicBaseUrl, notifyTimeoutMs: config.notifyTimeoutMs }),
    ...createBindingActivities({ db }),
  };
  const worker = await createPaymentWorker({ connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, activities });

  // Heals orders whose workflow start was lost to a crash between the insert and the start.
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const reconcile = async () => {
    try {
      const n = await reconcileUnstartedOrders({ db, temporal: client, taskQueue: config.temporal.taskQueue, pollIntervalMs: config.providerPollIntervalSeconds * 1000 });
      if (n) log.warn('started workflows for orders that had none', { count: n });
    } catch (err) {
      log.error('reconciler failed', { error: (err as Error).message });
    }
  };
  const timer = setInterval(reconcile, 60_000);
  void reconcile();

  log.info('worker running', { taskQueue: config.temporal.taskQueue, address: config.temporal.address });
  await worker.run(); // resolves after SIGINT/SIGTERM (the SDK's runtime handles them) once in-flight work drained
  clearInterval(timer);
  await clientConnection.close();
  await connection.close();
  await db.destroy();
  log.info('worker stopped');
}

main().catch((err) => {
  console.error('worker failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
