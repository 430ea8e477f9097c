/**
 * The whole system as separate OS processes, the way `npm start` runs it, for the fault suite: a Temporal dev
 * server from the CLI on a database file, an embedded PostgreSQL of its own on a data directory, the API and the
 * worker (api/main.ts, worker/main.ts), the two provider sandboxes (in this process, so tests can drive buyers and
 * read their logs) and a merchant backend. Every server can be killed (SIGKILL) or stopped and started again on
 * the same port and data, which is what the fault scenarios do to it.
 */
import { Client, Connection } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateLatest, type Db } from '../../../db/connection';
import { startPostgresService, type PostgresService } from '../../../scripts/lib/postgres-service';
import { spawnNodeScript, stopChild, tetheredPid, type NodeProcess } from '../../../scripts/lib/processes';
import { startDevServer, type DevServer } from '../../../scripts/lib/temporal-dev-server';
import { freePort, waitForPort } from '../../../scripts/toolchain';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../../sandbox/alipay';
import { startWechatSandbox } from '../../../sandbox/wechat';
import type { WechatSandboxHandle } from '../../../sandbox/wechat/types';
import { SecretBox } from '../../../security/secret-box';
import type { TestDb } from '../../support/db';
import { seedApp, type SeededApp } from '../../support/fixtures';
import { startFaultMerchant, type FaultMerchant } from './merchant';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const TASK_QUEUE = 'faults';

export interface FaultSystemOptions {
  /** PROVIDER_POLL_INTERVAL_SECONDS of the worker (default 5). */
  pollIntervalSeconds?: number;
  /** NOTIFY_TIMEOUT_MS of the worker (default 3000). */
  notifyTimeoutMs?: number;
  /** Extra environment for the API and the worker. */
  env?: Record<string, string>;
}

export interface FaultSystem {
  apiUrl: string;
  gateway: string;
  temporalAddress: string;
  client: Client;
  /** The suite's own pool on the system's database (survives a PostgreSQL restart: knex reconnects). */
  db: Db;
  /** The same database as a TestDb, for the shared fixtures. */
  t: TestDb;
  alipay: AlipaySandboxHandle;
  wechat: WechatSandboxHandle;
  /** An approved app bound to Alipay native and WeChat Pay native, its merchant backend and SDK. */
  app: SeededApp;
  merchant: FaultMerchant;
  /** Recent stderr lines of the children (for failure messages). */
  logs: string[];
  api: NodeProcess | null;
  worker: NodeProcess | null;
  startApi(): Promise<void>;
  /** SIGKILL: no drain, no cleanup, as a crash. */
  killApi(): Promise<void>;
  startWorker(): Promise<void>;
  killWorker(): Promise<void>;
  /** SIGKILLs the Temporal server (its SQLite file is left as a crash leaves it). */
  killTemporal(): Promise<void>;
  /** Starts the Temporal server again on the same port and database file. */
  startTemporal(): Promise<void>;
  /** Stops PostgreSQL (a fast shutdown: open connections are cut). */
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  stop(): Promise<void>;
}

async function killNode(p: NodeProcess | null): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await exited; // the tether shell exits once its process is gone
}

