/** What `npm run bench` measures, each against the same Temporal server in the same run. */
import * as bench from '../../db/queries/bench';
import { providerOutTradeNo } from '../../domain/order';
import { PaySdk, type UnifiedOrderData } from '../../sdk';
import { benchNoop, benchOrderShaped, chooseUpdate, paidSignal } from './engine-workflows';
import { gatewayCall, request } from './http-client';
import { RETRY_MARK, type BenchMerchant } from './merchant';
import { WorkflowIds } from '../../temporal/workflow-ids';
import { PAYMENT_WORKFLOWS_QUERY } from '../../temporal/workflow-types';
import { mapConcurrent, percentile, runLoad, strip, type LoadRun, type Summary } from './stats';
import { ENGINE_TASK_QUEUE, TASK_QUEUE, type BenchSystem } from './system';

/**
 * Runs a phase alone and charges it its CPU and where its time went (`engine`: the engine worker's phase). A phase
 * that names `finishedWorkflows` has a sample of those workflows' histories counted.
 */
export type Measure = <T extends { completed: number; errors?: number; firstErrors?: string[]; finishedWorkflows?: string[] }>(name: string, phase: () => Promise<T>, o?: { engine?: boolean }) => Promise<T>;

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}

const run = Date.now().toString(36);
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${run}-${seq++}`;

export function merchantSdk(sys: BenchSystem, merchant: BenchMerchant): PaySdk {
  return new PaySdk({ gateway: `${sys.apiUrl}/api/cashier-desk`, appId: sys.appId, appKey: sys.appKey, notifyUrl: merchant.notifyUrl });
}

/** A phase whose workflows have all completed once it has settled (their histories are final). */
type WithWorkflows<T> = T & { finishedWorkflows: string[] };

/** The engine's bare start: one `workflow.start` of a workflow that completes on its first task. */
export async function bareStart(sys: BenchSystem, o: LoadOptions): Promise<WithWorkflows<LoadRun>> {
  const ids: string[] = [];
  const r = await runLoad({ ...o, op: () => sys.client.workflow.start(benchNoop, { taskQueue: ENGINE_TASK_QUEUE, workflowId: uniq('noop') }).then((h) => ids.push(h.workflowId)) });
  return { ...r, finishedWorkflows: ids };
}

/** The engine's order shape: start → update running one activity → signal → one activity → completed. */
export async function orderShaped(sys: BenchSystem, o: LoadOptions): Promise<WithWorkflows<LoadRun>> {
  const ids: string[] = [];
  const r = await runLoad({
    ...o,
    op: async () => {
      const h = await sys.client.workflow.start(benchOrderShaped, { taskQueue: ENGINE_TASK_QUEUE, workflowId: uniq('shaped') });
      await h.executeUpdate(chooseUpdate, { args: ['native'] });
      await h.signal(paidSignal);
      await h.result();
      ids.push(h.workflowId);
    },
  });
  return { ...r, finishedWorkflows: ids };
}

/**
 * Mean length of a sample of finished workflows' histories: every event is a write Temporal persists (and
 * replays), so like the round trips it is a count a change to the workflow moves and the machine's speed does not.
 */
export async function historyEvents(sys: BenchSystem, workflowIds: readonly string[], sample = 20): Promise<number | null> {
  const step = Math.max(1, Math.floor(workflowIds.length / sample));
  const picked = workflowIds.filter((_, i) => i % step === 0).slice(0, sample);
  if (!picked.length) return null;
  const lengths = await mapConcurrent(picked, 4, async (id) => (await sys.client.workflow.getHandle(id).describe()).historyLength);
  return Math.round((lengths.reduce((a, b) => a + b, 0) / lengths.length) * 10) / 10;
}

/** Unified orders through the merchant API (signed request and response, order signature checked). */
export async function unifiedOrders(sdk: PaySdk, o: LoadOptions, expireSeconds = 3600): Promise<LoadRun & { orders: UnifiedOrderData[] }> {
  const orders: UnifiedOrderData[] = [];
  const r = await runLoad({ ...o, op: async () => orders.push(await sdk.unifiedOrder(orderRequest(uniq('u'), expireSeconds))) });
  return { ...r, orders };
}

function orderRequest(outTradeNo: string, expireSeconds: number) {
  return { amount: 1 + (seq % 9999), goodsDesc: 'bench goods', orderTitle: 'bench order', outTradeNo, thirdPartyUser: 'bench-user', expireSeconds };
}

/** The consumer's page: GET the order summary by token (what the cashier page polls). */
export async function cashierSummary(sys: BenchSystem, token: string): Promise<{ status: string }> {
  return gatewayCall('summary', `${sys.apiUrl}/api/cashier-desk/cashier/${token}`);
}

/** The consumer picks a channel on the cashier page: the workflow's update runs the provider's prepay. */
async function chooseChannel(sys: BenchSystem, token: string, channelType: string, sceneCode: string): Promise<void> {
  await gatewayCall('choose', `${sys.apiUrl}/api/cashier-desk/${channelType}/${sceneCode}`, { token });
}

/** The buyer pays at the sandbox, which then calls the API back (or not, with lostCallback). */
async function buyerPays(sys: BenchSystem, channelType: string, tradeNo: string, lostCallback = false): Promise<void> {
  const res =
    channelType === 'ali-pay'
      ? await request(`${sys.alipayUrl}/__sim/trades/${tradeNo}/pay?app_id=${sys.alipay.providerAppId}`, lostCallback ? { notify: 'lost' } : {})
      : await request(`${sys.wechatUrl}/__sim/trades/${tradeNo}/pay`, { mchid: sys.wechat.mchId, ...(lostCallback ? { notify: { mode: 'lost' } } : {}) });
  if (res.status < 200 || res.status >= 300) throw new Error(`sandbox pay ${res.status} ${res.text}`);
}

const CHANNELS = [
  { channelType: 'ali-pay', sceneCode: 'native' },
  { channelType: 'wx-pay', sceneCode: 'native' },
] as const;

/** Creates an order and has the consumer choose a channel (prepay); returns what paying it needs. */
export async function openPayingOrder(sys: BenchSystem, sdk: PaySdk, outTradeNo: string, i: number, expireSeconds = 3600) {
  const order = await sdk.unifiedOrder(orderRequest(outTradeNo, expireSeconds));
  const { channelType, sceneCode } = CHANNELS[i % CHANNELS.length];
  const ch = order.channels.find((c) => c.channelType === channelType && c.sceneCode === sceneCode);
  if (!ch) throw new Error(`no ${channelType}/${sceneCode} channel`);
  await sdk.getPaymentListUrl(order, [ch.channelId]);
  await cashierSummary(sys, order.token);
  await chooseChannel(sys, order.token, channelType, sceneCode);
  return { order, channelType, tradeNo: providerOutTradeNo(Number(order.orderId), ch.channelId) };
}

/**
 * The whole paid order: create, payment list, cashier page, choose channel (update + prepay), the buyer pays in
 * the sandbox, its callback, the workflow records it and notifies, the merchant receives the notification.
 * Every fifth order's merchant refuses attempt 1, so a scheduled retry (15 s later) runs under the same load.
 */
export async function paidAndNotified(sys: BenchSystem, sdk: PaySdk, merchant: BenchMerchant, o: LoadOptions): Promise<WithWorkflows<LoadRun> & { outTradeNos: string[] }> {
  const outTradeNos: string[] = [];
  const r = await runLoad({
    ...o,
    op: async (i) => {
      const no = uniq('p') + (i % 5 === 4 ? RETRY_MARK : '');
      const { channelType, tradeNo, order } = await openPayingOrder(sys, sdk, no, i);
      const notified = merchant.notified(no);
      await buyerPays(sys, channelType, tradeNo);
      await notified;
      outTradeNos.push(no);
      return order;
    },
  });
  // Orders whose merchant refused attempt 1 are still waiting for their retry: their histories are not final yet.
  const finishedWorkflows = outTradeNos.filter((no) => !no.endsWith(RETRY_MARK)).map((no) => WorkflowIds.payment(sys.appId, no));
  return { ...r, outTradeNos, finishedWorkflows };
}

/** Lateness of notification attempts (started minus scheduled), from the attempts the worker recorded. */
export async function notificationLateness(sys: BenchSystem, outTradeNos: readonly string[]): Promise<{ attempts: number; retries: number; p50: number; p99: number; max: number; retryP99: number }> {
  const rows = outTradeNos.length ? await bench.notificationLateness(sys.db, outTradeNos) : [];
  const all = rows.map((r) => r.lateMs).sort((a, b) => a - b);
  const retries = rows.filter((r) => r.attempt > 1).map((r) => r.lateMs).sort((a, b) => a - b);
  const r1 = (x: number) => Math.round(x);
  return { attempts: all.length, retries: retries.length, p50: r1(percentile(all, 50)), p99: r1(percentile(all, 99)), max: r1(all[all.length - 1] ?? 0), retryP99: r1(percentile(retries, 99)) };
}

/** The cashier page's order summary, polled by many consumers at once (open and final orders alike). */
export function summaryPolls(sys: BenchSystem, tokens: readonly string[], o: LoadOptions) {
  return runLoad({ ...o, op: (i) => cashierSummary(sys, tokens[i % tokens.length]) });
}

/**
 * Waits until the task queues have nothing queued, so a phase does not pay for the work a previous one left
 * behind (a bare start's workflows still have their first task to run, unified orders theirs).
 */
export async function settle(sys: BenchSystem): Promise<void> {
  // The server refreshes backlog statistics every few seconds: only two empty readings 6 s apart count.
  let emptySince: number | null = null;
  await timeUntil(async () => {
    let empty = true;
    for (const q of [ENGINE_TASK_QUEUE, TASK_QUEUE]) {
      const b = await sys.backlog(q);
      if (b.workflow + b.activity > 0) empty = false;
    }
    // Backlog statistics miss tasks already handed to a poller: bare starts are done when their workflows are.
    if (empty && (await sys.client.workflow.count('WorkflowType="benchNoop" AND ExecutionStatus="Running"')).count > 0) empty = false;
    if (!empty) emptySince = null;
    else emptySince ??= performance.now();
    return emptySince !== null && performance.now() - emptySince >= 6000;
  }, 180_000, 1000);
}

/** Waits until `check` is true, polling; resolves to the time it took (ms) or null after timeoutMs. */
export async function timeUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check()) return Math.round(performance.now() - t0);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return null;
}

export interface ScaleReport {
  openOrders: number;
  createPerSecond: number;
  paying: number;
  workerRssMiB: number;
  workerPeakRssMiB: number;
  apiRssMiB: number;
  backlog: { workflow: number; activity: number };
  underLoad: Summary;
  lateness: Awaited<ReturnType<typeof notificationLateness>>;
  restart: {
    /** Kill → every open order answered a state query from the new worker. */
    allQueriesAnsweredMs: number | null;
    /** Queries asked again because the restarted worker had not answered them in time. */
    queryRetries: number;
    /** Orders whose expiry fell while the worker was down or restarting: all CLOSED (ms after the kill), and how late. */
    expiring: number;
    expiredClosedMs: number | null;
    maxCloseLatenessMs: number | null;
    /** Paying orders paid with the callback lost during the restart: found by provider queries (ms after the kill). */
    paidWithLostCallback: number;
    foundByPollingMs: number | null;
    runningWorkflows: number | null;
    openOrdersInDb: number;
    workerRssAfterMiB: number;
  };
}

/**
 * Scale: `open` orders waiting (a tenth of them paying, so their workflows query the provider), then paid orders
 * on top; then the worker is killed with SIGKILL and started again.
 */
export async function scale(sys: BenchSystem, sdk: PaySdk, merchant: BenchMerchant, open: number, o: LoadOptions, log: (l: string) => void, measured: Measure): Promise<ScaleReport> {
  const paying: Array<{ channelType: string; tradeNo: string; outTradeNo: string }> = [];
  const t0 = performance.now();
  const prefix = uniq('s');
  await mapConcurrent(
    Array.from({ length: open }, (_, i) => i),
    32,
    async (i) => {
      const no = `${prefix}-${i}`;
      if (i % 10 === 0) {
        const p = await openPayingOrder(sys, sdk, no, i, 7200);
        paying.push({ ...p, outTradeNo: no });
      } else {
        await sdk.unifiedOrder(orderRequest(no, 7200));
      }
      if (i > 0 && i % 1000 === 0) log(`scale: ${i} open orders`);
    },
  );
  const createPerSecond = Math.round((open * 1000) / (performance.now() - t0));
  log(`scale: ${open} open orders at ${createPerSecond}/s; paid orders on top…`);
  const underLoad = await measured(`paid and notified, ${open.toLocaleString()} open`, () => paidAndNotified(sys, sdk, merchant, o));
  const workerRss = await sys.rss(sys.worker);
  const apiRss = await sys.rss(sys.api);
  const backlog = await sys.backlog();
  await new Promise((r) => setTimeout(r, 20_000)); // let the refused first attempts' retries run
  const lateness = await notificationLateness(sys, underLoad.outTradeNos);

  // Orders expiring shortly after the kill: their timers must fire on the restarted worker.
  // Created without a notify URL, so updated_at is the moment the workflow recorded CLOSED.
  const silent = new PaySdk({ gateway: `${sys.apiUrl}/api/cashier-desk`, appId: sys.appId, appKey: sys.appKey });
  const expiring = await mapConcurrent(Array.from({ length: 100 }, (_, i) => `${prefix}-x${i}`), 16, (no) => silent.unifiedOrder(orderRequest(no, 60)).then(() => no));
  log('scale: killing the worker (SIGKILL)');
  await sys.killWorker();
  const killedAt = performance.now();
  const lost = paying.slice(0, 50);
  await mapConcurrent(lost, 8, (p) => buyerPays(sys, p.channelType, p.tradeNo, true));
  await new Promise((r) => setTimeout(r, 5_000));
  await sys.startWorker();
  log('scale: worker restarted; querying every open order');
  const openNos = Array.from({ length: open }, (_, i) => `${prefix}-${i}`);
  // A query the restarted worker does not answer in time (it is replaying thousands of histories) is asked again:
  // the figure is when every order answered, and one slow answer must not end the run.
  let queryRetries = 0;
  const giveUpAt = performance.now() + 15 * 60_000;
  await mapConcurrent(await bench.workflowIdsOf(sys.db, openNos), 32, async (id) => {
    for (;;) {
      try {
        return await sys.client.workflow.getHandle(id).query('state');
      } catch (err) {
        if (performance.now() > giveUpAt) throw err;
        if (queryRetries++ === 0) log(`scale: a query failed and is asked again (${(err as Error).message})`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  });
  const allQueriesAnsweredMs = Math.round(performance.now() - killedAt);
  const sinceKill = (t: number | null) => (t === null ? null : Math.round(performance.now() - killedAt));
  const expiredClosed = sinceKill(await timeUntil(async () => (await bench.countOrdersIn(sys.db, expiring, ['CLOSED'])) === expiring.length, 180_000, 1000));
  const maxCloseLatenessMs = await bench.maxMsAfterExpiry(sys.db, expiring);
  const lostNos = lost.map((p) => p.outTradeNo);
  const foundByPolling = sinceKill(await timeUntil(async () => (await bench.countOrdersIn(sys.db, lostNos, ['SUCCESS', 'FINISH'])) === lost.length, 600_000, 1000));
  let runningWorkflows: number | null = null;
  try {
    runningWorkflows = (await sys.client.workflow.count(`TaskQueue="${TASK_QUEUE}" AND ExecutionStatus="Running" AND ${PAYMENT_WORKFLOWS_QUERY}`)).count;
  } catch {
    /* visibility without counts: reported as unknown */
  }
  const openInDb = await bench.countOpenOrders(sys.db);
  return {
    openOrders: open,
    createPerSecond,
    paying: paying.length,
    workerRssMiB: workerRss.nowMiB,
    workerPeakRssMiB: workerRss.peakMiB,
    apiRssMiB: apiRss.nowMiB,
    backlog,
    underLoad: strip(underLoad),
    lateness,
    restart: {
      allQueriesAnsweredMs,
      queryRetries,
      expiring: expiring.length,
      expiredClosedMs: expiredClosed,
      maxCloseLatenessMs,
      paidWithLostCallback: lost.length,
      foundByPollingMs: foundByPolling,
      runningWorkflows,
      openOrdersInDb: openInDb,
      workerRssAfterMiB: (await sys.rss(sys.worker)).nowMiB,
    },
  };
}

