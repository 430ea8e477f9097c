/**
 * `npm run migrate` (compose: the one-shot `migrate` service, `node dist/scripts/migrate.js`): applies every
 * pending migration and exits 0, or exits 1 with the reason. The compose stack starts the API and the worker
 * only after it has succeeded, so neither serves against a schema older than its code.
 * Uses DATABASE_URL, or the embedded PostgreSQL of a running `npm start`.
 */
import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/connection';
import { createLogger } from '../observability/logger';
import { EMBEDDED_DATABASE_URL } from './lib/postgres-service';

async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, base: { service: 'migrate' } });
  const db = createDb(config.databaseUrl ?? EMBEDDED_DATABASE_URL, 1);
  try {
    const applied = await migrateLatest(db);
    log.info(applied.length ? 'migrations applied' : 'schema up to date', { applied });
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(`migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
