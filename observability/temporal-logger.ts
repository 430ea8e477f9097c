/**
 * The Temporal SDK's runtime logger (Runtime.install({ logger })) on top of the project's logger, so workflow
 * `log` lines (sent out of the sandbox through the SDK's logger sink), activity `Context.log` lines and the SDK's
 * own messages are the same JSON lines as everything else, redacted the same way. Workflow and activity lines
 * carry the attributes of the interceptors' `getLogAttributes` (workflowId, runId, activityType, … requestId).
 */
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Level, Logger } from './logger';

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const LEVEL: Record<LogLevel, Level> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * `level` applies to what the project's code logs (sdkComponent `workflow` and `activity`); the SDK's own
 * narration (bundling, worker state, core) is kept to warnings and errors unless `level` is `debug`.
 */
export function temporalRuntimeLogger(log: Logger, level: Level): TemporalLogger {
  const ownMin = RANK[level];
  const sdkMin = level === 'debug' ? RANK.debug : Math.max(RANK[level], RANK.warn);
  const emit = (lvl: LogLevel, message: string, meta?: LogMetadata) => {
    const l = LEVEL[lvl] ?? 'info';
    const component = meta?.sdkComponent;
    if (RANK[l] < (component === 'workflow' || component === 'activity' ? ownMin : sdkMin)) return;
    log[l](message, meta ? { ...meta } : undefined);
  };
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}
