/**
 * The system under test for `npm run bench`, as separate OS processes the way `npm start` runs it: a Temporal
 * dev server (or temporal-server on PostgreSQL, or TEMPORAL_ADDRESS), PostgreSQL (embedded, or DATABASE_URL), the sandboxes, the worker and the
 * API, plus the engine-baseline worker. Every child is tethered to this process.
 */
import { temporal } from '@temporalio/proto';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateLatest, type Db } from '../../db/connection';
import type { ChannelCredentials } from '../../providers/types';
import { SecretBox } from '../../security/secret-box';
import { connectTemporal } from '../../temporal/client';
import { seedDemo } from '../lib/demo';
import { startPostgresService } from '../lib/postgres-service';
import { firstLine, spawnNodeScript, stopChild, type NodeProcess } from '../lib/processes';
import { startTemporalCluster } from '../lib/temporal-cluster';
import { startDevServer } from '../lib/temporal-dev-server';
import { ensureTemporalCli, ensureTemporalServer, freePort, TEMPORAL_SERVER_VERSION, waitForPort } from '../toolchain';
import type { MetricsUrls } from './time-spent';

const ROOT = path.resolve(__dirname, '..', '..');
export const ENGINE_TASK_QUEUE = 'bench-engine';
export const TASK_QUEUE = 'bench-cashier-desk';

export type BenchProcess = NodeProcess;

