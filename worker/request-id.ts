/**
 * Worker side of the request id (workflows/request-id.ts): an activity scheduled by a workflow that was started,
 * signalled or updated by an API request runs with that request's id — in its `Context.log` lines (through
 * `getLogAttributes`), in the project logger's lines, and on the workflows it starts.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { withRequestId } from '../observability/request-context';
import { readRequestIdHeader } from '../workflows/request-id';

export const requestIdActivityInterceptor: ActivityInterceptorsFactory = () => {
  let requestId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        requestId = readRequestIdHeader(input.headers);
        return requestId ? withRequestId(requestId, () => next(input)) : next(input);
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next(requestId ? { ...attributes, requestId } : attributes),
    },
  };
};
