/** Composition root of the API process: reads config, builds the pool, Temporal client and providers. */
import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { loadConfig } from '../config';
import { createDb } from '../db/connection';
import { createLogger } from '../observability/logger';
import { createDefaultProviders } from '../providers';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { createApiApp } from '../http/app';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, base: { service: 'api' } });
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set (npm start provides an embedded PostgreSQL)');
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  const secretBox = new SecretBox(resolveMasterKey(config, path.resolve(__dirname, '..', '.data')));
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const { app } = createApiApp({
    db,
    secretBox,
    temporal,
    providers: createDefaultProviders(),
    log,
    config: {
      publicBaseUrl: config.publicBaseUrl,
      taskQueue: config.temporal.taskQueue,
      orderDefaultExpireSeconds: config.orderDefaultExpireSeconds,
      providerPollIntervalSeconds: config.providerPollIntervalSeconds,
      allowPrivateNotifyUrls: config.allowPrivateNotifyUrls,
      maxBodyBytes: config.maxBodyBytes,
      env: config.env,
      admin: config.admin,
    },
  });
  const server = app.listen(config.port, config.host, () => log.info('api listening', { url: `http://${config.host}:${config.port}`, publicBaseUrl: config.publicBaseUrl }));
  const shutdown = async () => {
    log.info('api shutting down');
    server.close();
    server.closeIdleConnections();
    await connection.close().catch(() => {});
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
