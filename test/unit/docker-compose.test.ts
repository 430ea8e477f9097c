/**
 * The production-like compose file must stay valid. There is no Docker engine on the build machines, but the
 * compose client can still parse and validate it: `docker compose` when the plugin exists, else the Debian
 * `docker-compose` package (installed here when missing and running as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../observability/metrics';

const ROOT = path.resolve(__dirname, '..', '..');
const ENV = { ...process.env, POSTGRES_PASSWORD: 'ci-only', CASHIER_MASTER_KEY: 'Y2ktb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLS0tLS0=', PUBLIC_BASE_URL: 'https://pay.example.com', ADMIN_PASSWORD_HASH: 'scrypt$16384$8$1$c2FsdA$aGFzaA', GRAFANA_ADMIN_PASSWORD: 'ci-only' };

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
  expect(run(['config', '--services']).stdout.trim().split('\n').sort()).toEqual(['api', 'grafana', 'migrate', 'postgres', 'prometheus', 'temporal', 'temporal-ui', 'worker']);
  // Migrations run once, in the one-shot `migrate` service, before the API and the worker start.
  const config = run(['config']).stdout;
  const migrate = serviceBlock(config, 'migrate');
  expect(migrate).toMatch(/dist\/scripts\/migrate\.js/);
  expect(migrate).toMatch(/^ {4}restart: ['"]?no['"]?$/m);
  expect(dependsOn(migrate)).toEqual({ postgres: 'service_healthy' });
  for (const s of ['api', 'worker']) {
    expect(dependsOn(serviceBlock(config, s))).toEqual({ migrate: 'service_completed_successfully', postgres: 'service_healthy', temporal: 'service_healthy' });
  }
  // Temporal reads the project's dynamic config, the same values the dev server is started with.
  const temporal = serviceBlock(config, 'temporal');
  expect(temporal).toMatch(/DYNAMIC_CONFIG_FILE_PATH: ['"]?config\/dynamicconfig\/cashier-desk\.yaml/);
  expect(temporal).toMatch(/deploy\/temporal\/dynamicconfig\.yaml[:\s\S]*\/etc\/temporal\/config\/dynamicconfig\/cashier-desk\.yaml/);
  const dynamic = readFileSync(path.join(ROOT, 'deploy/temporal/dynamicconfig.yaml'), 'utf8');
  const devServer = readFileSync(path.join(ROOT, 'scripts/lib/temporal-dev-server.ts'), 'utf8');
  for (const key of ['system.enableActivityEagerExecution', 'frontend.enableUpdateWorkflowExecution']) {
    expect(dynamic).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')}:\n  - value: true$`, 'm'));
    expect(devServer).toContain(`'${key}=true'`);
  }
  // Secrets are required from the environment, never defaulted in the file.
  const missing = run(['config', '-q'], { ...process.env, POSTGRES_PASSWORD: '', CASHIER_MASTER_KEY: '', PUBLIC_BASE_URL: '', ADMIN_PASSWORD_HASH: '', GRAFANA_ADMIN_PASSWORD: '' });
  expect(missing.status).not.toBe(0);
  expect(run(['config', '-q'], { ...ENV, GRAFANA_ADMIN_PASSWORD: '' }).status).not.toBe(0);
});

test('Prometheus scrapes the API and the worker on their metrics ports; Grafana gets the datasource and the dashboard', () => {
  const [cmd, ...pre] = composeCommand();
  const config = spawnSync(cmd, [...pre, '-f', 'docker-compose.yml', 'config'], { cwd: ROOT, env: ENV, encoding: 'utf8' }).stdout;
  const env = (service: string, name: string) => new RegExp(`^ {6}${name}: ['"]?([^'"\n]*)['"]?$`, 'm').exec(serviceBlock(config, service))?.[1];
  // The API's /metrics has a listener of its own, the worker's is on; neither port is published to the host.
  expect(env('api', 'METRICS_PORT')).toBe('9464');
  expect(env('worker', 'WORKER_METRICS_PORT')).toBe('9464');
  expect(env('worker', 'METRICS_HOST')).toBe('0.0.0.0');
  const published = (service: string) => [...serviceBlock(config, service).matchAll(/published: ['"]?(\d+)/g)].map((m) => m[1]);
  expect(published('api')).toEqual(['8080']);
  expect(published('worker')).toEqual([]);

  const prometheus = serviceBlock(config, 'prometheus');
  expect(prometheus).toMatch(/deploy\/prometheus\/prometheus\.yml:\/etc\/prometheus\/prometheus\.yml/);
  const scrape = readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8');
  expect(scrape).toMatch(/targets: \["api:9464"\]/);
  expect(scrape).toMatch(/targets: \["worker:9464"\]/);

  const grafana = serviceBlock(config, 'grafana');
  expect(grafana).toMatch(/deploy\/grafana\/provisioning:\/etc\/grafana\/provisioning/);
  expect(grafana).toMatch(/deploy\/grafana\/dashboards:\/etc\/grafana\/dashboards/);
  const datasource = readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
  expect(datasource).toMatch(/url: http:\/\/prometheus:9090/);
  const uid = /uid: (\S+)/.exec(datasource)![1];
  expect(readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/dashboards/cashier-desk.yml'), 'utf8')).toMatch(/path: \/etc\/grafana\/dashboards/);

  // Every panel queries that datasource, and every cashier_* series it reads is one the code defines.
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/cashier-desk.json'), 'utf8')) as {
    uid: string;
    panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }>;
  };
  const defined = new Set(
    createMetrics({ defaultMetrics: false })
      .registry.getMetricsAsArray()
      .map((m) => m.name),
  );
  const used = new Set<string>();
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
  for (const p of dashboard.panels) {
    expect([p.title, p.datasource.uid]).toEqual([p.title, uid]);
    for (const t of p.targets) {
      expect(t.datasource.uid).toBe(uid);
      for (const m of t.expr.matchAll(/\bcashier_[a-z_]+/g)) used.add(m[0].replace(/_(bucket|count|sum)$/, ''));
    }
  }
  for (const name of used) expect([name, defined.has(name)]).toEqual([name, true]);
  // The dashboard covers every metric the code defines.
  expect([...defined].sort()).toEqual([...used].sort());
});
