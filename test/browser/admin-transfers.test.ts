/**
 * Transfers (转账) in the administrator console, in headless Chromium on the whole system: an app with an approved
 * Alipay channel bound to a sandbox merchant gets its transfer settings through the app's 转账设置 dialog (yuan
 * typed, integer fen stored, the server's 4000 shown in the form, the change audited); the signed merchant API then
 * creates a transfer below the approval threshold (paid at once) and one above it (PENDING_APPROVAL, counted in the
 * navigation); #/transfers lists and filters them; the pending one is approved with a note through its detail page
 * and is paid at the sandbox; another is rejected (a confirmation is required) and cancelled with nothing paid; a
 * decision on a transfer decided elsewhere shows the server's 4090 in the dialog. No CSP violation or script error
 * may occur. Screenshots (1440×900) go to test-results/screenshots/admin-transfers-*.png.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { consolePage, inlineCodeOf, launchBrowser, logInToConsole, SCREENSHOT_DIR } from '../support/browser';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startSdkMerchant, type SdkMerchant } from '../support/merchant-sdk-server';
import { startTestSystem, TEST_ADMIN, waitFor, type TestSystem } from '../support/system';

let sys: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let merchant: SdkMerchant;
let seeded: SeededApp;
let problems: string[] = [];
const run = randomBytes(3).toString('hex').toUpperCase();
const NO = { small: `TRS${run}1`, big: `TRB${run}2`, rejected: `TRR${run}3`, elsewhere: `TRE${run}4` };
const ids: Record<string, number> = {};

const shot = async (name: string) => {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `admin-transfers-${name}.png`), fullPage: true });
};
const dialog = () => page.locator('dialog.modal[open]');
/** A button of the open dialog, by its exact label. */
const press = (label: string) => dialog().getByRole('button', { name: label, exact: true }).click();
const transferRow = (outBizNo: string) => sys.t.db('transfers').where({ app_id: seeded.appId, out_biz_no: outBizNo }).first();
const transferStatus = (outBizNo: string, status: string) =>
  waitFor(`transfer ${outBizNo} ${status}`, async () => {
    const t = await transferRow(outBizNo);
    return t && t.status === status ? t : null;
  });

async function expectNoInlineCode(): Promise<void> {
  expect(await inlineCodeOf(page, { ignoreEmptyStyle: true })).toEqual({ scripts: 0, handlers: [], styles: 0 });
}

/** A transfer to 张三 (payee@example.com, known to the Alipay sandbox) through the signed merchant API. */
function transfer(outBizNo: string, amount: number, remark: string) {
  return merchant.sdk.transfer({ outBizNo, channelType: 'ali-pay', amount, payeeType: 'ALIPAY_LOGON_ID', payeeAccount: 'payee@example.com', payeeName: '张三', remark, notifyUrl: merchant.notifyUrl });
}

