/**
 * The `/metrics` endpoint outside the API's Express app: the worker's own port (WORKER_METRICS_PORT), and the API's
 * when METRICS_PORT puts it on a port of its own. Optionally behind a bearer token (METRICS_TOKEN).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exposition, type Metrics } from './metrics';

export interface Exposition {
  contentType: string;
  body: string;
}

/** Whether an Authorization header carries the metrics token (always true when no token is configured). */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!m) return false;
  // Equal-length digests, so the comparison takes the same time whatever the guess.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: { host: string; port: number; token?: string; render: () => Promise<Exposition> }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!metricsAuthorized(req.headers.authorization, opts.token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized\n');
      return;
    }
    opts.render().then(
      (e) => res.writeHead(200, { 'content-type': e.contentType }).end(e.body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  // A scraper's keep-alive connection must not hold the process open at shutdown.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The Temporal SDK's own metrics (its Prometheus exporter on a loopback port), appended to the worker's exposition
 * so one scrape target carries both. When they cannot be read the scrape still answers, with
 * cashier_temporal_sdk_metrics_up 0.
 */
export async function fetchSdkMetrics(url: string, timeoutMs = 2000): Promise<string> {
  const up = (v: 0 | 1) => `# HELP cashier_temporal_sdk_metrics_up Whether the Temporal SDK's metrics could be read for this scrape\n# TYPE cashier_temporal_sdk_metrics_up gauge\ncashier_temporal_sdk_metrics_up ${v}\n`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return up(0);
    const text = await res.text();
    return up(1) + text + (text.endsWith('\n') ? '' : '\n');
  } catch {
    return up(0);
  }
}

/** The worker's scrape: its own registry, then the Temporal SDK's exporter on the loopback `sdkPort`. */
export function workerExposition(metrics: Metrics, sdkPort: number): () => Promise<Exposition> {
  return async () => {
    const own = await exposition(metrics);
    return { contentType: own.contentType, body: own.body + (await fetchSdkMetrics(`http://127.0.0.1:${sdkPort}/metrics`)) };
  };
}
