/** The console's overview counters (across apps, app_channels and orders). */
import type { Db } from '../connection';

export async function countOverview(db: Db): Promise<{ pendingApps: number; pendingBindings: number; ordersToday: number; notifyProblems: number }> {
  const since = new Date(Date.now() - 24 * 3600_000);
  const [a, b, o, p] = await Promise.all([
    db('apps').where({ status: 'PENDING' }).count({ n: '*' }),
    db('app_channels').where({ status: 'PENDING' }).count({ n: '*' }),
    db('orders').where('created_at', '>=', since).count({ n: '*' }),
    db('orders').whereIn('notify_status', ['PENDING', 'NOTIFY_EXHAUSTED']).count({ n: '*' }),
  ]);
  const n = (r: Array<Record<string, unknown>>) => Number(r[0].n);
  return { pendingApps: n(a), pendingBindings: n(b), ordersToday: n(o), notifyProblems: n(p) };
}