export async function startFaultSystem(opts: FaultSystemOptions = {}): Promise<FaultSystem> {
  const cliPath = process.env.TEMPORAL_CLI_PATH_RESOLVED;
  if (!cliPath) throw new Error('no Temporal CLI: run through jest (global setup obtains it)');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-faults-'));
  const logs: string[] = [];
  const log = (l: string) => {
    logs.push(l);
    if (logs.length > 400) logs.splice(0, logs.length - 400);
  };
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };

  stops.push(() => rm(tmp, { recursive: true, force: true }));
  try {
    const temporalPort = await freePort();
    const temporalDb = path.join(tmp, 'temporal.sqlite');
    let dev: DevServer | null = await startDevServer({ exe: cliPath, port: temporalPort, uiPort: null, dbFile: temporalDb });
    stops.push(async () => {
      await dev?.stop();
    });
    const temporalAddress = dev.address;

    const pgPort = await freePort();
    const pgDir = path.join(tmp, 'pg');
    const startPg = () => startPostgresService({ dataDir: pgDir, port: pgPort, persistent: true, database: 'cashier_desk_faults' });
    let pg: PostgresService | null = await startPg();
    stops.push(async () => {
      await pg?.stop();
    });
    const databaseUrl = pg.url;
    const db = createDb(databaseUrl, 5);
    stops.push(() => db.destroy());
    await migrateLatest(db);
    const masterKey = randomBytes(32);
    const t: TestDb = { db, url: databaseUrl, box: new SecretBox(masterKey), masterKey, destroy: async () => {} };

    // Short sandbox retries: a callback the API could not take is redelivered within seconds.
    const alipay = await startAlipaySandbox({ notifyRetryDelaysMs: [500, 1000, 2000, 4000] });
    stops.push(() => alipay.close());
    const wechat = await startWechatSandbox({ notifyRetryDelaysMs: [500, 1000, 2000, 4000] });
    stops.push(() => wechat.close());
    const app = await seedApp(t, {
      channels: [
        { channelType: 'ali-pay', sceneCode: 'native', creds: await alipay.createMerchant() },
        { channelType: 'wx-pay', sceneCode: 'native', creds: await wechat.createMerchant() },
      ],
    });

    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const gateway = `${apiUrl}/api/cashier-desk`;
    const merchant = await startFaultMerchant(gateway, app.appId, app.appKey);
    stops.push(() => merchant.close());

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      PUBLIC_BASE_URL: apiUrl,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      CASHIER_MASTER_KEY: masterKey.toString('base64'),
      CASHIER_DATA_DIR: tmp,
      LOG_LEVEL: 'warn',
      RECONCILIATION_SCHEDULE: 'false',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
      PROVIDER_POLL_INTERVAL_SECONDS: String(opts.pollIntervalSeconds ?? 5),
      NOTIFY_TIMEOUT_MS: String(opts.notifyTimeoutMs ?? 3000),
      SHUTDOWN_GRACE_SECONDS: '2',
      ...opts.env,
    };
    const spawn = async (name: string, script: string) => {
      return spawnNodeScript({ name, script: path.join(ROOT, script), env, log, cwd: ROOT, logStdout: true });
    };

    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection });
    stops.push(() => connection.close());

    const sys: FaultSystem = {
      apiUrl,
      gateway,
      temporalAddress,
      client,
      db,
      t,
      alipay,
      wechat,
      app,
      merchant,
      logs,
      api: null,
      worker: null,
      async startApi() {
        sys.api = await spawn('api', 'api/main.ts');
        const exited = new Promise<never>((_, reject) => sys.api!.child.once('exit', (c) => reject(new Error(`api exited (${c}): ${logs.slice(-5).join('\n')}`))));
        await Promise.race([waitForPort(apiPort, 90_000, '127.0.0.1'), exited]);
        exited.catch(() => {});
      },
      async killApi() {
        await killNode(sys.api);
        sys.api = null;
      },
      async startWorker() {
        sys.worker = await spawn('worker', 'worker/main.ts');
      },
      async killWorker() {
        await killNode(sys.worker);
        sys.worker = null;
      },
      async killTemporal() {
        if (!dev) return;
        const child = dev.child;
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(await tetheredPid(child), 'SIGKILL');
        await exited;
        dev = null;
      },
      async startTemporal() {
        dev = await startDevServer({ exe: cliPath, port: temporalPort, uiPort: null, dbFile: temporalDb });
      },
      async stopPostgres() {
        await pg?.stop();
        pg = null;
      },
      async startPostgres() {
        pg = await startPg();
      },
      stop: stopAll,
    };
    stops.push(async () => {
      if (sys.api) await stopChild(sys.api.child, 10_000);
      if (sys.worker) await stopChild(sys.worker.child, 40_000);
    });
    await sys.startWorker();
    await sys.startApi();
    return sys;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
