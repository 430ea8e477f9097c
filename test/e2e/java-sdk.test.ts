/**
 * The Java merchant SDK (sdk-java/) end to end: Maven builds it and runs its JUnit suite (`mvn verify`: the
 * README's signature vectors, the notification verifier), then a merchant backend written against it
 * (EndToEndDriver, run with `java -cp`) creates an order, gets the cashier URL, receives the payment result on its
 * own HTTP server — verified by the Java verifier and acknowledged with the exact body — queries SUCCESS, and
 * refunds part of the order, downloads the statement and pays out a transfer, against the whole system: dev
 * server, PostgreSQL, the real provider adapters and sandboxes. Both sign types: HMAC-SHA256 with Alipay, HMAC-SM3 with WeChat Pay.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import { providerOutTradeNo } from '../../domain/order';
import { providerOutBizNo } from '../../domain/transfer';
import type { ChannelCredentials } from '../../providers/types';
import { signRequestHeaders } from '../../signature';
import { seedApp, type SeededApp } from '../support/fixtures';
import { startTestSystem, waitFor, type TestSystem } from '../support/system';

const ROOT = path.resolve(__dirname, '..', '..');
const SDK_DIR = path.join(ROOT, 'sdk-java');
const TARGET = path.join(SDK_DIR, 'target');
const DRIVER = 'cn.huolala.lala.pay.cashier.desk.sdk.e2e.EndToEndDriver';

let sys: TestSystem;
let aliApp: SeededApp;
let aliCreds: ChannelCredentials;
let wxApp: SeededApp;
const children: ChildProcess[] = [];

/** `mvn verify` of the SDK: compiles for Java 8, runs the JUnit suite, packages the jar, writes the test classpath. */
function mavenVerify(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mvn', ['-q', '-B', '-f', path.join(SDK_DIR, 'pom.xml'), 'verify'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`mvn verify of sdk-java failed (${err.message}):\n${(stdout + stderr).slice(-8000)}`));
      else resolve();
    });
  });
}

beforeAll(async () => {
  await mavenVerify();
  sys = await startTestSystem({ pollIntervalSeconds: 1 });
  aliCreds = await sys.alipay.createMerchant();
  aliApp = await seedApp(sys.t, { channels: [{ channelType: 'ali-pay', sceneCode: 'native', creds: aliCreds }] });
  wxApp = await seedApp(sys.t, { signType: 'HMAC-SM3', channels: [{ channelType: 'wx-pay', sceneCode: 'native', creds: await sys.wechat.createMerchant() }] });
}, 600_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sys?.stop();
});

type DriverEvent = { event: string } & Record<string, unknown>;

interface Driver {
  events: DriverEvent[];
  stderr: string[];
  next(event: string, where?: (e: DriverEvent) => boolean): Promise<DriverEvent>;
  /** Answers the driver's `awaitingBillDay`: the day whose statement it downloads, and whether it pays out a transfer. */
  billDay(day: string, transfer: boolean): void;
  exited: Promise<number | null>;
}

/** Starts the Java merchant; every stdout line is one JSON event. */
function startDriver(app: SeededApp, signType: 'HMAC-SHA256' | 'HMAC-SM3', outTradeNo: string, amount: number, refundAmount: number): Driver {
  const classpath = [path.join(TARGET, 'classes'), path.join(TARGET, 'test-classes'), readFileSync(path.join(TARGET, 'test-classpath.txt'), 'utf8').trim()].join(path.delimiter);
  const child = spawn('java', ['-cp', classpath, DRIVER, sys.gateway, app.appId, app.appKey, signType, outTradeNo, String(amount), String(refundAmount)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: DriverEvent[] = [];
  const stderr: string[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line) as DriverEvent));
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    events,
    stderr,
    exited,
    billDay: (day, transfer) => child.stdin!.end(`${JSON.stringify({ day, transfer })}\n`),
    next: (event, where = () => true) =>
      waitFor(`driver event ${event}`, async () => {
        const failed = events.find((e) => e.event === 'error');
        if (failed) throw new Error(`the Java driver failed: ${JSON.stringify(failed)}\n${stderr.join('\n')}`);
        return events.find((e) => e.event === event && where(e));
      }, 150_000),
  };
}

const one = (d: Driver, event: string, where: (e: DriverEvent) => boolean = () => true) => {
  const found = d.events.filter((e) => e.event === event && where(e));
  expect(found).toHaveLength(1);
  return found[0];
};

