/**
 * Composition root of the API process: reads the configuration once, builds the pool, the Temporal client,
 * the providers and the use-cases, and serves the HTTP app.
 */
import { createUseCases } from '../app';
import { loadConfig } from '../config';
import { createDb } from '../db/connection';
import { createHttpApp } from '../http/app';
import { createLogger } from '../observability/logger';
import { createDefaultProviders } from '../providers';
import { resolveAdminCredential } from '../security/admin-credential';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { connectTemporal, createTemporalGateway } from '../temporal/client';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, base: { service: 'api' } });
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set (npm start provides an embedded PostgreSQL)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  const secretBox = new SecretBox(resolveMasterKey(config, config.dataDir));
  const temporalConnection = await connectTemporal(config.temporal);
  const temporal = createTemporalGateway({ client: temporalConnection.client, taskQueue: config.temporal.taskQueue });
  const providers = createDefaultProviders();
  const useCases = createUseCases({ db, secretBox, temporal, providers, log, config });
  const app = createHttpApp({
    config,
    db,
    secretBox,
    providers,
    useCases,
    adminCredential: resolveAdminCredential(config, config.dataDir),
    temporalNamespace: temporal.namespace,
    log,
  });
  const server = app.listen(config.port, config.host, () => log.info('api listening', { url: `http://${config.host}:${config.port}`, publicBaseUrl: config.publicBaseUrl }));
  const shutdown = async () => {
    log.info('api shutting down');
    server.close();
    server.closeIdleConnections();
    await temporalConnection.close().catch(() => {});
    await db.destroy();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err) => {
  console.error('api failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
