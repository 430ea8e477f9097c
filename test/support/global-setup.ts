/**
 * Jest global setup: obtains the Temporal servers (cached after the first run), starts a throw-away
 * embedded PostgreSQL (unless DATABASE_URL is set) and one Temporal dev server for the end-to-end tests.
 * Addresses reach the test files through environment variables; handles stay here for global teardown.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureTemporalCli, ensureTestServer, freePort } from '../../scripts/toolchain';
import { startPostgresService } from '../../scripts/lib/postgres-service';
import { startDevServer } from '../../scripts/lib/temporal-dev-server';

export default async function globalSetup(): Promise<void> {
  const log = (l: string) => process.stderr.write(`[test setup] ${l}\n`);
  const [cli, testServer] = await Promise.all([ensureTemporalCli(log), ensureTestServer(log)]);
  process.env.TEMPORAL_TEST_SERVER_PATH = testServer.path;
  const stops: Array<() => Promise<void>> = [];

  if (!process.env.DATABASE_URL) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-pg-'));
    const pg = await startPostgresService({ dataDir, port: await freePort(), persistent: false, database: 'cashier_desk_test' });
    process.env.DATABASE_URL = pg.url;
    stops.push(() => pg.stop());
  }
  process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;

  if (!process.env.TEMPORAL_ADDRESS) {
    if (cli.type !== 'existing-path') throw new Error('the dev server is needed for end-to-end tests and could not be obtained');
    const dev = await startDevServer({ exe: cli.path, port: await freePort(), uiPort: null, dbFile: null });
    process.env.TEMPORAL_ADDRESS = dev.address;
    stops.push(() => dev.stop());
  }
  process.env.TEMPORAL_CLI_PATH_RESOLVED = cli.type === 'existing-path' ? cli.path : '';
  (globalThis as { __cashierDeskStops?: typeof stops }).__cashierDeskStops = stops;
}
