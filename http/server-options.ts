/**
 * Limits of the API's HTTP server against slow and oversized clients. Node's own defaults (60 s for the headers,
 * 300 s for a request, checked every 30 s) let a slow-loris client hold a connection for minutes; these come
 * from the configuration, and timeouts are checked every second so they hold to about a second.
 */
import type { ServerOptions } from 'node:http';
import type { HttpServerLimits } from '../config';

export function httpServerOptions(limits: HttpServerLimits): ServerOptions {
  return {
    // Headers not complete in time: Node answers 408 and closes the connection.
    headersTimeout: limits.headersTimeoutMs,
    // The whole request (headers and body) not received in time: 408, connection closed.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Larger headers: Node answers 431 and closes the connection, before any route runs.
    maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: 1000,
  };
}
