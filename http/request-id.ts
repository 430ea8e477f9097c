/**
 * Gives every request an id — the caller's X-Request-Id when it is a plausible one, else a fresh UUID — echoes
 * it in the response, and runs the rest of the request with it as the current request id: log lines and the
 * workflow starts, signals and updates the request makes carry it (observability/request-context.ts).
 */
import type { RequestHandler } from 'express';
import { requestIdFrom, withRequestId } from '../observability/request-context';

export const REQUEST_ID_HTTP_HEADER = 'X-Request-Id';

export function requestIdMiddleware(): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFrom(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HTTP_HEADER, id);
    withRequestId(id, next);
  };
}
