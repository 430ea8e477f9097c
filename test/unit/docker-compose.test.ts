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

test('docker-compose.yml validates and defines the production-like stack', () => {
  const [cmd, ...pre] = composeCommand();
  const run = (args: string[], env = ENV) => spawnSync(cmd, [...pre, '-f', 'docker-compose.yml', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  const quiet = run(['config', '-q']);
  expect(quiet.stderr).toBe('');
  expect(quiet.status).toBe(0);
  expect(run(['config', '--services']).stdout.trim().split('\n').sort()).toEqual(['api', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  // Secrets are required from the environment, never defaulted in the file.
  const missing = run(['config', '-q'], { ...process.env, POSTGRES_PASSWORD: '', CASHIER_MASTER_KEY: '', PUBLIC_BASE_URL: '', ADMIN_PASSWORD_HASH: '' });
  expect(missing.status).not.toBe(0);
});