async function prepay(channelType: string, token: string) {
  const res = await fetch(`${sys.gateway}/${channelType}/native`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  const body = (await res.json()) as { code: number; msg: string };
  expect(body.code).toBe(1000);
}

/** Yesterday in Asia/Shanghai, `yyyy-MM-dd`: a finished day, so its statement can be downloaded. */
function shanghaiYesterday(): string {
  return new Date(Date.now() + 8 * 3600_000 - 86_400_000).toISOString().slice(0, 10);
}

/**
 * Moves an order's payment and its refunds to yesterday noon (Asia/Shanghai), so the statement of a finished day
 * lists them, then tells the driver to download that day.
 */
async function moveToYesterdayAndDownload(d: Driver, appId: string, outTradeNo: string, transfer = false): Promise<string> {
  await d.next('awaitingBillDay');
  const day = shanghaiYesterday();
  const at = new Date(`${day}T12:00:00+08:00`);
  const order = await sys.t.db('orders').where({ app_id: appId, out_trade_no: outTradeNo }).first();
  await sys.t.db('orders').where({ id: order.id }).update({ pay_time: at });
  await sys.t.db('refunds').where({ order_id: order.id }).update({ refund_time: new Date(at.getTime() + 60_000) });
  if (transfer) {
    await sys.useCases.transfers.saveSettings({ username: 'admin', ip: '127.0.0.1' }, appId, { enabled: true, maxPerTransfer: 100_000, dailyLimit: 1_000_000, approvalThreshold: 100_000 });
  }
  d.billDay(day, transfer);
  return day;
}

/** A notification the desk did not send, POSTed to the Java merchant's notify URL. */
async function postNotification(notifyUrl: string, headers: Record<string, string>, body: string) {
  const res = await fetch(notifyUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as { code: number } };
}

test('the SDK\'s JUnit suite ran in mvn verify: the README vectors and the verifier, nothing failed or skipped', () => {
  const reports = readdirSync(path.join(TARGET, 'surefire-reports')).filter((f) => /^TEST-.*\.xml$/.test(f));
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suites: string[] = [];
  for (const f of reports) {
    const head = /<testsuite [^>]*>/.exec(readFileSync(path.join(TARGET, 'surefire-reports', f), 'utf8'))![0];
    suites.push(/ name="([^"]+)"/.exec(head)![1].split('.').pop()!);
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += Number(new RegExp(` ${k}="(\\d+)"`).exec(head)![1]);
  }
  expect(suites.sort()).toEqual(['NotificationVerifierTest', 'PaySdkHttpTest', 'SignatureV1VectorsTest']);
  expect(totals.tests).toBeGreaterThanOrEqual(28);
  expect(totals).toMatchObject({ failures: 0, errors: 0, skipped: 0 });
});

