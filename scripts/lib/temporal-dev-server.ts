/**
 * The Temporal CLI dev server as a service of our own (not the SDK's ephemeral server), so it stops
 * gracefully on SIGTERM and keeps its SQLite file under .data/ between runs of `npm start`.
 */
import { Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../workflows/messages';
import { spawnTethered, stopChild } from './processes';
import { waitForPort } from '../toolchain';

const execFileAsync = promisify(execFile);

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function startDevServer(opts: {
  exe: string;
  port: number;
  uiPort: number | null;
  dbFile: string | null;
  namespace?: string;
  log?: (l: string) => void;
}): Promise<DevServer> {
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--namespace', namespace, '--log-level', 'error'];
  args.push(...(opts.uiPort ? ['--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1'] : ['--headless']));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const sa of SEARCH_ATTRIBUTE_DEFINITIONS) args.push('--search-attribute', `${sa.name}=${sa.type}`);
  // Updates (the channel choice) need these on older servers; harmless on 1.29.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  const child = spawnTethered(opts.exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`temporal dev server exited (${code}):\n${stderr}`))));
  await Promise.race([waitForPort(opts.port, 60_000), exited]);
  const address = `127.0.0.1:${opts.port}`;
  await ensureSearchAttributes(address, namespace);
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : null,
    stop: () => stopChild(child),
  };
}

/**
 * An existing SQLite file ignores --search-attribute for its namespaces, so register whatever is missing
 * through the operator service (works on the dev server, the Java test server and a production cluster).
 */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await registerSearchAttributes(connection.operatorService, namespace);
  } finally {
    await connection.close();
  }
}

export async function registerSearchAttributes(operatorService: Connection['operatorService'], namespace: string): Promise<void> {
  const T = temporal.api.enums.v1.IndexedValueType;
  let existing: Record<string, unknown> = {};
  try {
    existing = (await operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    // The Java test server does not implement listing; adding (and ignoring "already exists") still works there.
    if ((err as { code?: number }).code !== 12 /* UNIMPLEMENTED */) throw err;
  }
  for (const sa of SEARCH_ATTRIBUTE_DEFINITIONS) {
    if (existing[sa.name]) continue;
    const type = sa.type === 'Int' ? T.INDEXED_VALUE_TYPE_INT : T.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await operatorService.addSearchAttributes({ namespace, searchAttributes: { [sa.name]: type } });
    } catch (err) {
      if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
    }
  }
}

/** Keeps finished orders visible in the UI for 30 days instead of the dev server's 24 h. */
export async function setRetention(exe: string, address: string, namespace: string, retention = '720h'): Promise<void> {
  await execFileAsync(exe, ['operator', 'namespace', 'update', '--address', address, '--namespace', namespace, '--retention', retention]);
}
