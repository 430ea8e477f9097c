/**
 * The production-like compose file must stay valid. There is no Docker engine on the build machines, but the
 * compose client can still parse and validate it: `docker compose` when the plugin exists, else the Debian
 * `docker-compose` package (installed here when missing and running as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const ENV = { ...process.env, POSTGRES_PASSWORD: 'ci-only', CASHIER_MASTER_KEY: 'Y2ktb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLS0tLS0=', PUBLIC_BASE_URL: 'https://pay.example.com', ADMIN_PASSWORD_HASH: 'scrypt$16384$8$1$c2FsdA$aGFzaA' };

function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0) {
    if (process.getuid?.() !== 0) throw new Error('neither `docker compose` nor `docker-compose` is available: install one to validate docker-compose.yml');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker-compose'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 });
  }
  return ['docker-compose'];
}

/**
 * One service's block of the normalized `config` output (two-space indented YAML under `services:`), so the
 * test reads what compose itself resolved (anchors and merge keys applied) without a YAML dependency.
 */
function serviceBlock(config: string, name: string): string {
  const lines = config.split('\n');
  const start = lines.findIndex((l) => l === `  ${name}:`);
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The `depends_on` entries of a service block: name → condition. */
function dependsOn(block: string): Record<string, string> {
  const m = /^ {4}depends_on:\n((?: {6}.*\n?)*)/m.exec(block);
  const out: Record<string, string> = {};
  if (!m) return out;
  let current = '';
  for (const line of m[1].split('\n')) {
    const dep = /^ {6}([\w-]+):/.exec(line);
    if (dep) {
      current = dep[1];
      out[current] = '';
    }
    const cond = /^ {8}condition: (\S+)/.exec(line);
    if (cond && current) out[current] = cond[1];
  }
  return out;
}

test('docker-compose.yml validates and defines the production-like stack', () => {
  const [cmd, ...pre] = composeCommand();
  const run = (args: string[], env = ENV) => spawnSync(cmd, [...pre, '-f', 'docker-compose.yml', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  const quiet = run(['config', '-q']);
  expect(quiet.stderr).toBe('');
  expect(quiet.status).toBe(0);
  expect(run(['config', '--services']).stdout.trim().split('\n').sort()).toEqual(['api', 'migrate', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  // Migrations run once, in the one-shot `migrate` service, before the API and the worker start.
  const config = run(['config']).stdout;
  const migrate = serviceBlock(config, 'migrate');
  expect(migrate).toMatch(/dist\/scripts\/migrate\.js/);
  expect(migrate).toMatch(/^ {4}restart: ['"]?no['"]?$/m);
  expect(dependsOn(migrate)).toEqual({ postgres: 'service_healthy' });
  for (const s of ['api', 'worker']) {
    expect(dependsOn(serviceBlock(config, s))).toEqual({ migrate: 'service_completed_successfully', postgres: 'service_healthy', temporal: 'service_healthy' });
  }
  // Secrets are required from the environment, never defaulted in the file.
  const missing = run(['config', '-q'], { ...process.env, POSTGRES_PASSWORD: '', CASHIER_MASTER_KEY: '', PUBLIC_BASE_URL: '', ADMIN_PASSWORD_HASH: '' });
  expect(missing.status).not.toBe(0);
});
