/**
 * Client side of the request id's way into workflows (workflows/request-id.ts): every start, signal and update
 * made while serving a request carries that request's id as a header.
 */
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { currentRequestId } from '../observability/request-context';
import { withRequestIdHeader } from '../workflows/request-id';

export function requestIdClientInterceptor(): WorkflowClientInterceptor {
  return {
    start: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
    startWithDetails: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
    signal: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
    signalWithStart: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
    startUpdate: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers, currentRequestId()) }),
    startUpdateWithStart: (input, next) =>
      next({
        ...input,
        workflowStartHeaders: withRequestIdHeader(input.workflowStartHeaders, currentRequestId()),
        updateHeaders: withRequestIdHeader(input.updateHeaders, currentRequestId()),
      }),
  };
}
