/** Starts db/embedded-server.ts as a tethered child process and resolves with its connection URL. */
import path from 'node:path';
import { spawnTethered, stopChild } from './processes';

const ROOT = path.resolve(__dirname, '..', '..');

/** Where `npm start` runs its embedded PostgreSQL (local-only credentials, loopback only). */
export const EMBEDDED_PORT = 54329;
export const EMBEDDED_DATABASE_URL = `postgres://cashier:cashier-local-only@127.0.0.1:${EMBEDDED_PORT}/cashier_desk`;

export interface PostgresService {
  url: string;
  stop(): Promise<void>;
}

export async function startPostgresService(opts: { dataDir: string; port: number; database: string; persistent: boolean }): Promise<PostgresService> {
  const child = spawnTethered(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'db', 'embedded-server.ts'), opts.dataDir, String(opts.port), opts.database, String(opts.persistent)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited (${code}) before it was ready:\n${stderr}`)));
  });
  return { url, stop: () => stopChild(child, 20_000) };
}
