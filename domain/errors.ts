/**
 * Domain errors carry a stable code (the README's error table). This module is the one place that maps them to HTTP
 * statuses and to Temporal failures (and back), so http/, activities/ and workflows/ agree.
 */
import { ApplicationFailure } from '@temporalio/common';

export const ErrorCode = {
  OK: 1000,
  VALIDATION: 4000,
  UNAUTHORIZED: 4010,
  FORBIDDEN: 4030,
  NOT_FOUND: 4040,
  CONFLICT: 4090,
  TOO_LARGE: 4130,
  RATE_LIMITED: 4290,
  INTERNAL: 5000,
  PROVIDER_UNAVAILABLE: 5030,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const DEFAULT_MESSAGES: Record<ErrorCodeValue, string> = {
  1000: '操作成功',
  4000: '参数校验失败',
  4010: '签名校验失败或应用不存在',
  4030: '应用或渠道未审核通过',
  4040: '资源不存在',
  4090: '请求冲突',
  4130: '请求体过大',
  4290: '请求过于频繁',
  5000: '系统内部错误',
  5030: '支付渠道暂不可用',
};

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCodeValue,
    message?: string,
  ) {
    super(message ?? DEFAULT_MESSAGES[code]);
  }
}

export function httpStatusFor(code: ErrorCodeValue): number {
  return code === ErrorCode.OK ? 200 : Math.floor(code / 10);
}

const FAILURE_TYPE_PREFIX = 'CashierDesk:';

/** The Temporal failure type a domain error code travels as (activity retry policies name these). */
export function failureType(code: ErrorCodeValue): string {
  return `${FAILURE_TYPE_PREFIX}${code}`;
}

/** Wraps a domain error as a Temporal ApplicationFailure (non-retryable unless the provider was unavailable). */
export function toApplicationFailure(err: DomainError): ApplicationFailure {
  return ApplicationFailure.create({
    message: err.message,
    type: failureType(err.code),
    nonRetryable: err.code !== ErrorCode.PROVIDER_UNAVAILABLE,
  });
}

/** Finds a domain error inside a Temporal failure chain (update/activity/workflow failures nest causes). */
export function fromTemporalFailure(err: unknown): DomainError | null {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    if (cur instanceof DomainError) return cur;
    if (cur instanceof ApplicationFailure && cur.type?.startsWith(FAILURE_TYPE_PREFIX)) {
      const code = Number(cur.type.slice(FAILURE_TYPE_PREFIX.length)) as ErrorCodeValue;
      if (code in DEFAULT_MESSAGES) return new DomainError(code, cur.message);
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}
