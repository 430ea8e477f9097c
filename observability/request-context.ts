/**
 * The id of the HTTP request (or Temporal activity) the current code runs for, carried through async calls so
 * that log lines and the Temporal calls a request makes name it without every function passing it along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

const storage = new AsyncLocalStorage<string>();

/** Runs `fn` with `requestId` as the current request id (also for everything `fn` awaits or schedules). */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run(requestId, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore();
}

/** What a caller may send as X-Request-Id: short and log-safe; anything else gets a fresh id. */
const ACCEPTED = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && ACCEPTED.test(value) ? value : randomUUID();
}
