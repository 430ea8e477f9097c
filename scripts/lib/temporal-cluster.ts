/**
 * A Temporal server on PostgreSQL, the way the compose stack runs it (temporalio/auto-setup: server 1.29.1, the
 * postgres12 plugin for the history store and for visibility, 4 history shards, deploy/temporal/dynamicconfig.yaml),
 * as processes on this machine: its own embedded PostgreSQL, the schema applied by temporal-sql-tool, all four
 * services in one temporal-server process. `npm run bench` runs on it with BENCH_TEMPORAL=cluster, so the figures the
 * dev server (SQLite in memory) cannot give — what a paid order costs a Temporal that persists — are measured.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureNamespace } from '../../temporal/namespace';
import { ensureSearchAttributes } from '../../temporal/search-attributes';
import { freePort, TEMPORAL_SERVER_VERSION, waitForPort, type TemporalServerBuild } from '../toolchain';
import { startPostgresService } from './postgres-service';
import { spawnTethered, stopChild } from './processes';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
/** The compose stack's dynamic configuration, so both run with the same server settings. */
const DYNAMIC_CONFIG = path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig.yaml');
/** Where the bench tells this instance's PostgreSQL processes apart from the application's (scripts/bench/cpu.ts). */
export const TEMPORAL_PG_DIR_NAME = 'temporal-pg';

export interface TemporalCluster {
  address: string;
  stop(): Promise<void>;
}

export async function startTemporalCluster(opts: { build: TemporalServerBuild; dir: string; namespace?: string; log: (l: string) => void }): Promise<TemporalCluster> {
  const namespace = opts.namespace ?? 'default';
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const pg = await startPostgresService({ dataDir: path.join(opts.dir, TEMPORAL_PG_DIR_NAME), port: await freePort(), persistent: false, database: 'postgres' });
    stops.push(pg.stop);
    const url = new URL(pg.url);
    const connection = { host: url.hostname, port: url.port, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    for (const [database, schema] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
      await applySchema(opts.build, connection, database, path.join(opts.build.postgresSchemaDir, schema, 'versioned'));
    }
    const ports = { frontend: await freeServerPort(), frontendHttp: await freeServerPort(), metrics: await freeServerPort() };
    const services: Record<string, { grpc: number; membership: number }> = {};
    for (const name of ['frontend', 'history', 'matching', 'worker']) services[name] = { grpc: name === 'frontend' ? ports.frontend : await freeServerPort(), membership: await freeServerPort() };
    await mkdir(path.join(opts.dir, 'config'), { recursive: true });
    await writeFile(path.join(opts.dir, 'config', 'cluster.yaml'), serverConfig({ connection, services, frontendHttpPort: ports.frontendHttp, metricsPort: ports.metrics }));
    const child = spawnTethered(opts.build.server, ['--root', opts.dir, '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    stops.push(() => stopChild(child, 30_000));
    // Its log (errors only) goes to stdout: kept, so a server that exits says why.
    let output = '';
    const keep = (c: Buffer) => (output = (output + c.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`temporal-server exited (${code}):\n${output}`))));
    await Promise.race([waitForPort(ports.frontend, 120_000), exited]);
    const address = `127.0.0.1:${ports.frontend}`;
    // 30 days' retention, as the compose stack keeps finished orders visible in the Web UI.
    await Promise.race([retry(() => ensureNamespace(address, namespace, '720h'), 60_000), exited]);
    await Promise.race([retry(() => ensureSearchAttributes(address, namespace), 60_000), exited]);
    opts.log(`temporal-server ${TEMPORAL_SERVER_VERSION} on PostgreSQL at ${address}`);
    return { address, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

type PgConnection = { host: string; port: string; user: string; password: string };

/** What auto-setup does for each database: create it, set up the base schema, apply every versioned step. */
async function applySchema(build: TemporalServerBuild, c: PgConnection, database: string, versionedDir: string): Promise<void> {
  const base = ['--plugin', 'postgres12', '--endpoint', c.host, '--port', c.port, '--user', c.user, '--database', database];
  // The password through the environment, not the command line every process on the machine can read.
  const env = { ...process.env, SQL_PASSWORD: c.password };
  for (const step of [['create-database'], ['setup-schema', '-v', '0.0'], ['update-schema', '-d', versionedDir]]) {
    await execFileAsync(build.sqlTool, [...base, ...step], { env });
  }
}

/**
 * A free port below 32768: the server stores its members' ports in a PostgreSQL smallint (cluster_membership), so
 * one from Linux's ephemeral range (32768 and up) stops it at start-up with "out of range for type smallint".
 */
async function freeServerPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

async function retry<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function serverConfig(o: { connection: PgConnection; services: Record<string, { grpc: number; membership: number }>; frontendHttpPort: number; metricsPort: number }): string {
  const store = (database: string, maxConns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${database}
        connectAddr: "${o.connection.host}:${o.connection.port}"
        connectProtocol: tcp
        user: ${JSON.stringify(o.connection.user)}
        password: ${JSON.stringify(o.connection.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (name: string) => `
  ${name}:
    rpc:
      grpcPort: ${o.services[name].grpc}
      membershipPort: ${o.services[name].membership}
      bindOnLocalHost: true${name === 'frontend' ? `\n      httpPort: ${o.frontendHttpPort}` : ''}`;
  // 20 connections to each store: enough that the server never waits for one at the bench's load.
  return `log:
  stdout: true
  level: error
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 20)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${o.metricsPort}"
services:${['frontend', 'history', 'matching', 'worker'].map(service).join('')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${o.services.frontend.grpc}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${JSON.stringify(DYNAMIC_CONFIG)}
  pollInterval: 10s
`;
}