async function openTransfer(outBizNo: string): Promise<void> {
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/transfers/${ids[outBizNo]}`);
  await page.locator('.detail-title h2', { hasText: outBizNo }).waitFor();
}

beforeAll(async () => {
  sys = await startTestSystem({ pollIntervalSeconds: 1 });
  browser = await launchBrowser();
  ({ context, page, problems } = await consolePage(browser));

  seeded = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: await sys.alipay.createMerchant() }] });
  await sys.t.db('apps').where({ app_id: seeded.appId }).update({ name: '城市便利店' });
  merchant = await startSdkMerchant(sys.gateway, seeded.appId, seeded.appKey);
}, 600_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await merchant?.close();
  await sys?.stop();
});

afterEach(() => {
  expect(problems).toEqual([]);
});

test('log in: 转账管理 is in the navigation and the app has no transfer settings yet', async () => {
  await logInToConsole(page, sys.apiUrl, TEST_ADMIN);
  await page.locator('a.nav-link[data-route="transfers"]', { hasText: '转账管理' }).waitFor();
  expect(await page.locator('a.nav-link[data-route="transfers"] .nav-count').isHidden()).toBe(true);
  expect(await sys.t.db('app_transfer_settings').where({ app_id: seeded.appId })).toHaveLength(0);
  // Refused while transfers are off, with nothing written.
  await expect(transfer(`TROFF${run}`, 100, '未开通')).rejects.toMatchObject({ code: 4030 });
  expect(await sys.t.db('transfers')).toHaveLength(0);
});

test('the app\'s 转账设置: yuan in, fen stored; the server\'s rule is shown in the form; the change is audited', async () => {
  await page.click('a.nav-link[data-route="apps"]');
  const row = page.locator(`tbody tr[data-id="${seeded.appId}"]`);
  await row.waitFor();
  await row.locator('button[data-action="transfer-settings"]').click();
  await dialog().locator('#transfer-settings-form').waitFor();
  expect(await dialog().locator('#transfer-enabled').isChecked()).toBe(false);
  expect(await dialog().locator('#transfer-max').inputValue()).toBe('');
  await dialog().locator('label.switch').click();
  expect(await dialog().locator('#transfer-enabled').isChecked()).toBe(true);

  // A malformed amount never leaves the browser.
  await dialog().locator('#transfer-max').fill('500.001');
  await dialog().locator('#transfer-daily').fill('100');
  await dialog().locator('#transfer-threshold').fill('100');
  await press('保存');
  await dialog().locator('.form-error', { hasText: '单笔上限' }).waitFor();
  expect(await sys.t.db('app_transfer_settings').where({ app_id: seeded.appId })).toHaveLength(0);

  // A daily limit below the per-transfer maximum: the server refuses (4000) and says why, in the form.
  await dialog().locator('#transfer-max').fill('500');
  const refusedAnswer = page.waitForResponse((r) => r.url().endsWith(`/apps/${seeded.appId}/transfer-settings`) && r.request().method() === 'PUT');
  await press('保存');
  const refused = (await (await refusedAnswer).json()) as { code: number; msg: string };
  expect(refused.code).toBe(4000);
  await dialog().locator('.form-error').filter({ hasText: refused.msg }).waitFor();
  await shot('01-settings-refused');
  expect(await sys.t.db('app_transfer_settings').where({ app_id: seeded.appId })).toHaveLength(0);

  await dialog().locator('#transfer-daily').fill('2000');
  await dialog().locator('#transfer-threshold').fill('¥100.00');
  await dialog().locator('#transfer-settings-summary', { hasText: '超过 ¥100.00' }).waitFor();
  await shot('02-settings');
  const answer = page.waitForResponse((r) => r.url().endsWith(`/apps/${seeded.appId}/transfer-settings`) && r.request().method() === 'PUT');
  await press('保存');
  expect(JSON.parse((await answer).request().postData() ?? '{}')).toEqual({ enabled: true, maxPerTransfer: 50_000, dailyLimit: 200_000, approvalThreshold: 10_000 });
  expect(((await (await answer).json()) as { code: number }).code).toBe(1000);
  await page.locator('.toast', { hasText: '转账已开通' }).waitFor();
  expect(await dialog().count()).toBe(0);

  const stored = await sys.t.db('app_transfer_settings').where({ app_id: seeded.appId }).first();
  expect(stored).toMatchObject({ enabled: true, max_per_transfer: 50_000, daily_limit: 200_000, approval_threshold: 10_000, updated_by: TEST_ADMIN.username });
  const audit = await sys.t.db('admin_audit_log').where({ action: 'transfer.settings', target_id: seeded.appId });
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ actor: TEST_ADMIN.username, target_type: 'app', outcome: 'OK' });
  expect(audit[0].detail).toMatchObject({ before: null, after: { enabled: true, maxPerTransfer: 50_000, dailyLimit: 200_000, approvalThreshold: 10_000 } });

  // Opened again, the dialog shows the stored settings in yuan.
  await row.locator('button[data-action="transfer-settings"]').click();
  await dialog().locator('#transfer-settings-form').waitFor();
  expect(await dialog().locator('#transfer-enabled').isChecked()).toBe(true);
  expect(await dialog().locator('#transfer-max').inputValue()).toBe('500.00');
  expect(await dialog().locator('#transfer-daily').inputValue()).toBe('2000.00');
  expect(await dialog().locator('#transfer-threshold').inputValue()).toBe('100.00');
  await press('取消');
});

test('merchant transfers: ¥50 is paid at once, ¥200 waits for approval; #/transfers lists, counts and filters them', async () => {
  const small = await transfer(NO.small, 5_000, '佣金结算');
  ids[NO.small] = small.transferId;
  const big = await transfer(NO.big, 20_000, '季度奖金');
  ids[NO.big] = big.transferId;
  expect(big.status).toBe('PENDING_APPROVAL');
  await transferStatus(NO.small, 'SUCCESS');
  expect(sys.alipay.transfers()).toHaveLength(1);

  // A fresh load: the navigation counts the transfers waiting for approval when the console starts.
  await page.goto(`${sys.apiUrl}/cashier-desk-admin#/transfers`);
  await page.reload();
  await page.locator('.page-title', { hasText: '转账管理' }).waitFor();
  await page.locator('a.nav-link[data-route="transfers"] .nav-count', { hasText: '1' }).waitFor();
  const smallRow = page.locator(`tbody tr[data-id="${ids[NO.small]}"]`);
  const bigRow = page.locator(`tbody tr[data-id="${ids[NO.big]}"]`);
  await smallRow.waitFor();
  await bigRow.waitFor();
  expect(await page.locator('tbody tr').count()).toBe(2);
  expect(await smallRow.locator('[data-status]').first().getAttribute('data-status')).toBe('SUCCESS');
  expect(await smallRow.textContent()).toContain('¥50.00');
  expect(await smallRow.textContent()).toContain('成功');
  expect(await smallRow.locator('[data-decision]').getAttribute('data-decision')).toBe('NONE');
  expect(await bigRow.locator('[data-status]').first().getAttribute('data-status')).toBe('PENDING_APPROVAL');
  const bigText = await bigRow.textContent();
  for (const s of ['¥200.00', '待审批', '张三', 'payee@example.com', '城市便利店', '季度奖金']) expect(bigText).toContain(s);
  expect(await bigRow.locator('a[data-action="decide"]').count()).toBe(1);
  expect(await smallRow.locator('a[data-action="decide"]').count()).toBe(0);
  const big0 = await transferRow(NO.big);
  expect(await bigRow.locator('a.ext-link').getAttribute('href')).toContain(encodeURIComponent(big0.workflow_id));
  await expectNoInlineCode();
  await shot('03-list');

  // Filters: by status (Chinese labels), by transfer number, by app.
  const labels = await page.locator('#filter-transfer-status option').allTextContents();
  expect(labels).toEqual(['全部状态', '待审批', '处理中', '待收款人确认', '成功', '失败', '已取消']);
  await page.locator('#filter-transfer-status').selectOption('PENDING_APPROVAL');
  await page.click('#transfer-search');
  await page.waitForURL((u) => u.hash.includes('status=PENDING_APPROVAL'));
  await smallRow.waitFor({ state: 'detached' });
  await bigRow.waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  await shot('04-list-pending');
  await page.locator('#filter-transfer-status').selectOption('FAIL');
  await page.click('#transfer-search');
  await page.getByText('没有符合条件的转账').waitFor();
  await page.locator('#filter-transfer-status').selectOption('');
  await page.locator('#filter-out-biz-no').fill(NO.small);
  await page.click('#transfer-search');
  await smallRow.waitFor();
  expect(await page.locator('tbody tr').count()).toBe(1);
  await page.locator('#filter-out-biz-no').fill('');
  await page.locator('#filter-app-id').fill(seeded.appId);
  await page.click('#transfer-search');
  await bigRow.waitFor();
  expect(await page.locator('tbody tr').count()).toBe(2);
});

