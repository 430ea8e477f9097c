/** Composition root of the worker process: config, pool, Temporal connections, providers, activities. */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createUseCases } from '../app';
import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/connection';
import { instrumentDbPool } from '../observability/db-pool';
import { createLogger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { startMetricsServer, workerExposition } from '../observability/metrics-server';
import { setupTracing } from '../observability/tracing';
import { temporalRuntimeLogger } from '../observability/temporal-logger';
import { createDefaultProviders } from '../providers';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { connectTemporal, createTemporalGateway } from '../temporal/client';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { WORKER_SHUTDOWN_GRACE_SECONDS, createPaymentWorker, sdkMetricsTelemetry } from './create-worker';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, base: { service: 'worker' } });
  // Workflow `log` and activity `Context.log` lines at LOG_LEVEL, with their workflow/activity attributes and the
  // request id; the SDK's own info level narrates bundling and state changes, so of that only warnings and errors
  // (workflow mismatches, failed activities) unless debugging.
  Runtime.install({
    logger: temporalRuntimeLogger(log.child({ component: 'temporal' }), config.logLevel),
    telemetryOptions: sdkMetricsTelemetry(config.observability.workerMetrics?.sdkPort),
  });
  const obs = config.observability;
  const tracing = setupTracing({ serviceName: obs.serviceName ?? 'cashier-desk-worker', otlpEndpoint: obs.otlpEndpoint });
  const metrics = createMetrics({ service: 'worker' });
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set (npm start provides an embedded PostgreSQL)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  instrumentDbPool(db, metrics);
  // In compose the one-shot `migrate` service has already applied everything (this is then a no-op); kept for
  // `npm start` and plain deployments. knex's migration lock makes concurrent runs safe: one applies, the others wait.
  const applied = await migrateLatest(db);
  if (applied.length) log.info('migrations applied', { applied });
  const secretBox = new SecretBox(resolveMasterKey(config, config.dataDir));
  await ensureSearchAttributes(config.temporal.address, config.temporal.namespace);
  const providers = createDefaultProviders({ metrics });

  // The worker is also a Temporal client: exception refunds start RefundWorkflows, and the reconciler heals lost starts.
  const client = await connectTemporal({ ...config.temporal, tracing: tracing !== undefined });
  const temporal = createTemporalGateway({ client: client.client, taskQueue: config.temporal.taskQueue });
  const { orders, refunds, transfers, exceptions, reconciliation } = createUseCases({ db, secretBox, temporal, providers, log, config });
  if (config.reconciliation.schedule) await temporal.ensureReconciliationSchedule(config.reconciliation);

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const activities = createActivities({ db, secretBox, providers, exceptions, healer: reconciliation, publicBaseUrl: config.publicBaseUrl, notifyTimeoutMs: config.notifyTimeoutMs, allowPrivateNotifyUrls: config.allowPrivateNotifyUrls, metrics });
  const worker = await createPaymentWorker({ connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, activities, sizing: config.worker, tracing });
  // The worker's /metrics: its own registry, then the Temporal SDK's exporter (loopback only) appended.
  const workerMetrics = obs.workerMetrics;
  const metricsServer = workerMetrics
    ? await startMetricsServer({
        host: workerMetrics.host,
        port: workerMetrics.port,
        token: obs.metricsToken,
        render: workerExposition(metrics, workerMetrics.sdkPort),
      })
    : undefined;
  if (metricsServer) log.info('worker metrics listening', { url: `http://${workerMetrics!.host}:${metricsServer.port}/metrics` });

  // Heals orders and refunds whose workflow start was lost to a crash between the insert and the start.
  const reconcile = async () => {
    try {
      const n = await orders.startLostWorkflows();
      if (n) log.warn('started workflows for orders that had none', { count: n });
      const r = await refunds.startLostWorkflows();
      if (r) log.warn('started workflows for refunds that had none', { count: r });
      const t = await transfers.startLostWorkflows();
      if (t) log.warn('started workflows for transfers that had none', { count: t });
    } catch (err) {
      log.error('reconciler failed', { error: (err as Error).message });
    }
  };
  let reconciling = reconcile();
  const timer = setInterval(() => (reconciling = reconcile()), 60_000);

  // The SDK's runtime starts the drain on the first SIGINT/SIGTERM and then stops listening, so a second signal
  // would kill the process mid-drain by default — and Ctrl-C under `npm start` can deliver two (the terminal's
  // SIGINT, the watchdog's SIGTERM). Listening here keeps every later signal harmless.
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    log.info(signalled ? 'worker already draining' : 'worker draining', { signal, graceSeconds: WORKER_SHUTDOWN_GRACE_SECONDS });
    signalled = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  log.info('worker running', { taskQueue: config.temporal.taskQueue, address: config.temporal.address });
  await worker.run(); // resolves after SIGINT/SIGTERM once in-flight activities finished (or the grace time cut them)
  clearInterval(timer);
  await reconciling; // never rejects; it must not find the pool closed under it
  await client.close();
  await connection.close();
  await db.destroy();
  await metricsServer?.close();
  await tracing?.shutdown().catch((err: Error) => log.warn('tracing shutdown failed', { error: err.message }));
  log.info('worker stopped');
}

main().catch((err) => {
  console.error('worker failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
