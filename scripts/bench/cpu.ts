/**
 * CPU time by process of the bench's system, from /proc (Linux): where a phase's time went. Processes are
 * recognised by their command line; every PostgreSQL backend counts as "postgres".
 */
import { readdir, readFile } from 'node:fs/promises';
import { TEMPORAL_PG_DIR_NAME } from '../lib/temporal-cluster';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const ROLES: Array<[string, (cmd: string) => boolean]> = [
  ['api', (c) => c.includes('api/main.ts')],
  ['worker', (c) => c.includes('worker/main.ts')],
  ['engine worker', (c) => c.includes('engine-worker.ts')],
  ['sandboxes', (c) => c.includes('bench/sandboxes.ts')],
  // The CLI's dev server, or temporal-server on PostgreSQL (BENCH_TEMPORAL=cluster).
  ['temporal', (c) => (c.includes('temporal') && c.includes('start-dev')) || /(^|\/)temporal-server /.test(c)],
  ['postgres', (c) => c.startsWith('postgres') || /\/bin\/postgres /.test(c)],
  ['bench', (c) => c.includes('bench/index.ts')],
];

/** CPU milliseconds used so far, by process id, with the process's role. */
export type CpuSnapshot = Record<string, { role: string; ms: number }>;

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const processes: ProcessEntry[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const [cmd, stat] = await Promise.all([readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''), readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')]);
    if (!stat) continue;
    // Fields after the parenthesised command name: the parent's pid is the 2nd, utime and stime the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    processes.push({ pid, ppid: fields[1], cmd: cmd.replace(/\0/g, ' '), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND });
  }
  const out: CpuSnapshot = {};
  for (const p of processes) {
    const role = roleOf(p, processes);
    if (role) out[p.pid] = { role, ms: p.ms };
  }
  return out;
}

export interface ProcessEntry {
  pid: string;
  ppid: string;
  cmd: string;
  ms: number;
}

/**
 * The role a process plays. The PostgreSQL that stores Temporal's history (BENCH_TEMPORAL=cluster) is Temporal's
 * cost, not the application's: its server runs on a data folder named TEMPORAL_PG_DIR_NAME, and its backends and
 * background processes are that server's children (their own command lines name no folder).
 */
export function roleOf(p: ProcessEntry, all: readonly ProcessEntry[]): string | undefined {
  const isTemporalPostgres = (q: ProcessEntry | undefined) => !!q && /\/bin\/postgres /.test(q.cmd) && q.cmd.includes(`/${TEMPORAL_PG_DIR_NAME} `);
  if (isTemporalPostgres(p) || isTemporalPostgres(all.find((q) => q.pid === p.ppid))) return 'temporal postgres';
  return ROLES.find(([, match]) => match(p.cmd))?.[0];
}

/** CPU ms used by each role between two snapshots. */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  // By process, so a process that exited in between (a PostgreSQL backend) does not subtract its past.
  const used: Record<string, number> = {};
  for (const [pid, p] of Object.entries(after)) used[p.role] = (used[p.role] ?? 0) + p.ms - (before[pid]?.ms ?? 0);
  return used;
}

/** Adds CPU used by role (one phase's rounds together). */
export function addCpu(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [role, ms] of Object.entries(b)) sum[role] = (sum[role] ?? 0) + ms;
  return sum;
}

/** CPU ms per operation by role (roles that used under 1% of the total are left out), and the total. */
export function cpuPerOperation(used: Record<string, number>, operations: number): Record<string, number> {
  const total = Object.values(used).reduce((a, b) => a + b, 0);
  const per: Record<string, number> = {};
  if (operations <= 0) return per;
  for (const [k, v] of Object.entries(used).sort((a, b) => b[1] - a[1])) if (v >= total / 100) per[k] = Math.round((v / operations) * 10) / 10;
  per.total = Math.round((total / operations) * 10) / 10;
  return per;
}
