/**
 * The Temporal CLI dev server as a service of our own (not the SDK's ephemeral server), so it stops
 * gracefully on SIGTERM and keeps its SQLite file under .data/ between runs of `npm start`.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureSearchAttributes, SEARCH_ATTRIBUTE_FLAGS } from '../../temporal/search-attributes';
import { spawnTethered, stopChild } from './processes';
import { waitForPort } from '../toolchain';

const execFileAsync = promisify(execFile);

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** The tether shell around the server (fault tests SIGKILL the server under it). */
  child: ChildProcess;
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
  for (const flag of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', flag);
  // Updates (the channel choice) need these on older servers; harmless on 1.29.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  // Eager activity dispatch: an activity scheduled by a workflow task (the merchant notification) is handed back
  // to the worker in the task's completion response instead of going through matching and a poll.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
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
    child,
    stop: () => stopChild(child),
  };
}

/** Keeps finished orders visible in the UI for 30 days instead of the dev server's 24 h. */
export async function setRetention(exe: string, address: string, namespace: string, retention = '720h'): Promise<void> {
  await execFileAsync(exe, ['operator', 'namespace', 'update', '--address', address, '--namespace', namespace, '--retention', retention]);
}