test('HMAC-SHA256, Alipay Native: order → cashier URL → paid → notification verified by the Java SDK and acknowledged → SUCCESS → refund → statement → transfer', async () => {
  const outTradeNo = `J${randomBytes(5).toString('hex')}`;
  const d = startDriver(aliApp, 'HMAC-SHA256', outTradeNo, 1999, 500);
  const { notifyUrl } = (await d.next('ready')) as DriverEvent & { notifyUrl: string };

  // The Java verifier refuses what the desk did not sign: another key, and the right key five minutes too late.
  const body = JSON.stringify({ eventId: 'PAYMENT_RESULT-1', eventType: 'PAYMENT_RESULT', appId: aliApp.appId, outTradeNo, amount: 1, resultCode: 'SUCCESS', attempt: 1 });
  const pathWithQuery = new URL(notifyUrl).pathname + new URL(notifyUrl).search;
  const forged = signRequestHeaders({ method: 'POST', pathWithQuery, appId: aliApp.appId, appKey: 'not-the-app-key', body });
  expect(await postNotification(notifyUrl, forged, body)).toEqual({ status: 401, body: expect.objectContaining({ code: 4010 }) });
  const stale = signRequestHeaders({ method: 'POST', pathWithQuery, appId: aliApp.appId, appKey: aliApp.appKey, body, now: Date.now() - 301_000 });
  expect(await postNotification(notifyUrl, stale, body)).toEqual({ status: 401, body: expect.objectContaining({ code: 4010 }) });
  await d.next('rejected', (e) => e.reason === 'STALE_TIMESTAMP');
  expect(d.events.filter((e) => e.event === 'rejected').map((e) => e.reason)).toEqual(['BAD_SIGNATURE', 'STALE_TIMESTAMP']);

  const order = (await d.next('order')) as DriverEvent & { orderId: string; token: string; channels: Array<{ channelId: number }> };
  expect(order).toMatchObject({ signatureVerified: true, signatureOutTradeNo: outTradeNo, channels: [{ channelId: aliApp.channels[0].channelId, channelType: 'ali-pay', sceneCode: 'native' }] });
  expect(order.token).toMatch(/^[0-9A-F]{32}$/);
  const list = await d.next('paymentList');
  expect(list.url).toBe(`${sys.apiUrl}/cashier-desk-web/payment?token=${order.token}`);
  expect(one(d, 'orderAgain')).toMatchObject({ orderId: order.orderId, token: order.token });
  expect(one(d, 'orderConflict')).toMatchObject({ failed: true, exception: 'CashierDeskException', code: 4090, httpStatus: 409 });
  expect((await d.next('queryBefore')).resultCode).toBe('NULL');

  // the buyer pays at the Alipay sandbox; its signed callback reaches the API and the workflow notifies the Java merchant
  await prepay('ali-pay', order.token);
  await sys.alipay.pay(providerOutTradeNo(Number(order.orderId), aliApp.channels[0].channelId));

  const day = await moveToYesterdayAndDownload(d, aliApp.appId, outTradeNo, true);
  expect(await d.exited).toBe(0);
  const paid = one(d, 'notification', (e) => e.eventType === 'PAYMENT_RESULT');
  expect(paid).toMatchObject({ eventType: 'PAYMENT_RESULT', class: 'SdkPaymentNotification', outTradeNo, amount: 1999, resultCode: 'SUCCESS', channelType: 'ali-pay', attempt: 1, path: '/pay/notify?shop=java' });
  expect(one(d, 'queryAfter')).toMatchObject({ resultCode: 'SUCCESS', channelType: 'ali-pay', channelId: aliApp.channels[0].channelId, mchId: aliApp.channels[0].mchId, payTime: paid.payTime, refundedAmount: 0 });
  expect(one(d, 'refund')).toMatchObject({ outRefundNo: `R${outTradeNo}`, amount: 500 });
  expect(one(d, 'refundTooMuch')).toMatchObject({ failed: true, code: 4090, httpStatus: 409 });
  expect(one(d, 'notification', (e) => e.eventType === 'REFUND_RESULT')).toMatchObject({ class: 'SdkRefundNotification', outRefundNo: `R${outTradeNo}`, amount: 500, resultCode: 'SUCCESS' });
  expect(one(d, 'refundQuery')).toMatchObject({ status: 'SUCCESS', amount: 500, channelType: 'ali-pay' });
  expect(one(d, 'queryAfterRefund')).toMatchObject({ resultCode: 'SUCCESS', refundedAmount: 500 });
  expect(one(d, 'unknownOrder')).toMatchObject({ failed: true, code: 4040, httpStatus: 404 });
  expect(one(d, 'transferOff')).toMatchObject({ failed: true, code: 4030, httpStatus: 403 });
  expect(one(d, 'billToday')).toMatchObject({ failed: true, code: 4040 });
  // the statement's CSV verified (RESPONSE signature over its bytes) and parsed by the Java SDK
  expect(one(d, 'bill')).toEqual({
    event: 'bill',
    day,
    rows: [
      { type: 'PAYMENT', orderId: Number(order.orderId), outTradeNo, refundId: null, outRefundNo: null, channelType: 'ali-pay', amount: 1999, time: `${day} 12:00:00` },
      { type: 'REFUND', orderId: Number(order.orderId), outTradeNo, refundId: expect.any(Number), outRefundNo: `R${outTradeNo}`, channelType: 'ali-pay', amount: 500, time: `${day} 12:01:00` },
    ],
    paymentCount: 1,
    paymentAmount: 1999,
    refundCount: 1,
    refundAmount: 500,
    netAmount: 1499,
    csvFirstLine: 'type,orderId,outTradeNo,refundId,outRefundNo,channelType,providerTradeNo,amount,time',
  });
  // transfers enabled by the administrator: a payout to an Alipay account, notified and queried through the Java SDK
  const transfer = one(d, 'transfer') as DriverEvent & { transferId: number };
  expect(transfer).toMatchObject({ outBizNo: `T${outTradeNo}`, amount: 5000, status: 'PROCESSING' });
  expect(one(d, 'notification', (e) => e.eventType === 'TRANSFER_RESULT')).toMatchObject({ class: 'SdkTransferNotification', outBizNo: `T${outTradeNo}`, transferId: transfer.transferId, amount: 5000, resultCode: 'SUCCESS' });
  expect(one(d, 'transferQuery')).toMatchObject({ transferId: transfer.transferId, status: 'SUCCESS', transferTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/) });
  const payouts = sys.alipay.transfers(aliCreds.providerAppId).filter((p) => p.outBizNo === providerOutBizNo(transfer.transferId));
  expect(payouts.map((p) => [p.amountFen, p.status])).toEqual([[5000, 'SUCCESS']]);
  one(d, 'done');

  // The desk recorded the Java merchant's answers as acknowledgements: one attempt each, HTTP 200, no retry.
  const row = await waitFor('notify status ACKED', async () => {
    const r = await sys.t.db('orders').where({ app_id: aliApp.appId, out_trade_no: outTradeNo }).first();
    return r?.notify_status === 'ACKED' ? r : null;
  });
  expect(row).toMatchObject({ status: 'SUCCESS', amount: 1999, notify_url: notifyUrl });
  const payAttempts = await sys.t.db('notification_attempts').where({ order_id: row.id }).whereNull('refund_id');
  expect(payAttempts).toHaveLength(1);
  expect(payAttempts[0]).toMatchObject({ attempt: 1, http_status: 200, acknowledged: true });
  const refund = await sys.t.db('refunds').where({ app_id: aliApp.appId, out_refund_no: `R${outTradeNo}` }).first();
  expect(refund).toMatchObject({ status: 'SUCCESS', amount: 500 });
  const refundAttempts = await waitFor('refund notification recorded', async () => {
    const rows = await sys.t.db('notification_attempts').where({ refund_id: refund.id });
    return rows.length ? rows : null;
  });
  expect(refundAttempts).toEqual([expect.objectContaining({ attempt: 1, http_status: 200, acknowledged: true })]);
  expect(Number((await sys.t.db('refunds').where({ app_id: aliApp.appId }).count({ n: '*' }).first())!.n)).toBe(1); // the refused one wrote nothing
}, 300_000);

