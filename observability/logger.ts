/**
 * Structured JSON logs, one line each, written by pino. Secrets are redacted here, centrally, so a careless call
 * site cannot leak an app key, channel secret, password or signature into the logs: pino's redaction paths name
 * the known places, and a pass over every key (any depth, also child bindings) catches secret-looking names the
 * paths do not list. Lines logged while serving a request carry its `requestId` (observability/request-context.ts).
 *
 * The interface is the project's own (message first, fields second) so call sites do not depend on pino.
 */
import pino from 'pino';
import { currentRequestId } from './request-context';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export const REDACTED = '[redacted]';

/** Field names that can hold secrets, wherever they appear. */
const SECRET_FIELD = /(key|secret|password|passwd|signature|sign|token|authorization|cookie|private|cert|credential)/i;

/**
 * The known places of secrets in what the code logs: credentials of apps and channels, request and response
 * headers, signatures. Wildcards reach one level down (pino's redaction syntax); deeper ones are caught by
 * SECRET_FIELD.
 */
export const REDACT_PATHS = [
  ...['appKey', 'key', 'apiKey', 'apiV3Key', 'secret', 'secrets', 'password', 'passwordHash', 'privateKey', 'signature', 'sign', 'token', 'masterKey', 'authorization', 'cookie'].flatMap((k) => [k, `*.${k}`]),
  ...['headers', 'req.headers', 'request.headers', 'res.headers', 'response.headers'].flatMap((h) => [
    `${h}.authorization`,
    `${h}.cookie`,
    `${h}["set-cookie"]`,
    `${h}["x-cashier-signature"]`,
    `${h}["wechatpay-signature"]`,
    `${h}["x-csrf-token"]`,
  ]),
];

/** A copy of `value` with secret-looking fields replaced and errors reduced to name and message (no stacks). */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level?: Level;
  /** Fields on every line (e.g. `{ service: 'api' }`). */
  base?: Record<string, unknown>;
  /** Where each line goes (without its newline); default: standard output. */
  write?: (line: string) => void;
}

/** The pino instance behind a Logger, for adapters (the Temporal runtime logger) that need the same output. */
export function createPino(opts: LoggerOptions = {}): pino.Logger {
  const destination = opts.write
    ? { write: (line: string) => opts.write!(line.endsWith('\n') ? line.slice(0, -1) : line) }
    : // Synchronous: a process that exits right after logging (a failed start) must not lose the line.
      pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.base ? (redact(opts.base) as Record<string, unknown>) : {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redact(object) as Record<string, unknown>,
      },
    },
    destination,
  );
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    // Redacted here: pino's redaction paths and formatters do not reach into a child's bindings at every depth.
    child: (fields) => wrap(p.child(redact(fields) as Record<string, unknown>)),
  };
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return wrap(createPino(opts));
}

/** Wraps an existing pino instance (shared with an adapter) in the project's interface. */
export function loggerFromPino(p: pino.Logger): Logger {
  return wrap(p);
}
