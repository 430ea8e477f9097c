/**
 * Composition root of the API process: reads the configuration once, builds the pool, the Temporal client,
 * the providers and the use-cases, and serves the HTTP app; on SIGTERM/SIGINT drains it (api/drain.ts) before
 * closing the Temporal client and the pool.
 */
import type { AddressInfo } from 'node:net';
import { createUseCases } from '../app';
import { loadConfig } from '../config';
import { createDb } from '../db/connection';
import { createHttpApp } from '../http/app';
import { httpServerOptions } from '../http/server-options';
import { instrumentDbPool } from '../observability/db-pool';
import { createLogger } from '../observability/logger';
import { createMetrics, exposition } from '../observability/metrics';
import { startMetricsServer } from '../observability/metrics-server';
import { setupTracing } from '../observability/tracing';
import { createDefaultProviders } from '../providers';
import { resolveAdminCredential } from '../security/admin-credential';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { connectTemporal, createTemporalGateway } from '../temporal/client';
import { createDrainableServer } from './drain';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, base: { service: 'api' } });
  const obs = config.observability;
  // Before any client or server exists, so every span has a provider to go to.
  const tracing = setupTracing({ serviceName: obs.serviceName ?? 'cashier-desk-api', otlpEndpoint: obs.otlpEndpoint });
  const metrics = createMetrics({ service: 'api' });
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set (npm start provides an embedded PostgreSQL)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  instrumentDbPool(db, metrics);
  const secretBox = new SecretBox(resolveMasterKey(config, config.dataDir));
  const temporalConnection = await connectTemporal({ ...config.temporal, tracing: tracing !== undefined });
  const temporal = createTemporalGateway({ client: temporalConnection.client, taskQueue: config.temporal.taskQueue });
  const providers = createDefaultProviders({ metrics });
  const useCases = createUseCases({ db, secretBox, temporal, providers, log, config, metrics });
  const app = createHttpApp({
    config,
    db,
    secretBox,
    providers,
    useCases,
    adminCredential: resolveAdminCredential(config, config.dataDir),
    temporalNamespace: temporal.namespace,
    log,
    metrics,
    tracing: tracing !== undefined,
  });
  // METRICS_PORT: /metrics on a listener of its own (e.g. reachable from the monitoring network only).
  const metricsServer = obs.apiMetrics ? await startMetricsServer({ ...obs.apiMetrics, token: obs.metricsToken, render: () => exposition(metrics) }) : undefined;
  if (metricsServer) log.info('api metrics listening', { url: `http://${obs.apiMetrics!.host}:${metricsServer.port}/metrics` });
  const drain = createDrainableServer(app, httpServerOptions(config.httpServer));
  drain.server.listen(config.port, config.host, () => {
    const { port } = drain.server.address() as AddressInfo;
    log.info('api listening', { url: `http://${config.host}:${port}`, publicBaseUrl: config.publicBaseUrl });
  });

  // SIGTERM (an orchestrator, `npm start`) and SIGINT (Ctrl-C, which a terminal also sends to `npm start`'s
  // children) may both arrive: the first starts the drain, later ones change nothing.
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const graceMs = config.shutdownGraceSeconds * 1000;
    log.info('api shutting down', { signal, inFlight: drain.inFlight(), graceSeconds: config.shutdownGraceSeconds });
    // Should closing the pools hang, still exit: the orchestrator's own deadline would SIGKILL us anyway.
    setTimeout(() => process.exit(1), graceMs + 10_000).unref();
    try {
      const { cut } = await drain.close(graceMs);
      if (cut) log.warn('shutdown grace period over: requests cut', { cut });
      // Only now: the requests that were in flight needed both.
      await temporalConnection.close().catch((err: Error) => log.warn('temporal connection close failed', { error: err.message }));
      await db.destroy();
      await metricsServer?.close();
      await tracing?.shutdown().catch((err: Error) => log.warn('tracing shutdown failed', { error: err.message }));
      log.info('api stopped');
      process.exit(0);
    } catch (err) {
      log.error('api shutdown failed', { error: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    }
  };
  process.on('SIGTERM', (s) => void shutdown(s));
  process.on('SIGINT', (s) => void shutdown(s));
}

main().catch((err) => {
  console.error('api failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
