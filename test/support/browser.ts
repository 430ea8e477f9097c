/**
 * Headless Chromium for browser tests: Debian's chromium driven by playwright-core (no browser download).
 * The test setup installs the package when it is missing and we are root (CI and developer machines here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'fonts-noto-cjk'], {
    stdio: 'ignore',
    timeout: 600_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!existsSync(CHROMIUM)) throw new Error('chromium installation did not produce /usr/bin/chromium');
  return CHROMIUM;
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: ensureChromium(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A phone-sized page (iPhone-ish viewport, zh-CN). */
export async function phonePage(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'zh-CN', isMobile: true, hasTouch: true });
  return context.newPage();
}

/**
 * A desktop page of the administrator console (zh-CN, Asia/Shanghai) whose problems are collected: script
 * errors, console errors other than the API's designed 4xx answers, and CSP violations (reported as console
 * errors naming the directive). Tests assert `problems` stays empty.
 */
export async function consolePage(browser: Browser, opts: { acceptDownloads?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: opts.acceptDownloads });
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page, problems };
}

/** Logs in to the console at `apiUrl` and waits for the overview. */
export async function logInToConsole(page: Page, apiUrl: string, admin: { username: string; password: string }): Promise<void> {
  await page.goto(`${apiUrl}/cashier-desk-admin`);
  await page.locator('#login-username').waitFor();
  await page.fill('#login-username', admin.username);
  await page.fill('#login-password', admin.password);
  await page.click('#login-submit');
  await page.locator('.page-title', { hasText: '概览' }).waitFor();
}

/**
 * The console's own markup never carries inline script or style (the CSP would block them anyway). With
 * `ignoreEmptyStyle`, an empty style attribute (Chromium leaves one on a date input typed into) is not counted.
 */
export async function inlineCodeOf(page: Page, opts: { ignoreEmptyStyle?: boolean } = {}): Promise<{ scripts: number; handlers: string[]; styles: number }> {
  const styleSelector = opts.ignoreEmptyStyle ? '[style]:not([style=""])' : '[style]';
  return (await page.evaluate(`({
    scripts: [...document.scripts].filter((s) => !s.src).length,
    handlers: [...document.querySelectorAll('*')].flatMap((el) => el.getAttributeNames().filter((n) => n.startsWith('on'))),
    styles: document.querySelectorAll('${styleSelector}').length,
  })`)) as { scripts: number; handlers: string[]; styles: number };
}
