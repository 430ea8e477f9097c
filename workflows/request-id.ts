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
  AsyncLocalStorage,
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
  // A signal or update handler runs for the request that sent it; what it schedules carries that request's id.
  const handling = new AsyncLocalStorage<string>();
  const current = () => handling.getStore() ?? startedBy;
  const within = <T>(headers: Headers, fn: () => T): T => {
    const id = readRequestIdHeader(headers);
    return id ? handling.run(id, fn) : fn();
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
