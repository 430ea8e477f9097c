/**
 * PostgreSQL pool metrics: how long each query waited for a connection, and the pool's occupancy at each scrape.
 * A pool too small for its process shows as waits while PostgreSQL itself stays fast.
 */
import type { Metrics } from './metrics';

/** The part of knex's connection pool (tarn) read here. */
interface ConnectionPool {
  on(event: 'acquireRequest' | 'acquireSuccess' | 'acquireFail', listener: (eventId: number) => void): void;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** `db`: a knex instance (typed by shape: observability does not depend on db/). */
export function instrumentDbPool(db: { client: unknown }, metrics: Metrics): void {
  const pool = (db.client as { pool?: ConnectionPool }).pool;
  // knex builds its pool with the client; none means a pool of size 0, which has nothing to wait for.
  if (!pool) return;
  const requestedAt = new Map<number, bigint>();
  pool.on('acquireRequest', (id) => requestedAt.set(id, process.hrtime.bigint()));
  const acquired = (id: number) => {
    const t = requestedAt.get(id);
    if (t === undefined) return;
    requestedAt.delete(id);
    metrics.dbPoolAcquireWait.observe(Number(process.hrtime.bigint() - t) / 1e9);
  };
  // A timed-out acquire counts too: it is the longest wait there is.
  pool.on('acquireSuccess', acquired);
  pool.on('acquireFail', acquired);
  metrics.watchDbPool(() => ({ used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() }));
}