test('HMAC-SM3, WeChat Pay Native: the same flow signed with SM3 both ways', async () => {
  const outTradeNo = `S${randomBytes(5).toString('hex')}`;
  const d = startDriver(wxApp, 'HMAC-SM3', outTradeNo, 800, 300);
  const order = (await d.next('order')) as DriverEvent & { orderId: string; token: string };
  expect(order.signatureVerified).toBe(true);
  await d.next('queryBefore');
  await prepay('wx-pay', order.token);
  await sys.wechat.pay(providerOutTradeNo(Number(order.orderId), wxApp.channels[0].channelId));

  await moveToYesterdayAndDownload(d, wxApp.appId, outTradeNo);
  expect(await d.exited).toBe(0);
  expect(one(d, 'notification', (e) => e.eventType === 'PAYMENT_RESULT')).toMatchObject({ outTradeNo, amount: 800, channelType: 'wx-pay', resultCode: 'SUCCESS' });
  expect(one(d, 'queryAfter')).toMatchObject({ resultCode: 'SUCCESS', channelType: 'wx-pay' });
  expect(one(d, 'refundQuery')).toMatchObject({ status: 'SUCCESS', amount: 300, channelType: 'wx-pay' });
  expect(one(d, 'queryAfterRefund')).toMatchObject({ refundedAmount: 300 });
  expect(one(d, 'bill')).toMatchObject({ paymentAmount: 800, refundAmount: 300, netAmount: 500, rows: [{ type: 'PAYMENT', channelType: 'wx-pay' }, { type: 'REFUND', amount: 300 }] });
  one(d, 'done');
  const row = await sys.t.db('orders').where({ app_id: wxApp.appId, out_trade_no: outTradeNo }).first();
  expect(row).toMatchObject({ status: 'SUCCESS', amount: 800 });
  // the app accepts SM3 only, so every request above was verified as SM3, and its notifications signed with SM3
  const attempts = await sys.t.db('notification_attempts').where({ order_id: row.id }).whereNull('refund_id');
  expect(attempts).toEqual([expect.objectContaining({ http_status: 200, acknowledged: true })]);
}, 300_000);