export interface BenchSystem {
  apiUrl: string;
  temporalAddress: string;
  /** Which Temporal server runs, for the report. */
  temporalServer: string;
  client: Awaited<ReturnType<typeof connectTemporal>>['client'];
  db: Db;
  appId: string;
  appKey: string;
  alipayUrl: string;
  wechatUrl: string;
  alipay: ChannelCredentials;
  wechat: ChannelCredentials;
  worker: BenchProcess;
  api: BenchProcess;
  /** Each process's Prometheus metrics (the worker's include the Temporal SDK's). */
  metricsUrls: MetricsUrls;
  /** SIGKILLs the worker process (no graceful shutdown), as a crash would. */
  killWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** Runs `run` with the engine-baseline worker polling its own task queue. */
  withEngineWorker<T>(run: () => Promise<T>): Promise<T>;
  /** Resident set size of a process, in MiB (now and peak). */
  rss(p: BenchProcess): Promise<{ nowMiB: number; peakMiB: number }>;
  /** Approximate backlog of the project's workflow and activity task queues. */
  backlog(taskQueue?: string): Promise<{ workflow: number; activity: number }>;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=api,worker writes V8 CPU profiles of those processes into BENCH_PROFILE_DIR (default: the cwd). */
function profileFlags(name: string): string[] {
  const wanted = (process.env.BENCH_PROFILE ?? '').split(',');
  return wanted.includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? process.cwd()}`] : [];
}

/**
 * `logStdout`: the API's and the worker's JSON logs (LOG_LEVEL=warn: warnings and errors only) go into the bench's
 * log, so an error a phase reports comes with its cause.
 */
function spawnNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void, logStdout = false): Promise<BenchProcess> {
  return spawnNodeScript({ name, script: path.join(ROOT, script), args, env, log, nodeArgs: profileFlags(name), cwd: ROOT, logStdout });
}

/**
 * `temporal`: which server runs when TEMPORAL_ADDRESS is unset: the CLI's dev server (SQLite in memory, as `npm start`
 * and the tests run it) or temporal-server on PostgreSQL (the compose stack's kind; scripts/lib/temporal-cluster.ts).
 */
export type BenchTemporal = 'dev' | 'cluster';

export async function startBenchSystem(opts: { log: (l: string) => void; temporal?: BenchTemporal; workerEnv?: Record<string, string> }): Promise<BenchSystem> {
  const { log } = opts;
  const stops: Array<() => Promise<void>> = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-bench-'));
  stops.push(() => rm(tmp, { recursive: true, force: true }));
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalServer = `TEMPORAL_ADDRESS ${temporalAddress}`;
    if (!temporalAddress && opts.temporal === 'cluster') {
      temporalServer = `temporal-server ${TEMPORAL_SERVER_VERSION} on PostgreSQL`;
      const cluster = await startTemporalCluster({ build: await ensureTemporalServer(log), dir: path.join(tmp, 'temporal'), log });
      stops.push(cluster.stop);
      temporalAddress = cluster.address;
    } else if (!temporalAddress) {
      temporalServer = 'Temporal CLI dev server (SQLite in memory)';
      const cli = await ensureTemporalCli(log);
      if (cli.type !== 'existing-path') throw new Error('no Temporal CLI (install Go >= 1.25 or set TEMPORAL_CLI_PATH)');
      const dev = await startDevServer({ exe: cli.path, port: await freePort(), uiPort: null, dbFile: null });
      stops.push(dev.stop);
      temporalAddress = dev.address;
    }
    let databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      const pg = await startPostgresService({ dataDir: path.join(tmp, 'pg'), port: await freePort(), persistent: false, database: 'cashier_desk_bench' });
      stops.push(pg.stop);
      databaseUrl = pg.url;
    }
    const db = createDb(databaseUrl, 4);
    stops.push(() => db.destroy());
    await migrateLatest(db);

    const sandboxProc = await spawnNode('sandboxes', 'scripts/bench/sandboxes.ts', [], process.env, log);
    stops.push(() => stopChild(sandboxProc.child));
    const sb = JSON.parse(await firstLine(sandboxProc.child)) as { alipayUrl: string; wechatUrl: string; alipay: ChannelCredentials; wechat: ChannelCredentials };
    const masterKey = randomBytes(32);
    const seeded = await seedDemo(db, new SecretBox(masterKey), { ...sb, stop: async () => {} }, tmp);

    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_BASE_URL: apiUrl,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      CASHIER_MASTER_KEY: masterKey.toString('base64'),
      CASHIER_DATA_DIR: tmp,
      LOG_LEVEL: 'warn',
      RECONCILIATION_SCHEDULE: 'false',
      // The bench is one merchant sending far more than a real one would.
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
      PROVIDER_POLL_INTERVAL_SECONDS: process.env.PROVIDER_POLL_INTERVAL_SECONDS ?? '10',
    };
    const [apiMetricsPort, workerMetricsPort, workerSdkMetricsPort, engineSdkMetricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const workerEnv = { ...env, WORKER_METRICS_PORT: String(workerMetricsPort), WORKER_SDK_METRICS_PORT: String(workerSdkMetricsPort), ...opts.workerEnv };
    const startWorker = async () => {
      const w = await spawnNode('worker', 'worker/main.ts', [], workerEnv, log, true);
      sys.worker = w;
    };
    let engine: BenchProcess | null = null;
    stops.push(async () => {
      if (engine) await stopChild(engine.child);
    });

    const { client, close } = await connectTemporal({ address: temporalAddress, namespace: 'default' });
    stops.push(close);

    const sys: BenchSystem = {
      apiUrl,
      temporalAddress,
      temporalServer,
      client,
      db,
      appId: seeded.appId,
      appKey: seeded.appKey,
      ...sb,
      worker: null as unknown as BenchProcess,
      api: await spawnNode('api', 'api/main.ts', [], { ...env, METRICS_PORT: String(apiMetricsPort) }, log, true),
      metricsUrls: {
        api: `http://127.0.0.1:${apiMetricsPort}/metrics`,
        worker: `http://127.0.0.1:${workerMetricsPort}/metrics`,
        engine: () => (engine ? `http://127.0.0.1:${engineSdkMetricsPort}/metrics` : null),
      },
      async killWorker() {
        const exited = new Promise((r) => sys.worker.child.once('exit', r));
        process.kill(sys.worker.pid, 'SIGKILL');
        await exited;
      },
      startWorker,
      async withEngineWorker(run) {
        // Only while an engine phase runs: a worker idling beside the project's phases would share their cores.
        engine = await spawnNode('engine-worker', 'scripts/bench/engine-worker.ts', [temporalAddress!, ENGINE_TASK_QUEUE, String(engineSdkMetricsPort)], process.env, log);
        try {
          await firstLine(engine.child);
          return await run();
        } finally {
          await stopChild(engine.child);
          engine = null;
        }
      },
      async rss(p) {
        const status = await readFile(`/proc/${p.pid}/status`, 'utf8');
        const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
        return { nowMiB: Math.round(kb('VmRSS') / 1024), peakMiB: Math.round(kb('VmHWM') / 1024) };
      },
      async backlog(taskQueue = TASK_QUEUE) {
        const one = async (type: temporal.api.enums.v1.TaskQueueType) => {
          const r = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: type, reportStats: true });
          return Number(r.stats?.approximateBacklogCount ?? 0);
        };
        return { workflow: await one(temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), activity: await one(temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY) };
      },
      stop: stopAll,
    };
    stops.push(async () => {
      await stopChild(sys.api.child);
      if (sys.worker) await stopChild(sys.worker.child, 40_000);
    });
    await startWorker();
    await waitForPort(port, 60_000, '127.0.0.1');
    return sys;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
