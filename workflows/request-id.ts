/**
 * Carries the id of the HTTP request that started a workflow (or sent it a signal or update) into the workflow's
 * log lines and, as a header, into the activities and child workflows it schedules, so one request id ties the
 * API's log lines to the workflow's and the activities' lines for that order. The API's Temporal client puts the
 * header on starts, signals and updates (temporal/request-id.ts); the worker's activity interceptor reads it
 * (worker/request-id.ts). Headers change no command, so histories without them replay unchanged.
 *
 * Registered as a workflow interceptor module (worker/create-worker.ts WORKFLOW_INTERCEPTOR_MODULES).
 */
import {
  defaultPayloadConverter,
  type Headers,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

export const REQUEST_ID_HEADER = 'cashier-request-id';

export function readRequestIdHeader(headers: Headers | undefined): string | undefined {
  const payload = headers?.[REQUEST_ID_HEADER];
  if (!payload) return undefined;
  try {
    const value: unknown = defaultPayloadConverter.fromPayload(payload);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined; // a header some other client wrote: not ours to trust or fail on
  }
}

export function withRequestIdHeader(headers: Headers, requestId: string | undefined): Headers {
  return requestId ? { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) } : headers;
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  // Per workflow run: the factory is called once for each.
  let startedBy: string | undefined;
  // The request whose signal or update handler is running right now. Set only around the handler's synchronous
  // part — where its activities are scheduled (the channel choice's prepay) and its log lines written — and
  // restored after, so the main loop's work stays attributed to the request that started the order.
  // Deliberately not an AsyncLocalStorage: one per cached workflow puts a promise hook entry per workflow on
  // the worker thread (every promise created there then walks them all: the worker's CPU and memory grew with
  // the workflow cache — 3.4 GB and a saturated thread with 10,000 open orders).
  let handling: string | undefined;
  const current = () => handling ?? startedBy;
  const within = <T>(headers: Headers, fn: () => T): T => {
    const id = readRequestIdHeader(headers);
    if (!id) return fn();
    const outer = handling;
    handling = id;
    try {
      return fn();
    } finally {
      handling = outer;
    }
  };

  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input, next) {
      startedBy = readRequestIdHeader(input.headers);
      return next(input);
    },
    handleSignal: (input, next) => within(input.headers, () => next(input)),
    handleUpdate: (input, next) => within(input.headers, () => next(input)),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, current()) }),
    scheduleLocalActivity: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, current()) }),
    startChildWorkflowExecution: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, current()) }),
    getLogAttributes(input, next) {
      const requestId = current();
      return next(requestId ? { ...input, requestId } : input);
    },
  };
  return { inbound: [inbound], outbound: [outbound] };
};
