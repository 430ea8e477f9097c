/**
 * The sandboxes as the providers' official Java SDKs see them: starts the Alipay and WeChat Pay sandboxes on
 * 127.0.0.1 (free ports), creates a merchant at each, hands URLs and ids to the Maven module sandbox/conformance as
 * system properties and key material as files in a private temporary directory, runs its JUnit suite
 * (alipay-sdk-java and wechatpay-java with verification on), and fails with the surefire reports of every failed
 * Java test. Maven keeps its artifacts in ~/.m2, outside the clone; the first run downloads the SDKs.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startAlipaySandbox, type AlipaySandboxHandle } from '../../sandbox/alipay';
import { startWechatSandbox, type WechatSandboxHandle } from '../../sandbox/wechat';

const MODULE_DIR = path.resolve(__dirname, '../../sandbox/conformance');
const REPORTS_DIR = path.join(MODULE_DIR, 'target', 'surefire-reports');
const MAVEN_TIMEOUT_MS = 240_000;

let alipay: AlipaySandboxHandle;
let wechat: WechatSandboxHandle;
let keyDir: string;

interface MavenRun {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** Runs Maven in its own process group, so a timeout ends Maven and the forked test JVM together (and nothing else). */
function runMaven(args: string[]): Promise<MavenRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('mvn', args, { cwd: MODULE_DIR, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (c: Buffer) => {
      output = (output + c.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, MAVEN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start mvn (is Maven on PATH?): ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

interface SuiteReport {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  text: string;
}

function readReports(): SuiteReport[] {
  if (!fs.existsSync(REPORTS_DIR)) return [];
  return fs
    .readdirSync(REPORTS_DIR)
    .filter((f) => f.startsWith('TEST-') && f.endsWith('.xml'))
    .map((f) => {
      const xml = fs.readFileSync(path.join(REPORTS_DIR, f), 'utf8');
      const attr = (name: string) => Number(new RegExp(`<testsuite[^>]*\\s${name}="(\\d+)"`).exec(xml)?.[1] ?? NaN);
      const name = f.slice('TEST-'.length, -'.xml'.length);
      const txt = path.join(REPORTS_DIR, `${name}.txt`);
      return {
        name,
        tests: attr('tests'),
        failures: attr('failures'),
        errors: attr('errors'),
        skipped: attr('skipped'),
        text: fs.existsSync(txt) ? fs.readFileSync(txt, 'utf8') : xml,
      };
    });
}

beforeAll(async () => {
  alipay = await startAlipaySandbox({ notifyRetryDelaysMs: [200, 400, 800] });
  wechat = await startWechatSandbox({ notifyRetryDelaysMs: [200, 400, 800] });
});

afterAll(async () => {
  await alipay?.close();
  await wechat?.close();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

it('the official Alipay and WeChat Pay Java SDKs accept the sandboxes (sandbox/conformance)', async () => {
  const ali = await alipay.createMerchant();
  const wx = await wechat.createMerchant();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'cashier-desk-conformance-'));
  const secret = async (name: string, content: string) => {
    const file = path.join(keyDir, name);
    await writeFile(file, content, { mode: 0o600 });
    return file;
  };
  // alipay-sdk-java signs with PKCS#8 keys; the sandbox hands out PKCS#1, as Alipay's key tool does for non-Java apps.
  const aliPkcs8 = String(createPrivateKey(ali.secrets.appPrivateKey).export({ type: 'pkcs8', format: 'pem' }));
  const props: Record<string, string> = {
    'alipay.url': alipay.url,
    'alipay.appId': ali.providerAppId,
    'alipay.appPrivateKeyFile': await secret('alipay-app-private.pem', aliPkcs8),
    'alipay.publicKeyFile': await secret('alipay-public.pem', alipay.alipayPublicKey),
    'wechat.url': wechat.url,
    'wechat.mchId': wx.mchId,
    'wechat.appId': wx.providerAppId,
    'wechat.merchantSerial': wx.secrets.merchantCertSerial,
    'wechat.merchantPrivateKeyFile': await secret('wechat-apiclient-key.pem', wx.secrets.merchantPrivateKey),
    'wechat.apiV3KeyFile': await secret('wechat-apiv3.key', wx.secrets.apiV3Key),
  };
  fs.rmSync(REPORTS_DIR, { recursive: true, force: true });
  const run = await runMaven(['-B', '-q', 'test', ...Object.entries(props).map(([k, v]) => `-Dconformance.${k}=${v}`)]);

  const reports = readReports();
  const failed = reports.filter((r) => r.failures + r.errors > 0);
  if (run.timedOut || run.code !== 0 || failed.length > 0) {
    const excerpt = failed.length ? failed.map((r) => `── ${r.name}\n${r.text.slice(0, 6000)}`).join('\n') : run.output.slice(-6000);
    throw new Error(`Maven conformance suite ${run.timedOut ? `timed out after ${MAVEN_TIMEOUT_MS / 1000} s` : `exited with ${run.code}`}:\n${excerpt}`);
  }
  // Both SDK suites ran, every test counted, none skipped.
  expect(reports.map((r) => r.name).sort()).toEqual(['desk.conformance.AlipayConformanceTest', 'desk.conformance.WechatConformanceTest']);
  for (const r of reports) {
    expect(r.tests).toBeGreaterThan(5);
    expect(r.skipped).toBe(0);
  }
}, 300_000);
