/**
 * Graceful close of the API's HTTP server. `server.close()` alone stops accepting and drops idle keep-alive
 * connections, but a busy keep-alive connection would take its next request after we stopped listening, and a
 * connection that goes idle later would stay open until its keep-alive timeout. So every response still to be
 * written announces `Connection: close`, connections that become idle are closed as they do, and after the grace
 * period whatever is left is cut.
 */
import http, { type RequestListener, type ServerOptions, type ServerResponse } from 'node:http';

export interface DrainableServer {
  server: http.Server;
  /** Requests being answered now. */
  inFlight(): number;
  /** Stops accepting and waits for the requests in flight, at most `graceMs`; then cuts the rest. */
  close(graceMs: number): Promise<{ cut: number }>;
}

export function createDrainableServer(handler: RequestListener, options: ServerOptions = {}): DrainableServer {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  const closeAfterResponse = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  const server = http.createServer(options, (req, res) => {
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      // A response sent before the drain began (headers already out) left its connection keep-alive: close it
      // as soon as it is idle, once this turn has marked it so.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
    if (draining) closeAfterResponse(res);
    handler(req, res);
  });
  return {
    server,
    inFlight: () => inFlight.size,
    async close(graceMs) {
      draining = true;
      for (const res of inFlight) closeAfterResponse(res);
      // Resolves once the last connection has ended; the listening socket closes at once (new connections refused).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
      clearTimeout(timer);
      if (inTime) return { cut: 0 };
      const cut = inFlight.size;
      server.closeAllConnections();
      await closed;
      return { cut };
    },
  };
}
