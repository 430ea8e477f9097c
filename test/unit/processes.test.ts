/**
 * `npm start`'s child handling (scripts/lib/processes.ts): stopChild waits for a child's graceful exit, and a child
 * that overstays its deadline is killed together with the process the watchdog runs (not only the watchdog).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnTethered, stopChild } from '../../scripts/lib/processes';

/** Running (a killed process whose parent is gone may linger as a zombie until reaped: that counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

/** A node child that prints its pid, and on SIGTERM exits after `exitAfterMs` (never, when null). */
async function startChild(exitAfterMs: number | null): Promise<{ child: ChildProcess; pid: number }> {
  const script = `
    process.on('SIGTERM', () => { ${exitAfterMs === null ? '' : `setTimeout(() => process.exit(0), ${exitAfterMs});`} });
    setInterval(() => {}, 1000);
    console.log(process.pid);`;
  const child = spawnTethered(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve) => child.stdout!.once('data', (c: Buffer) => resolve(Number(String(c).trim()))));
  return { child, pid };
}

test('stopChild resolves only once the process has exited gracefully', async () => {
  const { child, pid } = await startChild(1500);
  const started = Date.now();
  await stopChild(child, 10_000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  expect(alive(pid)).toBe(false);
});

test('past its deadline the process itself is killed, not only its watchdog', async () => {
  const { child, pid } = await startChild(null);
  const started = Date.now();
  await stopChild(child, 1000);
  expect(Date.now() - started).toBeLessThan(5000);
  await new Promise((r) => setTimeout(r, 200));
  const survived = alive(pid);
  if (survived) process.kill(pid, 'SIGKILL');
  expect(survived).toBe(false);
});