test('approve the ¥200 transfer with a note: it is paid once at the sandbox and shown SUCCESS', async () => {
  await page.locator(`tbody tr[data-id="${ids[NO.big]}"] a`, { hasText: NO.big }).click();
  await page.locator('.page-title', { hasText: '转账详情' }).waitFor();
  await page.locator('.detail-title h2', { hasText: NO.big }).waitFor();
  expect(await page.locator('.detail-title [data-status]').first().getAttribute('data-status')).toBe('PENDING_APPROVAL');
  await page.locator('#transfer-approval-note').waitFor();
  const main = await page.locator('main').innerText();
  for (const s of ['¥200.00', '张三', 'payee@example.com', '支付宝账号', '季度奖金', '待审批']) expect(main).toContain(s);
  // The day's reservation holds both transfers (¥50 paid + ¥200 pending).
  expect(await page.locator('#transfer-daily-reserved').getAttribute('data-fen')).toBe('25000');
  const row = await transferRow(NO.big);
  expect(await page.locator('#temporal-link').getAttribute('href')).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(row.workflow_id)}`);
  await expectNoInlineCode();
  await shot('05-detail-pending');

  await page.click('#transfer-approve');
  await dialog().locator('#transfer-note').waitFor();
  expect(await dialog().locator('#transfer-reject-confirm').count()).toBe(0);
  await dialog().locator('#transfer-note').fill('已核对奖金发放名单');
  await shot('06-approve');
  const answer = page.waitForResponse((r) => r.url().endsWith(`/transfers/${ids[NO.big]}/approve`) && r.request().method() === 'POST');
  await press('确认批准');
  expect(JSON.parse((await answer).request().postData() ?? '{}')).toEqual({ note: '已核对奖金发放名单' });
  expect(((await (await answer).json()) as { code: number }).code).toBe(1000);
  await page.locator('.toast', { hasText: '已批准' }).waitFor();
  expect(await dialog().count()).toBe(0);

  const paid = await transferStatus(NO.big, 'SUCCESS');
  expect(paid).toMatchObject({ decided_by: TEST_ADMIN.username, decision_note: '已核对奖金发放名单', result_error_code: null });
  // The page follows the transfer to its result by itself.
  await page.locator('.detail-title [data-status="SUCCESS"]').waitFor({ timeout: 20_000 });
  expect(await page.locator('#transfer-approve').count()).toBe(0);
  expect(await page.locator('#transfer-decision [data-decision]').getAttribute('data-decision')).toBe('APPROVED');
  const after = await page.locator('main').innerText();
  expect(after).toContain('已核对奖金发放名单');
  expect(after).toContain(paid.provider_transfer_id);
  expect(await page.locator('a.nav-link[data-route="transfers"] .nav-count').isHidden()).toBe(true);

  // Exactly two payouts reached Alipay: ¥50 and ¥200 to 张三.
  const payouts = sys.alipay.transfers();
  expect(payouts).toHaveLength(2);
  expect(payouts.map((p) => p.amountFen).sort((a, b) => a - b)).toEqual([5_000, 20_000]);
  expect(await sys.t.db('admin_audit_log').where({ action: 'transfer.approve', target_id: String(ids[NO.big]) })).toHaveLength(1);

  // The merchant's TRANSFER_RESULT notification shows in the attempts table.
  await waitFor('TRANSFER_RESULT of the approved transfer', async () => merchant.transferNotifications.find((n) => n.outBizNo === NO.big));
  await waitFor('notification recorded', async () => (await transferRow(NO.big)).notify_status === 'ACKED');
  await openTransfer(NO.big);
  await page.locator('main tbody tr').first().waitFor();
  expect(await page.locator('main').innerText()).toContain('通知记录（1 次）');
  await shot('07-detail-success');
});

test('reject an above-threshold transfer: a confirmation is required; it is CANCELLED (APPROVAL_REJECTED), nothing paid', async () => {
  const t = await transfer(NO.rejected, 30_000, '供应商预付款');
  ids[NO.rejected] = t.transferId;
  expect(t.status).toBe('PENDING_APPROVAL');
  await openTransfer(NO.rejected);
  await page.click('#transfer-reject');
  await dialog().locator('#transfer-note').fill('收款人信息待核实');
  await press('确认驳回');
  await dialog().locator('.form-error', { hasText: '我确认驳回这笔转账' }).waitFor();
  expect((await transferRow(NO.rejected)).decided_by).toBeNull();
  await dialog().locator('#transfer-reject-confirm').check();
  await shot('08-reject');
  await press('确认驳回');
  await page.locator('.toast', { hasText: '已驳回' }).waitFor();
  expect(await dialog().count()).toBe(0);

  const cancelled = await transferStatus(NO.rejected, 'CANCELLED');
  expect(cancelled).toMatchObject({ result_error_code: 'APPROVAL_REJECTED', decided_by: TEST_ADMIN.username, decision_note: '收款人信息待核实', transfer_time: null });
  await page.locator('.detail-title [data-status="CANCELLED"]').waitFor({ timeout: 20_000 });
  expect(await page.locator('#transfer-decision [data-decision]').getAttribute('data-decision')).toBe('REJECTED');
  expect(await page.locator('#transfer-error').textContent()).toContain('APPROVAL_REJECTED');
  expect(sys.alipay.transfers()).toHaveLength(2);
  expect(await sys.t.db('admin_audit_log').where({ action: 'transfer.reject', target_id: String(ids[NO.rejected]) })).toHaveLength(1);
  await shot('09-detail-rejected');
});

test('a transfer decided elsewhere meanwhile: the dialog shows the server 4090 and the page catches up', async () => {
  const t = await transfer(NO.elsewhere, 15_000, '推广费');
  ids[NO.elsewhere] = t.transferId;
  await openTransfer(NO.elsewhere);
  await page.locator('#transfer-approve').waitFor();
  // Another administrator rejects it while this page still offers the decision.
  await sys.useCases.transfers.decide({ username: 'ops2', ip: null }, t.transferId, false, '重复申请');
  await transferStatus(NO.elsewhere, 'CANCELLED');

  await page.click('#transfer-approve');
  const answer = page.waitForResponse((r) => r.url().endsWith(`/transfers/${t.transferId}/approve`) && r.request().method() === 'POST');
  await press('确认批准');
  const refused = (await (await answer).json()) as { code: number; msg: string };
  expect(refused.code).toBe(4090);
  await dialog().locator('.form-error').filter({ hasText: refused.msg }).waitFor();
  await shot('10-approve-4090');
  await press('取消');
  await page.locator('.detail-title [data-status="CANCELLED"]').waitFor({ timeout: 20_000 });
  expect(await page.locator('#transfer-approve').count()).toBe(0);
  expect(await page.locator('main').innerText()).toContain('ops2');
  expect(sys.alipay.transfers()).toHaveLength(2);
  expect((await transferRow(NO.elsewhere)).decided_by).toBe('ops2');
});

test('the audit log names the transfer actions', async () => {
  await page.click('a.nav-link[data-route="audit"]');
  await page.locator('td', { hasText: '修改转账设置' }).first().waitFor();
  const text = await page.locator('main').innerText();
  for (const label of ['修改转账设置', '批准转账', '驳回转账']) expect(text).toContain(label);
  await page.locator('.tab', { hasText: '转账' }).click();
  await page.waitForURL((u) => u.hash.includes('action=transfer.'));
  await page.locator('td', { hasText: '批准转账' }).first().waitFor();
  await shot('11-audit');
});
