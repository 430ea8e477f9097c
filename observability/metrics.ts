/**
 * Prometheus metrics (prom-client). Every process builds one `Metrics` over its own Registry in its composition
 * root and passes it down (HTTP app, use-cases, activities, provider registry); nothing registers on prom-client's
 * global registry, so tests build as many as they like side by side.
 *
 * Labels are bounded: HTTP routes are Express route patterns (never raw URLs), providers and operations come from
 * the code, outcomes and statuses from fixed sets. No app id, order number or URL ever becomes a label.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from a fast local call to the 10 s notification timeout and slow provider gateways. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds from a notification's first attempt to its acknowledgement: the retry offsets up to 24 h. */
const ACK_BUCKETS = [1, 5, 15, 30, 60, 240, 840, 2040, 3840, 7440, 21_840, 43_440, 86_640];

/**
 * Seconds a query waited for a pooled PostgreSQL connection: well under a millisecond while one is free, up to
 * knex's 60 s acquire timeout when the pool is exhausted.
 */
const POOL_WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60];

/** A connection pool's occupancy at one moment (observability/db-pool.ts reads it from knex's pool). */
export interface DbPoolOccupancy {
  used: number;
  free: number;
  pending: number;
}

export type NotifyEventType = 'payment' | 'refund' | 'transfer';
/** `acknowledged`: HTTP 200 with code 1000; `rejected`: the merchant answered something else; `failed`: no answer (refused, DNS, connection, timeout). */
export type NotifyOutcome = 'acknowledged' | 'rejected' | 'failed';

export function createMetrics(opts: { registry?: Registry; service?: string; defaultMetrics?: boolean } = {}) {
  const registry = opts.registry ?? new Registry();
  if (opts.service) registry.setDefaultLabels({ service: opts.service });
  // Process CPU, memory, event-loop lag and GC: what tells a slow process from a slow provider.
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const dbPools: Array<() => DbPoolOccupancy> = [];
  return {
    registry,
    /** Reports a connection pool's occupancy at every scrape (observability/db-pool.ts). */
    watchDbPool(read: () => DbPoolOccupancy): void {
      dbPools.push(read);
    },
    dbPoolAcquireWait: new Histogram({
      name: 'cashier_db_pool_acquire_seconds',
      help: 'Seconds a database query waited for a pooled PostgreSQL connection (acquire timeouts included)',
      buckets: POOL_WAIT_BUCKETS,
      registers,
    }),
    dbPoolConnections: new Gauge({
      name: 'cashier_db_pool_connections',
      help: 'PostgreSQL pool at scrape time: connections used and free, and queries pending for one',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const total: DbPoolOccupancy = { used: 0, free: 0, pending: 0 };
        for (const read of dbPools) {
          const o = read();
          total.used += o.used;
          total.free += o.free;
          total.pending += o.pending;
        }
        for (const [state, v] of Object.entries(total)) this.set({ state }, v);
      },
    }),
    httpRequests: new Counter({ name: 'cashier_http_requests_total', help: 'HTTP requests answered, by Express route pattern and status code', labelNames: ['method', 'route', 'status_code'] as const, registers }),
    httpDuration: new Histogram({
      name: 'cashier_http_request_duration_seconds',
      help: 'HTTP request latency until the response finished, by Express route pattern and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ordersCreated: new Counter({ name: 'cashier_orders_created_total', help: 'Orders created through the merchant API (idempotent repeats not counted)', registers }),
    orderResults: new Counter({ name: 'cashier_order_results_total', help: 'Order results recorded by the worker: SUCCESS (paid), CLOSED, FAIL', labelNames: ['status'] as const, registers }),
    notifyAttempts: new Counter({
      name: 'cashier_notification_attempts_total',
      help: 'Merchant notification attempts by event type and outcome (acknowledged, rejected, failed)',
      labelNames: ['event_type', 'outcome'] as const,
      registers,
    }),
    notifyTimeToAck: new Histogram({
      name: 'cashier_notification_time_to_ack_seconds',
      help: "Seconds from a notification's first scheduled attempt to the merchant's acknowledgement",
      labelNames: ['event_type'] as const,
      buckets: ACK_BUCKETS,
      registers,
    }),
    providerCalls: new Counter({ name: 'cashier_provider_calls_total', help: 'Calls to a payment provider by provider, operation and outcome', labelNames: ['provider', 'operation', 'outcome'] as const, registers }),
    providerDuration: new Histogram({
      name: 'cashier_provider_call_duration_seconds',
      help: 'Payment provider call latency by provider, operation and outcome',
      labelNames: ['provider', 'operation', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    refundResults: new Counter({ name: 'cashier_refund_results_total', help: 'Refund results recorded by the worker: SUCCESS, FAIL', labelNames: ['status'] as const, registers }),
    transferResults: new Counter({ name: 'cashier_transfer_results_total', help: 'Transfer results recorded by the worker: SUCCESS, FAIL, CANCELLED', labelNames: ['status'] as const, registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What a scrape answers: the registry's exposition text and its content type. */
export async function exposition(metrics: Metrics): Promise<{ contentType: string; body: string }> {
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}
